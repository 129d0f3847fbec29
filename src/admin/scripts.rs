//! The admin API of the script sandbox's limits (design §5): read them, and change any of them while
//! the node runs — memory, stack, CPU slice, deadline, calls, response size, pool size, suspension.
//! Like a dependency's settings, a change is this node's own (not replicated) and lasts until it
//! restarts; it applies from the next request, the memory and stack limits to runtimes already
//! pooled too ([`crate::live::limits`]).

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, get, put};
use switchyard_endpoints::script::ScriptLimitsPatch;

use super::ErrorBody;
use super::body;
use super::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::public::input::read_body;
use crate::status::ApiError;

/// The limits in force on this node (any admin token may read them).
#[utoipa::path(tag = "scripts", security(("bearer" = [])),
    responses(
        (status = 200, description = "memory_bytes, stack_bytes, cpu_slice_ms, deadline_ms, max_calls, max_response_bytes, pool_per_worker, suspend_after, suspend_ms", body = Object),
        (status = 401, description = "no valid admin token", body = ErrorBody),
    ))]
#[get("/scripts/limits")]
pub async fn show_limits(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Any)?;
    Ok(HttpResponse::Ok().json(&*state.node.script_limits.current()))
}

/// Changes limits; absent fields keep their value, and an invalid value changes nothing.
#[utoipa::path(tag = "scripts", security(("bearer" = [])),
    request_body(content = Object, description = "any of memory_bytes, stack_bytes, cpu_slice_ms, deadline_ms, max_calls, max_response_bytes, pool_per_worker, suspend_after, suspend_ms"),
    responses(
        (status = 200, description = "all the limits now in force", body = Object),
        (status = 400, description = "a bad body or value, named in `field`; nothing changed", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 413, description = "a body over 64 KiB", body = ErrorBody),
    ))]
#[put("/scripts/limits")]
pub async fn update_limits(
    http: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Everything)?;
    let payload = read_body(&http, payload, body::SMALL_BODY).await?;
    let patch: ScriptLimitsPatch = body::json(&payload)?;
    let limits = state.node.script_limits.update(&patch).map_err(|e| ApiError::bad_field(&e.field, e.to_string()))?;
    tracing::info!(author = %token.name, ?patch, "script limits changed");
    Ok(HttpResponse::Ok().json(&*limits))
}
