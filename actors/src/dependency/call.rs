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
use super::executor::Executor;
use super::outcome::{self, ExecError, Executed, Outcome};
use super::shared::{Shared, Timing};
use crate::actor::Execute;
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

impl DependencyHandle {
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
        // Inline execution is timed by the caller, from the same clock read as the total.
        let mut executed = executed;
        if let (Some(executed), Executor::Inline) = (&mut executed, &self.inner.executor) {
            executed.elapsed = now - started;
        }
        let outcome = outcome::classify(executed, timeout);
        // The trial is settled first, so a successful trial is the first call counted in the fresh
        // window.
        trial.finish(outcome.trial_succeeded());
        let falls_back = outcome.falls_back();
        let Outcome { event, result, execution } = outcome;
        let timing = Timing { execution, total: now - started };
        match result {
            Ok(json) => {
                shared.record(&[event], Some(timing), now);
                shared.fallback.remember(operation, args, &json);
                Ok(Reply { body: Some(json), origin: Origin::Backend })
            }
            Err((kind, message)) if !falls_back => {
                shared.record(&[event], Some(timing), now);
                Err(CallError::new(&shared.name, kind, message))
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
            let (list, n) = outcome::events(cause, run_fallback.then_some(Event::FallbackMissing));
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
        let (list, n) = outcome::events(cause, Some(event));
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
}
