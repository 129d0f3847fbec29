//! The public listener (device traffic): `/healthz`, `/readyz`, and the front controller that
//! serves `/{namespace}/{name}[/tail]` (design §2).
//!
//! Per request: endpoint resolved (404), body within the limit (413), user from the bearer token
//! (401), the revision picked by the endpoint's routing (sticky per user; `X-Switchyard-Revision`
//! pins one for a request that also carries an admin token covering the endpoint), a place in the
//! endpoint's own concurrency limit (503), then the shared request path ([`crate::request`]) and
//! its first answer become the HTTP answer ([`respond`]), logged in the access log ([`access`]).

pub mod access;
pub mod input;
pub mod request_end;
pub mod respond;

use std::future::Future;
use std::net::TcpListener;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tracing::Instrument;

use crate::app::AppState;
use crate::listener::{Bounds, Guard};
use crate::live::Resolved;
use crate::live::runaway;
use crate::observe::responses::Listener;
use crate::request::{self, Route};
use crate::status::{ApiError, ErrorCode};
use access::AccessLine;
use request_end::RequestEnd;
use respond::{Answering, Mode, error_response};

/// Serves device traffic on `listener` until `shutdown` resolves, then stops gracefully.
pub fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<impl Future<Output = std::io::Result<()>>> {
    let server_config = &state.node.config.server;
    let workers = match server_config.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let bounds = Bounds::new(server_config, workers);
    let guard = Guard::new(Listener::Public, server_config.max_header_bytes, state.observe.responses.clone());
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(guard.clone())
            .app_data(data.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(crate::status::readyz))
            .default_service(web::to(front))
    })
    .workers(workers)
    .max_connections(bounds.connections_per_worker)
    .client_request_timeout(bounds.head_timeout)
    .keep_alive(bounds.keep_alive)
    .disable_signals();
    let server = server.listen(listener)?.run();
    Ok(crate::shutdown::until(server, shutdown))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Every device request, from its first byte to its last, runs under a `request` span carrying its
/// request id, endpoint and revision: whatever it logs (the script's `log`, its calls, the access
/// line) says which request it belongs to.
async fn front(http: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let request_id = input::request_id(http.headers());
    let span = tracing::info_span!("request", request_id = %request_id, endpoint = tracing::field::Empty, revision = tracing::field::Empty);
    handle(http, payload, state, request_id).instrument(span).await
}

async fn handle(
    http: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    request_id: String,
) -> HttpResponse {
    let span = tracing::Span::current();
    let line = AccessLine::begin(&request_id, http.method().as_str(), http.path());
    let traced = http.headers().get("x-switchyard-trace").is_some_and(|v| v.as_bytes() == b"1");
    let mut end = RequestEnd::begin(state.observe.clone(), line, traced);
    let fail = |error: ApiError, endpoint: &str, end: &mut RequestEnd| {
        end.line.endpoint = endpoint.to_owned();
        end.answered(error.status(), error.code());
        error_response(error, &request_id)
    };
    let Some(route) = Route::parse(http.path()) else {
        return fail(ApiError::not_found(format!("no endpoint at {}", http.path())), "-", &mut end);
    };
    if state.endpoints.get(&route.namespace, &route.name).is_none() {
        return fail(ApiError::not_found(format!("no endpoint at {}", http.path())), "-", &mut end);
    }
    let endpoint = route.endpoint();
    end.line.endpoint = endpoint.clone();
    span.record("endpoint", endpoint.as_str());
    let limit = state.node.config.server.max_body_bytes;
    let body = match input::read_body(&http, payload, limit).await {
        Ok(body) => body,
        Err(error) => return fail(error, &endpoint, &mut end),
    };
    let body = match input::parse_body(http.headers(), &body) {
        Ok(body) => body,
        Err(error) => return fail(error, &endpoint, &mut end),
    };
    let authorization = http.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let bearer = authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim);
    // An admin token (in its own header, or as the bearer) may pin a revision; it is not a user.
    let admin_token = http.headers().get("x-switchyard-admin-token").and_then(|v| v.to_str().ok());
    let bearer_is_admin = admin_token.is_none() && state.tokens.identify(bearer).is_some();
    let admin_token = admin_token.or(if bearer_is_admin { bearer } else { None });
    let user = if bearer_is_admin { Ok(None) } else { state.auth.user(authorization) };
    let user = match user {
        Ok(user) => user,
        Err(e) => return fail(ApiError::unauthorized(e.to_string()), &endpoint, &mut end),
    };
    let resolved = match choose_revision(&http, &state, &route, user.as_ref(), admin_token) {
        Ok(Some(resolved)) => resolved,
        Ok(None) => return fail(ApiError::not_found(format!("no endpoint at {}", http.path())), "-", &mut end),
        Err(error) => return fail(error, &endpoint, &mut end),
    };
    let concurrency = state.node.config.server.endpoint_concurrency;
    let Some(permit) = resolved.try_enter(concurrency) else {
        return fail(ApiError::endpoint_busy(&endpoint, concurrency), &endpoint, &mut end);
    };
    if let Some(settings) = runaway::settings(&state.node.script_limits.current()) {
        let now = tokio::time::Instant::now();
        let gate = state.runaways.gate(&endpoint, resolved.revision.number, now);
        match gate.enter(&settings, now) {
            Some(entry) => end.runaway = Some((gate, entry)),
            None => {
                let message = format!(
                    "{endpoint} revision {} is suspended: its requests keep hitting their limits; it runs again within {} ms",
                    resolved.revision.number, settings.sleep_window_ms
                );
                end.line.revision = resolved.revision.number;
                let error = ApiError::new(ErrorCode::Suspended, message)
                    .with("retry_after_s", settings.sleep_window_ms.div_ceil(1000));
                return fail(error, &endpoint, &mut end);
            }
        }
    }
    let revision = resolved.revision.number;
    span.record("revision", revision);
    end.line.revision = revision;
    end.variant = resolved.variant.clone();
    let mode = Mode::from_accept(http.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut context = input::context(&http, &route, body, user, &request_id);
    context.revision = revision;
    context.variant = resolved.variant.clone();
    end.line.device = context.device.clone();
    let execution = request::start(&state.node, &resolved.revision.script, &context, mode != Mode::Document);
    let mut answering =
        Answering { endpoint, revision, variant: resolved.variant, request_id: request_id.clone(), permit, end };
    answering.end.dispatch = Some(execution.dispatch);
    respond::answer(execution.run, mode, answering).await
}

/// The routing's pick for this request, or the revision its `X-Switchyard-Revision` pins when it
/// also carries an admin token covering the endpoint (`X-Switchyard-Admin-Token`, or as the bearer
/// token); without one the header is ignored.
/// `Ok(None)`: the endpoint went away meanwhile, or the pinned revision does not exist.
fn choose_revision(
    http: &HttpRequest,
    state: &AppState,
    route: &Route,
    user: Option<&serde_json::Value>,
    admin_token: Option<&str>,
) -> Result<Option<Resolved>, ApiError> {
    let pin = http.headers().get("x-switchyard-revision").and_then(|v| v.to_str().ok());
    if let Some(pin) = pin
        && state.tokens.covers_namespace(admin_token, &route.namespace)
    {
        {
            let number = pin.trim().parse::<u32>().map_err(|_| {
                ApiError::bad_request(format!("X-Switchyard-Revision must be a revision number, got `{pin}`"))
            })?;
            return state
                .endpoints
                .pinned(&route.namespace, &route.name, number)
                .map_err(|e| ApiError::internal(e.to_string()))?
                .map(Some)
                .ok_or_else(|| ApiError::not_found(format!("{} has no revision {number}", route.endpoint())));
        }
    }
    let user_id = user.map(|u| match &u["id"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    Ok(state.endpoints.resolve(&route.namespace, &route.name, user_id.as_deref(), rand::random()))
}
