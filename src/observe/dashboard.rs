//! `GET /dashboard`: the built-in page (design §8), its script and its style, embedded in the
//! binary (no build step, no files at run time). The page itself carries no data: it asks for an
//! admin token and reads `/turbine.stream` and `/admin/v1/stats/history` with it. `/metrics` is
//! served here too, as one more read of the same snapshots.

use actix_web::http::header;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};

use super::prometheus::{RaftView, Scrape, render};
use crate::admin::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::status::ApiError;

const INDEX: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");
const STYLE: &str = include_str!("dashboard/dashboard.css");

/// The routes, for the admin listener.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/dashboard", web::get().to(|| asset(INDEX, "text/html; charset=utf-8")))
        .route("/dashboard/", web::get().to(|| asset(INDEX, "text/html; charset=utf-8")))
        .route("/dashboard/dashboard.js", web::get().to(|| asset(SCRIPT, "text/javascript; charset=utf-8")))
        .route("/dashboard/dashboard.css", web::get().to(|| asset(STYLE, "text/css; charset=utf-8")))
        .route("/metrics", web::get().to(metrics));
}

async fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("Content-Security-Policy", "default-src 'self'; img-src 'self' data:"))
        .body(body)
}

/// `GET /metrics`, with any admin token as the bearer (Prometheus: `authorization: {credentials: …}`).
async fn metrics(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Any)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8"))
        .body(render(scrape(&state))))
}

/// Every snapshot `/metrics` encodes, taken now.
pub fn scrape(state: &AppState) -> Scrape {
    let status = state.cluster.status();
    let collapsers = state
        .node
        .dependencies
        .global_collapsers()
        .map(|(dependency, c)| {
            let s = c.snapshot();
            (dependency.to_owned(), s.operation, s.batches, s.requests_batched)
        })
        .collect();
    Scrape {
        dependencies: state.node.dependencies.registry().snapshots(),
        endpoints: state.observe.endpoints.snapshots(tokio::time::Instant::now()),
        collapsers,
        raft: RaftView {
            term: status.term,
            is_leader: status.leader == Some(status.node_id),
            last_log_index: status.last_log_index.unwrap_or(0),
            last_applied_index: status.last_applied_index.unwrap_or(0),
            voters: status.voters.len(),
            learners: status.learners.len(),
        },
        stream_clients: state.observe.stream_clients.load(std::sync::atomic::Ordering::Relaxed),
        traces_kept: state.observe.traces.len(),
        scripts: switchyard_endpoints::script::pool_stats(),
        responses: state.observe.responses.nonzero(),
    }
}
