//! Statistics of device requests per endpoint — what the stream's `SwitchyardEndpoint` events,
//! the dashboard's endpoint tiles, the history and `/metrics` read.
//!
//! Each answer is recorded once, when it is complete (for a stream, after its last item), with
//! its endpoint, the revision and variant that ran, its status, its outcome code and its duration.
//! Per endpoint: a rolling 10-second window of requests, errors (answers ≥ 500) and the split
//! between revisions and variants; rolling latency percentiles (60 s); and totals since start per
//! (revision, variant, outcome) with a latency histogram per (revision, variant) for Prometheus.
//! Requests for no endpoint count under `-`, so the number of series stays bounded by the store;
//! and an endpoint keeps the since-start series of its [`MAX_SERVED_SERIES`] most recently served
//! (revision, variant) pairs only — a node that publishes all day does not grow its `/metrics` with
//! every revision it ever ran. A dropped pair's answers still count in the endpoint's totals.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use switchyard_actors::histogram::LatencyHistogram;
use switchyard_actors::latency::{Percentiles, RollingLatency};
use switchyard_actors::window::BucketRing;
use tokio::time::Instant;

/// The rolling window of counts (Hystrix's statistical window).
pub const WINDOW: Duration = Duration::from_secs(10);
const WINDOW_BUCKETS: u32 = 10;
const LATENCY_WINDOW: Duration = Duration::from_secs(60);
const LATENCY_BUCKETS: u32 = 6;

/// (revision, variant) pairs per endpoint whose since-start series are kept (the least recently
/// served beyond it are dropped).
pub const MAX_SERVED_SERIES: usize = 16;

/// Which code ran: a revision, and the routing variant that chose it (`None`: active or pinned;
/// `canary`; a variant's name).
pub type Served = (u32, Option<String>);

/// One finished answer.
#[derive(Clone, Debug)]
pub struct Answered<'a> {
    /// `namespace/name`, or `-`.
    pub endpoint: &'a str,
    /// The revision that ran (0: none did).
    pub revision: u32,
    /// The variant that chose it.
    pub variant: Option<&'a str>,
    /// The status sent.
    pub status: u16,
    /// `ok`, or the error code (`not_found`, `limit`, `dependency` …).
    pub outcome: &'a str,
    /// From the first byte in to the last byte out.
    pub duration: Duration,
}

/// One bucket of the rolling window.
#[derive(Clone, Debug, Default)]
struct Bucket {
    requests: u64,
    errors: u64,
    split: BTreeMap<Served, u64>,
}

/// Everything kept for one endpoint.
struct Ledger {
    rolling: BucketRing<Bucket>,
    latency: RollingLatency,
    /// Answers since start by (revision, variant) and outcome.
    totals: BTreeMap<(Served, String), u64>,
    /// Latencies since start by (revision, variant).
    latencies: BTreeMap<Served, LatencyHistogram>,
    /// When each kept (revision, variant) last answered, in answers recorded.
    last_served: HashMap<Served, u64>,
    /// Answers recorded since start.
    answers: u64,
    /// Answers since start of dropped (revision, variant) pairs, by outcome.
    retired: BTreeMap<String, u64>,
    /// Answers ≥ 500 since start.
    errors: u64,
}

impl Ledger {
    fn new(now: Instant) -> Self {
        Self {
            rolling: BucketRing::new(WINDOW, WINDOW_BUCKETS, now),
            latency: RollingLatency::new(LATENCY_WINDOW, LATENCY_BUCKETS, now),
            totals: BTreeMap::new(),
            latencies: BTreeMap::new(),
            last_served: HashMap::new(),
            answers: 0,
            retired: BTreeMap::new(),
            errors: 0,
        }
    }

    /// Notes that `served` answered; when it is new and the ledger keeps as many pairs as it may,
    /// the least recently served pair's series go (its counts into `retired`).
    fn served(&mut self, served: &Served) {
        self.answers += 1;
        if self.last_served.insert(served.clone(), self.answers).is_some()
            || self.last_served.len() <= MAX_SERVED_SERIES
        {
            return;
        }
        let Some(oldest) = self.last_served.iter().min_by_key(|(_, at)| **at).map(|(s, _)| s.clone()) else { return };
        self.last_served.remove(&oldest);
        self.latencies.remove(&oldest);
        let gone: Vec<(Served, String)> = self
            .totals
            .range((oldest.clone(), String::new())..)
            .take_while(|((s, _), _)| *s == oldest)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            if let Some(count) = self.totals.remove(&key) {
                *self.retired.entry(key.1).or_default() += count;
            }
        }
    }
}

/// Requests by (revision, variant) in the rolling window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitCount {
    /// The revision.
    pub revision: u32,
    /// The variant that chose it.
    pub variant: Option<String>,
    /// Requests it answered in the window.
    pub requests: u64,
}

/// Answers since start of one (revision, variant, outcome).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutcomeTotal {
    /// The revision (0: none ran).
    pub revision: u32,
    /// The variant.
    pub variant: Option<String>,
    /// `ok` or an error code.
    pub outcome: String,
    /// How many.
    pub count: u64,
}

/// One endpoint's statistics at one instant.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointSnapshot {
    /// `namespace/name`, or `-` for requests that found no endpoint.
    pub name: String,
    /// Requests answered in the last 10 seconds.
    pub rolling_requests: u64,
    /// Of them, answers ≥ 500.
    pub rolling_errors: u64,
    /// Who answered them.
    pub split: Vec<SplitCount>,
    /// Latency percentiles over the last minute.
    pub latency: Percentiles,
    /// Answers since start.
    pub totals: Vec<OutcomeTotal>,
    /// Answers ≥ 500 since start.
    pub total_errors: u64,
    /// Latencies since start by (revision, variant).
    pub latencies: Vec<(u32, Option<String>, LatencyHistogram)>,
    /// Answers since start of (revision, variant) pairs whose series were dropped
    /// ([`MAX_SERVED_SERIES`]): not in `totals`, still in [`Self::total_requests`].
    pub retired_requests: u64,
}

impl EndpointSnapshot {
    /// Errors as a whole percentage of the window's requests.
    pub fn error_percent(&self) -> u64 {
        (self.rolling_errors * 100).checked_div(self.rolling_requests).unwrap_or(0)
    }

    /// Answers since start, all outcomes, dropped series included.
    pub fn total_requests(&self) -> u64 {
        self.totals.iter().map(|t| t.count).sum::<u64>() + self.retired_requests
    }
}

/// Every endpoint's statistics. Shared by the listeners; cheap to record into.
#[derive(Default)]
pub struct EndpointStats {
    endpoints: RwLock<HashMap<String, Arc<Mutex<Ledger>>>>,
}

impl EndpointStats {
    /// Nothing recorded yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one finished answer at `now`.
    pub fn record(&self, answer: &Answered<'_>, now: Instant) {
        let ledger = self.ledger(answer.endpoint, now);
        let mut ledger = ledger.lock();
        let served: Served = (answer.revision, answer.variant.map(str::to_owned));
        let bucket = ledger.rolling.current(now, |old| {
            let mut fresh = old.unwrap_or_default();
            fresh.requests = 0;
            fresh.errors = 0;
            fresh.split.clear();
            fresh
        });
        bucket.requests += 1;
        bucket.errors += u64::from(answer.status >= 500);
        if answer.revision > 0 {
            *bucket.split.entry(served.clone()).or_default() += 1;
        }
        ledger.errors += u64::from(answer.status >= 500);
        ledger.latency.record(answer.duration, now);
        ledger.served(&served);
        *ledger.totals.entry((served.clone(), answer.outcome.to_owned())).or_default() += 1;
        ledger.latencies.entry(served).or_default().record(answer.duration);
    }

    fn ledger(&self, endpoint: &str, now: Instant) -> Arc<Mutex<Ledger>> {
        if let Some(ledger) = self.endpoints.read().get(endpoint) {
            return Arc::clone(ledger);
        }
        let mut endpoints = self.endpoints.write();
        Arc::clone(endpoints.entry(endpoint.to_owned()).or_insert_with(|| Arc::new(Mutex::new(Ledger::new(now)))))
    }

    /// Answers since start of one (endpoint, outcome), all revisions.
    pub fn count(&self, endpoint: &str, outcome: &str) -> u64 {
        let Some(ledger) = self.endpoints.read().get(endpoint).cloned() else { return 0 };
        let ledger = ledger.lock();
        let kept: u64 = ledger.totals.iter().filter(|((_, o), _)| o == outcome).map(|(_, n)| n).sum();
        kept + ledger.retired.get(outcome).copied().unwrap_or(0)
    }

    /// Every endpoint's statistics at `now`, by name.
    pub fn snapshots(&self, now: Instant) -> Vec<EndpointSnapshot> {
        let mut ledgers: Vec<(String, Arc<Mutex<Ledger>>)> =
            self.endpoints.read().iter().map(|(name, l)| (name.clone(), Arc::clone(l))).collect();
        ledgers.sort_by(|a, b| a.0.cmp(&b.0));
        ledgers
            .into_iter()
            .map(|(name, ledger)| {
                let ledger = ledger.lock();
                let mut window = Bucket::default();
                for bucket in ledger.rolling.live(now) {
                    window.requests += bucket.requests;
                    window.errors += bucket.errors;
                    for (served, n) in &bucket.split {
                        *window.split.entry(served.clone()).or_default() += n;
                    }
                }
                EndpointSnapshot {
                    name,
                    rolling_requests: window.requests,
                    rolling_errors: window.errors,
                    split: window
                        .split
                        .into_iter()
                        .map(|((revision, variant), requests)| SplitCount { revision, variant, requests })
                        .collect(),
                    latency: ledger.latency.percentiles(now),
                    totals: ledger
                        .totals
                        .iter()
                        .map(|(((revision, variant), outcome), &count)| OutcomeTotal {
                            revision: *revision,
                            variant: variant.clone(),
                            outcome: outcome.clone(),
                            count,
                        })
                        .collect(),
                    total_errors: ledger.errors,
                    latencies: ledger.latencies.iter().map(|((r, v), h)| (*r, v.clone(), h.clone())).collect(),
                    retired_requests: ledger.retired.values().sum(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered<'a>(endpoint: &'a str, revision: u32, variant: Option<&'a str>, status: u16) -> Answered<'a> {
        let outcome = if status < 400 { "ok" } else { "dependency" };
        Answered { endpoint, revision, variant, status, outcome, duration: Duration::from_millis(20) }
    }

    #[test]
    fn window_counts_errors_and_splits_by_revision_and_variant() {
        let stats = EndpointStats::new();
        let t0 = Instant::now();
        stats.record(&answered("tv/home", 3, None, 200), t0);
        stats.record(&answered("tv/home", 3, None, 502), t0);
        stats.record(&answered("tv/home", 4, Some("canary"), 200), t0 + Duration::from_secs(1));
        let snap = stats.snapshots(t0 + Duration::from_secs(2)).remove(0);
        assert_eq!((snap.rolling_requests, snap.rolling_errors, snap.error_percent()), (3, 1, 33));
        assert_eq!(
            snap.split,
            [
                SplitCount { revision: 3, variant: None, requests: 2 },
                SplitCount { revision: 4, variant: Some("canary".into()), requests: 1 }
            ]
        );
        assert_eq!(stats.count("tv/home", "ok"), 2);
        assert_eq!(stats.count("tv/home", "dependency"), 1);
        assert_eq!(snap.total_requests(), 3);
        assert_eq!(snap.latency.count, 3);
        assert_eq!(snap.latencies.len(), 2);
    }

    #[test]
    fn the_window_forgets_and_the_totals_do_not() {
        let stats = EndpointStats::new();
        let t0 = Instant::now();
        stats.record(&answered("tv/home", 1, None, 200), t0);
        let later = stats.snapshots(t0 + Duration::from_secs(11)).remove(0);
        assert_eq!((later.rolling_requests, later.split.len()), (0, 0));
        assert_eq!(later.total_requests(), 1);
    }

    #[test]
    fn requests_without_a_revision_count_but_do_not_split() {
        let stats = EndpointStats::new();
        let t0 = Instant::now();
        stats.record(&Answered { outcome: "not_found", ..answered("-", 0, None, 404) }, t0);
        let snap = stats.snapshots(t0).remove(0);
        assert_eq!((snap.name.as_str(), snap.rolling_requests, snap.split.len()), ("-", 1, 0));
        assert_eq!(stats.count("-", "not_found"), 1);
    }

    #[test]
    fn only_the_most_recently_served_revisions_keep_their_series_and_every_answer_still_counts() {
        let stats = EndpointStats::new();
        let t0 = Instant::now();
        let max = MAX_SERVED_SERIES as u32;
        for revision in 1..=max {
            stats.record(&answered("tv/home", revision, None, 200), t0);
        }
        stats.record(&answered("tv/home", 2, None, 502), t0); // revision 2 answers again: recent
        stats.record(&answered("tv/home", 1, None, 200), t0); // so is 1
        stats.record(&answered("tv/home", max + 1, None, 200), t0); // one pair too many: 3 goes
        stats.record(&answered("tv/home", max + 2, Some("canary"), 502), t0); // and then 4
        let snap = stats.snapshots(t0).remove(0);
        let revisions: std::collections::BTreeSet<u32> = snap.totals.iter().map(|t| t.revision).collect();
        let expected: std::collections::BTreeSet<u32> = (1..=max + 2).filter(|r| ![3, 4].contains(r)).collect();
        assert_eq!(revisions, expected);
        let with_histogram: std::collections::BTreeSet<u32> = snap.latencies.iter().map(|(r, _, _)| *r).collect();
        assert_eq!(with_histogram, expected);
        assert_eq!(snap.retired_requests, 2);
        assert_eq!(snap.total_requests(), u64::from(max) + 4);
        assert_eq!(stats.count("tv/home", "ok"), u64::from(max) + 2);
        assert_eq!(stats.count("tv/home", "dependency"), 2);
        assert_eq!(snap.total_errors, 2);
    }
}
