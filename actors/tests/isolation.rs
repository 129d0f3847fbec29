//! Bulkhead, queue, timeout and semaphore isolation through the public call path (paused clock).

mod common;

use std::sync::Arc;

use common::*;
use switchyard_actors::config::FallbackKind;
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::{DependencyConfig, DependencyHandle, ErrorKind, Event, Isolation, Origin, SettingsPatch};
use tokio::time::Instant;

#[actix_rt::test]
async fn saturated_bulkhead_rejects_at_once_and_falls_back() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.max_concurrent = 2;
    config.queue = 1;
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(serde_json::json!({"fallback": true}).into());
    let (dep, fake) = start(config, Step::hang());
    let held: Vec<_> = (0..3).map(|i| spawn_call(&dep, i)).collect();
    tokio::task::yield_now().await;
    assert_eq!(fake.running(), 2, "two execute, one waits in the queue");
    let before = Instant::now();
    let reply = dep.call("get", &args(9)).await.unwrap();
    assert_eq!(Instant::now(), before, "rejection does not wait, not even on a paused clock");
    assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Rejected));
    assert_eq!(reply.body.unwrap().to_value(), serde_json::json!({"fallback": true}));
    let snap = dep.snapshot();
    assert_eq!((snap.executing, snap.queued), (2, 1));
    assert_eq!(snap.rolling.get(Event::Rejected), 1);
    assert_eq!(snap.rolling.get(Event::FallbackSuccess), 1);
    assert_eq!(fake.call_count(), 2);
    for h in held {
        h.abort();
    }
}

#[actix_rt::test]
async fn queued_calls_run_in_order_never_more_than_max_concurrent() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.max_concurrent = 1;
    config.queue = 3;
    let (dep, fake) = start(config, Step::echo().after(ms(10)));
    let calls: Vec<_> = (0..4).map(|i| spawn_call(&dep, i)).collect();
    for (i, call) in calls.into_iter().enumerate() {
        let reply = call.await.unwrap().unwrap();
        assert_eq!(reply.body.unwrap().to_value()["args"]["id"], i as u64);
    }
    assert_eq!(fake.max_running(), 1);
    let order: Vec<u64> = fake.received().iter().map(|(_, a)| a["id"].as_u64().unwrap()).collect();
    assert_eq!(order, vec![0, 1, 2, 3]);
}

#[actix_rt::test]
async fn timeout_counts_and_the_slot_is_freed_by_cancelling_the_backend() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.timeout_ms = 100;
    config.max_concurrent = 1;
    config.queue = 0;
    let (dep, fake) = start(config, Step::hang());
    let started = Instant::now();
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    // tokio's timer fires on the millisecond tick at or after the deadline.
    let waited = Instant::now() - started;
    assert!(waited >= ms(100) && waited <= ms(101), "{waited:?}");
    tokio::task::yield_now().await;
    assert_eq!(fake.running(), 0, "the hung backend call was dropped");
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(2)).await.is_ok(), "the slot is free again");
}

#[actix_rt::test]
async fn a_late_reply_after_the_timeout_is_never_a_success() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.timeout_ms = 100;
    let (dep, _fake) = start(config, Step::echo().after(ms(150)));
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Timeout);
    tokio::time::advance(ms(500)).await;
    let snap = dep.snapshot();
    assert_eq!(snap.rolling.get(Event::Success), 0);
    assert_eq!(snap.rolling.get(Event::Timeout), 1);
    assert_eq!(snap.cumulative.get(Event::Success), 0);
}

#[actix_rt::test]
async fn runtime_settings_change_timeout_and_limits_without_restart() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::echo().after(ms(300)));
    assert!(dep.call("get", &args(1)).await.is_ok());
    dep.update_settings(&SettingsPatch {
        timeout_ms: Some(200),
        max_concurrent: Some(1),
        queue: Some(0),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Timeout);
    fake.set_default(Step::hang());
    let held = spawn_call(&dep, 1);
    tokio::task::yield_now().await;
    assert_eq!(dep.call("get", &args(2)).await.unwrap_err().kind, ErrorKind::Rejected);
    let bad = SettingsPatch { timeout_ms: Some(0), ..Default::default() };
    assert_eq!(dep.update_settings(&bad).unwrap_err().field, "dependencies.dep.timeout_ms");
    assert_eq!(dep.settings().timeout_ms, 200, "an invalid patch changes nothing");
    held.abort();
}

fn semaphore(fake: &FakeBackend, max_concurrent: usize) -> DependencyHandle {
    let mut config = DependencyConfig::default();
    config.isolation = Isolation::Semaphore;
    config.max_concurrent = max_concurrent;
    config.timeout_ms = 100;
    DependencyHandle::builder("mem", config, Arc::new(fake.clone())).start().unwrap()
}

#[actix_rt::test]
async fn semaphore_isolation_has_the_same_limits_breaker_and_stats() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::hang());
    let dep = semaphore(&fake, 1);
    let held = spawn_call(&dep, 1);
    tokio::task::yield_now().await;
    assert_eq!(dep.call("get", &args(2)).await.unwrap_err().kind, ErrorKind::Rejected, "no queue");
    assert_eq!(held.await.unwrap().unwrap_err().kind, ErrorKind::Timeout);
    fake.set_default(Step::fail("boom"));
    call_n(&dep, 20).await;
    assert_eq!(dep.call("get", &args(3)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    let snap = dep.snapshot();
    assert_eq!(snap.isolation, Isolation::Semaphore);
    // The rejection, the timeout and 18 failures make the 20 calls that open the breaker; the
    // last two of call_n and the call after are short-circuited.
    let rolling = |e| snap.rolling.get(e);
    assert_eq!((rolling(Event::Rejected), rolling(Event::Timeout), rolling(Event::Failure)), (1, 1, 18));
    assert_eq!(rolling(Event::ShortCircuited), 3);
}

#[actix_rt::test]
async fn semaphore_isolation_survives_a_panicking_backend() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::panic("bug"));
    let dep = semaphore(&fake, 2);
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Failure);
    assert!(err.message.contains("panicked"), "{err}");
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(1)).await.is_ok());
    assert_eq!(dep.snapshot().executing, 0);
}
