//! The circuit breaker: a pure state machine over a rolling window of event counts.
//!
//! Closed → Open when, at a health snapshot, the window holds at least `request_volume` calls and errors are at least `error_percent` of them —
//! or, with `recent_ms` set, when the window's newest buckets alone do (a sudden cliff). The
//! snapshot is recomputed at the first admission after an error, else at most every
//! `health_snapshot_ms`. (Hystrix recomputes on a timer only. Taken lazily at admission, a
//! timer-only snapshot aliases with the traffic: when a slow backend's timeouts arrive in bursts,
//! the admission right after the first one takes the snapshot, and the burst's others wait until
//! the next, so the breaker never saw more than one timeout at a time.)
//! Open → HalfOpen after `sleep_window_ms`: exactly one trial call is admitted, every other call is
//! short-circuited. The trial's success closes the breaker and clears the window; its failure
//! reopens it for another full sleep window. `force` overrides all of it. Time is an argument, so
//! every transition is unit-tested without a runtime (style: decisions pure, actors thin).
//!
//! The breaker does not log: each change of phase is handed out once as a [`Transition`]
//! ([`CircuitBreaker::take_transition`]), which the dependency logs with its name after releasing
//! its lock.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::config::{BreakerConfig, Force};
use crate::event::{Counts, Event};
use crate::window::RollingCounts;

/// Where the breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are short-circuited until the sleep window ends.
    Open,
    /// One trial call is in flight; everything else is short-circuited.
    HalfOpen,
}

/// The breaker's verdict on one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead.
    Allowed,
    /// Go ahead as the single half-open trial: report its end with [`CircuitBreaker::trial_finished`].
    Trial,
    /// Refused: the breaker is open (or forced open).
    ShortCircuited,
}

/// A change of phase, for the owner to log (state changes at `info`, with the dependency's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Closed → open: the health snapshot crossed the threshold.
    Opened {
        /// Calls in the window at that snapshot.
        calls: u64,
        /// Their error percentage.
        error_percent: u8,
    },
    /// Open → half-open: the sleep window ended and one trial call was admitted.
    HalfOpen,
    /// Half-open → closed: the trial succeeded.
    Closed,
    /// Half-open → open: the trial failed.
    Reopened,
}

/// Where the breaker stands, with what deciding the next step needs.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Calls go through; the health snapshot decides when to open.
    Closed,
    /// Calls are short-circuited until `since + sleep_window_ms`.
    Open { since: Instant },
    /// The trial is in flight; its end decides.
    HalfOpen,
}

/// The error rate the breaker last looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Calls counted (success + failure + timeout + rejected).
    pub calls: u64,
    /// Errors among them (failure + timeout + rejected).
    pub errors: u64,
    /// `errors / calls` as a whole percentage.
    pub error_percent: u8,
}

impl Health {
    fn of(totals: &Counts) -> Self {
        Health { calls: totals.calls(), errors: totals.errors(), error_percent: totals.error_percent() }
    }
}

/// Circuit breaker with its rolling window.
#[derive(Debug)]
pub struct CircuitBreaker {
    /// Closed, open or half-open.
    phase: Phase,
    /// The rolling event counts the health is computed from.
    window: RollingCounts,
    /// The last health snapshot: what opening is decided on.
    health: Health,
    /// The same over the newest `recent_ms` only (all zero when that view is off).
    recent: Health,
    /// When that snapshot was taken (`None`: never, take one at the next admission).
    health_taken_at: Option<Instant>,
    /// An error was counted since that snapshot: the next admission takes a new one.
    errors_since_snapshot: bool,
    /// The last change of phase, until the owner takes it.
    transition: Option<Transition>,
}

impl CircuitBreaker {
    /// A closed breaker with an empty window.
    pub fn new(settings: &BreakerConfig, now: Instant) -> Self {
        Self {
            phase: Phase::Closed,
            window: Self::window_for(settings, now),
            health: Health::default(),
            recent: Health::default(),
            health_taken_at: None,
            errors_since_snapshot: false,
            transition: None,
        }
    }

    fn window_for(settings: &BreakerConfig, now: Instant) -> RollingCounts {
        RollingCounts::new(Duration::from_millis(settings.window_ms), settings.buckets, now)
    }

    /// Replaces the window when its shape changed (runtime settings); counts start over.
    pub fn reshape(&mut self, old: &BreakerConfig, new: &BreakerConfig, now: Instant) {
        if (old.window_ms, old.buckets) != (new.window_ms, new.buckets) {
            self.window = Self::window_for(new, now);
            self.health = Health::default();
            self.recent = Health::default();
            self.health_taken_at = None;
        }
    }

    /// Decides whether a call may go ahead at `now`.
    pub fn admit(&mut self, settings: &BreakerConfig, snapshot_every: Duration, now: Instant) -> Admission {
        match settings.force {
            Some(Force::Open) => return Admission::ShortCircuited,
            Some(Force::Closed) => return Admission::Allowed,
            None => {}
        }
        match self.phase {
            Phase::Closed => {
                self.refresh_health(settings, snapshot_every, now);
                let trips = |h: &Health| {
                    h.calls > 0
                        && h.calls >= settings.request_volume
                        && h.errors * 100 >= u64::from(settings.error_percent) * h.calls
                };
                let tripped = [self.health, self.recent].into_iter().find(trips);
                if let Some(h) = tripped {
                    self.transition = Some(Transition::Opened { calls: h.calls, error_percent: h.error_percent });
                    self.phase = Phase::Open { since: now };
                    Admission::ShortCircuited
                } else {
                    Admission::Allowed
                }
            }
            Phase::Open { since } => {
                if now.saturating_duration_since(since) >= Duration::from_millis(settings.sleep_window_ms) {
                    self.phase = Phase::HalfOpen;
                    self.transition = Some(Transition::HalfOpen);
                    Admission::Trial
                } else {
                    Admission::ShortCircuited
                }
            }
            Phase::HalfOpen => Admission::ShortCircuited,
        }
    }

    fn refresh_health(&mut self, settings: &BreakerConfig, every: Duration, now: Instant) {
        let due = self.errors_since_snapshot
            || self.health_taken_at.is_none_or(|t| now.saturating_duration_since(t) >= every);
        if due {
            self.errors_since_snapshot = false;
            self.health = Health::of(&self.window.totals(now));
            self.recent = match settings.recent_buckets() {
                0 => Health::default(),
                buckets => Health::of(&self.window.latest_totals(now, buckets)),
            };
            self.health_taken_at = Some(now);
        }
    }

    /// Ends the half-open trial: success closes and clears the window, failure reopens.
    pub fn trial_finished(&mut self, succeeded: bool, now: Instant) {
        if !matches!(self.phase, Phase::HalfOpen) {
            return;
        }
        if succeeded {
            self.transition = Some(Transition::Closed);
            self.phase = Phase::Closed;
            self.window.reset();
            self.health = Health::default();
            self.recent = Health::default();
            self.health_taken_at = Some(now);
        } else {
            self.transition = Some(Transition::Reopened);
            self.phase = Phase::Open { since: now };
        }
    }

    /// The change of phase since the last call, if any: each transition is handed out once.
    pub fn take_transition(&mut self) -> Option<Transition> {
        self.transition.take()
    }

    /// Counts one event in the window.
    pub fn record(&mut self, event: Event, now: Instant) {
        self.window.record(event, now);
        self.errors_since_snapshot |= event.is_error();
    }

    /// Event counts in the window at `now`.
    pub fn totals(&self, now: Instant) -> Counts {
        self.window.totals(now)
    }

    /// The breaker's own state (ignoring `force`).
    pub fn state(&self) -> BreakerState {
        match self.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// The last health snapshot.
    pub fn health(&self) -> Health {
        self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAP: Duration = Duration::from_millis(500);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn settings() -> BreakerConfig {
        BreakerConfig::default()
    }

    fn record_n(b: &mut CircuitBreaker, event: Event, n: usize, now: Instant) {
        for _ in 0..n {
            b.record(event, now);
        }
    }

    #[test]
    fn opens_at_threshold_with_enough_volume() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Success, 10, t0);
        record_n(&mut b, Event::Failure, 10, t0);
        // Exactly 50 % of exactly 20 calls: opens (≥), at the next snapshot.
        assert_eq!(b.admit(&s, SNAP, t0), Admission::ShortCircuited);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.health(), Health { calls: 20, errors: 10, error_percent: 50 });
    }

    #[test]
    fn stays_closed_below_threshold_or_volume() {
        let t0 = Instant::now();
        let s = settings();
        let mut below_pct = CircuitBreaker::new(&s, t0);
        record_n(&mut below_pct, Event::Success, 11, t0);
        record_n(&mut below_pct, Event::Failure, 9, t0);
        assert_eq!(below_pct.admit(&s, SNAP, t0), Admission::Allowed);
        let mut below_volume = CircuitBreaker::new(&s, t0);
        record_n(&mut below_volume, Event::Failure, 19, t0);
        assert_eq!(below_volume.admit(&s, SNAP, t0), Admission::Allowed);
        assert_eq!(below_volume.state(), BreakerState::Closed);
    }

    #[test]
    fn timeouts_and_rejections_are_errors_short_circuits_and_bad_requests_are_not() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Timeout, 10, t0);
        record_n(&mut b, Event::Rejected, 10, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::ShortCircuited);
        let mut c = CircuitBreaker::new(&s, t0);
        record_n(&mut c, Event::ShortCircuited, 50, t0);
        record_n(&mut c, Event::BadRequest, 50, t0);
        assert_eq!(c.admit(&s, SNAP, t0), Admission::Allowed);
    }

    #[test]
    fn successes_alone_are_seen_at_the_next_snapshot_interval() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Failure, 10, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::Allowed); // 10 calls: below the volume
        record_n(&mut b, Event::Success, 10, t0);
        // 20 calls at 50 % would open, but only successes came since the snapshot: not looked at
        // again until the interval has passed.
        assert_eq!(b.admit(&s, SNAP, t0 + ms(499)), Admission::Allowed);
        assert_eq!(b.health(), Health { calls: 10, errors: 10, error_percent: 100 });
        assert_eq!(b.admit(&s, SNAP, t0 + ms(500)), Admission::ShortCircuited);
    }

    #[test]
    fn an_empty_window_never_opens_even_without_a_volume_threshold() {
        let t0 = Instant::now();
        let s = BreakerConfig { request_volume: 0, ..settings() };
        let mut b = CircuitBreaker::new(&s, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::Allowed, "0 errors of 0 calls is not 50 %");
        b.record(Event::Failure, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::ShortCircuited, "1 error of 1 call is");
    }

    #[test]
    fn an_error_is_seen_at_the_next_admission() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        // A burst of timeouts with admissions between them (each caller that timed out calls
        // again at once): every admission sees the timeouts so far, and the 20th one opens.
        for k in 1..=19 {
            b.record(Event::Timeout, t0 + ms(k));
            assert_eq!(b.admit(&s, SNAP, t0 + ms(k)), Admission::Allowed, "after {k} timeouts");
            assert_eq!(b.health().errors, k);
        }
        b.record(Event::Timeout, t0 + ms(20));
        assert_eq!(b.admit(&s, SNAP, t0 + ms(20)), Admission::ShortCircuited);
    }

    #[test]
    fn one_trial_after_sleep_window_then_refuses() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Failure, 20, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::ShortCircuited);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(4_999)), Admission::ShortCircuited);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_000)), Admission::Trial);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_001)), Admission::ShortCircuited);
    }

    #[test]
    fn trial_success_closes_and_clears_old_failures() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Failure, 20, t0);
        b.admit(&s, SNAP, t0);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_000)), Admission::Trial);
        b.trial_finished(true, t0 + ms(5_010));
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.totals(t0 + ms(5_010)).calls(), 0);
        // The old failures are still inside the 10 s window by time, but gone.
        assert_eq!(b.admit(&s, SNAP, t0 + ms(6_000)), Admission::Allowed);
    }

    #[test]
    fn trial_failure_reopens_for_a_full_sleep_window() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Failure, 20, t0);
        b.admit(&s, SNAP, t0);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_000)), Admission::Trial);
        b.trial_finished(false, t0 + ms(5_100));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(10_099)), Admission::ShortCircuited);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(10_100)), Admission::Trial);
    }

    #[test]
    fn force_overrides_state() {
        let t0 = Instant::now();
        let mut s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        s.force = Some(Force::Open);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::ShortCircuited);
        record_n(&mut b, Event::Failure, 100, t0);
        s.force = Some(Force::Closed);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(1_000)), Admission::Allowed);
        s.force = None;
        assert_eq!(b.admit(&s, SNAP, t0 + ms(1_000)), Admission::ShortCircuited);
    }

    #[test]
    fn trial_report_without_trial_is_ignored() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        b.trial_finished(false, t0);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn each_transition_is_reported_once() {
        let t0 = Instant::now();
        let mut s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        assert_eq!(b.take_transition(), None);
        record_n(&mut b, Event::Success, 5, t0);
        record_n(&mut b, Event::Failure, 15, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::ShortCircuited);
        assert_eq!(b.take_transition(), Some(Transition::Opened { calls: 20, error_percent: 75 }));
        assert_eq!(b.take_transition(), None);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(1_000)), Admission::ShortCircuited);
        assert_eq!(b.take_transition(), None, "still open is no transition");
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_000)), Admission::Trial);
        assert_eq!(b.take_transition(), Some(Transition::HalfOpen));
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_001)), Admission::ShortCircuited);
        assert_eq!(b.take_transition(), None);
        b.trial_finished(false, t0 + ms(5_010));
        assert_eq!(b.take_transition(), Some(Transition::Reopened));
        assert_eq!(b.admit(&s, SNAP, t0 + ms(10_010)), Admission::Trial);
        assert_eq!(b.take_transition(), Some(Transition::HalfOpen));
        b.trial_finished(true, t0 + ms(10_020));
        assert_eq!(b.take_transition(), Some(Transition::Closed));
        assert_eq!(b.take_transition(), None);
        b.trial_finished(false, t0 + ms(10_030));
        assert_eq!(b.admit(&s, SNAP, t0 + ms(10_030)), Admission::Allowed);
        s.force = Some(Force::Open);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(10_040)), Admission::ShortCircuited);
        assert_eq!(b.take_transition(), None, "neither a stray trial report nor force is a transition");
    }

    #[test]
    fn reshape_starts_a_new_window_only_when_shape_changes() {
        let t0 = Instant::now();
        let s = settings();
        let mut b = CircuitBreaker::new(&s, t0);
        record_n(&mut b, Event::Failure, 5, t0);
        let mut same = s.clone();
        same.error_percent = 10;
        b.reshape(&s, &same, t0);
        assert_eq!(b.totals(t0).errors(), 5);
        let mut other = s.clone();
        other.window_ms = 20_000;
        b.reshape(&s, &other, t0);
        assert_eq!(b.totals(t0).errors(), 0);
    }

    /// Nine seconds of healthy traffic, then a cliff: `errors` timeouts in the 10th second.
    fn after_a_cliff(s: &BreakerConfig, errors: usize, successes_in_cliff: usize, t0: Instant) -> CircuitBreaker {
        let mut b = CircuitBreaker::new(s, t0);
        for second in 0..9 {
            record_n(&mut b, Event::Success, 500, t0 + ms(second * 1_000));
        }
        record_n(&mut b, Event::Timeout, errors, t0 + ms(9_100));
        record_n(&mut b, Event::Success, successes_in_cliff, t0 + ms(9_200));
        b
    }

    #[test]
    fn a_cliff_opens_at_once_only_with_the_recent_view() {
        let t0 = Instant::now();
        let at = t0 + ms(9_500);
        let hystrix = settings();
        let mut b = after_a_cliff(&hystrix, 32, 0, t0);
        assert_eq!(b.admit(&hystrix, SNAP, at), Admission::Allowed, "4,500 successes outweigh 32 timeouts");
        let recent = BreakerConfig { recent_ms: 1_000, ..settings() };
        let mut b = after_a_cliff(&recent, 32, 0, t0);
        assert_eq!(b.admit(&recent, SNAP, at), Admission::ShortCircuited);
        assert_eq!(b.take_transition(), Some(Transition::Opened { calls: 32, error_percent: 100 }));
        assert_eq!(b.health(), Health { calls: 4_532, errors: 32, error_percent: 0 });
    }

    #[test]
    fn the_recent_view_keeps_both_thresholds() {
        let t0 = Instant::now();
        let at = t0 + ms(9_500);
        let s = BreakerConfig { recent_ms: 1_000, ..settings() };
        let mut below_volume = after_a_cliff(&s, 19, 0, t0);
        assert_eq!(below_volume.admit(&s, SNAP, at), Admission::Allowed);
        let mut below_percent = after_a_cliff(&s, 20, 21, t0);
        assert_eq!(below_percent.admit(&s, SNAP, at), Admission::Allowed);
        let mut at_both = after_a_cliff(&s, 20, 20, t0);
        assert_eq!(at_both.admit(&s, SNAP, at), Admission::ShortCircuited);
    }

    #[test]
    fn the_recent_view_covers_its_newest_buckets_only() {
        let t0 = Instant::now();
        // The cliff's timeouts sit in the 10th second; one second later they are no longer the
        // newest bucket.
        let at = t0 + ms(10_100);
        let one = BreakerConfig { recent_ms: 1_000, ..settings() };
        let mut b = after_a_cliff(&one, 32, 0, t0);
        assert_eq!(b.admit(&one, SNAP, at), Admission::Allowed);
        let two = BreakerConfig { recent_ms: 2_000, ..settings() };
        let mut b = after_a_cliff(&two, 32, 0, t0);
        assert_eq!(b.admit(&two, SNAP, at), Admission::ShortCircuited);
    }

    #[test]
    fn the_recent_view_starts_over_after_a_trial() {
        let t0 = Instant::now();
        let s = BreakerConfig { recent_ms: 1_000, ..settings() };
        let mut b = CircuitBreaker::new(&s, t0);
        assert_eq!(b.admit(&s, SNAP, t0), Admission::Allowed); // snapshot taken: nothing yet
        record_n(&mut b, Event::Timeout, 30, t0 + ms(100));
        assert_eq!(b.admit(&s, SNAP, t0 + ms(100)), Admission::ShortCircuited);
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_500)), Admission::Trial);
        b.trial_finished(true, t0 + ms(5_600));
        // The timeouts of the same second are gone with the window: no re-trip.
        assert_eq!(b.admit(&s, SNAP, t0 + ms(5_700)), Admission::Allowed);
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
