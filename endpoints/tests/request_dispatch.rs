//! The per-request dispatcher: request cache, collapsing and tracing over real dependency actors
//! with a fake backend, on tokio's paused clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchyard_actors::collapser::{CollapserConfig, Scope};
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::{DependencyConfig, ErrorKind, Event, Placement, Registry};
use switchyard_endpoints::request_dispatch::CallOutcome;
use switchyard_endpoints::{Dependencies, Dispatch, RequestDispatch};

fn dependencies(fake: &FakeBackend, scope: Scope) -> Arc<Dependencies> {
    dependencies_with(fake, scope, DependencyConfig::default())
}

fn dependencies_with(fake: &FakeBackend, scope: Scope, users: DependencyConfig) -> Arc<Dependencies> {
    let mut configs = BTreeMap::new();
    configs.insert("users".to_owned(), users);
    let mut catalog = DependencyConfig::default();
    catalog.collapse.insert("title".into(), CollapserConfig { into: "titles".into(), scope, ..Default::default() });
    configs.insert("catalog".to_owned(), catalog);
    let registry = Registry::start(&configs, Placement::CurrentArbiter, |_, _| Ok(Arc::new(fake.clone()))).unwrap();
    Arc::new(Dependencies::new(registry))
}

#[actix_rt::test]
async fn duplicates_in_one_request_run_once_even_while_in_flight() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::echo().after(Duration::from_millis(20)));
    let deps = dependencies(&fake, Scope::Global);
    let request = RequestDispatch::new(Arc::clone(&deps));
    let (a, b) =
        futures::join!(request.call("users", "get", json!({"id": 1})), request.call("users", "get", json!({"id": 1})));
    assert_eq!(a.unwrap().body, b.unwrap().body);
    let again = request.call("users", "get", json!({"id": 1})).await.unwrap();
    assert!(again.body.is_some());
    assert_eq!(fake.call_count(), 1, "one backend call for three identical calls");
    let snap = deps.registry().get("users").unwrap().snapshot();
    assert_eq!(snap.rolling.get(Event::ResponsesFromCache), 2);
    let outcomes: Vec<_> = request.trace().into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == CallOutcome::Cache).count(), 2);
    assert_eq!(outcomes.iter().filter(|o| **o == CallOutcome::Success).count(), 1);
}

#[actix_rt::test]
async fn the_same_call_in_different_requests_runs_twice() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::echo());
    let deps = dependencies(&fake, Scope::Global);
    for _ in 0..2 {
        let request = RequestDispatch::new(Arc::clone(&deps));
        request.call("users", "get", json!({"id": 1})).await.unwrap();
    }
    assert_eq!(fake.call_count(), 2);
}

#[actix_rt::test]
async fn errors_are_shared_by_duplicates_too() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::fail("down"));
    let deps = dependencies(&fake, Scope::Global);
    let request = RequestDispatch::new(deps);
    let first = request.call("users", "get", json!({"id": 1})).await.unwrap_err();
    let second = request.call("users", "get", json!({"id": 1})).await.unwrap_err();
    assert_eq!((first.kind, second.kind), (ErrorKind::Failure, ErrorKind::Failure));
    assert_eq!(fake.call_count(), 1);
}

#[actix_rt::test]
async fn a_timeout_is_shared_by_duplicates_in_flight_and_after() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::hang());
    let mut users = DependencyConfig::default();
    users.timeout_ms = 100;
    let deps = dependencies_with(&fake, Scope::Global, users);
    let request = RequestDispatch::new(Arc::clone(&deps));
    let started = tokio::time::Instant::now();
    let (a, b) =
        futures::join!(request.call("users", "get", json!({"id": 1})), request.call("users", "get", json!({"id": 1})));
    assert_eq!((a.unwrap_err().kind, b.unwrap_err().kind), (ErrorKind::Timeout, ErrorKind::Timeout));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(100) && waited < Duration::from_millis(200), "{waited:?}");
    let later = request.call("users", "get", json!({"id": 1})).await.unwrap_err();
    assert_eq!(later.kind, ErrorKind::Timeout);
    assert_eq!(started.elapsed(), waited, "a later duplicate does not wait again");
    assert_eq!(fake.call_count(), 1);
    let snap = deps.registry().get("users").unwrap().snapshot();
    assert_eq!((snap.rolling.get(Event::Timeout), snap.rolling.get(Event::ResponsesFromCache)), (1, 2));
}

#[actix_rt::test]
async fn a_rejection_is_shared_by_duplicates_and_a_different_call_is_not() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::hang());
    let mut users = DependencyConfig::default();
    users.max_concurrent = 1;
    users.queue = 0;
    users.timeout_ms = 100;
    let deps = dependencies_with(&fake, Scope::Global, users);
    let other = RequestDispatch::new(Arc::clone(&deps));
    let request = RequestDispatch::new(Arc::clone(&deps));
    let (held, (a, b)) = futures::join!(other.call("users", "get", json!({"id": 9})), async {
        tokio::task::yield_now().await; // the other request holds the only slot
        futures::join!(request.call("users", "get", json!({"id": 1})), request.call("users", "get", json!({"id": 1})))
    });
    assert_eq!(held.unwrap_err().kind, ErrorKind::Timeout);
    assert_eq!((a.unwrap_err().kind, b.unwrap_err().kind), (ErrorKind::Rejected, ErrorKind::Rejected));
    for _ in 0..5 {
        tokio::task::yield_now().await; // the actor drops the timed-out call and frees its slot
    }
    // The slot is free again: the cached rejection still answers the same call, a new one runs.
    assert_eq!(request.call("users", "get", json!({"id": 1})).await.unwrap_err().kind, ErrorKind::Rejected);
    assert_eq!(request.call("users", "get", json!({"id": 2})).await.unwrap_err().kind, ErrorKind::Timeout);
    let snap = deps.registry().get("users").unwrap().snapshot();
    assert_eq!((snap.rolling.get(Event::Rejected), snap.rolling.get(Event::ResponsesFromCache)), (1, 2));
    assert_eq!(fake.call_count(), 2, "the held call and id 2");
}

#[actix_rt::test]
async fn unknown_dependency_is_a_bad_request_naming_it() {
    let fake = FakeBackend::new(Step::echo());
    let request = RequestDispatch::new(dependencies(&fake, Scope::Global));
    let err = request.call("nope", "get", json!({})).await.unwrap_err();
    assert_eq!((err.kind, &*err.dependency), (ErrorKind::BadRequest, "nope"));
}

#[actix_rt::test]
async fn batchable_operations_go_through_the_global_collapser_across_requests() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::reply(json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])));
    let deps = dependencies(&fake, Scope::Global);
    let (r1, r2) = (RequestDispatch::new(Arc::clone(&deps)), RequestDispatch::new(Arc::clone(&deps)));
    let (a, b) =
        futures::join!(r1.call("catalog", "title", json!({"id": 1})), r2.call("catalog", "title", json!({"id": 2})));
    assert_eq!(a.unwrap().body.unwrap().to_value()["name"], "a");
    assert_eq!(b.unwrap().body.unwrap().to_value()["name"], "b");
    assert_eq!(fake.received(), vec![("titles".to_owned(), json!({"ids": [1, 2]}))]);
    assert!(matches!(r1.trace()[0].outcome, CallOutcome::Collapsed { .. }));
}

#[actix_rt::test]
async fn request_scoped_collapsers_batch_only_within_their_request() {
    tokio::time::pause();
    let fake = FakeBackend::new(Step::reply(json!([{"id": 1}, {"id": 2}])));
    let deps = dependencies(&fake, Scope::Request);
    let (r1, r2) = (RequestDispatch::new(Arc::clone(&deps)), RequestDispatch::new(Arc::clone(&deps)));
    let (a, b, c) = futures::join!(
        r1.call("catalog", "title", json!({"id": 1})),
        r1.call("catalog", "title", json!({"id": 2})),
        r2.call("catalog", "title", json!({"id": 1}))
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    let mut batches: Vec<_> = fake.received().into_iter().map(|(_, args)| args["ids"].clone()).collect();
    batches.sort_by_key(|v| v.as_array().map_or(0, Vec::len));
    assert_eq!(batches, vec![json!([1]), json!([1, 2])], "r2 alone, then r1's two calls together");
}
