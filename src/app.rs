//! A serving node: its dependencies ([`Node`]), its endpoint store, the endpoints it serves (which
//! follow the store), its cluster, its admin tokens and what it observes — what both listeners share.
//!
//! [`AppState::open`] refuses to start on a damaged store or Raft log, a store of another
//! environment or a data directory it cannot use, with a message naming what is wrong. Every change
//! goes through [`AppState::write`]: one store command, committed through the cluster's Raft log and
//! applied by every node; each node's endpoints reload as it applies. The node that initialises a
//! cluster (a node alone does so on its first start) publishes the sample endpoints into a store
//! that never saw a change, and only then.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use switchyard_storage::raft::{Change, OnApplied};
use switchyard_storage::{Command, EndpointKey, Outcome, Store};

use crate::admin::tokens::AdminTokens;
use crate::auth::Authenticator;
use crate::cluster::{Cluster, bootstrap::bootstrap};
use crate::config::{AdminToken, Config};
use crate::data_dir::{DataDir, TokenOrigin};
use crate::demo::DemoServices;
use crate::live::LiveEndpoints;
use crate::live::compiled::CompiledCache;
use crate::live::runaway::RunawayGates;
use crate::node::Node;
use crate::observe::Observe;
use crate::samples::SAMPLES;
use crate::status::ApiError;

/// Compilations kept beyond the routed ones.
const COMPILED_CAPACITY: usize = 1024;

/// Everything a serving node shares between its listeners. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Dependencies and script limits.
    pub node: Node,
    /// The endpoint store.
    pub store: Arc<Store>,
    /// What this node serves now.
    pub endpoints: Arc<LiveEndpoints>,
    /// Its cluster: every change goes through its Raft log.
    pub cluster: Arc<Cluster>,
    /// Admin tokens.
    pub tokens: Arc<AdminTokens>,
    /// Device tokens (`req.user`).
    pub auth: Arc<Authenticator>,
    /// What the node saw: endpoint statistics, kept traces, history, stream clients.
    pub observe: Observe,
    /// Suspensions of revisions that keep hitting their limits.
    pub runaways: Arc<RunawayGates>,
    /// How it started, for the banner.
    pub startup: Arc<Startup>,
}

/// What happened at start.
#[derive(Clone, Debug)]
pub struct Startup {
    /// The data directory.
    pub data_dir: DataDir,
    /// The store was created now (and seeded with the samples).
    pub created: bool,
    /// Where the built-in admin token came from (`None` when tokens are configured instead).
    pub token: Option<(String, TokenOrigin)>,
}

impl AppState {
    /// Opens the data directory and store, starts the dependencies and loads the endpoints.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let demo = DemoServices::new(config.server.demo_seed);
        Self::open_with(config, demo)
    }

    /// As [`AppState::open`], over given demo services.
    pub fn open_with(config: Config, demo: DemoServices) -> anyhow::Result<Self> {
        let data_dir = DataDir::prepare(&config.server.data_dir)?;
        let store = Store::open(&data_dir.store(), &config.server.environment)
            .with_context(|| format!("cannot open the endpoint store in {}", data_dir.store().display()))?;
        let store = Arc::new(store);
        let created = store.was_created();
        let mut tokens = config.auth.admin_tokens.clone();
        let token = if tokens.is_empty() || config.auth.admin_token_from_env.is_some() {
            let (token, origin) = data_dir.admin_token(config.auth.admin_token_from_env.as_deref())?;
            tokens.retain(|t| t.name != "admin");
            tokens.push(AdminToken { name: "admin".into(), token: token.clone(), scopes: vec!["*".into()] });
            Some((token, origin))
        } else {
            None
        };
        let auth = Arc::new(Authenticator::new(config.auth.jwt_secret.as_deref()));
        let node = Node::start_with(config, demo)?;
        let compiled = Arc::new(CompiledCache::new(COMPILED_CAPACITY));
        let endpoints =
            Arc::new(LiveEndpoints::load(Arc::clone(&store), compiled).context("cannot load the stored endpoints")?);
        let cluster = Arc::new(
            Cluster::start(
                &node.config.cluster,
                &node.config.server.environment,
                node.config.server.admin,
                &data_dir.raft(),
                Arc::clone(&store),
                follow(Arc::clone(&endpoints)),
            )
            .with_context(|| format!("cannot start replication over {}", data_dir.raft().display()))?,
        );
        let seed = samples_for(&store)?;
        let observe = Observe::new(node.config.observe.clone());
        bootstrap(&cluster, seed).context("cannot start this node's cluster")?;
        Ok(Self {
            node,
            store,
            endpoints,
            cluster,
            tokens: Arc::new(AdminTokens::new(tokens)),
            auth,
            observe,
            runaways: Arc::new(RunawayGates::new()),
            startup: Arc::new(Startup { data_dir, created, token }),
        })
    }

    /// Commits one change on a majority of the cluster and applies it here: served from the next
    /// request on. A store refusal (a routing naming a missing revision …) is the client's error;
    /// no majority in time is a 503, a disk too full for the change a 507, failed storage a 503
    /// `store_failed` ([`ApiError`]'s `From<ClusterError>`).
    pub async fn write(&self, command: Command) -> Result<Outcome, ApiError> {
        match self.cluster.write(command).await {
            Ok(Some(Ok(outcome))) => Ok(outcome),
            Ok(Some(Err(rejection))) => Err(ApiError::from(rejection)),
            Ok(None) => Err(ApiError::internal("the log entry carried no command")),
            Err(error) => Err(ApiError::from(error)),
        }
    }

    /// Whether this node follows its cluster: not once its store failed or its Raft stopped (a
    /// disk that filled up under a write, an I/O error); then the reason. See `/readyz`.
    pub fn readiness(&self) -> Result<(), String> {
        if let Some(failure) = self.store.failure() {
            return Err(failure.to_string());
        }
        match self.cluster.status().stopped {
            Some(reason) => Err(format!("replication stopped on this node: {reason}; restart it")),
            None => Ok(()),
        }
    }

    /// Stops replication (the listeners are stopped by their own shutdown future).
    pub async fn shutdown(&self) {
        self.cluster.shutdown().await;
    }
}

/// The hook that keeps `endpoints` following the store as the cluster applies changes.
fn follow(endpoints: Arc<LiveEndpoints>) -> OnApplied {
    Arc::new(move |change| {
        let reloaded = match change {
            Change::Endpoint(key) => endpoints.reload(key).map_err(|e| (key.to_string(), e)),
            Change::Everything => endpoints.reload_all().map_err(|e| ("every endpoint".to_owned(), e)),
        };
        if let Err((what, e)) = reloaded {
            tracing::error!(endpoint = %what, "applied but not served: {e}");
        }
    })
}

/// Milliseconds since the epoch, for commands.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The samples to publish if this node initialises its cluster: all of them for a store that never
/// saw a change (also one whose first start crashed before seeding), none otherwise — a deleted
/// sample stays deleted.
pub(crate) fn samples_for(store: &Store) -> anyhow::Result<Vec<Command>> {
    let blank = store.audit(None, 1).context("cannot read the audit log")?.is_empty();
    Ok(if blank { sample_commands() } else { Vec::new() })
}

/// Every sample as a publish.
fn sample_commands() -> Vec<Command> {
    SAMPLES
        .iter()
        .map(|(namespace, name, source)| Command::Publish {
            endpoint: EndpointKey::new(*namespace, *name),
            source: (*source).to_owned(),
            author: "switchyard".into(),
            notes: "sample endpoint".into(),
            at_ms: now_ms(),
        })
        .collect()
}
