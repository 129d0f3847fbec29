//! `DependencyHandle`: one started dependency, as its callers hold it.
//!
//! The handle is split by concept: [`shared`] holds the state the handle and the actor share,
//! [`start`] builds it, [`call`] is the protected call path, [`outcome`] classifies a finished call
//! (pure, tested without a runtime), [`snapshot`] reads the statistics, and [`runner`] says where
//! calls run. This file holds the handle itself and what changes its settings; it re-exports
//! nothing from its children, which all import the handle from here, so no import runs both ways.

use std::sync::Arc;

use tokio::time::Instant;

use crate::config::{DependencyConfig, SettingsPatch};
use crate::error::ConfigError;
use runner::Runner;
use shared::DependencyCore;

mod call;
pub(crate) mod outcome;
mod runner;
pub(crate) mod shared;
mod snapshot;
pub(crate) mod start;

/// What a started dependency is made of; the handle is a reference-counted pointer to it.
struct Started {
    /// The state the actor shares.
    core: Arc<DependencyCore>,
    /// Where calls run; owned by the handles only (dropping the last one stops the arbiter).
    runner: Runner,
}

/// A started dependency. Cheap to clone; every clone is the same dependency.
#[derive(Clone)]
pub struct DependencyHandle {
    started: Arc<Started>,
}

impl DependencyHandle {
    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.started.core.name
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<DependencyConfig> {
        self.started.core.settings.load_full()
    }

    /// Changes settings while serving; invalid values are refused and nothing changes.
    pub fn update_settings(&self, patch: &SettingsPatch) -> Result<Arc<DependencyConfig>, ConfigError> {
        let core = &self.started.core;
        let prefix = format!("dependencies.{}", core.name);
        let mut ledger = core.ledger.lock();
        let old = core.settings.load_full();
        let new = Arc::new(patch.apply_to(&old, &prefix)?);
        let now = Instant::now();
        ledger.breaker.reshape(&old.breaker, &new.breaker, now);
        if (old.breaker.window_ms, old.breaker.buckets) != (new.breaker.window_ms, new.breaker.buckets) {
            let window = std::time::Duration::from_millis(new.breaker.window_ms);
            ledger.peak_in_flight = crate::window::RollingPeak::new(window, new.breaker.buckets, now);
        }
        core.settings.store(Arc::clone(&new));
        tracing::info!(dependency = %core.name, ?patch, "settings changed");
        Ok(new)
    }
}

impl std::fmt::Debug for DependencyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyHandle").field("name", &self.name()).finish_non_exhaustive()
    }
}
