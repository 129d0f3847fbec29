//! The one place where errors become HTTP statuses and JSON error bodies (design §5, §10, §11).
//!
//! Lower crates describe *what* went wrong (`ErrorKind`, `ScriptFailure`, `Rejection`); every
//! answer a client can get is one [`ErrorCode`], which alone decides the HTTP status, the stable
//! `error` code of the JSON body, whose fault it is and whether retrying may help — so two
//! handlers can never disagree. Every error body is an object with `error`, `message`, `fault`
//! and `retryable`, plus fields that name what went wrong (`field`, `dependency`, `limit` …).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value, json};
use switchyard_actors::ErrorKind;
use switchyard_endpoints::script::ScriptFailure;
use switchyard_storage::{Rejection, StoreError};

use crate::app::AppState;
use crate::cluster::ClusterError;

/// Whose fault an error is, so a client knows whether to fix its request, wait, or report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The client sent something wrong (path, body, token, arguments).
    Caller,
    /// A backend dependency failed, timed out or is refusing work.
    Backend,
    /// The endpoint's script failed or crossed a sandbox limit.
    Script,
    /// Switchyard itself (its store, its cluster) could not do it.
    Server,
}

/// Every kind of error answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No endpoint, revision or resource at this path (404).
    NotFound,
    /// Malformed request: bad JSON, a wrong type, an unknown field (400).
    BadRequest,
    /// No valid token (401).
    Unauthorized,
    /// A valid token whose scope does not cover the resource (403).
    Forbidden,
    /// The request contradicts the current state: routing naming a missing revision, over 100 %,
    /// nothing to roll back to (409).
    Conflict,
    /// A body over its limit (413).
    PayloadTooLarge,
    /// A request head (request line and headers) over `server.max_header_bytes` (431).
    HeadersTooLarge,
    /// A script that does not compile (422).
    CompileError,
    /// The endpoint's own concurrency limit is exhausted (503).
    EndpointBusy,
    /// A dependency error the script did not handle, by its kind (502, or 503 while the
    /// dependency refuses work).
    Dependency(ErrorKind),
    /// The script threw or answered something that cannot be sent (500).
    Script,
    /// The script crossed a sandbox limit (500).
    Limit,
    /// The revision is suspended after repeatedly crossing its limits (503).
    Suspended,
    /// Switchyard cannot take the write now (no majority, store busy) (503).
    Unavailable,
    /// A write refused before anything was written: the node's disk (or the leader's) is too full
    /// for it (507). Not retryable: an operator must free space first.
    InsufficientStorage,
    /// The node's storage failed (a disk that filled up under a write, an I/O error): it takes no
    /// writes until it is restarted, and `/readyz` says so (503). Not retryable on this node.
    StoreFailed,
    /// Anything else that is our fault (500).
    Internal,
}

impl ErrorCode {
    /// The stable `error` code of the JSON body (also the outcome counted per endpoint).
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::CompileError => "compile_error",
            ErrorCode::EndpointBusy => "endpoint_busy",
            ErrorCode::Dependency(_) => "dependency",
            ErrorCode::Script => "script",
            ErrorCode::Limit => "limit",
            ErrorCode::Suspended => "suspended",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::InsufficientStorage => "insufficient_storage",
            ErrorCode::StoreFailed => "store_failed",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::NotFound => 404,
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::CompileError => 422,
            ErrorCode::EndpointBusy | ErrorCode::Unavailable | ErrorCode::Suspended | ErrorCode::StoreFailed => 503,
            ErrorCode::InsufficientStorage => 507,
            // A refusing dependency (breaker open, bulkhead full) is a 503: come back later. A
            // failing one, and one that refused the script's arguments (its 4xx), is a 502: the
            // fault is upstream of the device, which cannot fix the script's arguments.
            ErrorCode::Dependency(kind) if kind.is_unavailable() => 503,
            ErrorCode::Dependency(_) => 502,
            ErrorCode::Script | ErrorCode::Limit | ErrorCode::Internal => 500,
        }
    }

    /// Whose fault it is.
    pub fn fault(self) -> Fault {
        match self {
            ErrorCode::NotFound
            | ErrorCode::BadRequest
            | ErrorCode::Unauthorized
            | ErrorCode::Forbidden
            | ErrorCode::Conflict
            | ErrorCode::PayloadTooLarge
            | ErrorCode::HeadersTooLarge
            | ErrorCode::CompileError => Fault::Caller,
            // The backend refused the arguments the *script* sent: the script's fault.
            ErrorCode::Dependency(ErrorKind::BadRequest) => Fault::Script,
            ErrorCode::Dependency(_) => Fault::Backend,
            ErrorCode::Script | ErrorCode::Limit | ErrorCode::Suspended => Fault::Script,
            ErrorCode::EndpointBusy
            | ErrorCode::Unavailable
            | ErrorCode::InsufficientStorage
            | ErrorCode::StoreFailed
            | ErrorCode::Internal => Fault::Server,
        }
    }

    /// Whether the same request may succeed if sent again (later): true for overload and
    /// transient backend trouble, false for anything the request or the script must change.
    pub fn retryable(self) -> bool {
        match self {
            ErrorCode::EndpointBusy | ErrorCode::Unavailable | ErrorCode::Suspended => true,
            ErrorCode::Dependency(kind) => kind != ErrorKind::BadRequest,
            _ => false,
        }
    }
}

/// An error answer: its code, a message for people, and fields that name what went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// What kind of error.
    pub code: ErrorCode,
    /// One sentence for people.
    pub message: String,
    /// `field`, `dependency`, `limit`, `line` … .
    pub details: Map<String, Value>,
}

impl ApiError {
    /// An error of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Map::new() }
    }

    /// Adds a detail field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The `error` code.
    pub fn code(&self) -> &'static str {
        self.code.code()
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "error": self.code.code(),
            "message": self.message,
            "fault": self.code.fault(),
            "retryable": self.code.retryable(),
        });
        if let Value::Object(map) = &mut body {
            for (key, value) in &self.details {
                map.insert(key.clone(), value.clone());
            }
        }
        body
    }

    /// No endpoint at this path (404).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    /// Malformed request: bad JSON body, bad query (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// A malformed field of a body, named (400).
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message).with("field", field)
    }

    /// A bearer token that does not verify (401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    /// A request body over the limit (413).
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, format!("the request body exceeds {limit} bytes")).with("limit", limit)
    }

    /// A request head over the limit (431).
    pub fn headers_too_large(bytes: usize, limit: usize) -> Self {
        Self::new(
            ErrorCode::HeadersTooLarge,
            format!("the request line and headers take {bytes} bytes, more than the limit of {limit}"),
        )
        .with("limit", limit)
    }

    /// The endpoint's own concurrency limit is exhausted (503).
    pub fn endpoint_busy(endpoint: &str, limit: usize) -> Self {
        Self::new(ErrorCode::EndpointBusy, format!("{endpoint} is already running {limit} requests"))
            .with("endpoint", endpoint)
    }

    /// A script's failure: 502/503 for an unhandled dependency error, 500 otherwise.
    pub fn script(failure: &ScriptFailure, endpoint: &str, revision: u32) -> Self {
        let error = match failure {
            ScriptFailure::Dependency { dependency, kind, message } => {
                Self::new(ErrorCode::Dependency(*kind), format!("{dependency}: {message}"))
                    .with("dependency", dependency.as_str())
                    .with("kind", kind.name())
            }
            ScriptFailure::Exception(e) => {
                let mut error = Self::new(ErrorCode::Script, e.to_string()).with("name", e.name.as_str());
                if let (Some(line), Some(column)) = (e.line, e.column) {
                    error = error.with("line", line).with("column", column);
                }
                error
            }
            ScriptFailure::Limit { limit, detail } => {
                Self::new(ErrorCode::Limit, detail.as_str()).with("limit", limit.name())
            }
            ScriptFailure::Invalid(message) => Self::new(ErrorCode::Script, message.as_str()),
        };
        error.with("endpoint", endpoint).with("revision", revision)
    }

    /// Our own failure (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// Sets the request id, so a device can quote it.
    pub fn for_request(self, request_id: &str) -> Self {
        self.with("request_id", request_id)
    }
}

/// The store's refusals: an unknown endpoint is 404; a routing that names a missing revision, takes
/// over 100 % or has nothing to roll back to contradicts the state (409); a malformed value in the
/// routing names its field (400).
impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        let message = rejection.to_string();
        match rejection {
            Rejection::UnknownEndpoint(key) => Self::not_found(message).with("endpoint", key.to_string()),
            Rejection::UnknownRevision { role, revision, newest } => Self::new(ErrorCode::Conflict, message)
                .with("field", routing_field(&role))
                .with("revision", revision)
                .with("newest", newest),
            Rejection::OverHundredPercent { total } => Self::new(ErrorCode::Conflict, message).with("total", total),
            Rejection::NothingToRollBack(_) | Rejection::RevisionsExhausted(_) | Rejection::AuditExhausted => {
                Self::new(ErrorCode::Conflict, message)
            }
            Rejection::InvalidPercent { role, .. } => {
                Self::bad_field(&format!("{}.percent", routing_field(&role)), message)
            }
            Rejection::InvalidVariant { .. } | Rejection::TooManyVariants { .. } => {
                Self::bad_field("variants", message)
            }
        }
    }
}

/// Why a change through the cluster was not made: no leader or majority in time is 503
/// `unavailable`; a membership contradiction 409; a disk too full for the change, found before
/// anything was written, 507 `insufficient_storage`; storage that failed under a write (Raft or
/// the store stopped on this node) 503 `store_failed`, which says the change may be in the log.
impl From<ClusterError> for ApiError {
    fn from(error: ClusterError) -> Self {
        let message = error.to_string();
        match error {
            ClusterError::Unavailable(_) | ClusterError::Indeterminate(_) | ClusterError::NotLeader(_) => {
                Self::new(ErrorCode::Unavailable, message)
            }
            ClusterError::Refused(_) => Self::new(ErrorCode::Conflict, message),
            ClusterError::NoSpace(_) => Self::new(ErrorCode::InsufficientStorage, message),
            ClusterError::Stopped(_) => Self::new(
                ErrorCode::StoreFailed,
                format!(
                    "{message}; this node takes no writes until it is restarted, and a change sent as it failed may or may not have been stored: read after the restart before sending it again"
                ),
            ),
        }
    }
}

/// A store read or write that failed on this node: a disk too full for a write (refused before
/// anything was written) is 507 `insufficient_storage`; a store that met an I/O failure and answers
/// nothing more until a restart is 503 `store_failed`; anything else (a value that does not decode)
/// is ours, 500.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = format!("the store failed: {error}");
        match error {
            StoreError::NoSpace { .. } => Self::new(ErrorCode::InsufficientStorage, message),
            StoreError::Failed(_) => Self::new(ErrorCode::StoreFailed, message),
            _ => Self::internal(message),
        }
    }
}

/// `GET /readyz` on both listeners: 200 `{"status": "ok"}` while the node follows its cluster;
/// 503 `store_failed` (with `"status": "not_ready"` and the reason) once its store or its Raft
/// stopped. Such a node still serves devices what it has, but takes and follows no change until
/// it is restarted, so a load balancer should send its traffic elsewhere.
pub async fn readyz(state: actix_web::web::Data<AppState>) -> HttpResponse {
    match state.readiness() {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(reason) => ApiError::new(ErrorCode::StoreFailed, reason).with("status", "not_ready").error_response(),
    }
}

/// `active`, `canary`, ``variant `b` `` → the routing field it names.
fn routing_field(role: &str) -> String {
    match role.strip_prefix("variant ") {
        Some(name) => format!("variants.{}", name.trim_matches('`')),
        None => role.to_owned(),
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code.code(), self.status(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(id) = self.details.get("request_id").and_then(Value::as_str) {
            response.insert_header(("x-request-id", id));
        }
        if let Some(seconds) = self.details.get("retry_after_s").and_then(Value::as_u64) {
            response.insert_header(("retry-after", seconds.to_string()));
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use switchyard_endpoints::script::{JsException, LimitKind};

    use super::*;

    #[test]
    fn a_full_disk_is_507_a_failed_store_503_and_anything_else_500() {
        let dir = std::path::PathBuf::from("/data");
        let no_space = StoreError::NoSpace { dir: dir.clone(), available: 1, write: 2, own: 3, reserve: 4 };
        let failed = StoreError::Failed(switchyard_storage::Failure { dir, cause: "ENOSPC".into(), no_space: true });
        let other = StoreError::Inconsistent("two actives".into());
        let answer = |e: StoreError| {
            let api = ApiError::from(e);
            (api.status(), api.code())
        };
        assert_eq!(answer(no_space), (507, "insufficient_storage"));
        assert_eq!(answer(failed), (503, "store_failed"));
        assert_eq!(answer(other), (500, "internal"));
    }

    #[test]
    fn refusals_are_503_and_failures_502() {
        let status = |kind| ErrorCode::Dependency(kind).status();
        assert_eq!(status(ErrorKind::ShortCircuited), 503);
        assert_eq!(status(ErrorKind::Rejected), 503);
        assert_eq!(status(ErrorKind::Failure), 502);
        assert_eq!(status(ErrorKind::Timeout), 502);
        assert_eq!(status(ErrorKind::BadRequest), 502);
    }

    #[test]
    fn every_code_says_whose_fault_and_whether_to_retry() {
        use ErrorCode::*;
        let table = [
            (NotFound, 404, Fault::Caller, false),
            (BadRequest, 400, Fault::Caller, false),
            (Unauthorized, 401, Fault::Caller, false),
            (Forbidden, 403, Fault::Caller, false),
            (Conflict, 409, Fault::Caller, false),
            (PayloadTooLarge, 413, Fault::Caller, false),
            (HeadersTooLarge, 431, Fault::Caller, false),
            (CompileError, 422, Fault::Caller, false),
            (EndpointBusy, 503, Fault::Server, true),
            (Dependency(ErrorKind::Timeout), 502, Fault::Backend, true),
            (Dependency(ErrorKind::ShortCircuited), 503, Fault::Backend, true),
            (Dependency(ErrorKind::BadRequest), 502, Fault::Script, false),
            (Script, 500, Fault::Script, false),
            (Limit, 500, Fault::Script, false),
            (Unavailable, 503, Fault::Server, true),
            (InsufficientStorage, 507, Fault::Server, false),
            (StoreFailed, 503, Fault::Server, false),
            (Internal, 500, Fault::Server, false),
        ];
        for (code, status, fault, retryable) in table {
            assert_eq!((code.status(), code.fault(), code.retryable()), (status, fault, retryable), "{code:?}");
        }
        let body = ApiError::bad_field("routing.active", "must be a revision").body();
        assert_eq!(
            (body["error"].as_str(), body["field"].as_str(), body["fault"].as_str(), body["retryable"].as_bool()),
            (Some("bad_request"), Some("routing.active"), Some("caller"), Some(false))
        );
    }

    #[test]
    fn script_failures_name_what_the_device_needs() {
        let dep = ScriptFailure::Dependency {
            dependency: "ratings".into(),
            kind: ErrorKind::ShortCircuited,
            message: "open".into(),
        };
        let e = ApiError::script(&dep, "tv/home", 3);
        let body = e.body();
        assert_eq!(e.status(), 503);
        assert_eq!((body["dependency"].as_str(), body["revision"].as_u64()), (Some("ratings"), Some(3)));

        let thrown = JsException {
            name: "TypeError".into(),
            message: "x is undefined".into(),
            line: Some(4),
            column: Some(9),
            stack: None,
        };
        let e = ApiError::script(&ScriptFailure::Exception(thrown), "tv/home", 1);
        assert_eq!((e.status(), e.code(), e.body()["line"].as_u64()), (500, "script", Some(4)));

        let limit = ScriptFailure::Limit { limit: LimitKind::Cpu, detail: "limit exceeded: cpu".into() };
        let e = ApiError::script(&limit, "tv/home", 1).for_request("abc");
        let body = e.body();
        assert_eq!(
            (e.status(), e.code(), body["limit"].as_str(), body["request_id"].as_str()),
            (500, "limit", Some("cpu"), Some("abc"))
        );
        assert!(body["message"].as_str().unwrap().contains("limit"));
    }
}
