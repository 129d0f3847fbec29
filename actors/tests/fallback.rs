//! Fallback kinds, limits and failures through the public call path (paused clock).

mod common;

use std::sync::Arc;

use common::*;
use futures::FutureExt;
use serde_json::json;
use switchyard_actors::config::FallbackKind;
use switchyard_actors::fake::Step;
use switchyard_actors::{DependencyConfig, ErrorKind, Event, FallbackError, Force, Origin};

fn forced_open(mut config: DependencyConfig) -> DependencyConfig {
    config.breaker.force = Some(Force::Open);
    config
}

#[actix_rt::test]
async fn no_fallback_lets_the_error_reach_the_caller() {
    tokio::time::pause();
    let (dep, _fake) = start(DependencyConfig::default(), Step::fail("backend down"));
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!((err.kind, err.fallback), (ErrorKind::Failure, Some(FallbackError::Missing)));
    assert_eq!(err.message, "backend down");
    assert_eq!(&*err.dependency, "dep");
    assert_eq!(dep.snapshot().rolling.get(Event::FallbackMissing), 1);
}

#[actix_rt::test]
async fn silent_fallback_answers_an_empty_reply() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.fallback.kind = FallbackKind::Silent;
    let (dep, _fake) = start(forced_open(config), Step::echo());
    let reply = dep.call("get", &args(1)).await.unwrap();
    assert_eq!((reply.body, reply.origin), (None, Origin::Fallback(ErrorKind::ShortCircuited)));
    assert_eq!(dep.snapshot().rolling.get(Event::FallbackSuccess), 1);
}

#[actix_rt::test]
async fn stale_fallback_returns_the_last_good_value_for_the_same_arguments_only() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.fallback.kind = FallbackKind::Stale;
    config.fallback.stale_max_age_ms = 60_000;
    let (dep, fake) = start(config, Step::echo());
    fake.push([Step::reply(json!({"v": "old"})), Step::reply(json!({"v": "new"}))]);
    dep.call("get", &args(1)).await.unwrap();
    dep.call("get", &args(1)).await.unwrap();
    fake.set_default(Step::fail("down"));
    let reply = dep.call("get", &args(1)).await.unwrap();
    assert_eq!(reply.body.unwrap().to_value(), json!({"v": "new"}));
    assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Failure));
    let err = dep.call("get", &args(2)).await.unwrap_err();
    assert!(matches!(err.fallback, Some(FallbackError::Failed(_))), "{err:?}");
    tokio::time::advance(ms(60_001)).await;
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert!(matches!(err.fallback, Some(FallbackError::Failed(_))), "too old: {err:?}");
    let snap = dep.snapshot();
    assert_eq!(snap.cumulative.get(Event::FallbackSuccess), 1);
    assert_eq!(snap.cumulative.get(Event::FallbackFailure), 2);
}

#[actix_rt::test]
async fn failing_fallback_is_fallback_failure() {
    tokio::time::pause();
    let (dep, _fake) = start_with_fallback(
        forced_open(DependencyConfig::default()),
        Step::echo(),
        Arc::new(|_, _, _| async { Err::<Option<switchyard_actors::Json>, _>("no luck".to_owned()) }.boxed()),
    );
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ShortCircuited);
    assert_eq!(err.fallback, Some(FallbackError::Failed("no luck".into())));
    assert_eq!(dep.snapshot().rolling.get(Event::FallbackFailure), 1);
}

#[actix_rt::test]
async fn fallbacks_beyond_their_limit_are_rejected() {
    tokio::time::pause();
    let mut config = forced_open(DependencyConfig::default());
    config.fallback.max_concurrent = 1;
    let (dep, _fake) = start_with_fallback(
        config,
        Step::echo(),
        Arc::new(|_, args, error| {
            let body = json!({"id": args["id"], "because": error.kind.name()});
            async move {
                tokio::time::sleep(ms(100)).await;
                Ok(Some(body.into()))
            }
            .boxed()
        }),
    );
    let first = actix_rt::spawn({
        let dep = dep.clone();
        async move { dep.call("get", &args(1)).await }
    });
    tokio::task::yield_now().await;
    let err = dep.call("get", &args(2)).await.unwrap_err();
    assert_eq!(err.fallback, Some(FallbackError::Rejected));
    let reply = first.await.unwrap().unwrap();
    assert_eq!(reply.body.unwrap().to_value(), json!({"id": 1, "because": "short_circuited"}));
    let snap = dep.snapshot();
    assert_eq!((snap.rolling.get(Event::FallbackRejection), snap.rolling.get(Event::FallbackSuccess)), (1, 1));
    assert_eq!(snap.fallbacks_running, 0);
}

#[actix_rt::test]
async fn timeouts_fall_back_and_the_total_latency_includes_the_fallback() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.timeout_ms = 100;
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(json!([]).into());
    let (dep, _fake) = start(config, Step::hang());
    let reply = dep.call("get", &args(1)).await.unwrap();
    assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Timeout));
    let snap = dep.snapshot();
    assert_eq!(snap.latency_total.count, 1);
    let p50 = snap.latency_total.p50;
    assert!((100.0..=101.2).contains(&p50), "{:?}", snap.latency_total);
    assert_eq!(snap.latency_execution.count, 0, "a timed-out call has no execution time");
}
