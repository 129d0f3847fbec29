//! Where a started dependency's calls execute: on its supervised actor, or inline in the caller's
//! task (semaphore isolation).
//!
//! A type of its own so the handle, the builder that chooses it and the call path that uses it
//! all depend on it without depending on each other.

use actix::{Addr, Arbiter};

use crate::actor::DependencyActor;

pub(super) enum Executor {
    Actor { addr: Addr<DependencyActor>, _arbiter: Option<ArbiterGuard> },
    Inline,
}

/// Stops a dependency's own arbiter when the last handle goes.
pub(super) struct ArbiterGuard(pub(super) Arbiter);

impl Drop for ArbiterGuard {
    fn drop(&mut self) {
        self.0.stop();
    }
}
