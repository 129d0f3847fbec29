//! The protected call path of one dependency (Hystrix's order): breaker admission (open →
//! SHORT_CIRCUITED), the bulkhead's permit (full → REJECTED, at once), execution under the timeout
//! (on the actor, or in the caller's task for semaphore isolation), then classification
//! ([`super::outcome`]) and statistics, and on an error the fallback (bad requests go straight
//! back).
//!
//! Outcomes are recorded here and only here, by the caller, so a reply that arrives after its
//! timeout is never counted. Also here: the entry points the collapser uses to send a batch
//! without the fallback and to give each of its callers the fallback afterwards.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::DependencyHandle;
use super::outcome::{self, Outcome, RunError, RunResult};
use super::runner::Runner;
use super::shared::{DependencyCore, Timing};
use crate::actor::RunCall;
use crate::breaker::Admission;
use crate::bulkhead::Permit;
use crate::config::Isolation;
use crate::error::{CallError, ErrorKind, FallbackError};
use crate::event::Event;
use crate::fallback::Fallback;
use crate::json::Json;
use crate::reply::{Origin, Reply};

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
    /// The dependency whose breaker admitted this call as its trial; `None` for any other call,
    /// and once the trial is reported.
    core: Option<Arc<DependencyCore>>,
}

impl Trial {
    fn finish(mut self, succeeded: bool) {
        self.report(succeeded);
    }

    /// Tells the breaker, then logs its transition once the lock is released.
    fn report(&mut self, succeeded: bool) {
        if let Some(core) = self.core.take() {
            let transition = {
                let mut ledger = core.ledger.lock();
                ledger.breaker.trial_finished(succeeded, Instant::now());
                ledger.breaker.take_transition()
            };
            if let Some(transition) = transition {
                core.log_transition(transition);
            }
        }
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        self.report(false);
    }
}

/// The failed call's own event while its fallback runs: recorded with the fallback's event when
/// that ends, or alone if the caller goes away first, so a failure always reaches the breaker.
struct PendingCause<'a> {
    core: &'a DependencyCore,
    cause: Option<Event>,
    execution: Option<Duration>,
    started: Instant,
}

impl PendingCause<'_> {
    /// The event, to be recorded by the caller from here on.
    fn take(mut self) -> Option<Event> {
        self.cause.take()
    }
}

impl Drop for PendingCause<'_> {
    fn drop(&mut self) {
        if let Some(cause) = self.cause.take() {
            let now = Instant::now();
            self.core.record(&[cause], Some(Timing { execution: self.execution, total: now - self.started }), now);
        }
    }
}

impl DependencyHandle {
    /// Calls `operation` with `args` through the breaker, bulkhead, timeout and fallback.
    pub async fn call(&self, operation: &str, args: &Value) -> Result<Reply, CallError> {
        self.call_inner(operation, args, true).await
    }

    async fn call_inner(&self, operation: &str, args: &Value, run_fallback: bool) -> Result<Reply, CallError> {
        let core = &self.started.core;
        let started = Instant::now();
        let (admission, limit, timeout) = {
            let settings = core.settings.load();
            let snapshot_every = Duration::from_millis(settings.metrics.health_snapshot_ms);
            let (admission, transition) = {
                let mut ledger = core.ledger.lock();
                let admission = ledger.breaker.admit(&settings.breaker, snapshot_every, started);
                if admission != Admission::ShortCircuited {
                    ledger.peak_in_flight.record(core.bulkhead.in_use() as u64 + 1, started);
                }
                (admission, ledger.breaker.take_transition())
            };
            if let Some(transition) = transition {
                core.log_transition(transition);
            }
            let limit = match settings.isolation {
                Isolation::Actor => settings.max_concurrent + settings.queue,
                Isolation::Semaphore => settings.max_concurrent,
            };
            (admission, limit, Duration::from_millis(settings.timeout_ms))
        };
        if admission == Admission::ShortCircuited {
            let error = CallError::new(&core.name, ErrorKind::ShortCircuited, "circuit breaker is open");
            let failed = Failed { cause: Some(Event::ShortCircuited), execution: None, started, run_fallback };
            return self.fall_back(failed, error, operation, args).await;
        }
        let trial = Trial { core: (admission == Admission::Trial).then(|| Arc::clone(core)) };
        let Some(permit) = core.bulkhead.try_acquire(limit) else {
            return self.rejected(trial, operation, args, started, run_fallback).await;
        };
        let runner = &self.started.runner;
        let ran = if runner.is_inline() {
            // Most in-memory calls are ready at the first poll: only arm a timer when not.
            let mut run = std::pin::pin!(self.run_inline(operation, args, permit));
            match futures::poll!(run.as_mut()) {
                std::task::Poll::Ready(ran) => Some(ran),
                std::task::Poll::Pending => tokio::time::timeout_at(started + timeout, run).await.ok(),
            }
        } else {
            let (reply, answer) = oneshot::channel();
            let call = RunCall { operation: Arc::from(operation), args: args.clone(), reply, permit };
            if runner.send(call).is_err() {
                return self.rejected(trial, operation, args, started, run_fallback).await;
            }
            match tokio::time::timeout_at(started + timeout, answer).await {
                Ok(Ok(ran)) => Some(ran),
                Ok(Err(_closed)) => Some(RunResult {
                    result: Err(RunError::Panicked("dependency actor restarted while the call ran".into())),
                    elapsed: started.elapsed(),
                }),
                Err(_elapsed) => None,
            }
        };
        let now = Instant::now();
        // Inline execution is timed by the caller, from the same clock read as the total.
        let mut ran = ran;
        if let (Some(ran), Runner::Inline) = (&mut ran, &self.started.runner) {
            ran.elapsed = now - started;
        }
        let outcome = outcome::classify(ran, timeout);
        // The trial is settled first, so a successful trial is the first call counted in the fresh
        // window.
        trial.finish(outcome.trial_succeeded());
        let falls_back = outcome.falls_back();
        let Outcome { event, result, execution } = outcome;
        let timing = Timing { execution, total: now - started };
        match result {
            Ok(json) => {
                core.record(&[event], Some(timing), now);
                core.fallback.remember(operation, args, &json);
                Ok(Reply { body: Some(json), origin: Origin::Backend })
            }
            Err((kind, message)) if !falls_back => {
                core.record(&[event], Some(timing), now);
                Err(CallError::new(&core.name, kind, message))
            }
            Err((kind, message)) => {
                let error = CallError::new(&core.name, kind, message);
                let failed = Failed { cause: Some(event), execution, started, run_fallback };
                self.fall_back(failed, error, operation, args).await
            }
        }
    }

    /// Runs the backend in the caller's task. Its execution time is filled in by the caller, from
    /// the same clock read as the total (each read costs ~30 ns, a fifth of the budget).
    async fn run_inline(&self, operation: &str, args: &Value, permit: Permit) -> RunResult {
        use futures::FutureExt;
        use std::panic::AssertUnwindSafe;
        let _permit = permit;
        let backend = &self.started.core.backend;
        let result = match std::panic::catch_unwind(AssertUnwindSafe(|| backend.call(operation, args))) {
            Err(_) => Err(RunError::Panicked("backend panicked".into())),
            Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
                Ok(result) => result.map_err(RunError::Backend),
                Err(_) => Err(RunError::Panicked("backend panicked".into())),
            },
        };
        RunResult { result, elapsed: Duration::ZERO }
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
        let error = CallError::new(&self.started.core.name, ErrorKind::Rejected, "bulkhead is full");
        let failed = Failed { cause: Some(Event::Rejected), execution: None, started, run_fallback };
        self.fall_back(failed, error, operation, args).await
    }

    /// Runs the fallback for `error` and records, under one lock, the failed call's own event (if
    /// not recorded yet) with the fallback's event; with `run_fallback` false, only the former. A
    /// caller that goes away during the fallback still has its own event recorded.
    async fn fall_back(
        &self,
        failed: Failed,
        error: CallError,
        operation: &str,
        args: &Value,
    ) -> Result<Reply, CallError> {
        let core = &self.started.core;
        let Failed { cause, execution, started, run_fallback } = failed;
        let quick = !run_fallback || matches!(core.fallback, Fallback::Fail);
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
            let (list, n) = outcome::events(cause, run_fallback.then_some(Event::FallbackMissing));
            core.record(&list[..n], timing, now);
            return Err(if run_fallback { error.with_fallback(FallbackError::Missing) } else { error });
        }
        let pending = PendingCause { core, cause, execution, started };
        let limit = core.settings.load().fallback.max_concurrent;
        let outcome = match core.fallback_slots.try_acquire(limit) {
            None => Err((Event::FallbackRejection, FallbackError::Rejected)),
            Some(_permit) => match core.fallback.answer(operation, args, &error).await {
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
        let (list, n) = outcome::events(pending.take(), Some(event));
        core.record(&list[..n], timing, now);
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
        self.started.core.fallback.remember(operation, args, reply);
    }

    /// Counts an event that happened outside the call path (request cache hits, collapsed calls).
    pub fn record_event(&self, event: Event) {
        self.started.core.record(&[event], None, Instant::now());
    }
}
