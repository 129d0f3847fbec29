//! `switchyard run FILE`: runs a script once against the configured dependencies and reports the
//! response and its fan-out (every call with its timing and outcome) — the edit-run loop of a
//! device team, without publishing anything.

use serde_json::{Value, json};
use switchyard_endpoints::request_dispatch::TracedCall;
use switchyard_endpoints::script;
use tokio::time::Instant;

use crate::live::compiled::MODULE_NAME;
use crate::node::Node;
use crate::request::{self, FirstAnswer, RequestContext, first_answer};
use crate::status::ApiError;

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
        Some((ns, name)) if valid_name(ns) && valid_name(name) => (ns.into(), name.into()),
        _ => ("local".into(), stem.into()),
    }
}

fn valid_name(name: &str) -> bool {
    switchyard_storage::is_valid_name(name)
}

/// Compiles `source` and runs it once on this thread (inside the node's actix system), the way the
/// public listener runs a revision (revision 0: not published).
pub async fn run_once(node: &Node, file_name: &str, source: &str, request: &LocalRequest) -> anyhow::Result<Report> {
    let (namespace, name) = endpoint_of(file_name);
    let compiled =
        script::compile(MODULE_NAME, source).map_err(|e| anyhow::anyhow!("{file_name} does not compile: {e}"))?;
    let user = request.user.as_ref().map(|id| {
        let id = id.parse::<u64>().map_or_else(|_| Value::String(id.clone()), Value::from);
        json!({"id": id, "sub": id})
    });
    let context = RequestContext {
        method: "GET".into(),
        path: format!("/{namespace}/{name}"),
        namespace: namespace.clone(),
        endpoint: name.clone(),
        query: request.query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
        user,
        device: request.device.clone().unwrap_or_else(|| namespace.clone()),
        request_id: "local".into(),
        ..Default::default()
    };
    let started = Instant::now();
    let mut execution = request::start(node, &compiled, &context, false);
    let mut logs = Vec::new();
    let (status, body) = match first_answer(&mut execution.run, &mut logs).await {
        FirstAnswer::Document(r) => {
            let body = if r.raw { Value::String(r.body) } else { serde_json::from_str(&r.body)? };
            (r.status, body)
        }
        FirstAnswer::Failed(failure) => {
            let error = ApiError::script(&failure, &format!("{namespace}/{name}"), 0);
            (error.status(), error.body())
        }
        FirstAnswer::Stream(_) => unreachable_stream(),
    };
    Ok(Report {
        status,
        body,
        logs,
        calls: execution.dispatch.trace(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// `run` asks for a document: the engine never streams it.
fn unreachable_stream() -> (u16, Value) {
    (500, json!({"error": "internal", "message": "a stream was started for a document request"}))
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
    let calls: Vec<serde_json::Value> =
        report.calls.iter().map(|call| serde_json::to_value(call).unwrap_or_default()).collect();
    out.push_str(&crate::observe::trace_tree::render(&calls));
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
