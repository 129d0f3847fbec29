//! The dependency actor: runs backend calls on its arbiter — the caller's worker thread, or the
//! dependency's own thread ([`crate::Placement`]) — under `actix::Supervisor`, at most
//! `max_concurrent` at once *for the whole dependency*: a dependency may have one actor per worker
//! thread, and each claims a place in the dependency's shared count before it starts a call.
//!
//! Admission (breaker, bulkhead) happens before a call reaches the mailbox, in
//! [`crate::DependencyHandle`]; the actor only executes. Calls that find no place wait in the
//! actor's queue in arrival order (woken when any of the dependency's calls ends), so the queue's
//! length is bounded by the bulkhead's permits which each message carries. A backend that panics is caught with `catch_unwind`: its caller gets an
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
use crate::dependency::shared::{DependencyCore, ExecutingGuard};

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
    /// Whether the actor is registered to be woken when a place to execute frees up.
    awaiting_place: bool,
    /// The mailbox bound last set, so it is only changed when the settings change.
    mailbox_capacity: usize,
}

impl DependencyActor {
    /// The actor for `core`, its mailbox already sized: an actor started at a worker's first call
    /// gets that worker's burst of calls before it has run at all (actix's default bound is 16).
    pub fn new(core: Arc<DependencyCore>, ctx: &mut Context<Self>) -> Self {
        let mut actor = Self { core, waiting: VecDeque::new(), awaiting_place: false, mailbox_capacity: 0 };
        actor.fit_mailbox(ctx);
        actor
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

    /// Starts waiting calls while the dependency has places to execute them; when it has none,
    /// makes sure the actor is woken when one frees up.
    fn drain(&mut self, ctx: &mut Context<Self>) {
        let max = self.core.settings.load().max_concurrent;
        let mut registered = None;
        loop {
            while self.waiting.front().is_some_and(|call| call.reply.is_closed()) {
                self.waiting.pop_front();
            }
            if self.waiting.is_empty() {
                return;
            }
            if let Some(place) = self.core.try_execute(max) {
                let call = self.waiting.pop_front().expect("checked above");
                self.start(call, place, ctx);
                continue;
            }
            if self.awaiting_place {
                // A registration from before is still pending: no place has been freed since it.
                return;
            }
            match registered.take() {
                None => {
                    // Registered before claiming once more, so a place freed in between wakes it.
                    let mut freed = Box::pin(Arc::clone(&self.core.place_freed).notified_owned());
                    freed.as_mut().enable();
                    registered = Some(freed);
                }
                Some(freed) => {
                    self.awaiting_place = true;
                    ctx.spawn(freed.into_actor(self).map(|(), act, ctx| {
                        act.awaiting_place = false;
                        act.drain(ctx);
                    }));
                    return;
                }
            }
        }
    }

    fn start(&mut self, call: RunCall, executing: ExecutingGuard, ctx: &mut Context<Self>) {
        let RunCall { operation, args, mut reply, permit } = call;
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
        self.awaiting_place = false;
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
