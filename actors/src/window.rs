//! Rolling windows in fixed time buckets: the bucket numbering ([`BucketClock`]), the ring of
//! per-bucket values that rolls off one bucket at a time ([`BucketRing`], also under the latency
//! histograms), and the window of event counts on it (Hystrix's rolling number).
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

/// A ring of per-bucket values over the last `buckets` buckets of a [`BucketClock`]: the one
/// definition of rolling off, shared by the event counts here and the latency histograms.
#[derive(Debug)]
pub struct BucketRing<T> {
    clock: BucketClock,
    buckets: usize,
    /// (bucket number since origin, value), oldest first, at most `buckets` long.
    ring: VecDeque<(u64, T)>,
}

impl<T> BucketRing<T> {
    /// A ring over `window` split into `buckets` buckets, starting at `now`.
    pub fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        let clock = BucketClock::new(window, buckets, now);
        let buckets = buckets.max(1) as usize;
        Self { clock, buckets, ring: VecDeque::with_capacity(buckets + 1) }
    }

    /// The value of the bucket `now` falls in. When that bucket is not the newest, a new one is
    /// started from `fresh`, which gets the oldest bucket's value to reuse if the ring is full
    /// (that bucket rolls off).
    pub fn current(&mut self, now: Instant, fresh: impl FnOnce(Option<T>) -> T) -> &mut T {
        let number = self.clock.bucket(now);
        if self.ring.back().is_none_or(|(n, _)| *n != number) {
            let rolled_off = if self.ring.len() >= self.buckets { self.ring.pop_front() } else { None };
            self.ring.push_back((number, fresh(rolled_off.map(|(_, value)| value))));
        }
        let (_, value) = self.ring.back_mut().expect("a bucket was just ensured");
        value
    }

    /// The values of the buckets still inside the window at `now`, oldest first.
    pub fn live(&self, now: Instant) -> impl Iterator<Item = &T> {
        self.latest(now, self.buckets)
    }

    /// The values of the last `buckets` buckets up to the one `now` falls in (that one included,
    /// never more than the window), oldest first.
    pub fn latest(&self, now: Instant, buckets: usize) -> impl Iterator<Item = &T> {
        let current = self.clock.bucket(now);
        let oldest = current.saturating_sub(buckets.clamp(1, self.buckets) as u64 - 1);
        self.ring.iter().filter(move |(n, _)| *n >= oldest && *n <= current).map(|(_, value)| value)
    }

    /// Forgets every bucket.
    pub fn clear(&mut self) {
        self.ring.clear();
    }

    /// Buckets held (live or not yet rolled off).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// Event counts over the last `bucket_width × buckets`.
#[derive(Debug)]
pub struct RollingCounts {
    ring: BucketRing<Counts>,
}

impl RollingCounts {
    /// A window of `window` split into `buckets` buckets, starting at `now`.
    pub fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        Self { ring: BucketRing::new(window, buckets, now) }
    }

    /// Counts one event at `now`.
    pub fn record(&mut self, event: Event, now: Instant) {
        self.ring.current(now, |_| Counts::default()).add(event, 1);
    }

    /// Sum of the buckets still inside the window at `now`.
    pub fn totals(&self, now: Instant) -> Counts {
        self.latest_totals(now, self.ring.buckets)
    }

    /// Sum of the last `buckets` buckets up to the one `now` falls in (the breaker's recent view).
    pub fn latest_totals(&self, now: Instant, buckets: usize) -> Counts {
        let mut sum = Counts::default();
        for counts in self.ring.latest(now, buckets) {
            sum.merge(counts);
        }
        sum
    }

    /// Forgets everything (the breaker closing after a successful trial).
    pub fn reset(&mut self) {
        self.ring.clear();
    }
}

/// The largest value seen over a rolling window (Hystrix's rolling max, e.g. of concurrent
/// executions): each bucket keeps its own maximum.
#[derive(Debug)]
pub struct RollingPeak {
    ring: BucketRing<u64>,
}

impl RollingPeak {
    /// A window of `window` split into `buckets` buckets, starting at `now`.
    pub fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        Self { ring: BucketRing::new(window, buckets, now) }
    }

    /// Notes `value` at `now`.
    pub fn record(&mut self, value: u64, now: Instant) {
        let bucket = self.ring.current(now, |_| 0);
        *bucket = (*bucket).max(value);
    }

    /// The largest value noted inside the window at `now` (0 when none).
    pub fn peak(&self, now: Instant) -> u64 {
        self.ring.live(now).copied().max().unwrap_or(0)
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
    fn a_full_ring_hands_the_bucket_that_rolls_off_to_the_new_one() {
        let t0 = Instant::now();
        let mut r: BucketRing<Vec<u64>> = BucketRing::new(ms(300), 3, t0);
        let mut handed = Vec::new();
        for i in 0..5 {
            let bucket = r.current(t0 + ms(i * 100), |old| {
                handed.push(old.clone());
                old.map(|mut v| {
                    v.clear();
                    v
                })
                .unwrap_or_default()
            });
            bucket.push(i);
        }
        assert_eq!(handed, [None, None, None, Some(vec![0]), Some(vec![1])]);
        assert_eq!(r.live(t0 + ms(400)).cloned().collect::<Vec<_>>(), [vec![2], vec![3], vec![4]]);
        assert_eq!(r.live(t0 + ms(600)).cloned().collect::<Vec<_>>(), [vec![4]]);
    }

    #[test]
    fn peak_is_the_largest_value_still_inside_the_window() {
        let t0 = Instant::now();
        let mut p = RollingPeak::new(ms(1_000), 10, t0);
        assert_eq!(p.peak(t0), 0);
        p.record(7, t0);
        p.record(3, t0 + ms(50));
        p.record(4, t0 + ms(500));
        assert_eq!(p.peak(t0 + ms(600)), 7);
        // The bucket holding 7 leaves at 1 s; 4 stays until 1.5 s.
        assert_eq!(p.peak(t0 + ms(1_000)), 4);
        assert_eq!(p.peak(t0 + ms(1_500)), 0);
    }

    #[test]
    fn latest_totals_sum_only_the_newest_buckets() {
        let t0 = Instant::now();
        let mut w = RollingCounts::new(ms(10_000), 10, t0);
        w.record(Event::Success, t0); // bucket 0
        w.record(Event::Failure, t0 + ms(8_000)); // bucket 8
        w.record(Event::Timeout, t0 + ms(9_500)); // bucket 9
        let now = t0 + ms(9_900);
        assert_eq!(w.latest_totals(now, 1).calls(), 1);
        assert_eq!(w.latest_totals(now, 1).get(Event::Timeout), 1);
        assert_eq!(w.latest_totals(now, 2).errors(), 2);
        assert_eq!(w.latest_totals(now, 9).calls(), 2);
        assert_eq!(w.latest_totals(now, 10).calls(), 3);
        // Never more than the window, and at least the current bucket.
        assert_eq!(w.latest_totals(now, 50).calls(), 3);
        assert_eq!(w.latest_totals(now, 0).calls(), 1);
        // A bucket with nothing recorded still counts as one of the latest.
        assert_eq!(w.latest_totals(t0 + ms(10_100), 1).calls(), 0);
        assert_eq!(w.latest_totals(t0 + ms(10_100), 2).calls(), 1);
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
