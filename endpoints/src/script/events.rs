//! What running a script produces, in order: a complete answer, or streamed items and their end,
//! or a failure — plus the script's log lines. Statuses are decided by the server, not here.

use serde::Serialize;
use switchyard_actors::ErrorKind;

use super::error::JsException;

/// One thing a running script produced.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptEvent {
    /// The whole answer (a value, a Promise of one, a non-streamed Observable, or `response(...)`).
    Document(ScriptResponse),
    /// One item of a streamed Observable, as JSON text.
    Item(String),
    /// The streamed Observable completed.
    End,
    /// The script failed; nothing follows.
    Failed(ScriptFailure),
    /// A `log(level, message)` line.
    Log {
        /// `debug`, `info`, `warn`, `error` (anything else is logged as info).
        level: String,
        /// The message.
        message: String,
    },
}

/// A complete answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptResponse {
    /// HTTP status (200 unless the script used `response(status, …)`).
    pub status: u16,
    /// Headers the script set.
    pub headers: Vec<(String, String)>,
    /// Content type the script set.
    pub content_type: Option<String>,
    /// The body: JSON text, or the script's string as is when `raw`.
    pub body: String,
    /// The script gave a string body: send it as is (text/plain unless a content type was set).
    pub raw: bool,
}

/// Which sandbox limit a script crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// JavaScript ran longer than `cpu_slice_ms` without waiting.
    Cpu,
    /// The whole request took longer than `deadline_ms`.
    Deadline,
    /// The runtime's heap limit.
    Memory,
    /// The stack limit (deep recursion).
    Stack,
    /// More than `max_calls` dependency calls.
    Calls,
    /// A response larger than `max_response_bytes`.
    ResponseSize,
}

impl LimitKind {
    /// The snake_case name used in JSON errors and metrics.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::Cpu => "cpu",
            LimitKind::Deadline => "deadline",
            LimitKind::Memory => "memory",
            LimitKind::Stack => "stack",
            LimitKind::Calls => "calls",
            LimitKind::ResponseSize => "response_size",
        }
    }
}

/// Why a script produced no (complete) answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptFailure {
    /// A dependency error the script did not handle (no `catchError`, no try/catch).
    Dependency {
        /// The dependency.
        dependency: String,
        /// What went wrong with it.
        kind: ErrorKind,
        /// Detail.
        message: String,
    },
    /// The script threw (or returned a rejected Promise).
    Exception(JsException),
    /// The script crossed a sandbox limit and was stopped.
    Limit {
        /// Which.
        limit: LimitKind,
        /// For the JSON error.
        detail: String,
    },
    /// The script's answer cannot be sent (a bad status, a module without `handle`).
    Invalid(String),
}

/// Reads an error kind back from its name (a `DependencyError`'s `kind`).
pub(crate) fn error_kind_from_name(name: &str) -> Option<ErrorKind> {
    [ErrorKind::Failure, ErrorKind::Timeout, ErrorKind::Rejected, ErrorKind::ShortCircuited, ErrorKind::BadRequest]
        .into_iter()
        .find(|kind| kind.name() == name)
}
