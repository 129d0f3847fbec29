//! The demo services (design §9): eight simulated backends with deterministic data, realistic
//! latency and a chaos switch, so a first run of Switchyard shows a living system with no setup.
//!
//! They run in-process behind the dependency actors (`kind = "demo"`, through
//! [`DemoServices::backend`]) and as a separate HTTP process for load tests
//! ([`demo_backends_server`], `switchyard demo-backends --listen ADDR`); both paths reach the same
//! backends, so data and chaos are identical.
//!
//! Layers, one file each: the world generated from a seed ([`DemoData`]: catalogue, users, rows),
//! the operations over it (`services`), latency, chaos, and the HTTP API.

mod args;
mod backend;
mod catalog;
mod chaos;
mod countries;
mod data;
mod http;
mod latency;
mod names;
mod rng;
mod rows;
mod services;
#[cfg(test)]
mod services_tests;
mod users;

use std::sync::Arc;

use switchyard_actors::Backend;

pub use args::MAX_BATCH;
pub use backend::ServiceBackend;
pub use catalog::{Audience, BOXART_SIZES, BoxArt, CATALOG_SIZE, Title, boxart_url};
pub use chaos::{Chaos, ChaosBackend, ChaosError, ChaosSettings, MAX_CHAOS_LATENCY_MS};
pub use data::DemoData;
pub use http::demo_backends_server;
pub use latency::Latency;
pub use rows::{ROWS_PER_USER, Row, TITLES_PER_ROW};
pub use services::{DEFAULT_SIMILAR, MAX_SIMILAR, Service};
pub use users::{Bookmark, MAX_BOOKMARKS, USER_COUNT, User};

/// The demo services' names, which are also their dependencies' names.
pub const SERVICES: [&str; 8] = ["users", "subscriber", "lists", "catalog", "ratings", "bookmarks", "artwork", "recs"];

/// The eight demo services over one generated world. Cheap to clone; clones share the data, the
/// backends and their chaos switches.
#[derive(Clone)]
pub struct DemoServices {
    inner: Arc<Inner>,
}

struct Inner {
    data: Arc<DemoData>,
    /// One per service, in [`Service::ALL`] order.
    backends: Vec<Arc<ChaosBackend>>,
}

impl DemoServices {
    /// The demo for `seed`, each service with its realistic latency.
    pub fn new(seed: u64) -> Self {
        Self::with_latency(Arc::new(DemoData::new(seed)), Latency::for_service)
    }

    /// The demo for `seed`, answering at once (tests, benchmarks).
    pub fn without_latency(seed: u64) -> Self {
        Self::with_latency(Arc::new(DemoData::new(seed)), |_| Latency::none())
    }

    /// The demo over already generated `data`, with each service's latency chosen by `latency`.
    pub fn with_latency(data: Arc<DemoData>, latency: impl Fn(Service) -> Latency) -> Self {
        let backends = Service::ALL
            .into_iter()
            .map(|service| {
                let inner = Arc::new(ServiceBackend::new(service, Arc::clone(&data), latency(service)));
                let chaos = Chaos::seeded(data.seed(), service.index() as u64);
                Arc::new(ChaosBackend::new(inner, chaos))
            })
            .collect();
        Self { inner: Arc::new(Inner { data, backends }) }
    }

    /// The generated world.
    pub fn data(&self) -> &Arc<DemoData> {
        &self.inner.data
    }

    /// The backend of the service called `service`, chaos switch included.
    pub fn backend(&self, service: &str) -> Option<Arc<dyn Backend>> {
        let backend: Arc<ChaosBackend> = Arc::clone(self.entry(Service::from_name(service)?));
        Some(backend)
    }

    /// The chaos switch of the service called `service`.
    pub fn chaos(&self, service: &str) -> Option<Chaos> {
        Some(self.entry(Service::from_name(service)?).chaos().clone())
    }

    pub(crate) fn entry(&self, service: Service) -> &Arc<ChaosBackend> {
        &self.inner.backends[service.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_named_and_ordered_alike() {
        let names: Vec<&str> = Service::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, SERVICES);
        assert!(SERVICES.iter().all(|s| Service::from_name(s).is_some_and(|x| x.name() == *s)));
        assert_eq!(Service::from_name("nope"), None);
    }

    #[test]
    fn backends_and_chaos_switches_exist_for_every_service_and_are_shared_by_clones() {
        let demo = DemoServices::with_latency(Arc::new(DemoData::new(1)), |_| Latency::none());
        for name in SERVICES {
            assert!(demo.backend(name).is_some(), "{name}");
        }
        assert!(demo.backend("billing").is_none() && demo.chaos("billing").is_none());
        let clone = demo.clone();
        demo.chaos("ratings").expect("exists").set(ChaosSettings { hang: true, ..Default::default() }).expect("valid");
        assert!(clone.chaos("ratings").expect("exists").current().is_some_and(|s| s.hang));
        assert!(clone.chaos("users").expect("exists").current().is_none(), "switches are per service");
    }
}
