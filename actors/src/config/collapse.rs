//! `[dependencies.NAME.collapse.OPERATION]`: how single-item calls of one operation collapse into
//! a batch operation. Plain data, validated once at the edge; the mechanism that uses it is
//! [`crate::collapser`], which re-exports these types under its own path.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// How one operation collapses into a batch operation (`[dependencies.NAME.collapse.OPERATION]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollapserConfig {
    /// The batch operation the calls become (`title` → `titles`).
    pub into: String,
    /// The single call's argument that names its item.
    pub key_arg: String,
    /// The batch call's argument that lists the items.
    pub batch_arg: String,
    /// The field of each reply item that names it.
    pub item_key: String,
    /// How long a batch stays open.
    pub window_ms: u64,
    /// Most items in one batch; a full batch is sent at once.
    pub max_batch: usize,
    /// Batches are split into this many shards by a hash of the key.
    pub shards: u32,
    /// One collapser for the whole server, or one per device request.
    pub scope: Scope,
}

impl Default for CollapserConfig {
    fn default() -> Self {
        Self {
            into: String::new(),
            key_arg: "id".into(),
            batch_arg: "ids".into(),
            item_key: "id".into(),
            window_ms: 10,
            max_batch: 100,
            shards: 1,
            scope: Scope::Global,
        }
    }
}

/// Where a collapser lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Calls from every request share batches.
    Global,
    /// Only calls of the same device request share batches.
    Request,
}

impl CollapserConfig {
    /// Checks every value; `prefix` is the key path (`dependencies.catalog.collapse.title`).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let err =
            |field: &str, message: &str| ConfigError { field: format!("{prefix}.{field}"), message: message.into() };
        for (field, value) in [
            ("into", &self.into),
            ("key_arg", &self.key_arg),
            ("batch_arg", &self.batch_arg),
            ("item_key", &self.item_key),
        ] {
            if value.is_empty() {
                return Err(err(field, "must not be empty"));
            }
        }
        if self.window_ms == 0 {
            return Err(err("window_ms", "must be at least 1"));
        }
        if self.max_batch == 0 {
            return Err(err("max_batch", "must be at least 1"));
        }
        if self.shards == 0 {
            return Err(err("shards", "must be at least 1"));
        }
        Ok(())
    }
}
