//! Request collapsing through the public API, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::{Value, json};
use switchyard_actors::collapser::{Collapser, CollapserConfig};
use switchyard_actors::config::FallbackKind;
use switchyard_actors::{
    Backend, BackendError, DependencyConfig, DependencyHandle, ErrorKind, Event, Json, Origin, Placement,
};
use tokio::time::Instant;

/// One batch call as the backend saw it: ids, arrival time, all arguments.
type Batch = (Vec<u64>, Instant, Value);

/// A catalogue answering `titles {ids, lang?}` with `{id, name}` for every id except 13; records
/// each batch's ids and when it arrived.
#[derive(Clone, Default)]
struct Catalog {
    batches: Arc<Mutex<Vec<Batch>>>,
    fail: Arc<Mutex<bool>>,
}

impl Backend for Catalog {
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        assert_eq!(operation, "titles");
        let ids: Vec<u64> = args["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        self.batches.lock().push((ids.clone(), Instant::now(), args.clone()));
        let fail = *self.fail.lock();
        let items: Vec<Value> =
            ids.iter().filter(|&&id| id != 13).map(|id| json!({"id": id, "name": format!("t{id}")})).collect();
        async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if fail { Err(BackendError::failure("catalog down")) } else { Ok(Json::from_value(&items).unwrap()) }
        }
        .boxed()
    }
}

fn setup(config: CollapserConfig, dependency: DependencyConfig) -> (Collapser, Catalog, DependencyHandle) {
    let catalog = Catalog::default();
    let dep = DependencyHandle::builder("catalog", dependency, Arc::new(catalog.clone()))
        .placement(Placement::CurrentArbiter)
        .start()
        .unwrap();
    (Collapser::new(dep.clone(), "title", config), catalog, dep)
}

fn config(max_batch: usize) -> CollapserConfig {
    CollapserConfig { into: "titles".into(), max_batch, ..Default::default() }
}

fn roomy() -> DependencyConfig {
    let mut d = DependencyConfig::default();
    d.max_concurrent = 50;
    d
}

async fn lookups(
    collapser: &Collapser,
    ids: impl IntoIterator<Item = u64>,
) -> Vec<Result<switchyard_actors::Reply, switchyard_actors::CallError>> {
    let calls = ids.into_iter().map(|id| {
        let c = collapser.clone();
        async move { c.call(&json!({ "id": id })).await }
    });
    futures::future::join_all(calls).await
}

#[actix_rt::test]
async fn concurrent_lookups_become_ceil_n_over_max_batch_batches_each_caller_gets_its_item() {
    tokio::time::pause();
    let (collapser, catalog, dep) = setup(config(100), roomy());
    let results = lookups(&collapser, 1000..1250).await;
    for (i, r) in results.into_iter().enumerate() {
        let reply = r.unwrap();
        assert_eq!(reply.body.unwrap().to_value(), json!({"id": 1000 + i, "name": format!("t{}", 1000 + i)}));
        assert!(matches!(reply.origin, Origin::Collapsed(_)));
    }
    let sizes: Vec<usize> = catalog.batches.lock().iter().map(|b| b.0.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    let snap = collapser.snapshot();
    assert_eq!((snap.batches, snap.requests_batched, snap.batch_size_max), (3, 250, 100));
    assert_eq!(dep.snapshot().rolling.get(Event::Collapsed), 250);
    assert_eq!(dep.snapshot().rolling.get(Event::Success), 3, "three backend calls");
}

#[actix_rt::test]
async fn the_window_groups_calls_that_arrive_within_it() {
    tokio::time::pause();
    let (collapser, catalog, _dep) = setup(config(100), roomy());
    let t0 = Instant::now();
    let first = actix_rt::spawn({
        let c = collapser.clone();
        async move { c.call(&json!({"id": 1})).await }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = actix_rt::spawn({
        let c = collapser.clone();
        async move { c.call(&json!({"id": 2})).await }
    });
    tokio::time::sleep(Duration::from_millis(7)).await; // t0 + 12 ms: the first window has closed
    let third = collapser.call(&json!({"id": 3})).await.unwrap();
    assert!(first.await.unwrap().is_ok() && second.await.unwrap().is_ok());
    assert_eq!(third.body.unwrap().to_value()["id"], 3);
    let batches = catalog.batches.lock().clone();
    assert_eq!(batches.iter().map(|b| b.0.clone()).collect::<Vec<_>>(), vec![vec![1, 2], vec![3]]);
    let sent_after = batches[0].1 - t0;
    assert!(sent_after >= Duration::from_millis(10) && sent_after <= Duration::from_millis(11), "{sent_after:?}");
}

#[actix_rt::test]
async fn duplicate_keys_travel_once_and_both_callers_get_the_item() {
    tokio::time::pause();
    let (collapser, catalog, _dep) = setup(config(100), roomy());
    let results = lookups(&collapser, [7, 7, 8]).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(catalog.batches.lock()[0].0, vec![7, 8]);
}

#[actix_rt::test]
async fn a_missing_item_fails_only_its_caller() {
    tokio::time::pause();
    let (collapser, _catalog, _dep) = setup(config(100), roomy());
    let results = lookups(&collapser, [12, 13, 14]).await;
    assert!(results[0].is_ok() && results[2].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequest);
    assert!(err.message.contains("13"), "{err}");
}

#[actix_rt::test]
async fn a_failed_batch_fails_every_caller_who_then_gets_the_fallback() {
    tokio::time::pause();
    let mut dependency = roomy();
    dependency.fallback.kind = FallbackKind::Static;
    dependency.fallback.value = Some(json!({"id": null, "name": "unavailable"}).into());
    let (collapser, catalog, dep) = setup(config(100), dependency);
    *catalog.fail.lock() = true;
    let results = lookups(&collapser, [1, 2, 3]).await;
    for r in results {
        let reply = r.unwrap();
        assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Failure));
        assert_eq!(reply.body.unwrap().to_value()["name"], "unavailable");
    }
    let snap = dep.snapshot();
    assert_eq!(snap.rolling.get(Event::Failure), 1, "one failed backend call");
    assert_eq!(snap.rolling.get(Event::FallbackSuccess), 3, "one fallback per caller");
}

#[actix_rt::test]
async fn a_failed_batch_without_fallback_returns_the_error_to_each_caller() {
    tokio::time::pause();
    let (collapser, catalog, _dep) = setup(config(100), roomy());
    *catalog.fail.lock() = true;
    for r in lookups(&collapser, [1, 2]).await {
        let err = r.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Failure);
        assert_eq!(err.message, "catalog down");
    }
}

#[actix_rt::test]
async fn shards_split_batches_by_key_hash_and_each_key_stays_in_its_shard() {
    tokio::time::pause();
    let (collapser, catalog, _dep) = setup(CollapserConfig { shards: 4, ..config(100) }, roomy());
    assert!(lookups(&collapser, 20..60).await.iter().all(Result::is_ok));
    let first: Vec<Vec<u64>> = catalog.batches.lock().iter().map(|b| b.0.clone()).collect();
    assert!(first.len() > 1 && first.len() <= 4, "{first:?}");
    assert_eq!(first.iter().map(Vec::len).sum::<usize>(), 40);
    catalog.batches.lock().clear();
    assert!(lookups(&collapser, 20..60).await.iter().all(Result::is_ok));
    let mut again: Vec<Vec<u64>> = catalog.batches.lock().iter().map(|b| b.0.clone()).collect();
    let mut sorted_first = first.clone();
    sorted_first.sort();
    again.sort();
    assert_eq!(again, sorted_first, "the same keys land in the same shards");
}

#[actix_rt::test]
async fn calls_with_different_other_arguments_never_share_a_batch() {
    tokio::time::pause();
    let (collapser, catalog, _dep) = setup(config(100), roomy());
    let (en, fr) = (json!({"id": 1, "lang": "en"}), json!({"id": 2, "lang": "fr"}));
    let (a, b) = futures::join!(collapser.call(&en), collapser.call(&fr));
    assert!(a.is_ok() && b.is_ok());
    let mut langs: Vec<Value> = catalog.batches.lock().iter().map(|b| b.2["lang"].clone()).collect();
    langs.sort_by_key(|v| v.to_string());
    assert_eq!(langs, vec![json!("en"), json!("fr")]);
}

#[actix_rt::test]
async fn a_call_without_its_key_is_a_bad_request() {
    tokio::time::pause();
    let (collapser, catalog, _dep) = setup(config(100), roomy());
    assert_eq!(collapser.call(&json!({"name": "x"})).await.unwrap_err().kind, ErrorKind::BadRequest);
    assert_eq!(collapser.call(&json!(5)).await.unwrap_err().kind, ErrorKind::BadRequest);
    assert!(catalog.batches.lock().is_empty());
}

#[test]
fn config_validation_names_the_field() {
    let err = CollapserConfig::default().validate("dependencies.catalog.collapse.title").unwrap_err();
    assert_eq!(err.field, "dependencies.catalog.collapse.title.into");
    let err = CollapserConfig { max_batch: 0, ..config(1) }.validate("c").unwrap_err();
    assert_eq!(err.field, "c.max_batch");
}
