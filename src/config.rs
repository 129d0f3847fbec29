//! The server's configuration: one TOML file (design §10), every key with a default.
//!
//! `Config::default()` is the embedded demo: listeners on loopback, the eight demo dependencies
//! in-process with fallbacks chosen to show them off, and the catalog's single-title lookups
//! collapsed into batches. Loading rejects unknown keys and invalid values with the key's name;
//! `SWITCHYARD_ADMIN_TOKEN` and the CLI flags override the file, in one place ([`Config::load`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use switchyard_actors::collapser::CollapserConfig;
use switchyard_actors::config::FallbackKind;
use switchyard_actors::{ConfigError, DependencyConfig, Json};
use switchyard_endpoints::script::ScriptLimits;
use switchyard_storage::{NAME_RULE, is_valid_name};

use crate::cluster::ClusterConfig;
use crate::logging::LogConfig;
use crate::observe::ObserveConfig;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listeners, storage, request limits.
    pub server: ServerConfig,
    /// Device-token verification and admin tokens.
    pub auth: AuthConfig,
    /// Sandbox limits of endpoint scripts.
    pub scripts: ScriptLimits,
    /// Replication: this node's cluster (alone when absent).
    pub cluster: ClusterConfig,
    /// Bounds of the streams, traces and history.
    pub observe: ObserveConfig,
    /// Log lines: level and format.
    pub log: LogConfig,
    /// Backend dependencies by name; the demo set when absent.
    pub dependencies: BTreeMap<String, DependencyConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            scripts: ScriptLimits::default(),
            cluster: ClusterConfig::default(),
            observe: ObserveConfig::default(),
            log: LogConfig::default(),
            dependencies: demo_dependencies(),
        }
    }
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Device traffic.
    pub public: SocketAddr,
    /// Management API, dashboard, streams, metrics.
    pub admin: SocketAddr,
    /// Where the store and the generated admin token live.
    pub data_dir: PathBuf,
    /// The environment this node belongs to (dev, test, prod …).
    pub environment: String,
    /// HTTP worker threads (each with its own pool of script runtimes); 0 = one per core.
    pub workers: usize,
    /// Largest device request body.
    pub max_body_bytes: usize,
    /// Requests one endpoint may run at once; beyond, 503 (a runaway endpoint only exhausts itself).
    pub endpoint_concurrency: usize,
    /// Largest script a publish may carry; larger answers 413.
    pub max_script_bytes: usize,
    /// Most audit entries one read returns.
    pub max_audit_page: usize,
    /// Seed of the demo services' data.
    pub demo_seed: u64,
    /// Largest request head (request line and headers) either listener reads; larger answers 431.
    pub max_header_bytes: usize,
    /// Connections each listener holds at once, split over its workers; beyond, new connections
    /// wait in the kernel's accept queue.
    pub max_connections: usize,
    /// How long a client may take to send a request head; slower ones are answered 408 and closed.
    pub request_head_timeout_ms: u64,
    /// How long an idle keep-alive connection stays open; 0 closes each connection after its answer.
    pub keep_alive_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin: SocketAddr::from(([127, 0, 0, 1], 8081)),
            data_dir: PathBuf::from("switchyard-data"),
            environment: "dev".into(),
            workers: 0,
            max_body_bytes: 1024 * 1024,
            endpoint_concurrency: 64,
            max_script_bytes: 256 * 1024,
            max_audit_page: 1000,
            demo_seed: 42,
            max_header_bytes: 32 * 1024,
            max_connections: 10_000,
            request_head_timeout_ms: 5_000,
            keep_alive_ms: 5_000,
        }
    }
}

/// `[auth]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 secret of device bearer tokens; without it every request is anonymous and a
    /// presented token is refused.
    pub jwt_secret: Option<String>,
    /// Admin API tokens.
    pub admin_tokens: Vec<AdminToken>,
    /// `SWITCHYARD_ADMIN_TOKEN`: the token of the built-in `admin` (scope `*`), in place of the one
    /// a node generates into its data directory. Read from the environment only, never the file.
    #[serde(skip)]
    pub admin_token_from_env: Option<String>,
}

/// `[[auth.admin_tokens]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    /// Who (recorded as revision authors).
    pub name: String,
    /// The bearer token.
    pub token: String,
    /// `*`, or namespaces.
    pub scopes: Vec<String>,
}

/// The demo's dependencies: each named after its demo service, with a fallback that suits it.
pub fn demo_dependencies() -> BTreeMap<String, DependencyConfig> {
    let with = |kind: FallbackKind, value: Option<serde_json::Value>| {
        let mut c = DependencyConfig::default();
        c.fallback.kind = kind;
        c.fallback.value = value.map(Json::from);
        c
    };
    let mut deps = BTreeMap::new();
    deps.insert("users".into(), with(FallbackKind::Stale, None));
    deps.insert("subscriber".into(), with(FallbackKind::Stale, None));
    deps.insert("lists".into(), with(FallbackKind::Stale, None));
    let mut catalog = with(FallbackKind::Stale, None);
    catalog.max_concurrent = 20;
    catalog.collapse.insert("title".into(), CollapserConfig { into: "titles".into(), ..Default::default() });
    deps.insert("catalog".into(), catalog);
    deps.insert("ratings".into(), with(FallbackKind::Static, Some(serde_json::json!([]))));
    deps.insert("bookmarks".into(), with(FallbackKind::Silent, None));
    deps.insert("artwork".into(), with(FallbackKind::Stale, None));
    deps.insert("recs".into(), with(FallbackKind::Silent, None));
    deps
}

/// A configuration that cannot be used, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key or a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, which names the key and shows the line.
        message: String,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

/// Flags of `serve` that override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--public`.
    pub public: Option<SocketAddr>,
    /// `--admin`.
    pub admin: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Reads `path` (or the defaults), applies the overrides, validates.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigFileError> {
        let mut config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigFileError::Read { path: path.to_owned(), source })?;
                Self::parse(&text).map_err(|e| match e {
                    ConfigFileError::Parse { message, .. } => ConfigFileError::Parse { path: path.to_owned(), message },
                    other => other,
                })?
            }
        };
        if let Some(a) = overrides.public {
            config.server.public = a;
        }
        if let Some(a) = overrides.admin {
            config.server.admin = a;
        }
        if let Some(d) = &overrides.data_dir {
            config.server.data_dir = d.clone();
        }
        config.auth.admin_token_from_env = std::env::var(ADMIN_TOKEN_ENV).ok().filter(|t| !t.is_empty());
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (not yet validated).
    pub fn parse(text: &str) -> Result<Self, ConfigFileError> {
        toml::from_str(text)
            .map_err(|e| ConfigFileError::Parse { path: PathBuf::from("config"), message: e.to_string() })
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, message: &str| ConfigError { field: field.into(), message: message.into() };
        if self.server.max_body_bytes == 0 {
            return Err(err("server.max_body_bytes", "must be at least 1"));
        }
        if self.server.max_script_bytes == 0 {
            return Err(err("server.max_script_bytes", "must be at least 1"));
        }
        if self.server.max_audit_page == 0 {
            return Err(err("server.max_audit_page", "must be at least 1"));
        }
        if !is_valid_name(&self.server.environment) {
            return Err(err("server.environment", &format!("must be {NAME_RULE} (dev, test, prod …)")));
        }
        if self.server.endpoint_concurrency == 0 {
            return Err(err("server.endpoint_concurrency", "must be at least 1"));
        }
        if !(1024..=crate::listener::HEAD_BUFFER_LIMIT).contains(&self.server.max_header_bytes) {
            let range =
                format!("must be between 1024 and {} (actix-http's own limit)", crate::listener::HEAD_BUFFER_LIMIT);
            return Err(err("server.max_header_bytes", &range));
        }
        if self.server.max_connections == 0 {
            return Err(err("server.max_connections", "must be at least 1"));
        }
        if self.server.request_head_timeout_ms == 0 {
            return Err(err("server.request_head_timeout_ms", "must be at least 1"));
        }
        if self.auth.jwt_secret.as_deref().is_some_and(|s| s.len() < 16) {
            return Err(err("auth.jwt_secret", "must be at least 16 characters"));
        }
        if self.auth.admin_token_from_env.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(err(ADMIN_TOKEN_ENV, "must be at least 16 characters"));
        }
        for (i, t) in self.auth.admin_tokens.iter().enumerate() {
            if t.token.len() < 16 {
                return Err(err(&format!("auth.admin_tokens[{i}].token"), "must be at least 16 characters"));
            }
        }
        self.scripts.validate("scripts")?;
        self.cluster.validate()?;
        self.observe.validate()?;
        for (name, dep) in &self.dependencies {
            if !is_valid_name(name) {
                return Err(err(&format!("dependencies.{name}"), &format!("a dependency name is {NAME_RULE}")));
            }
            dep.validate(&format!("dependencies.{name}"))?;
        }
        Ok(())
    }
}

/// The environment variable holding the built-in admin token (it overrides the generated one).
pub const ADMIN_TOKEN_ENV: &str = "SWITCHYARD_ADMIN_TOKEN";

/// The default configuration as commented TOML (`switchyard config --print-default`).
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_is_the_default() {
        let parsed = Config::parse(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
        parsed.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = Config::parse("[server]\npublik = \"127.0.0.1:1\"\n").unwrap_err().to_string();
        assert!(err.contains("publik"), "{err}");
        let err = Config::parse("[dependencies.users]\ntimeout_ms = \"soon\"\n").unwrap_err().to_string();
        assert!(err.contains("timeout_ms"), "{err}");
        let mut c = Config::parse("[dependencies.users.breaker]\nerror_percent = 120\n").unwrap();
        assert_eq!(c.validate().unwrap_err().field, "dependencies.users.breaker.error_percent");
        c = Config::default();
        c.server.max_body_bytes = 0;
        assert_eq!(c.validate().unwrap_err().field, "server.max_body_bytes");
        let cases = [
            ((1023, 1, 1), "server.max_header_bytes"),
            ((131_073, 1, 1), "server.max_header_bytes"),
            ((131_072, 0, 1), "server.max_connections"),
            ((1024, 1, 0), "server.request_head_timeout_ms"),
        ];
        for ((header, connections, head_timeout), field) in cases {
            c = Config::default();
            c.server.max_header_bytes = header;
            c.server.max_connections = connections;
            c.server.request_head_timeout_ms = head_timeout;
            assert_eq!(c.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn dependency_names_follow_the_one_name_rule() {
        // The actors crate checks dependency names itself (it depends on no other crate of ours);
        // this pins its check to the rule every other name follows.
        let long = "x".repeat(64);
        let too_long = "x".repeat(65);
        for name in
            ["users", "catalog-v2", "a_b", "9lives", "", "Users", "-x", "_x", "a b", "é", "a.b", &long, &too_long]
        {
            assert_eq!(switchyard_actors::registry::validate_name(name).is_ok(), is_valid_name(name), "{name:?}");
        }
    }

    #[test]
    fn a_file_dependencies_table_replaces_the_demo_set() {
        let c = Config::parse("[dependencies.users]\n").unwrap();
        assert_eq!(c.dependencies.keys().collect::<Vec<_>>(), ["users"]);
        assert_eq!(Config::default().dependencies.len(), 8);
    }

    #[test]
    fn flags_override_the_file() {
        let o = Overrides { public: Some("127.0.0.1:9999".parse().unwrap()), ..Default::default() };
        let c = Config::load(None, &o).unwrap();
        assert_eq!(c.server.public.port(), 9999);
        assert_eq!(c.server.admin.port(), 8081);
    }
}
