//! The demo services from outside: behind real dependency actors on tokio's paused clock (latency,
//! chaos, breaker, fallback), and over HTTP on 127.0.0.1:0 with a real client.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard::demo::{ChaosSettings, DemoServices, SERVICES, demo_backends_server};
use switchyard_actors::config::FallbackKind;
use switchyard_actors::{DependencyConfig, DependencyHandle, ErrorKind, Event, Json, Origin, Placement};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The dependency `name` over `demo`'s backend, with a static `{"fallback": true}`, on the current
/// arbiter so the paused clock drives every timer.
fn dependency(demo: &DemoServices, name: &str) -> DependencyHandle {
    let mut config = DependencyConfig::default();
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(Json::from(json!({"fallback": true})));
    let backend = demo.backend(name).expect("a demo service");
    DependencyHandle::builder(name, config, backend).placement(Placement::CurrentArbiter).start().expect("valid config")
}

fn chaos(settings: Value) -> ChaosSettings {
    serde_json::from_value(settings).expect("valid chaos settings")
}

#[actix_rt::test]
async fn every_service_answers_through_its_dependency_with_realistic_latency() {
    tokio::time::pause();
    let demo = DemoServices::new(42);
    let calls = [
        ("users", "get", json!({"id": 7})),
        ("subscriber", "status", json!({"user": 7})),
        ("lists", "for_user", json!({"user": 7, "limit": 5})),
        ("catalog", "titles", json!({"ids": [1, 2, 3]})),
        ("ratings", "predicted", json!({"user": 7, "ids": [1, 2, 3]})),
        ("bookmarks", "for_user", json!({"user": 7})),
        ("artwork", "boxart", json!({"ids": [1, 2, 3], "size": "large"})),
        ("recs", "similar", json!({"id": 1})),
    ];
    assert_eq!(calls.each_ref().map(|c| c.0), SERVICES);
    for (name, operation, args) in calls {
        let dep = dependency(&demo, name);
        for _ in 0..200 {
            let reply = dep.call(operation, &args).await.expect("answers");
            assert_eq!(reply.origin, Origin::Backend, "{name}");
        }
        let latency = dep.snapshot().latency_execution;
        assert_eq!(latency.count, 200);
        assert!((1.0..=10.0).contains(&latency.p50), "{name}: median {} ms is a few ms", latency.p50);
        assert!(latency.p99 > 2.5 * latency.p50, "{name}: p99 {} vs median {}: a long tail", latency.p99, latency.p50);
    }
}

#[actix_rt::test]
async fn a_hang_times_out_and_gets_the_fallback() {
    tokio::time::pause();
    let demo = DemoServices::without_latency(1);
    let dep = dependency(&demo, "lists");
    demo.chaos("lists").expect("exists").set(chaos(json!({"hang": true}))).expect("valid");
    let started = tokio::time::Instant::now();
    let reply = dep.call("for_user", &json!({"user": 1})).await.expect("the fallback answers");
    assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Timeout));
    assert_eq!(reply.body, Some(Json::from(json!({"fallback": true}))));
    let waited = started.elapsed();
    assert!((ms(1_000)..=ms(1_002)).contains(&waited), "abandoned at the default timeout, after {waited:?}");
    let rolling = dep.snapshot().rolling;
    assert_eq!((rolling.get(Event::Timeout), rolling.get(Event::FallbackSuccess)), (1, 1));
}

#[actix_rt::test]
async fn full_error_chaos_opens_the_breaker_after_enough_calls() {
    tokio::time::pause();
    let demo = DemoServices::without_latency(1);
    let dep = dependency(&demo, "ratings");
    demo.chaos("ratings").expect("exists").set(chaos(json!({"error_percent": 100}))).expect("valid");
    let args = json!({"user": 1, "ids": [1, 2]});
    for _ in 0..20 {
        let reply = dep.call("predicted", &args).await.expect("the fallback answers");
        assert_eq!(reply.origin, Origin::Fallback(ErrorKind::Failure));
    }
    tokio::time::advance(ms(500)).await; // the next health snapshot
    let reply = dep.call("predicted", &args).await.expect("the fallback answers");
    assert_eq!(reply.origin, Origin::Fallback(ErrorKind::ShortCircuited));
    let snapshot = dep.snapshot();
    assert!(snapshot.circuit_open);
    assert_eq!(snapshot.rolling.get(Event::Failure), 20);
}

#[actix_rt::test]
async fn added_latency_shows_in_the_execution_percentiles() {
    tokio::time::pause();
    let demo = DemoServices::without_latency(1);
    let dep = dependency(&demo, "catalog");
    demo.chaos("catalog").expect("exists").set(chaos(json!({"latency_ms": 300}))).expect("valid");
    for id in 1..=10 {
        let reply = dep.call("title", &json!({"id": id})).await.expect("answers");
        assert_eq!(reply.origin, Origin::Backend, "slow, but within the timeout");
    }
    let latency = dep.snapshot().latency_execution;
    assert_eq!(latency.count, 10);
    // Timers fire on whole milliseconds, so a 300 ms sleep ends within the next tick or two.
    assert!((300.0..=302.0).contains(&latency.p0), "p0 {}", latency.p0);
    assert!((300.0..=302.0).contains(&latency.p100), "p100 {}", latency.p100);
}

#[actix_rt::test]
async fn chaos_lapses_after_its_duration_and_calls_recover() {
    tokio::time::pause();
    let demo = DemoServices::without_latency(1);
    let dep = dependency(&demo, "users");
    let switch = demo.chaos("users").expect("exists");
    switch.set(chaos(json!({"error_percent": 100, "duration_s": 5}))).expect("valid");
    let set_at = tokio::time::Instant::now();
    let args = json!({"id": 3});
    assert_eq!(dep.call("get", &args).await.expect("fallback").origin, Origin::Fallback(ErrorKind::Failure));
    // A call through the actor takes a tick of the timer wheel (1 ms): stay clear of the boundary.
    tokio::time::sleep_until(set_at + ms(4_990)).await;
    assert_eq!(dep.call("get", &args).await.expect("fallback").origin, Origin::Fallback(ErrorKind::Failure));
    tokio::time::sleep_until(set_at + ms(5_000)).await;
    assert_eq!(dep.call("get", &args).await.expect("answers").origin, Origin::Backend);
    assert_eq!(switch.current(), None);
}

#[actix_rt::test]
async fn bad_requests_reach_the_caller_without_fallback_or_error_count() {
    tokio::time::pause();
    let demo = DemoServices::without_latency(1);
    let dep = dependency(&demo, "users");
    for args in [json!({}), json!({"id": "x"}), json!({"id": 0})] {
        let error = dep.call("get", &args).await.expect_err("refused");
        assert_eq!(error.kind, ErrorKind::BadRequest);
        assert_eq!(error.fallback, None);
    }
    let error = dep.call("delete", &json!({"id": 1})).await.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::BadRequest);
    assert!(error.message.contains("no operation `delete`"), "{}", error.message);
    let snapshot = dep.snapshot();
    assert_eq!((snapshot.rolling.get(Event::BadRequest), snapshot.error_percent), (4, 0));
}

#[actix_rt::test]
async fn same_seed_same_data_different_seed_different_data() {
    let (a, b, c) =
        (DemoServices::without_latency(5), DemoServices::without_latency(5), DemoServices::without_latency(6));
    let ask = |demo: &DemoServices, service: &str, op: &'static str, args: Value| {
        demo.backend(service).expect("exists").call(op, &args)
    };
    for (service, op, args) in [("users", "get", json!({"id": 99_999})), ("lists", "for_user", json!({"user": 12}))] {
        let first = ask(&a, service, op, args.clone()).await.expect("answers");
        assert_eq!(ask(&b, service, op, args.clone()).await.expect("answers").as_str(), first.as_str());
        assert_ne!(ask(&c, service, op, args).await.expect("answers").as_str(), first.as_str());
    }
}

/// A demo HTTP server on 127.0.0.1:0; returns its base URL, its services and a stop handle.
fn serve() -> (String, DemoServices, actix_web::dev::ServerHandle) {
    let demo = DemoServices::without_latency(42);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let server = demo_backends_server(listener, demo.clone()).expect("server");
    let handle = server.handle();
    actix_rt::spawn(server);
    (url, demo, handle)
}

/// Status, content type and JSON body of one request.
async fn fetch(request: reqwest::RequestBuilder) -> (u16, String, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = response.text().await.expect("a body");
    (status, content_type, serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}")))
}

#[actix_rt::test]
async fn every_http_route_answers_what_the_in_process_backend_answers() {
    let (url, demo, server) = serve();
    let client = reqwest::Client::new();
    let routes = [
        ("/users/7", "users", "get", json!({"id": 7})),
        ("/subscriber/7", "subscriber", "status", json!({"user": 7})),
        ("/lists/7?limit=3", "lists", "for_user", json!({"user": 7, "limit": 3})),
        ("/catalog/titles?ids=5,999999,3", "catalog", "titles", json!({"ids": [5, 999_999, 3]})),
        ("/catalog/titles/5", "catalog", "title", json!({"id": 5})),
        ("/ratings/predicted?user=7&ids=1,2,3", "ratings", "predicted", json!({"user": 7, "ids": [1, 2, 3]})),
        ("/bookmarks/7", "bookmarks", "for_user", json!({"user": 7})),
        ("/artwork/boxart?ids=1,2&size=small", "artwork", "boxart", json!({"ids": [1, 2], "size": "small"})),
        ("/recs/similar/5?limit=4", "recs", "similar", json!({"id": 5, "limit": 4})),
    ];
    for (path, service, operation, args) in routes {
        let expected = demo.backend(service).expect("exists").call(operation, &args).await.expect("answers");
        let (status, content_type, body) = fetch(client.get(format!("{url}{path}"))).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"), "{path}");
        assert_eq!(body, expected.to_value(), "{path}");
    }
    let (_, _, titles) = fetch(client.get(format!("{url}/catalog/titles?ids=5,999999,3"))).await;
    let ids: Vec<u64> = titles.as_array().expect("an array").iter().filter_map(|t| t["id"].as_u64()).collect();
    assert_eq!(ids, [5, 3], "in the order asked, unknown ids left out");
    let generic = client.post(format!("{url}/call/catalog/titles")).body(r#"{"ids": [5, 3]}"#);
    assert_eq!(fetch(generic).await.2, titles);
    let (status, _, health) = fetch(client.get(format!("{url}/healthz"))).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    server.stop(false).await;
}

#[actix_rt::test]
async fn http_errors_are_400_for_bad_requests_404_for_unknown_routes_and_503_under_chaos() {
    let (url, _demo, server) = serve();
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{url}{path}"));
    for (path, status, message) in [
        ("/users/abc", 400, "`id` must be a non-negative integer"),
        ("/users/0", 400, "no user 0"),
        ("/catalog/titles", 400, "missing argument `ids`"),
        ("/artwork/boxart?ids=1&size=huge", 400, "must be one of small, medium, large"),
        ("/recs/similar/1?limit=1000", 400, "from 0 to 100"),
        ("/nowhere", 404, "no route for GET /nowhere"),
        ("/chaos/billing", 404, "no demo service `billing`"),
    ] {
        let (got, content_type, body) = fetch(get(path)).await;
        assert_eq!((got, content_type.as_str()), (status, "application/json"), "{path}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{path}: {error}");
    }

    let put = |body: &'static str| client.put(format!("{url}/chaos/catalog")).body(body);
    let (status, _, body) = fetch(put(r#"{"error_percent": 101}"#)).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("error_percent")), "{body}");
    let (status, _, body) = fetch(put(r#"{"errors": 5}"#)).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("unknown field `errors`")), "{body}");

    let (status, _, body) = fetch(put(r#"{"error_percent": 100}"#)).await;
    assert_eq!((status, &body["chaos"]["error_percent"]), (200, &json!(100)));
    let (status, _, body) = fetch(get("/catalog/titles?ids=1")).await;
    assert_eq!(status, 503);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("chaos: injected error")), "{body}");
    assert_eq!(fetch(get("/users/1")).await.0, 200, "chaos is per service");

    let (status, _, body) = fetch(client.delete(format!("{url}/chaos/catalog"))).await;
    assert_eq!((status, &body["chaos"]), (200, &Value::Null));
    assert_eq!(fetch(get("/catalog/titles?ids=1")).await.0, 200);
    server.stop(false).await;
}
