//! A serving node: its dependencies ([`Node`]), its endpoint store, the endpoints it serves (which
//! follow the store), its admin tokens and its counters — what both listeners share.
//!
//! [`AppState::open`] refuses to start on a damaged store, a store of another environment or a data
//! directory it cannot use, with a message naming what is wrong; a store it creates is seeded with
//! the sample endpoints, and only then. Every change goes through [`AppState::write`]: one store
//! command, applied off the worker thread, then the live endpoints reloaded — the one place
//! replication will put the Raft log.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use switchyard_storage::{Command, EndpointKey, Outcome, Store};

use crate::admin::tokens::AdminTokens;
use crate::auth::Authenticator;
use crate::config::{AdminToken, Config};
use crate::data_dir::{DataDir, TokenOrigin};
use crate::demo::DemoServices;
use crate::live::LiveEndpoints;
use crate::live::compiled::CompiledCache;
use crate::metrics::EndpointCounters;
use crate::node::Node;
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
    /// Admin tokens.
    pub tokens: Arc<AdminTokens>,
    /// Device tokens (`req.user`).
    pub auth: Arc<Authenticator>,
    /// Answers by endpoint and outcome.
    pub counters: Arc<EndpointCounters>,
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
        if created {
            seed_samples(&store)?;
        }
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
            LiveEndpoints::load(Arc::clone(&store), compiled).context("cannot load the stored endpoints")?;
        Ok(Self {
            node,
            store,
            endpoints: Arc::new(endpoints),
            tokens: Arc::new(AdminTokens::new(tokens)),
            auth,
            counters: Arc::new(EndpointCounters::new()),
            startup: Arc::new(Startup { data_dir, created, token }),
        })
    }

    /// Applies one change durably and serves it from the next request on. A store refusal (a
    /// routing naming a missing revision …) is the client's error; anything else is ours.
    pub async fn write(&self, command: Command) -> Result<Outcome, ApiError> {
        let store = Arc::clone(&self.store);
        let key = command.endpoint().clone();
        let applied = actix_web::rt::task::spawn_blocking(move || store.apply(&command))
            .await
            .map_err(|e| ApiError::internal(format!("the store write did not finish: {e}")))?
            .map_err(|e| ApiError::internal(format!("the store failed: {e}")))?;
        let outcome = applied.map_err(ApiError::from)?;
        self.reload(&key)?;
        Ok(outcome)
    }

    fn reload(&self, key: &EndpointKey) -> Result<(), ApiError> {
        self.endpoints.reload(key).map_err(|e| {
            tracing::error!(endpoint = %key, "applied but not served: {e}");
            ApiError::internal(format!("the change is stored but could not be served: {e}"))
        })
    }
}

/// Milliseconds since the epoch, for commands.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Publishes every sample as revision 1 of its endpoint, into a store created just now.
fn seed_samples(store: &Store) -> anyhow::Result<()> {
    for (namespace, name, source) in SAMPLES {
        let command = Command::Publish {
            endpoint: EndpointKey::new(namespace, name),
            source: source.to_owned(),
            author: "switchyard".into(),
            notes: "sample endpoint".into(),
            at_ms: now_ms(),
        };
        store
            .apply(&command)
            .context("cannot seed the store")?
            .map_err(|r| anyhow::anyhow!("cannot seed sample {namespace}/{name}: {r}"))?;
    }
    Ok(())
}
