//! Starting a dependency: [`DependencyBuilder`] validates the config, builds the shared state and
//! starts the actor where [`Placement`] says (or none, for semaphore isolation).
//!
//! Kept apart from the call path because it runs once per dependency and is the only place that
//! decides how calls will execute.

use std::sync::Arc;

use actix::{Arbiter, Supervisor};
use tokio::time::Instant;

use super::runner::{ArbiterGuard, Runner, WorkerActors};
use super::shared::DependencyCore;
use super::{DependencyHandle, Started};
use crate::actor::DependencyActor;
use crate::backend::Backend;
use crate::config::{DependencyConfig, Isolation};
use crate::error::ConfigError;
use crate::fallback::{Fallback, FallbackFn};

/// Where a dependency's actor runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// One actor per calling arbiter (an actix-web worker thread), started at its first call, so a
    /// call does not cross threads; callers on a thread without an arbiter use an actor on a new
    /// arbiter of the dependency's own. Production.
    #[default]
    PerWorker,
    /// A new arbiter (thread) of its own, for every caller.
    OwnArbiter,
    /// The current arbiter: tests on tokio's paused clock, where every timer must share one runtime.
    CurrentArbiter,
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
        let fallback = match self.fallback {
            Some(f) => Fallback::Custom(f),
            None => Fallback::from_config(&self.config.fallback),
        };
        let core = Arc::new(DependencyCore::new(&self.name, self.config, self.backend, fallback, Instant::now()));
        let runner = match (core.settings.load().isolation, self.placement) {
            (Isolation::Semaphore, _) => Runner::Inline,
            (Isolation::Actor, Placement::CurrentArbiter) => {
                let s = Arc::clone(&core);
                let addr = Supervisor::start(move |ctx| DependencyActor::new(s, ctx));
                Runner::OnActor { addr, _arbiter: None, per_worker: None }
            }
            (Isolation::Actor, placement @ (Placement::OwnArbiter | Placement::PerWorker)) => {
                let arbiter = Arbiter::new();
                let s = Arc::clone(&core);
                let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |ctx| DependencyActor::new(s, ctx));
                let per_worker = (placement == Placement::PerWorker).then(|| WorkerActors::new(Arc::clone(&core)));
                Runner::OnActor { addr, _arbiter: Some(ArbiterGuard(arbiter)), per_worker }
            }
        };
        tracing::debug!(dependency = %core.name, "dependency started");
        Ok(DependencyHandle { started: Arc::new(Started { core, runner }) })
    }
}

impl DependencyHandle {
    /// Begins building a dependency.
    pub fn builder(name: impl Into<String>, config: DependencyConfig, backend: Arc<dyn Backend>) -> DependencyBuilder {
        DependencyBuilder { name: name.into(), config, backend, placement: Placement::default(), fallback: None }
    }
}
