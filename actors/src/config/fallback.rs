//! `[dependencies.NAME.fallback]`: what a call that failed, timed out, was rejected or
//! short-circuited answers instead (design §3).

use serde::{Deserialize, Serialize};

use crate::json::Json;

/// Fallback settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FallbackConfig {
    /// Which fallback.
    pub kind: FallbackKind,
    /// The reply of a `static` fallback.
    pub value: Option<Json>,
    /// Arguments remembered by a `stale` fallback.
    pub stale_max_entries: usize,
    /// Oldest reply a `stale` fallback will serve.
    pub stale_max_age_ms: u64,
    /// Fallbacks running at once; beyond: FALLBACK_REJECTION.
    pub max_concurrent: usize,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        Self {
            kind: FallbackKind::Fail,
            value: None,
            stale_max_entries: 10_000,
            stale_max_age_ms: 300_000,
            max_concurrent: 10,
        }
    }
}

/// Kinds of fallback (design §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackKind {
    /// No fallback: the error reaches the caller (counted FALLBACK_MISSING).
    Fail,
    /// The configured `value`.
    Static,
    /// An empty reply: the call emits nothing.
    Silent,
    /// The last good reply for the same arguments, if young enough.
    Stale,
}
