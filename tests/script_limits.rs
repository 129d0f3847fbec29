//! Changing the script sandbox's limits while the node runs, over real HTTP on 127.0.0.1:0:
//! `GET` / `PUT /admin/v1/scripts/limits` (design §5): a lowered limit binds the next request —
//! also on the runtimes the workers already pooled —, a bad value is refused with 400 naming its
//! key and changes nothing, and only a token of scope `*` may change them.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, TV_TEAM, TestServer};

const PATH: &str = "/admin/v1/scripts/limits";

/// About 8 MB of array: fine under the default 32 MiB.
const BIG: &str = "export default () => ({ length: new Array(500000).fill(0).length })";
/// Three dependency calls.
const THREE_CALLS: &str =
    "export default async () => (await Promise.all([1, 2, 3].map((id) => call('users', 'get', {id})))).length";

async fn put(s: &TestServer, body: Value, token: Option<&str>) -> (u16, Value) {
    s.send(s.admin_request(Method::PUT, PATH, token).json(&body)).await
}

async fn show(s: &TestServer) -> Value {
    let (status, limits) = s.send(s.admin_request(Method::GET, PATH, Some(ADMIN))).await;
    assert_eq!(status, 200, "{limits}");
    limits
}

#[actix_rt::test]
async fn lowered_limits_bind_the_next_requests_even_on_pooled_runtimes() {
    let s = TestServer::start(|_| {});
    s.publish("tv/big", BIG).await;
    s.publish("tv/three", THREE_CALLS).await;
    let before = show(&s).await;
    assert_eq!((before["memory_bytes"].as_u64(), before["max_calls"].as_u64()), (Some(32 << 20), Some(500)));
    // Enough requests that both workers have runtimes pooled under the old limits.
    for _ in 0..6 {
        assert_eq!(s.get("/tv/big").await, (200, json!({"length": 500000})));
        assert_eq!(s.get("/tv/three").await, (200, json!(3)));
    }

    // Suspension off, so every request below runs and meets the limits.
    let (status, now) =
        put(&s, json!({"memory_bytes": 4 << 20, "max_calls": 2, "suspend_after": 0}), Some(ADMIN)).await;
    assert_eq!(status, 200, "{now}");
    let mut expected = before.clone();
    expected["memory_bytes"] = json!(4 << 20);
    expected["max_calls"] = json!(2);
    expected["suspend_after"] = json!(0);
    assert_eq!(now, expected, "the answer is all the limits now in force");
    assert_eq!(show(&s).await, expected);
    for _ in 0..6 {
        let (status, body) = s.get("/tv/big").await;
        assert_eq!((status, body["error"].as_str(), body["limit"].as_str()), (500, Some("limit"), Some("memory")));
        let (status, body) = s.get("/tv/three").await;
        assert_eq!((status, body["error"].as_str(), body["limit"].as_str()), (500, Some("limit"), Some("calls")));
    }

    let (status, _) =
        put(&s, json!({"memory_bytes": 32 << 20, "max_calls": 500, "suspend_after": 5}), Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert_eq!(s.get("/tv/big").await, (200, json!({"length": 500000})), "raised again, it fits again");
    assert_eq!(show(&s).await, before);
}

#[actix_rt::test]
async fn a_bad_value_is_refused_naming_its_key_and_changes_nothing() {
    let s = TestServer::start(|_| {});
    let before = show(&s).await;
    for (body, field) in [
        (json!({"memory_bytes": 1}), "memory_bytes"),
        (json!({"stack_bytes": 64 << 20}), "stack_bytes"),
        (json!({"cpu_slice_ms": 10_000}), "cpu_slice_ms"),
        (json!({"max_calls": 0, "deadline_ms": 100}), "max_calls"),
        (json!({"max_calls": "ten"}), "max_calls"),
        (json!({"deadline_ms": -1}), "deadline_ms"),
    ] {
        let (status, error) = put(&s, body.clone(), Some(ADMIN)).await;
        assert_eq!((status, error["error"].as_str()), (400, Some("bad_request")), "{body}: {error}");
        assert_eq!(error["field"].as_str(), Some(field), "{body}: {error}");
    }
    let (status, error) = put(&s, json!({"memory": 1 << 30}), Some(ADMIN)).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap_or_default().contains("unknown field `memory`"), "{error}");
    let (status, _) = s.send(s.admin_request(Method::PUT, PATH, Some(ADMIN)).body("{nope")).await;
    assert_eq!(status, 400);
    assert_eq!(show(&s).await, before, "nothing changed");
}

#[actix_rt::test]
async fn only_a_token_of_scope_star_changes_the_limits() {
    let s = TestServer::start(|_| {});
    let before = show(&s).await;
    let (status, error) = put(&s, json!({"max_calls": 3}), None).await;
    assert_eq!((status, error["error"].as_str()), (401, Some("unauthorized")), "{error}");
    let (status, error) = put(&s, json!({"max_calls": 3}), Some("not-a-token-of-this-node")).await;
    assert_eq!((status, error["error"].as_str()), (401, Some("unauthorized")), "{error}");
    let (status, error) = put(&s, json!({"max_calls": 3}), Some(TV_TEAM)).await;
    assert_eq!((status, error["error"].as_str()), (403, Some("forbidden")), "{error}");
    let (status, _) = s.send(s.admin_request(Method::GET, PATH, None)).await;
    assert_eq!(status, 401);
    let (status, seen) = s.send(s.admin_request(Method::GET, PATH, Some(TV_TEAM))).await;
    assert_eq!((status, &seen), (200, &before), "any admin token may read them");
    assert_eq!(show(&s).await, before, "nothing changed");
}

#[actix_rt::test]
async fn the_openapi_document_lists_both_routes() {
    let s = TestServer::start(|_| {});
    let (status, document) = s.send(s.client.get(format!("{}/admin/v1/openapi.json", s.admin))).await;
    assert_eq!(status, 200);
    let path = &document["paths"][PATH];
    assert!(path["get"].is_object() && path["put"].is_object(), "{path}");
    assert!(path["put"]["responses"]["400"].is_object(), "{path}");
}
