//! Batch statistics of one collapser since start, and [`CollapserSnapshot`], the plain value the
//! stream's `HystrixCollapser` event reads. Counting lives apart from batching so the batching
//! decisions stay pure.

use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

/// Batch statistics since start (the stream's `HystrixCollapser` event reads them).
#[derive(Clone, Debug, Serialize)]
pub struct CollapserSnapshot {
    /// The single operation collapsed.
    pub operation: String,
    /// Batches sent.
    pub batches: u64,
    /// Calls that went out in a batch.
    pub requests_batched: u64,
    /// Median items per batch.
    pub batch_size_p50: u64,
    /// 90th percentile of items per batch.
    pub batch_size_p90: u64,
    /// 99th percentile of items per batch.
    pub batch_size_p99: u64,
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
}

impl BatchStats {
    /// Nothing counted yet.
    pub fn new() -> Self {
        let sizes = Histogram::new_with_bounds(1, 1_000_000, 2).expect("static histogram bounds are valid");
        Self { sizes: Mutex::new(sizes), requests: AtomicU64::new(0) }
    }

    /// Counts one batch sent with `items` distinct items for `calls` callers.
    pub fn record(&self, items: usize, calls: usize) {
        let _ = self.sizes.lock().record(items as u64);
        self.requests.fetch_add(calls as u64, Ordering::Relaxed);
    }

    /// The statistics of `operation`'s collapser now.
    pub fn snapshot(&self, operation: &str) -> CollapserSnapshot {
        let sizes = self.sizes.lock();
        let nonempty = !sizes.is_empty();
        let at = |q: f64| if nonempty { sizes.value_at_quantile(q) } else { 0 };
        CollapserSnapshot {
            operation: operation.to_owned(),
            batches: sizes.len(),
            requests_batched: self.requests.load(Ordering::Relaxed),
            batch_size_p50: at(0.5),
            batch_size_p90: at(0.9),
            batch_size_p99: at(0.99),
            batch_size_max: if nonempty { sizes.max() } else { 0 },
            batch_size_mean: if nonempty { sizes.mean() } else { 0.0 },
        }
    }
}
