//! `DependencyHandle`: the protected call path of one dependency, and how it is started.
//!
//! A call is decided in this order (Hystrix's): breaker admission (open → SHORT_CIRCUITED), the
//! bulkhead's permit (full → REJECTED, at once), execution under the timeout (on the actor, or in
//! the caller's task for semaphore isolation), then classification and statistics, and on an error
//! the fallback (bad requests go straight back). Outcomes are recorded here and only here, by the
//! caller, so a reply that arrives after its timeout is never counted.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use actix::{Addr, Arbiter, Supervisor};
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

pub(crate) mod shared;

use shared::{Rolling, Shared, Timing};

use crate::actor::{DependencyActor, ExecError, Execute, Executed};
use crate::backend::{Backend, BackendErrorKind};
use crate::breaker::{Admission, BreakerState, CircuitBreaker};
use crate::bulkhead::{Bulkhead, Permit};
use crate::config::{DependencyConfig, Force, Isolation, SettingsPatch};
use crate::error::{CallError, ConfigError, ErrorKind, FallbackError};
use crate::event::Counts;
use crate::event::Event;
use crate::fallback::{Fallback, FallbackFn};
use crate::json::Json;
pub use crate::reply::{Origin, Reply};
use crate::stats::{DependencySnapshot, Latencies};

/// Where a dependency's actor runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// A new arbiter (thread) of its own: production.
    #[default]
    OwnArbiter,
    /// The current arbiter: tests on tokio's paused clock, where every timer must share one runtime.
    CurrentArbiter,
}

/// How a call failed, for the fallback step.
#[derive(Clone, Copy)]
struct Failed {
    /// The call's own event, not yet recorded (`None` when recorded elsewhere).
    cause: Option<Event>,
    /// Its execution time, if the backend ran.
    execution: Option<Duration>,
    /// When the call started.
    started: Instant,
    /// Whether to run the fallback at all.
    run_fallback: bool,
}

/// Reports the half-open trial's end to the breaker; a trial dropped unfinished (its caller
/// cancelled) counts as failed, so the breaker can never stay half-open forever.
struct Trial {
    shared: Option<Arc<Shared>>,
}

impl Trial {
    fn finish(mut self, succeeded: bool) {
        if let Some(shared) = self.shared.take() {
            shared.rolling.lock().breaker.trial_finished(succeeded, Instant::now());
        }
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.rolling.lock().breaker.trial_finished(false, Instant::now());
        }
    }
}

enum Executor {
    Actor { addr: Addr<DependencyActor>, _arbiter: Option<ArbiterGuard> },
    Inline,
}

/// Stops a dependency's own arbiter when the last handle goes.
struct ArbiterGuard(Arbiter);

impl Drop for ArbiterGuard {
    fn drop(&mut self) {
        self.0.stop();
    }
}

struct Inner {
    shared: Arc<Shared>,
    executor: Executor,
}

/// A started dependency. Cheap to clone; every clone is the same dependency.
#[derive(Clone)]
pub struct DependencyHandle {
    inner: Arc<Inner>,
}

/// Starts a dependency: `DependencyHandle::builder(name, config, backend)…start()`.
pub struct DependencyBuilder {
    name: String,
    config: DependencyConfig,
    backend: Arc<dyn Backend>,
    placement: Placement,
    fallback: Option<FallbackFn>,
}

impl DependencyBuilder {
    /// Where the actor runs (ignored for semaphore isolation).
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// A Rust fallback, instead of the configured kind.
    pub fn fallback_fn(mut self, fallback: FallbackFn) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Validates the config and starts the dependency. Must run inside an actix `System`.
    pub fn start(self) -> Result<DependencyHandle, ConfigError> {
        let prefix = format!("dependencies.{}", self.name);
        self.config.validate(&prefix)?;
        let now = Instant::now();
        let fallback = match self.fallback {
            Some(f) => Fallback::Custom(f),
            None => Fallback::from_config(&self.config.fallback),
        };
        let shared = Arc::new(Shared {
            name: Arc::from(self.name.as_str()),
            rolling: Mutex::new(Rolling {
                breaker: CircuitBreaker::new(&self.config.breaker, now),
                latencies: Latencies::new(&self.config.metrics, now),
                cumulative: Counts::default(),
            }),
            settings: ArcSwap::from_pointee(self.config),
            backend: self.backend,
            bulkhead: Bulkhead::new(),
            fallbacks: Bulkhead::new(),
            fallback,
            executing: AtomicUsize::new(0),
            restarts: AtomicU64::new(0),
        });
        let executor = match (shared.settings.load().isolation, self.placement) {
            (Isolation::Semaphore, _) => Executor::Inline,
            (Isolation::Actor, Placement::CurrentArbiter) => {
                let s = Arc::clone(&shared);
                Executor::Actor { addr: Supervisor::start(move |_| DependencyActor::new(s)), _arbiter: None }
            }
            (Isolation::Actor, Placement::OwnArbiter) => {
                let arbiter = Arbiter::new();
                let s = Arc::clone(&shared);
                let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| DependencyActor::new(s));
                Executor::Actor { addr, _arbiter: Some(ArbiterGuard(arbiter)) }
            }
        };
        tracing::debug!(dependency = %shared.name, "dependency started");
        Ok(DependencyHandle { inner: Arc::new(Inner { shared, executor }) })
    }
}

impl DependencyHandle {
    /// Begins building a dependency.
    pub fn builder(name: impl Into<String>, config: DependencyConfig, backend: Arc<dyn Backend>) -> DependencyBuilder {
        DependencyBuilder { name: name.into(), config, backend, placement: Placement::default(), fallback: None }
    }

    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.inner.shared.name
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<DependencyConfig> {
        self.inner.shared.settings.load_full()
    }

    /// Changes settings while serving; invalid values are refused and nothing changes.
    pub fn update_settings(&self, patch: &SettingsPatch) -> Result<Arc<DependencyConfig>, ConfigError> {
        let shared = &self.inner.shared;
        let prefix = format!("dependencies.{}", shared.name);
        let mut rolling = shared.rolling.lock();
        let old = shared.settings.load_full();
        let new = Arc::new(patch.apply_to(&old, &prefix)?);
        rolling.breaker.reshape(&old.breaker, &new.breaker, Instant::now());
        shared.settings.store(Arc::clone(&new));
        tracing::info!(dependency = %shared.name, ?patch, "settings changed");
        Ok(new)
    }

    /// Calls `operation` with `args` through the breaker, bulkhead, timeout and fallback.
    pub async fn call(&self, operation: &str, args: &Value) -> Result<Reply, CallError> {
        self.call_inner(operation, args, true).await
    }

    async fn call_inner(&self, operation: &str, args: &Value, run_fallback: bool) -> Result<Reply, CallError> {
        let shared = &self.inner.shared;
        let started = Instant::now();
        let (admission, limit, timeout) = {
            let settings = shared.settings.load();
            let snapshot_every = Duration::from_millis(settings.metrics.health_snapshot_ms);
            let admission = shared.rolling.lock().breaker.admit(&settings.breaker, snapshot_every, started);
            let limit = match settings.isolation {
                Isolation::Actor => settings.max_concurrent + settings.queue,
                Isolation::Semaphore => settings.max_concurrent,
            };
            (admission, limit, Duration::from_millis(settings.timeout_ms))
        };
        if admission == Admission::ShortCircuited {
            let error = CallError::new(&shared.name, ErrorKind::ShortCircuited, "circuit breaker is open");
            let failed = Failed { cause: Some(Event::ShortCircuited), execution: None, started, run_fallback };
            return self.fall_back(failed, error, operation, args).await;
        }
        let trial = Trial { shared: (admission == Admission::Trial).then(|| Arc::clone(shared)) };
        let Some(permit) = shared.bulkhead.try_acquire(limit) else {
            return self.rejected(trial, operation, args, started, run_fallback).await;
        };
        let executed = match &self.inner.executor {
            Executor::Inline => {
                // Most in-memory calls are ready at the first poll: only arm a timer when not.
                let mut run = std::pin::pin!(self.run_inline(operation, args, permit));
                match futures::poll!(run.as_mut()) {
                    std::task::Poll::Ready(executed) => Some(executed),
                    std::task::Poll::Pending => tokio::time::timeout_at(started + timeout, run).await.ok(),
                }
            }
            Executor::Actor { addr, .. } => {
                let (reply, answer) = oneshot::channel();
                let call = Execute { operation: Arc::from(operation), args: args.clone(), reply, permit };
                if addr.try_send(call).is_err() {
                    return self.rejected(trial, operation, args, started, run_fallback).await;
                }
                match tokio::time::timeout_at(started + timeout, answer).await {
                    Ok(Ok(executed)) => Some(executed),
                    Ok(Err(_closed)) => Some(Executed {
                        result: Err(ExecError::Panicked("dependency actor restarted while the call ran".into())),
                        elapsed: started.elapsed(),
                    }),
                    Err(_elapsed) => None,
                }
            }
        };
        let now = Instant::now();
        let mut execution = None;
        let (event, result) = match executed {
            None => (
                Event::Timeout,
                Err((ErrorKind::Timeout, Cow::Owned(format!("no answer within {} ms", timeout.as_millis())))),
            ),
            Some(Executed { result, elapsed }) => {
                execution = Some(match self.inner.executor {
                    Executor::Inline => now - started,
                    Executor::Actor { .. } => elapsed,
                });
                match result {
                    Ok(json) => (Event::Success, Ok(json)),
                    Err(ExecError::Backend(e)) if e.kind == BackendErrorKind::BadRequest => {
                        (Event::BadRequest, Err((ErrorKind::BadRequest, Cow::Owned(e.message))))
                    }
                    Err(ExecError::Backend(e)) => (Event::Failure, Err((ErrorKind::Failure, Cow::Owned(e.message)))),
                    Err(ExecError::Panicked(message)) => {
                        (Event::Failure, Err((ErrorKind::Failure, Cow::Owned(message))))
                    }
                }
            }
        };
        // A bad request proves the backend is answering: the trial succeeded. The trial is settled
        // first, so a successful trial is the first call counted in the fresh window.
        trial.finish(matches!(event, Event::Success | Event::BadRequest));
        let timing = Timing { execution, total: now - started };
        match result {
            Ok(json) => {
                shared.record(&[event], Some(timing), now);
                shared.fallback.remember(operation, args, &json);
                Ok(Reply { body: Some(json), origin: Origin::Backend })
            }
            Err((ErrorKind::BadRequest, message)) => {
                shared.record(&[event], Some(timing), now);
                Err(CallError::new(&shared.name, ErrorKind::BadRequest, message))
            }
            Err((kind, message)) => {
                let error = CallError::new(&shared.name, kind, message);
                let failed = Failed { cause: Some(event), execution, started, run_fallback };
                self.fall_back(failed, error, operation, args).await
            }
        }
    }

    /// Runs the backend in the caller's task. Its execution time is filled in by the caller, from
    /// the same clock read as the total (each read costs ~30 ns, a fifth of the budget).
    async fn run_inline(&self, operation: &str, args: &Value, permit: Permit) -> Executed {
        use futures::FutureExt;
        use std::panic::AssertUnwindSafe;
        let _permit = permit;
        let backend = &self.inner.shared.backend;
        let result = match std::panic::catch_unwind(AssertUnwindSafe(|| backend.call(operation, args))) {
            Err(_) => Err(ExecError::Panicked("backend panicked".into())),
            Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result.map_err(ExecError::Backend),
                Err(_) => Err(ExecError::Panicked("backend panicked".into())),
            },
        };
        Executed { result, elapsed: Duration::ZERO }
    }

    async fn rejected(
        &self,
        trial: Trial,
        operation: &str,
        args: &Value,
        started: Instant,
        run_fallback: bool,
    ) -> Result<Reply, CallError> {
        trial.finish(false);
        let error = CallError::new(&self.inner.shared.name, ErrorKind::Rejected, "bulkhead is full");
        let failed = Failed { cause: Some(Event::Rejected), execution: None, started, run_fallback };
        self.fall_back(failed, error, operation, args).await
    }

    /// Runs the fallback for `error` and records, under one lock, the failed call's own event (if
    /// not recorded yet) with the fallback's event; with `run_fallback` false, only the former.
    async fn fall_back(
        &self,
        failed: Failed,
        error: CallError,
        operation: &str,
        args: &Value,
    ) -> Result<Reply, CallError> {
        let shared = &self.inner.shared;
        let Failed { cause, execution, started, run_fallback } = failed;
        let events = |fallback_event: Option<Event>| -> ([Event; 2], usize) {
            match (cause, fallback_event) {
                (Some(c), Some(f)) => ([c, f], 2),
                (Some(e), None) | (None, Some(e)) => ([e, e], 1),
                (None, None) => ([Event::Success, Event::Success], 0),
            }
        };
        let quick = !run_fallback || matches!(shared.fallback, Fallback::Fail);
        if quick {
            // Latency is recorded only for calls where something ran; a bare short-circuit or
            // rejection reads no clock beyond its start.
            let (timing, now) = match execution {
                None => (None, started),
                Some(_) => {
                    let now = Instant::now();
                    (Some(Timing { execution, total: now - started }), now)
                }
            };
            let (list, n) = events(run_fallback.then_some(Event::FallbackMissing));
            shared.record(&list[..n], timing, now);
            return Err(if run_fallback { error.with_fallback(FallbackError::Missing) } else { error });
        }
        let limit = shared.settings.load().fallback.max_concurrent;
        let outcome = match shared.fallbacks.try_acquire(limit) {
            None => Err((Event::FallbackRejection, FallbackError::Rejected)),
            Some(_permit) => match shared.fallback.answer(operation, args, &error).await {
                Ok(body) => Ok(body),
                Err(message) => Err((Event::FallbackFailure, FallbackError::Failed(message))),
            },
        };
        let now = Instant::now();
        let timing = Some(Timing { execution, total: now - started });
        let (event, result) = match outcome {
            Ok(body) => (Event::FallbackSuccess, Ok(Reply { body, origin: Origin::Fallback(error.kind) })),
            Err((event, why)) => (event, Err(error.with_fallback(why))),
        };
        let (list, n) = events(Some(event));
        shared.record(&list[..n], timing, now);
        result
    }

    /// Calls `operation` through the breaker, bulkhead and timeout but without the fallback: the
    /// error comes back as is (a collapser's batch call; each of its callers then falls back with
    /// [`DependencyHandle::fallback`]).
    pub async fn call_without_fallback(&self, operation: &str, args: &Value) -> Result<Reply, CallError> {
        self.call_inner(operation, args, false).await
    }

    /// Runs this dependency's fallback for a call that already failed elsewhere (its failure was
    /// counted there), counting only the fallback's outcome.
    pub async fn fallback(&self, operation: &str, args: &Value, error: CallError) -> Result<Reply, CallError> {
        if error.kind == ErrorKind::BadRequest {
            return Err(error);
        }
        let failed = Failed { cause: None, execution: None, started: Instant::now(), run_fallback: true };
        self.fall_back(failed, error, operation, args).await
    }

    /// Remembers a good reply obtained elsewhere (a collapsed batch's item) for the stale fallback.
    pub fn remember(&self, operation: &str, args: &Value, reply: &Json) {
        self.inner.shared.fallback.remember(operation, args, reply);
    }

    /// Counts an event that happened outside the call path (request cache hits, collapsed calls).
    pub fn record_event(&self, event: Event) {
        self.inner.shared.record(&[event], None, Instant::now());
    }

    /// Everything known about the dependency now.
    pub fn snapshot(&self) -> DependencySnapshot {
        let shared = &self.inner.shared;
        let now = Instant::now();
        let settings = shared.settings.load_full();
        // Merging the histograms (a few µs) is the costly part; readers take snapshots about twice
        // a second, so holding the lock for it is cheaper than copying them out.
        let (state, health, rolling, cumulative, latency_execution, latency_total) = {
            let r = shared.rolling.lock();
            let (execution, total) = (r.latencies.execution.percentiles(now), r.latencies.total.percentiles(now));
            (r.breaker.state(), r.breaker.health(), r.breaker.totals(now), r.cumulative, execution, total)
        };
        let admitted = shared.bulkhead.in_use();
        // Inline calls have no queue: every admitted call is executing.
        let executing = match self.inner.executor {
            Executor::Inline => admitted,
            Executor::Actor { .. } => shared.executing.load(Ordering::Acquire),
        };
        DependencySnapshot {
            name: shared.name.to_string(),
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
            fallbacks_running: shared.fallbacks.in_use(),
            restarts: shared.restarts.load(Ordering::Relaxed),
            latency_execution,
            latency_total,
            settings: (*settings).clone(),
        }
    }
}

impl std::fmt::Debug for DependencyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyHandle").field("name", &self.name()).finish_non_exhaustive()
    }
}
