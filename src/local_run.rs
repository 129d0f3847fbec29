//! `switchyard run FILE`: runs a script once against the configured dependencies and reports the
//! response and its fan-out (every call with its timing and outcome) — the edit-run loop of a
//! device team, without publishing anything.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Value, json};
use switchyard_endpoints::request_dispatch::TracedCall;
use switchyard_endpoints::script::{self, ScriptEvent, ScriptRequest};
use switchyard_endpoints::{RequestDispatch, registry};
use tokio::time::Instant;

use crate::status::ApiError;
use crate::wiring::Node;

/// What `run` is asked.
#[derive(Clone, Debug, Default)]
pub struct LocalRequest {
    /// `req.user.id`, when set.
    pub user: Option<String>,
    /// `req.device` (default: the file's namespace).
    pub device: Option<String>,
    /// `req.query`.
    pub query: Vec<(String, String)>,
}

/// What happened.
#[derive(Debug)]
pub struct Report {
    /// The status a device would get.
    pub status: u16,
    /// The body (a document, the streamed items as an array, or the JSON error).
    pub body: Value,
    /// `log(...)` lines.
    pub logs: Vec<(String, String)>,
    /// Every dependency call.
    pub calls: Vec<TracedCall>,
    /// Wall time of the whole run.
    pub elapsed_ms: f64,
}

/// `tv.home.js` → (`tv`, `home`); anything else → (`local`, its stem).
fn endpoint_of(file_name: &str) -> (String, String) {
    let stem = file_name.trim_end_matches(".js");
    match stem.split_once('.') {
        Some((ns, name)) if registry::valid_name(ns) && registry::valid_name(name) => (ns.into(), name.into()),
        _ => ("local".into(), stem.into()),
    }
}

/// Compiles `source` and runs it once on this thread (inside the node's actix system).
pub async fn run_once(node: &Node, file_name: &str, source: &str, request: &LocalRequest) -> anyhow::Result<Report> {
    let (namespace, name) = endpoint_of(file_name);
    let compiled = script::compile(&format!("{namespace}/{name}"), source)
        .map_err(|e| anyhow::anyhow!("{file_name} does not compile: {e}"))?;
    let user = request.user.as_ref().map(|id| {
        let id = id.parse::<u64>().map_or_else(|_| Value::String(id.clone()), Value::from);
        json!({"id": id, "sub": id})
    });
    let query: serde_json::Map<String, Value> =
        request.query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let req = json!({
        "method": "GET",
        "path": format!("/{namespace}/{name}"),
        "namespace": namespace,
        "endpoint": name,
        "tail": "",
        "query": query,
        "headers": {},
        "body": null,
        "user": user,
        "device": request.device.clone().unwrap_or_else(|| namespace.clone()),
        "geo": null,
        "requestId": "local",
        "revision": 0,
        "variant": null,
    });
    let dispatch = RequestDispatch::new(Arc::clone(&node.dependencies));
    let started = Instant::now();
    let mut run = script::run(
        &compiled,
        ScriptRequest { req_json: req.to_string(), streaming: false },
        Rc::new(dispatch.clone()),
        &node.config.scripts,
    );
    let mut logs = Vec::new();
    let (status, body) = loop {
        match run.next().await {
            Some(ScriptEvent::Log { level, message }) => logs.push((level, message)),
            Some(ScriptEvent::Document(r)) => {
                let body = if r.raw { Value::String(r.body) } else { serde_json::from_str(&r.body)? };
                break (r.status, body);
            }
            Some(ScriptEvent::Failed(failure)) => {
                let error = ApiError::script(&failure, &format!("{namespace}/{name}"), 0);
                break (error.status, error.body);
            }
            Some(ScriptEvent::Item(_) | ScriptEvent::End) | None => break (500, json!({"error": "no answer"})),
        }
    };
    Ok(Report { status, body, logs, calls: dispatch.trace(), elapsed_ms: started.elapsed().as_secs_f64() * 1000.0 })
}

/// The report as the terminal shows it.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let body = serde_json::to_string_pretty(&report.body).unwrap_or_default();
    out.push_str(&format!(
        "status {}  ({:.1} ms, {} calls)\n{body}\n",
        report.status,
        report.elapsed_ms,
        report.calls.len()
    ));
    for (level, message) in &report.logs {
        out.push_str(&format!("log {level}: {message}\n"));
    }
    out.push_str("\nfan-out:\n");
    out.push_str(&format!("{:>9} {:>9}  {:<32} {}\n", "start ms", "took ms", "call", "outcome"));
    for call in &report.calls {
        let outcome = serde_json::to_value(&call.outcome).unwrap_or_default();
        let what = format!("{}.{}", call.dependency, call.operation);
        out.push_str(&format!("{:>9.2} {:>9.2}  {:<32} {}\n", call.start_ms, call.duration_ms, what, outcome));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_the_endpoint() {
        assert_eq!(endpoint_of("tv.home.js"), ("tv".into(), "home".into()));
        assert_eq!(endpoint_of("scratch.js"), ("local".into(), "scratch".into()));
    }
}
