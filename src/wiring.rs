//! Starting a node's parts from its configuration: a backend for every dependency (the in-process
//! demo services, or HTTP), their actors, the collapsers and the endpoint registry with the sample
//! endpoints. `serve` and `run` share it, so a script behaves the same in both.

use std::sync::Arc;

use switchyard_actors::config::BackendKind;
use switchyard_actors::http::HttpBackend;
use switchyard_actors::{Backend, ConfigError, Placement, Registry};
use switchyard_endpoints::Dependencies;
use switchyard_endpoints::registry::EndpointRegistry;

use crate::config::Config;
use crate::demo::DemoServices;
use crate::samples;

/// A node's started parts.
#[derive(Clone)]
pub struct Node {
    /// The configuration it was started with.
    pub config: Arc<Config>,
    /// Dependency actors and collapsers.
    pub dependencies: Arc<Dependencies>,
    /// Endpoints and their revisions.
    pub endpoints: Arc<EndpointRegistry>,
    /// The in-process demo services (their chaos switches), used by `kind = "demo"` dependencies.
    pub demo: DemoServices,
}

impl Node {
    /// Starts the dependencies (inside an actix system) and loads the sample endpoints.
    pub fn start(config: Config) -> anyhow::Result<Self> {
        let demo = DemoServices::new(config.server.demo_seed);
        Self::start_with(config, demo)
    }

    /// As [`Node::start`], over given demo services (tests pass ones without latency).
    pub fn start_with(config: Config, demo: DemoServices) -> anyhow::Result<Self> {
        Self::start_placed(config, demo, Placement::OwnArbiter)
    }

    /// As [`Node::start_with`], with every dependency actor placed by `placement`
    /// (`CurrentArbiter`: tests on tokio's paused clock, where all timers share one runtime).
    pub fn start_placed(config: Config, demo: DemoServices, placement: Placement) -> anyhow::Result<Self> {
        let registry =
            Registry::start(&config.dependencies, placement, |name, dependency| backend_for(&demo, name, dependency))?;
        let endpoints = EndpointRegistry::new();
        samples::load(&endpoints)?;
        Ok(Self {
            config: Arc::new(config),
            dependencies: Arc::new(Dependencies::new(registry)),
            endpoints: Arc::new(endpoints),
            demo,
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
