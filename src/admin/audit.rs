//! The audit log over the admin API: every change, in the order it was applied, with its author —
//! read in bounded pages (`?after=SEQ&limit=N`, at most `server.max_audit_page`), filtered to the
//! namespaces the token covers.

use actix_web::web::{Data, Query};
use actix_web::{HttpRequest, HttpResponse, get};
use serde::Deserialize;
use switchyard_storage::AuditEntry;
use utoipa::IntoParams;

use super::ErrorBody;
use super::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::status::ApiError;

/// Paging of the audit log.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries after this sequence number (default: from the start).
    pub after: Option<u64>,
    /// At most this many (default and maximum: `server.max_audit_page`).
    pub limit: Option<usize>,
}

/// Changes in the order they were applied.
#[utoipa::path(tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "the entries the token's scopes cover, oldest first", body = Vec<AuditEntry>),
        (status = 400, description = "a malformed query, or a limit out of range (`field`)", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
    ))]
#[get("/audit")]
pub async fn read_audit(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.authorize(authorization(&http), Scope::Any)?;
    let query = Query::<AuditQuery>::from_query(http.query_string())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?
        .into_inner();
    let max = state.node.config.server.max_audit_page;
    let limit = query.limit.unwrap_or(max);
    if limit == 0 || limit > max {
        return Err(ApiError::bad_field("limit", format!("must be from 1 to {max}, got {limit}")));
    }
    // Filtered pages are refilled, so a page short of `limit` always means the end of the log.
    let mut visible: Vec<AuditEntry> = Vec::with_capacity(limit);
    let mut after = query.after;
    loop {
        let page = state.store.audit(after, limit).map_err(ApiError::from)?;
        let exhausted = page.len() < limit;
        after = page.last().map(|e| e.seq).or(after);
        for entry in page {
            if visible.len() < limit && state.tokens.allows(token, Scope::Namespace(&entry.endpoint.namespace)) {
                visible.push(entry);
            }
        }
        if exhausted || visible.len() == limit {
            break;
        }
    }
    Ok(HttpResponse::Ok().json(visible))
}
