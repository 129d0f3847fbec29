//! `Observable<T>` on tokio's paused clock: order, concurrency of flat_map / merge / zip, errors as
//! termination and recovery, timeouts, laziness, and dependency calls as Observables.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;
use support::FakeDispatch;
use switchyard_actors::ErrorKind;
use switchyard_endpoints::observable::{Observable, ObservableError, call};
use tokio::time::{Instant, sleep};

fn of(items: &[i32]) -> Observable<i32> {
    Observable::from_iter(items.to_vec())
}

/// `value` after `ms` of (paused) time.
fn later(ms: u64, value: i32) -> Observable<i32> {
    Observable::from_future(move || async move {
        sleep(Duration::from_millis(ms)).await;
        Ok(value)
    })
}

fn boom() -> ObservableError {
    ObservableError::Message("boom".into())
}

#[tokio::test(start_paused = true)]
async fn map_filter_take_skip_and_concat_keep_order() {
    assert_eq!(of(&[1, 2, 3, 4]).map(|x| x * 10).filter(|x| *x != 20).collect().await, Ok(vec![10, 30, 40]));
    assert_eq!(of(&[1, 2, 3]).take(2).collect().await, Ok(vec![1, 2]));
    assert_eq!(of(&[1, 2, 3]).skip(2).collect().await, Ok(vec![3]));
    assert_eq!(Observable::concat(vec![later(30, 1), later(10, 2)]).collect().await, Ok(vec![1, 2]));
    assert_eq!(
        of(&[3, 1, 2]).concat_map(|x| later(u64::try_from(x).unwrap() * 10, x)).collect().await,
        Ok(vec![3, 1, 2])
    );
    assert_eq!(Observable::just(5).collect().await, Ok(vec![5]));
    assert_eq!(Observable::<i32>::empty().collect().await, Ok(vec![]));
}

#[tokio::test(start_paused = true)]
async fn flat_map_subscribes_inners_concurrently_in_arrival_order() {
    let start = Instant::now();
    let out = of(&[30, 10, 20]).flat_map(|ms| later(u64::try_from(ms).unwrap(), ms)).collect().await;
    assert_eq!(out, Ok(vec![10, 20, 30]), "arrival order");
    assert!(start.elapsed() < Duration::from_millis(40), "concurrent: {:?}", start.elapsed());

    let start = Instant::now();
    let out = of(&[50, 50, 50]).concat_map(|ms| later(u64::try_from(ms).unwrap(), ms)).collect().await;
    assert_eq!(out.map(|v| v.len()), Ok(3));
    assert!(start.elapsed() >= Duration::from_millis(150), "concat_map is sequential");
}

#[tokio::test(start_paused = true)]
async fn merge_is_concurrent_and_zip_pairs_until_the_shortest_ends() {
    let start = Instant::now();
    assert_eq!(Observable::merge(vec![later(50, 1), later(20, 2)]).collect().await, Ok(vec![2, 1]));
    assert!(start.elapsed() < Duration::from_millis(60));

    let start = Instant::now();
    let zipped =
        Observable::zip(vec![Observable::concat(vec![later(40, 1), later(40, 2)]), of(&[7, 8, 9])]).collect().await;
    assert_eq!(zipped, Ok(vec![vec![1, 7], vec![2, 8]]));
    assert!(start.elapsed() < Duration::from_millis(90), "the sources are polled together");
}

#[tokio::test(start_paused = true)]
async fn an_error_ends_the_stream_and_on_error_operators_replace_it() {
    let failing = Observable::concat(vec![of(&[1]), Observable::error(boom()), of(&[2])]);
    let mut seen = Vec::new();
    let mut items = failing.subscribe();
    while let Some(item) = futures::StreamExt::next(&mut items).await {
        seen.push(item);
    }
    assert_eq!(seen, vec![Ok(1), Err(boom())], "nothing after the error");
    assert_eq!(failing.collect().await, Err(boom()));
    assert_eq!(failing.on_error_return(|_| -1).collect().await, Ok(vec![1, -1]));
    assert_eq!(failing.on_error_resume(|_| of(&[8, 9])).collect().await, Ok(vec![1, 8, 9]));
    let inner_error = of(&[1, 2]).flat_map(|x| if x == 2 { Observable::error(boom()) } else { later(100, x) });
    assert_eq!(inner_error.collect().await, Err(boom()), "an inner error ends the whole flat_map");
}

#[tokio::test(start_paused = true)]
async fn timeout_fires_only_when_an_item_is_late() {
    let start = Instant::now();
    assert_eq!(
        later(100, 1).timeout(Duration::from_millis(50)).collect().await,
        Err(ObservableError::Timeout(Duration::from_millis(50)))
    );
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    let steady = Observable::concat(vec![later(40, 1), later(40, 2), later(40, 3)]);
    assert_eq!(steady.timeout(Duration::from_millis(50)).collect().await, Ok(vec![1, 2, 3]), "the limit is per item");
}

#[tokio::test(start_paused = true)]
async fn first_reduce_to_list_default_if_empty_and_do_on_next() {
    assert_eq!(of(&[4, 5]).first().collect().await, Ok(vec![4]));
    assert_eq!(Observable::<i32>::empty().first().collect().await, Err(ObservableError::Empty));
    assert_eq!(of(&[1, 2, 3]).reduce(10, |a, b| a + b).collect().await, Ok(vec![16]));
    assert_eq!(of(&[1, 2]).to_list().collect().await, Ok(vec![vec![1, 2]]));
    assert_eq!(Observable::<i32>::empty().default_if_empty(7).collect().await, Ok(vec![7]));
    assert_eq!(of(&[1]).default_if_empty(7).collect().await, Ok(vec![1]));
    let seen = Rc::new(Cell::new(0));
    let counter = Rc::clone(&seen);
    assert_eq!(of(&[1, 2, 3]).do_on_next(move |x| counter.set(counter.get() + x)).collect().await, Ok(vec![1, 2, 3]));
    assert_eq!(seen.get(), 6);
}

#[tokio::test(start_paused = true)]
async fn nothing_runs_before_subscription_and_each_subscription_runs_again() {
    let runs = Rc::new(Cell::new(0));
    let counter = Rc::clone(&runs);
    let observable = Observable::from_future(move || {
        counter.set(counter.get() + 1);
        async { Ok(1) }
    })
    .map(|x| x + 1);
    assert_eq!(runs.get(), 0, "cold");
    assert_eq!(observable.collect().await, Ok(vec![2]));
    assert_eq!(observable.collect().await, Ok(vec![2]));
    assert_eq!(runs.get(), 2);
}

#[tokio::test(start_paused = true)]
async fn calls_emit_per_element_and_end_with_the_call_error() {
    let d = FakeDispatch::new();
    d.value("lists", "for_user", 5, json!([{"id": 1}, {"id": 2}]));
    d.value("users", "get", 5, json!({"id": 7}));
    d.route("bookmarks", "for_user", 5, |_| Ok(None));
    d.fail("ratings", "predicted", 5, ErrorKind::Timeout);
    let dispatch: Rc<dyn switchyard_endpoints::Dispatch> = d.clone();
    let rows = call(Rc::clone(&dispatch), "lists", "for_user", json!({"user": 7}));
    assert!(d.calls.borrow().is_empty(), "a call is lazy");
    assert_eq!(rows.collect().await.map(|r| r.len()), Ok(2));
    assert_eq!(
        call(Rc::clone(&dispatch), "users", "get", json!({"id": 7})).collect().await,
        Ok(vec![json!({"id": 7})])
    );
    assert_eq!(call(Rc::clone(&dispatch), "bookmarks", "for_user", json!({})).collect().await, Ok(vec![]));
    let Err(ObservableError::Call(e)) = call(dispatch, "ratings", "predicted", json!({})).collect().await else {
        panic!()
    };
    assert_eq!((&*e.dependency, e.kind), ("ratings", ErrorKind::Timeout));
}
