//! The public listener end to end over real HTTP on 127.0.0.1:0: the sample endpoints' shapes,
//! fallbacks and dependency errors, progressive NDJSON, the sandbox limits under concurrent good
//! traffic, isolation between requests, device tokens, and the bad-input answers of design §11.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{SECRET, TestServer};
use switchyard::auth::sign;
use switchyard::demo::ChaosSettings;
use switchyard::node::Node;
use switchyard_actors::SettingsPatch;
use switchyard_actors::config::{BreakerPatch, Force};

fn titles_of(row: &Value) -> &Vec<Value> {
    row["titles"].as_array().expect("titles")
}

#[actix_rt::test]
async fn every_sample_endpoint_returns_its_documented_shape() {
    let s = TestServer::start(|_| {});

    let (status, tv) = s.get("/tv/home?user=7").await;
    assert_eq!(status, 200, "{tv}");
    assert_eq!(tv["device"], "tv");
    assert!(tv["profile"]["name"].is_string() && tv["profile"]["plan"].is_string());
    let rows = tv["rows"].as_array().expect("rows");
    assert!(rows.len() >= 10, "a TV gets every row");
    let first_row = rows.iter().find(|r| r["name"] != "Continue Watching").expect("a row");
    assert!(!titles_of(first_row).is_empty() && titles_of(first_row).len() <= 20);
    let title = &titles_of(first_row)[0];
    assert!(title["boxart"].as_str().expect("boxart").ends_with("/large.jpg"), "TV-sized art: {title}");
    assert!(title["synopsis"].is_string(), "a TV shows synopses");

    let (status, phone) = s.get("/android/home?user=7").await;
    assert_eq!(status, 200, "{phone}");
    let shelves = phone["shelves"].as_array().expect("shelves");
    assert!(!shelves.is_empty() && shelves.len() < rows.len(), "a phone gets fewer rows than a TV");
    let item = &shelves[0]["items"][0];
    assert!(item["img"].as_str().expect("img").ends_with("/small.jpg"));
    assert!(item.get("synopsis").is_none(), "no synopsis on a phone");

    let (status, ios) = s.get("/ios/home?user=7").await;
    assert_eq!(status, 200, "{ios}");
    assert!(ios["sections"].as_array().is_some_and(|s| !s.is_empty()));

    let (status, web) = s.get("/web/home?user=7&rows=5").await;
    assert_eq!(status, 200, "{web}");
    assert_eq!(web["rows"].as_array().expect("rows").len(), 5);
    assert_eq!(web["paging"], json!({"offset": 0, "rows": 5, "next": 5}));
    assert!(web["rows"][0]["titles"][0]["genres"].is_array(), "the web gets genres");

    let (status, ps3) = s.get("/ps3/home?user=7").await;
    assert_eq!(status, 200, "{ps3}");
    let items = ps3.as_array().expect("without a stream Accept, the items arrive as one array");
    assert!(items.iter().any(|i| i["kind"] == "header") && items.iter().any(|i| i["kind"] == "row"));
    assert_eq!(s.state.observe.endpoints.count("tv/home", "ok"), 1);
}

#[actix_rt::test]
async fn ps3_streams_ndjson_and_sse_lines() {
    let s = TestServer::start(|_| {});
    let response = s
        .client
        .get(format!("{}/ps3/home?user=7", s.url))
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.expect("body");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert!(lines.len() > 5 && lines.iter().all(|l| l["kind"].is_string()), "{text}");

    let sse = s
        .client
        .get(format!("{}/ps3/home?user=7", s.url))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("body");
    assert!(sse.starts_with("data: {") && sse.ends_with("event: end\ndata: {}\n\n"), "{sse}");
}

#[actix_rt::test]
async fn ndjson_items_arrive_before_the_slowest_call_finishes() {
    let s = TestServer::start(|_| {});
    s.publish("test/progressive", r#"export default (req) => Observable.merge(call("recs", "similar", {id: 1, limit: 2}).toList(), call("users", "get", {id: 1}))"#).await;
    s.state
        .node
        .demo
        .chaos("recs")
        .expect("recs")
        .set(ChaosSettings { latency_ms: 600, ..Default::default() })
        .expect("valid");
    let response = s
        .client
        .get(format!("{}/test/progressive", s.url))
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .expect("the headers come with the first item");
    let mut response = response;
    let first = response.chunk().await.expect("bytes").expect("a chunk");
    let first: Value = serde_json::from_slice(first.strip_suffix(b"\n").expect("a whole line")).expect("JSON");
    assert_eq!(first["id"], 1, "the user came first, alone: {first}");
    let rest = response.chunk().await.expect("bytes").expect("a second chunk");
    let recs: Value = serde_json::from_slice(rest.strip_suffix(b"\n").expect("a line")).expect("JSON");
    assert_eq!(recs.as_array().map(Vec::len), Some(2), "then the slow recs: {recs}");
}

fn force_open(node: &Node, dependency: &str) {
    let patch = SettingsPatch {
        breaker: Some(BreakerPatch { force: Some(Some(Force::Open)), ..Default::default() }),
        ..Default::default()
    };
    node.dependencies.registry().get(dependency).expect("exists").update_settings(&patch).expect("valid");
}

#[actix_rt::test]
async fn an_open_breaker_gives_the_fallback_or_503_or_the_scripts_catch_error() {
    let s = TestServer::start(|_| {});
    force_open(&s.state.node, "ratings");
    force_open(&s.state.node, "users");
    s.publish("test/ratings", r#"export default () => call("ratings", "predicted", {user: 1, ids: [1, 2]})"#).await;
    s.publish("test/users", r#"export default async () => (await call("users", "get", {id: 1}))[0]"#).await;
    s.publish(
        "test/caught",
        r#"export default () => call("users", "get", {id: 1}).catchError((e) => ({fallback: true, kind: e.kind, dependency: e.dependency}))"#,
    ).await;
    let (status, body) = s.get("/test/ratings").await;
    assert_eq!((status, body), (200, json!([])), "ratings' static fallback");

    let (status, body) = s.get("/test/users").await;
    assert_eq!(status, 503, "users has only a stale fallback with nothing remembered: {body}");
    assert_eq!(
        (body["error"].as_str(), body["dependency"].as_str(), body["kind"].as_str()),
        (Some("dependency"), Some("users"), Some("short_circuited"))
    );

    let (status, body) = s.get("/test/caught").await;
    assert_eq!((status, body), (200, json!({"fallback": true, "kind": "short_circuited", "dependency": "users"})));
    assert_eq!(s.state.observe.endpoints.count("test/users", "dependency"), 1);
}

/// Asks every `(path, limit)` at once, beside eight good requests to another endpoint, and checks each runaway answers
/// 500 with its limit while the good ones answer 200, and that every worker serves again after.
async fn runaways_answer_their_limit_beside_good_traffic(s: &TestServer, runaways: &[(&str, &str, &str)]) {
    for (path, source, _) in runaways {
        s.publish(path, source).await;
    }
    let bad = runaways.iter().map(|(path, _, limit)| async move {
        let (status, body) = s.get(&format!("/{path}")).await;
        assert_eq!(
            (status, body["error"].as_str(), body["limit"].as_str()),
            (500, Some("limit"), Some(*limit)),
            "{path}: {body}"
        );
        assert!(body["message"].as_str().expect("message").contains("limit"));
    });
    // The good requests fan out to nothing, so a full bulkhead of the demo services (eight Android
    // homes at once make 48 artwork calls, beyond its 15 places) cannot fail them: only the runaways
    // could.
    s.publish("test/good", "export default (req) => ({ok: true, user: req.query.user})").await;
    let good = (0..8).map(|_| async {
        let (status, body) = s.get("/test/good?user=3").await;
        assert_eq!((status, &body["ok"]), (200, &serde_json::json!(true)), "{body}");
    });
    futures::future::join(futures::future::join_all(bad), futures::future::join_all(good)).await;
    // Every worker serves the next request.
    for _ in 0..4 {
        assert_eq!(s.get("/ios/home?user=5").await.0, 200);
    }
}

#[actix_rt::test]
async fn a_busy_loop_answers_500_cpu_limit_while_other_endpoints_keep_answering() {
    // Only the CPU slice can stop `for(;;){}` before the (far) deadline.
    let s = TestServer::start(|c| c.scripts.cpu_slice_ms = 100);
    runaways_answer_their_limit_beside_good_traffic(
        &s,
        &[("test/loop", "export default () => { for (;;) {} }", "cpu")],
    )
    .await;
}

#[actix_rt::test]
async fn memory_stack_and_call_runaways_answer_500_with_their_limit() {
    // The CPU slice is as long as the deadline, so however slow the machine or the build, only the
    // limit each script is written to cross can stop it.
    let s = TestServer::start(|c| {
        c.scripts.cpu_slice_ms = 120_000;
        c.scripts.deadline_ms = 120_000;
        c.scripts.memory_bytes = 16 * 1024 * 1024;
    });
    let runaways = [
        ("test/alloc", "export default () => { const a = []; for (;;) a.push('x'.repeat(4096)); }", "memory"),
        ("test/recurse", "const f = (n) => f(n + 1) + 1;\nexport default () => f(0)", "stack"),
        (
            "test/calls",
            "export default async () => { for (let i = 0; i < 10000; i++) call('users', 'get', {id: i}).then(() => {}); return 1 }",
            "calls",
        ),
    ];
    runaways_answer_their_limit_beside_good_traffic(&s, &runaways).await;
}

#[actix_rt::test]
async fn nothing_a_request_sets_on_global_this_is_seen_by_the_next() {
    let s = TestServer::start(|c| c.server.workers = 1);
    // The built-ins and the global object are shared by the requests of a worker and frozen: a write
    // is refused (a TypeError the script may catch), and nothing reaches the next request.
    s.publish(
        "test/leak",
        "export default () => { const seen = globalThis.secret ?? null; let refused = null;\n\
         try { globalThis.secret = 'from an earlier request'; } catch (e) { refused = e.name; }\n\
         return {seen, refused}; }",
    )
    .await;
    for _ in 0..3 {
        assert_eq!(s.get("/test/leak").await, (200, json!({"seen": null, "refused": "TypeError"})));
    }
    s.publish("test/uncaught", "export default () => { globalThis.secret = 1; }").await;
    let (status, error) = s.get("/test/uncaught").await;
    assert_eq!((status, error["name"].as_str(), error["line"].as_u64()), (500, Some("TypeError"), Some(1)), "{error}");
    assert_eq!(error["column"], 24, "the column as the author wrote it (at `globalThis`): {error}");
}

#[actix_rt::test]
async fn script_errors_answer_500_with_revision_line_and_column() {
    let s = TestServer::start(|_| {});
    s.publish("test/throws", "export default function handle(req) {\n  return req.nothing.here;\n}\n").await;
    let (status, body) = s.get("/test/throws").await;
    assert_eq!(status, 500);
    assert_eq!(
        (body["error"].as_str(), body["name"].as_str(), body["line"].as_u64(), body["revision"].as_u64()),
        (Some("script"), Some("TypeError"), Some(2), Some(1))
    );
    assert!(body["request_id"].is_string());
}

#[actix_rt::test]
async fn the_request_context_reaches_the_script() {
    let s = TestServer::start(|_| {});
    s.publish("test/echo", "export default (req) => ({user: req.user, device: req.device, geo: req.geo, tail: req.tail, q: req.query.q, body: req.body, method: req.method, id: req.requestId})").await;
    let token = sign(SECRET, &json!({"sub": "42", "exp": 4_000_000_000u64}));
    let request = s
        .client
        .post(format!("{}/test/echo/a/b?q=x%20y", s.url))
        .bearer_auth(token)
        .header("x-device-type", "roku")
        .header("x-geo-country", "SE")
        .header("x-request-id", "req-1")
        .header("content-type", "application/json")
        .body(json!({"n": 1}).to_string());
    let (status, body) = s.send(request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["id"], 42);
    assert_eq!(
        (body["device"].as_str(), body["geo"].as_str(), body["tail"].as_str()),
        (Some("roku"), Some("SE"), Some("a/b"))
    );
    assert_eq!(
        (body["q"].as_str(), body["body"].clone(), body["method"].as_str(), body["id"].as_str()),
        (Some("x y"), json!({"n": 1}), Some("POST"), Some("req-1"))
    );
}

#[actix_rt::test]
async fn bad_input_gets_precise_statuses_and_json_errors() {
    let s = TestServer::start(|c| c.server.max_body_bytes = 1024);
    let (status, body) = s.get("/nowhere/at-all").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert_eq!(s.get("/single").await.0, 404);

    let bad_json = s.client.post(format!("{}/tv/home", s.url)).header("content-type", "application/json").body("{nope");
    let (status, body) = s.send(bad_json).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));

    let (status, body) = s.send(s.client.post(format!("{}/tv/home", s.url)).body(vec![b'x'; 4096])).await;
    assert_eq!((status, body["error"].as_str(), body["limit"].as_u64()), (413, Some("payload_too_large"), Some(1024)));

    let forged = sign("not-the-server-secret-at-all", &json!({"sub": "1", "exp": 4_000_000_000u64}));
    let (status, body) = s.send(s.client.get(format!("{}/tv/home", s.url)).bearer_auth(forged)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    assert_eq!(s.state.observe.endpoints.count("tv/home", "payload_too_large"), 1);
    assert_eq!(s.get("/healthz").await, (200, json!({"status": "ok"})));
}

#[actix_rt::test]
async fn an_endpoint_at_its_concurrency_limit_answers_503_and_others_are_unaffected() {
    let s = TestServer::start(|c| c.server.endpoint_concurrency = 1);
    s.publish("test/slow", r#"export default () => call("recs", "similar", {id: 1})"#).await;
    // recs hangs: the first request holds the endpoint's only place until recs' timeout (1 s).
    let recs = s.state.node.demo.chaos("recs").expect("recs");
    recs.set(ChaosSettings { hang: true, ..Default::default() }).expect("valid");
    let (slow, busy) = futures::future::join(s.get("/test/slow"), async {
        // Wait (bounded) until the first request holds the place, instead of guessing a delay.
        let endpoint = s.state.endpoints.resolve("test", "slow", None, 0).expect("published");
        for _ in 0..2_000 {
            if endpoint.in_flight() == 1 {
                break;
            }
            actix_rt::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(endpoint.in_flight(), 1, "the slow request is running");
        let busy = s.get("/test/slow").await;
        let other = s.get("/android/home?user=1").await;
        (busy, other)
    })
    .await;
    assert_eq!(slow.0, 200, "recs' silent fallback answers after its timeout: {}", slow.1);
    let ((busy_status, busy_body), (other_status, _)) = busy;
    assert_eq!((busy_status, busy_body["error"].as_str()), (503, Some("endpoint_busy")));
    assert_eq!(other_status, 200);
}

#[actix_rt::test]
async fn home_screens_reuse_their_workers_warm_contexts() {
    let s = TestServer::start(|c| c.server.workers = 1);
    let before = switchyard_endpoints::script::pool_stats();
    for user in 1..=20 {
        for device in ["tv", "ps3", "android", "ios", "web"] {
            assert_eq!(s.get(&format!("/{device}/home?user={user}")).await.0, 200);
        }
    }
    let after = switchyard_endpoints::script::pool_stats();
    // Other tests of this binary run beside this one and count too: the bound is generous, the
    // failure it catches (a context set up for each of the 100 requests) is not.
    assert!(
        after.warm_contexts_created - before.warm_contexts_created < 30,
        "100 requests set up {} warm contexts ({} runtimes discarded)",
        after.warm_contexts_created - before.warm_contexts_created,
        after.runtimes_discarded - before.runtimes_discarded
    );
}

#[actix_rt::test]
async fn a_revision_that_keeps_running_away_is_suspended_while_others_answer() {
    let s = TestServer::start(|c| {
        c.scripts.cpu_slice_ms = 50;
        c.scripts.suspend_after = 3;
        c.scripts.suspend_ms = 600_000;
    });
    s.publish("test/spin", "export default () => { for (;;) {} }").await;
    let mut answers = Vec::new();
    for _ in 0..10 {
        let (status, body) = s.get("/test/spin").await;
        answers.push((status, body["error"].as_str().unwrap_or_default().to_owned()));
    }
    let first_suspended = answers.iter().position(|(status, _)| *status == 503).expect("suspended: {answers:?}");
    assert!(first_suspended >= 3, "not before three limits: {answers:?}");
    assert!(answers[..first_suspended].iter().all(|a| *a == (500, "limit".to_owned())), "{answers:?}");
    assert!(answers[first_suspended..].iter().all(|a| *a == (503, "suspended".to_owned())), "{answers:?}");
    let response = s.client.get(format!("{}/test/spin", s.url)).send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "600", "suspend_ms rounded up to seconds");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["retry_after_s"], 600);
    assert_eq!((body["retryable"].as_bool(), body["fault"].as_str()), (Some(true), Some("script")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("revision 1 is suspended"), "{body}");
    // Another revision of the same endpoint is not suspended, nor is another endpoint.
    assert_eq!(s.publish("test/spin", "export default () => 'fixed'").await, 2);
    let routing = s
        .admin_request(reqwest::Method::PUT, "/admin/v1/endpoints/test/spin/routing", Some(support::ADMIN))
        .json(&json!({"active": 2}));
    assert_eq!(s.send(routing).await.0, 200);
    assert_eq!(s.get("/test/spin").await, (200, json!("fixed")));
    assert_eq!(s.get("/ios/home?user=5").await.0, 200);
    assert!(s.state.observe.endpoints.count("test/spin", "suspended") >= 1);
}
