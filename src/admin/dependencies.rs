//! The admin API of dependencies (design §10): their configuration and live state, runtime
//! settings (timeouts, limits, breaker thresholds, forcing the breaker), and chaos — added latency,
//! a share of failures, hangs, for a while or until cleared — injected in front of the backend, so
//! it works for every backend kind, HTTP included.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, delete, get, put};
use serde::Serialize;
use serde_json::{Value, json};
use switchyard_actors::{DependencyHandle, SettingsPatch};

use super::ErrorBody;
use super::body;
use super::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::demo::{Chaos, ChaosSettings};
use crate::public::input::read_body;
use crate::status::ApiError;

fn dependency<'a>(state: &'a AppState, name: &str) -> Result<(&'a DependencyHandle, &'a Chaos), ApiError> {
    let handle = state.node.dependencies.registry().get(name);
    let chaos = state.node.chaos.get(name);
    handle.zip(chaos).ok_or_else(|| ApiError::not_found(format!("no dependency `{name}`")))
}

/// Chaos in force, with the seconds it has left.
#[derive(Serialize)]
struct ChaosView {
    #[serde(flatten)]
    settings: ChaosSettings,
    remaining_s: Option<f64>,
}

fn chaos_view(chaos: &Chaos) -> Option<ChaosView> {
    chaos.current().map(|settings| ChaosView { settings, remaining_s: chaos.remaining().map(|d| d.as_secs_f64()) })
}

/// Every dependency: its kind, settings, live snapshot (breaker, counts, latency) and chaos.
#[utoipa::path(tag = "dependencies", security(("bearer" = [])),
    responses(
        (status = 200, description = "one object per dependency", body = Vec<Object>),
        (status = 401, description = "no valid admin token", body = ErrorBody),
    ))]
#[get("/dependencies")]
pub async fn list_dependencies(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Any)?;
    let all: Vec<Value> = state
        .node
        .dependencies
        .registry()
        .iter()
        .map(|handle| {
            let chaos = state.node.chaos.get(handle.name()).and_then(chaos_view);
            json!({
                "name": handle.name(),
                "kind": handle.settings().kind.name(),
                "snapshot": handle.snapshot(),
                "chaos": chaos,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Changes runtime settings; absent fields keep their value, invalid ones change nothing.
#[utoipa::path(tag = "dependencies", security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body(content = Object, description = "timeout_ms, max_concurrent, queue, fallback_max_concurrent, breaker.{request_volume, error_percent, sleep_window_ms, recent_ms, force}"),
    responses(
        (status = 200, description = "the dependency's settings now", body = Object),
        (status = 400, description = "a bad body or value, named in `field`; nothing changed", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 404, description = "no such dependency", body = ErrorBody),
        (status = 413, description = "a body over 64 KiB", body = ErrorBody),
    ))]
#[put("/dependencies/{name}/settings")]
pub async fn update_settings(
    http: HttpRequest,
    name: Path<String>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Everything)?;
    let (handle, _) = dependency(&state, &name)?;
    let payload = read_body(&http, payload, body::SMALL_BODY).await?;
    let patch: SettingsPatch = body::json(&payload)?;
    let settings = handle.update_settings(&patch).map_err(|e| ApiError::bad_field(&e.field, e.to_string()))?;
    tracing::info!(dependency = %name, author = %token.name, ?patch, "settings changed");
    Ok(HttpResponse::Ok().json(json!({"dependency": name.as_str(), "settings": *settings})))
}

/// Injects chaos: `{latency_ms, error_percent, hang, duration_s}`.
#[utoipa::path(tag = "dependencies", security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body(content = Object, description = "latency_ms, error_percent (0-100), hang, duration_s"),
    responses(
        (status = 200, description = "the chaos in force now", body = Object),
        (status = 400, description = "a bad body or value, named in `field`; nothing changed", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 404, description = "no such dependency", body = ErrorBody),
        (status = 413, description = "a body over 64 KiB", body = ErrorBody),
    ))]
#[put("/dependencies/{name}/chaos")]
pub async fn set_chaos(
    http: HttpRequest,
    name: Path<String>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Everything)?;
    let (_, chaos) = dependency(&state, &name)?;
    let payload = read_body(&http, payload, body::SMALL_BODY).await?;
    let settings: ChaosSettings = body::json(&payload)?;
    chaos.set(settings).map_err(|e| ApiError::bad_field(e.field, e.to_string()))?;
    tracing::warn!(dependency = %name, author = %token.name, "chaos injected");
    Ok(HttpResponse::Ok().json(json!({"dependency": name.as_str(), "chaos": chaos_view(chaos)})))
}

/// Removes chaos.
#[utoipa::path(tag = "dependencies", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 200, description = "no chaos any more", body = Object),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 404, description = "no such dependency", body = ErrorBody),
    ))]
#[delete("/dependencies/{name}/chaos")]
pub async fn clear_chaos(
    http: HttpRequest,
    name: Path<String>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Everything)?;
    let (_, chaos) = dependency(&state, &name)?;
    chaos.clear();
    tracing::warn!(dependency = %name, author = %token.name, "chaos cleared");
    Ok(HttpResponse::Ok().json(json!({"dependency": name.as_str(), "chaos": null})))
}
