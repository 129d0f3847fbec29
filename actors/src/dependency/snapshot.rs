//! [`DependencyHandle::snapshot`]: everything known about a dependency at one instant, read in
//! one pass under the ledger's lock for the stream, dashboard, admin API and metrics.

use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::DependencyHandle;
use super::runner::Runner;
use crate::breaker::BreakerState;
use crate::config::Force;
use crate::stats::DependencySnapshot;

impl DependencyHandle {
    /// Everything known about the dependency now.
    pub fn snapshot(&self) -> DependencySnapshot {
        let core = &self.started.core;
        let now = Instant::now();
        let settings = core.settings.load_full();
        // Merging the histograms (a few µs) is the costly part; readers take snapshots about twice
        // a second, so holding the lock for it is cheaper than copying them out.
        let (state, health, rolling, cumulative, peak, latency_execution, latency_total, since_start) = {
            let r = core.ledger.lock();
            let (execution, total) = (r.latencies.execution.percentiles(now), r.latencies.total.percentiles(now));
            let peak = r.peak_in_flight.peak(now) as usize;
            let since_start = r.latencies.total_since_start.clone();
            (
                r.breaker.state(),
                r.breaker.health(),
                r.breaker.totals(now),
                r.cumulative,
                peak,
                execution,
                total,
                since_start,
            )
        };
        let admitted = core.bulkhead.in_use();
        // Inline calls have no queue: every admitted call is executing.
        let executing = match self.started.runner {
            Runner::Inline => admitted,
            Runner::OnActor { .. } => core.executing.load(Ordering::Acquire),
        };
        DependencySnapshot {
            name: core.name.to_string(),
            isolation: settings.isolation,
            breaker: state,
            forced: settings.breaker.force,
            circuit_open: settings.breaker.force == Some(Force::Open)
                || (settings.breaker.force.is_none() && state != BreakerState::Closed),
            health,
            error_percent: rolling.error_percent(),
            rolling,
            cumulative,
            executing,
            queued: admitted.saturating_sub(executing),
            peak_in_flight: peak,
            fallbacks_running: core.fallback_slots.in_use(),
            restarts: core.restarts.load(Ordering::Relaxed),
            latency_execution,
            latency_total,
            latency_total_since_start: since_start,
            settings: (*settings).clone(),
        }
    }
}
