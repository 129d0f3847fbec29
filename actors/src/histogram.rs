//! A latency histogram since start in fixed buckets: what Prometheus scrapes (`_bucket`, `_sum`,
//! `_count`), where the rolling HdrHistogram percentiles ([`crate::latency`]) feed the stream.
//! Prometheus computes quantiles over any range from the buckets, so these only ever grow.

use std::time::Duration;

use serde::Serialize;

/// Upper bounds of the buckets, in seconds: from 1 ms (an in-memory call) to 10 s (far past any
/// default timeout). `+Inf` is implied.
pub const LATENCY_BOUNDS_S: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Counts of latencies at or below each bound, their sum and their number, since start.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencyHistogram {
    /// One count per bound of [`LATENCY_BOUNDS_S`] (not cumulative: each bucket its own).
    pub buckets: [u64; LATENCY_BOUNDS_S.len()],
    /// Sum of every latency, in seconds.
    pub sum_s: f64,
    /// Latencies recorded (those above the last bound count only here, in `+Inf`).
    pub count: u64,
}

impl LatencyHistogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        if let Some(i) = LATENCY_BOUNDS_S.iter().position(|&bound| seconds <= bound) {
            self.buckets[i] += 1;
        }
        self.sum_s += seconds;
        self.count += 1;
    }

    /// (bound, count at or below it) pairs, cumulative as Prometheus wants them, without `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        LATENCY_BOUNDS_S.iter().zip(self.buckets.iter()).scan(0, |running, (&bound, &n)| {
            *running += n;
            Some((bound, *running))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_latency_lands_in_the_first_bucket_that_holds_it() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_micros(500)); // ≤ 1 ms
        h.record(Duration::from_millis(1)); // a bound is inclusive
        h.record(Duration::from_millis(7)); // ≤ 10 ms
        h.record(Duration::from_secs(60)); // past every bound: +Inf only
        let cumulative: Vec<_> = h.cumulative().collect();
        assert_eq!(cumulative[0], (0.001, 2));
        assert_eq!(cumulative[3], (0.01, 3));
        assert_eq!(cumulative.last(), Some(&(30.0, 3)));
        assert_eq!(h.count, 4);
        assert!((h.sum_s - 60.0085).abs() < 1e-9, "{}", h.sum_s);
    }
}
