//! HTTP dependencies (`kind = "http"`, design §3): each operation is mapped in config to a method,
//! a path template and query or JSON-body arguments ([`config`]); [`HttpBackend`] sends them over
//! one keep-alive connection pool per dependency.

pub mod backend;
pub mod config;

pub use backend::HttpBackend;
pub use config::{HttpConfig, HttpMethod, HttpOperation};
