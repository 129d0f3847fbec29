//! A node across restarts and damage: a restart keeps every endpoint, revision, routing and audit
//! entry (and seeds the samples only into a store it creates), a damaged store or one of another
//! environment refuses to start with a message naming what is wrong, and chaos injected through the
//! admin API works on an HTTP dependency: its calls slow down, then time out into their fallback.

mod support;

use std::net::TcpListener;
use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use support::{ADMIN, TestServer};
use switchyard::app::AppState;
use switchyard::config::Config;
use switchyard::demo::{DemoServices, demo_backends_server};
use switchyard_actors::config::{BackendKind, FallbackKind};
use switchyard_actors::http::HttpConfig;
use switchyard_actors::{DependencyConfig, Json};

#[actix_rt::test]
async fn a_restart_keeps_every_endpoint_revision_routing_and_audit_entry() {
    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    let first = TestServer::start_in(Arc::clone(&data), DemoServices::without_latency(1), |_| {});
    assert!(first.state.startup.created);
    first.publish("tv/kept", "export default () => 1").await;
    first.publish("tv/kept", "export default () => 2").await;
    let set = first
        .admin_request(Method::PUT, "/admin/v1/endpoints/tv/kept/routing", Some(ADMIN))
        .json(&json!({"active": 1, "canary": {"revision": 2, "percent": 25}}));
    assert_eq!(first.send(set).await.0, 200);
    let gone = first.admin_request(Method::DELETE, "/admin/v1/endpoints/ps3/home", Some(ADMIN));
    assert_eq!(first.send(gone).await.0, 200);
    let before = first.state.store.state().expect("state");
    let stopped = first.shut_down().await;
    let store_dir = stopped.startup.data_dir.store();
    drop(stopped);
    // sled lets go of its files a moment after the last handle drops; the store waits for it.
    let second = TestServer::start_in(Arc::clone(&data), DemoServices::without_latency(1), |_| {});
    assert!(!second.state.startup.created, "opened, not created: {}", store_dir.display());
    assert_eq!(second.state.store.state().expect("state"), before, "everything, audit included");
    assert_eq!(second.get("/ps3/home").await.0, 404, "a deleted sample is not seeded again");
    let (status, shown) =
        second.send(second.admin_request(Method::GET, "/admin/v1/endpoints/tv/kept", Some(ADMIN))).await;
    assert_eq!((status, shown["routing"]["canary"]["percent"].as_f64()), (200, Some(25.0)));
}

#[actix_rt::test]
async fn a_damaged_store_or_another_environment_refuses_to_start() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.data_dir = data.path().join("data");
    let state = AppState::open_with(config.clone(), DemoServices::without_latency(1)).expect("opens");
    let store_dir = state.startup.data_dir.store();
    drop(state);

    let mut prod = config.clone();
    prod.server.environment = "prod".into();
    let refused = AppState::open_with(prod, DemoServices::without_latency(1)).err().expect("refused");
    let message = format!("{refused:#}");
    assert!(message.contains("dev") && message.contains("prod"), "{message}");

    // Cut the database file in half: acknowledged writes are gone.
    let db = store_dir.join("db");
    let length = std::fs::metadata(&db).expect("sled's file").len();
    std::fs::OpenOptions::new().write(true).open(&db).expect("open").set_len(length / 2).expect("truncate");
    let refused = AppState::open_with(config, DemoServices::without_latency(1)).err().expect("refused");
    let message = format!("{refused:#}");
    assert!(message.contains("store") && message.contains(&store_dir.display().to_string()), "{message}");
    assert_eq!(std::fs::metadata(&db).expect("still there").len(), length / 2, "a refused store is left as it was");
}

#[actix_rt::test]
async fn chaos_on_an_http_dependency_slows_its_calls_then_times_them_out_into_the_fallback() {
    let backends = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", backends.local_addr().expect("bound"));
    actix_rt::spawn(demo_backends_server(backends, DemoServices::without_latency(1)).expect("demo backends"));
    let s = TestServer::start(|c| {
        let mut users = DependencyConfig::default();
        users.kind = BackendKind::Http;
        users.timeout_ms = 300;
        users.http = HttpConfig::for_demo_service(&base, "users");
        users.fallback.kind = FallbackKind::Static;
        users.fallback.value = Some(Json::from(json!({"id": 0, "name": "Guest"})));
        c.dependencies.insert("users".into(), users);
    });
    s.publish("test/user", r#"export default async () => (await call("users", "get", {id: 3}))[0]"#).await;
    let (status, real) = s.get("/test/user").await;
    assert_eq!((status, real["id"].as_u64()), (200, Some(3)), "{real}");

    let chaos = |body: serde_json::Value| {
        s.admin_request(Method::PUT, "/admin/v1/dependencies/users/chaos", Some(ADMIN)).json(&body)
    };
    assert_eq!(s.send(chaos(json!({"latency_ms": 120}))).await.0, 200);
    let started = tokio::time::Instant::now();
    let (status, slow) = s.get("/test/user").await;
    assert_eq!((status, slow["id"].as_u64()), (200, Some(3)), "slow, within the timeout: {slow}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(120), "the latency was added");

    assert_eq!(s.send(chaos(json!({"latency_ms": 5000}))).await.0, 200);
    let (status, fallback) = s.get("/test/user").await;
    assert_eq!((status, fallback), (200, json!({"id": 0, "name": "Guest"})), "timed out into the fallback");
    let (_, deps) = s.send(s.admin_request(Method::GET, "/admin/v1/dependencies", Some(ADMIN))).await;
    let users = deps.as_array().expect("list").iter().find(|d| d["name"] == "users").expect("users").clone();
    assert_eq!(users["kind"], "http");
    assert_eq!(users["snapshot"]["rolling"]["timeout"], 1, "{users}");
    assert_eq!(users["chaos"]["latency_ms"], 5000);

    let clear = s.admin_request(Method::DELETE, "/admin/v1/dependencies/users/chaos", Some(ADMIN));
    assert_eq!(s.send(clear).await.0, 200);
    assert_eq!(s.get("/test/user").await.1["id"], 3, "healed");
    let (status, body) = s.send(chaos(json!({"error_percent": 101}))).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("error_percent")));
    let (status, _) =
        s.send(s.admin_request(Method::PUT, "/admin/v1/dependencies/nope/chaos", Some(ADMIN)).json(&json!({}))).await;
    assert_eq!(status, 404);
    let settings = s
        .admin_request(Method::PUT, "/admin/v1/dependencies/users/settings", Some(ADMIN))
        .json(&json!({"timeout_ms": 0}));
    let (status, body) = s.send(settings).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("dependencies.users.timeout_ms")));
    let settings = s
        .admin_request(Method::PUT, "/admin/v1/dependencies/users/settings", Some(support::TV_TEAM))
        .json(&json!({"timeout_ms": 10}));
    assert_eq!(s.send(settings).await.0, 403, "changing a dependency needs scope `*`");
}
