//! Kept request traces: a device request carrying `X-Switchyard-Trace: 1` keeps its fan-out here
//! (every call: dependency, operation, start, duration, outcome — fallback, cache hit, the
//! collapsed batch it rode in), for `GET /admin/v1/traces/{request_id}`. A bounded ring: the
//! oldest trace leaves when a new one arrives at capacity.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use switchyard_endpoints::request_dispatch::TracedCall;
use utoipa::ToSchema;

/// One kept request.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Trace {
    /// The request id (the `X-Request-Id` it was answered with).
    pub request_id: String,
    /// `namespace/name`.
    pub endpoint: String,
    /// The revision that ran.
    pub revision: u32,
    /// The routing variant that chose it, if any.
    pub variant: Option<String>,
    /// The status sent.
    pub status: u16,
    /// When it arrived, milliseconds since the epoch.
    pub started_at_ms: u64,
    /// From the first byte in to the last byte out.
    pub duration_ms: f64,
    /// Calls made (also those beyond `calls_dropped`).
    pub call_count: usize,
    /// Calls not kept because the request made more than `[observe] trace_calls`.
    pub calls_dropped: usize,
    /// Every call, in the order they finished.
    #[schema(value_type = Vec<Object>)]
    pub calls: Vec<TracedCall>,
}

/// The ring.
pub struct Traces {
    capacity: usize,
    kept: Mutex<Ring>,
}

#[derive(Default)]
struct Ring {
    order: VecDeque<String>,
    by_id: HashMap<String, Arc<Trace>>,
}

impl Traces {
    /// Keeps at most `capacity` traces.
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), kept: Mutex::new(Ring::default()) }
    }

    /// Keeps `trace`, replacing one of the same id; the oldest leaves when full.
    pub fn keep(&self, trace: Trace) {
        let mut ring = self.kept.lock();
        let id = trace.request_id.clone();
        if ring.by_id.insert(id.clone(), Arc::new(trace)).is_some() {
            ring.order.retain(|kept| *kept != id);
        }
        ring.order.push_back(id);
        while ring.order.len() > self.capacity {
            if let Some(oldest) = ring.order.pop_front() {
                ring.by_id.remove(&oldest);
            }
        }
    }

    /// The trace of `request_id`, if still kept.
    pub fn get(&self, request_id: &str) -> Option<Arc<Trace>> {
        self.kept.lock().by_id.get(request_id).cloned()
    }

    /// Traces kept now.
    pub fn len(&self) -> usize {
        self.kept.lock().order.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(id: &str) -> Trace {
        Trace {
            request_id: id.into(),
            endpoint: "tv/home".into(),
            revision: 1,
            variant: None,
            status: 200,
            started_at_ms: 0,
            duration_ms: 1.0,
            call_count: 0,
            calls_dropped: 0,
            calls: Vec::new(),
        }
    }

    #[test]
    fn the_oldest_leaves_at_capacity() {
        let traces = Traces::new(2);
        traces.keep(trace("a"));
        traces.keep(trace("b"));
        traces.keep(trace("c"));
        assert!(traces.get("a").is_none());
        assert_eq!(traces.get("c").map(|t| t.request_id.clone()).as_deref(), Some("c"));
        assert_eq!(traces.len(), 2);
    }

    #[test]
    fn the_same_id_twice_is_kept_once() {
        let traces = Traces::new(2);
        traces.keep(trace("a"));
        traces.keep(trace("a"));
        traces.keep(trace("b"));
        assert_eq!(traces.len(), 2);
        assert!(traces.get("a").is_some() && traces.get("b").is_some());
    }
}
