//! The registry: dependency name → started [`DependencyHandle`], built from validated config.
//!
//! The server builds one at startup (names from `[dependencies.NAME]`); the admin API, stream and
//! metrics read its snapshots; endpoints look dependencies up by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::Backend;
use crate::config::DependencyConfig;
use crate::dependency::DependencyHandle;
use crate::dependency::start::Placement;
use crate::error::ConfigError;
use crate::stats::DependencySnapshot;

/// All dependencies of a server.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    dependencies: BTreeMap<String, DependencyHandle>,
}

/// Checks a dependency name: `[a-z0-9][a-z0-9_-]{0,63}`, the rule of every name (the server pins
/// this check to `switchyard_storage::is_valid_name` with a test; this crate depends on no other).
pub fn validate_name(name: &str) -> Result<(), ConfigError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(ConfigError {
            field: format!("dependencies.{name}"),
            message: "a dependency name is 1–64 of a-z, 0-9, '_' and '-', starting with a letter or digit".into(),
        })
    }
}

impl Registry {
    /// Starts every configured dependency with the backend `backends` makes for it. Must run inside
    /// an actix `System`. Nothing is started if any config is invalid.
    pub fn start<F>(
        configs: &BTreeMap<String, DependencyConfig>,
        placement: Placement,
        mut backends: F,
    ) -> Result<Self, ConfigError>
    where
        F: FnMut(&str, &DependencyConfig) -> Result<Arc<dyn Backend>, ConfigError>,
    {
        for (name, config) in configs {
            validate_name(name)?;
            config.validate(&format!("dependencies.{name}"))?;
        }
        let mut dependencies = BTreeMap::new();
        for (name, config) in configs {
            let backend = backends(name, config)?;
            let handle =
                DependencyHandle::builder(name.clone(), config.clone(), backend).placement(placement).start()?;
            dependencies.insert(name.clone(), handle);
        }
        Ok(Self { dependencies })
    }

    /// Adds a dependency started elsewhere (for example with a Rust fallback).
    pub fn insert(&mut self, handle: DependencyHandle) {
        self.dependencies.insert(handle.name().to_owned(), handle);
    }

    /// The dependency called `name`.
    pub fn get(&self, name: &str) -> Option<&DependencyHandle> {
        self.dependencies.get(name)
    }

    /// Every dependency, by name.
    pub fn iter(&self) -> impl Iterator<Item = &DependencyHandle> {
        self.dependencies.values()
    }

    /// A snapshot of each dependency, by name.
    pub fn snapshots(&self) -> Vec<DependencySnapshot> {
        self.iter().map(DependencyHandle::snapshot).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_endpoint_rule() {
        for ok in ["users", "catalog-v2", "a_b", "9lives"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "Users", "-x", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
