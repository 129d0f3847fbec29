//! `GET /metrics`: the Prometheus text exposition (OpenMetrics) of everything the stream shows,
//! through the Prometheus project's own client crate. Nothing is updated on the request path for
//! it: each scrape encodes the snapshots taken at that moment.
//!
//! Names follow Prometheus's conventions: a `switchyard_` prefix, `_total` counters since start,
//! `_seconds` histograms, labels for the dimensions (`dependency`, `event`, `endpoint`, `revision`,
//! `variant` — empty when no variant chose the revision — and `outcome`).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use switchyard_actors::histogram::LatencyHistogram;
use switchyard_actors::{DependencySnapshot, Event};

use super::endpoint_stats::EndpointSnapshot;

/// Everything one scrape encodes.
#[derive(Debug)]
pub struct Scrape {
    /// Every dependency.
    pub dependencies: Vec<DependencySnapshot>,
    /// Every endpoint that answered.
    pub endpoints: Vec<EndpointSnapshot>,
    /// Global collapsers: (dependency, operation, batches, calls batched) since start.
    pub collapsers: Vec<(String, String, u64, u64)>,
    /// This node's Raft view.
    pub raft: RaftView,
    /// Stream clients connected.
    pub stream_clients: usize,
    /// Traces kept.
    pub traces_kept: usize,
    /// The script runtimes' pools.
    pub scripts: switchyard_endpoints::script::PoolStats,
    /// Answers by listener and status since start: (listener, status, count).
    pub responses: Vec<(super::responses::Listener, u16, u64)>,
}

/// The node's Raft state, as gauges.
#[derive(Debug, Default)]
pub struct RaftView {
    /// Current term.
    pub term: u64,
    /// Whether this node leads.
    pub is_leader: bool,
    /// Last log index (0: empty).
    pub last_log_index: u64,
    /// Last applied index (0: none).
    pub last_applied_index: u64,
    /// Voters in its membership.
    pub voters: usize,
    /// Learners in its membership.
    pub learners: usize,
}

type Labels = Vec<(&'static str, String)>;

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, series: &[(Labels, u64)]) -> std::fmt::Result {
    if series.is_empty() {
        return Ok(()); // a family without samples is only noise to a parser
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, series: &[(Labels, i64)]) -> std::fmt::Result {
    if series.is_empty() {
        return Ok(()); // a family without samples is only noise to a parser
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, &LatencyHistogram)],
) -> std::fmt::Result {
    if series.is_empty() {
        return Ok(()); // a family without samples is only noise to a parser
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, h) in series {
        let mut buckets: Vec<(f64, u64)> =
            switchyard_actors::histogram::LATENCY_BOUNDS_S.iter().copied().zip(h.buckets.iter().copied()).collect();
        let counted: u64 = h.buckets.iter().sum();
        buckets.push((f64::INFINITY, h.count - counted));
        metric.encode_family(labels)?.encode_histogram::<NoLabelSet>(h.sum_s, h.count, &buckets, None)?;
    }
    Ok(())
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let e = &mut encoder;
        let dep = |d: &DependencySnapshot| -> Labels { vec![("dependency", d.name.clone())] };
        let events: Vec<(Labels, u64)> = self
            .dependencies
            .iter()
            .flat_map(|d| {
                Event::ALL.iter().map(move |&ev| {
                    (vec![("dependency", d.name.clone()), ("event", ev.name().to_owned())], d.cumulative.get(ev))
                })
            })
            .collect();
        counter(
            e,
            "switchyard_dependency_events",
            "Dependency call events since start (Hystrix's event types).",
            &events,
        )?;
        let latencies: Vec<_> = self.dependencies.iter().map(|d| (dep(d), &d.latency_total_since_start)).collect();
        histogram(
            e,
            "switchyard_dependency_latency_seconds",
            "Whole-call latency of dependency calls, fallback included.",
            &latencies,
        )?;
        type Reading = fn(&DependencySnapshot) -> i64;
        let dependency_gauges: [(&str, &str, Reading); 6] = [
            ("switchyard_dependency_circuit_open", "1 while the dependency's calls are short-circuited.", |d| {
                i64::from(d.circuit_open)
            }),
            ("switchyard_dependency_error_percent", "Error percentage over the breaker's rolling window.", |d| {
                i64::from(d.error_percent)
            }),
            ("switchyard_dependency_executing", "Calls executing on the backend now.", |d| d.executing as i64),
            ("switchyard_dependency_queued", "Calls admitted and waiting for an execution place.", |d| d.queued as i64),
            ("switchyard_dependency_bulkhead_capacity", "Places of the bulkhead (max_concurrent + queue).", |d| {
                (d.settings.max_concurrent + d.settings.queue) as i64
            }),
            ("switchyard_dependency_fallbacks_running", "Fallbacks running now.", |d| d.fallbacks_running as i64),
        ];
        for (name, help, reading) in dependency_gauges {
            let series: Vec<(Labels, i64)> = self.dependencies.iter().map(|d| (dep(d), reading(d))).collect();
            gauge(e, name, help, &series)?;
        }
        let restarts: Vec<_> = self.dependencies.iter().map(|d| (dep(d), d.restarts)).collect();
        counter(e, "switchyard_dependency_restarts", "Supervised restarts of the dependency's actor.", &restarts)?;

        let batches: Vec<(Labels, u64)> = self
            .collapsers
            .iter()
            .map(|(d, op, b, _)| (vec![("dependency", d.clone()), ("operation", op.clone())], *b))
            .collect();
        counter(e, "switchyard_collapser_batches", "Batches sent by a global collapser.", &batches)?;
        let batched: Vec<(Labels, u64)> = self
            .collapsers
            .iter()
            .map(|(d, op, _, r)| (vec![("dependency", d.clone()), ("operation", op.clone())], *r))
            .collect();
        counter(e, "switchyard_collapser_requests_batched", "Calls that went out inside a batch.", &batched)?;

        let served = |name: &str, revision: u32, variant: &Option<String>| -> Labels {
            vec![
                ("endpoint", name.to_owned()),
                ("revision", revision.to_string()),
                ("variant", variant.clone().unwrap_or_default()),
            ]
        };
        let requests: Vec<(Labels, u64)> = self
            .endpoints
            .iter()
            .flat_map(|ep| {
                ep.totals.iter().map(move |t| {
                    let mut labels = served(&ep.name, t.revision, &t.variant);
                    labels.push(("outcome", t.outcome.clone()));
                    (labels, t.count)
                })
            })
            .collect();
        counter(
            e,
            "switchyard_endpoint_requests",
            "Device requests answered, by endpoint, revision, variant and outcome.",
            &requests,
        )?;
        let latencies: Vec<(Labels, &LatencyHistogram)> = self
            .endpoints
            .iter()
            .flat_map(|ep| ep.latencies.iter().map(move |(r, v, h)| (served(&ep.name, *r, v), h)))
            .collect();
        histogram(
            e,
            "switchyard_endpoint_latency_seconds",
            "Device request latency, first byte in to last byte out.",
            &latencies,
        )?;

        let raft = &self.raft;
        let node_gauges: [(&str, &str, i64); 8] = [
            ("switchyard_raft_term", "The node's current Raft term.", raft.term as i64),
            ("switchyard_raft_is_leader", "1 on the node that leads the cluster.", i64::from(raft.is_leader)),
            (
                "switchyard_raft_last_log_index",
                "Index of the last entry in the node's log.",
                raft.last_log_index as i64,
            ),
            (
                "switchyard_raft_last_applied_index",
                "Index of the last entry applied to the store.",
                raft.last_applied_index as i64,
            ),
            ("switchyard_raft_voters", "Voting members in the node's view of the membership.", raft.voters as i64),
            ("switchyard_raft_learners", "Learners in the node's view of the membership.", raft.learners as i64),
            (
                "switchyard_stream_clients",
                "Clients of /hystrix.stream and /turbine.stream now.",
                self.stream_clients as i64,
            ),
            ("switchyard_traces_kept", "Request traces kept in the ring.", self.traces_kept as i64),
        ];
        for (name, help, value) in node_gauges {
            gauge(e, name, help, &[(Vec::new(), value)])?;
        }
        let scripts = &self.scripts;
        counter(
            e,
            "switchyard_script_warm_contexts_created",
            "Script contexts set up and frozen for reuse (one per pooled runtime, again after a discard).",
            &[(Vec::new(), scripts.warm_contexts_created)],
        )?;
        counter(
            e,
            "switchyard_script_runtimes_discarded",
            "Script runtimes dropped after a request that hit a limit or left work behind.",
            &[(Vec::new(), scripts.runtimes_discarded)],
        )?;
        let responses: Vec<(Labels, u64)> = self
            .responses
            .iter()
            .map(|(listener, status, n)| {
                (vec![("listener", listener.name().to_owned()), ("status", status.to_string())], *n)
            })
            .collect();
        counter(
            e,
            "switchyard_http_responses",
            "Answers of the public and admin listeners by status since start (refusals before any handler included).",
            &responses,
        )?;
        Ok(())
    }
}

/// The exposition text of `scrape`.
pub fn render(scrape: Scrape) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}
