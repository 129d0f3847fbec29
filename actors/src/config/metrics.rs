//! `[dependencies.NAME.metrics]`: the latency percentile window and how often the breaker's
//! health is recomputed.

use serde::{Deserialize, Serialize};

/// Statistics settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Window of the latency percentiles.
    pub percentile_window_ms: u64,
    /// Buckets of the latency window.
    pub percentile_buckets: u32,
    /// How often the breaker's error percentage is recomputed.
    pub health_snapshot_ms: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { percentile_window_ms: 60_000, percentile_buckets: 6, health_snapshot_ms: 500 }
    }
}
