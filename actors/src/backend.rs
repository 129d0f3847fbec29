//! The `Backend` trait: what a dependency actor drives. HTTP clients and the demo services
//! implement it; tests use the scriptable fake in [`crate::fake`] (feature `test-util`).
//!
//! A backend only answers calls. Timeouts, limits, breaker, fallback and statistics are the
//! actor's business, so a backend stays a thin client.

use futures::future::BoxFuture;
use serde_json::Value;

use crate::json::Json;

/// Whose fault a backend error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// The backend refused the arguments (4xx, unknown operation, invalid arguments).
    BadRequest,
    /// The backend could not answer (5xx, connect error, malformed reply).
    Failure,
}

/// A backend's failure to answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    /// Whose fault.
    pub kind: BackendErrorKind,
    /// Detail.
    pub message: String,
}

impl BackendError {
    /// The caller's arguments were refused.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { kind: BackendErrorKind::BadRequest, message: message.into() }
    }

    /// The backend failed.
    pub fn failure(message: impl Into<String>) -> Self {
        Self { kind: BackendErrorKind::Failure, message: message.into() }
    }
}

/// A client for one dependency's operations.
pub trait Backend: Send + Sync + 'static {
    /// Starts one call of `operation` with `args`. The future may be dropped at any point (timeout,
    /// caller gone), which must cancel the work.
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>>;
}
