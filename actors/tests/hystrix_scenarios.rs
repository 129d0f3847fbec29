//! Hystrix's own scenarios that the breaker, isolation and fallback tests did not cover yet
//! (HystrixCircuitBreakerTest, HystrixCommandTest): the moments right after a close, cancelled
//! and overlapping trials, fallbacks that fail after timeouts and rejections, semaphore isolation's
//! bad requests and rejections, and callers that go away. On tokio's paused clock.

mod common;

use std::sync::Arc;

use common::*;
use futures::FutureExt;
use serde_json::json;
use switchyard_actors::config::FallbackKind;
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::fallback::FallbackFn;
use switchyard_actors::{DependencyConfig, DependencyHandle, ErrorKind, Event, FallbackError, Isolation, Origin};

/// A dependency over a failing backend whose breaker is open (20 failures in the window).
async fn opened(config: DependencyConfig) -> (DependencyHandle, FakeBackend) {
    let (dep, fake) = start(config, Step::fail("down"));
    call_n(&dep, 20).await;
    assert_eq!(dep.call("get", &args(0)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    (dep, fake)
}

fn failing_fallback() -> FallbackFn {
    Arc::new(|_, _, _| async { Err::<Option<switchyard_actors::Json>, _>("fallback down too".to_owned()) }.boxed())
}

fn semaphore(max_concurrent: usize) -> DependencyConfig {
    let mut config = DependencyConfig::default();
    config.isolation = Isolation::Semaphore;
    config.max_concurrent = max_concurrent;
    config.timeout_ms = 100;
    config
}

#[actix_rt::test]
async fn right_after_a_close_calls_within_the_snapshot_interval_do_not_retrip_on_old_errors() {
    tokio::time::pause();
    let (dep, fake) = opened(DependencyConfig::default()).await;
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(1)).await.is_ok(), "the trial closes the breaker");
    // Same instant, well inside the 500 ms snapshot interval: the 20 failures that opened it are
    // gone with the window, so neither a success nor a fresh failure re-trips it.
    let before = fake.call_count();
    for id in 0..5 {
        assert!(dep.call("get", &args(id)).await.is_ok());
    }
    fake.set_default(Step::fail("blip"));
    assert_eq!(dep.call("get", &args(9)).await.unwrap_err().kind, ErrorKind::Failure);
    assert_eq!(fake.call_count(), before + 6, "every call reached the backend");
    let snap = dep.snapshot();
    assert!(!snap.circuit_open);
    assert_eq!((snap.rolling.get(Event::Success), snap.rolling.get(Event::Failure)), (6, 1));
}

#[actix_rt::test]
async fn a_cancelled_trial_leaves_the_breaker_open_at_once() {
    tokio::time::pause();
    let (dep, fake) = opened(DependencyConfig::default()).await;
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::hang());
    let trial = spawn_call(&dep, 1);
    tokio::task::yield_now().await;
    assert_eq!(fake.running(), 1, "the trial is executing");
    trial.abort();
    assert!(trial.await.unwrap_err().is_cancelled());
    let reached = fake.call_count();
    // Right after the abort, without any time passing: open, not half-open and not closed.
    let err = dep.call("get", &args(2)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ShortCircuited);
    assert_eq!(fake.call_count(), reached, "no second trial");
    assert!(dep.snapshot().circuit_open);
    // A full sleep window from the abort, one new trial.
    tokio::time::advance(ms(4_999)).await;
    assert_eq!(dep.call("get", &args(3)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    tokio::time::advance(ms(1)).await;
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(4)).await.is_ok());
}

#[actix_rt::test]
async fn while_a_second_trial_is_in_flight_every_other_call_is_refused() {
    tokio::time::pause();
    let (dep, fake) = opened(DependencyConfig::default()).await;
    tokio::time::advance(ms(5_000)).await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Failure, "first trial fails");
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::echo().after(ms(300)));
    let second_trial = spawn_call(&dep, 2);
    tokio::task::yield_now().await;
    let reached = fake.call_count();
    for id in 10..15 {
        let err = dep.call("get", &args(id)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::ShortCircuited, "call {id} while the trial runs");
    }
    assert_eq!(fake.call_count(), reached);
    assert!(second_trial.await.unwrap().is_ok());
    assert!(!dep.snapshot().circuit_open);
    assert!(dep.call("get", &args(3)).await.is_ok());
}

/// Decided: a half-open trial answered with a bad request (the backend's 4xx) closes the
/// breaker. The backend answered, which is what the trial asks; Hystrix 1.5 counts it as a
/// non-success and reopens, which lets one caller's malformed arguments keep a healthy backend
/// cut off for sleep window after sleep window.
#[actix_rt::test]
async fn a_trial_answered_with_a_bad_request_closes_the_breaker() {
    tokio::time::pause();
    let (dep, fake) = opened(DependencyConfig::default()).await;
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::bad_request("no such id"));
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!((err.kind, err.fallback), (ErrorKind::BadRequest, None));
    assert!(!dep.snapshot().circuit_open);
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(2)).await.is_ok(), "closed: the next call reaches the backend");
}

#[actix_rt::test]
async fn a_bad_request_on_semaphore_isolation_neither_counts_nor_falls_back() {
    tokio::time::pause();
    let mut config = semaphore(2);
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(json!("fallback").into());
    let (dep, fake) = start(config, Step::bad_request("bad id"));
    for _ in 0..25 {
        let err = dep.call("get", &args(1)).await.unwrap_err();
        assert_eq!((err.kind, err.fallback, &*err.message), (ErrorKind::BadRequest, None, "bad id"));
    }
    next_snapshot().await;
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(1)).await.is_ok(), "still closed");
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::BadRequest), snap.rolling.get(Event::Success)), (25, 1));
    assert_eq!((snap.error_percent, snap.rolling.get(Event::FallbackSuccess)), (0, 0));
    assert_eq!(snap.executing, 0, "every permit returned");
}

#[actix_rt::test]
async fn a_timeout_whose_fallback_fails_reports_both() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.timeout_ms = 100;
    let (dep, _fake) = start_with_fallback(config, Step::hang(), failing_fallback());
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(err.fallback, Some(FallbackError::Failed("fallback down too".into())));
    tokio::task::yield_now().await; // the actor sees its caller gone and drops the backend's future
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::Timeout), snap.rolling.get(Event::FallbackFailure)), (1, 1));
    assert_eq!((snap.executing, snap.fallbacks_running), (0, 0));
}

#[actix_rt::test]
async fn a_rejection_whose_fallback_fails_reports_both_without_waiting() {
    tokio::time::pause();
    let config = one_slot();
    let (dep, _fake) = start_with_fallback(config, Step::hang(), failing_fallback());
    let held = spawn_call(&dep, 1);
    tokio::task::yield_now().await;
    let before = tokio::time::Instant::now();
    let err = dep.call("get", &args(2)).await.unwrap_err();
    assert_eq!(tokio::time::Instant::now(), before);
    assert_eq!(err.kind, ErrorKind::Rejected);
    assert_eq!(err.fallback, Some(FallbackError::Failed("fallback down too".into())));
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::Rejected), snap.rolling.get(Event::FallbackFailure)), (1, 1));
    held.abort();
}

#[actix_rt::test]
async fn a_semaphore_rejection_gets_its_fallback() {
    tokio::time::pause();
    let mut config = semaphore(1);
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(json!({"rating": 3}).into());
    let (dep, fake) = start(config, Step::hang());
    let held = spawn_call(&dep, 1);
    tokio::task::yield_now().await;
    let reply = dep.call("get", &args(2)).await.unwrap();
    assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Rejected));
    assert_eq!(reply.body.unwrap().to_value(), json!({"rating": 3}));
    assert_eq!(fake.call_count(), 1, "the rejected call never reached the backend");
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::Rejected), snap.rolling.get(Event::FallbackSuccess)), (1, 1));
    held.abort();
}

#[actix_rt::test]
async fn a_caller_that_goes_away_during_execution_frees_its_slot_and_cancels_the_backend() {
    tokio::time::pause();
    for isolation in [Isolation::Actor, Isolation::Semaphore] {
        let mut config = one_slot();
        config.isolation = isolation;
        let (dep, fake) = start(config, Step::hang());
        let gone = spawn_call(&dep, 1);
        tokio::task::yield_now().await;
        assert_eq!((fake.running(), dep.snapshot().executing), (1, 1), "{isolation:?}");
        gone.abort();
        let _ = gone.await;
        tokio::task::yield_now().await;
        assert_eq!(fake.running(), 0, "{isolation:?}: the backend's future was dropped");
        assert_eq!(dep.snapshot().executing, 0, "{isolation:?}: the slot is free");
        fake.set_default(Step::echo());
        assert!(dep.call("get", &args(2)).await.is_ok(), "{isolation:?}: the next call gets the slot");
        // Nobody was there to hear an outcome: nothing is counted for the abandoned call.
        let snap = dep.snapshot();
        assert_eq!((snap.rolling.calls(), snap.rolling.get(Event::Success)), (1, 1), "{isolation:?}");
    }
}

#[actix_rt::test]
async fn a_caller_that_goes_away_during_its_fallback_frees_the_fallback_slot() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.fallback.max_concurrent = 1;
    let slow_fallback: FallbackFn = Arc::new(|_, _, _| {
        async {
            tokio::time::sleep(ms(1_000)).await;
            Ok(Some(json!("late").into()))
        }
        .boxed()
    });
    let (dep, _fake) = start_with_fallback(config, Step::fail("down"), slow_fallback);
    let gone = spawn_call(&dep, 1);
    tokio::task::yield_now().await;
    assert_eq!(dep.snapshot().fallbacks_running, 1);
    gone.abort();
    let _ = gone.await;
    let snap = dep.snapshot();
    assert_eq!(snap.fallbacks_running, 0, "the fallback slot is free at once");
    assert_eq!(snap.rolling.get(Event::Failure), 1, "the backend's failure is counted all the same");
    // The next failure's fallback is admitted (the limit is 1), not rejected.
    let next = spawn_call(&dep, 2);
    tokio::time::advance(ms(1_000)).await;
    let reply = next.await.unwrap().unwrap();
    assert_eq!(reply.body.unwrap().to_value(), json!("late"));
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::Failure), snap.rolling.get(Event::FallbackRejection)), (2, 0));
    assert_eq!(snap.rolling.get(Event::FallbackSuccess), 1);
}
