//! What this node serves now: every endpoint of the store with its routing, its compiled routed
//! revisions and its own concurrency limit (design §2, §6). It *follows* the store: after every
//! applied change (here, or — with replication — from the log) [`LiveEndpoints::reload`] rebuilds
//! that endpoint, so the next request is served by the new state, with no restart.
//!
//! Reads are lock-free for requests (an `ArcSwap` of the whole map, replaced on each change, which
//! is rare); revisions the routing points at are compiled when the endpoint is loaded, others only
//! when a request pins one ([`LiveEndpoints::pinned`]).

pub mod compiled;
pub mod limits;
pub mod runaway;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use switchyard_actors::bulkhead::{Bulkhead, Permit};
use switchyard_endpoints::script::{CompiledScript, ScriptError};
use switchyard_storage::{EndpointKey, EndpointRecord, Routing, Store, StoreError, pick};

use compiled::CompiledCache;

/// One revision ready to run.
#[derive(Clone, Debug)]
pub struct LiveRevision {
    /// Its number.
    pub number: u32,
    /// SHA-256 of its source.
    pub sha256: String,
    /// The compiled module.
    pub script: CompiledScript,
}

/// One endpoint as served.
pub struct LiveEndpoint {
    /// Which.
    pub key: EndpointKey,
    /// Which revision serves whom.
    pub routing: Routing,
    /// Its newest revision (pins may name any of `1..=newest`).
    pub newest_revision: u32,
    /// The revisions the routing names.
    revisions: HashMap<u32, LiveRevision>,
    /// Its own concurrency limit, shared by every version of this endpoint's entry.
    limiter: Arc<Bulkhead>,
}

/// A request's revision, chosen.
#[derive(Clone)]
pub struct Resolved {
    /// The revision to run.
    pub revision: LiveRevision,
    /// The share that chose it: `canary`, a variant's name, or `None` for the active revision.
    pub variant: Option<String>,
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

/// Why an endpoint could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A routed revision is missing from the store (it never should be).
    #[error("{endpoint}: routing names revision {revision}, which the store does not have")]
    MissingRevision {
        /// The endpoint.
        endpoint: EndpointKey,
        /// The revision.
        revision: u32,
    },
    /// A stored revision no longer compiles (a newer engine refusing old syntax).
    #[error("{endpoint} revision {revision} does not compile: {error}")]
    Compile {
        /// The endpoint.
        endpoint: EndpointKey,
        /// The revision.
        revision: u32,
        /// Why.
        error: Box<ScriptError>,
    },
}

type ByName = HashMap<String, HashMap<String, Arc<LiveEndpoint>>>;

/// The endpoints this node serves.
pub struct LiveEndpoints {
    store: Arc<Store>,
    compiled: Arc<CompiledCache>,
    endpoints: ArcSwap<ByName>,
    /// Limiters outlive reloads (requests in flight hold their permits) and deletes (a recreated
    /// endpoint must not get a fresh limit while old requests still run).
    limiters: Mutex<HashMap<EndpointKey, Arc<Bulkhead>>>,
    /// Serialises reloads, so two changes of one endpoint cannot install their states out of order.
    reloading: Mutex<()>,
}

impl LiveEndpoints {
    /// Loads every endpoint of `store`, compiling its routed revisions (through `compiled`).
    pub fn load(store: Arc<Store>, compiled: Arc<CompiledCache>) -> Result<Self, LoadError> {
        let live = Self {
            store,
            compiled,
            endpoints: ArcSwap::from_pointee(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
            reloading: Mutex::new(()),
        };
        live.reload_all()?;
        Ok(live)
    }

    /// Rebuilds every endpoint from the store (at start, and after a snapshot replaced the store).
    pub fn reload_all(&self) -> Result<(), LoadError> {
        let _one_at_a_time = self.reloading.lock();
        let mut all = ByName::new();
        for record in self.store.endpoints()? {
            let endpoint = self.build(record)?;
            all.entry(endpoint.key.namespace.clone())
                .or_default()
                .insert(endpoint.key.name.clone(), Arc::new(endpoint));
        }
        self.endpoints.store(Arc::new(all));
        Ok(())
    }

    /// The compile cache (publishing compiles through it, so the reload after finds it compiled).
    pub fn compiled(&self) -> &Arc<CompiledCache> {
        &self.compiled
    }

    fn build(&self, record: EndpointRecord) -> Result<LiveEndpoint, LoadError> {
        let mut revisions = HashMap::new();
        let routed = std::iter::once(record.routing.active)
            .chain(record.routing.canary.iter().map(|c| c.revision))
            .chain(record.routing.variants.iter().map(|v| v.revision));
        for number in routed {
            if revisions.contains_key(&number) {
                continue;
            }
            let revision = self.compile(&record.key, number)?;
            revisions.insert(number, revision);
        }
        let limiter = Arc::clone(self.limiters.lock().entry(record.key.clone()).or_default());
        Ok(LiveEndpoint {
            key: record.key,
            routing: record.routing,
            newest_revision: record.newest_revision,
            revisions,
            limiter,
        })
    }

    fn compile(&self, key: &EndpointKey, number: u32) -> Result<LiveRevision, LoadError> {
        let stored = self
            .store
            .revision(key, number)?
            .ok_or_else(|| LoadError::MissingRevision { endpoint: key.clone(), revision: number })?;
        let script = self
            .compiled
            .get_or_compile(&stored.sha256, &stored.source)
            .map_err(|error| LoadError::Compile { endpoint: key.clone(), revision: number, error: Box::new(error) })?;
        Ok(LiveRevision { number, sha256: stored.sha256, script })
    }

    /// Rebuilds `key` from the store after a change: served from the next request on. A deleted
    /// endpoint disappears.
    pub fn reload(&self, key: &EndpointKey) -> Result<(), LoadError> {
        let _one_at_a_time = self.reloading.lock();
        let rebuilt = match self.store.endpoint(key)? {
            Some(record) => Some(Arc::new(self.build(record)?)),
            None => None,
        };
        let mut all = ByName::clone(&self.endpoints.load());
        match rebuilt {
            Some(endpoint) => {
                all.entry(key.namespace.clone()).or_default().insert(key.name.clone(), endpoint);
            }
            None => {
                if let Some(names) = all.get_mut(&key.namespace) {
                    names.remove(&key.name);
                    if names.is_empty() {
                        all.remove(&key.namespace);
                    }
                }
            }
        }
        self.endpoints.store(Arc::new(all));
        Ok(())
    }

    /// The endpoint at `namespace/name`, if it is served.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<LiveEndpoint>> {
        self.endpoints.load().get(namespace)?.get(name).cloned()
    }

    /// The revision serving this request: sticky per `user`, by `anonymous_roll` without one.
    pub fn resolve(&self, namespace: &str, name: &str, user: Option<&str>, anonymous_roll: u64) -> Option<Resolved> {
        let endpoint = self.get(namespace, name)?;
        let chosen = pick(&endpoint.routing, &endpoint.key, user, anonymous_roll);
        let revision = endpoint.revisions.get(&chosen.revision)?.clone();
        Some(Resolved { revision, variant: chosen.variant.map(str::to_owned), limiter: Arc::clone(&endpoint.limiter) })
    }

    /// Revision `number` of a served endpoint, for a request that pins it (`X-Switchyard-Revision`
    /// with an admin token): compiled now if no routing uses it. `Ok(None)` when there is no such
    /// endpoint or revision.
    pub fn pinned(&self, namespace: &str, name: &str, number: u32) -> Result<Option<Resolved>, LoadError> {
        let Some(endpoint) = self.get(namespace, name) else { return Ok(None) };
        if number == 0 || number > endpoint.newest_revision {
            return Ok(None);
        }
        let revision = match endpoint.revisions.get(&number) {
            Some(routed) => routed.clone(),
            None => self.compile(&endpoint.key, number)?,
        };
        Ok(Some(Resolved { revision, variant: Some("pinned".into()), limiter: Arc::clone(&endpoint.limiter) }))
    }

    /// Every served endpoint, sorted.
    pub fn list(&self) -> Vec<Arc<LiveEndpoint>> {
        let mut all: Vec<Arc<LiveEndpoint>> =
            self.endpoints.load().values().flat_map(|names| names.values().cloned()).collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }
}
