//! Dynamic endpoints: the `Observable` stream type, the request context and request cache, the
//! JavaScript runtime and the endpoint registry with revision routing (design §4–§6).
//!
//! Depends on `switchyard-actors` only, never on HTTP: the server adapts requests and responses.
#![deny(unsafe_code)]

pub mod dispatch;
pub mod observable;
pub mod request_cache;
pub mod request_dispatch;
pub mod script;

pub use dispatch::Dispatch;
pub use request_dispatch::{Dependencies, RequestDispatch};
