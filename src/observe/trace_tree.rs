//! A request's fan-out as the terminal shows it — the same for `switchyard run` (a script run
//! locally) and `switchyard trace ID` (a trace the server kept): the calls in the order they
//! started, with consecutive calls of one operation that ended the same way folded into one line
//! (`catalog.title ×212 … collapsed into batches 1 (100), 2 (100), 3 (12)`), so a fan-out of
//! hundreds of lookups reads at a glance. Works on the JSON form of the calls, which both have.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// Characters of a call's label (its name and arguments) before it is cut.
const LABEL_WIDTH: usize = 41;

/// What folds calls together: the call and how it ended (a batch's id aside).
fn fold_key(call: &Value) -> (String, String, String) {
    let outcome = call["outcome"].as_str().unwrap_or("?").to_owned();
    let cause = match outcome.as_str() {
        "fallback" => call["cause"].as_str().unwrap_or_default().to_owned(),
        "error" => call["kind"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    };
    let what = format!("{}.{}", call["dependency"].as_str().unwrap_or("?"), call["operation"].as_str().unwrap_or("?"));
    (what, outcome, cause)
}

fn ms(call: &Value, field: &str) -> f64 {
    call[field].as_f64().unwrap_or(0.0)
}

fn outcome_text(group: &[&Value]) -> String {
    let first = group[0];
    match first["outcome"].as_str().unwrap_or("?") {
        "collapsed" => {
            let mut batches: BTreeMap<u64, usize> = BTreeMap::new();
            for call in group {
                *batches.entry(call["batch"].as_u64().unwrap_or(0)).or_default() += 1;
            }
            let list: Vec<String> = batches.iter().map(|(id, n)| format!("{id} ({n})")).collect();
            let word = if batches.len() == 1 { "batch" } else { "batches" };
            format!("collapsed into {word} {}", list.join(", "))
        }
        "cache" => "request cache (a duplicate of an earlier call)".to_owned(),
        "fallback" => format!("fallback after {}", first["cause"].as_str().unwrap_or("an error")),
        "error" => {
            format!("{}: {}", first["kind"].as_str().unwrap_or("error"), first["message"].as_str().unwrap_or_default())
        }
        other => other.to_owned(),
    }
}

/// The fan-out of `calls` (each a traced call's JSON), one line per call or fold.
pub fn render(calls: &[Value]) -> String {
    let mut sorted: Vec<&Value> = calls.iter().collect();
    sorted.sort_by(|a, b| ms(a, "start_ms").total_cmp(&ms(b, "start_ms")));
    let mut groups: Vec<Vec<&Value>> = Vec::new();
    for call in sorted {
        match groups.last_mut() {
            Some(group) if fold_key(group[0]) == fold_key(call) => group.push(call),
            _ => groups.push(vec![call]),
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "{:>9} {:>9}  {:<44} outcome", "start ms", "took ms", "call");
    let last = groups.len().saturating_sub(1);
    for (i, group) in groups.iter().enumerate() {
        let branch = if i == last { "└─" } else { "├─" };
        let (what, _, _) = fold_key(group[0]);
        let took = group.iter().map(|c| ms(c, "duration_ms")).fold(0.0, f64::max);
        let label =
            if group.len() == 1 { format!("{what} {}", group[0]["args"]) } else { format!("{what} ×{}", group.len()) };
        let label: String = if label.chars().count() > LABEL_WIDTH {
            label.chars().take(LABEL_WIDTH - 1).chain(std::iter::once('…')).collect()
        } else {
            label
        };
        let _ = writeln!(
            out,
            "{:>9.2} {:>9.2}  {branch} {:<LABEL_WIDTH$} {}",
            ms(group[0], "start_ms"),
            took,
            label,
            outcome_text(group)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn consecutive_calls_that_ended_alike_fold_into_one_line() {
        let calls = vec![
            json!({"dependency": "users", "operation": "get", "args": {"id": 7}, "start_ms": 0.1, "duration_ms": 0.5, "outcome": "success"}),
            json!({"dependency": "catalog", "operation": "title", "args": {"id": 1}, "start_ms": 1.0, "duration_ms": 3.0, "outcome": "collapsed", "batch": 1}),
            json!({"dependency": "catalog", "operation": "title", "args": {"id": 2}, "start_ms": 1.1, "duration_ms": 4.0, "outcome": "collapsed", "batch": 1}),
            json!({"dependency": "catalog", "operation": "title", "args": {"id": 3}, "start_ms": 1.2, "duration_ms": 2.0, "outcome": "collapsed", "batch": 2}),
            json!({"dependency": "catalog", "operation": "title", "args": {"id": 1}, "start_ms": 1.3, "duration_ms": 3.0, "outcome": "cache"}),
            json!({"dependency": "ratings", "operation": "predicted", "args": {}, "start_ms": 0.2, "duration_ms": 1000.0, "outcome": "fallback", "cause": "timeout"}),
        ];
        let text = render(&calls);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[1].contains("├─ users.get {\"id\":7}") && lines[1].ends_with("success"), "{text}");
        assert!(lines[2].contains("ratings.predicted") && lines[2].ends_with("fallback after timeout"), "{text}");
        assert!(
            lines[3].contains("catalog.title ×3") && lines[3].ends_with("collapsed into batches 1 (2), 2 (1)"),
            "{text}"
        );
        assert!(lines[3].contains("     4.00  "), "the longest of the fold: {text}");
        assert!(lines[4].contains("└─ catalog.title {\"id\":1}") && lines[4].contains("request cache"), "{text}");
    }
}
