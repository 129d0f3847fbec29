//! A node whose disk fills up, for real: its data directory on a 32 MiB tmpfs in a namespace of
//! its own (`storage/tests/tmpfs`), publishes over HTTP.
//!
//! Phase `fill`: publishes until one answers 507 `insufficient_storage` — refused before anything
//! reached the Raft log, the store as it was, devices still served, `/readyz` still ready — and
//! publishes go on once space is freed. Then, with the free-space check off, until sled itself
//! meets `ENOSPC`: the publish answers 503, `/readyz` turns 503 `not_ready`, later publishes answer
//! 503 `store_failed`, devices are still served; the process then dies as a wedged node would be
//! killed. Phase `restart`: on the still-full disk the node refuses to start, saying why; with space
//! freed it starts with every acknowledged revision, whole (the one that failed may be there too,
//! whole, if its log entry reached the disk: its answer said so), is ready, and takes publishes.

#[path = "../storage/tests/tmpfs/mod.rs"]
mod tmpfs;

mod support;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use support::{ADMIN, SECRET, TestServer};
use switchyard::app::AppState;
use switchyard::config::{AdminToken, Config};
use switchyard::demo::DemoServices;
use switchyard_storage::model::sha256_hex;
use tmpfs::Phase;

const TEST: &str = "a_full_disk_answers_507_before_the_log_and_a_failure_makes_the_node_unready_until_restarted";

#[test]
fn a_full_disk_answers_507_before_the_log_and_a_failure_makes_the_node_unready_until_restarted() {
    let Some(phase) = Phase::current() else {
        tmpfs::run_phases(TEST, 32 << 10, &["fill", "restart"], Duration::from_secs(240));
        return;
    };
    actix_rt::System::new().block_on(async {
        match phase.name.as_str() {
            "fill" => fill(&phase).await,
            "restart" => restart(&phase).await,
            other => panic!("no phase {other}"),
        }
    });
}

/// Revision `i`'s source: about 100 KB, and its own.
fn script(i: u64) -> String {
    format!("export default () => ({{disk: {i}}}); // {}", "d".repeat(100_000))
}

fn start(phase: &Phase) -> TestServer {
    let node = phase.dir.join("node");
    let data = Arc::new(tempfile::tempdir().expect("temp dir"));
    TestServer::start_in(data, DemoServices::without_latency(7), move |c| c.server.data_dir = node)
}

async fn publish(server: &TestServer, source: String) -> (u16, Value) {
    let request = server.admin_request(Method::POST, "/admin/v1/endpoints/tv/disk/revisions", Some(ADMIN));
    server.send(request.header("content-type", "text/javascript").body(source)).await
}

async fn ready(server: &TestServer) -> (u16, Value, u16) {
    let (admin, body) = server.send(server.client.get(format!("{}/readyz", server.admin))).await;
    let (public, _) = server.get("/readyz").await;
    (admin, body, public)
}

/// How many revisions `tv/disk` has, read over the admin API.
async fn revisions(server: &TestServer) -> u64 {
    let request = server.admin_request(Method::GET, "/admin/v1/endpoints/tv/disk", Some(ADMIN));
    let (status, body) = server.send(request).await;
    assert_eq!(status, 200, "{body}");
    body["revisions"].as_u64().expect("a count")
}

async fn fill(phase: &Phase) {
    let server = start(phase);
    let (status, body) = publish(&server, script(1)).await;
    assert_eq!(status, 201, "{body}");
    let mut acknowledged = 1;
    // Leave the reserve (16 MiB), the store's own size and a few publishes' worth free.
    let own = server.state.store.size_on_disk().expect("size");
    tmpfs::fill_up(&phase.dir.join("filler"), server.state.store.space_reserve().expect("checked") + own + (3 << 20));

    // 1. Refused before anything is written: 507.
    let mut refusal = None;
    for i in 2..60 {
        let before = server.state.store.state().expect("state");
        match publish(&server, script(i)).await {
            (201, body) => {
                assert_eq!(body["revision"].as_u64(), Some(i), "{body}");
                acknowledged = i;
            }
            (507, body) => {
                assert_eq!(server.state.store.state().expect("state"), before, "a refused publish changes nothing");
                refusal = Some(body);
                break;
            }
            (status, body) => panic!("publish {i}: {status} {body}"),
        }
    }
    let refusal = refusal.expect("the disk filled up within 60 publishes");
    println!("refused after {acknowledged} revisions: {refusal}");
    assert_eq!(refusal["error"], "insufficient_storage");
    assert_eq!((refusal["fault"].as_str(), refusal["retryable"].as_bool()), (Some("server"), Some(false)));
    assert!(refusal["message"].as_str().expect("message").contains("no space for this write"), "{refusal}");
    let (status, body) = server.get("/tv/disk").await;
    assert_eq!((status, &body["disk"]), (200, &Value::from(1)), "devices are still served: {body}");
    assert_eq!(revisions(&server).await, acknowledged);
    let (admin, body, public) = ready(&server).await;
    assert_eq!((admin, public), (200, 200), "a refusal does not make the node unready: {body}");

    // 2. Space freed: publishes go on.
    fs::remove_file(phase.dir.join("filler")).expect("frees space");
    let (status, body) = publish(&server, script(acknowledged + 1)).await;
    assert_eq!(status, 201, "{body}");
    acknowledged += 1;

    // 3. Without the check, sled meets the full disk under Raft: the node stops taking writes.
    server.state.store.set_space_reserve(None);
    tmpfs::fill_up(&phase.dir.join("filler-2"), 64 << 10);
    let mut failed = None;
    for i in acknowledged + 1..acknowledged + 40 {
        match publish(&server, script(i)).await {
            (201, _) => acknowledged = i,
            (503, body) => {
                failed = Some((i, body));
                break;
            }
            (status, body) => panic!("publish {i} on a full disk: {status} {body}"),
        }
    }
    let (failed_revision, body) = failed.expect("sled met the full disk within 40 publishes");
    println!("publish {failed_revision} met the full disk: {body}");
    let mut unready = None;
    for _ in 0..300 {
        let (admin, body, public) = ready(&server).await;
        if admin == 503 {
            assert_eq!(public, 503);
            unready = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let unready = unready.expect("/readyz says not ready within 30 s");
    println!("/readyz: {unready}");
    assert_eq!((unready["status"].as_str(), unready["error"].as_str()), (Some("not_ready"), Some("store_failed")));
    let (status, body) = publish(&server, script(failed_revision + 1)).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("store_failed")), "{body}");
    assert!(body["message"].as_str().expect("message").contains("restarted"), "{body}");
    let (status, body) = server.get("/tv/disk").await;
    assert_eq!((status, &body["disk"]), (200, &Value::from(1)), "devices are still served: {body}");

    fs::write(phase.shared.join("acknowledged"), format!("{acknowledged} {failed_revision}")).expect("hands on");
    phase.done();
    // A wedged node is killed, not shut down gracefully.
    std::process::exit(0);
}

async fn restart(phase: &Phase) {
    let handed = fs::read_to_string(phase.shared.join("acknowledged")).expect("handed on");
    let numbers: Vec<u64> = handed.split(' ').map(|n| n.parse().expect("a number")).collect();
    let (acknowledged, failed) = (numbers[0], numbers[1]);

    // Still full: the node refuses to start, saying why.
    let refused = AppState::open_with(config(&phase.dir.join("node")), DemoServices::without_latency(7));
    let message = format!("{:#}", refused.err().expect("refused on a full disk"));
    println!("refused to start: {message}");
    assert!(message.contains("not enough free space to open the store"), "{message}");

    fs::remove_file(phase.dir.join("filler-2")).expect("frees space");
    let server = start(phase);
    server.state.store.set_space_reserve(Some(1 << 20));
    let (admin, body, public) = ready(&server).await;
    assert_eq!((admin, public), (200, 200), "{body}");
    let stored = revisions(&server).await;
    assert!(
        stored == acknowledged || stored == failed,
        "{stored} revisions: {acknowledged} acknowledged, {failed} failed"
    );
    for n in 1..=stored {
        let path = format!("/admin/v1/endpoints/tv/disk/revisions/{n}");
        let (status, body) = server.send(server.admin_request(Method::GET, &path, Some(ADMIN))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sha256"].as_str(), Some(sha256_hex(&script(n)).as_str()), "revision {n} is whole");
    }
    println!("restarted with {stored} revisions ({acknowledged} acknowledged)");
    let (status, body) = publish(&server, script(stored + 1)).await;
    assert_eq!((status, body["revision"].as_u64()), (201, Some(stored + 1)), "{body}");
    let (status, body) = server.get("/tv/disk").await;
    assert_eq!((status, &body["disk"]), (200, &Value::from(1)), "{body}");
    phase.done();
}

/// The configuration [`TestServer`] uses, over `data_dir`.
fn config(data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.auth.jwt_secret = Some(SECRET.into());
    config.auth.admin_tokens = vec![AdminToken { name: "ops".into(), token: ADMIN.into(), scopes: vec!["*".into()] }];
    config.server.data_dir = data_dir.to_owned();
    config
}
