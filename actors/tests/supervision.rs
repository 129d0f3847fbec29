//! Supervision: a panicking backend restarts its actor; held calls fail over; service continues.

mod common;

use std::sync::Arc;

use common::*;
use switchyard_actors::config::FallbackKind;
use switchyard_actors::fake::{FakeBackend, Step};
use switchyard_actors::{DependencyConfig, DependencyHandle, ErrorKind, Event, Origin, Placement};

#[actix_rt::test]
async fn panic_restarts_the_actor_counts_it_and_later_calls_succeed() {
    tokio::time::pause();
    let (dep, fake) = start(DependencyConfig::default(), Step::echo());
    fake.push([Step::panic("bug in client")]);
    let err = dep.call("get", &args(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Failure);
    assert!(err.message.contains("bug in client"), "{err}");
    tokio::task::yield_now().await;
    assert!(dep.call("get", &args(2)).await.is_ok());
    let snap = dep.snapshot();
    assert_eq!(snap.restarts, 1);
    assert_eq!((snap.rolling.get(Event::Failure), snap.rolling.get(Event::Success)), (1, 1));
}

#[actix_rt::test]
async fn calls_held_by_a_restarting_actor_get_an_error_and_their_fallback() {
    tokio::time::pause();
    let mut config = DependencyConfig::default();
    config.max_concurrent = 2;
    config.queue = 2;
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(serde_json::json!("fallback").into());
    let (dep, fake) = start(config, Step::echo());
    fake.push([Step::hang(), Step::panic("bug").after(ms(10))]);
    let held: Vec<_> = (0..3)
        .map(|i| {
            let dep = dep.clone();
            actix_rt::spawn(async move { dep.call("get", &args(i)).await })
        })
        .collect();
    for h in held {
        let reply = h.await.unwrap().unwrap();
        assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Failure));
    }
    let snap = dep.snapshot();
    assert_eq!(snap.restarts, 1);
    assert_eq!(snap.rolling.get(Event::Failure), 3, "the panicking call, the running one, the queued one");
    assert_eq!((snap.executing, snap.queued), (0, 0), "every permit was given back");
    assert_eq!(fake.call_count(), 2, "the queued call never started");
    assert_eq!(dep.call("get", &args(9)).await.unwrap().origin, Origin::Backend);
}

#[actix_rt::test]
async fn an_actor_on_its_own_arbiter_is_restarted_too() {
    let fake = FakeBackend::new(Step::echo());
    fake.push([Step::panic("bug")]);
    let dep = DependencyHandle::builder("own", DependencyConfig::default(), Arc::new(fake.clone()))
        .placement(Placement::OwnArbiter)
        .start()
        .unwrap();
    assert_eq!(dep.call("get", &args(1)).await.unwrap_err().kind, ErrorKind::Failure);
    // The restart happens on the other thread; calls made meanwhile queue in the mailbox.
    let reply = dep.call("get", &args(2)).await.unwrap();
    assert_eq!(reply.body.unwrap().to_value()["args"]["id"], 2);
    assert_eq!(dep.snapshot().restarts, 1);
}
