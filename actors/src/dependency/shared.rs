//! The state one dependency's handles and its actor share: its name, settings, backend,
//! bulkheads, fallback and the ledger every call records into.
//!
//! It lives apart from the call path so that the actor, which runs calls, can hold it without
//! importing the handle that sends them (the actor and the handle would otherwise import each
//! other). Everything a finished call changes is written by [`Shared::record`], under one lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::backend::Backend;
use crate::breaker::CircuitBreaker;
use crate::bulkhead::Bulkhead;
use crate::config::DependencyConfig;
use crate::event::{Counts, Event};
use crate::fallback::Fallback;
use crate::stats::Latencies;

/// State shared by the handle(s) and the actor.
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) settings: ArcSwap<DependencyConfig>,
    pub(crate) backend: Arc<dyn Backend>,
    /// Breaker, rolling counts and latency histograms behind one lock: a call takes it twice
    /// (admission, then its outcome), whatever it records.
    pub(super) rolling: Mutex<Rolling>,
    pub(super) bulkhead: Arc<Bulkhead>,
    pub(super) fallbacks: Arc<Bulkhead>,
    pub(super) fallback: Fallback,
    pub(super) executing: AtomicUsize,
    pub(crate) restarts: AtomicU64,
}

pub(super) struct Rolling {
    pub(super) breaker: CircuitBreaker,
    pub(super) latencies: Latencies,
    /// Totals since start (monotonic, for Prometheus); under the same lock, so counting is free.
    pub(super) cumulative: Counts,
}

/// The latencies of one finished call.
#[derive(Clone, Copy)]
pub(super) struct Timing {
    /// The backend's own time, if it executed.
    pub(super) execution: Option<Duration>,
    /// Everything the caller waited.
    pub(super) total: Duration,
}

/// Counts a call as executing for as long as it lives (owned, for calls on the actor).
pub(crate) struct ExecutingGuard(Arc<Shared>);

impl Drop for ExecutingGuard {
    fn drop(&mut self) {
        self.0.executing.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shared {
    /// Fresh state for a dependency whose config is already validated: a closed breaker, empty
    /// windows, nothing running.
    pub(super) fn new(
        name: &str,
        config: DependencyConfig,
        backend: Arc<dyn Backend>,
        fallback: Fallback,
        now: Instant,
    ) -> Self {
        Self {
            name: Arc::from(name),
            rolling: Mutex::new(Rolling {
                breaker: CircuitBreaker::new(&config.breaker, now),
                latencies: Latencies::new(&config.metrics, now),
                cumulative: Counts::default(),
            }),
            settings: ArcSwap::from_pointee(config),
            backend,
            bulkhead: Bulkhead::new(),
            fallbacks: Bulkhead::new(),
            fallback,
            executing: AtomicUsize::new(0),
            restarts: AtomicU64::new(0),
        }
    }

    pub(crate) fn executing_guard(self: &Arc<Self>) -> ExecutingGuard {
        self.executing.fetch_add(1, Ordering::AcqRel);
        ExecutingGuard(Arc::clone(self))
    }

    pub(super) fn record(&self, events: &[Event], timing: Option<Timing>, now: Instant) {
        let mut rolling = self.rolling.lock();
        for &event in events {
            rolling.cumulative.add(event, 1);
            rolling.breaker.record(event, now);
        }
        if let Some(t) = timing {
            rolling.latencies.record(t.execution, t.total, now);
        }
    }
}
