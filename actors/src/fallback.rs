//! Fallbacks: what a failed, timed-out, rejected or short-circuited call answers instead
//! (design §3: static, silent, stale, fail fast), plus a programmatic one for in-process callers.
//!
//! The `stale` fallback remembers the last good reply per (operation, canonical arguments) in an
//! LRU bounded by entries, and serves it only while younger than `stale_max_age_ms`.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use lru::LruCache;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::{FallbackConfig, FallbackKind};
use crate::error::CallError;
use crate::json::Json;

/// A fallback written in Rust: gets the operation, arguments and error; answers a body (`None` for
/// an empty reply) or fails with a message (FALLBACK_FAILURE).
pub type FallbackFn =
    Arc<dyn Fn(&str, &Value, &CallError) -> BoxFuture<'static, Result<Option<Json>, String>> + Send + Sync>;

/// The fallback of one dependency, resolved from its config.
pub enum Fallback {
    /// None: the error reaches the caller.
    Fail,
    /// A configured reply.
    Static(Json),
    /// An empty reply.
    Silent,
    /// The last good reply for the same arguments.
    Stale(StaleCache),
    /// A Rust function.
    Custom(FallbackFn),
}

impl fmt::Debug for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fallback::Fail => "Fail",
            Fallback::Static(_) => "Static",
            Fallback::Silent => "Silent",
            Fallback::Stale(_) => "Stale",
            Fallback::Custom(_) => "Custom",
        })
    }
}

impl Fallback {
    /// The fallback a validated config describes.
    pub fn from_config(config: &FallbackConfig) -> Self {
        match config.kind {
            FallbackKind::Fail => Fallback::Fail,
            FallbackKind::Static => Fallback::Static(config.value.clone().unwrap_or_else(Json::null)),
            FallbackKind::Silent => Fallback::Silent,
            FallbackKind::Stale => Fallback::Stale(StaleCache::new(
                config.stale_max_entries,
                Duration::from_millis(config.stale_max_age_ms),
            )),
        }
    }

    /// Answers for a failed call, or says why it cannot.
    pub async fn answer(&self, operation: &str, args: &Value, error: &CallError) -> Result<Option<Json>, String> {
        match self {
            Fallback::Fail => Err("no fallback".into()),
            Fallback::Static(json) => Ok(Some(json.clone())),
            Fallback::Silent => Ok(None),
            Fallback::Stale(cache) => cache
                .get(operation, args, Instant::now())
                .map(Some)
                .ok_or_else(|| "no recent good reply for these arguments".to_owned()),
            Fallback::Custom(f) => f(operation, args, error).await,
        }
    }

    /// Remembers a good reply (only the stale fallback keeps anything).
    pub fn remember(&self, operation: &str, args: &Value, reply: &Json) {
        if let Fallback::Stale(cache) = self {
            cache.put(operation, args, reply.clone(), Instant::now());
        }
    }
}

/// Last good replies by (operation, canonical arguments), bounded in entries and age.
pub struct StaleCache {
    entries: Mutex<LruCache<String, (Json, Instant)>>,
    max_age: Duration,
}

/// The cache key: operation and canonical arguments ([`crate::json::call_key`]), so
/// `{"a":1,"b":2}` and `{"b":2,"a":1}` share a key.
pub fn canonical_key(operation: &str, args: &Value) -> String {
    crate::json::call_key(&[operation], args)
}

impl StaleCache {
    /// Keeps at most `max_entries` replies, serves them for `max_age`.
    pub fn new(max_entries: usize, max_age: Duration) -> Self {
        let cap = NonZeroUsize::new(max_entries).unwrap_or(NonZeroUsize::MIN);
        Self { entries: Mutex::new(LruCache::new(cap)), max_age }
    }

    /// Stores a good reply.
    pub fn put(&self, operation: &str, args: &Value, reply: Json, now: Instant) {
        self.entries.lock().put(canonical_key(operation, args), (reply, now));
    }

    /// The remembered reply if it is young enough at `now`.
    pub fn get(&self, operation: &str, args: &Value, now: Instant) -> Option<Json> {
        let mut entries = self.entries.lock();
        let key = canonical_key(operation, args);
        match entries.get(&key) {
            Some((json, at)) if now.saturating_duration_since(*at) <= self.max_age => Some(json.clone()),
            Some(_) => {
                entries.pop(&key);
                None
            }
            None => None,
        }
    }

    /// Replies remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn stale_serves_same_arguments_only_and_key_order_does_not_matter() {
        let t0 = Instant::now();
        let c = StaleCache::new(10, Duration::from_secs(60));
        c.put("get", &json!({"id": 1, "lang": "en"}), json!({"name": "a"}).into(), t0);
        let hit = c.get("get", &serde_json::from_str(r#"{"lang":"en","id":1}"#).unwrap(), t0);
        assert_eq!(hit, Some(json!({"name": "a"}).into()));
        assert_eq!(c.get("get", &json!({"id": 2, "lang": "en"}), t0), None);
        assert_eq!(c.get("other", &json!({"id": 1, "lang": "en"}), t0), None);
    }

    #[test]
    fn stale_is_bounded_in_age_and_size() {
        let t0 = Instant::now();
        let c = StaleCache::new(2, Duration::from_secs(60));
        for id in 0..3 {
            c.put("get", &json!({ "id": id }), json!(id).into(), t0);
        }
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("get", &json!({"id": 0}), t0), None, "least recently used is evicted");
        assert!(c.get("get", &json!({"id": 2}), t0 + Duration::from_secs(60)).is_some());
        assert_eq!(c.get("get", &json!({"id": 2}), t0 + Duration::from_secs(61)), None);
        assert_eq!(c.len(), 1, "an expired entry is dropped when seen");
    }
}
