//! Helpers shared by the black-box tests: a dependency over the fake backend, on the current
//! arbiter so that tokio's paused clock drives every timer.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::fallback::FallbackFn;
use switchyard_actors::{CallError, DependencyConfig, DependencyHandle, Placement, Reply};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A dependency named `dep` with `config`, over a fake whose default step is `default`.
pub fn start(config: DependencyConfig, default: Step) -> (DependencyHandle, FakeBackend) {
    let fake = FakeBackend::new(default);
    let handle = DependencyHandle::builder("dep", config, Arc::new(fake.clone()))
        .placement(Placement::CurrentArbiter)
        .start()
        .expect("valid config");
    (handle, fake)
}

/// `start` with a fallback function.
pub fn start_with_fallback(config: DependencyConfig, default: Step, f: FallbackFn) -> (DependencyHandle, FakeBackend) {
    let fake = FakeBackend::new(default);
    let handle = DependencyHandle::builder("dep", config, Arc::new(fake.clone()))
        .placement(Placement::CurrentArbiter)
        .fallback_fn(f)
        .start()
        .expect("valid config");
    (handle, fake)
}

/// A call of `get {id}` in its own task, to hold a slot or be aborted.
pub fn spawn_call(dep: &DependencyHandle, id: u64) -> actix_rt::task::JoinHandle<Result<Reply, CallError>> {
    let dep = dep.clone();
    actix_rt::spawn(async move { dep.call("get", &args(id)).await })
}

/// Hystrix's defaults with a bulkhead of one slot and no queue: a second call is rejected.
pub fn one_slot() -> DependencyConfig {
    let mut config = DependencyConfig::default();
    config.max_concurrent = 1;
    config.queue = 0;
    config
}

pub fn args(id: u64) -> Value {
    json!({ "id": id })
}

/// Makes `n` calls one after another.
pub async fn call_n(handle: &DependencyHandle, n: usize) {
    for i in 0..n {
        let _ = handle.call("get", &args(i as u64)).await;
    }
}

/// Lets the health snapshot interval pass so the breaker looks at the window again.
pub async fn next_snapshot() {
    tokio::time::advance(ms(500)).await;
}
