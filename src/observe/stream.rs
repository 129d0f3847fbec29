//! `/hystrix.stream` (this node) and `/turbine.stream` (the whole cluster), as the Hystrix
//! Dashboard and Turbine read them: Server-Sent Events, one `data: {json}\n\n` per frame every
//! `delay` milliseconds (query parameter, default 500, at least 100), `ping: \n\n` while there is
//! nothing to report (no dependency has been called and no endpoint has answered yet — Hystrix
//! shows a command only once it ran).
//!
//! Both need an admin token, as a bearer header or as `?token=` (EventSource cannot send headers),
//! answer CORS (any origin: the token, not a cookie, is the credential), and admit at most
//! `[observe] stream_clients` clients together; beyond, 503 at once. The cluster stream asks each
//! other member of the Raft membership for its frames over `/cluster/v1/frames` (with the cluster
//! secret) every period and sums them ([`super::aggregate`]); a member that does not answer within
//! the period is left out of that frame, which its `reportingHosts` shows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{self, Bytes, Data, Query};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Deserialize;

use super::aggregate;
use super::hystrix::Frame;
use crate::admin::tokens::{Scope, authorization};
use crate::app::AppState;
use crate::cluster::network::PeerClient;
use crate::status::{ApiError, ErrorCode};

/// The default period between frames.
const DEFAULT_DELAY_MS: u64 = 500;
/// The shortest period a client may ask for.
const MIN_DELAY_MS: u64 = 100;
/// The longest.
const MAX_DELAY_MS: u64 = 60_000;

/// The routes, for the admin listener.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/hystrix.stream", web::get().to(hystrix_stream))
        .route("/turbine.stream", web::get().to(turbine_stream))
        .route("/hystrix.stream", web::method(actix_web::http::Method::OPTIONS).to(preflight))
        .route("/turbine.stream", web::method(actix_web::http::Method::OPTIONS).to(preflight))
        .route("/cluster/v1/frames", web::post().to(peer_frames));
}

/// The stream's query.
#[derive(Deserialize)]
pub struct StreamQuery {
    /// Milliseconds between frames.
    delay: Option<u64>,
    /// The admin token, for clients that cannot send headers.
    token: Option<String>,
}

/// Adds the CORS headers every stream answer carries, errors included (a dashboard on another
/// origin must be able to read why it was refused).
fn cors(builder: &mut HttpResponseBuilder) {
    builder
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"));
}

fn refused(error: ApiError) -> HttpResponse {
    let mut response = error.error_response();
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
    ] {
        response.headers_mut().insert(name, header::HeaderValue::from_static(value));
    }
    response
}

async fn preflight() -> HttpResponse {
    let mut builder = HttpResponse::NoContent();
    cors(&mut builder);
    builder.insert_header((header::ACCESS_CONTROL_MAX_AGE, "600")).finish()
}

/// Holds one place of the client limit for as long as the stream lives.
struct ClientPlace(Arc<AtomicUsize>);

impl ClientPlace {
    fn take(clients: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        let mut current = clients.load(Ordering::Acquire);
        loop {
            if current >= limit {
                return None;
            }
            match clients.compare_exchange(current, current + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(Self(Arc::clone(clients))),
                Err(now) => current = now,
            }
        }
    }
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The token from the bearer header, else from `?token=`, checked like every admin read.
fn admit(http: &HttpRequest, query: &StreamQuery, state: &AppState) -> Result<ClientPlace, ApiError> {
    let from_query = query.token.as_ref().map(|t| format!("Bearer {t}"));
    let presented = authorization(http).or(from_query.as_deref());
    state.tokens.authorize(presented, Scope::Any)?;
    let limit = state.observe.config.stream_clients;
    ClientPlace::take(&state.observe.stream_clients, limit).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("{limit} stream clients are connected already ([observe] stream_clients)"),
        )
    })
}

/// The SSE lines of one period: every frame, or a ping when there is none.
pub fn encode(frames: &[Frame]) -> Bytes {
    if frames.is_empty() {
        return Bytes::from_static(b"ping: \n\n");
    }
    let mut out = Vec::with_capacity(frames.len() * 1024);
    for frame in frames {
        out.extend_from_slice(b"data: ");
        // A map of JSON values always serializes.
        let _ = serde_json::to_writer(&mut out, frame);
        out.extend_from_slice(b"\n\n");
    }
    Bytes::from(out)
}

/// What one stream sends each period.
#[derive(Clone, Copy)]
enum Reach {
    Node,
    Cluster,
}

async fn hystrix_stream(http: HttpRequest, query: Query<StreamQuery>, state: Data<AppState>) -> HttpResponse {
    open(http, query.into_inner(), state, Reach::Node)
}

async fn turbine_stream(http: HttpRequest, query: Query<StreamQuery>, state: Data<AppState>) -> HttpResponse {
    open(http, query.into_inner(), state, Reach::Cluster)
}

fn open(http: HttpRequest, query: StreamQuery, state: Data<AppState>, reach: Reach) -> HttpResponse {
    let place = match admit(&http, &query, &state) {
        Ok(place) => place,
        Err(error) => return refused(error),
    };
    let delay = Duration::from_millis(query.delay.unwrap_or(DEFAULT_DELAY_MS).clamp(MIN_DELAY_MS, MAX_DELAY_MS));
    let peers = match (reach, state.cluster.secret()) {
        (Reach::Cluster, Some(secret)) => Some(PeerClient::new(secret)),
        _ => None,
    };
    let body = async_stream::stream! {
        let _place = place;
        let mut every = tokio::time::interval(delay);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let frames = match &peers {
                Some(client) => cluster_frames(&state, client, delay).await,
                None => super::local_frames(&state),
            };
            yield Ok::<_, actix_web::Error>(encode(&frames));
        }
    };
    let mut builder = HttpResponse::Ok();
    cors(&mut builder);
    builder
        .insert_header((header::CONTENT_TYPE, "text/event-stream;charset=UTF-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store, max-age=0, must-revalidate"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// This node's frames summed with every other member's that answers within `delay`.
async fn cluster_frames(state: &AppState, client: &PeerClient, delay: Duration) -> Vec<Frame> {
    let status = state.cluster.status();
    let me = state.cluster.node_id();
    let peers = status.voters.iter().chain(status.learners.iter()).filter(|m| m.id != me && !m.address.is_empty());
    let asks = peers.map(|member| async move {
        let answer: Result<String, _> = client.post(&member.address, "frames", &(), delay).await;
        match answer.map(|json| serde_json::from_str::<Vec<Frame>>(&json)) {
            Ok(Ok(frames)) => Some(frames),
            Ok(Err(e)) => {
                tracing::debug!(peer = member.id, "unreadable frames: {e}");
                None
            }
            Err(e) => {
                tracing::debug!(peer = member.id, "no frames: {e}");
                None
            }
        }
    });
    let mut nodes = vec![super::local_frames(state)];
    nodes.extend(futures::future::join_all(asks).await.into_iter().flatten());
    aggregate::merge(&nodes)
}

/// A peer's request for this node's frames (cluster secret required), as JSON text in the wire
/// encoding.
async fn peer_frames(
    http: HttpRequest,
    payload: web::Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let () = crate::cluster::rpc::message(&http, payload, &state).await?;
    let json = serde_json::to_string(&super::local_frames(&state)).map_err(|e| ApiError::internal(e.to_string()))?;
    crate::cluster::rpc::answer(&json)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::observe::aggregate::frame;

    #[test]
    fn nothing_to_report_is_a_ping_and_frames_are_data_events() {
        assert_eq!(encode(&[]), Bytes::from_static(b"ping: \n\n"));
        let frames = [frame(json!({"type": "HystrixCommand", "name": "users"})), frame(json!({"name": "x"}))];
        assert_eq!(
            encode(&frames),
            Bytes::from_static(b"data: {\"name\":\"users\",\"type\":\"HystrixCommand\"}\n\ndata: {\"name\":\"x\"}\n\n")
        );
    }

    #[test]
    fn the_client_limit_frees_a_place_when_a_stream_ends() {
        let clients = Arc::new(AtomicUsize::new(0));
        let first = ClientPlace::take(&clients, 2).expect("first");
        let _second = ClientPlace::take(&clients, 2).expect("second");
        assert!(ClientPlace::take(&clients, 2).is_none());
        drop(first);
        assert!(ClientPlace::take(&clients, 2).is_some());
    }
}
