//! A tour of the fault-tolerance layer: three dependencies on their own actors, one of which starts
//! failing. Watch its breaker open (calls short-circuit to the static fallback), the half-open
//! trial after the sleep window, and the recovery once the backend heals, while the healthy
//! dependencies keep answering. Runs for about eight seconds.
//!
//! `cargo run --example resilience`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchyard_actors::config::FallbackKind;
use switchyard_actors::{Backend, BackendError, DependencyConfig, DependencyHandle, Json, Origin};

/// An in-process backend that answers after a few milliseconds, or fails while `broken` is set.
struct Flaky {
    broken: Arc<AtomicBool>,
    latency: Duration,
}

impl Backend for Flaky {
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        let broken = self.broken.load(Ordering::Relaxed);
        let latency = self.latency;
        let reply = json!({ "operation": operation, "args": args });
        async move {
            tokio::time::sleep(latency).await;
            if broken { Err(BackendError::failure("503 from upstream")) } else { Ok(reply.into()) }
        }
        .boxed()
    }
}

fn config() -> DependencyConfig {
    let mut c = DependencyConfig::default();
    c.timeout_ms = 100;
    c.breaker.window_ms = 2_000;
    c.breaker.buckets = 10;
    c.breaker.request_volume = 10;
    c.breaker.sleep_window_ms = 1_000;
    c.fallback.kind = FallbackKind::Static;
    c.fallback.value = Some(json!({ "rating": null, "fallback": true }).into());
    c
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    let ratings_broken = Arc::new(AtomicBool::new(false));
    let mut deps = Vec::new();
    for (name, broken) in [
        ("users", Arc::new(AtomicBool::new(false))),
        ("ratings", Arc::clone(&ratings_broken)),
        ("catalog", Arc::new(AtomicBool::new(false))),
    ] {
        let backend = Arc::new(Flaky { broken, latency: Duration::from_millis(3) });
        deps.push(DependencyHandle::builder(name, config(), backend).start()?);
    }
    println!(
        "{:<8} {:>5} {:>8} {:>5} {:>6} {:>7} {:>9} {:>6}",
        "tick", "dep", "success", "fail", "short", "fallbk", "breaker", "p50ms"
    );
    for tick in 0..16 {
        match tick {
            3 => {
                println!("-- ratings starts failing");
                ratings_broken.store(true, Ordering::Relaxed);
            }
            10 => {
                println!("-- ratings heals");
                ratings_broken.store(false, Ordering::Relaxed);
            }
            _ => {}
        }
        // A burst of concurrent calls, like one device request's fan-out, 20 times.
        let mut from_fallback = 0;
        for i in 0..20 {
            let args = json!({ "id": i });
            let calls = deps.iter().map(|d| d.call("get", &args));
            for reply in futures::future::join_all(calls).await.into_iter().flatten() {
                from_fallback += usize::from(matches!(reply.origin, Origin::Fallback(_)));
            }
        }
        for snap in deps.iter().map(DependencyHandle::snapshot) {
            let r = &snap.rolling;
            println!(
                "{:<8} {:>5} {:>8} {:>5} {:>6} {:>7} {:>9} {:>6.1}",
                tick,
                &snap.name[..snap.name.len().min(5)],
                r.get(switchyard_actors::Event::Success),
                r.get(switchyard_actors::Event::Failure),
                r.get(switchyard_actors::Event::ShortCircuited),
                r.get(switchyard_actors::Event::FallbackSuccess),
                format!("{:?}", snap.breaker).to_lowercase(),
                snap.latency_execution.p50,
            );
        }
        println!("         {from_fallback} of 60 calls answered by a fallback");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}
