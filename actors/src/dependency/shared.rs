//! The state one dependency's handles and its actor share: its name, settings, backend,
//! bulkheads, fallback and the ledger every call records into.
//!
//! It lives apart from the call path so that the actor, which runs calls, can hold it without
//! importing the handle that sends them (the actor and the handle would otherwise import each
//! other). Everything a finished call changes is written by [`DependencyCore::record`], under one lock.
//! The handle's own parts that the actor never sees (where calls run) are in [`super::Started`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::backend::Backend;
use crate::breaker::{CircuitBreaker, Transition};
use crate::bulkhead::Bulkhead;
use crate::config::DependencyConfig;
use crate::event::{Counts, Event};
use crate::fallback::Fallback;
use crate::stats::Latencies;
use crate::window::RollingPeak;

/// The state of one dependency shared by its handles and its actor.
pub(crate) struct DependencyCore {
    /// The dependency's name: in every error, log line and snapshot (shared, never copied).
    pub(crate) name: Arc<str>,
    /// The settings in force; swapped whole by `update_settings`, so a call reads one consistent
    /// version without a lock.
    pub(crate) settings: ArcSwap<DependencyConfig>,
    /// What executes the calls (a demo service, HTTP, a test fake).
    pub(crate) backend: Arc<dyn Backend>,
    /// Breaker, rolling counts and latency histograms behind one lock: a call takes it twice
    /// (admission, then its outcome), whatever it records.
    pub(super) ledger: Mutex<Ledger>,
    /// Places for calls (executing or queued): full means REJECTED at once, never an unbounded
    /// queue.
    pub(super) bulkhead: Arc<Bulkhead>,
    /// Places for fallbacks running at once, a bulkhead of their own so a slow fallback cannot
    /// pile up behind a failing dependency (beyond it: FALLBACK_REJECTION).
    pub(super) fallback_slots: Arc<Bulkhead>,
    /// What a failed call answers instead (and, for `stale`, the replies it remembers).
    pub(super) fallback: Fallback,
    /// Calls running on the backend now (not those queued on an actor): the snapshot's count, and
    /// the limit `max_concurrent` is kept against by every actor of the dependency (one per worker
    /// thread, see [`super::runner`]), each claiming a place here before it starts a call.
    pub(super) executing: AtomicUsize,
    /// Woken when an executing call ends, so actors with calls waiting for a place try again.
    pub(crate) place_freed: Arc<Notify>,
    /// Times the supervisor restarted the actor after a panic, for the snapshot.
    pub(crate) restarts: AtomicU64,
}

/// What every call records, behind one lock: the breaker's window, the latencies and the totals.
pub(super) struct Ledger {
    /// The circuit breaker, whose rolling window is also the rolling event counts.
    pub(super) breaker: CircuitBreaker,
    /// Execution and total latency histograms.
    pub(super) latencies: Latencies,
    /// Totals since start (monotonic, for Prometheus); under the same lock, so counting is free.
    pub(super) cumulative: Counts,
    /// The most calls in flight at once over the breaker's window (the stream's
    /// `rollingMaxConcurrentExecutionCount`), noted at each admission.
    pub(super) peak_in_flight: RollingPeak,
}

/// The latencies of one finished call.
#[derive(Clone, Copy)]
pub(super) struct Timing {
    /// The backend's own time, if it executed.
    pub(super) execution: Option<Duration>,
    /// Everything the caller waited.
    pub(super) total: Duration,
}

/// A place among the `max_concurrent` executing calls, held for as long as it lives (owned, for
/// calls on an actor); giving it back wakes the actors waiting for one.
pub(crate) struct ExecutingGuard(Arc<DependencyCore>);

impl Drop for ExecutingGuard {
    fn drop(&mut self) {
        self.0.executing.fetch_sub(1, Ordering::AcqRel);
        self.0.place_freed.notify_waiters();
    }
}

impl DependencyCore {
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
            ledger: Mutex::new(Ledger {
                breaker: CircuitBreaker::new(&config.breaker, now),
                latencies: Latencies::new(&config.metrics, now),
                cumulative: Counts::default(),
                peak_in_flight: RollingPeak::new(
                    Duration::from_millis(config.breaker.window_ms),
                    config.breaker.buckets,
                    now,
                ),
            }),
            settings: ArcSwap::from_pointee(config),
            backend,
            bulkhead: Bulkhead::new(),
            fallback_slots: Bulkhead::new(),
            fallback,
            executing: AtomicUsize::new(0),
            place_freed: Arc::new(Notify::new()),
            restarts: AtomicU64::new(0),
        }
    }

    /// A place to execute one call while fewer than `max_concurrent` execute, or `None`.
    pub(crate) fn try_execute(self: &Arc<Self>, max_concurrent: usize) -> Option<ExecutingGuard> {
        self.executing
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max_concurrent).then_some(n + 1))
            .ok()
            .map(|_| ExecutingGuard(Arc::clone(self)))
    }

    /// Logs a change of the breaker's phase with the dependency's name, at `info`. Called after
    /// the ledger's lock is released, so logging never holds up other calls.
    pub(super) fn log_transition(&self, transition: Transition) {
        let dependency = &*self.name;
        match transition {
            Transition::Opened { calls, error_percent } => {
                tracing::info!(dependency, calls, error_percent, "circuit opened");
            }
            Transition::HalfOpen => tracing::info!(dependency, "circuit half-open: one trial call admitted"),
            Transition::Closed => tracing::info!(dependency, "circuit closed after a successful trial"),
            Transition::Reopened => tracing::info!(dependency, "trial failed; circuit reopened"),
        }
    }

    /// Records a finished call's events and latencies at `now`, under the ledger's lock.
    pub(super) fn record(&self, events: &[Event], timing: Option<Timing>, now: Instant) {
        let mut ledger = self.ledger.lock();
        for &event in events {
            ledger.cumulative.add(event, 1);
            ledger.breaker.record(event, now);
        }
        if let Some(t) = timing {
            ledger.latencies.record(t.execution, t.total, now);
        }
    }
}
