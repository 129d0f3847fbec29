//! `[dependencies.NAME.http]`: where an HTTP dependency lives and how each operation maps to a
//! request (method, path template, query arguments, JSON body).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// An HTTP dependency's endpoint and operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// `http://host:port` (a path prefix is allowed: `http://host/api`).
    pub base_url: String,
    /// Connection establishment limit (the call's own `timeout_ms` bounds the whole call).
    pub connect_timeout_ms: u64,
    /// Largest reply body read; a longer one fails the call (a failure: counted, falls back) as
    /// soon as its declared length or the bytes read so far pass it.
    pub max_reply_bytes: u64,
    /// How long an idle keep-alive connection is kept for the next call. Keep it below the
    /// service's own keep-alive timeout (5 s for actix-web and Node.js, 60-75 s for most proxies):
    /// a connection the service is closing just as a call goes out fails that call ("connection
    /// closed before message completed").
    pub idle_timeout_ms: u64,
    /// Operation name → request.
    pub operations: BTreeMap<String, HttpOperation>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            connect_timeout_ms: 250,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            idle_timeout_ms: 4_000,
            operations: BTreeMap::new(),
        }
    }
}

/// `max_reply_bytes` when not set: 4 MiB, like `scripts.max_response_bytes`.
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 4 * 1024 * 1024;

/// How one operation becomes a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpOperation {
    /// The HTTP method.
    pub method: HttpMethod,
    /// Path template; `{name}` is replaced by argument `name` (arrays comma-joined), encoded.
    pub path: String,
    /// Arguments sent as query parameters when present (arrays comma-joined).
    pub query: Vec<String>,
    /// Send the whole arguments object as a JSON body.
    pub body: bool,
}

impl Default for HttpOperation {
    fn default() -> Self {
        Self { method: HttpMethod::Get, path: "/".into(), query: Vec::new(), body: false }
    }
}

/// Methods an operation may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl HttpConfig {
    /// Checks the URL and every operation, naming the key under `prefix` (`dependencies.users.http`).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| ConfigError::new(prefix, "base_url", format!("`{}` is not a URL: {e}", self.base_url)))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ConfigError::new(prefix, "base_url", "must be http:// or https://"));
        }
        if self.connect_timeout_ms == 0 {
            return Err(ConfigError::new(prefix, "connect_timeout_ms", "must be at least 1"));
        }
        if self.idle_timeout_ms == 0 {
            return Err(ConfigError::new(prefix, "idle_timeout_ms", "must be at least 1"));
        }
        if self.max_reply_bytes == 0 {
            return Err(ConfigError::new(prefix, "max_reply_bytes", "must be at least 1"));
        }
        if self.operations.is_empty() {
            return Err(ConfigError::new(prefix, "operations", "at least one operation is required"));
        }
        for (name, operation) in &self.operations {
            let field = format!("operations.{name}.path");
            if !operation.path.starts_with('/') {
                return Err(ConfigError::new(prefix, &field, "must start with `/`"));
            }
            placeholders(&operation.path).map_err(|m| ConfigError::new(prefix, &field, m))?;
        }
        Ok(())
    }

    /// The mapping of one demo service as `demo-backends` serves it at `base_url`.
    pub fn for_demo_service(base_url: &str, service: &str) -> Option<Self> {
        let op = |path: &str, query: &[&str]| HttpOperation {
            path: path.into(),
            query: query.iter().map(|q| (*q).to_owned()).collect(),
            ..Default::default()
        };
        let operations: Vec<(&str, HttpOperation)> = match service {
            "users" => vec![("get", op("/users/{id}", &[]))],
            "subscriber" => vec![("status", op("/subscriber/{user}", &[]))],
            "lists" => vec![("for_user", op("/lists/{user}", &["limit"]))],
            "catalog" => vec![("titles", op("/catalog/titles", &["ids"])), ("title", op("/catalog/titles/{id}", &[]))],
            "ratings" => vec![("predicted", op("/ratings/predicted", &["user", "ids"]))],
            "bookmarks" => vec![("for_user", op("/bookmarks/{user}", &[]))],
            "artwork" => vec![("boxart", op("/artwork/boxart", &["ids", "size"]))],
            "recs" => vec![("similar", op("/recs/similar/{id}", &["limit"]))],
            _ => return None,
        };
        Some(Self {
            base_url: base_url.to_owned(),
            operations: operations.into_iter().map(|(n, o)| (n.to_owned(), o)).collect(),
            ..Default::default()
        })
    }
}

/// The `{name}`s of a path template, or why it is malformed.
pub(crate) fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(format!("unbalanced `}}` in `{template}`"));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
        let name = &after[..close];
        if name.is_empty() || name.contains('{') {
            return Err(format!("bad placeholder in `{template}`"));
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> HttpConfig {
        HttpConfig::for_demo_service("http://127.0.0.1:9000", "catalog").unwrap()
    }

    #[test]
    fn demo_mappings_exist_for_every_service_and_validate() {
        for s in ["users", "subscriber", "lists", "catalog", "ratings", "bookmarks", "artwork", "recs"] {
            HttpConfig::for_demo_service("http://127.0.0.1:9000", s).unwrap().validate("d").unwrap();
        }
        assert!(HttpConfig::for_demo_service("http://x", "billing").is_none());
    }

    #[test]
    fn invalid_values_name_their_key() {
        let mut c = valid();
        c.base_url = "not a url".into();
        assert_eq!(c.validate("dependencies.catalog.http").unwrap_err().field, "dependencies.catalog.http.base_url");
        let mut c = valid();
        c.base_url = "ftp://x".into();
        assert_eq!(c.validate("p").unwrap_err().field, "p.base_url");
        let mut c = valid();
        c.operations.get_mut("title").unwrap().path = "/titles/{id".into();
        assert_eq!(c.validate("p").unwrap_err().field, "p.operations.title.path");
        c.operations.get_mut("title").unwrap().path = "titles".into();
        assert_eq!(c.validate("p").unwrap_err().field, "p.operations.title.path");
        let mut c = valid();
        c.operations.clear();
        assert_eq!(c.validate("p").unwrap_err().field, "p.operations");
        let mut c = valid();
        c.max_reply_bytes = 0;
        assert_eq!(c.validate("p").unwrap_err().field, "p.max_reply_bytes");
        c.max_reply_bytes = 1;
        c.idle_timeout_ms = 0;
        assert_eq!(c.validate("p").unwrap_err().field, "p.idle_timeout_ms");
    }

    #[test]
    fn placeholders_are_found_and_checked() {
        assert_eq!(placeholders("/a/{x}/b/{y}").unwrap(), ["x", "y"]);
        assert!(placeholders("/a/{}").is_err());
        assert!(placeholders("/a/}").is_err());
        assert!(placeholders("/a/{x").is_err());
    }

    #[test]
    fn operations_parse_from_toml() {
        let c: HttpConfig = toml::from_str(
            "base_url = \"http://h\"\n[operations.put]\nmethod = \"POST\"\npath = \"/x/{id}\"\nbody = true\n",
        )
        .unwrap();
        assert_eq!(c.operations["put"].method, HttpMethod::Post);
        assert_eq!(c.max_reply_bytes, 4_194_304, "the default, as default.toml documents it");
        let c: HttpConfig = toml::from_str("base_url = \"http://h\"\nmax_reply_bytes = 1024\n").unwrap();
        assert_eq!(c.max_reply_bytes, 1024);
        assert!(toml::from_str::<HttpConfig>("base_url = \"http://h\"\nbase = 1\n").is_err());
    }
}
