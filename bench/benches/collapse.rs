//! The collapser under a burst (design §12: 1,000 concurrent single-title lookups reach the
//! backend as at most 20 batch calls). Prints the measured ratio after timing the bursts.
//!
//! `cargo bench -p switchyard-bench --bench collapse`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchyard_actors::collapser::{Collapser, CollapserConfig};
use switchyard_actors::{Backend, BackendError, DependencyConfig, DependencyHandle, Json};

/// Answers `titles {ids}` at once with one small item per id, counting backend calls.
struct Titles(Arc<AtomicU64>);

impl Backend for Titles {
    fn call(&self, _operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        self.0.fetch_add(1, Ordering::Relaxed);
        let items: Vec<Value> =
            args["ids"].as_array().into_iter().flatten().map(|id| json!({"id": id, "name": "t"})).collect();
        futures::future::ready(Json::from_value(&items).map_err(|e| BackendError::failure(e.to_string()))).boxed()
    }
}

const BURST: u64 = 1_000;

fn bench(c: &mut Criterion) {
    let system = actix::System::new();
    let backend_calls = Arc::new(AtomicU64::new(0));
    let collapser = system.block_on(async {
        let mut config = DependencyConfig::default();
        config.max_concurrent = 20;
        let dep = DependencyHandle::builder("catalog", config, Arc::new(Titles(Arc::clone(&backend_calls))))
            .start()
            .expect("valid config");
        Collapser::new(dep, "title", CollapserConfig { into: "titles".into(), ..Default::default() })
    });
    let mut bursts = 0u64;
    c.bench_function("collapser/burst_of_1000_single_lookups", |b| {
        b.iter(|| {
            bursts += 1;
            system.block_on(async {
                let calls = (0..BURST).map(|id| {
                    let c = collapser.clone();
                    async move { c.call(&json!({ "id": id })).await }
                });
                let results = futures::future::join_all(calls).await;
                assert!(results.iter().all(Result::is_ok));
            })
        })
    });
    let calls = backend_calls.load(Ordering::Relaxed);
    println!(
        "collapse ratio: {BURST} lookups per burst -> {:.1} backend calls per burst ({calls} calls over {bursts} bursts; target <= 20)",
        calls as f64 / bursts.max(1) as f64
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
