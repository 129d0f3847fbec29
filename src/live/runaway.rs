//! Suspending runaway revisions (design §5's "a runaway exhausts only itself", made cheap): a
//! revision whose requests keep hitting their sandbox limits — a busy loop burning a CPU slice each
//! time, a memory blow-up — is suspended for a while and answered 503 `suspended` without running,
//! so two clients hammering a `for(;;){}` endpoint stop taking the workers' CPU from everyone else.
//!
//! The decision is the dependencies' circuit breaker ([`switchyard_actors::breaker`]) over the
//! revision's requests: a limit is an error, any other answer (a script error or a dependency error
//! included: not a runaway) a success; it opens when at least half of at least `suspend_after`
//! requests in 10 s hit a limit, stays open `suspend_ms`, then lets one trial request through.
//! Time is an argument, so the gate is tested without a clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use switchyard_actors::breaker::{Admission, CircuitBreaker};
use switchyard_actors::config::BreakerConfig;
use switchyard_actors::event::Event;
use switchyard_endpoints::script::ScriptLimits;
use tokio::time::Instant;

/// How often the breaker recomputes the share of limits (as for dependencies).
const HEALTH_EVERY: Duration = Duration::from_millis(100);

/// One revision's breaker.
pub struct RevisionGate {
    breaker: Mutex<CircuitBreaker>,
}

/// What a request was let in as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Runs as usual.
    Normal,
    /// The one trial after a suspension: its answer decides.
    Trial,
}

impl RevisionGate {
    /// Lets a request in at `now`, or `None` while the revision is suspended.
    pub fn enter(&self, settings: &BreakerConfig, now: Instant) -> Option<Entry> {
        match self.breaker.lock().admit(settings, HEALTH_EVERY, now) {
            Admission::Allowed => Some(Entry::Normal),
            Admission::Trial => Some(Entry::Trial),
            Admission::ShortCircuited => None,
        }
    }

    /// Records how a request let in as `entry` ended: `limit` when it hit a sandbox limit.
    pub fn finished(&self, entry: Entry, limit: bool, now: Instant) {
        let mut breaker = self.breaker.lock();
        if entry == Entry::Trial {
            breaker.trial_finished(!limit, now);
        }
        breaker.record(if limit { Event::Failure } else { Event::Success }, now);
    }
}

/// Every served revision's gate, by endpoint and revision number.
#[derive(Default)]
pub struct RunawayGates {
    gates: Mutex<HashMap<(String, u32), Arc<RevisionGate>>>,
}

impl RunawayGates {
    /// No gate yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The gate of `endpoint` revision `revision`.
    pub fn gate(&self, endpoint: &str, revision: u32, now: Instant) -> Arc<RevisionGate> {
        let mut gates = self.gates.lock();
        let gate = gates.entry((endpoint.to_owned(), revision)).or_insert_with(|| {
            Arc::new(RevisionGate { breaker: Mutex::new(CircuitBreaker::new(&BreakerConfig::default(), now)) })
        });
        Arc::clone(gate)
    }
}

/// The breaker settings `limits` ask for; `None` when suspension is off.
pub fn settings(limits: &ScriptLimits) -> Option<BreakerConfig> {
    (limits.suspend_after > 0).then(|| BreakerConfig {
        request_volume: limits.suspend_after,
        error_percent: 50,
        sleep_window_ms: limits.suspend_ms,
        ..BreakerConfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> BreakerConfig {
        settings(&ScriptLimits { suspend_after: 3, suspend_ms: 5_000, ..Default::default() }).unwrap()
    }

    #[test]
    fn repeated_limits_suspend_the_revision_and_one_trial_decides() {
        let gates = RunawayGates::new();
        let t0 = Instant::now();
        let gate = gates.gate("tv/spin", 2, t0);
        let s = limits();
        for i in 0..3 {
            let entry = gate.enter(&s, t0 + Duration::from_millis(i * 10)).expect("not yet suspended");
            gate.finished(entry, true, t0 + Duration::from_millis(i * 10));
        }
        // The share is recomputed every 100 ms.
        let t1 = t0 + Duration::from_millis(150);
        assert_eq!(gate.enter(&s, t1), None, "three limits of three: suspended");
        assert_eq!(gate.enter(&s, t1 + Duration::from_millis(4_999)), None);
        let trial_at = t1 + Duration::from_millis(5_000);
        assert_eq!(gate.enter(&s, trial_at), Some(Entry::Trial));
        assert_eq!(gate.enter(&s, trial_at), None, "one trial at a time");
        gate.finished(Entry::Trial, true, trial_at);
        assert_eq!(gate.enter(&s, trial_at + Duration::from_millis(1)), None, "the trial ran away too");
        let second = trial_at + Duration::from_millis(5_001);
        assert_eq!(gate.enter(&s, second), Some(Entry::Trial));
        gate.finished(Entry::Trial, false, second);
        assert_eq!(gate.enter(&s, second), Some(Entry::Normal), "a good trial ends the suspension");
    }

    #[test]
    fn an_occasional_limit_or_a_script_error_does_not_suspend() {
        let gates = RunawayGates::new();
        let t0 = Instant::now();
        let gate = gates.gate("tv/home", 1, t0);
        let s = limits();
        for i in 0..10 {
            let now = t0 + Duration::from_millis(i * 200);
            let entry = gate.enter(&s, now).expect("never suspended");
            gate.finished(entry, i % 4 == 0, now);
        }
        assert!(gate.enter(&s, t0 + Duration::from_secs(3)).is_some());
        assert!(!Arc::ptr_eq(&gates.gate("tv/home", 1, t0), &gates.gate("tv/home", 2, t0)), "one gate per revision");
        assert!(settings(&ScriptLimits { suspend_after: 0, ..Default::default() }).is_none());
    }
}
