//! The circuit breaker through the public call path, on tokio's paused clock (Hystrix scenarios).

mod common;

use common::*;
use switchyard_actors::fake::Step;
use switchyard_actors::{DependencyConfig, ErrorKind, Event, FallbackError, Force, SettingsPatch};

#[actix_rt::test]
async fn trips_at_threshold_with_enough_volume_and_stops_calling_the_backend() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::echo());
    fake.push((0..10).map(|_| Step::fail("boom")));
    call_n(&dep, 20).await; // 10 failures + 10 successes: exactly 50 % of exactly 20
    next_snapshot().await;
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ShortCircuited);
    assert_eq!(fake.call_count(), 20, "a short-circuited call never reaches the backend");
    let snap = dep.snapshot();
    assert!(snap.circuit_open);
    assert_eq!(snap.rolling.get(Event::ShortCircuited), 1);
    assert_eq!(snap.error_percent, 50, "short-circuits do not count toward error %");
}

#[actix_rt::test]
async fn stays_closed_below_error_threshold() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::echo());
    fake.push((0..9).map(|_| Step::fail("boom")));
    call_n(&dep, 20).await; // 45 %
    next_snapshot().await;
    assert!(dep.call("get", &args(1)).await.is_ok());
    assert!(!dep.snapshot().circuit_open);
}

#[actix_rt::test]
async fn stays_closed_below_request_volume() {
    tokio::time::pause();
    let (dep, _fake) = start(DependencyConfig::default(), Step::fail("boom"));
    call_n(&dep, 19).await; // 100 % errors, but only 19 calls
    next_snapshot().await;
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Failure, "the 20th call still reaches the backend");
    next_snapshot().await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
}

#[actix_rt::test]
async fn timeouts_count_as_errors() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.timeout_ms = 100;
    let (dep, _fake) = start(config, Step::hang());
    call_n(&dep, 20).await;
    assert_eq!(dep.snapshot().rolling.get(Event::Timeout), 20);
    next_snapshot().await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
}

#[actix_rt::test]
async fn rejections_count_as_errors() {
    tokio::time::pause();
    let config = one_slot();
    let (dep, _fake) = start(config, Step::hang());
    let held = actix_rt::spawn({
        let dep = dep.clone();
        async move { dep.call("get", &args(0)).await }
    });
    tokio::task::yield_now().await;
    call_n(&dep, 20).await;
    assert_eq!(dep.snapshot().rolling.get(Event::Rejected), 20);
    next_snapshot().await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    held.abort();
}

/// Opens the breaker of a fresh default dependency; returns it with its fake.
async fn open_breaker() -> (switchyard_actors::DependencyHandle, switchyard_actors::fake::FakeBackend) {
    let (dep, fake) = start(DependencyConfig::default(), Step::fail("boom"));
    call_n(&dep, 20).await;
    next_snapshot().await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    (dep, fake)
}

#[actix_rt::test]
async fn one_trial_after_the_sleep_window_and_the_next_call_is_refused() {
    tokio::time::pause();
    let (dep, fake) = open_breaker().await;
    tokio::time::advance(ms(4_900)).await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    tokio::time::advance(ms(100)).await;
    fake.push([Step::echo().after(ms(50))]);
    let trial = actix_rt::spawn({
        let dep = dep.clone();
        async move { dep.call("get", &args(7)).await }
    });
    tokio::task::yield_now().await;
    assert_eq!(fake.call_count(), 21, "the trial reached the backend");
    let refused = dep.call("get", &args(8)).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::ShortCircuited, "only one trial while half-open");
    assert!(trial.await.unwrap().is_ok());
}

#[actix_rt::test]
async fn trial_success_closes_and_clears_the_old_failures() {
    tokio::time::pause();
    let (dep, fake) = open_breaker().await;
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(1)).await.is_ok());
    let snap = dep.snapshot();
    assert!(!snap.circuit_open);
    assert_eq!(snap.rolling.get(Event::Failure), 0, "the window was reset");
    assert_eq!(snap.rolling.get(Event::Success), 1);
    next_snapshot().await;
    assert!(dep.call("get", &args(2)).await.is_ok());
}

#[actix_rt::test]
async fn trial_failure_reopens_for_another_full_sleep_window() {
    tokio::time::pause();
    let (dep, fake) = open_breaker().await;
    tokio::time::advance(ms(5_000)).await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Failure, "trial ran");
    assert!(dep.snapshot().circuit_open);
    tokio::time::advance(ms(4_999)).await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    tokio::time::advance(ms(1)).await;
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(1)).await.is_ok(), "second trial after a full window");
}

#[actix_rt::test]
async fn a_cancelled_trial_reopens_instead_of_wedging_half_open() {
    tokio::time::pause();
    let (dep, fake) = open_breaker().await;
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::hang());
    let trial = actix_rt::spawn({
        let dep = dep.clone();
        async move { dep.call("get", &args(1)).await }
    });
    tokio::task::yield_now().await;
    trial.abort();
    let _ = trial.await;
    tokio::time::advance(ms(5_000)).await;
    fake.set_default(Step::echo());
    assert!(dep.call("get", &args(1)).await.is_ok(), "a new trial is admitted after the sleep window");
}

#[actix_rt::test]
async fn force_open_and_force_closed_override_the_breaker() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::echo());
    let force = |f: Option<Force>| SettingsPatch {
        breaker: Some(switchyard_actors::config::BreakerPatch { force: Some(f), ..Default::default() }),
        ..Default::default()
    };
    dep.update_settings(&force(Some(Force::Open))).unwrap();
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
    assert!(dep.snapshot().circuit_open);
    assert_eq!(fake.call_count(), 0);

    fake.set_default(Step::fail("boom"));
    dep.update_settings(&force(Some(Force::Closed))).unwrap();
    call_n(&dep, 30).await;
    next_snapshot().await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Failure, "forced closed");
    assert_eq!(dep.snapshot().rolling.get(Event::Failure), 31, "statistics still kept");

    dep.update_settings(&force(None)).unwrap();
    next_snapshot().await;
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::ShortCircuited);
}

#[actix_rt::test]
async fn bad_request_neither_counts_nor_falls_back() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.fallback.kind = switchyard_actors::config::FallbackKind::Static;
    config.fallback.value = Some(serde_json::json!("fallback").into());
    let (dep, _fake) = start(config, Step::bad_request("no such id"));
    for _ in 0..30 {
        let err = dep.call("get", &args(1)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequest);
        assert_eq!(err.fallback, None::<FallbackError>);
        assert_eq!(err.message, "no such id");
    }
    next_snapshot().await;
    let snap = dep.snapshot();
    assert_eq!(snap.rolling.get(Event::BadRequest), 30);
    assert_eq!((snap.rolling.calls(), snap.error_percent), (0, 0));
    assert_eq!(snap.rolling.get(Event::FallbackSuccess), 0);
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::BadRequest, "still closed");
}

#[actix_rt::test]
async fn window_roll_off_forgets_old_failures() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::fail("boom"));
    call_n(&dep, 15).await;
    tokio::time::advance(ms(10_000)).await;
    assert_eq!(dep.snapshot().rolling.calls(), 0, "the old buckets rolled off");
    fake.set_default(Step::echo());
    call_n(&dep, 5).await;
    fake.set_default(Step::fail("boom"));
    call_n(&dep, 5).await;
    next_snapshot().await;
    // 20 calls since start would be ≥ 50 % errors, but only 10 are in the window: below volume.
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Failure);
}
