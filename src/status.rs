//! The one place where errors become HTTP statuses and JSON error bodies (design §5, §11).
//!
//! Lower crates describe *what* went wrong (`ErrorKind`, `ScriptFailure`); which status a device
//! sees, and the shape of the JSON error, are decided here only, so they cannot drift between
//! handlers. Every error body is an object with `error` (a stable code) and `message`.

use serde_json::{Value, json};
use switchyard_actors::{CallError, ErrorKind};
use switchyard_endpoints::script::ScriptFailure;

/// The status a device gets for a dependency error its endpoint did not handle: 503 when the
/// dependency is refusing work (breaker open, bulkhead full), otherwise 502 — the fault is upstream
/// of us either way, including a backend's refusal of the arguments the script sent.
pub fn for_error_kind(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::ShortCircuited | ErrorKind::Rejected => 503,
        ErrorKind::Failure | ErrorKind::Timeout | ErrorKind::BadRequest => 502,
    }
}

/// [`for_error_kind`] of a call error.
pub fn for_call_error(error: &CallError) -> u16 {
    for_error_kind(error.kind)
}

/// An error answer: status and JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `{"error": code, "message": …, …}`.
    pub body: Value,
}

impl ApiError {
    fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self { status, body: json!({"error": code, "message": message.into()}) }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.body[key] = value.into();
        self
    }

    /// No endpoint at this path (404).
    pub fn not_found(path: &str) -> Self {
        Self::new(404, "not_found", format!("no endpoint at {path}"))
    }

    /// Malformed request: bad JSON body, bad query (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    /// A bearer token that does not verify (401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    /// A request body over the limit (413).
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(413, "payload_too_large", format!("the request body exceeds {limit} bytes")).with("limit", limit)
    }

    /// The endpoint's own concurrency limit is exhausted (503).
    pub fn endpoint_busy(endpoint: &str, limit: usize) -> Self {
        Self::new(503, "endpoint_busy", format!("{endpoint} is already running {limit} requests"))
            .with("endpoint", endpoint)
    }

    /// A script's failure: 502/503 for an unhandled dependency error, 500 otherwise.
    pub fn script(failure: &ScriptFailure, endpoint: &str, revision: u32) -> Self {
        let error = match failure {
            ScriptFailure::Dependency { dependency, kind, message } => {
                Self::new(for_error_kind(*kind), "dependency", format!("{dependency}: {message}"))
                    .with("dependency", dependency.as_str())
                    .with("kind", kind.name())
            }
            ScriptFailure::Exception(e) => {
                let mut error = Self::new(500, "script", e.to_string()).with("name", e.name.as_str());
                if let (Some(line), Some(column)) = (e.line, e.column) {
                    error = error.with("line", line).with("column", column);
                }
                error
            }
            ScriptFailure::Limit { limit, detail } => {
                Self::new(500, "limit", detail.as_str()).with("limit", limit.name())
            }
            ScriptFailure::Invalid(message) => Self::new(500, "script", message.as_str()),
        };
        error.with("endpoint", endpoint).with("revision", revision)
    }

    /// Sets the request id, so a device can quote it.
    pub fn for_request(self, request_id: &str) -> Self {
        self.with("request_id", request_id)
    }

    /// The `error` code.
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("error")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use switchyard_endpoints::script::{JsException, LimitKind};

    use super::*;

    #[test]
    fn refusals_are_503_and_failures_502() {
        let dep: Arc<str> = Arc::from("users");
        let status = |kind| for_call_error(&CallError::new(&dep, kind, "x"));
        assert_eq!(status(ErrorKind::ShortCircuited), 503);
        assert_eq!(status(ErrorKind::Rejected), 503);
        assert_eq!(status(ErrorKind::Failure), 502);
        assert_eq!(status(ErrorKind::Timeout), 502);
        assert_eq!(status(ErrorKind::BadRequest), 502);
    }

    #[test]
    fn script_failures_name_what_the_device_needs() {
        let dep = ScriptFailure::Dependency {
            dependency: "ratings".into(),
            kind: ErrorKind::ShortCircuited,
            message: "open".into(),
        };
        let e = ApiError::script(&dep, "tv/home", 3);
        assert_eq!(e.status, 503);
        assert_eq!((e.body["dependency"].as_str(), e.body["revision"].as_u64()), (Some("ratings"), Some(3)));

        let thrown = JsException {
            name: "TypeError".into(),
            message: "x is undefined".into(),
            line: Some(4),
            column: Some(9),
            stack: None,
        };
        let e = ApiError::script(&ScriptFailure::Exception(thrown), "tv/home", 1);
        assert_eq!((e.status, e.code(), e.body["line"].as_u64()), (500, "script", Some(4)));

        let limit = ScriptFailure::Limit { limit: LimitKind::Cpu, detail: "limit exceeded: cpu".into() };
        let e = ApiError::script(&limit, "tv/home", 1).for_request("abc");
        assert_eq!(
            (e.status, e.code(), e.body["limit"].as_str(), e.body["request_id"].as_str()),
            (500, "limit", Some("cpu"), Some("abc"))
        );
        assert!(e.body["message"].as_str().unwrap().contains("limit"));
    }
}
