//! What happens once a device request's answer is complete (for a stream, after its last item, or
//! when the client went away): its access-log line, its endpoint statistics, its revision's runaway
//! gate ([`crate::live::runaway`]) and, when it asked with `X-Switchyard-Trace: 1`, its kept trace. All three are written by dropping the
//! [`RequestEnd`] that travels with the answer, so no way out of a request forgets one.

use std::sync::Arc;

use switchyard_endpoints::RequestDispatch;
use tokio::time::Instant;

use super::access::AccessLine;
use crate::app::now_ms;
use crate::live::runaway::{Entry, RevisionGate};
use crate::observe::Observe;
use crate::observe::endpoint_stats::Answered;
use crate::observe::traces::Trace;

/// One request's end, written when dropped.
pub struct RequestEnd {
    /// The access-log line (endpoint, revision, status … are filled in as they are known).
    pub line: AccessLine,
    /// The routing variant that chose the revision.
    pub variant: Option<String>,
    /// `ok`, or the error code of the answer (`incomplete` until known: the client went away).
    pub outcome: &'static str,
    /// The request's dispatcher, once its script started (its calls are the trace).
    pub dispatch: Option<RequestDispatch>,
    /// Whether the request asked for its trace to be kept.
    pub traced: bool,
    /// The revision's runaway gate and how the request was let in, once it was.
    pub runaway: Option<(Arc<RevisionGate>, Entry)>,
    observe: Observe,
    started: Instant,
    started_at_ms: u64,
}

impl RequestEnd {
    /// The end of a request that arrived now.
    pub fn begin(observe: Observe, line: AccessLine, traced: bool) -> Self {
        Self {
            line,
            variant: None,
            outcome: "incomplete",
            dispatch: None,
            traced,
            runaway: None,
            observe,
            started: Instant::now(),
            started_at_ms: now_ms(),
        }
    }

    /// Notes the answer's status and outcome.
    pub fn answered(&mut self, status: u16, outcome: &'static str) {
        self.line.status = status;
        self.outcome = outcome;
        if let Some(dispatch) = &self.dispatch {
            self.line.calls = dispatch.call_count();
        }
    }
}

impl Drop for RequestEnd {
    fn drop(&mut self) {
        let now = Instant::now();
        let duration = now - self.started;
        if let Some((gate, entry)) = self.runaway.take() {
            gate.finished(entry, self.outcome == "limit", now);
        }
        let duration_ms = duration.as_secs_f64() * 1000.0;
        self.observe.endpoints.record(
            &Answered {
                endpoint: &self.line.endpoint,
                revision: self.line.revision,
                variant: self.variant.as_deref(),
                status: self.line.status,
                outcome: self.outcome,
                duration,
            },
            now,
        );
        if self.traced && self.line.revision > 0 {
            let mut calls = self.dispatch.as_ref().map(RequestDispatch::trace).unwrap_or_default();
            let call_count = calls.len();
            calls.truncate(self.observe.config.trace_calls);
            self.observe.traces.keep(Trace {
                request_id: self.line.request_id.clone(),
                endpoint: self.line.endpoint.clone(),
                revision: self.line.revision,
                variant: self.variant.clone(),
                status: self.line.status,
                started_at_ms: self.started_at_ms,
                duration_ms: (duration_ms * 1000.0).round() / 1000.0,
                call_count,
                calls_dropped: call_count - calls.len(),
                calls,
            });
        }
        self.line.write(duration_ms);
    }
}
