//! Batch statistics of one collapser since start, and [`CollapserSnapshot`], the plain value the
//! stream's `HystrixCollapser` event reads. Counting lives apart from batching so the batching
//! decisions stay pure.

use std::sync::atomic::{AtomicU64, Ordering};

use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::time::Instant;

use crate::window::BucketRing;

/// The rolling window of the batch counts: Hystrix's default statistical window.
const ROLLING_WINDOW: Duration = Duration::from_secs(10);
/// Its buckets.
const ROLLING_BUCKETS: u32 = 10;

/// Batch statistics since start (the stream's `HystrixCollapser` event reads them).
#[derive(Clone, Debug, Serialize)]
pub struct CollapserSnapshot {
    /// The single operation collapsed.
    pub operation: String,
    /// Batches sent.
    pub batches: u64,
    /// Calls that went out in a batch.
    pub requests_batched: u64,
    /// Batches sent in the last 10 seconds.
    pub rolling_batches: u64,
    /// Calls that went out in a batch in the last 10 seconds.
    pub rolling_requests_batched: u64,
    /// 25th percentile of items per batch.
    pub batch_size_p25: u64,
    /// Median items per batch.
    pub batch_size_p50: u64,
    /// 90th percentile of items per batch.
    pub batch_size_p90: u64,
    /// 75th percentile of items per batch.
    pub batch_size_p75: u64,
    /// 95th percentile of items per batch.
    pub batch_size_p95: u64,
    /// 99th percentile of items per batch.
    pub batch_size_p99: u64,
    /// 99.5th percentile of items per batch.
    pub batch_size_p99_5: u64,
    /// Largest batch.
    pub batch_size_max: u64,
    /// Mean items per batch.
    pub batch_size_mean: f64,
}

/// What a collapser counts as it sends batches.
pub(super) struct BatchStats {
    /// Items per batch sent.
    sizes: Mutex<Histogram<u64>>,
    /// Calls that went out in a batch.
    requests: AtomicU64,
    /// (batches, calls batched) per bucket of the last 10 seconds.
    rolling: Mutex<BucketRing<[u64; 2]>>,
}

impl BatchStats {
    /// Nothing counted yet.
    pub fn new() -> Self {
        let sizes = Histogram::new_with_bounds(1, 1_000_000, 2).expect("static histogram bounds are valid");
        let rolling = BucketRing::new(ROLLING_WINDOW, ROLLING_BUCKETS, Instant::now());
        Self { sizes: Mutex::new(sizes), requests: AtomicU64::new(0), rolling: Mutex::new(rolling) }
    }

    /// Counts one batch sent with `items` distinct items for `calls` callers at `now`.
    pub fn record(&self, items: usize, calls: usize, now: Instant) {
        let _ = self.sizes.lock().record(items as u64);
        self.requests.fetch_add(calls as u64, Ordering::Relaxed);
        let mut rolling = self.rolling.lock();
        let bucket = rolling.current(now, |_| [0, 0]);
        bucket[0] += 1;
        bucket[1] += calls as u64;
    }

    /// The statistics of `operation`'s collapser at `now`.
    pub fn snapshot(&self, operation: &str, now: Instant) -> CollapserSnapshot {
        let [rolling_batches, rolling_requests_batched] =
            self.rolling.lock().live(now).fold([0, 0], |[b, r], [nb, nr]| [b + nb, r + nr]);
        let sizes = self.sizes.lock();
        let nonempty = !sizes.is_empty();
        let at = |q: f64| if nonempty { sizes.value_at_quantile(q) } else { 0 };
        CollapserSnapshot {
            operation: operation.to_owned(),
            batches: sizes.len(),
            requests_batched: self.requests.load(Ordering::Relaxed),
            rolling_batches,
            rolling_requests_batched,
            batch_size_p25: at(0.25),
            batch_size_p50: at(0.5),
            batch_size_p75: at(0.75),
            batch_size_p90: at(0.9),
            batch_size_p95: at(0.95),
            batch_size_p99: at(0.99),
            batch_size_p99_5: at(0.995),
            batch_size_max: if nonempty { sizes.max() } else { 0 },
            batch_size_mean: if nonempty { sizes.mean() } else { 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_counts_leave_after_ten_seconds_and_totals_stay() {
        let stats = BatchStats::new();
        let t0 = Instant::now();
        stats.record(3, 4, t0);
        stats.record(1, 1, t0 + Duration::from_secs(5));
        let now = stats.snapshot("title", t0 + Duration::from_secs(6));
        assert_eq!((now.rolling_batches, now.rolling_requests_batched, now.batches), (2, 5, 2));
        assert_eq!((now.batch_size_max, now.batch_size_p25), (3, 1));
        let later = stats.snapshot("title", t0 + Duration::from_secs(12));
        assert_eq!((later.rolling_batches, later.rolling_requests_batched), (1, 1));
        assert_eq!((later.batches, later.requests_batched), (2, 5));
    }
}
