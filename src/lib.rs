//! The Switchyard server: configuration, wiring, the HTTP listeners and the CLI (design §1, §10).
//!
//! The crates below it own the concerns: `switchyard-actors` (dependency fault tolerance),
//! `switchyard-endpoints` (scripts and streams), `switchyard-storage` (the replicated store). This
//! crate only wires them and decides, in [`status`], which HTTP status each of their errors means.
#![forbid(unsafe_code)]

pub mod auth;
pub mod banner;
pub mod cli;
pub mod config;
pub mod demo;
pub mod local_run;
pub mod metrics;
pub mod public;
pub mod rust_home;
pub mod samples;
pub mod status;
pub mod wiring;
