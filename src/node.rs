//! A node's dependency side, started from its configuration: a backend for every dependency (the
//! in-process demo services, or HTTP), their actors and collapsers, and the script limits — what a
//! script needs to run. `serve` (inside [`crate::app::AppState`]) and `run` share it, so a script
//! behaves the same in both.

use std::collections::BTreeMap;
use std::sync::Arc;

use switchyard_actors::config::BackendKind;
use switchyard_actors::http::HttpBackend;
use switchyard_actors::{Backend, ConfigError, Placement, Registry};
use switchyard_endpoints::Dependencies;

use crate::config::Config;
use crate::demo::{Chaos, ChaosBackend, DemoServices};
use crate::live::limits::LiveLimits;

/// A node's started dependencies. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    /// The configuration it was started with.
    pub config: Arc<Config>,
    /// Dependency actors and collapsers.
    pub dependencies: Arc<Dependencies>,
    /// The in-process demo services (their own chaos switches), used by `kind = "demo"` dependencies.
    pub demo: DemoServices,
    /// Each dependency's chaos switch (the admin API's latency monkey), in front of its backend
    /// whatever its kind.
    pub chaos: Arc<BTreeMap<String, Chaos>>,
    /// The script limits in force: `config.scripts` at start, changed by the admin API since.
    pub script_limits: Arc<LiveLimits>,
}

impl Node {
    /// Starts the dependencies (inside an actix system).
    pub fn start(config: Config) -> anyhow::Result<Self> {
        let demo = DemoServices::new(config.server.demo_seed);
        Self::start_with(config, demo)
    }

    /// As [`Node::start`], over given demo services (tests pass ones without latency).
    pub fn start_with(config: Config, demo: DemoServices) -> anyhow::Result<Self> {
        Self::start_placed(config, demo, Placement::PerWorker)
    }

    /// As [`Node::start_with`], with every dependency actor placed by `placement`
    /// (`CurrentArbiter`: tests on tokio's paused clock, where all timers share one runtime).
    pub fn start_placed(config: Config, demo: DemoServices, placement: Placement) -> anyhow::Result<Self> {
        let mut chaos = BTreeMap::new();
        let registry = Registry::start(&config.dependencies, placement, |name, dependency| {
            let switch = Chaos::seeded(config.server.demo_seed, chaos.len() as u64 + 100);
            chaos.insert(name.to_owned(), switch.clone());
            let backend: Arc<dyn Backend> = Arc::new(ChaosBackend::new(backend_for(&demo, name, dependency)?, switch));
            Ok(backend)
        })?;
        Ok(Self {
            script_limits: Arc::new(LiveLimits::new(config.scripts.clone())),
            config: Arc::new(config),
            dependencies: Arc::new(Dependencies::new(registry)),
            demo,
            chaos: Arc::new(chaos),
        })
    }
}

/// The backend of one configured dependency.
fn backend_for(
    demo: &DemoServices,
    name: &str,
    dependency: &switchyard_actors::DependencyConfig,
) -> Result<Arc<dyn Backend>, ConfigError> {
    match dependency.kind {
        BackendKind::Demo => demo.backend(name).ok_or_else(|| {
            let known = crate::demo::SERVICES.join(", ");
            ConfigError::new(
                &format!("dependencies.{name}"),
                "kind",
                format!("no demo service `{name}` (there are: {known})"),
            )
        }),
        BackendKind::Http => {
            let http = dependency.http.as_ref().ok_or_else(|| {
                ConfigError::new(&format!("dependencies.{name}"), "http", "required when kind = \"http\"")
            })?;
            Ok(Arc::new(HttpBackend::new(name, http, dependency.max_concurrent)?))
        }
    }
}
