//! Rolling latency percentiles (Hystrix's rolling percentile) on HdrHistogram.
//!
//! The window (60 s by default) is split into buckets (6); each bucket is one histogram of
//! microseconds. A snapshot merges the buckets still inside the window, so a latency spike leaves
//! the percentiles one bucket at a time. Pure: time is an argument.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::window::BucketRing;

/// Percentiles of a latency distribution, in milliseconds (Hystrix reports integers in ms; we keep
/// the fraction and let the stream round).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples in the window.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Fastest.
    pub p0: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.5th percentile.
    pub p99_5: f64,
    /// Slowest.
    pub p100: f64,
}

/// Latency samples over a rolling window.
#[derive(Debug)]
pub struct RollingLatency {
    ring: BucketRing<Histogram<u64>>,
}

/// Largest recordable latency: one hour, in µs. Longer samples are clamped.
const MAX_MICROS: u64 = 3_600_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static histogram bounds are valid")
}

impl RollingLatency {
    /// A window of `window` split into `buckets`, starting at `now`.
    pub fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        Self { ring: BucketRing::new(window, buckets, now) }
    }

    /// Records one latency at `now`.
    pub fn record(&mut self, latency: Duration, now: Instant) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        // A new bucket reuses the histogram that rolls off instead of allocating.
        let histogram = self.ring.current(now, |rolled_off| match rolled_off {
            Some(mut h) => {
                h.reset();
                h
            }
            None => new_histogram(),
        });
        histogram.saturating_record(micros);
    }

    /// Percentiles of the samples still inside the window at `now`.
    pub fn percentiles(&self, now: Instant) -> Percentiles {
        let mut merged = new_histogram();
        for h in self.ring.live(now) {
            merged.add(h).expect("histograms share bounds");
        }
        if merged.is_empty() {
            return Percentiles::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Percentiles {
            count: merged.len(),
            mean: merged.mean() / 1000.0,
            p0: ms(merged.min()),
            p25: ms(merged.value_at_quantile(0.25)),
            p50: ms(merged.value_at_quantile(0.50)),
            p75: ms(merged.value_at_quantile(0.75)),
            p90: ms(merged.value_at_quantile(0.90)),
            p95: ms(merged.value_at_quantile(0.95)),
            p99: ms(merged.value_at_quantile(0.99)),
            p99_5: ms(merged.value_at_quantile(0.995)),
            p100: ms(merged.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b * 0.01 + 0.001
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let t0 = Instant::now();
        let mut l = RollingLatency::new(ms(60_000), 6, t0);
        for i in 1..=100 {
            l.record(ms(i), t0);
        }
        let p = l.percentiles(t0);
        assert_eq!(p.count, 100);
        assert!(close(p.p0, 1.0) && close(p.p50, 50.0) && close(p.p90, 90.0), "{p:?}");
        assert!(close(p.p99, 99.0) && close(p.p100, 100.0) && close(p.mean, 50.5), "{p:?}");
    }

    #[test]
    fn old_samples_roll_off() {
        let t0 = Instant::now();
        let mut l = RollingLatency::new(ms(60_000), 6, t0);
        l.record(ms(500), t0);
        l.record(ms(5), t0 + ms(30_000));
        assert!(close(l.percentiles(t0 + ms(59_999)).p100, 500.0));
        let later = l.percentiles(t0 + ms(60_000));
        assert_eq!(later.count, 1);
        assert!(close(later.p100, 5.0));
        assert_eq!(l.percentiles(t0 + ms(200_000)), Percentiles::default());
    }

    #[test]
    fn reuses_at_most_its_buckets() {
        let t0 = Instant::now();
        let mut l = RollingLatency::new(ms(600), 6, t0);
        for i in 0..50 {
            l.record(ms(1), t0 + ms(i * 100));
        }
        assert_eq!(l.ring.len(), 6);
        assert_eq!(l.percentiles(t0 + ms(49 * 100)).count, 6);
    }
}
