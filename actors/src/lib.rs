//! Per-dependency fault tolerance, with Hystrix's semantics in Rust (design §3).
//!
//! Every backend dependency is a [`DependencyHandle`]: calls pass its circuit breaker
//! ([`breaker`]), its bulkhead ([`bulkhead`]), a timeout and, on error, its fallback ([`fallback`]),
//! and run on a supervised actix actor of their own ([`actor`]) or, for in-memory dependencies,
//! in the caller's task. Each dependency keeps rolling statistics ([`stats`]) that the stream,
//! dashboard and metrics read as snapshots. The [`Registry`] starts them all from typed config.
//!
//! This crate knows nothing of scripts or HTTP servers: backends implement [`Backend`].
#![forbid(unsafe_code)]

mod actor;
pub mod backend;
pub mod breaker;
pub mod bulkhead;
pub mod collapser;
pub mod config;
mod dependency;
pub mod error;
pub mod event;
#[cfg(feature = "test-util")]
pub mod fake;
pub mod fallback;
pub mod histogram;
pub mod http;
pub mod json;
pub mod latency;
mod per_thread;
pub mod registry;
mod reply;
pub mod stats;
pub mod window;

pub use backend::{Backend, BackendError, BackendErrorKind};
pub use config::{DependencyConfig, Force, Isolation, SettingsPatch};
pub use dependency::DependencyHandle;
pub use dependency::start::{DependencyBuilder, Placement};
pub use error::{CallError, ConfigError, ErrorKind, FallbackError};
pub use event::{Counts, Event};
pub use json::Json;
pub use registry::Registry;
pub use reply::{Origin, Reply};
pub use stats::DependencySnapshot;
