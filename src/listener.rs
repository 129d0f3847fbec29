//! What both HTTP listeners put in front of their handlers: the bounds on connections
//! ([`Bounds`]: connections at once, how long a request head may take to arrive, keep-alive) and
//! the [`Guard`] middleware, which refuses a request head over `server.max_header_bytes` with a 431
//! JSON error and counts every answer by listener and status ([`ResponseCounts`]).
//!
//! actix-http itself closes a head over 128 KiB or with more than 96 headers with an empty 431;
//! the configurable limit sits below that, so a client normally gets our JSON error.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::KeepAlive;

use crate::config::ServerConfig;
use crate::observe::responses::{Listener, ResponseCounts};
use crate::public::input::request_id;
use crate::status::ApiError;

/// The largest request head actix-http reads at all; `server.max_header_bytes` may not exceed it.
pub const HEAD_BUFFER_LIMIT: usize = 131_072;

/// A listener's connection bounds, from `[server]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Connections each worker holds at once (`server.max_connections` split over the workers);
    /// beyond, new connections wait in the kernel's accept queue.
    pub connections_per_worker: usize,
    /// How long a client may take to send a request head before it is answered 408 and closed.
    pub head_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: KeepAlive,
}

impl Bounds {
    /// The bounds of a listener running `workers` worker threads.
    pub fn new(server: &ServerConfig, workers: usize) -> Self {
        Self {
            connections_per_worker: server.max_connections.div_ceil(workers.max(1)),
            head_timeout: Duration::from_millis(server.request_head_timeout_ms),
            keep_alive: match server.keep_alive_ms {
                0 => KeepAlive::Disabled,
                ms => KeepAlive::Timeout(Duration::from_millis(ms)),
            },
        }
    }
}

/// The bytes a request head takes on the wire, near enough: request line and `name: value` lines.
fn head_bytes(request: &ServiceRequest) -> usize {
    // The request target as sent (origin form: path and query), without building a string for it.
    let target = request.uri().path_and_query().map_or(1, |target| target.as_str().len());
    let line = request.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len()).sum::<usize>()
        + line
}

/// The middleware: refuses heads over the limit, counts every answer.
#[derive(Clone)]
pub struct Guard {
    listener: Listener,
    max_header_bytes: usize,
    counts: Arc<ResponseCounts>,
}

impl Guard {
    /// A guard for `listener`, counting into `counts`.
    pub fn new(listener: Listener, max_header_bytes: usize, counts: Arc<ResponseCounts>) -> Self {
        Self { listener, max_header_bytes, counts }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Guard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = GuardService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GuardService { service: Rc::new(service), guard: self.clone() }))
    }
}

/// [`Guard`] around one worker's service.
pub struct GuardService<S> {
    service: Rc<S>,
    guard: Guard,
}

impl<S, B> Service<ServiceRequest> for GuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let guard = self.guard.clone();
        let bytes = head_bytes(&request);
        if bytes > guard.max_header_bytes {
            let id = request_id(request.headers());
            let response = actix_web::ResponseError::error_response(
                &ApiError::headers_too_large(bytes, guard.max_header_bytes).for_request(&id),
            );
            guard.counts.record(guard.listener, response.status().as_u16());
            return Box::pin(ready(Ok(request.into_response(response).map_into_right_body())));
        }
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let result = service.call(request).await;
            let status = match &result {
                Ok(response) => response.status(),
                Err(error) => error.as_response_error().status_code(),
            };
            guard.counts.record(guard.listener, status.as_u16());
            result.map(ServiceResponse::map_into_left_body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_split_over_the_workers_rounding_up() {
        let mut server = ServerConfig::default();
        server.max_connections = 1001;
        server.keep_alive_ms = 0;
        let bounds = Bounds::new(&server, 2);
        assert_eq!(bounds.connections_per_worker, 501);
        assert_eq!(bounds.keep_alive, KeepAlive::Disabled);
        assert_eq!(Bounds::new(&server, 0).connections_per_worker, 1001);
        server.keep_alive_ms = 1500;
        assert_eq!(Bounds::new(&server, 1).keep_alive, KeepAlive::Timeout(Duration::from_millis(1500)));
        assert_eq!(Bounds::new(&server, 1).head_timeout, Duration::from_millis(server.request_head_timeout_ms));
    }

    #[test]
    fn a_head_counts_its_request_line_and_every_header_line() {
        let request = actix_web::test::TestRequest::get()
            .uri("/tv/home?x=1")
            .insert_header(("x-a", "12345"))
            .insert_header(("x-b", ""))
            .to_srv_request();
        // "GET /tv/home?x=1 HTTP/1.1\r\n" = 27, "x-a: 12345\r\n" = 12, "x-b: \r\n" = 7
        assert_eq!(head_bytes(&request), 27 + 12 + 7);
    }
}
