//! Errors of a dependency call: what went wrong, with whom, and what the fallback did about it;
//! and [`ConfigError`], an invalid setting. Plain types that import nothing from the crate, so every
//! module may use them without an import cycle.
//!
//! The kinds say whose fault it is (the dependency's, or the caller's bad arguments) and whether the
//! dependency is refusing work (breaker open, bulkhead full). HTTP statuses are decided from these
//! kinds in one place in the server, never here.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// What went wrong with a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The backend failed: 5xx, connect error, malformed reply, a panic, or its actor restarted.
    Failure,
    /// No answer within the timeout.
    Timeout,
    /// The bulkhead was full.
    Rejected,
    /// The circuit breaker was open.
    ShortCircuited,
    /// The backend refused the arguments (its 4xx): the caller's fault; no fallback.
    BadRequest,
}

impl ErrorKind {
    /// The dependency is refusing work right now (a 503 rather than a 502 for a device).
    pub fn is_unavailable(self) -> bool {
        matches!(self, ErrorKind::Rejected | ErrorKind::ShortCircuited)
    }

    /// The snake_case name used in JSON errors and scripts' `catchError`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Failure => "failure",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Rejected => "rejected",
            ErrorKind::ShortCircuited => "short_circuited",
            ErrorKind::BadRequest => "bad_request",
        }
    }
}

/// Why no fallback answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "fallback", content = "message")]
pub enum FallbackError {
    /// None is configured (`fail`).
    Missing,
    /// Too many fallbacks were running.
    Rejected,
    /// The fallback itself failed (for example `stale` with nothing remembered).
    Failed(String),
}

/// A call that ended without a reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallError {
    /// The dependency called.
    pub dependency: Arc<str>,
    /// What went wrong.
    pub kind: ErrorKind,
    /// Detail for logs and the JSON error (static text needs no allocation on the rejection path).
    pub message: Cow<'static, str>,
    /// What the fallback did, when one was tried (`None` for bad requests).
    pub fallback: Option<FallbackError>,
}

impl CallError {
    /// A new error without fallback information.
    pub fn new(dependency: &Arc<str>, kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self { dependency: Arc::clone(dependency), kind, message: message.into(), fallback: None }
    }

    pub(crate) fn with_fallback(mut self, fallback: FallbackError) -> Self {
        self.fallback = Some(fallback);
        self
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.dependency, self.kind.name(), self.message)?;
        match &self.fallback {
            None => Ok(()),
            Some(FallbackError::Missing) => f.write_str(" (no fallback)"),
            Some(FallbackError::Rejected) => f.write_str(" (fallback rejected)"),
            Some(FallbackError::Failed(m)) => write!(f, " (fallback failed: {m})"),
        }
    }
}

impl std::error::Error for CallError {}

/// An invalid setting, naming the field (`dependencies.users.breaker.error_percent`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Dotted path of the offending key.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// An error for `field` under `prefix` (either may be empty).
    pub fn new(prefix: &str, field: &str, message: impl Into<String>) -> Self {
        let field = if prefix.is_empty() { field.to_owned() } else { format!("{prefix}.{field}") };
        Self { field, message: message.into() }
    }
}
