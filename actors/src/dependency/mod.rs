//! `DependencyHandle`: one started dependency, as its callers hold it.
//!
//! The handle is split by concept: [`shared`] holds the state the handle and the actor share,
//! [`start`] builds it, [`call`] is the protected call path, [`outcome`] classifies a finished call
//! (pure, tested without a runtime), [`snapshot`] reads the statistics, and [`executor`] says where
//! calls run. This file holds the handle itself and what changes its settings; it re-exports
//! nothing from its children, which all import the handle from here, so no import runs both ways.

use std::sync::Arc;

use tokio::time::Instant;

use crate::config::{DependencyConfig, SettingsPatch};
use crate::error::ConfigError;
use executor::Executor;
use shared::Shared;

mod call;
mod executor;
pub(crate) mod outcome;
pub(crate) mod shared;
mod snapshot;
pub(crate) mod start;

struct Inner {
    shared: Arc<Shared>,
    executor: Executor,
}

/// A started dependency. Cheap to clone; every clone is the same dependency.
#[derive(Clone)]
pub struct DependencyHandle {
    inner: Arc<Inner>,
}

impl DependencyHandle {
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
}

impl std::fmt::Debug for DependencyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyHandle").field("name", &self.name()).finish_non_exhaustive()
    }
}
