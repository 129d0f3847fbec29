//! Live statistics of one dependency, and the snapshot other parts read.
//!
//! Rolling event counts live in the breaker's window (one lock for the decision and the count);
//! latency percentiles in their own rolling histograms; cumulative counters (for Prometheus, which
//! wants monotonic totals) beside them. [`DependencySnapshot`] is a plain value taken in one pass,
//! cheap enough for a 500 ms stream per client.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::breaker::{BreakerState, Health};
use crate::config::{DependencyConfig, Force, Isolation, MetricsConfig};
use crate::event::Counts;
use crate::histogram::LatencyHistogram;
use crate::latency::{Percentiles, RollingLatency};

/// Execution latency (the backend's own time) and total latency (what the caller waited,
/// fallback included).
#[derive(Debug)]
pub struct Latencies {
    /// Backend execution time of calls that ran.
    pub execution: RollingLatency,
    /// Whole-call time of every call.
    pub total: RollingLatency,
    /// Whole-call time of every call since start, in Prometheus's buckets.
    pub total_since_start: LatencyHistogram,
}

impl Latencies {
    /// Records one call: its execution time if it executed, and its total time.
    pub fn record(&mut self, execution: Option<Duration>, total: Duration, now: Instant) {
        if let Some(execution) = execution {
            self.execution.record(execution, now);
        }
        self.total.record(total, now);
        self.total_since_start.record(total);
    }

    /// Empty histograms shaped by `metrics`.
    pub fn new(metrics: &MetricsConfig, now: Instant) -> Self {
        let window = Duration::from_millis(metrics.percentile_window_ms);
        Self {
            execution: RollingLatency::new(window, metrics.percentile_buckets, now),
            total: RollingLatency::new(window, metrics.percentile_buckets, now),
            total_since_start: LatencyHistogram::default(),
        }
    }
}

/// Everything known about a dependency at one instant.
#[derive(Clone, Debug, Serialize)]
pub struct DependencySnapshot {
    /// Dependency name.
    pub name: String,
    /// Where its calls run.
    pub isolation: Isolation,
    /// The breaker's own state.
    pub breaker: BreakerState,
    /// Operator override, if any.
    pub forced: Option<Force>,
    /// Whether calls are being short-circuited now (open, half-open, or forced open).
    pub circuit_open: bool,
    /// The health snapshot the breaker last decided on.
    pub health: Health,
    /// Event counts in the rolling window.
    pub rolling: Counts,
    /// Error percentage of the rolling window, computed now.
    pub error_percent: u8,
    /// Event counts since start.
    pub cumulative: Counts,
    /// Calls executing on the backend now.
    pub executing: usize,
    /// Calls admitted but waiting for an execution slot.
    pub queued: usize,
    /// The most calls in flight at once (executing or queued) over the rolling window.
    pub peak_in_flight: usize,
    /// Fallbacks running now.
    pub fallbacks_running: usize,
    /// Supervised restarts of the dependency's actor.
    pub restarts: u64,
    /// Backend execution latency percentiles.
    pub latency_execution: Percentiles,
    /// Whole-call latency percentiles.
    pub latency_total: Percentiles,
    /// Whole-call latencies since start, for Prometheus.
    pub latency_total_since_start: LatencyHistogram,
    /// The settings in force.
    pub settings: DependencyConfig,
}
