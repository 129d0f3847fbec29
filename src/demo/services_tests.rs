//! Unit tests of the demo operations (`services::execute`): the shape of every reply, the order and
//! omissions of batch replies, and bad requests. Apart from `services.rs` to keep both short.

use std::sync::LazyLock;

use serde_json::{Value, json};
use switchyard_actors::{BackendError, BackendErrorKind};

use super::data::DemoData;
use super::services::{Service, execute};

static DATA: LazyLock<DemoData> = LazyLock::new(|| DemoData::new(42));

fn ok(service: Service, operation: &str, args: Value) -> Value {
    execute(&DATA, service, operation, &args).unwrap_or_else(|e| panic!("{service}.{operation}: {e}")).to_value()
}

fn bad(service: Service, operation: &str, args: Value) -> String {
    let error: BackendError = execute(&DATA, service, operation, &args).expect_err("should be refused");
    assert_eq!(error.kind, BackendErrorKind::BadRequest, "{}", error.message);
    error.message
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[test]
fn users_get_returns_a_full_profile() {
    let user = ok(Service::Users, "get", json!({"id": 7}));
    assert_eq!(keys(&user), ["country", "id", "language", "maturity", "member_since", "name", "plan"]);
    assert_eq!(user["id"], 7);
    assert!(user["name"].as_str().is_some_and(|n| n.contains(' ')));
    assert!(["basic", "standard", "premium"].contains(&user["plan"].as_str().expect("a string")));
    assert!(["kids", "teen", "adult"].contains(&user["maturity"].as_str().expect("a string")));
    assert_eq!(user["member_since"].as_str().map(str::len), Some(10));
    assert!(bad(Service::Users, "get", json!({"id": 100_001})).contains("no user 100001"));
}

#[test]
fn subscriber_status_agrees_with_the_user() {
    let user = ok(Service::Users, "get", json!({"id": 9}));
    let status = ok(Service::Subscriber, "status", json!({"user": 9}));
    assert_eq!(keys(&status), ["maturity", "member_since", "plan", "status", "user"]);
    assert_eq!(status["user"], 9);
    assert_eq!(status["status"], "active");
    for field in ["plan", "maturity", "member_since"] {
        assert_eq!(status[field], user[field], "{field}");
    }
}

#[test]
fn lists_for_user_returns_rows_and_honours_limit() {
    let rows = ok(Service::Lists, "for_user", json!({"user": 3}));
    let rows = rows.as_array().expect("an array");
    assert!((10..=40).contains(&rows.len()));
    for row in rows {
        assert_eq!(keys(row), ["id", "name", "title_ids"]);
        let ids = row["title_ids"].as_array().expect("an array");
        assert!((10..=75).contains(&ids.len()));
        assert!(ids.iter().all(|id| id.as_u64().is_some_and(|id| DATA.title(id).is_some())));
    }
    let first = ok(Service::Lists, "for_user", json!({"user": 3, "limit": 2}));
    assert_eq!(first.as_array().map(Vec::as_slice), Some(&rows[..2]));
    assert_eq!(ok(Service::Lists, "for_user", json!({"user": 3, "limit": 0})), json!([]));
}

#[test]
fn catalog_titles_keeps_the_order_asked_and_omits_unknown_ids() {
    let titles = ok(Service::Catalog, "titles", json!({"ids": [42, 999_999, 7, 0, 4_999]}));
    let ids: Vec<u64> = titles.as_array().expect("an array").iter().filter_map(|t| t["id"].as_u64()).collect();
    assert_eq!(ids, [42, 7, 4_999]);
    assert_eq!(ok(Service::Catalog, "titles", json!({"ids": []})), json!([]));
    let title = &titles[0];
    assert_eq!(keys(title), ["boxart", "genres", "id", "kind", "maturity", "name", "runtime_min", "synopsis", "year"]);
    assert_eq!(keys(&title["boxart"]), ["large", "medium", "small"]);
    assert_eq!(title["boxart"]["large"], "https://art.switchyard.example/boxart/42/large.jpg");
    assert_eq!(ok(Service::Catalog, "title", json!({"id": 42})), *title);
    assert!(bad(Service::Catalog, "title", json!({"id": 5_001})).contains("no title 5001"));
}

#[test]
fn ratings_are_per_user_and_title_in_the_order_asked() {
    let ratings = ok(Service::Ratings, "predicted", json!({"user": 5, "ids": [10, 20, 999_999, 30]}));
    let ratings = ratings.as_array().expect("an array");
    let ids: Vec<u64> = ratings.iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [10, 20, 30]);
    for rating in ratings {
        assert_eq!(keys(rating), ["id", "rating"]);
        assert!(rating["rating"].as_f64().is_some_and(|r| (1.0..=5.0).contains(&r)));
    }
    let again = ok(Service::Ratings, "predicted", json!({"user": 5, "ids": [10, 20, 30]}));
    assert_eq!(again.as_array().map(Vec::as_slice), Some(ratings.as_slice()));
    let other: Vec<Value> =
        (6..20).map(|user| ok(Service::Ratings, "predicted", json!({"user": user, "ids": [10, 20, 30]}))).collect();
    assert!(other.iter().any(|r| r.as_array() != Some(ratings)), "ratings differ between users");
}

#[test]
fn bookmarks_are_zero_to_twenty_positions_inside_the_title() {
    let mut sizes = Vec::new();
    for user in 1..=60 {
        let marks = ok(Service::Bookmarks, "for_user", json!({"user": user}));
        let marks = marks.as_array().expect("an array");
        sizes.push(marks.len());
        for mark in marks {
            assert_eq!(keys(mark), ["position_s", "title_id"]);
            let title = DATA.title(mark["title_id"].as_u64().expect("an id")).expect("a catalogue title");
            let position = mark["position_s"].as_u64().expect("seconds");
            assert!(position < u64::from(title.runtime_min) * 60);
        }
    }
    assert!(sizes.iter().all(|&n| n <= 20));
    assert!(sizes.contains(&0) || sizes.iter().min() < sizes.iter().max());
}

#[test]
fn artwork_boxart_gives_a_url_per_known_id_in_the_size_asked() {
    let art = ok(Service::Artwork, "boxart", json!({"ids": [3, 0, 1], "size": "small"}));
    assert_eq!(
        art,
        json!([
            {"id": 3, "url": "https://art.switchyard.example/boxart/3/small.jpg"},
            {"id": 1, "url": "https://art.switchyard.example/boxart/1/small.jpg"},
        ])
    );
    assert!(bad(Service::Artwork, "boxart", json!({"ids": [1], "size": "huge"})).contains("small, medium, large"));
    assert!(bad(Service::Artwork, "boxart", json!({"ids": [1]})).contains("missing argument `size`"));
}

#[test]
fn recs_similar_returns_title_ids_with_a_default_limit() {
    let similar = ok(Service::Recs, "similar", json!({"id": 11}));
    let ids = similar.as_array().expect("an array");
    assert_eq!(ids.len(), 10);
    assert!(ids.iter().all(|id| id.as_u64().is_some_and(|id| id != 11 && DATA.title(id).is_some())));
    assert_eq!(ok(Service::Recs, "similar", json!({"id": 11, "limit": 3})), json!(ids[..3]));
    assert!(bad(Service::Recs, "similar", json!({"id": 11, "limit": 101})).contains("from 0 to 100"));
    assert!(bad(Service::Recs, "similar", json!({"id": 0})).contains("no title 0"));
}

#[test]
fn bad_requests_name_the_operation_and_the_problem() {
    assert_eq!(bad(Service::Users, "get", json!({})), "users.get: missing argument `id`");
    assert_eq!(bad(Service::Users, "get", json!(null)), "users.get: missing argument `id`");
    assert!(bad(Service::Users, "get", json!({"id": "7"})).contains("`id` must be a non-negative integer"));
    assert!(bad(Service::Subscriber, "status", json!({"user": 0})).contains("no user 0"));
    assert!(bad(Service::Catalog, "titles", json!({"ids": "1,2"})).contains("must be an array of ids"));
    assert!(bad(Service::Ratings, "predicted", json!({"ids": [1]})).contains("missing argument `user`"));
    assert_eq!(bad(Service::Catalog, "delete", json!({})), "catalog has no operation `delete` (it has: titles, title)");
}

#[test]
fn same_seed_same_replies_different_seed_different() {
    let other = DemoData::new(43);
    let again = DemoData::new(42);
    for (service, operation, args) in [
        (Service::Users, "get", json!({"id": 12})),
        (Service::Lists, "for_user", json!({"user": 12})),
        (Service::Catalog, "titles", json!({"ids": [1, 2, 3]})),
        (Service::Recs, "similar", json!({"id": 12})),
    ] {
        let mine = execute(&DATA, service, operation, &args).expect("ok");
        assert_eq!(execute(&again, service, operation, &args).expect("ok").as_str(), mine.as_str());
        assert_ne!(execute(&other, service, operation, &args).expect("ok").as_str(), mine.as_str(), "{service}");
    }
}
