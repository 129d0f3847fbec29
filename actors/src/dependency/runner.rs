//! Where a started dependency's calls run: on its supervised actor, or inline in the caller's
//! task (semaphore isolation).
//!
//! A type of its own so the handle, the builder that chooses it and the call path that uses it
//! all depend on it without depending on each other.

use actix::{Addr, Arbiter};

use crate::actor::DependencyActor;

/// How a dependency's calls run.
pub(super) enum Runner {
    /// On the dependency's supervised actor (actor isolation).
    OnActor {
        /// The actor's mailbox: calls are sent with `try_send`, never waited for.
        addr: Addr<DependencyActor>,
        /// The actor's own arbiter, stopped when the last handle drops (`None` when it runs on
        /// the current arbiter).
        _arbiter: Option<ArbiterGuard>,
    },
    /// In the caller's task, bounded by the bulkhead alone (semaphore isolation).
    Inline,
}

/// Stops a dependency's own arbiter when the last handle goes.
pub(super) struct ArbiterGuard(pub(super) Arbiter);

impl Drop for ArbiterGuard {
    fn drop(&mut self) {
        self.0.stop();
    }
}
