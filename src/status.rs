//! The one place where errors become HTTP statuses (design §5, §11).
//!
//! Lower crates describe *what* went wrong (`ErrorKind`); which status a device sees is decided
//! here only, so the mapping cannot drift between handlers.

use switchyard_actors::{CallError, ErrorKind};

/// The status a device gets for a dependency error its endpoint did not handle: 503 when the
/// dependency is refusing work (breaker open, bulkhead full), otherwise 502 — the fault is upstream
/// of us either way, including a backend's refusal of the arguments the script sent.
pub fn for_call_error(error: &CallError) -> u16 {
    match error.kind {
        ErrorKind::ShortCircuited | ErrorKind::Rejected => 503,
        ErrorKind::Failure | ErrorKind::Timeout | ErrorKind::BadRequest => 502,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
}
