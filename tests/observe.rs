//! "See it now", black-box: the Hystrix stream (field set and types against a fixture written from
//! Hystrix 1.5's serializer, pings when idle, the client limit, the token in a header or the query,
//! CORS), `/metrics` parsed by an independent OpenMetrics parser with counters that move with
//! traffic, request traces (every call of `/tv/home` with its outcome, a collapsed batch and a
//! cache hit among them), and the history.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use support::{ADMIN, TV_TEAM, TestServer};

/// Reads the stream at `url` until `enough` says the text so far suffices (bounded: 15 s).
async fn read_stream(response: reqwest::Response, enough: impl Fn(&str) -> bool) -> String {
    let mut response = response;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !enough(&text) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk()).await;
        match chunk {
            Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(Ok(None)) => panic!("the stream ended: {text}"),
            Ok(Err(e)) => panic!("the stream broke: {e}"),
            Err(_) => panic!("the stream did not say enough within 15 s: {text}"),
        }
    }
    text
}

/// The `data:` frames of a stream's text, parsed.
fn frames(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|json| serde_json::from_str(json).unwrap_or_else(|e| panic!("frame is not JSON ({e}): {json}")))
        .collect()
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

async fn stream(s: &TestServer, path: &str) -> reqwest::Response {
    s.client.get(format!("{}{path}", s.admin)).send().await.expect("the stream answers")
}

#[actix_rt::test]
async fn every_frame_has_exactly_the_fields_and_types_of_hystrix_serializer() {
    let s = TestServer::start(|_| {});
    let fixture: Value = serde_json::from_str(include_str!("fixtures/hystrix_stream_fields.json")).unwrap();
    for user in 1..=3 {
        assert_eq!(s.get(&format!("/tv/home?user={user}")).await.0, 200);
    }
    let response = stream(&s, &format!("/hystrix.stream?delay=100&token={ADMIN}")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let text =
        read_stream(response, |t| t.contains("HystrixCollapser") && t.matches("HystrixCommand").count() >= 7).await;
    let mut seen = BTreeMap::new();
    for frame in frames(&text) {
        let kind = frame["type"].as_str().expect("every frame has a type").to_owned();
        *seen.entry(kind.clone()).or_insert(0) += 1;
        let Some(expected) = fixture.get(&kind).and_then(Value::as_object) else {
            assert_eq!(kind, "SwitchyardEndpoint", "a frame of an unknown type");
            continue;
        };
        let fields = frame.as_object().unwrap();
        let missing: Vec<_> = expected.keys().filter(|k| !fields.contains_key(*k)).collect();
        let extra: Vec<_> = fields.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{kind}: missing {missing:?}, extra {extra:?}");
        for (field, want) in expected {
            let value = &fields[field];
            let want = want.as_str().unwrap();
            match want {
                "percentiles" | "batch sizes" => {
                    let keys: Vec<&str> =
                        fixture[want].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
                    let got = value.as_object().unwrap_or_else(|| panic!("{kind}.{field} is not an object"));
                    assert_eq!(
                        got.keys().map(String::as_str).collect::<std::collections::BTreeSet<_>>(),
                        keys.iter().copied().collect(),
                        "{kind}.{field}"
                    );
                    assert!(got.values().all(|v| json_type(v) == "integer"), "{kind}.{field}: {got:?}");
                }
                "string or null" => assert!(matches!(json_type(value), "string" | "null"), "{kind}.{field}: {value}"),
                _ => assert_eq!(json_type(value), want, "{kind}.{field} = {value}"),
            }
        }
    }
    assert!(seen["HystrixCommand"] >= 7 && seen["HystrixThreadPool"] >= 7 && seen["HystrixCollapser"] >= 1, "{seen:?}");
    // The calls the TV home made show: catalog's title lookups were collapsed, its users call succeeded.
    let all = frames(&text);
    let command = |name: &str| all.iter().find(|f| f["type"] == "HystrixCommand" && f["name"] == name).unwrap();
    assert!(command("catalog")["rollingCountCollapsedRequests"].as_u64().unwrap() > 0);
    assert_eq!(command("users")["rollingCountSuccess"], 3);
    assert_eq!(command("users")["requestCount"], 3);
    let endpoint = all.iter().find(|f| f["type"] == "SwitchyardEndpoint" && f["name"] == "tv/home").unwrap();
    assert_eq!(endpoint["requestCount"], 3);
    assert_eq!(endpoint["split"], serde_json::json!([{"revision": 1, "variant": null, "requestCount": 3}]));
}

#[actix_rt::test]
async fn an_idle_stream_pings_and_a_busy_one_does_not() {
    let s = TestServer::start(|_| {});
    let idle = stream(&s, &format!("/hystrix.stream?delay=100&token={ADMIN}")).await;
    let text = read_stream(idle, |t| t.matches("ping: \n\n").count() >= 2).await;
    assert!(!text.contains("data:"), "nothing ran yet, so nothing to report: {text}");
    assert_eq!(s.get("/tv/home?user=1").await.0, 200);
    let busy = stream(&s, &format!("/hystrix.stream?delay=100&token={ADMIN}")).await;
    let text = read_stream(busy, |t| t.contains("HystrixCommand")).await;
    assert!(!text.contains("ping:"), "{text}");
}

#[actix_rt::test]
async fn the_stream_needs_a_token_in_the_header_or_the_query_and_answers_cors() {
    let s = TestServer::start(|_| {});
    let none = stream(&s, "/hystrix.stream").await;
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["access-control-allow-origin"], "*", "a refusal is readable cross-origin");
    let wrong = stream(&s, "/hystrix.stream?token=not-a-token-at-all").await;
    assert_eq!(wrong.status(), 401);
    let query = stream(&s, &format!("/hystrix.stream?token={ADMIN}")).await;
    assert_eq!(query.status(), 200);
    assert_eq!(query.headers()["access-control-allow-origin"], "*");
    drop(query);
    let header = s.admin_request(Method::GET, "/turbine.stream", Some(TV_TEAM)).send().await.unwrap();
    assert_eq!(header.status(), 200, "any admin token may watch");
    drop(header);
    let preflight = s
        .admin_request(Method::OPTIONS, "/hystrix.stream", None)
        .header("origin", "http://dashboard.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-headers"], "Authorization");
}

#[actix_rt::test]
async fn beyond_the_client_limit_a_stream_is_refused_until_one_leaves() {
    let s = TestServer::start(|c| c.observe.stream_clients = 2);
    let path = format!("/hystrix.stream?delay=100&token={ADMIN}");
    let first = stream(&s, &path).await;
    let second = stream(&s, &format!("/turbine.stream?delay=100&token={ADMIN}")).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = stream(&s, &path).await;
    assert_eq!(third.status(), 503);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    drop(first);
    // The server notices the closed connection at its next frame (100 ms): poll for the free place.
    let mut status = 503;
    for _ in 0..100 {
        let again = stream(&s, &path).await;
        status = again.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "a place frees when a client leaves");
}

#[actix_rt::test]
async fn metrics_parse_as_openmetrics_and_counters_move_with_traffic() {
    let s = TestServer::start(|_| {});
    let scrape = || async {
        let response = s.admin_request(Method::GET, "/metrics", Some(ADMIN)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
        let text = response.text().await.unwrap();
        let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text)
            .unwrap_or_else(|e| panic!("not OpenMetrics ({e:?}):\n{text}"));
        (text, parsed)
    };
    let value = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    };
    let (before, parsed) = scrape().await;
    for family in ["switchyard_dependency_events", "switchyard_dependency_latency_seconds", "switchyard_raft_term"] {
        assert!(parsed.families.contains_key(family), "{family} missing: {:?}", parsed.families.keys());
    }
    let users_success = r#"switchyard_dependency_events_total{dependency="users",event="success"}"#;
    let tv_ok = r#"switchyard_endpoint_requests_total{endpoint="tv/home",revision="1",variant="",outcome="ok"}"#;
    let users_latency = r#"switchyard_dependency_latency_seconds_count{dependency="users"}"#;
    for user in 1..=4 {
        assert_eq!(s.get(&format!("/tv/home?user={user}")).await.0, 200);
    }
    let (after, parsed) = scrape().await;
    assert_eq!(value(&after, users_success) - value(&before, users_success), 4.0);
    assert_eq!(value(&after, tv_ok) - value(&before, tv_ok), 4.0);
    assert_eq!(value(&after, users_latency) - value(&before, users_latency), 4.0);
    assert!(parsed.families.contains_key("switchyard_endpoint_latency_seconds"));
    assert_eq!(value(&after, "switchyard_raft_is_leader"), 1.0, "a node alone leads itself");
    let no_token = s.admin_request(Method::GET, "/metrics", None).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
}

#[actix_rt::test]
async fn a_traced_tv_home_lists_every_call_with_its_outcome() {
    let s = TestServer::start(|_| {});
    let response =
        s.client.get(format!("{}/tv/home?user=7", s.url)).header("x-switchyard-trace", "1").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let (status, trace) = s.send(s.admin_request(Method::GET, &format!("/admin/v1/traces/{id}"), Some(ADMIN))).await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(
        (trace["endpoint"].as_str(), trace["revision"].as_u64(), trace["status"].as_u64()),
        (Some("tv/home"), Some(1), Some(200))
    );
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls.len() as u64, trace["call_count"].as_u64().unwrap());
    let count = |outcome: &str| calls.iter().filter(|c| c["outcome"] == outcome).count();
    // One call per dependency of the first round and the round-wide ones, a lookup per title.
    let titles: std::collections::BTreeSet<u64> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["titles"].as_array().unwrap())
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(count("collapsed"), titles.len(), "each title's lookup rode in a batch");
    assert_eq!(count("cache"), 1, "the billboard's lookup is the same call as its row's");
    assert_eq!(count("success"), 6, "users, subscriber, lists, bookmarks, artwork, ratings");
    let batch = calls.iter().find(|c| c["outcome"] == "collapsed").unwrap();
    assert!(batch["batch"].as_u64().is_some(), "a collapsed call names its batch: {batch}");
    for call in calls {
        assert!(
            call["dependency"].is_string()
                && call["operation"].is_string()
                && call["start_ms"].is_number()
                && call["duration_ms"].is_number(),
            "{call}"
        );
    }
    // Another team's token may not read a trace of the tv namespace; an untraced request is not kept.
    let ps3_only = "test-ps3-team-token-0123456789";
    let (status, _) = s.send(s.admin_request(Method::GET, &format!("/admin/v1/traces/{id}"), Some(ps3_only))).await;
    assert_eq!(status, 401, "not a token of this server");
    let untraced = s.client.get(format!("{}/tv/home?user=7", s.url)).send().await.unwrap();
    let other = untraced.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (status, error) = s.send(s.admin_request(Method::GET, &format!("/admin/v1/traces/{other}"), Some(ADMIN))).await;
    assert_eq!(status, 404, "{error}");
}

#[actix_rt::test]
async fn the_trace_ring_keeps_only_the_newest() {
    let s = TestServer::start(|c| c.observe.traces_kept = 2);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response =
            s.client.get(format!("{}/tv/home?user=7", s.url)).header("x-switchyard-trace", "1").send().await.unwrap();
        ids.push(response.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(s.send(s.admin_request(Method::GET, &format!("/admin/v1/traces/{id}"), Some(ADMIN))).await.0);
    }
    assert_eq!(statuses, [404, 200, 200]);
}

#[actix_rt::test]
async fn the_history_serves_the_samples_taken() {
    let s = TestServer::start(|_| {});
    assert_eq!(s.get("/tv/home?user=1").await.0, 200);
    let (status, _) = s.send(s.admin_request(Method::GET, "/admin/v1/stats/history", None)).await;
    assert_eq!(status, 401);
    // The sampler takes one every 10 s of real time; take one now the way it does.
    let state = &s.state;
    let dependencies = state.node.dependencies.registry().snapshots();
    state.observe.history.sample(1_000, &dependencies, &state.observe.endpoints.snapshots(tokio::time::Instant::now()));
    let (status, history) = s.send(s.admin_request(Method::GET, "/admin/v1/stats/history", Some(TV_TEAM))).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["resolution_s"], 10);
    assert_eq!(history["endpoints"]["tv/home"][0]["requests"], 1);
    assert_eq!(history["dependencies"]["users"][0]["requests"], 1);
    assert_eq!(history["dependencies"]["catalog"][0]["open"], false);
}
