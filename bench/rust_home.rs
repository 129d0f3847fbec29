//! The TV home screen composed in Rust with [`Observable`]: the same calls and the same shape as
//! the `tv/home` sample script (`examples/endpoints/tv.home.js`). It is the in-process baseline
//! the script benchmark measures the JavaScript against, and `examples/home_screen.rs` runs it.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{Value, json};
use switchyard_endpoints::Dispatch;
use switchyard_endpoints::observable::{Observable, ObservableError, call};

/// The TV home of `user`: who the user is and which rows they get, then everything about the
/// titles of all rows at once (per-title lookups, one box-art call, one ratings call).
pub async fn tv_home(dispatch: Rc<dyn Dispatch>, user: u64) -> Result<Value, ObservableError> {
    let d = || Rc::clone(&dispatch);
    let profile = Observable::zip(vec![
        call(d(), "users", "get", json!({"id": user})),
        call(d(), "subscriber", "status", json!({"user": user})),
    ]);
    let lists = call(d(), "lists", "for_user", json!({"user": user, "limit": 12})).to_list();
    let bookmarks = call(d(), "bookmarks", "for_user", json!({"user": user})).on_error_resume(|_| Observable::empty());
    let (profile, lists, bookmarks) = futures::join!(profile.collect(), lists.collect(), bookmarks.collect());
    let (profile, lists, bookmarks) = (profile?, lists?, bookmarks?);
    let [user_info, plan] = profile
        .into_iter()
        .next()
        .and_then(|p| <[Value; 2]>::try_from(p).ok())
        .ok_or_else(|| ObservableError::Message("users.get or subscriber.status answered nothing".into()))?;

    let resume: Vec<Value> = bookmarks.into_iter().take(10).collect();
    let mut rows: Vec<(Value, Vec<Value>)> = lists
        .into_iter()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|row| {
            let ids = row["title_ids"].as_array().map(|a| a.iter().take(20).cloned().collect()).unwrap_or_default();
            (row["name"].clone(), ids)
        })
        .collect();
    if !resume.is_empty() {
        rows.insert(0, (json!("Continue Watching"), resume.iter().map(|b| b["title_id"].clone()).collect()));
    }
    let mut seen = HashSet::new();
    let ids: Vec<Value> =
        rows.iter().flat_map(|(_, ids)| ids).filter(|id| seen.insert(id.to_string())).cloned().collect();

    let titles = Observable::from_iter(ids.clone())
        .flat_map({
            let dispatch = d();
            move |id| {
                call(Rc::clone(&dispatch), "catalog", "title", json!({"id": id}))
                    .on_error_resume(|_| Observable::empty())
            }
        })
        .collect();
    let art = call(d(), "artwork", "boxart", json!({"ids": ids, "size": "large"})).collect();
    let ratings = call(d(), "ratings", "predicted", json!({"user": user, "ids": ids})).collect();
    // The billboard: the first row's first title, the same call as its row's lookup (a cache hit).
    let featured = rows.first().and_then(|(_, ids)| ids.first().cloned());
    let billboard = match featured {
        Some(id) => call(d(), "catalog", "title", json!({"id": id})).on_error_resume(|_| Observable::empty()),
        None => Observable::empty(),
    }
    .collect();
    let (titles, art, ratings, billboard) = futures::join!(titles, art, ratings, billboard);
    let billboard = billboard?
        .into_iter()
        .next()
        .map_or(Value::Null, |t| json!({"id": t["id"], "name": t["name"], "synopsis": t["synopsis"]}));
    let index = |items: Vec<Value>, key: &str| -> HashMap<String, Value> {
        items.into_iter().map(|item| (item[key].to_string(), item)).collect()
    };
    let (by_id, art, ratings, positions) =
        (index(titles?, "id"), index(art?, "id"), index(ratings?, "id"), index(resume, "title_id"));

    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(name, ids)| {
            let titles: Vec<Value> = ids
                .iter()
                .filter_map(|id| {
                    let key = id.to_string();
                    let t = by_id.get(&key)?;
                    let mut title = json!({
                        "id": id, "name": t["name"], "year": t["year"], "maturity": t["maturity"],
                        "synopsis": t["synopsis"],
                        "boxart": art.get(&key).map_or(Value::Null, |a| a["url"].clone()),
                        "rating": ratings.get(&key).map_or(Value::Null, |r| r["rating"].clone()),
                    });
                    if let Some(p) = positions.get(&key) {
                        title["resume_s"] = p["position_s"].clone();
                    }
                    Some(title)
                })
                .collect();
            json!({"name": name, "titles": titles})
        })
        .collect();
    Ok(json!({
        "device": "tv",
        "profile": {"name": user_info["name"], "plan": plan["plan"], "maturity": plan["maturity"]},
        "billboard": billboard,
        "rows": rows,
    }))
}
