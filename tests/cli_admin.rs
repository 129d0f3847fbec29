//! The admin commands of the CLI against a running server (design §10), as a user runs them: the
//! binary with `--server` and `--token`, its stdout for people (or `--json`), one clear sentence on
//! stderr and a non-zero exit for every failure, and every write saying its environment.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{ADMIN, TV_TEAM, TestServer};

/// Runs the CLI against `server` with `token`, outside the test's runtime (the command blocks).
async fn cli(server: &TestServer, token: &str, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command.args(args).args(["--server", &server.admin, "--token", token]);
    command.env_remove("SWITCHYARD_SERVER").env_remove("SWITCHYARD_ADMIN_TOKEN");
    let out = actix_web::rt::task::spawn_blocking(move || command.output().expect("runs")).await.expect("joined");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn script(dir: &tempfile::TempDir, name: &str, source: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, source).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[actix_rt::test]
async fn push_route_show_rollback_delete_and_audit_through_the_cli() {
    let s = TestServer::start(|_| {});
    let dir = tempfile::tempdir().expect("temp dir");
    let one = script(&dir, "one.js", "export default () => ({v: 1})");
    let two = script(&dir, "two.js", "export default () => ({v: 2})");

    let (code, out, err) = cli(&s, ADMIN, &["push", "tv/cli", &one, "--notes", "first"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("published tv/cli revision 1 to dev") && out.contains("it is active"), "{out}");
    assert_eq!(s.get("/tv/cli").await.1["v"], 1);
    let (code, out, _) = cli(&s, ADMIN, &["push", "tv/cli", &two]).await;
    assert_eq!(code, 0);
    assert!(out.contains("revision 2") && out.contains("--canary 2:10"), "a later push says how to route it: {out}");

    let (code, out, err) = cli(&s, ADMIN, &["routing", "tv/cli", "--canary", "2:10"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tv/cli in dev: active 1") && out.contains("canary 2 10"), "{out}");
    let (code, out, _) = cli(&s, ADMIN, &["routing", "tv/cli", "--json"]).await;
    assert_eq!(code, 0);
    let routing: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!((routing["active"].as_u64(), routing["canary"]["revision"].as_u64()), (Some(1), Some(2)));

    let (code, out, _) = cli(&s, ADMIN, &["list"]).await;
    assert_eq!(code, 0);
    let line = out.lines().find(|l| l.starts_with("tv/cli")).expect("listed");
    assert!(line.contains("canary 2 10%"), "{line}");
    let (_, out, _) = cli(&s, ADMIN, &["show", "tv/cli"]).await;
    assert!(out.contains("first") && out.lines().count() >= 4, "routing and both revisions: {out}");
    let (_, out, _) = cli(&s, ADMIN, &["show", "tv/cli", "--revision", "2", "--source"]).await;
    assert_eq!(out, "export default () => ({v: 2})");

    let (code, _, _) = cli(&s, ADMIN, &["routing", "tv/cli", "--active", "2", "--clear"]).await;
    assert_eq!(code, 0);
    assert_eq!(s.get("/tv/cli").await.1["v"], 2);
    let (code, out, _) = cli(&s, ADMIN, &["rollback", "tv/cli"]).await;
    assert_eq!(code, 0);
    assert_eq!(out, "tv/cli in dev: rolled back from revision 2 to 1\n");
    assert_eq!(s.get("/tv/cli").await.1["v"], 1);

    let (code, out, _) = cli(&s, ADMIN, &["delete", "tv/cli"]).await;
    assert_eq!((code, out.as_str()), (0, "tv/cli deleted in dev (its revisions are kept)\n"));
    assert_eq!(s.get("/tv/cli").await.0, 404);
    let (_, out, _) = cli(&s, ADMIN, &["audit"]).await;
    let mine: Vec<&str> = out.lines().filter(|l| l.contains("tv/cli")).collect();
    assert_eq!(mine.len(), 6, "two pushes, two routings, a rollback, a delete: {out}");
    assert!(mine.iter().all(|l| l.contains("ops")), "each with its author: {out}");
}

#[actix_rt::test]
async fn deps_and_chaos_through_the_cli() {
    let s = TestServer::start(|_| {});
    let (code, out, err) = cli(&s, ADMIN, &["deps"]).await;
    assert_eq!(code, 0, "{err}");
    for name in ["users", "catalog", "ratings"] {
        assert!(out.lines().any(|l| l.starts_with(name) && l.contains("closed")), "{name} listed: {out}");
    }
    let (code, out, _) = cli(&s, ADMIN, &["chaos", "ratings", "--latency-ms", "300", "--for", "60"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("chaos on ratings") && out.contains("300"), "{out}");
    let (_, out, _) = cli(&s, ADMIN, &["deps"]).await;
    let ratings = out.lines().find(|l| l.starts_with("ratings")).expect("listed");
    assert!(ratings.contains("\"latency_ms\":300"), "{ratings}");
    let (code, out, _) = cli(&s, ADMIN, &["chaos", "ratings", "--clear"]).await;
    assert_eq!((code, out.as_str()), (0, "chaos cleared on ratings\n"));
    let (_, deps, _) = cli(&s, ADMIN, &["deps", "--json"]).await;
    let deps: Value = serde_json::from_str(&deps).expect("JSON");
    let ratings = deps.as_array().expect("list").iter().find(|d| d["name"] == "ratings").expect("ratings").clone();
    assert!(ratings["chaos"].is_null(), "{ratings}");
}

#[actix_rt::test]
async fn every_cli_failure_is_one_sentence_with_the_servers_message_and_a_non_zero_exit() {
    let s = TestServer::start(|_| {});
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = script(&dir, "broken.js", "export default function handle(req) {\n  return {a: };\n}\n");
    let fine = script(&dir, "fine.js", "export default () => 1");

    let (code, out, err) = cli(&s, ADMIN, &["push", "tv/broken", &broken]).await;
    assert_ne!(code, 0);
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(err.contains("422 compile_error") && err.contains("SyntaxError"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");

    let (code, _, err) = cli(&s, "wrong-token-0123456789", &["list"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("401 unauthorized"), "{err}");
    let (code, _, err) = cli(&s, TV_TEAM, &["push", "ps3/fine", &fine]).await;
    assert_ne!(code, 0);
    assert!(err.contains("403 forbidden"), "{err}");
    let (code, _, err) = cli(&s, ADMIN, &["rollback", "tv/nothing"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("404"), "{err}");
    let (code, _, err) = cli(&s, ADMIN, &["routing", "tv/home", "--canary", "9:10"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("409 conflict"), "{err}");
    let (code, _, err) = cli(&s, ADMIN, &["push", "tvhome", &fine]).await;
    assert_ne!(code, 0);
    assert!(err.contains("NAMESPACE/NAME"), "{err}");
    let (code, _, err) = cli(&s, ADMIN, &["push", "tv/x", "/no/such/file.js"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("cannot read /no/such/file.js"), "{err}");

    // A server that is not there: the address and what to check.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let nowhere = format!("http://{}", closed.local_addr().expect("bound"));
    drop(closed);
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command.args(["list", "--server", &nowhere, "--token", ADMIN]);
    let out = actix_web::rt::task::spawn_blocking(move || command.output().expect("runs")).await.expect("joined");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot reach the admin API") && err.contains(&nowhere), "{err}");
}

#[actix_rt::test]
async fn trace_draws_the_fan_out_the_server_kept() {
    let s = TestServer::start(|_| {});
    let response = s
        .client
        .get(format!("{}/tv/home?user=7", s.url))
        .header("x-switchyard-trace", "1")
        .send()
        .await
        .expect("answers");
    let id = response.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    let (code, out, err) = cli(&s, ADMIN, &["trace", &id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("{id} tv/home revision 1 → 200 in ")), "{out}");
    assert!(out.contains("catalog.title ×212") && out.contains("collapsed into batches"), "{out}");
    assert!(out.contains("catalog.title {\"id\":") && out.contains("request cache"), "{out}");
    assert!(out.contains("users.get {\"id\":7}"), "{out}");
    let (code, _, err) = cli(&s, ADMIN, &["trace", "never-traced"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("X-Switchyard-Trace: 1"), "a missing trace says how to get one: {err}");
}
