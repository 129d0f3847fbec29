//! The events a dependency call can produce (design §3) and a fixed-size table of their counts.
//!
//! One call produces one execution event (success, failure, timeout, rejected, short_circuited,
//! bad_request) and, if it fell back, one fallback event; the request cache and collapser add their
//! own. The names are the Hystrix stream's, so the stream serializer is a lookup, not a translation.

use serde::Serialize;

/// One countable event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The backend answered.
    Success,
    /// The backend failed (5xx, connect error, malformed reply, panic).
    Failure,
    /// No answer within `timeout_ms`.
    Timeout,
    /// The bulkhead was full.
    Rejected,
    /// The breaker was open.
    ShortCircuited,
    /// The backend refused the arguments (4xx): neither an error nor a reason to fall back.
    BadRequest,
    /// A fallback answered.
    FallbackSuccess,
    /// A fallback itself failed.
    FallbackFailure,
    /// Too many fallbacks at once.
    FallbackRejection,
    /// No fallback configured.
    FallbackMissing,
    /// Answered by the request cache.
    ResponsesFromCache,
    /// Answered as part of a collapsed batch.
    Collapsed,
}

impl Event {
    /// Every event, in table order.
    pub const ALL: [Event; 12] = [
        Event::Success,
        Event::Failure,
        Event::Timeout,
        Event::Rejected,
        Event::ShortCircuited,
        Event::BadRequest,
        Event::FallbackSuccess,
        Event::FallbackFailure,
        Event::FallbackRejection,
        Event::FallbackMissing,
        Event::ResponsesFromCache,
        Event::Collapsed,
    ];

    /// Position in a [`Counts`] table.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name used in snapshots, metrics and config.
    pub const fn name(self) -> &'static str {
        match self {
            Event::Success => "success",
            Event::Failure => "failure",
            Event::Timeout => "timeout",
            Event::Rejected => "rejected",
            Event::ShortCircuited => "short_circuited",
            Event::BadRequest => "bad_request",
            Event::FallbackSuccess => "fallback_success",
            Event::FallbackFailure => "fallback_failure",
            Event::FallbackRejection => "fallback_rejection",
            Event::FallbackMissing => "fallback_missing",
            Event::ResponsesFromCache => "responses_from_cache",
            Event::Collapsed => "collapsed",
        }
    }

    /// Whether the event counts as an error for the breaker.
    pub const fn is_error(self) -> bool {
        matches!(self, Event::Failure | Event::Timeout | Event::Rejected)
    }

    /// Whether the event counts toward the breaker's request volume.
    pub const fn is_counted_call(self) -> bool {
        matches!(self, Event::Success | Event::Failure | Event::Timeout | Event::Rejected)
    }
}

/// A count per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts([u64; Event::ALL.len()]);

impl Counts {
    /// Count of one event.
    pub fn get(&self, event: Event) -> u64 {
        self.0[event.index()]
    }

    /// Adds `n` to one event.
    pub fn add(&mut self, event: Event, n: u64) {
        self.0[event.index()] += n;
    }

    /// Adds another table into this one.
    pub fn merge(&mut self, other: &Counts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine += theirs;
        }
    }

    /// Calls that count toward the breaker: success + failure + timeout + rejected.
    pub fn calls(&self) -> u64 {
        Event::ALL.iter().filter(|e| e.is_counted_call()).map(|&e| self.get(e)).sum()
    }

    /// Errors for the breaker: failure + timeout + rejected.
    pub fn errors(&self) -> u64 {
        Event::ALL.iter().filter(|e| e.is_error()).map(|&e| self.get(e)).sum()
    }

    /// Errors as a whole percentage of calls, rounded down (0 with no calls), as Hystrix reports it.
    pub fn error_percent(&self) -> u8 {
        (self.errors() * 100).checked_div(self.calls()).unwrap_or(0) as u8
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Event::ALL.len()))?;
        for event in Event::ALL {
            map.serialize_entry(event.name(), &self.get(event))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_percent_excludes_short_circuits_and_bad_requests() {
        let mut c = Counts::default();
        c.add(Event::Success, 5);
        c.add(Event::Failure, 2);
        c.add(Event::Timeout, 2);
        c.add(Event::Rejected, 1);
        c.add(Event::ShortCircuited, 100);
        c.add(Event::BadRequest, 100);
        assert_eq!(c.calls(), 10);
        assert_eq!(c.errors(), 5);
        assert_eq!(c.error_percent(), 50);
        assert_eq!(Counts::default().error_percent(), 0);
    }

    #[test]
    fn indices_match_table_order() {
        for (i, e) in Event::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
    }
}
