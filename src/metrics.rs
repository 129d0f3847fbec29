//! Per-endpoint request counters by outcome (`ok`, `not_found`, `limit`, `dependency` …), kept
//! cheap for the request path and readable as a snapshot by the metrics and dashboard issues.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// Counts of answers by (endpoint, outcome). Unknown paths count under `-`.
#[derive(Default)]
pub struct EndpointCounters {
    counts: RwLock<BTreeMap<(String, String), Arc<AtomicU64>>>,
}

impl EndpointCounters {
    /// No counts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one answer.
    pub fn record(&self, endpoint: &str, outcome: &str) {
        let key = (endpoint.to_owned(), outcome.to_owned());
        if let Some(counter) = self.counts.read().get(&key) {
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counts.write().entry(key).or_default().fetch_add(1, Ordering::Relaxed);
    }

    /// The count of one (endpoint, outcome).
    pub fn get(&self, endpoint: &str, outcome: &str) -> u64 {
        let key = (endpoint.to_owned(), outcome.to_owned());
        self.counts.read().get(&key).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Every count.
    pub fn snapshot(&self) -> Vec<(String, String, u64)> {
        self.counts.read().iter().map(|((e, o), c)| (e.clone(), o.clone(), c.load(Ordering::Relaxed))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_endpoint_and_outcome() {
        let counters = EndpointCounters::new();
        counters.record("tv/home", "ok");
        counters.record("tv/home", "ok");
        counters.record("tv/home", "limit");
        assert_eq!(
            (counters.get("tv/home", "ok"), counters.get("tv/home", "limit"), counters.get("ps3/home", "ok")),
            (2, 1, 0)
        );
        assert_eq!(counters.snapshot().len(), 2);
    }
}
