//! The routing decision per request: `pick` for a known user (one SHA-256 of the endpoint and the
//! user id) and for an anonymous request (a remainder), over routings of growing size.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard_storage::{Canary, EndpointKey, Routing, Variant, pick};

fn routings() -> Vec<(&'static str, Routing)> {
    let variants = |n: u32| (0..n).map(|i| Variant { name: format!("v{i}"), revision: 3, percent: 5.0 }).collect();
    vec![
        ("active only", Routing::only(1)),
        (
            "canary + 2 variants",
            Routing { active: 1, canary: Some(Canary { revision: 2, percent: 10.0 }), variants: variants(2) },
        ),
        (
            "canary + 8 variants",
            Routing { active: 1, canary: Some(Canary { revision: 2, percent: 10.0 }), variants: variants(8) },
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let endpoint = EndpointKey::new("tv", "home");
    let mut group = c.benchmark_group("pick");
    for (name, routing) in routings() {
        group.bench_function(format!("{name}, user"), |b| {
            b.iter(|| pick(black_box(&routing), black_box(&endpoint), black_box(Some("user-123456")), 0))
        });
        group.bench_function(format!("{name}, anonymous"), |b| {
            b.iter(|| pick(black_box(&routing), black_box(&endpoint), None, black_box(987_654_321)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
