//! What the fault-tolerance layer costs (design §12): a protected in-process call (actor hop,
//! breaker, bulkhead, stats) — on the caller's own worker actor (`PerWorker`, the server's
//! placement) and on the dependency's own thread (`OwnArbiter`) — and a semaphore-isolated call
//! against a direct call of the same backend, and an open-breaker rejection.
//!
//! `cargo bench -p switchyard-bench --bench dependency_call`

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchyard_actors::{Backend, BackendError, DependencyConfig, DependencyHandle, Force, Isolation, Json, Placement};

/// Answers at once with a prepared reply: the cost measured is the layer's, not the backend's.
struct Instant(Json);

impl Backend for Instant {
    fn call(&self, _operation: &str, _args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        futures::future::ready(Ok(self.0.clone())).boxed()
    }
}

fn handle(isolation: Isolation, force: Option<Force>, placement: Placement) -> DependencyHandle {
    let mut config = DependencyConfig::default();
    config.isolation = isolation;
    config.breaker.force = force;
    let backend = Arc::new(Instant(json!({"id": 1, "name": "x"}).into()));
    DependencyHandle::builder("bench", config, backend).placement(placement).start().expect("valid config")
}

fn wide(placement: Placement) -> DependencyHandle {
    let mut config = DependencyConfig::default();
    config.max_concurrent = 64;
    let backend = Arc::new(Instant(json!({"id": 1, "name": "x"}).into()));
    DependencyHandle::builder("wide", config, backend).placement(placement).start().expect("valid config")
}

/// Runs `iters` sequential calls of `f` inside the actix system and returns the elapsed time.
fn time_calls<F, Fut>(system: &mut actix::SystemRunner, iters: u64, f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    system.block_on(async {
        let start = tokio::time::Instant::now();
        for _ in 0..iters {
            f().await;
        }
        start.elapsed()
    })
}

fn bench(c: &mut Criterion) {
    let mut system = actix::System::new();
    let (actor, own_thread, semaphore, open) = system.block_on(async {
        (
            handle(Isolation::Actor, None, Placement::PerWorker),
            handle(Isolation::Actor, None, Placement::OwnArbiter),
            handle(Isolation::Semaphore, None, Placement::PerWorker),
            handle(Isolation::Semaphore, Some(Force::Open), Placement::PerWorker),
        )
    });
    let direct = Instant(json!({"id": 1, "name": "x"}).into());
    let args = json!({"id": 1});
    let mut group = c.benchmark_group("dependency_call");
    group.bench_function("direct", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                direct.call("get", &args).map(|r| {
                    std::hint::black_box(r.unwrap());
                })
            })
        })
    });
    group.bench_function("protected_actor", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                actor.call("get", &args).map(|r| {
                    std::hint::black_box(r.unwrap());
                })
            })
        })
    });
    group.bench_function("protected_actor_own_thread", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                own_thread.call("get", &args).map(|r| {
                    std::hint::black_box(r.unwrap());
                })
            })
        })
    });
    group.bench_function("protected_semaphore", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                semaphore.call("get", &args).map(|r| {
                    std::hint::black_box(r.unwrap());
                })
            })
        })
    });
    group.bench_function("open_breaker_rejection", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                open.call("get", &args).map(|r| {
                    std::hint::black_box(r.unwrap_err());
                })
            })
        })
    });
    group.finish();

    // The actor hop under load: 64 calls in flight, so neither thread parks between calls.
    let mut group = c.benchmark_group("dependency_call_64_in_flight");
    group.throughput(criterion::Throughput::Elements(64));
    let (wide, wide_own_thread) = system.block_on(async { (wide(Placement::PerWorker), wide(Placement::OwnArbiter)) });
    group.bench_function("direct", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                futures::future::join_all((0..64).map(|_| direct.call("get", &args))).map(|r| {
                    std::hint::black_box(r);
                })
            })
        })
    });
    group.bench_function("protected_actor", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                futures::future::join_all((0..64).map(|_| wide.call("get", &args))).map(|r| {
                    assert!(r.iter().all(Result::is_ok));
                })
            })
        })
    });
    group.bench_function("protected_actor_own_thread", |b| {
        b.iter_custom(|n| {
            time_calls(&mut system, n, || {
                futures::future::join_all((0..64).map(|_| wide_own_thread.call("get", &args))).map(|r| {
                    assert!(r.iter().all(Result::is_ok));
                })
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
