//! Statistics and the registry through the public API (paused clock).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::{DependencyConfig, Event, Placement, Registry};

#[actix_rt::test]
async fn percentiles_match_a_known_latency_distribution() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::echo());
    fake.push((1..=100).map(|i| Step::echo().after(ms(i))));
    call_n(&dep, 100).await;
    let snap = dep.snapshot();
    let p = snap.latency_execution;
    assert_eq!(p.count, 100);
    // Samples are 1..=100 ms; tokio's timer fires on the millisecond tick at or after a deadline,
    // so each is observed as N or N + 1 ms, and HdrHistogram keeps 3 significant digits.
    let near = |got: f64, want: f64| got >= want * 0.999 && got <= (want + 1.0) * 1.001;
    assert!(near(p.p0, 1.0) && near(p.p25, 25.0) && near(p.p50, 50.0) && near(p.p75, 75.0), "{p:?}");
    assert!(near(p.p90, 90.0) && near(p.p99, 99.0) && near(p.p100, 100.0) && near(p.mean, 50.5), "{p:?}");
    assert!(near(snap.latency_total.p50, 50.0), "{:?}", snap.latency_total);
    tokio::time::advance(ms(60_000)).await;
    assert_eq!(dep.snapshot().latency_execution.count, 0, "percentiles roll off after 60 s");
}

#[actix_rt::test]
async fn cumulative_counts_outlive_the_rolling_window() {
    tokio::time::pause();
    let (dep, _fake) = start(DependencyConfig::default(), Step::echo());
    call_n(&dep, 3).await;
    tokio::time::advance(ms(20_000)).await;
    call_n(&dep, 2).await;
    let snap = dep.snapshot();
    assert_eq!(snap.rolling.get(Event::Success), 2);
    assert_eq!(snap.cumulative.get(Event::Success), 5);
}

#[actix_rt::test]
async fn registry_starts_every_dependency_from_config() {
    let configs: BTreeMap<String, DependencyConfig> = toml::from_str(
        "[users]\ntimeout_ms = 300\n[catalog]\nisolation = \"semaphore\"\n[catalog.breaker]\nerror_percent = 30\n",
    )
    .unwrap();
    let fake = FakeBackend::new(Step::echo());
    let registry = Registry::start(&configs, Placement::CurrentArbiter, |_, _| Ok(Arc::new(fake.clone()))).unwrap();
    let names: Vec<_> = registry.iter().map(|d| d.name().to_owned()).collect();
    assert_eq!(names, ["catalog", "users"]);
    assert_eq!(registry.get("users").unwrap().settings().timeout_ms, 300);
    assert!(registry.get("catalog").unwrap().call("titles", &args(1)).await.is_ok());
    let snaps = registry.snapshots();
    assert_eq!(snaps[0].rolling.get(Event::Success), 1);
    assert_eq!(snaps[0].settings.breaker.error_percent, 30);
    assert!(registry.get("nope").is_none());
}

#[actix_rt::test]
async fn registry_refuses_invalid_config_naming_the_field() {
    let mut configs = BTreeMap::new();
    let mut bad = DependencyConfig::default();
    bad.breaker.error_percent = 120;
    configs.insert("users".to_owned(), bad);
    let err =
        Registry::start(&configs, Placement::CurrentArbiter, |_, _| Ok(Arc::new(FakeBackend::default()))).unwrap_err();
    assert_eq!(err.field, "dependencies.users.breaker.error_percent");
    let mut configs = BTreeMap::new();
    configs.insert("Bad Name".to_owned(), DependencyConfig::default());
    let err =
        Registry::start(&configs, Placement::CurrentArbiter, |_, _| Ok(Arc::new(FakeBackend::default()))).unwrap_err();
    assert_eq!(err.field, "dependencies.Bad Name");
}

#[actix_rt::test]
async fn snapshot_serializes_to_json_for_the_admin_api() {
    let (dep, _fake) = start(DependencyConfig::default(), Step::echo());
    call_n(&dep, 1).await;
    let v = serde_json::to_value(dep.snapshot()).unwrap();
    assert_eq!(v["name"], "dep");
    assert_eq!(v["rolling"]["success"], 1);
    assert_eq!(v["breaker"]["state"], "closed");
    assert_eq!(v["settings"]["timeout_ms"], 1000);
}
