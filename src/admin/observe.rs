//! The admin API's reads of what the node saw: one kept request trace
//! (`GET /admin/v1/traces/{request_id}`, for a token covering the endpoint's namespace) and the
//! last hour of every dependency and endpoint (`GET /admin/v1/stats/history`, for the dashboard).

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, get};

use super::ErrorBody;
use super::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::observe::history::HistoryView;
use crate::observe::traces::Trace;
use crate::status::{ApiError, ErrorCode};

/// One request's fan-out, kept because the request carried `X-Switchyard-Trace: 1`.
#[utoipa::path(tag = "observe", security(("bearer" = [])),
    params(("request_id" = String, Path, description = "the X-Request-Id the request was answered with")),
    responses(
        (status = 200, description = "the request's fan-out", body = Trace),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the traced endpoint's namespace", body = ErrorBody),
        (status = 404, description = "never traced, or no longer kept", body = ErrorBody),
    ))]
#[get("/traces/{request_id}")]
pub async fn show_trace(
    http: HttpRequest,
    path: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Any)?;
    let request_id = path.into_inner();
    let not_kept = || {
        ApiError::not_found(format!(
            "no trace of request `{request_id}`: send the request with `X-Switchyard-Trace: 1` (the ring keeps the last {})",
            state.observe.config.traces_kept
        ))
    };
    let trace = state.observe.traces.get(&request_id).ok_or_else(not_kept)?;
    let namespace = trace.endpoint.split('/').next().unwrap_or_default();
    if !state.tokens.allows(token, Scope::Namespace(namespace)) {
        let message = format!("token `{}` does not cover the namespace `{namespace}`", token.name);
        return Err(ApiError::new(ErrorCode::Forbidden, message));
    }
    Ok(HttpResponse::Ok().json(&*trace))
}

/// The last hour of every dependency and endpoint at 10-second resolution.
#[utoipa::path(tag = "observe", security(("bearer" = [])),
    responses(
        (status = 200, description = "every series, oldest point first", body = HistoryView),
        (status = 401, description = "no valid admin token", body = ErrorBody),
    ))]
#[get("/stats/history")]
pub async fn show_history(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Any)?;
    Ok(HttpResponse::Ok().json(state.observe.history.view()))
}
