//! The last hour of every dependency and endpoint at 10-second resolution, kept in memory for the
//! dashboard's charts (`GET /admin/v1/stats/history`).
//!
//! Every 10 seconds [`run`] takes one [`History::sample`]: the counts since the previous sample
//! (differences of the totals since start, so nothing between two samples is missed or counted
//! twice) and the latency percentiles of the last minute at that moment. Each series is a bounded
//! ring (`[observe] history_minutes` × 6 samples); a dependency or endpoint that goes away keeps
//! its series until it ages out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Weak;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use switchyard_actors::{Counts, DependencySnapshot, Event};
use utoipa::ToSchema;

use super::endpoint_stats::EndpointSnapshot;
use crate::app::{AppState, now_ms};

/// How often a sample is taken.
pub const RESOLUTION: Duration = Duration::from_secs(10);

/// One dependency over one 10-second step.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DependencySample {
    /// End of the step, milliseconds since the epoch.
    pub t: u64,
    /// Calls that counted for the breaker (success, failure, timeout, rejected).
    pub requests: u64,
    /// Of them, failures, timeouts and rejections.
    pub errors: u64,
    /// Calls refused by an open breaker.
    pub short_circuited: u64,
    /// Fallbacks tried (succeeded, failed, rejected or missing).
    pub fallbacks: u64,
    /// Median call latency over the last minute.
    pub latency_p50_ms: f64,
    /// 99th percentile call latency over the last minute.
    pub latency_p99_ms: f64,
    /// Whether calls were being short-circuited at the sample.
    pub open: bool,
}

/// One endpoint over one 10-second step.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EndpointSample {
    /// End of the step, milliseconds since the epoch.
    pub t: u64,
    /// Requests answered.
    pub requests: u64,
    /// Of them, answers ≥ 500.
    pub errors: u64,
    /// Median latency over the last minute.
    pub latency_p50_ms: f64,
    /// 99th percentile latency over the last minute.
    pub latency_p99_ms: f64,
}

/// Every series, oldest sample first.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct HistoryView {
    /// Seconds between samples.
    pub resolution_s: u64,
    /// By dependency name.
    pub dependencies: BTreeMap<String, Vec<DependencySample>>,
    /// By endpoint (`namespace/name`; `-` for requests that found none).
    pub endpoints: BTreeMap<String, Vec<EndpointSample>>,
}

#[derive(Default)]
struct Series {
    dependencies: BTreeMap<String, VecDeque<DependencySample>>,
    endpoints: BTreeMap<String, VecDeque<EndpointSample>>,
    /// Totals at the previous sample.
    last_dependency: HashMap<String, Counts>,
    last_endpoint: HashMap<String, (u64, u64)>,
}

/// The rings.
pub struct History {
    samples: usize,
    series: Mutex<Series>,
}

fn push<T>(ring: &mut VecDeque<T>, sample: T, capacity: usize) {
    ring.push_back(sample);
    while ring.len() > capacity {
        ring.pop_front();
    }
}

impl History {
    /// Keeps `samples` samples per series.
    pub fn new(samples: usize) -> Self {
        Self { samples: samples.max(1), series: Mutex::new(Series::default()) }
    }

    /// Takes one sample at `t` (epoch ms): the counts since the previous one.
    pub fn sample(&self, t: u64, dependencies: &[DependencySnapshot], endpoints: &[EndpointSnapshot]) {
        let mut series = self.series.lock();
        for d in dependencies {
            let before = series.last_dependency.insert(d.name.clone(), d.cumulative).unwrap_or_default();
            let delta = |events: &[Event]| events.iter().map(|&e| d.cumulative.get(e) - before.get(e)).sum::<u64>();
            let sample = DependencySample {
                t,
                requests: d.cumulative.calls() - before.calls(),
                errors: d.cumulative.errors() - before.errors(),
                short_circuited: delta(&[Event::ShortCircuited]),
                fallbacks: delta(&[
                    Event::FallbackSuccess,
                    Event::FallbackFailure,
                    Event::FallbackRejection,
                    Event::FallbackMissing,
                ]),
                latency_p50_ms: d.latency_total.p50,
                latency_p99_ms: d.latency_total.p99,
                open: d.circuit_open,
            };
            let capacity = self.samples;
            push(series.dependencies.entry(d.name.clone()).or_default(), sample, capacity);
        }
        for e in endpoints {
            let now = (e.total_requests(), e.total_errors);
            let (requests, errors) = series.last_endpoint.insert(e.name.clone(), now).unwrap_or_default();
            let sample = EndpointSample {
                t,
                requests: now.0 - requests,
                errors: now.1 - errors,
                latency_p50_ms: e.latency.p50,
                latency_p99_ms: e.latency.p99,
            };
            let capacity = self.samples;
            push(series.endpoints.entry(e.name.clone()).or_default(), sample, capacity);
        }
    }

    /// Every series now.
    pub fn view(&self) -> HistoryView {
        let series = self.series.lock();
        HistoryView {
            resolution_s: RESOLUTION.as_secs(),
            dependencies: series.dependencies.iter().map(|(k, v)| (k.clone(), v.iter().cloned().collect())).collect(),
            endpoints: series.endpoints.iter().map(|(k, v)| (k.clone(), v.iter().cloned().collect())).collect(),
        }
    }
}

/// Samples `state` every [`RESOLUTION`] for as long as the node is alive (it holds only a weak
/// reference, so a stopped node's sampler ends at its next tick).
pub async fn run(state: Weak<AppState>) {
    let mut every = tokio::time::interval(RESOLUTION);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(state) = state.upgrade() else { return };
        let dependencies = state.node.dependencies.registry().snapshots();
        let endpoints = state.observe.endpoints.snapshots(tokio::time::Instant::now());
        state.observe.history.sample(now_ms(), &dependencies, &endpoints);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::endpoint_stats::{Answered, EndpointStats};

    #[test]
    fn each_sample_counts_what_happened_since_the_previous_one() {
        let stats = EndpointStats::new();
        let history = History::new(2);
        let now = tokio::time::Instant::now();
        let ok = Answered {
            endpoint: "tv/home",
            revision: 1,
            variant: None,
            status: 200,
            outcome: "ok",
            duration: Duration::from_millis(5),
        };
        stats.record(&ok, now);
        stats.record(&Answered { status: 502, outcome: "dependency", ..ok.clone() }, now);
        history.sample(10_000, &[], &stats.snapshots(now));
        stats.record(&ok, now);
        history.sample(20_000, &[], &stats.snapshots(now));
        history.sample(30_000, &[], &stats.snapshots(now));
        let view = history.view();
        let series: Vec<_> = view.endpoints["tv/home"].iter().map(|s| (s.t, s.requests, s.errors)).collect();
        // Two samples kept: the first (2 requests, 1 error) has aged out.
        assert_eq!(series, [(20_000, 1, 0), (30_000, 0, 0)]);
        assert_eq!(view.resolution_s, 10);
    }
}
