//! The endpoint registry: which compiled revision serves `/{namespace}/{name}` on this node, and
//! each endpoint's own concurrency limit (design §2, §6).
//!
//! Revisions are immutable and numbered 1, 2, 3 … per endpoint; a publish compiles the script first
//! (a syntax error stores nothing) and the first publish makes the endpoint active. Until the
//! replicated store exists (its own issue), the registry is filled at startup with the sample
//! endpoints; the store will drive the same `publish` on every node.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::Serialize;
use sha2::{Digest, Sha256};
use switchyard_actors::bulkhead::{Bulkhead, Permit};

use crate::script::{CompiledScript, ScriptError, compile};

/// A namespace or endpoint name: `[a-z0-9][a-z0-9_-]{0,63}`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.len() <= 64
}

/// One immutable published version of an endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Revision {
    /// 1, 2, 3 … per endpoint.
    pub number: u32,
    /// Hex SHA-256 of the source.
    pub sha256: String,
    /// Who published it.
    pub author: String,
    /// Publish notes.
    pub notes: String,
    /// The source text.
    #[serde(skip)]
    pub source: Arc<str>,
    /// The compiled module.
    #[serde(skip)]
    pub script: CompiledScript,
}

struct Endpoint {
    revisions: Vec<Arc<Revision>>,
    active: u32,
    limiter: Arc<Bulkhead>,
}

/// What the front controller needs to serve a request.
#[derive(Clone)]
pub struct Resolved {
    /// The revision to run.
    pub revision: Arc<Revision>,
    limiter: Arc<Bulkhead>,
}

impl Resolved {
    /// A place in the endpoint's own concurrency limit, or `None` when it is exhausted.
    pub fn try_enter(&self, limit: usize) -> Option<Permit> {
        self.limiter.try_acquire(limit)
    }

    /// Requests of this endpoint running now.
    pub fn in_flight(&self) -> usize {
        self.limiter.in_use()
    }
}

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The namespace or name is not `[a-z0-9][a-z0-9_-]{0,63}`.
    #[error("invalid endpoint name `{0}`: use 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit")]
    InvalidName(String),
    /// The script does not compile.
    #[error(transparent)]
    Compile(#[from] ScriptError),
}

/// A summary for listings.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointSummary {
    /// `namespace/name`.
    pub endpoint: String,
    /// The active revision.
    pub active: u32,
    /// How many revisions exist.
    pub revisions: usize,
}

/// Endpoints by `namespace/name`.
#[derive(Default)]
pub struct EndpointRegistry {
    endpoints: RwLock<BTreeMap<String, Endpoint>>,
}

impl EndpointRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles and stores a new revision; the first one of an endpoint becomes active.
    pub fn publish(
        &self,
        namespace: &str,
        name: &str,
        source: &str,
        author: &str,
        notes: &str,
    ) -> Result<Arc<Revision>, PublishError> {
        for part in [namespace, name] {
            if !valid_name(part) {
                return Err(PublishError::InvalidName(part.to_owned()));
            }
        }
        let key = format!("{namespace}/{name}");
        let script = compile(&key, source)?;
        let sha256 = format!("{:x}", Sha256::digest(source.as_bytes()));
        let mut endpoints = self.endpoints.write();
        let endpoint = endpoints.entry(key).or_insert_with(|| Endpoint {
            revisions: Vec::new(),
            active: 0,
            limiter: Bulkhead::new(),
        });
        let number = endpoint.revisions.len() as u32 + 1;
        let revision = Arc::new(Revision {
            number,
            sha256,
            author: author.to_owned(),
            notes: notes.to_owned(),
            source: Arc::from(source),
            script,
        });
        endpoint.revisions.push(Arc::clone(&revision));
        if endpoint.active == 0 {
            endpoint.active = number;
        }
        Ok(revision)
    }

    /// The revision serving `namespace/name`, if the endpoint exists.
    pub fn resolve(&self, namespace: &str, name: &str) -> Option<Resolved> {
        let endpoints = self.endpoints.read();
        let endpoint = endpoints.get(&format!("{namespace}/{name}"))?;
        let revision = endpoint.revisions.get(endpoint.active as usize - 1)?;
        Some(Resolved { revision: Arc::clone(revision), limiter: Arc::clone(&endpoint.limiter) })
    }

    /// Every endpoint with its active revision.
    pub fn list(&self) -> Vec<EndpointSummary> {
        self.endpoints
            .read()
            .iter()
            .map(|(k, e)| EndpointSummary { endpoint: k.clone(), active: e.active, revisions: e.revisions.len() })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "export default () => 1";

    #[test]
    fn the_first_publish_becomes_active_and_revisions_count_up() {
        let registry = EndpointRegistry::new();
        let first = registry.publish("tv", "home", SCRIPT, "ann", "first").unwrap();
        let second = registry.publish("tv", "home", "export default () => 2", "bob", "").unwrap();
        assert_eq!((first.number, second.number), (1, 2));
        assert_eq!(
            registry.resolve("tv", "home").unwrap().revision.number,
            1,
            "a later publish is not active by itself"
        );
        assert_eq!(first.sha256.len(), 64);
        let listed = registry.list();
        assert_eq!((listed[0].endpoint.as_str(), listed[0].active, listed[0].revisions), ("tv/home", 1, 2));
        assert!(registry.resolve("tv", "nothing").is_none());
    }

    #[test]
    fn bad_names_and_bad_scripts_store_nothing() {
        let registry = EndpointRegistry::new();
        assert!(
            matches!(registry.publish("TV", "home", SCRIPT, "a", ""), Err(PublishError::InvalidName(n)) if n == "TV")
        );
        assert!(matches!(registry.publish("tv", "", SCRIPT, "a", ""), Err(PublishError::InvalidName(_))));
        assert!(matches!(registry.publish("tv", "home", "export default (", "a", ""), Err(PublishError::Compile(_))));
        assert!(registry.list().is_empty());
        assert!(valid_name("ps3") && valid_name("a-b_c") && !valid_name("-a") && !valid_name(&"a".repeat(65)));
    }

    #[test]
    fn each_endpoint_has_its_own_concurrency_limit() {
        let registry = EndpointRegistry::new();
        registry.publish("tv", "home", SCRIPT, "a", "").unwrap();
        registry.publish("ps3", "home", SCRIPT, "a", "").unwrap();
        let tv = registry.resolve("tv", "home").unwrap();
        let held = tv.try_enter(1).expect("room for one");
        assert!(tv.try_enter(1).is_none(), "tv/home is full");
        assert!(registry.resolve("ps3", "home").unwrap().try_enter(1).is_some(), "ps3/home is not affected");
        drop(held);
        assert!(tv.try_enter(1).is_some());
    }
}
