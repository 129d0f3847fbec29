//! The Switchyard server: configuration, wiring, the HTTP listeners and the CLI (design §1, §10).
//!
//! The crates below it own the concerns: `switchyard-actors` (dependency fault tolerance),
//! `switchyard-endpoints` (scripts and streams), `switchyard-storage` (the replicated store). This
//! crate only wires them and decides, in [`status`], which HTTP status each of their errors means.
#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod auth;
pub mod banner;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod data_dir;
pub mod demo;
pub mod listener;
pub mod live;
pub mod local_run;
pub mod logging;
pub mod node;
pub mod observe;
pub mod public;
pub mod request;
pub mod samples;
pub mod shutdown;
pub mod status;
