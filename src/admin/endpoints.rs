//! The admin API of endpoints (design §10): list, publish a revision, read an endpoint and its
//! revisions, set routing, roll back, delete. Every change is one store command through
//! [`AppState::write`], answered once it is durable and served, and says which environment it went
//! to. A publish compiles first: a script that does not compile answers 422 with line and column
//! and stores nothing.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put};
use serde::{Deserialize, Serialize};
use switchyard_endpoints::script::ScriptError;
use switchyard_storage::model::sha256_hex;
use switchyard_storage::{Command, EndpointKey, EndpointRecord, Outcome, RevisionMeta, RevisionRecord, Routing};
use utoipa::ToSchema;

use super::body;
use super::tokens::{Scope, authorization};
use crate::app::{AppState, now_ms};
use crate::public::input::read_body;
use crate::status::{ApiError, ErrorCode};

/// An endpoint in a listing.
#[derive(Serialize, ToSchema)]
pub struct EndpointSummary {
    /// `namespace/name`.
    pub endpoint: String,
    /// First path segment.
    pub namespace: String,
    /// Second path segment.
    pub name: String,
    /// Which revisions serve its traffic.
    pub routing: Routing,
    /// Revisions published (numbered 1 ..= this).
    pub revisions: u32,
    /// When it was created (ms since the epoch).
    pub created_ms: u64,
}

impl From<&EndpointRecord> for EndpointSummary {
    fn from(r: &EndpointRecord) -> Self {
        Self {
            endpoint: r.key.to_string(),
            namespace: r.key.namespace.clone(),
            name: r.key.name.clone(),
            routing: r.routing.clone(),
            revisions: r.newest_revision,
            created_ms: r.created_ms,
        }
    }
}

/// One endpoint with every revision.
#[derive(Serialize, ToSchema)]
pub struct EndpointDetail {
    /// Summary and routing.
    #[serde(flatten)]
    pub summary: EndpointSummary,
    /// What rollback goes back to, oldest first.
    pub active_history: Vec<u32>,
    /// Every revision, oldest first, without sources.
    pub revision_list: Vec<RevisionMeta>,
}

/// A publish as JSON (a body that is not JSON is the script itself).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The script: an ES module whose default export is `handle(req)`.
    pub source: String,
    /// What changed, for the audit log.
    #[serde(default)]
    pub notes: String,
}

/// What a change did, and where.
#[derive(Serialize, ToSchema)]
pub struct Changed {
    /// `namespace/name`.
    pub endpoint: String,
    /// The environment the change went to.
    pub environment: String,
    /// What the store did.
    pub outcome: Outcome,
}

/// A publish's answer.
#[derive(Serialize, ToSchema)]
pub struct Published {
    /// `namespace/name`.
    pub endpoint: String,
    /// The environment it went to.
    pub environment: String,
    /// Its revision number.
    pub revision: u32,
    /// SHA-256 of the source.
    pub sha256: String,
    /// Whether it became active (the first publish of an endpoint does).
    pub activated: bool,
}

fn key(path: &(String, String)) -> Result<EndpointKey, ApiError> {
    for (field, part) in [("namespace", &path.0), ("name", &path.1)] {
        if !switchyard_storage::is_valid_name(part) {
            let rule = switchyard_storage::NAME_RULE;
            return Err(ApiError::bad_field(field, format!("`{part}` is not a valid {field}: use {rule}")));
        }
    }
    Ok(EndpointKey::new(path.0.as_str(), path.1.as_str()))
}

fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("the store failed: {e}"))
}

fn changed(state: &AppState, key: &EndpointKey, outcome: Outcome) -> HttpResponse {
    HttpResponse::Ok().json(Changed {
        endpoint: key.to_string(),
        environment: state.store.environment().to_owned(),
        outcome,
    })
}

/// Every endpoint the token's scopes cover, with its routing.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    responses((status = 200, body = Vec<EndpointSummary>), (status = 401, body = super::ErrorBody)))]
#[get("/endpoints")]
pub async fn list_endpoints(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Any)?;
    let records = state.store.endpoints().map_err(store_error)?;
    let visible: Vec<EndpointSummary> = records
        .iter()
        .filter(|r| state.tokens.allows(token, Scope::Namespace(&r.key.namespace)))
        .map(EndpointSummary::from)
        .collect();
    Ok(HttpResponse::Ok().json(visible))
}

/// Publishes a new revision: the body is the script, or JSON `{source, notes}`.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body(content = PublishRequest, description = "JSON, or the script as text/javascript"),
    responses((status = 201, body = Published), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 413, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[post("/endpoints/{namespace}/{name}/revisions")]
pub async fn publish(
    http: HttpRequest,
    path: Path<(String, String)>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = key(&path)?;
    let token = state.tokens.authorize(authorization(&http), Scope::Namespace(&key.namespace))?;
    let payload = read_body(&http, payload, state.node.config.server.max_script_bytes).await?;
    let is_json = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let request = if is_json {
        body::json::<PublishRequest>(&payload)?
    } else {
        let source = std::str::from_utf8(&payload)
            .map_err(|_| ApiError::bad_request("the script is not UTF-8 text"))?
            .to_owned();
        PublishRequest { source, notes: String::new() }
    };
    if request.source.trim().is_empty() {
        return Err(ApiError::bad_field("source", "the script is empty"));
    }
    let sha256 = sha256_hex(&request.source);
    state.endpoints.compiled().get_or_compile(&sha256, &request.source).map_err(compile_error)?;
    let command = Command::Publish {
        endpoint: key.clone(),
        source: request.source,
        author: token.name.clone(),
        notes: request.notes,
        at_ms: now_ms(),
    };
    let name = token.name.clone();
    match state.write(command).await? {
        Outcome::Published { revision, sha256, activated } => {
            tracing::info!(endpoint = %key, revision, author = %name, activated, "published");
            Ok(HttpResponse::Created().json(Published {
                endpoint: key.to_string(),
                environment: state.store.environment().to_owned(),
                revision,
                sha256,
                activated,
            }))
        }
        other => Err(ApiError::internal(format!("the store answered a publish with {other:?}"))),
    }
}

fn compile_error(error: ScriptError) -> ApiError {
    match error {
        ScriptError::Compile(e) => {
            let mut api = ApiError::new(ErrorCode::CompileError, e.to_string()).with("name", e.name.as_str());
            if let (Some(line), Some(column)) = (e.line, e.column) {
                api = api.with("line", line).with("column", column);
            }
            api
        }
        ScriptError::Engine(message) => ApiError::internal(format!("the script engine failed: {message}")),
    }
}

/// One endpoint: routing, rollback history and every revision.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = EndpointDetail), (status = 404, body = super::ErrorBody)))]
#[get("/endpoints/{namespace}/{name}")]
pub async fn show_endpoint(
    http: HttpRequest,
    path: Path<(String, String)>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = key(&path)?;
    state.tokens.authorize(authorization(&http), Scope::Namespace(&key.namespace))?;
    let record = state
        .store
        .endpoint(&key)
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("no endpoint {key}")))?;
    let revision_list = state.store.revisions(&key).map_err(store_error)?;
    Ok(HttpResponse::Ok().json(EndpointDetail {
        summary: EndpointSummary::from(&record),
        active_history: record.active_history,
        revision_list,
    }))
}

/// One revision with its source (also of a deleted endpoint: revisions are kept).
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(("namespace" = String, Path), ("name" = String, Path), ("revision" = u32, Path)),
    responses((status = 200, body = RevisionRecord), (status = 404, body = super::ErrorBody)))]
#[get("/endpoints/{namespace}/{name}/revisions/{revision}")]
pub async fn show_revision(
    http: HttpRequest,
    path: Path<(String, String, u32)>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (namespace, name, number) = path.into_inner();
    let key = key(&(namespace, name))?;
    state.tokens.authorize(authorization(&http), Scope::Namespace(&key.namespace))?;
    let record = state
        .store
        .revision(&key, number)
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("{key} has no revision {number}")))?;
    Ok(HttpResponse::Ok().json(record))
}

/// Sets routing: the active revision, a canary share, A/B variants.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body = Routing,
    responses((status = 200, body = Changed), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
#[put("/endpoints/{namespace}/{name}/routing")]
pub async fn set_routing(
    http: HttpRequest,
    path: Path<(String, String)>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = key(&path)?;
    let token = state.tokens.authorize(authorization(&http), Scope::Namespace(&key.namespace))?;
    let payload = read_body(&http, payload, body::SMALL_BODY).await?;
    let routing: Routing = body::json(&payload)?;
    let command = Command::SetRouting { endpoint: key.clone(), routing, author: token.name.clone(), at_ms: now_ms() };
    let outcome = state.write(command).await?;
    tracing::info!(endpoint = %key, author = %token.name, ?outcome, "routing set");
    Ok(changed(&state, &key, outcome))
}

/// Makes the previously active revision active again and clears the canary.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
#[post("/endpoints/{namespace}/{name}/rollback")]
pub async fn rollback(
    http: HttpRequest,
    path: Path<(String, String)>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = key(&path)?;
    let token = state.tokens.authorize(authorization(&http), Scope::Namespace(&key.namespace))?;
    let command = Command::Rollback { endpoint: key.clone(), author: token.name.clone(), at_ms: now_ms() };
    let outcome = state.write(command).await?;
    tracing::info!(endpoint = %key, author = %token.name, ?outcome, "rolled back");
    Ok(changed(&state, &key, outcome))
}

/// Removes the endpoint from serving (its revisions stay readable, and in the audit log).
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[delete("/endpoints/{namespace}/{name}")]
pub async fn delete_endpoint(
    http: HttpRequest,
    path: Path<(String, String)>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = key(&path)?;
    let token = state.tokens.authorize(authorization(&http), Scope::Namespace(&key.namespace))?;
    let command = Command::Delete { endpoint: key.clone(), author: token.name.clone(), at_ms: now_ms() };
    let outcome = state.write(command).await?;
    tracing::info!(endpoint = %key, author = %token.name, "deleted");
    Ok(changed(&state, &key, outcome))
}
