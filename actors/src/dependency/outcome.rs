//! What a finished call means: its event, its result, whether it settles a half-open trial and
//! whether it falls back.
//!
//! The decision is a pure function of what execution produced (or that nothing came back within
//! the timeout), kept apart from the call path so it is unit-tested without actix or tokio, like
//! the breaker. The call path only measures, calls [`classify`] and acts on the answer.

use std::borrow::Cow;
use std::time::Duration;

use crate::backend::{BackendError, BackendErrorKind};
use crate::error::ErrorKind;
use crate::event::Event;
use crate::json::Json;

/// What execution reports back for one call (from the actor, or from the caller's own task).
#[derive(Debug)]
pub(crate) struct RunResult {
    /// The backend's reply, or how running it failed.
    pub result: Result<Json, RunError>,
    /// The backend's own time.
    pub elapsed: Duration,
}

/// How an execution failed.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The backend answered with an error.
    Backend(BackendError),
    /// The backend panicked, or its actor restarted while the call ran.
    Panicked(String),
}

/// A finished call, classified.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// What the statistics and the breaker count.
    pub event: Event,
    /// The backend's reply, or the error the caller (or its fallback) sees.
    pub result: Result<Json, (ErrorKind, Cow<'static, str>)>,
    /// The backend's own time, when it answered at all.
    pub execution: Option<Duration>,
}

impl Outcome {
    /// Whether the call proves the backend is answering (a bad request does: the backend replied).
    pub fn trial_succeeded(&self) -> bool {
        matches!(self.event, Event::Success | Event::BadRequest)
    }

    /// Whether the caller gets the fallback: errors do, except bad requests (the caller's fault).
    pub fn falls_back(&self) -> bool {
        !matches!(self.event, Event::Success | Event::BadRequest)
    }
}

/// Classifies what execution produced; `None` means no answer came within `timeout`.
pub(crate) fn classify(ran: Option<RunResult>, timeout: Duration) -> Outcome {
    let Some(RunResult { result, elapsed }) = ran else {
        return Outcome {
            event: Event::Timeout,
            result: Err((ErrorKind::Timeout, Cow::Owned(format!("no answer within {} ms", timeout.as_millis())))),
            execution: None,
        };
    };
    let (event, result) = match result {
        Ok(json) => (Event::Success, Ok(json)),
        Err(RunError::Backend(e)) if e.kind == BackendErrorKind::BadRequest => {
            (Event::BadRequest, Err((ErrorKind::BadRequest, Cow::Owned(e.message))))
        }
        Err(RunError::Backend(e)) => (Event::Failure, Err((ErrorKind::Failure, Cow::Owned(e.message)))),
        Err(RunError::Panicked(message)) => (Event::Failure, Err((ErrorKind::Failure, Cow::Owned(message)))),
    };
    Outcome { event, result, execution: Some(elapsed) }
}

/// The events a failed call records at its end, in order: its own (`cause`, unless recorded
/// elsewhere) and then its fallback's (if one ran or was found missing). Returns a fixed array and
/// how many of it count, so the call path allocates nothing.
pub(crate) fn events(cause: Option<Event>, fallback: Option<Event>) -> ([Event; 2], usize) {
    match (cause, fallback) {
        (Some(c), Some(f)) => ([c, f], 2),
        (Some(e), None) | (None, Some(e)) => ([e, e], 1),
        (None, None) => ([Event::Success, Event::Success], 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(250);

    fn ran(result: Result<Json, RunError>) -> Option<RunResult> {
        Some(RunResult { result, elapsed: Duration::from_millis(7) })
    }

    fn counted(cause: Option<Event>, fallback: Option<Event>) -> Vec<Event> {
        let (list, n) = events(cause, fallback);
        list[..n].to_vec()
    }

    #[test]
    fn a_reply_is_a_success_that_settles_the_trial() {
        let o = classify(ran(Ok(Json::null())), TIMEOUT);
        assert_eq!(o.event, Event::Success);
        assert_eq!(o.result.as_ref().ok(), Some(&Json::null()));
        assert_eq!(o.execution, Some(Duration::from_millis(7)));
        assert!(o.trial_succeeded() && !o.falls_back());
    }

    #[test]
    fn a_refused_argument_is_a_bad_request_that_settles_the_trial_without_fallback() {
        let o = classify(ran(Err(RunError::Backend(BackendError::bad_request("no such id")))), TIMEOUT);
        assert_eq!(o.event, Event::BadRequest);
        assert_eq!(o.result.unwrap_err(), (ErrorKind::BadRequest, Cow::Borrowed("no such id")));
        let o = classify(ran(Err(RunError::Backend(BackendError::bad_request("x")))), TIMEOUT);
        assert!(o.trial_succeeded() && !o.falls_back());
    }

    #[test]
    fn a_backend_failure_or_a_panic_is_a_failure_that_falls_back() {
        for error in [RunError::Backend(BackendError::failure("down")), RunError::Panicked("boom".into())] {
            let o = classify(ran(Err(error)), TIMEOUT);
            assert_eq!(o.event, Event::Failure);
            assert!(!o.trial_succeeded() && o.falls_back());
            assert_eq!(o.result.unwrap_err().0, ErrorKind::Failure);
        }
    }

    #[test]
    fn no_answer_is_a_timeout_that_names_the_limit_and_has_no_execution_time() {
        let o = classify(None, TIMEOUT);
        assert_eq!(o.event, Event::Timeout);
        assert_eq!(o.execution, None);
        assert!(!o.trial_succeeded() && o.falls_back());
        assert_eq!(o.result.unwrap_err(), (ErrorKind::Timeout, Cow::Borrowed("no answer within 250 ms")));
    }

    #[test]
    fn events_list_the_cause_before_the_fallback_and_skip_what_is_absent() {
        assert_eq!(
            counted(Some(Event::Timeout), Some(Event::FallbackSuccess)),
            [Event::Timeout, Event::FallbackSuccess]
        );
        assert_eq!(counted(Some(Event::Rejected), None), [Event::Rejected]);
        assert_eq!(counted(None, Some(Event::FallbackFailure)), [Event::FallbackFailure]);
        assert_eq!(counted(None, None), []);
    }
}
