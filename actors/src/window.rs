//! A rolling window of event counts in fixed time buckets (Hystrix's rolling number).
//!
//! Pure: time is an argument, so the window is tested without a runtime. Buckets are aligned to
//! the window's origin; a bucket older than the window no longer contributes to the totals, so old
//! events roll off one bucket at a time.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::event::{Counts, Event};

/// Numbers the fixed-width time buckets since an origin. Shared by every rolling structure; u64
/// arithmetic, because a u128 division per recorded event is a measurable share of a call.
#[derive(Clone, Copy, Debug)]
pub struct BucketClock {
    origin: Instant,
    width_nanos: u64,
}

impl BucketClock {
    /// Buckets of `window / buckets` (at least 1 ms) counted from `now`.
    pub fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        let width = (window / buckets.max(1)).max(Duration::from_millis(1));
        Self { origin: now, width_nanos: width.as_nanos() as u64 }
    }

    /// The bucket `now` falls in.
    pub fn bucket(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_nanos() as u64 / self.width_nanos
    }
}

/// Event counts over the last `bucket_width × buckets`.
#[derive(Debug)]
pub struct RollingCounts {
    clock: BucketClock,
    buckets: usize,
    /// (bucket number since origin, counts), oldest first, at most `buckets` long.
    ring: VecDeque<(u64, Counts)>,
}

impl RollingCounts {
    /// A window of `window` split into `buckets` buckets, starting at `now`.
    pub fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        let clock = BucketClock::new(window, buckets, now);
        let buckets = buckets.max(1) as usize;
        Self { clock, buckets, ring: VecDeque::with_capacity(buckets + 1) }
    }

    /// Counts one event at `now`.
    pub fn record(&mut self, event: Event, now: Instant) {
        let number = self.clock.bucket(now);
        match self.ring.back_mut() {
            Some((n, counts)) if *n == number => counts.add(event, 1),
            _ => {
                let mut counts = Counts::default();
                counts.add(event, 1);
                self.ring.push_back((number, counts));
                while self.ring.len() > self.buckets {
                    self.ring.pop_front();
                }
            }
        }
    }

    /// Sum of the buckets still inside the window at `now`.
    pub fn totals(&self, now: Instant) -> Counts {
        let current = self.clock.bucket(now);
        let oldest = current.saturating_sub(self.buckets as u64 - 1);
        let mut sum = Counts::default();
        for (n, counts) in &self.ring {
            if *n >= oldest && *n <= current {
                sum.merge(counts);
            }
        }
        sum
    }

    /// Forgets everything (the breaker closing after a successful trial).
    pub fn reset(&mut self) {
        self.ring.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn counts_within_window() {
        let t0 = Instant::now();
        let mut w = RollingCounts::new(ms(10_000), 10, t0);
        w.record(Event::Success, t0);
        w.record(Event::Failure, t0 + ms(500));
        w.record(Event::Failure, t0 + ms(9_999));
        let c = w.totals(t0 + ms(9_999));
        assert_eq!((c.get(Event::Success), c.get(Event::Failure)), (1, 2));
    }

    #[test]
    fn old_buckets_roll_off_one_at_a_time() {
        let t0 = Instant::now();
        let mut w = RollingCounts::new(ms(10_000), 10, t0);
        w.record(Event::Failure, t0); // bucket 0
        w.record(Event::Failure, t0 + ms(1_000)); // bucket 1
        assert_eq!(w.totals(t0 + ms(9_999)).get(Event::Failure), 2);
        // At 10 s bucket 0 leaves the window, bucket 1 stays.
        assert_eq!(w.totals(t0 + ms(10_000)).get(Event::Failure), 1);
        assert_eq!(w.totals(t0 + ms(11_000)).get(Event::Failure), 0);
    }

    #[test]
    fn ring_never_holds_more_than_its_buckets() {
        let t0 = Instant::now();
        let mut w = RollingCounts::new(ms(1_000), 4, t0);
        for i in 0..100 {
            w.record(Event::Success, t0 + ms(i * 250));
        }
        assert_eq!(w.ring.len(), 4);
        assert_eq!(w.totals(t0 + ms(99 * 250)).get(Event::Success), 4);
    }

    #[test]
    fn reset_forgets() {
        let t0 = Instant::now();
        let mut w = RollingCounts::new(ms(1_000), 10, t0);
        w.record(Event::Timeout, t0);
        w.reset();
        assert_eq!(w.totals(t0).calls(), 0);
    }
}
