//! Where a started dependency's calls run: on a supervised actor — one per worker thread, or one
//! on the dependency's own thread — or inline in the caller's task (semaphore isolation).
//!
//! A type of its own so the handle, the builder that chooses it and the call path that uses it
//! all depend on it without depending on each other.
//!
//! Per worker: an actix-web worker thread is an actix arbiter, and a call sent to an actor on
//! another thread costs two cross-thread wake-ups (tens of microseconds on a VM when that thread
//! was parked). So each arbiter that calls the dependency gets an actor of its own, started at its
//! first call and kept in that thread's registry; the bulkhead, the breaker, the statistics and the
//! `max_concurrent` count stay shared by all of them (the dependency's core). A caller on a thread
//! without an arbiter uses the dependency's own actor on its own thread.

use std::sync::Arc;

use actix::{Addr, Arbiter, Supervisor};

use super::shared::DependencyCore;
use crate::actor::{DependencyActor, RunCall};
use crate::per_thread::PerThread;

/// How a dependency's calls run.
pub(super) enum Runner {
    /// On a supervised actor (actor isolation).
    OnActor {
        /// The actor's mailbox: calls are sent with `try_send`, never waited for.
        addr: Addr<DependencyActor>,
        /// The actor's own arbiter, stopped when the last handle drops (`None` when it runs on
        /// the current arbiter).
        _arbiter: Option<ArbiterGuard>,
        /// Whether each calling arbiter gets an actor of its own (`addr` then serves the callers
        /// that have no arbiter).
        per_worker: Option<WorkerActors>,
    },
    /// In the caller's task, bounded by the bulkhead alone (semaphore isolation).
    Inline,
}

impl Runner {
    /// Whether calls run in the caller's task.
    pub(super) fn is_inline(&self) -> bool {
        matches!(self, Runner::Inline)
    }

    /// Sends `call` to the actor for this thread — its own with `per_worker`, else the
    /// dependency's — with `try_send` on the address kept for it (not a clone: a full mailbox parks
    /// that sender, so the next call is refused until the actor catches up). `Err` when the mailbox
    /// refused it; the call is dropped either way for inline runners (never asked).
    pub(super) fn send(&self, call: RunCall) -> Result<(), ()> {
        match self {
            Runner::OnActor { per_worker: Some(workers), addr, .. } => match workers.send(call) {
                Ok(sent) => sent,
                Err(call) => addr.try_send(call).map_err(|_| ()),
            },
            Runner::OnActor { addr, .. } => addr.try_send(call).map_err(|_| ()),
            Runner::Inline => Err(()),
        }
    }
}

/// Stops a dependency's own arbiter when the last handle goes.
pub(super) struct ArbiterGuard(pub(super) Arbiter);

impl Drop for ArbiterGuard {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A dependency's actors, one per calling arbiter.
pub(super) struct WorkerActors {
    core: Arc<DependencyCore>,
    actors: PerThread<Addr<DependencyActor>>,
}

impl WorkerActors {
    pub(super) fn new(core: Arc<DependencyCore>) -> Self {
        Self { core, actors: PerThread::new() }
    }

    /// Sends `call` to this thread's actor for the dependency, started now if it has none; the call
    /// back on a thread without an arbiter.
    fn send(&self, call: RunCall) -> Result<Result<(), ()>, RunCall> {
        let start = || {
            Arbiter::try_current()?;
            let core = Arc::clone(&self.core);
            Some(Supervisor::start(move |ctx| DependencyActor::new(core, ctx)))
        };
        let mut call = Some(call);
        let sent = self.actors.with(start, |addr| addr.try_send(call.take().expect("sent once")).map_err(|_| ()));
        match (sent, call) {
            (Some(sent), _) => Ok(sent),
            (None, Some(call)) => Err(call),
            (None, None) => unreachable!("a call is only taken by a send"),
        }
    }
}
