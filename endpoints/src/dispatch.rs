//! `Dispatch`: how an endpoint (script or Rust) reaches dependencies during one device request.
//!
//! The server gives each request its own dispatcher, which layers the request cache, the collapser
//! and tracing over the dependency registry; endpoint code only sees this trait, so the JavaScript
//! runtime and the in-process examples are tested with a fake one.

use futures::future::LocalBoxFuture;
use serde_json::Value;
use switchyard_actors::{CallError, Reply};

/// Calls a dependency's operation on behalf of the current request.
pub trait Dispatch {
    /// Starts the call; the future resolves with the reply (possibly a fallback's) or the error.
    /// An unknown dependency is a `CallError` of kind `BadRequest` naming it.
    fn call(&self, dependency: &str, operation: &str, args: Value)
    -> LocalBoxFuture<'static, Result<Reply, CallError>>;
}
