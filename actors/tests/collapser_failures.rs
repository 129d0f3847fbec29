//! Collapsed batches that go wrong (HystrixCollapserTest's scenarios): short-circuited, rejected,
//! timed out, answered with a bad request or a malformed reply, duplicate keys apart from each
//! other, and callers that go away while their batch is in flight. On tokio's paused clock.

mod common;

use std::sync::Arc;

use common::{ms, one_slot};
use serde_json::{Value, json};
use switchyard_actors::collapser::{Collapser, CollapserConfig};
use switchyard_actors::config::FallbackKind;
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::{
    CallError, DependencyConfig, DependencyHandle, ErrorKind, Event, Force, Origin, Placement, Reply,
};

type Call = actix_rt::task::JoinHandle<Result<Reply, CallError>>;

/// `catalog` over a fake backend, `title {id}` collapsed into `titles {ids}` (10 ms window),
/// with a static fallback `{"name": "unavailable"}` when `fallback` is set.
fn setup(
    mut dependency: DependencyConfig,
    fallback: bool,
    default: Step,
) -> (Collapser, FakeBackend, DependencyHandle) {
    if fallback {
        dependency.fallback.kind = FallbackKind::Static;
        dependency.fallback.value = Some(json!({"name": "unavailable"}).into());
    }
    let fake = FakeBackend::new(default);
    let dep = DependencyHandle::builder("catalog", dependency, Arc::new(fake.clone()))
        .placement(Placement::CurrentArbiter)
        .start()
        .unwrap();
    let config = CollapserConfig { into: "titles".into(), ..Default::default() };
    (Collapser::new(dep.clone(), "title", config), fake, dep)
}

fn titles(ids: &[u64]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"id": id, "name": format!("t{id}")})).collect())
}

fn spawn_lookup(collapser: &Collapser, id: u64) -> Call {
    let c = collapser.clone();
    actix_rt::spawn(async move { c.call(&json!({ "id": id })).await })
}

/// Lets the spawned tasks (the window's timer, the send, the dependency's actor) run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

async fn lookups(collapser: &Collapser, ids: &[u64]) -> Vec<Result<Reply, CallError>> {
    futures::future::join_all(ids.iter().map(|&id| {
        let c = collapser.clone();
        async move { c.call(&json!({ "id": id })).await }
    }))
    .await
}

/// Every caller got the static fallback for `kind`.
fn all_fell_back(results: &[Result<Reply, CallError>], kind: ErrorKind) {
    for r in results {
        let reply = r.as_ref().unwrap();
        assert_eq!(reply.origin, Origin::Fallback(kind));
        assert_eq!(reply.body.as_ref().unwrap().to_value(), json!({"name": "unavailable"}));
    }
}

#[actix_rt::test]
async fn a_short_circuited_batch_never_reaches_the_backend_and_each_caller_falls_back() {
    tokio::time::pause();
    let mut dependency = DependencyConfig::default();
    dependency.breaker.force = Some(Force::Open);
    let (collapser, fake, dep) = setup(dependency, true, Step::reply(titles(&[1, 2, 3])));
    all_fell_back(&lookups(&collapser, &[1, 2, 3]).await, ErrorKind::ShortCircuited);
    assert_eq!(fake.call_count(), 0);
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::ShortCircuited), snap.rolling.get(Event::FallbackSuccess)), (1, 3));
}

#[actix_rt::test]
async fn a_rejected_batch_gives_each_caller_its_fallback() {
    tokio::time::pause();
    let (collapser, fake, dep) = setup(one_slot(), true, Step::hang());
    let held = actix_rt::spawn({
        let dep = dep.clone();
        async move { dep.call("titles", &json!({"ids": [99]})).await }
    });
    tokio::task::yield_now().await;
    all_fell_back(&lookups(&collapser, &[1, 2]).await, ErrorKind::Rejected);
    assert_eq!(fake.call_count(), 1, "only the held call reached the backend");
    assert_eq!(dep.snapshot().rolling.get(Event::Rejected), 1, "one rejected batch");
    held.abort();
}

#[actix_rt::test]
async fn a_timed_out_batch_gives_each_caller_the_timeout_or_its_fallback() {
    tokio::time::pause();
    let mut dependency = DependencyConfig::default();
    dependency.timeout_ms = 100;
    let (collapser, _fake, dep) = setup(dependency.clone(), true, Step::hang());
    all_fell_back(&lookups(&collapser, &[1, 2]).await, ErrorKind::Timeout);
    assert_eq!(dep.snapshot().rolling.get(Event::Timeout), 1);
    let (collapser, _fake, _dep) = setup(dependency, false, Step::hang());
    for r in lookups(&collapser, &[1, 2]).await {
        assert_eq!(r.unwrap_err().kind, ErrorKind::Timeout);
    }
}

#[actix_rt::test]
async fn a_batch_answered_with_a_bad_request_fails_every_caller_without_a_fallback() {
    tokio::time::pause();
    let (collapser, _fake, dep) = setup(DependencyConfig::default(), true, Step::bad_request("ids: too many"));
    for r in lookups(&collapser, &[1, 2]).await {
        let err = r.unwrap_err();
        assert_eq!((err.kind, err.fallback, &*err.message), (ErrorKind::BadRequest, None, "ids: too many"));
    }
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::BadRequest), snap.rolling.get(Event::FallbackSuccess)), (1, 0));
    assert_eq!(snap.error_percent, 0);
}

#[actix_rt::test]
async fn a_malformed_batch_reply_is_a_failure_for_every_caller() {
    tokio::time::pause();
    for (reply, says) in [
        (json!({"id": 1, "name": "t1"}), "is not an array"),
        (json!([{"id": 1}, 7]), "is not an object"),
        (json!("titles"), "is not an array"),
    ] {
        let (collapser, _fake, _dep) = setup(DependencyConfig::default(), false, Step::reply(reply.clone()));
        for r in lookups(&collapser, &[1, 2]).await {
            let err = r.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Failure, "{reply}");
            assert!(err.message.contains(says), "{reply}: {err}");
        }
        let (collapser, _fake, _dep) = setup(DependencyConfig::default(), true, Step::reply(reply));
        all_fell_back(&lookups(&collapser, &[1, 2]).await, ErrorKind::Failure);
    }
}

#[actix_rt::test]
async fn duplicate_keys_apart_from_each_other_travel_once_and_every_caller_gets_the_item() {
    tokio::time::pause();
    let (collapser, fake, _dep) = setup(DependencyConfig::default(), false, Step::reply(titles(&[7, 8])));
    let results = lookups(&collapser, &[7, 8, 7, 8, 7]).await;
    for (r, id) in results.into_iter().zip([7, 8, 7, 8, 7]) {
        assert_eq!(r.unwrap().body.unwrap().to_value(), json!({"id": id, "name": format!("t{id}")}));
    }
    let received = fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1, json!({"ids": [7, 8]}));
}

#[actix_rt::test]
async fn a_caller_that_goes_away_leaves_the_batch_to_the_others() {
    tokio::time::pause();
    let (collapser, fake, _dep) =
        setup(DependencyConfig::default(), false, Step::reply(titles(&[1, 2, 3])).after(ms(50)));
    let calls: Vec<Call> = [1, 2, 3].iter().map(|&id| spawn_lookup(&collapser, id)).collect();
    settle().await; // the callers join the batch
    tokio::time::advance(ms(20)).await; // the window closed: the batch is in flight
    settle().await;
    assert_eq!(fake.running(), 1);
    let mut calls = calls.into_iter();
    let gone = calls.next().unwrap();
    gone.abort();
    let _ = gone.await;
    tokio::time::advance(ms(50)).await;
    for (call, id) in calls.zip([2, 3]) {
        assert_eq!(call.await.unwrap().unwrap().body.unwrap().to_value()["id"], id);
    }
    assert_eq!(fake.call_count(), 1);
}

#[actix_rt::test]
async fn when_every_caller_goes_away_the_batch_is_cancelled() {
    tokio::time::pause();
    let (collapser, fake, dep) = setup(DependencyConfig::default(), false, Step::hang());
    let calls: Vec<Call> = [1, 2, 3].iter().map(|&id| spawn_lookup(&collapser, id)).collect();
    settle().await; // the callers join the batch
    tokio::time::advance(ms(20)).await;
    settle().await;
    assert_eq!((fake.running(), dep.snapshot().executing), (1, 1));
    for call in calls {
        call.abort();
        let _ = call.await;
    }
    settle().await;
    assert_eq!(fake.running(), 0, "the backend's future was dropped");
    assert_eq!(dep.snapshot().executing, 0, "the bulkhead slot is free before any timeout");
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::Timeout), snap.rolling.calls()), (0, 0), "nothing is counted");
}
