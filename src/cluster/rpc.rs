//! Raft's network, server side: the `/cluster/v1/` routes of the admin listener, where peers send
//! Raft's messages (`append`, `vote`, `snapshot`), forwarded changes (`forward`) and the greeting
//! (`hello`). Every request must carry the cluster secret (compared in constant time; a node alone
//! has none and refuses them all). Bodies and answers are the versioned wire encoding; a body that
//! does not decode — another release's format included — answers 400 saying why.

use actix_web::web::{self, Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use switchyard_storage::raft::wire;

use super::messages::{ForwardRequest, Hello};
use super::network::SECRET_HEADER;
use crate::app::AppState;
use crate::public::input::read_body;
use crate::status::ApiError;

/// Largest message between nodes: a batch of entries carrying scripts, or a snapshot chunk.
const MESSAGE_LIMIT: usize = 64 << 20;

/// The routes, for the admin listener.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/cluster/v1/append", web::post().to(append))
        .route("/cluster/v1/vote", web::post().to(vote))
        .route("/cluster/v1/snapshot", web::post().to(snapshot))
        .route("/cluster/v1/forward", web::post().to(forward))
        .route("/cluster/v1/hello", web::post().to(hello));
}

/// Checks the secret, reads and decodes the body.
pub(crate) async fn message<T: DeserializeOwned>(
    http: &HttpRequest,
    payload: Payload,
    state: &AppState,
) -> Result<T, ApiError> {
    let expected = state.cluster.secret().ok_or_else(|| {
        ApiError::unauthorized(
            "this node is not part of a cluster ([cluster] members is empty): it takes no peer messages",
        )
    })?;
    let presented = http.headers().get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(presented.ct_eq(expected.as_bytes())) {
        tracing::warn!(peer = ?http.peer_addr(), "refused a cluster message without the cluster secret");
        return Err(ApiError::unauthorized("missing or wrong cluster secret"));
    }
    let body = read_body(http, payload, MESSAGE_LIMIT).await?;
    wire::decode(&body).map_err(|e| ApiError::bad_request(format!("not a cluster message of this release: {e}")))
}

pub(crate) fn answer<T: Serialize>(value: &T) -> Result<HttpResponse, ApiError> {
    let bytes = wire::encode(value).map_err(|e| ApiError::internal(format!("cannot encode the answer: {e}")))?;
    Ok(HttpResponse::Ok().content_type("application/octet-stream").body(bytes))
}

async fn append(http: HttpRequest, payload: Payload, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let request = message(&http, payload, &state).await?;
    answer(&state.cluster.raft().append_entries(request).await)
}

async fn vote(http: HttpRequest, payload: Payload, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let request = message(&http, payload, &state).await?;
    answer(&state.cluster.raft().vote(request).await)
}

async fn snapshot(http: HttpRequest, payload: Payload, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let request = message(&http, payload, &state).await?;
    answer(&state.cluster.raft().install_snapshot(request).await)
}

async fn forward(http: HttpRequest, payload: Payload, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let request: ForwardRequest = message(&http, payload, &state).await?;
    answer(&state.cluster.forwarded(request).await)
}

async fn hello(http: HttpRequest, payload: Payload, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let () = message(&http, payload, &state).await?;
    let initialized = state.cluster.raft().is_initialized().await.unwrap_or(true);
    answer(&Hello {
        node_id: state.cluster.node_id(),
        environment: state.cluster.environment().to_owned(),
        initialized,
    })
}
