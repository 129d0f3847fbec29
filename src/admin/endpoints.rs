//! The admin API of endpoints (design §10): list, publish a revision, read an endpoint and its
//! revisions, set routing, roll back, delete. Every change is one store command through
//! [`AppState::write`], answered once it is durable and served, and says which environment it went
//! to. A publish compiles first: a script that does not compile answers 422 with line and column
//! and stores nothing. A request without a valid token gets its 401 before its path is looked at;
//! then an invalid namespace or name is a 400 naming it, and a namespace outside the token's scopes
//! a 403.

use actix_web::http::header;
use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put};
use serde::{Deserialize, Serialize};
use switchyard_endpoints::script::{JsException, ScriptError};
use switchyard_storage::model::sha256_hex;
use switchyard_storage::{Command, EndpointKey, EndpointRecord, Outcome, RevisionMeta, RevisionRecord, Routing};
use utoipa::{IntoParams, ToSchema};

use super::ErrorBody;
use super::body;
use super::tokens::{Scope, authorization};
use crate::app::{AppState, now_ms};
use crate::config::AdminToken;
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

/// An endpoint's path: `{namespace}/{name}`, each [`switchyard_storage::NAME_RULE`] (a 400 names
/// the one that is not).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EndpointPath {
    /// First path segment.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub namespace: String,
    /// Second path segment.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub name: String,
}

/// One revision's path: `{namespace}/{name}/revisions/{revision}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RevisionPath {
    /// First path segment.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub namespace: String,
    /// Second path segment.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub name: String,
    /// The revision's number (a path that is not one is no resource: 404).
    pub revision: u32,
}

/// The token (401 without a valid one, before anything else is looked at), the endpoint of the
/// path (400 naming the invalid part) and the token's scope over it (403).
fn authorize<'s>(
    state: &'s AppState,
    http: &HttpRequest,
    namespace: &str,
    name: &str,
) -> Result<(&'s AdminToken, EndpointKey), ApiError> {
    let token = state.tokens.authenticate(authorization(http))?;
    for (field, part) in [("namespace", namespace), ("name", name)] {
        if !switchyard_storage::is_valid_name(part) {
            let rule = switchyard_storage::NAME_RULE;
            return Err(ApiError::bad_field(field, format!("`{part}` is not a valid {field}: use {rule}")));
        }
    }
    let key = EndpointKey::new(namespace, name);
    let token = state.tokens.permit(token, Scope::Namespace(&key.namespace))?;
    Ok((token, key))
}

fn store_error(e: switchyard_storage::StoreError) -> ApiError {
    ApiError::from(e)
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
    responses(
        (status = 200, description = "the endpoints the token's scopes cover", body = Vec<EndpointSummary>),
        (status = 401, description = "no valid admin token", body = ErrorBody),
    ))]
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
    params(EndpointPath),
    request_body(description = "JSON `{source, notes}`, or the script itself as any other content type",
        content((PublishRequest = "application/json",
                example = json!({"source": "export default (req) => ({hello: req.query.name})", "notes": "first"})),
            (String = "text/javascript", example = json!("export default () => ({ok: true})")))),
    responses(
        (status = 201, description = "stored; active if it is the endpoint's first", body = Published),
        (status = 400, description = "a bad path or body, named in `field` where there is one", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the namespace", body = ErrorBody),
        (status = 409, description = "no revision numbers left, or the cluster refused it", body = ErrorBody),
        (status = 413, description = "a script over `server.max_script_bytes`", body = ErrorBody),
        (status = 422, description = "it does not compile (`line`, `column`); nothing stored", body = ErrorBody),
        (status = 503, description = "no majority to take the write in time (`unavailable`; nothing applied), or this node's storage failed (`store_failed`; read after its restart before sending again)", body = ErrorBody),
        (status = 507, description = "this node's or the leader's disk has no room for the write (`insufficient_storage`); nothing written", body = ErrorBody),
    ))]
#[post("/endpoints/{namespace}/{name}/revisions")]
pub async fn publish(
    http: HttpRequest,
    path: Path<EndpointPath>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (token, key) = authorize(&state, &http, &path.namespace, &path.name)?;
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
    if let Some(error) = nul_character(&request.source) {
        return Err(compile_error(error));
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

/// The engine takes a source as a C string, so one with a NUL character (U+0000) never reaches its
/// compiler (the engine fails instead: a 500 the schema fuzzing found). It is refused as the
/// compile error it is, with the line and column of the first NUL.
fn nul_character(source: &str) -> Option<ScriptError> {
    let before = &source[..source.find('\0')?];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    Some(ScriptError::Compile(JsException {
        name: "SyntaxError".into(),
        message: "a NUL character (U+0000), which the script engine cannot read".into(),
        line: u32::try_from(line).ok(),
        column: u32::try_from(column).ok(),
        stack: None,
    }))
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
    params(EndpointPath),
    responses(
        (status = 200, description = "routing, rollback history, every revision", body = EndpointDetail),
        (status = 400, description = "a namespace or name that is not valid, named in `field`", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the namespace", body = ErrorBody),
        (status = 404, description = "no such endpoint", body = ErrorBody),
    ))]
#[get("/endpoints/{namespace}/{name}")]
pub async fn show_endpoint(
    http: HttpRequest,
    path: Path<EndpointPath>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, key) = authorize(&state, &http, &path.namespace, &path.name)?;
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
    params(RevisionPath),
    responses(
        (status = 200, description = "the revision with its source", body = RevisionRecord),
        (status = 400, description = "a namespace or name that is not valid, named in `field`", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the namespace", body = ErrorBody),
        (status = 404, description = "no such revision (or a revision that is not a number)", body = ErrorBody),
    ))]
#[get("/endpoints/{namespace}/{name}/revisions/{revision}")]
pub async fn show_revision(
    http: HttpRequest,
    path: Path<RevisionPath>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (_, key) = authorize(&state, &http, &path.namespace, &path.name)?;
    let number = path.revision;
    let record = state
        .store
        .revision(&key, number)
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("{key} has no revision {number}")))?;
    Ok(HttpResponse::Ok().json(record))
}

/// Sets routing: the active revision, a canary share, A/B variants.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(EndpointPath),
    request_body = Routing,
    responses(
        (status = 200, description = "routing set", body = Changed),
        (status = 400, description = "a bad path or body, named in `field`", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the namespace", body = ErrorBody),
        (status = 404, description = "no such endpoint", body = ErrorBody),
        (status = 409, description = "a revision the endpoint does not have, or over 100 % in all", body = ErrorBody),
        (status = 413, description = "a body over 64 KiB", body = ErrorBody),
        (status = 503, description = "no majority to take the write in time (`unavailable`; nothing applied), or this node's storage failed (`store_failed`; read after its restart before sending again)", body = ErrorBody),
        (status = 507, description = "this node's or the leader's disk has no room for the write (`insufficient_storage`); nothing written", body = ErrorBody),
    ))]
#[put("/endpoints/{namespace}/{name}/routing")]
pub async fn set_routing(
    http: HttpRequest,
    path: Path<EndpointPath>,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (token, key) = authorize(&state, &http, &path.namespace, &path.name)?;
    let payload = read_body(&http, payload, body::SMALL_BODY).await?;
    let routing: Routing = body::json(&payload)?;
    let command = Command::SetRouting { endpoint: key.clone(), routing, author: token.name.clone(), at_ms: now_ms() };
    let outcome = state.write(command).await?;
    tracing::info!(endpoint = %key, author = %token.name, ?outcome, "routing set");
    Ok(changed(&state, &key, outcome))
}

/// Makes the previously active revision active again and clears the canary.
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(EndpointPath),
    responses(
        (status = 200, description = "rolled back", body = Changed),
        (status = 400, description = "a namespace or name that is not valid, named in `field`", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the namespace", body = ErrorBody),
        (status = 404, description = "no such endpoint", body = ErrorBody),
        (status = 409, description = "no previously active revision to go back to", body = ErrorBody),
        (status = 503, description = "no majority to take the write in time (`unavailable`; nothing applied), or this node's storage failed (`store_failed`; read after its restart before sending again)", body = ErrorBody),
        (status = 507, description = "this node's or the leader's disk has no room for the write (`insufficient_storage`); nothing written", body = ErrorBody),
    ))]
#[post("/endpoints/{namespace}/{name}/rollback")]
pub async fn rollback(
    http: HttpRequest,
    path: Path<EndpointPath>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (token, key) = authorize(&state, &http, &path.namespace, &path.name)?;
    let command = Command::Rollback { endpoint: key.clone(), author: token.name.clone(), at_ms: now_ms() };
    let outcome = state.write(command).await?;
    tracing::info!(endpoint = %key, author = %token.name, ?outcome, "rolled back");
    Ok(changed(&state, &key, outcome))
}

/// Removes the endpoint from serving (its revisions stay readable, and in the audit log).
#[utoipa::path(tag = "endpoints", security(("bearer" = [])),
    params(EndpointPath),
    responses(
        (status = 200, description = "no longer served", body = Changed),
        (status = 400, description = "a namespace or name that is not valid, named in `field`", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not cover the namespace", body = ErrorBody),
        (status = 404, description = "no such endpoint", body = ErrorBody),
        (status = 409, description = "the change contradicts the store or the cluster", body = ErrorBody),
        (status = 503, description = "no majority to take the write in time (`unavailable`; nothing applied), or this node's storage failed (`store_failed`; read after its restart before sending again)", body = ErrorBody),
        (status = 507, description = "this node's or the leader's disk has no room for the write (`insufficient_storage`); nothing written", body = ErrorBody),
    ))]
#[delete("/endpoints/{namespace}/{name}")]
pub async fn delete_endpoint(
    http: HttpRequest,
    path: Path<EndpointPath>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (token, key) = authorize(&state, &http, &path.namespace, &path.name)?;
    let command = Command::Delete { endpoint: key.clone(), author: token.name.clone(), at_ms: now_ms() };
    let outcome = state.write(command).await?;
    tracing::info!(endpoint = %key, author = %token.name, "deleted");
    Ok(changed(&state, &key, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_character_is_a_compile_error_at_its_line_and_column() {
        assert_eq!(nul_character("export default () => 1\n"), None);
        let Some(ScriptError::Compile(e)) = nul_character("export default () => {\n  return 'a\0b'\n}") else {
            panic!("a NUL is a compile error");
        };
        assert_eq!((e.name.as_str(), e.line, e.column), ("SyntaxError", Some(2), Some(12)));
        let api = compile_error(ScriptError::Compile(e));
        assert_eq!((api.status(), api.details["line"].as_u64()), (422, Some(2)));
        assert!(matches!(nul_character("\0"), Some(ScriptError::Compile(JsException { column: Some(1), .. }))));
    }
}
