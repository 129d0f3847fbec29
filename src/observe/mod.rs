//! "See it now" (design §8): what every dependency and endpoint is doing, for people and tools.
//!
//! - [`hystrix`]: the frames of the Hystrix stream, built from snapshots;
//! - [`stream`]: `/hystrix.stream` (this node) and `/turbine.stream` (the cluster, summed by
//!   [`aggregate`] as Turbine does), with the client limit, the token and CORS;
//! - [`endpoint_stats`]: per-endpoint request statistics, recorded as answers complete;
//! - [`history`]: the last hour at 10-second resolution, for the dashboard's charts;
//! - [`prometheus`]: the `/metrics` exposition;
//! - [`traces`]: the ring of kept request traces behind `GET /admin/v1/traces/{id}`, drawn for the
//!   terminal by [`trace_tree`];
//! - [`dashboard`]: the built-in page and its embedded assets.
//!
//! [`Observe`] is what the listeners share of it.

pub mod aggregate;
pub mod dashboard;
pub mod endpoint_stats;
pub mod history;
pub mod hystrix;
pub mod prometheus;
pub mod responses;
pub mod stream;
pub mod trace_tree;
pub mod traces;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use serde::{Deserialize, Serialize};
use switchyard_actors::{ConfigError, Event};

use crate::app::{AppState, now_ms};
use endpoint_stats::EndpointStats;
use history::History;
use hystrix::Frame;
use traces::Traces;

/// `[observe]`: the bounds of what is kept and served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObserveConfig {
    /// Stream clients (`/hystrix.stream` and `/turbine.stream` together) at once; beyond, 503.
    pub stream_clients: usize,
    /// Request traces kept (`X-Switchyard-Trace: 1`); the oldest goes first.
    pub traces_kept: usize,
    /// Calls kept per trace; a request that makes more keeps its first ones and says so.
    pub trace_calls: usize,
    /// Minutes of 10-second history kept per dependency and endpoint.
    pub history_minutes: usize,
}

impl Default for ObserveConfig {
    fn default() -> Self {
        Self { stream_clients: 5, traces_kept: 1000, trace_calls: 1000, history_minutes: 60 }
    }
}

impl ObserveConfig {
    /// Checks every bound is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("observe.stream_clients", self.stream_clients),
            ("observe.traces_kept", self.traces_kept),
            ("observe.trace_calls", self.trace_calls),
            ("observe.history_minutes", self.history_minutes),
        ];
        match positive.iter().find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(ConfigError { field: (*key).into(), message: "must be at least 1".into() }),
            None => Ok(()),
        }
    }
}

/// What the listeners share of observability. Cheap to clone.
#[derive(Clone)]
pub struct Observe {
    /// Device requests by endpoint.
    pub endpoints: Arc<EndpointStats>,
    /// Kept request traces.
    pub traces: Arc<Traces>,
    /// The last hour, every 10 seconds.
    pub history: Arc<History>,
    /// Stream clients connected now.
    pub stream_clients: Arc<AtomicUsize>,
    /// Every answer of either listener, by status.
    pub responses: Arc<responses::ResponseCounts>,
    /// The bounds.
    pub config: ObserveConfig,
}

impl Observe {
    /// Empty statistics bounded by `config`.
    pub fn new(config: ObserveConfig) -> Self {
        Self {
            endpoints: Arc::new(EndpointStats::new()),
            traces: Arc::new(Traces::new(config.traces_kept)),
            history: Arc::new(History::new(config.history_minutes * 6)),
            stream_clients: Arc::new(AtomicUsize::new(0)),
            responses: Arc::default(),
            config,
        }
    }
}

/// This node's frames now: a `HystrixCommand` and a `HystrixThreadPool` per dependency, a
/// `HystrixCollapser` per global collapser, a `SwitchyardEndpoint` per endpoint — each once it has
/// something to say (as Hystrix shows a command only once it ran): a dependency once called, a
/// collapser once it sent a batch, an endpoint once it answered.
pub fn local_frames(state: &AppState) -> Vec<Frame> {
    let now = now_ms();
    let dependencies: Vec<_> = state
        .node
        .dependencies
        .registry()
        .snapshots()
        .into_iter()
        .filter(|d| Event::ALL.iter().any(|&e| d.cumulative.get(e) > 0))
        .collect();
    let mut frames: Vec<Frame> = dependencies.iter().map(|d| hystrix::command(d, now)).collect();
    frames.extend(dependencies.iter().map(|d| hystrix::thread_pool(d, now)));
    let mut collapsers: Vec<_> = state
        .node
        .dependencies
        .global_collapsers()
        .map(|(dependency, c)| (dependency, c, c.snapshot()))
        .filter(|(_, _, snapshot)| snapshot.batches > 0)
        .collect();
    collapsers.sort_by(|a, b| (a.0, &a.2.operation).cmp(&(b.0, &b.2.operation)));
    frames.extend(collapsers.iter().map(|(dependency, c, snapshot)| hystrix::collapser(dependency, c, snapshot, now)));
    let endpoints = state.observe.endpoints.snapshots(tokio::time::Instant::now());
    frames.extend(endpoints.iter().map(|e| hystrix::endpoint(e, now)));
    frames
}
