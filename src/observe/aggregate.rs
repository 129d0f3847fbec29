//! Sums the frames of several nodes into one per (type, name), as Turbine does for the Hystrix
//! Dashboard: numbers are summed (percentiles and means included — a reader divides those by
//! `reportingHosts` for the average, as the Hystrix Dashboard does), booleans are true when any
//! node's is (a breaker open anywhere shows), `currentTime` is the newest, other values are the
//! first node's, and an endpoint's revision `split` is summed per (revision, variant). Pure.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::hystrix::Frame;

/// The frames of every node merged, in the order they first appear.
pub fn merge(nodes: &[Vec<Frame>]) -> Vec<Frame> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut merged: BTreeMap<(String, String), Frame> = BTreeMap::new();
    for frame in nodes.iter().flatten() {
        let key = (text(frame, "type"), text(frame, "name"));
        match merged.get_mut(&key) {
            Some(into) => add_frame(into, frame),
            None => {
                order.push(key.clone());
                merged.insert(key, frame.clone());
            }
        }
    }
    order.into_iter().filter_map(|key| merged.remove(&key)).collect()
}

fn text(frame: &Frame, field: &str) -> String {
    frame.get(field).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn add_frame(into: &mut Frame, frame: &Frame) {
    for (field, value) in frame {
        match (field.as_str(), into.get_mut(field)) {
            ("currentTime", Some(mine)) => {
                if value.as_u64() > mine.as_u64() {
                    *mine = value.clone();
                }
            }
            ("split", Some(Value::Array(mine))) => add_split(mine, value),
            (_, Some(mine)) => add_value(mine, value),
            (_, None) => {
                into.insert(field.clone(), value.clone());
            }
        }
    }
}

fn add_value(mine: &mut Value, theirs: &Value) {
    match (mine, theirs) {
        (Value::Number(a), Value::Number(b)) => {
            *a = match (a.as_u64(), b.as_u64()) {
                (Some(x), Some(y)) => x.saturating_add(y).into(),
                _ => serde_json::Number::from_f64(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
                    .unwrap_or_else(|| 0.into()),
            };
        }
        (Value::Bool(a), Value::Bool(b)) => *a |= *b,
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(mine) => add_value(mine, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

fn add_split(mine: &mut Vec<Value>, theirs: &Value) {
    let key = |v: &Value| (v.get("revision").cloned(), v.get("variant").cloned());
    for entry in theirs.as_array().into_iter().flatten() {
        let count = entry.get("requestCount").and_then(Value::as_u64).unwrap_or(0);
        match mine.iter_mut().find(|m| key(m) == key(entry)) {
            Some(Value::Object(m)) => {
                let total = m.get("requestCount").and_then(Value::as_u64).unwrap_or(0) + count;
                m.insert("requestCount".into(), total.into());
            }
            _ => mine.push(entry.clone()),
        }
    }
}

/// An empty frame, for tests and callers building one by hand.
pub fn frame(fields: Value) -> Frame {
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sums_numbers_ors_booleans_and_keeps_the_newest_time() {
        let a = frame(json!({"type": "HystrixCommand", "name": "users", "currentTime": 5, "requestCount": 10,
            "isCircuitBreakerOpen": false, "latencyExecute": {"50": 3, "99": 9}, "reportingHosts": 1, "group": "users"}));
        let b = frame(json!({"type": "HystrixCommand", "name": "users", "currentTime": 7, "requestCount": 5,
            "isCircuitBreakerOpen": true, "latencyExecute": {"50": 1, "99": 11}, "reportingHosts": 1, "group": "users"}));
        let merged = merge(&[vec![a], vec![b]]);
        assert_eq!(
            Value::Object(merged[0].clone()),
            json!({"type": "HystrixCommand", "name": "users", "currentTime": 7, "requestCount": 15,
                "isCircuitBreakerOpen": true, "latencyExecute": {"50": 4, "99": 20}, "reportingHosts": 2, "group": "users"})
        );
    }

    #[test]
    fn frames_of_different_types_or_names_stay_apart_in_first_seen_order() {
        let f = |t: &str, n: &str| frame(json!({"type": t, "name": n, "reportingHosts": 1}));
        let merged = merge(&[
            vec![f("HystrixCommand", "users"), f("HystrixThreadPool", "users")],
            vec![f("HystrixCommand", "ratings"), f("HystrixCommand", "users")],
        ]);
        let names: Vec<_> =
            merged.iter().map(|m| (text(m, "type"), text(m, "name"), m["reportingHosts"].clone())).collect();
        assert_eq!(
            names,
            [
                ("HystrixCommand".into(), "users".into(), json!(2)),
                ("HystrixThreadPool".into(), "users".into(), json!(1)),
                ("HystrixCommand".into(), "ratings".into(), json!(1)),
            ]
        );
    }

    #[test]
    fn an_endpoint_split_is_summed_per_revision_and_variant() {
        let a = frame(json!({"type": "SwitchyardEndpoint", "name": "tv/home", "split": [
            {"revision": 3, "variant": null, "requestCount": 8}]}));
        let b = frame(json!({"type": "SwitchyardEndpoint", "name": "tv/home", "split": [
            {"revision": 3, "variant": null, "requestCount": 2}, {"revision": 4, "variant": "canary", "requestCount": 1}]}));
        let merged = merge(&[vec![a], vec![b]]);
        assert_eq!(
            merged[0]["split"],
            json!([{"revision": 3, "variant": null, "requestCount": 10}, {"revision": 4, "variant": "canary", "requestCount": 1}])
        );
    }
}
