//! The admin API of the cluster (design §10): this node's view (`GET /admin/v1/cluster`, any valid
//! token) and the membership changes an operator makes (scope `*`): initialise a cluster whose
//! voters did not all come up together, add a learner, promote a learner to voter, remove a node.
//! Any node takes them; they are made by the leader ([`crate::cluster::Cluster::change`]).

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse, delete, get, post};
use serde::{Deserialize, Serialize};
use switchyard_storage::raft::NodeId;
use utoipa::ToSchema;

use super::ErrorBody;
use super::body;
use super::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::cluster::{ClusterError, ClusterStatus, Forward, bootstrap};
use crate::public::input::read_body;
use crate::status::{ApiError, ErrorCode};

/// A membership change's failure, as every cluster write's (`status.rs` decides).
fn cluster_error(error: ClusterError) -> ApiError {
    ApiError::from(error)
}

/// A node to add as a learner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLearner {
    /// Its `[cluster] node_id`.
    pub id: NodeId,
    /// Its admin listener, `host:port`.
    pub address: String,
}

/// A membership change, committed.
#[derive(Serialize, ToSchema)]
pub struct MembershipChanged {
    /// The log index of the change.
    pub index: u64,
    /// The cluster as this node sees it now.
    pub cluster: ClusterStatus,
}

/// This node's view of its cluster: role, leader, voters, learners, log and applied indexes.
#[utoipa::path(tag = "cluster", security(("bearer" = [])),
    responses(
        (status = 200, description = "this node's view", body = ClusterStatus),
        (status = 401, description = "no valid admin token", body = ErrorBody),
    ))]
#[get("/cluster")]
pub async fn show_cluster(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Any)?;
    Ok(HttpResponse::Ok().json(state.cluster.status()))
}

/// Initialises the cluster with every configured voter (when they did not all start together).
#[utoipa::path(tag = "cluster", security(("bearer" = [])),
    responses(
        (status = 200, description = "initialised", body = ClusterStatus),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 409, description = "the cluster is initialised already, or could not be", body = ErrorBody),
    ))]
#[post("/cluster/init")]
pub async fn init_cluster(http: HttpRequest, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Everything)?;
    if state.cluster.status().initialized {
        return Err(ApiError::new(ErrorCode::Conflict, "the cluster is initialised already"));
    }
    let seed = crate::app::samples_for(&state.store).map_err(|e| ApiError::internal(format!("{e:#}")))?;
    bootstrap::initialize(&state.cluster, seed)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Conflict, format!("{e:#}")))?;
    Ok(HttpResponse::Ok().json(state.cluster.status()))
}

async fn change(state: &AppState, change: Forward) -> Result<HttpResponse, ApiError> {
    let index = state.cluster.change(change).await.map_err(cluster_error)?;
    Ok(HttpResponse::Ok().json(MembershipChanged { index, cluster: state.cluster.status() }))
}

/// Adds a node that receives every change and never votes.
#[utoipa::path(tag = "cluster", security(("bearer" = [])), request_body = NewLearner,
    responses(
        (status = 200, description = "committed", body = MembershipChanged),
        (status = 400, description = "malformed JSON, a wrong type, an unknown field (`field`)", body = ErrorBody),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 409, description = "the change contradicts the membership", body = ErrorBody),
        (status = 413, description = "a body over 64 KiB", body = ErrorBody),
        (status = 503, description = "no leader could take the change in time", body = ErrorBody),
    ))]
#[post("/cluster/learners")]
pub async fn add_learner(http: HttpRequest, payload: Payload, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Everything)?;
    let payload = read_body(&http, payload, body::SMALL_BODY).await?;
    let learner: NewLearner = body::json(&payload)?;
    change(&state, Forward::AddLearner { id: learner.id, address: learner.address }).await
}

/// Makes a learner a voter.
#[utoipa::path(tag = "cluster", security(("bearer" = [])), params(("id" = u64, Path)),
    responses(
        (status = 200, description = "committed", body = MembershipChanged),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 404, description = "an id that is not a number", body = ErrorBody),
        (status = 409, description = "not a learner of the cluster", body = ErrorBody),
        (status = 503, description = "no leader could take the change in time", body = ErrorBody),
    ))]
#[post("/cluster/voters/{id}")]
pub async fn promote(http: HttpRequest, path: Path<NodeId>, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Everything)?;
    change(&state, Forward::Promote { id: path.into_inner() }).await
}

/// Takes a node (voter or learner) out of the cluster.
#[utoipa::path(tag = "cluster", security(("bearer" = [])), params(("id" = u64, Path)),
    responses(
        (status = 200, description = "committed", body = MembershipChanged),
        (status = 401, description = "no valid admin token", body = ErrorBody),
        (status = 403, description = "the token does not have scope `*`", body = ErrorBody),
        (status = 404, description = "an id that is not a number", body = ErrorBody),
        (status = 409, description = "an unknown node, the last voter …", body = ErrorBody),
        (status = 503, description = "no leader could take the change in time", body = ErrorBody),
    ))]
#[delete("/cluster/members/{id}")]
pub async fn remove(http: HttpRequest, path: Path<NodeId>, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.tokens.authorize(authorization(&http), Scope::Everything)?;
    change(&state, Forward::Remove { id: path.into_inner() }).await
}
