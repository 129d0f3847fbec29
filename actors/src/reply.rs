//! `Reply` and `Origin`: what a successful call answers and where the answer came from.
//!
//! Plain data shared by the dependency's call path, the collapser and the endpoints; kept in a
//! module of its own so none of them has to import another's machinery for it.

use crate::error::ErrorKind;
use crate::json::Json;

/// A successful answer: from the backend, or from a fallback.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The body; `None` is an empty reply (a `silent` fallback emits nothing).
    pub body: Option<Json>,
    /// Where it came from.
    pub origin: Origin,
}

/// Where a reply came from (for traces and scripts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The backend answered.
    Backend,
    /// A fallback answered instead, because of this error.
    Fallback(ErrorKind),
    /// The item came from this collapsed batch.
    Collapsed(u64),
}
