//! The dependency actor: runs backend calls on the dependency's own arbiter, at most
//! `max_concurrent` at once, under `actix::Supervisor`.
//!
//! Admission (breaker, bulkhead) happens before a call reaches the mailbox, in
//! [`crate::DependencyHandle`]; the actor only executes. Calls beyond `max_concurrent` wait in the
//! actor's queue in arrival order, so the queue's length is bounded by the bulkhead's permits which
//! each message carries. A backend that panics is caught with `catch_unwind`: its caller gets an
//! error, the actor stops and the supervisor restarts it, which drops every call it still held
//! (their callers see the reply channel close, count a failure and fall back). A call whose caller
//! gave up (timeout) is cancelled: the backend future is dropped, its slot freed.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix::prelude::*;
use futures::FutureExt;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::bulkhead::Permit;
use crate::dependency::outcome::{RunError, RunResult};
use crate::dependency::shared::DependencyCore;

/// One call to execute. Carries its bulkhead permit, so the place stays taken until the backend
/// work really ends (or the message is dropped).
pub(crate) struct RunCall {
    /// The operation to call.
    pub operation: Arc<str>,
    /// Its arguments.
    pub args: Value,
    /// Where the result goes; a closed channel means the caller gave up (the call is dropped).
    pub reply: oneshot::Sender<RunResult>,
    /// The call's place in the bulkhead, freed when the backend work ends.
    pub permit: Permit,
}

impl Message for RunCall {
    type Result = ();
}

/// Runs a dependency's backend calls.
pub(crate) struct DependencyActor {
    /// The dependency's shared state: settings, backend, counters.
    core: Arc<DependencyCore>,
    /// Calls received but not started, in arrival order (bounded by the bulkhead's permits).
    waiting: VecDeque<RunCall>,
    /// Calls started and not finished: at most `max_concurrent`.
    running: usize,
    /// The mailbox bound last set, so it is only changed when the settings change.
    mailbox_capacity: usize,
}

impl DependencyActor {
    pub fn new(core: Arc<DependencyCore>) -> Self {
        Self { core, waiting: VecDeque::new(), running: 0, mailbox_capacity: 0 }
    }

    /// Keeps the mailbox bound equal to the bulkhead size (a backstop: the permits are the limit).
    fn fit_mailbox(&mut self, ctx: &mut Context<Self>) {
        let settings = self.core.settings.load();
        let capacity = settings.max_concurrent + settings.queue;
        if capacity != self.mailbox_capacity {
            ctx.set_mailbox_capacity(capacity.max(1));
            self.mailbox_capacity = capacity;
        }
    }

    /// Starts waiting calls while execution slots are free.
    fn drain(&mut self, ctx: &mut Context<Self>) {
        let max = self.core.settings.load().max_concurrent;
        while self.running < max {
            let Some(call) = self.waiting.pop_front() else { break };
            if !call.reply.is_closed() {
                self.start(call, ctx);
            }
        }
    }

    fn start(&mut self, call: RunCall, ctx: &mut Context<Self>) {
        let RunCall { operation, args, mut reply, permit } = call;
        self.running += 1;
        let executing = self.core.executing_guard();
        let started = Instant::now();
        let backend = Arc::clone(&self.core.backend);
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| backend.call(&operation, &args)));
        let work = async move {
            let _permit = permit;
            let _executing = executing;
            let result = match future {
                Err(panic) => Err(RunError::Panicked(panic_message(&*panic))),
                Ok(future) => tokio::select! {
                    outcome = AssertUnwindSafe(future).catch_unwind() => match outcome {
                        Ok(result) => result.map_err(RunError::Backend),
                        Err(panic) => Err(RunError::Panicked(panic_message(&*panic))),
                    },
                    // The caller gave up: drop the backend future, free the slot.
                    () = reply.closed() => return None,
                },
            };
            let panicked = matches!(result, Err(RunError::Panicked(_)));
            let _ = reply.send(RunResult { result, elapsed: started.elapsed() });
            Some(panicked)
        };
        ctx.spawn(work.into_actor(self).map(|panicked, act, ctx| {
            act.running -= 1;
            if panicked == Some(true) {
                tracing::warn!(dependency = %act.core.name, "backend panicked; restarting its actor");
                ctx.stop();
            } else {
                act.drain(ctx);
            }
        }));
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("backend panicked: {text}")
}

impl Actor for DependencyActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.fit_mailbox(ctx);
    }
}

impl Supervised for DependencyActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        // The context dropped every running call; drop the waiting ones too, so their callers
        // learn at once instead of at their timeout.
        self.core.restarts.fetch_add(1, Ordering::Relaxed);
        self.waiting.clear();
        self.running = 0;
    }
}

impl Handler<RunCall> for DependencyActor {
    type Result = ();

    fn handle(&mut self, call: RunCall, ctx: &mut Self::Context) {
        self.fit_mailbox(ctx);
        self.waiting.push_back(call);
        self.drain(ctx);
    }
}
