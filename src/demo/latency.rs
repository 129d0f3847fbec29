//! How long a demo service takes to answer: a log-normal distribution per service, a few
//! milliseconds at the median with a long, capped tail, like a real backend's.
//!
//! [`Latency`] is a plain value and [`Latency::sample`] a pure function of two uniform draws, so the
//! distribution is tested without a clock; the backend sleeps the sampled time on tokio's clock, so
//! paused-clock tests control it. [`Latency::none`] turns it off for tests and benchmarks.

use std::time::Duration;

use super::services::Service;

/// z-score of the 99th percentile of a normal distribution.
const Z_P99: f64 = 2.326;

/// A service's latency distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// The median; zero means no latency at all.
    median: Duration,
    /// Standard deviation of the underlying normal distribution.
    sigma: f64,
    /// The slowest answer (a real service's own timeout).
    cap: Duration,
}

impl Latency {
    /// Answers at once.
    pub const fn none() -> Self {
        Self { median: Duration::ZERO, sigma: 0.0, cap: Duration::ZERO }
    }

    /// Always exactly `latency` (paused-clock tests that count rounds of calls).
    pub const fn fixed(latency: Duration) -> Self {
        Self { median: latency, sigma: 0.0, cap: latency }
    }

    /// Log-normal with this median, a p99 of `p99_factor` × the median, and nothing slower than
    /// `cap_factor` × the median.
    pub fn log_normal(median: Duration, p99_factor: f64, cap_factor: f64) -> Self {
        let sigma = p99_factor.max(1.0).ln() / Z_P99;
        Self { median, sigma, cap: median.mul_f64(cap_factor.max(1.0)) }
    }

    /// The realistic distribution of a demo service: p99 about 7× the median, capped at 15×.
    pub fn for_service(service: Service) -> Self {
        let median_us = match service {
            Service::Users | Service::Subscriber => 2_000,
            Service::Bookmarks | Service::Artwork => 3_000,
            Service::Catalog => 4_000,
            Service::Ratings => 5_000,
            Service::Lists => 6_000,
            Service::Recs => 8_000,
        };
        Self::log_normal(Duration::from_micros(median_us), 7.0, 15.0)
    }

    /// Whether every answer is immediate.
    pub fn is_none(&self) -> bool {
        self.median.is_zero()
    }

    /// The median.
    pub fn median(&self) -> Duration {
        self.median
    }

    /// One latency from two uniform draws in `[0, 1)` (Box–Muller, then exponentiated).
    pub fn sample(&self, u1: f64, u2: f64) -> Duration {
        if self.is_none() {
            return Duration::ZERO;
        }
        let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        self.median.mul_f64((self.sigma * z).exp()).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::super::rng::{Dice, Domain};
    use super::*;

    fn quantile(sorted: &[Duration], q: f64) -> Duration {
        sorted[((sorted.len() - 1) as f64 * q) as usize]
    }

    #[test]
    fn median_and_long_tail_follow_the_service_distribution() {
        let latency = Latency::for_service(Service::Catalog);
        let dice = Dice::new(1, Domain::Latency, 0);
        let mut samples: Vec<Duration> =
            (0..20_000).map(|_| latency.sample(dice.next_f64(), dice.next_f64())).collect();
        samples.sort_unstable();
        let median = quantile(&samples, 0.5).as_secs_f64() * 1e3;
        let p99 = quantile(&samples, 0.99).as_secs_f64() * 1e3;
        assert!((3.6..=4.4).contains(&median), "median {median} ms");
        assert!((5.0 * 4.0..=10.0 * 4.0).contains(&p99), "p99 {p99} ms is 5–10× the median");
        assert!(samples.iter().all(|s| *s <= Duration::from_millis(60)), "capped at 15×");
        assert!(samples[0] > Duration::ZERO);
    }

    #[test]
    fn services_have_their_own_medians_and_none_is_zero() {
        assert_eq!(Latency::for_service(Service::Users).median(), Duration::from_millis(2));
        assert_eq!(Latency::for_service(Service::Lists).median(), Duration::from_millis(6));
        assert!(Latency::none().is_none());
        assert_eq!(Latency::none().sample(0.3, 0.9), Duration::ZERO);
    }
}
