//! The command line as a user runs it: `config --print-default` prints the defaults the server
//! uses, and `run FILE` executes a script against the in-process demo dependencies, printing its
//! response and fan-out, or the compile error with line and column.

use std::process::Command;

use switchyard::config::Config;
use switchyard::demo::DemoServices;
use switchyard::local_run::{LocalRequest, render, run_once};
use switchyard::node::Node;
use switchyard_endpoints::request_dispatch::CallOutcome;

fn switchyard(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn print_default_prints_the_defaults() {
    let (code, stdout, _) = switchyard(&["config", "--print-default"]);
    assert_eq!(code, 0);
    assert_eq!(Config::parse(&stdout).expect("valid TOML"), Config::default());
    assert!(stdout.contains("# "), "with comments");
}

#[test]
fn run_reports_a_compile_error_with_line_and_column() {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("tv.broken.js");
    std::fs::write(&file, "export default function handle(req) {\n  return {a: };\n}\n").expect("write");
    let (code, _, stderr) = switchyard(&["run", file.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(stderr.contains("SyntaxError") && stderr.contains("line 2"), "{stderr}");
}

#[actix_rt::test]
async fn run_once_shows_the_fan_out_with_collapsing_and_the_request_cache() {
    let node = Node::start_with(Config::default(), DemoServices::without_latency(42)).expect("node");
    let source = include_str!("../examples/endpoints/tv.home.js");
    let request = LocalRequest { user: Some("7".into()), ..Default::default() };
    let report = run_once(&node, "tv.home.js", source, &request).await.expect("runs");
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["device"], "tv");
    let outcomes: Vec<String> = report
        .calls
        .iter()
        .map(|c| serde_json::to_value(&c.outcome).expect("json")["outcome"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(outcomes.iter().any(|o| o == "collapsed"), "per-title lookups are collapsed");
    let phone = include_str!("../examples/endpoints/android.home.js");
    let android = run_once(&node, "android.home.js", phone, &request).await.expect("runs");
    let cached_users =
        android.calls.iter().filter(|c| c.dependency == "users" && matches!(c.outcome, CallOutcome::Cache)).count();
    assert_eq!(cached_users, 1, "android's second users.get comes from the request cache");
    let deps: std::collections::BTreeSet<&str> = report.calls.iter().map(|c| c.dependency.as_str()).collect();
    assert!(deps.len() >= 5, "the TV home fans out to at least five dependencies: {deps:?}");
    let text = render(&report);
    assert!(text.starts_with("status 200") && text.contains("catalog.title"), "{text}");
}

#[actix_rt::test]
async fn the_rust_home_screen_matches_the_scripted_one() {
    let node = Node::start_with(Config::default(), DemoServices::without_latency(42)).expect("node");
    let dispatch = switchyard_endpoints::RequestDispatch::new(std::sync::Arc::clone(&node.dependencies));
    let rust = switchyard_bench::rust_home::tv_home(std::rc::Rc::new(dispatch), 7).await.expect("composes");
    let request = LocalRequest { user: Some("7".into()), ..Default::default() };
    let script =
        run_once(&node, "tv.home.js", include_str!("../examples/endpoints/tv.home.js"), &request).await.expect("runs");
    assert!(normalized(&rust) == normalized(&script.body), "the same composition gives the same document");
}

/// JSON with every number as f64 (JavaScript prints 5.0 as 5).
fn normalized(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalized(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["config", "--print-default"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take()); // `| head` that already has enough
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(matches!(out.status.code(), Some(0 | 141)), "{:?}: {stderr}", out.status);
}
