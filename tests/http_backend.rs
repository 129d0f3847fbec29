//! HTTP dependencies against real servers on 127.0.0.1:0: the demo services behind
//! `demo-backends`, and small raw servers that misbehave (close the connection, answer garbage,
//! hold requests to count them). Calls go through real dependency actors.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use switchyard::config::Config;
use switchyard::demo::{ChaosSettings, DemoServices, demo_backends_server};
use switchyard_actors::config::{BackendKind, FallbackKind};
use switchyard_actors::http::{HttpBackend, HttpConfig};
use switchyard_actors::{Backend, DependencyConfig, DependencyHandle, ErrorKind, Event, Json, Origin, Placement};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The demo services over HTTP; their base URL.
fn demo_server(demo: &DemoServices) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    actix_rt::spawn(demo_backends_server(listener, demo.clone()).expect("server"));
    url
}

/// The HTTP dependency `service` at `base_url`, with a static fallback.
fn dependency(base_url: &str, service: &str, max_concurrent: usize) -> DependencyHandle {
    let mut config = DependencyConfig::default();
    config.kind = BackendKind::Http;
    config.max_concurrent = max_concurrent;
    config.queue = 100;
    config.http = HttpConfig::for_demo_service(base_url, service);
    config.fallback.kind = FallbackKind::Static;
    config.fallback.value = Some(Json::from(json!({"fallback": true})));
    let backend = HttpBackend::new(service, config.http.as_ref().expect("mapped"), max_concurrent).expect("valid");
    DependencyHandle::builder(service, config, Arc::new(backend))
        .placement(Placement::OwnArbiter)
        .start()
        .expect("starts")
}

async fn value(handle: &DependencyHandle, op: &str, args: Value) -> (Value, Origin) {
    let reply = handle.call(op, &args).await.expect("a reply");
    (reply.body.expect("a body").to_value(), reply.origin)
}

#[actix_rt::test]
async fn every_demo_operation_round_trips_with_the_in_process_answer() {
    let demo = DemoServices::without_latency(42);
    let url = demo_server(&demo);
    let calls = [
        ("users", "get", json!({"id": 7})),
        ("subscriber", "status", json!({"user": 7})),
        ("lists", "for_user", json!({"user": 7, "limit": 3})),
        ("catalog", "titles", json!({"ids": [1, 2, 3]})),
        ("catalog", "title", json!({"id": 5})),
        ("ratings", "predicted", json!({"user": 7, "ids": [1, 2]})),
        ("bookmarks", "for_user", json!({"user": 7})),
        ("artwork", "boxart", json!({"ids": [1, 2], "size": "small"})),
        ("recs", "similar", json!({"id": 9, "limit": 4})),
    ];
    for (service, op, args) in calls {
        let handle = dependency(&url, service, 4);
        let (over_http, origin) = value(&handle, op, args.clone()).await;
        assert_eq!(origin, Origin::Backend, "{service}.{op}");
        let in_process = demo.backend(service).expect("exists").call(op, &args).await.expect("answers").to_value();
        assert_eq!(over_http, in_process, "{service}.{op}");
    }
}

#[actix_rt::test]
async fn a_4xx_is_a_bad_request_and_a_5xx_a_failure_with_fallback() {
    let demo = DemoServices::without_latency(42);
    let url = demo_server(&demo);
    let users = dependency(&url, "users", 4);
    let error = users.call("get", &json!({"id": 999_999_999})).await.expect_err("no such user");
    assert_eq!((error.kind, error.fallback.clone()), (ErrorKind::BadRequest, None), "{error:?}");
    let error = users.call("get", &json!({})).await.expect_err("no id");
    assert!(error.message.contains("`id`"), "{error:?}");
    assert_eq!(users.snapshot().cumulative.get(Event::Failure), 0, "bad requests are not failures");

    demo.chaos("users").expect("users").set(ChaosSettings { error_percent: 100, ..Default::default() }).expect("valid");
    let (body, origin) = value(&users, "get", json!({"id": 7})).await;
    assert_eq!((body, origin), (json!({"fallback": true}), Origin::Fallback(ErrorKind::Failure)));
    assert_eq!(users.snapshot().cumulative.get(Event::Failure), 1);
}

/// A raw server answering every connection with `respond(request_number)`.
async fn raw_server(respond: fn(usize) -> Option<&'static [u8]>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    actix_rt::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            n += 1;
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            if let Some(reply) = respond(n) {
                let _ = socket.write_all(reply).await;
            }
            drop(socket);
        }
    });
    url
}

#[actix_rt::test]
async fn a_closed_connection_garbage_and_a_dead_port_are_failures() {
    let closes = raw_server(|_| None).await;
    let garbage =
        raw_server(|_| Some(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot json!")).await;
    let nonsense = raw_server(|_| Some(b"this is not HTTP at all\r\n\r\n")).await;
    let dead = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("bound"))
    };
    for (url, expect) in [
        (closes, "request failed"),
        (garbage, "malformed reply"),
        (nonsense, "request failed"),
        (dead, "connect error"),
    ] {
        let users = dependency(&url, "users", 2);
        let error = users.call_without_fallback("get", &json!({"id": 1})).await.expect_err("fails");
        assert_eq!(error.kind, ErrorKind::Failure, "{url}: {error:?}");
        assert!(error.message.contains(expect), "{url}: {}", error.message);
        let (_, origin) = value(&users, "get", json!({"id": 1})).await;
        assert_eq!(origin, Origin::Fallback(ErrorKind::Failure));
    }
}

#[actix_rt::test]
async fn requests_in_flight_never_exceed_the_bulkhead() {
    static OPEN: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    actix_rt::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            actix_rt::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let open = OPEN.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(open, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    OPEN.fetch_sub(1, Ordering::SeqCst);
                    let reply =
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{\"id\":1}";
                    if socket.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let config = HttpConfig::for_demo_service(&url, "users").expect("mapped");
    let backend = Arc::new(HttpBackend::new("users", &config, 3).expect("valid"));
    let calls = (0..20).map(|i| {
        let backend = Arc::clone(&backend);
        async move { switchyard_actors::Backend::call(&*backend, "get", &json!({"id": i})).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(PEAK.load(Ordering::SeqCst), 3, "three at a time, never more");
}

#[test]
fn the_example_config_points_every_demo_dependency_at_demo_backends() {
    let config = Config::parse(include_str!("../examples/demo-backends.toml")).expect("parses");
    config.validate().expect("valid");
    assert_eq!(config.dependencies.len(), 8);
    for (name, dependency) in &config.dependencies {
        assert_eq!(dependency.kind, BackendKind::Http, "{name}");
        let http = dependency.http.as_ref().expect("an http table");
        assert_eq!(
            http,
            &HttpConfig::for_demo_service("http://127.0.0.1:9000", name).expect("a demo service"),
            "{name}"
        );
    }
    assert!(config.dependencies["catalog"].collapse.contains_key("title"));
}

#[test]
fn an_http_dependency_without_its_table_names_the_key() {
    let config = Config::parse("[dependencies.users]\nkind = \"http\"\n").expect("parses");
    assert_eq!(config.validate().expect_err("invalid").field, "dependencies.users.http");
}

/// A keep-alive server that answers every request on a connection with one small JSON object;
/// its base URL and the connections it accepted.
async fn keep_alive_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    actix_rt::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            actix_rt::spawn(async move {
                let mut buf = [0u8; 4096];
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {
                    let reply =
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{\"id\":1}";
                    if socket.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (url, accepted)
}

#[actix_rt::test]
async fn an_idle_connection_is_reused_within_idle_timeout_ms_and_dropped_after_it() {
    // Real time (the connection pool runs on the real clock): two calls 400 ms apart.
    for (idle_timeout_ms, connections) in [(60_000, 1), (100, 2)] {
        let (url, accepted) = keep_alive_server().await;
        let mut http = HttpConfig::for_demo_service(&url, "users").expect("a demo service");
        http.idle_timeout_ms = idle_timeout_ms;
        let backend = HttpBackend::new("users", &http, 2).expect("valid");
        let first = Backend::call(&backend, "get", &json!({"id": 1})).await;
        assert_eq!(first.expect("answered").to_value(), json!({"id": 1}));
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let second = Backend::call(&backend, "get", &json!({"id": 1})).await;
        assert_eq!(second.expect("answered").to_value(), json!({"id": 1}));
        assert_eq!(accepted.load(Ordering::SeqCst), connections, "idle_timeout_ms = {idle_timeout_ms}");
    }
}
