//! Publishing at runtime over the admin API, end to end over real HTTP on 127.0.0.1:0: a publish is
//! served from the next request, revisions are numbered and hashed, routing splits traffic sticky
//! per user (canary, variants), rollback restores the previous active revision, a pin needs an
//! admin token, and every bad input gets its precise status and JSON error (design §10, §11).

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, SECRET, TV_TEAM, TestServer};
use switchyard::auth::sign;
use switchyard_storage::model::sha256_hex;

const V1: &str = "export default (req) => ({v: 1, revision: req.revision, variant: req.variant})";
const V2: &str = "export default (req) => ({v: 2, revision: req.revision, variant: req.variant})";
const V3: &str = "export default (req) => ({v: 3, revision: req.revision, variant: req.variant})";

async fn publish(s: &TestServer, endpoint: &str, source: &str, token: &str) -> (u16, Value) {
    let request = s
        .admin_request(Method::POST, &format!("/admin/v1/endpoints/{endpoint}/revisions"), Some(token))
        .header("content-type", "text/javascript")
        .body(source.to_owned());
    s.send(request).await
}

async fn routing(s: &TestServer, endpoint: &str, body: Value) -> (u16, Value) {
    let request =
        s.admin_request(Method::PUT, &format!("/admin/v1/endpoints/{endpoint}/routing"), Some(ADMIN)).json(&body);
    s.send(request).await
}

#[actix_rt::test]
async fn a_publish_is_served_from_the_next_request_with_numbered_hashed_revisions() {
    let s = TestServer::start(|_| {});
    assert_eq!(s.get("/tv/hello").await.0, 404);
    let (status, first) = publish(&s, "tv/hello", V1, ADMIN).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!((first["revision"].as_u64(), first["activated"].as_bool()), (Some(1), Some(true)));
    assert_eq!(first["sha256"].as_str(), Some(sha256_hex(V1).as_str()));
    assert_eq!(first["environment"], "dev", "every write says where it went");
    assert_eq!(s.get("/tv/hello").await, (200, json!({"v": 1, "revision": 1, "variant": null})));

    let notes = s
        .admin_request(Method::POST, "/admin/v1/endpoints/tv/hello/revisions", Some(ADMIN))
        .json(&json!({"source": V2, "notes": "second"}));
    let (status, second) = s.send(notes).await;
    assert_eq!((status, second["revision"].as_u64(), second["activated"].as_bool()), (201, Some(2), Some(false)));
    assert_eq!(s.get("/tv/hello").await.1["v"], 1, "a later publish gets no traffic by itself");

    let (status, shown) = s.send(s.admin_request(Method::GET, "/admin/v1/endpoints/tv/hello", Some(ADMIN))).await;
    assert_eq!(status, 200);
    let revisions = shown["revision_list"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 2);
    assert_eq!((revisions[1]["notes"].as_str(), revisions[1]["author"].as_str()), (Some("second"), Some("ops")));
    let (status, two) =
        s.send(s.admin_request(Method::GET, "/admin/v1/endpoints/tv/hello/revisions/2", Some(ADMIN))).await;
    assert_eq!((status, two["source"].as_str()), (200, Some(V2)));

    let (status, set) = routing(&s, "tv/hello", json!({"active": 2})).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(s.get("/tv/hello").await.1["v"], 2, "served from the next request, no restart");
    let response = s.client.get(format!("{}/tv/hello", s.url)).send().await.expect("answers");
    assert_eq!(response.headers()["x-switchyard-revision"], "2");
}

#[actix_rt::test]
async fn a_canary_and_variants_split_users_stickily_and_rollback_restores_the_active() {
    let s = TestServer::start(|_| {});
    for source in [V1, V2, V3] {
        publish(&s, "tv/split", source, ADMIN).await;
    }
    let (status, _) = routing(&s, "tv/split", json!({"active": 1, "canary": {"revision": 2, "percent": 10}})).await;
    assert_eq!(status, 200);
    let share = |revision: u32| {
        (0..10_000)
            .filter(|user| {
                let user = user.to_string();
                s.state.endpoints.resolve("tv", "split", Some(&user), 0).expect("served").revision.number == revision
            })
            .count()
    };
    let canary = share(2);
    assert!((800..=1200).contains(&canary), "10 % ± 2 % of 10,000 users: {canary}");
    // Over HTTP, as device users: the same user always gets the same revision.
    for user in 0..40 {
        let token = sign(SECRET, &json!({"sub": user.to_string(), "exp": 4_000_000_000u64}));
        let expected = s.state.endpoints.resolve("tv", "split", Some(&user.to_string()), 0).expect("served");
        for _ in 0..2 {
            let request = s.client.get(format!("{}/tv/split", s.url)).bearer_auth(&token);
            let (status, body) = s.send(request).await;
            assert_eq!((status, body["revision"].as_u64()), (200, Some(u64::from(expected.revision.number))));
            let variant = if expected.revision.number == 2 { json!("canary") } else { Value::Null };
            assert_eq!(body["variant"], variant);
        }
    }

    let variants = json!({"active": 1, "variants": [{"name": "b", "revision": 3, "percent": 30}]});
    assert_eq!(routing(&s, "tv/split", variants).await.0, 200);
    let b = share(3);
    assert!((2800..=3200).contains(&b), "30 % ± 2 %: {b}");
    assert_eq!(share(2), 0, "setting routing without a canary removed it");

    assert_eq!(routing(&s, "tv/split", json!({"active": 3, "canary": {"revision": 2, "percent": 5}})).await.0, 200);
    let (status, back) =
        s.send(s.admin_request(Method::POST, "/admin/v1/endpoints/tv/split/rollback", Some(ADMIN))).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["outcome"]["rolled_back"], json!({"from": 3, "to": 1}));
    assert_eq!(share(1), 10_000, "the previous active serves everyone: canary and variants cleared");
    let (status, refused) =
        s.send(s.admin_request(Method::POST, "/admin/v1/endpoints/tv/split/rollback", Some(ADMIN))).await;
    assert_eq!((status, refused["error"].as_str()), (409, Some("conflict")), "nothing left to roll back to");
}

#[actix_rt::test]
async fn a_pinned_revision_runs_only_with_an_admin_token_covering_the_endpoint() {
    let s = TestServer::start(|_| {});
    publish(&s, "tv/pin", V1, ADMIN).await;
    publish(&s, "tv/pin", V2, ADMIN).await;
    let get = |headers: &[(&str, &str)]| {
        let mut request = s.client.get(format!("{}/tv/pin", s.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        s.send(request)
    };
    assert_eq!(get(&[("x-switchyard-revision", "2")]).await.1["v"], 1, "no token: the header is ignored");
    let bearer = format!("Bearer {TV_TEAM}");
    let (status, pinned) = get(&[("x-switchyard-revision", "2"), ("authorization", &bearer)]).await;
    assert_eq!((status, pinned["v"].as_u64(), pinned["variant"].as_str()), (200, Some(2), Some("pinned")));
    let (_, header) = get(&[("x-switchyard-revision", "2"), ("x-switchyard-admin-token", ADMIN)]).await;
    assert_eq!(header["v"], 2, "the admin token in its own header works too");
    assert_eq!(get(&[("x-switchyard-revision", "9"), ("x-switchyard-admin-token", ADMIN)]).await.0, 404);
    publish(&s, "ios/pin", V1, ADMIN).await;
    publish(&s, "ios/pin", V2, ADMIN).await;
    let outside = s
        .client
        .get(format!("{}/ios/pin", s.url))
        .header("x-switchyard-revision", "2")
        .header("x-switchyard-admin-token", TV_TEAM);
    assert_eq!(s.send(outside).await.1["v"], 1, "a token outside its scope pins nothing");
}

#[actix_rt::test]
async fn bad_admin_input_gets_precise_statuses_and_stores_nothing() {
    let s = TestServer::start(|c| c.server.max_script_bytes = 1024);
    let (status, body) =
        publish(&s, "tv/broken", "export default function handle(req) {\n  return {a: };\n}\n", ADMIN).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!((body["error"].as_str(), body["line"].as_u64()), (Some("compile_error"), Some(2)));
    assert!(body["column"].is_u64() && body["message"].as_str().is_some_and(|m| m.contains("SyntaxError")));
    assert_eq!(
        s.send(s.admin_request(Method::GET, "/admin/v1/endpoints/tv/broken", Some(ADMIN))).await.0,
        404,
        "nothing stored"
    );
    // The engine reads sources as C strings: a NUL is a compile error here, not the engine's 500.
    let (status, body) = publish(&s, "tv/nul", "export default () =>\n  'a\0b'\n", ADMIN).await;
    assert_eq!((status, body["line"].as_u64(), body["column"].as_u64()), (422, Some(2), Some(5)), "{body}");

    let (status, body) = publish(&s, "tv/ok", V1, "not-a-token-at-all-123").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let (status, _) = s.send(s.admin_request(Method::GET, "/admin/v1/endpoints", None)).await;
    assert_eq!(status, 401);
    let (status, body) = publish(&s, "ps3/ok", V1, TV_TEAM).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    assert_eq!(publish(&s, "tv/ok", V1, TV_TEAM).await.0, 201, "inside its scope");
    let (status, body) = publish(&s, "tv/big", &format!("export default () => '{}'", "x".repeat(2000)), ADMIN).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("payload_too_large")));
    let (status, body) = publish(&s, "TV/ok", V1, ADMIN).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("namespace")));
    let (status, _) = publish(&s, "TV/ok", V1, "not-a-token-at-all-123").await;
    assert_eq!(status, 401, "without a valid token, nothing about the request is judged but the token");

    let (status, body) = routing(&s, "tv/ok", json!({"active": 1, "canary": {"revision": 1, "percent": "ten"}})).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("canary.percent")), "{body}");
    let (status, body) = routing(&s, "tv/ok", json!({"active": 1, "canry": null})).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("canry")), "{body}");
    let (status, body) = routing(&s, "tv/ok", json!({"active": 7})).await;
    assert_eq!((status, body["error"].as_str(), body["field"].as_str()), (409, Some("conflict"), Some("active")));
    publish(&s, "tv/ok", V2, ADMIN).await;
    let over = json!({"active": 1, "canary": {"revision": 2, "percent": 60}, "variants": [{"name": "b", "revision": 2, "percent": 50}]});
    assert_eq!(routing(&s, "tv/ok", over).await.0, 409, "over 100 %");
    assert_eq!(routing(&s, "tv/none", json!({"active": 1})).await.0, 404);
    let (status, body) = s.send(s.admin_request(Method::GET, "/admin/v1/nothing", Some(ADMIN))).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _) =
        s.send(s.admin_request(Method::GET, "/admin/v1/endpoints/tv/ok/revisions/abc", Some(ADMIN))).await;
    assert_eq!(status, 404);
    // Nothing above changed anything but the two publishes of tv/ok.
    let (_, audit) = s.send(s.admin_request(Method::GET, "/admin/v1/audit", Some(ADMIN))).await;
    let mine: Vec<&Value> =
        audit.as_array().expect("entries").iter().filter(|e| e["endpoint"]["name"] == "ok").collect();
    assert_eq!(mine.len(), 2, "{audit}");
}

#[actix_rt::test]
async fn the_audit_log_lists_every_change_with_its_author_and_deletes_keep_revisions() {
    let s = TestServer::start(|_| {});
    publish(&s, "tv/audited", V1, TV_TEAM).await;
    publish(&s, "tv/audited", V2, ADMIN).await;
    routing(&s, "tv/audited", json!({"active": 2})).await;
    s.send(s.admin_request(Method::POST, "/admin/v1/endpoints/tv/audited/rollback", Some(ADMIN))).await;
    let (status, deleted) =
        s.send(s.admin_request(Method::DELETE, "/admin/v1/endpoints/tv/audited", Some(ADMIN))).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(s.get("/tv/audited").await.0, 404, "no longer served");
    let (status, kept) =
        s.send(s.admin_request(Method::GET, "/admin/v1/endpoints/tv/audited/revisions/2", Some(ADMIN))).await;
    assert_eq!((status, kept["source"].as_str()), (200, Some(V2)), "revisions are kept");

    let (_, audit) = s.send(s.admin_request(Method::GET, "/admin/v1/audit", Some(ADMIN))).await;
    let mine: Vec<(String, String)> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["endpoint"]["name"] == "audited")
        .map(|e| {
            let action = e["action"].as_object().and_then(|a| a.keys().next().cloned()).unwrap_or_default();
            (e["author"].as_str().unwrap_or("").to_owned(), action)
        })
        .collect();
    let expected = [
        ("tv-team", "published"),
        ("ops", "published"),
        ("ops", "routing_set"),
        ("ops", "rolled_back"),
        ("ops", "deleted"),
    ];
    assert_eq!(mine, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (_, page) = s.send(s.admin_request(Method::GET, "/admin/v1/audit?limit=2", Some(ADMIN))).await;
    assert_eq!(page.as_array().map(Vec::len), Some(2), "bounded pages");
    let (status, _) = s.send(s.admin_request(Method::GET, "/admin/v1/audit?limit=0", Some(ADMIN))).await;
    assert_eq!(status, 400);
    let (_, scoped) = s.send(s.admin_request(Method::GET, "/admin/v1/audit", Some(TV_TEAM))).await;
    assert!(
        scoped.as_array().expect("entries").iter().all(|e| e["endpoint"]["namespace"] == "tv"),
        "a scoped token sees its namespaces only"
    );
    let (_, listed) = s.send(s.admin_request(Method::GET, "/admin/v1/endpoints", Some(TV_TEAM))).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "only tv/home of the samples: {listed}");
}

#[actix_rt::test]
async fn the_openapi_document_describes_every_admin_path() {
    let s = TestServer::start(|_| {});
    let (status, document) = s.send(s.client.get(format!("{}/admin/v1/openapi.json", s.admin))).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/admin/v1/endpoints",
        "/admin/v1/endpoints/{namespace}/{name}",
        "/admin/v1/endpoints/{namespace}/{name}/revisions",
        "/admin/v1/endpoints/{namespace}/{name}/revisions/{revision}",
        "/admin/v1/endpoints/{namespace}/{name}/routing",
        "/admin/v1/endpoints/{namespace}/{name}/rollback",
        "/admin/v1/dependencies",
        "/admin/v1/dependencies/{name}/settings",
        "/admin/v1/dependencies/{name}/chaos",
        "/admin/v1/audit",
    ] {
        assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    assert!(document["components"]["schemas"]["Routing"].is_object(), "types come from the code");
    assert_eq!(document, serde_json::to_value(switchyard::admin::openapi_document()).expect("json"));
}
