//! The public listener (device traffic): `/healthz`, `/readyz`, and the front controller that
//! serves `/{namespace}/{name}[/tail]` from the endpoint's active revision (design §2).
//!
//! Per request: body within the limit (413), user from the bearer token (401), endpoint resolved
//! (404), a place in the endpoint's own concurrency limit (503), then the script runs on this
//! worker's runtime pool with a per-request dispatcher (request cache → collapser → actor) and
//! its events become the answer ([`respond`]).

pub mod context;
pub mod respond;

use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::BytesMut;
use futures::StreamExt;
use switchyard_endpoints::RequestDispatch;
use switchyard_endpoints::script::{self, ScriptRequest};

use crate::auth::Authenticator;
use crate::metrics::EndpointCounters;
use crate::status::ApiError;
use crate::wiring::Node;
use context::{ContextParts, Route};
use respond::{Answering, Mode, error_response};

/// What every worker of the public listener shares.
pub struct PublicState {
    node: Node,
    auth: Authenticator,
    counters: Arc<EndpointCounters>,
}

impl PublicState {
    /// For `node`, counting outcomes in `counters`.
    pub fn new(node: Node, counters: Arc<EndpointCounters>) -> Self {
        let auth = Authenticator::new(node.config.auth.jwt_secret.as_deref());
        Self { node, auth, counters }
    }
}

/// The public listener on `listener`; the caller awaits or spawns the server.
pub fn server(state: PublicState, listener: TcpListener) -> std::io::Result<Server> {
    let workers = state.node.config.server.workers;
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(healthz))
            .default_service(web::to(front))
    })
    .disable_signals();
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn front(http: HttpRequest, payload: web::Payload, state: web::Data<PublicState>) -> HttpResponse {
    let request_id = context::request_id(http.headers());
    let fail = |error: ApiError, endpoint: &str| {
        state.counters.record(endpoint, error.code());
        error_response(&error.for_request(&request_id), &request_id)
    };
    let Some(route) = Route::parse(http.path()) else {
        return fail(ApiError::not_found(http.path()), "-");
    };
    let endpoint = route.endpoint();
    let Some(resolved) = state.node.endpoints.resolve(&route.namespace, &route.name) else {
        return fail(ApiError::not_found(http.path()), "-");
    };
    let limit = state.node.config.server.max_body_bytes;
    let body = match read_body(&http, payload, limit).await {
        Ok(body) => body,
        Err(error) => return fail(error, &endpoint),
    };
    let body = match context::parse_body(http.headers(), &body) {
        Ok(body) => body,
        Err(error) => return fail(error, &endpoint),
    };
    let authorization = http.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let user = match state.auth.user(authorization) {
        Ok(user) => user,
        Err(e) => return fail(ApiError::unauthorized(e.to_string()), &endpoint),
    };
    let concurrency = state.node.config.server.endpoint_concurrency;
    let Some(permit) = resolved.try_enter(concurrency) else {
        return fail(ApiError::endpoint_busy(&endpoint, concurrency), &endpoint);
    };
    let revision = &resolved.revision;
    let mode = Mode::from_accept(http.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let req_json = context::build(ContextParts {
        http: &http,
        route: &route,
        body,
        user,
        request_id: &request_id,
        revision: revision.number,
    });
    let dispatch = Rc::new(RequestDispatch::new(Arc::clone(&state.node.dependencies)));
    let request = ScriptRequest { req_json, streaming: mode != Mode::Document };
    let run = script::run(&revision.script, request, dispatch, &state.node.config.scripts);
    let answering = Answering {
        endpoint,
        revision: revision.number,
        request_id: request_id.clone(),
        counters: Arc::clone(&state.counters),
        permit,
    };
    let response = respond::answer(run, mode, answering).await;
    tracing::info!(
        target: "switchyard::access",
        method = %http.method(),
        path = %http.path(),
        status = response.status().as_u16(),
        request_id = %request_id,
        "request"
    );
    response
}

/// The body, refused with 413 past `limit` bytes (by its declared length, or while reading).
async fn read_body(http: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<BytesMut, ApiError> {
    let declared =
        http.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
