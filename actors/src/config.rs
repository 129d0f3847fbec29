//! Typed, validated policy of one dependency (design §3): Hystrix's defaults, every value checked
//! once at the edge so the call path never meets a nonsensical setting.
//!
//! The same struct is read from TOML (`[dependencies.NAME]`), returned by the admin API and changed
//! at runtime through [`SettingsPatch`]. Invalid values are [`ConfigError`]s that name the field.
//! Its sections live beside it: `breaker`, `fallback`, `metrics`, `collapse`, and the runtime
//! `patch`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::http::HttpConfig;

mod breaker;
mod collapse;
mod fallback;
mod metrics;
mod patch;

pub use crate::error::ConfigError;
pub use breaker::{BreakerConfig, Force};
pub use collapse::{CollapserConfig, Scope};
pub use fallback::{FallbackConfig, FallbackKind};
pub use metrics::MetricsConfig;
pub use patch::{BreakerPatch, SettingsPatch};

/// Policy of one dependency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DependencyConfig {
    /// Which backend serves the calls: the built-in demo service of that name, or HTTP.
    pub kind: BackendKind,
    /// A call that has not answered after this long is abandoned, counted TIMEOUT, and falls back.
    pub timeout_ms: u64,
    /// Calls executing at once.
    pub max_concurrent: usize,
    /// Calls waiting beyond those executing; beyond both, a call is REJECTED at once.
    pub queue: usize,
    /// Where calls run: the dependency's own actor thread, or the caller's task behind a counter.
    pub isolation: Isolation,
    /// Circuit breaker and its rolling window.
    pub breaker: BreakerConfig,
    /// What a failed, rejected or short-circuited call answers instead.
    pub fallback: FallbackConfig,
    /// Latency percentiles and health snapshots.
    pub metrics: MetricsConfig,
    /// Operations collapsed into batch operations, by single operation name.
    pub collapse: BTreeMap<String, CollapserConfig>,
    /// Where an `http` dependency lives and how its operations map to requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpConfig>,
}

impl Default for DependencyConfig {
    fn default() -> Self {
        Self {
            kind: BackendKind::Demo,
            timeout_ms: 1000,
            max_concurrent: 10,
            queue: 5,
            isolation: Isolation::Actor,
            breaker: BreakerConfig::default(),
            fallback: FallbackConfig::default(),
            metrics: MetricsConfig::default(),
            collapse: BTreeMap::new(),
            http: None,
        }
    }
}

/// What serves a dependency's calls (design §3, Backends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The built-in simulated service of the same name, in-process.
    Demo,
    /// A real service over HTTP (`http` section).
    Http,
}

impl BackendKind {
    /// The config name (`demo`, `http`).
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Demo => "demo",
            BackendKind::Http => "http",
        }
    }
}

/// Where a dependency's calls execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// On the dependency's own actor (its own thread), supervised: the Hystrix thread pool.
    Actor,
    /// In the caller's task, bounded by a counter: for in-memory dependencies, no actor hop.
    Semaphore,
}

fn at_least(prefix: &str, field: &str, value: u64, min: u64) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(prefix, field, format!("must be at least {min}, got {value}")));
    }
    Ok(())
}

impl DependencyConfig {
    /// Checks every value; `prefix` is the key path the errors are reported under
    /// (for example `dependencies.users`).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        at_least(prefix, "timeout_ms", self.timeout_ms, 1)?;
        at_least(prefix, "max_concurrent", self.max_concurrent as u64, 1)?;
        let b = &self.breaker;
        at_least(prefix, "breaker.window_ms", b.window_ms, 1)?;
        at_least(prefix, "breaker.buckets", u64::from(b.buckets), 1)?;
        if !b.window_ms.is_multiple_of(u64::from(b.buckets)) {
            let msg = format!("must divide breaker.window_ms ({}) evenly", b.window_ms);
            return Err(ConfigError::new(prefix, "breaker.buckets", msg));
        }
        if b.error_percent > 100 {
            let msg = format!("must be 0..=100, got {}", b.error_percent);
            return Err(ConfigError::new(prefix, "breaker.error_percent", msg));
        }
        at_least(prefix, "breaker.sleep_window_ms", b.sleep_window_ms, 1)?;
        let width = b.window_ms / u64::from(b.buckets);
        if b.recent_ms > b.window_ms || !b.recent_ms.is_multiple_of(width) {
            let msg = format!(
                "must be 0 or whole buckets of breaker.window_ms ({} ms each) up to {}, got {}",
                width, b.window_ms, b.recent_ms
            );
            return Err(ConfigError::new(prefix, "breaker.recent_ms", msg));
        }
        let f = &self.fallback;
        if f.kind == FallbackKind::Static && f.value.is_none() {
            return Err(ConfigError::new(prefix, "fallback.value", "required when kind = \"static\""));
        }
        if f.kind != FallbackKind::Static && f.value.is_some() {
            return Err(ConfigError::new(prefix, "fallback.value", "only used when kind = \"static\""));
        }
        at_least(prefix, "fallback.stale_max_entries", f.stale_max_entries as u64, 1)?;
        at_least(prefix, "fallback.stale_max_age_ms", f.stale_max_age_ms, 1)?;
        at_least(prefix, "fallback.max_concurrent", f.max_concurrent as u64, 1)?;
        let m = &self.metrics;
        at_least(prefix, "metrics.percentile_window_ms", m.percentile_window_ms, 1)?;
        at_least(prefix, "metrics.percentile_buckets", u64::from(m.percentile_buckets), 1)?;
        if !m.percentile_window_ms.is_multiple_of(u64::from(m.percentile_buckets)) {
            let msg = format!("must divide metrics.percentile_window_ms ({}) evenly", m.percentile_window_ms);
            return Err(ConfigError::new(prefix, "metrics.percentile_buckets", msg));
        }
        at_least(prefix, "metrics.health_snapshot_ms", m.health_snapshot_ms, 1)?;
        for (operation, collapse) in &self.collapse {
            let at = if prefix.is_empty() {
                format!("collapse.{operation}")
            } else {
                format!("{prefix}.collapse.{operation}")
            };
            collapse.validate(&at)?;
        }
        let http_prefix = if prefix.is_empty() { "http".to_owned() } else { format!("{prefix}.http") };
        match (self.kind, &self.http) {
            (BackendKind::Http, Some(http)) => http.validate(&http_prefix),
            (BackendKind::Http, None) => Err(ConfigError::new(prefix, "http", "required when kind = \"http\"")),
            (BackendKind::Demo, Some(_)) => Err(ConfigError::new(prefix, "http", "only used when kind = \"http\"")),
            (BackendKind::Demo, None) => Ok(()),
        }
    }
}

impl SettingsPatch {
    /// The configuration with this patch applied, validated.
    pub fn apply_to(&self, config: &DependencyConfig, prefix: &str) -> Result<DependencyConfig, ConfigError> {
        let mut next = config.clone();
        if let Some(v) = self.timeout_ms {
            next.timeout_ms = v;
        }
        if let Some(v) = self.max_concurrent {
            next.max_concurrent = v;
        }
        if let Some(v) = self.queue {
            next.queue = v;
        }
        if let Some(v) = self.fallback_max_concurrent {
            next.fallback.max_concurrent = v;
        }
        if let Some(b) = &self.breaker {
            if let Some(v) = b.request_volume {
                next.breaker.request_volume = v;
            }
            if let Some(v) = b.error_percent {
                next.breaker.error_percent = v;
            }
            if let Some(v) = b.sleep_window_ms {
                next.breaker.sleep_window_ms = v;
            }
            if let Some(v) = b.recent_ms {
                next.breaker.recent_ms = v;
            }
            if let Some(v) = b.force {
                next.breaker.force = v;
            }
        }
        next.validate(prefix)?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_hystrix_and_valid() {
        let c = DependencyConfig::default();
        assert_eq!((c.timeout_ms, c.max_concurrent, c.queue), (1000, 10, 5));
        assert_eq!((c.breaker.window_ms, c.breaker.buckets, c.breaker.request_volume), (10_000, 10, 20));
        assert_eq!((c.breaker.error_percent, c.breaker.sleep_window_ms), (50, 5_000));
        assert_eq!(c.fallback.max_concurrent, 10);
        assert_eq!((c.metrics.percentile_window_ms, c.metrics.percentile_buckets), (60_000, 6));
        assert_eq!(c.metrics.health_snapshot_ms, 500);
        c.validate("d").unwrap();
    }

    #[test]
    fn invalid_values_name_their_field() {
        let mut c = DependencyConfig::default();
        c.breaker.error_percent = 101;
        assert_eq!(c.validate("dependencies.users").unwrap_err().field, "dependencies.users.breaker.error_percent");
        let mut c = DependencyConfig::default();
        c.max_concurrent = 0;
        assert_eq!(c.validate("x").unwrap_err().field, "x.max_concurrent");
        let mut c = DependencyConfig::default();
        c.breaker.buckets = 3;
        assert_eq!(c.validate("x").unwrap_err().field, "x.breaker.buckets");
        let mut c = DependencyConfig::default();
        c.fallback.kind = FallbackKind::Static;
        assert_eq!(c.validate("x").unwrap_err().field, "x.fallback.value");
        let mut c = DependencyConfig::default();
        c.timeout_ms = 0;
        assert_eq!(c.validate("x").unwrap_err().field, "x.timeout_ms");
    }

    #[test]
    fn recent_ms_is_whole_buckets_within_the_window() {
        let mut c = DependencyConfig::default();
        for (recent, ok, buckets) in [(0, true, 0), (1_000, true, 1), (2_000, true, 2), (10_000, true, 10)] {
            c.breaker.recent_ms = recent;
            assert_eq!(c.validate("x").is_ok(), ok, "recent_ms = {recent}");
            assert_eq!(c.breaker.recent_buckets(), buckets, "recent_ms = {recent}");
        }
        for recent in [1, 1_500, 11_000] {
            c.breaker.recent_ms = recent;
            assert_eq!(c.validate("x").unwrap_err().field, "x.breaker.recent_ms", "recent_ms = {recent}");
        }
        let patch: SettingsPatch = serde_json::from_str(r#"{"breaker": {"recent_ms": 3000}}"#).unwrap();
        assert_eq!(patch.apply_to(&DependencyConfig::default(), "d").unwrap().breaker.recent_ms, 3_000);
    }

    #[test]
    fn patch_changes_only_given_fields_and_validates() {
        let base = DependencyConfig::default();
        let patch: SettingsPatch = serde_json::from_str(r#"{"timeout_ms": 50, "breaker": {"force": "open"}}"#).unwrap();
        let next = patch.apply_to(&base, "d").unwrap();
        assert_eq!(next.timeout_ms, 50);
        assert_eq!(next.breaker.force, Some(Force::Open));
        assert_eq!(next.max_concurrent, base.max_concurrent);
        let clear: SettingsPatch = serde_json::from_str(r#"{"breaker": {"force": null}}"#).unwrap();
        assert_eq!(clear.apply_to(&next, "d").unwrap().breaker.force, None);
        let keep: SettingsPatch = serde_json::from_str(r#"{"breaker": {}}"#).unwrap();
        assert_eq!(keep.apply_to(&next, "d").unwrap().breaker.force, Some(Force::Open));
        let bad: SettingsPatch = serde_json::from_str(r#"{"max_concurrent": 0}"#).unwrap();
        assert_eq!(bad.apply_to(&base, "d").unwrap_err().field, "d.max_concurrent");
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"timeout": 5}"#).is_err());
    }

    #[test]
    fn reads_toml_with_unknown_keys_rejected() {
        let c: DependencyConfig = toml::from_str(
            "timeout_ms = 200\n[breaker]\nforce = \"closed\"\n[fallback]\nkind = \"static\"\nvalue = { rows = [] }\n",
        )
        .unwrap();
        assert_eq!(c.timeout_ms, 200);
        assert_eq!(c.breaker.force, Some(Force::Closed));
        assert_eq!(c.fallback.value.unwrap().as_str(), r#"{"rows":[]}"#);
        let c: DependencyConfig = toml::from_str("[collapse.title]\ninto = \"titles\"\nwindow_ms = 5\n").unwrap();
        assert_eq!((c.collapse["title"].into.as_str(), c.collapse["title"].max_batch), ("titles", 100));
        let mut bad = c.clone();
        bad.collapse.get_mut("title").unwrap().into.clear();
        assert_eq!(bad.validate("d.catalog").unwrap_err().field, "d.catalog.collapse.title.into");
        let err = toml::from_str::<DependencyConfig>("timeout = 5").unwrap_err();
        assert!(err.to_string().contains("timeout"), "{err}");
    }
}
