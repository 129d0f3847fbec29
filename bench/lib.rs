//! Benchmarks live in `benches/`; this library holds the baselines they (and the examples and
//! tests of the server) compare Switchyard against.

pub mod latencies;
pub mod rust_home;
