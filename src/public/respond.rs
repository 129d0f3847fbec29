//! Turning a running script's first answer into the HTTP answer: one document, or a progressive
//! NDJSON / SSE stream whose lines leave as the script's Observable emits them, or the JSON error.
//! The endpoint's concurrency place and the request's end (access line, statistics, trace) live as
//! long as the answer.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use bytes::Bytes;
use futures::StreamExt;
use switchyard_actors::bulkhead::Permit;
use switchyard_endpoints::script::{ScriptEvent, ScriptResponse, ScriptRun};

use super::request_end::RequestEnd;
use crate::request::{FirstAnswer, first_answer};
use crate::status::{ApiError, ErrorCode};

/// How the client asked to receive a streamed Observable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One JSON document.
    Document,
    /// `application/x-ndjson`: one JSON value per line.
    Ndjson,
    /// `text/event-stream`: one `data:` event per item.
    Sse,
}

impl Mode {
    /// From the `Accept` header.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/x-ndjson") => Mode::Ndjson,
            Some(a) if a.contains("text/event-stream") => Mode::Sse,
            _ => Mode::Document,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Mode::Document => "application/json",
            Mode::Ndjson => "application/x-ndjson",
            Mode::Sse => "text/event-stream",
        }
    }

    fn item(self, json: &str) -> Bytes {
        match self {
            Mode::Sse => Bytes::from(format!("data: {json}\n\n")),
            _ => Bytes::from(format!("{json}\n")),
        }
    }

    fn error(self, body: &serde_json::Value) -> Bytes {
        match self {
            Mode::Sse => Bytes::from(format!("event: error\ndata: {body}\n\n")),
            _ => Bytes::from(format!("{body}\n")),
        }
    }
}

/// What the answer is about: for its headers, error bodies, counters and access-log line.
pub struct Answering {
    /// `namespace/name`.
    pub endpoint: String,
    /// The revision that ran.
    pub revision: u32,
    /// The routing variant that chose it.
    pub variant: Option<String>,
    /// The request id.
    pub request_id: String,
    /// The endpoint's concurrency place, held until the answer is complete.
    pub permit: Permit,
    /// Access line, statistics and trace, written when the answer is complete.
    pub end: RequestEnd,
}

impl Answering {
    fn finish(&mut self, status: u16, outcome: &'static str) {
        self.end.answered(status, outcome);
    }
}

/// An error answer, counted for `endpoint`, with the request id.
pub fn error_response(error: ApiError, request_id: &str) -> HttpResponse {
    error.for_request(request_id).error_response()
}

/// Waits for the script's first answer and responds; a stream keeps the run (and the endpoint's
/// place) until its last line.
pub async fn answer(mut run: ScriptRun, mode: Mode, mut answering: Answering) -> HttpResponse {
    let mut logs = Vec::new();
    match first_answer(&mut run, &mut logs).await {
        FirstAnswer::Document(response) => {
            answering.finish(response.status, "ok");
            document(response, &answering)
        }
        FirstAnswer::Failed(failure) => {
            let error = ApiError::script(&failure, &answering.endpoint, answering.revision);
            answering.finish(error.status(), error.code());
            tracing::warn!(endpoint = %answering.endpoint, request_id = %answering.request_id, "{error}");
            let mut response = error_response(error, &answering.request_id);
            revision_header(&mut response, answering.revision);
            response
        }
        FirstAnswer::Stream(first) => stream(first, run, mode, answering),
    }
}

fn revision_header(response: &mut HttpResponse, revision: u32) {
    if let Ok(value) = HeaderValue::from_str(&revision.to_string()) {
        response.headers_mut().insert(HeaderName::from_static("x-switchyard-revision"), value);
    }
}

fn headers(builder: &mut HttpResponseBuilder, answering: &Answering) {
    builder.insert_header(("x-request-id", answering.request_id.as_str()));
    builder.insert_header(("x-switchyard-revision", answering.revision.to_string()));
    if let Some(variant) = &answering.variant {
        builder.insert_header(("x-switchyard-variant", variant.as_str()));
    }
}

fn document(response: ScriptResponse, answering: &Answering) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponseBuilder::new(status);
    headers(&mut builder, answering);
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            builder.append_header((name, value));
        }
    }
    let content_type = response
        .content_type
        .clone()
        .unwrap_or_else(|| if response.raw { "text/plain; charset=utf-8".into() } else { "application/json".into() });
    builder.insert_header((CONTENT_TYPE, content_type));
    builder.body(response.body)
}

fn stream(first: Option<String>, run: ScriptRun, mode: Mode, mut answering: Answering) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    headers(&mut builder, &answering);
    builder.insert_header((CONTENT_TYPE, mode.content_type()));
    if mode == Mode::Sse {
        builder.insert_header(("cache-control", "no-cache"));
    }
    let body = async_stream::stream! {
        if let Some(item) = first {
            yield Ok::<_, std::convert::Infallible>(mode.item(&item));
        }
        let mut rest = Box::pin(run.into_stream());
        let mut outcome = "ok";
        while let Some(event) = rest.next().await {
            match event {
                ScriptEvent::Item(item) => yield Ok(mode.item(&item)),
                ScriptEvent::Failed(failure) => {
                    let error = ApiError::script(&failure, &answering.endpoint, answering.revision)
                        .for_request(&answering.request_id);
                    outcome = if error.code == ErrorCode::Limit { "limit" } else { "stream_error" };
                    yield Ok(mode.error(&error.body()));
                }
                ScriptEvent::Document(response) => yield Ok(mode.item(&response.body)),
                ScriptEvent::End | ScriptEvent::Log { .. } => {}
            }
        }
        if mode == Mode::Sse {
            yield Ok(Bytes::from_static(b"event: end\ndata: {}\n\n"));
        }
        answering.finish(200, outcome);
    };
    // actix polls the body after the handler returned: enter the request's span at every poll, so
    // what the rest of the stream logs (and its access line) carries the request id too.
    let span = tracing::Span::current();
    let mut body = Box::pin(body);
    builder.streaming(futures::stream::poll_fn(move |cx| {
        let _entered = span.enter();
        futures::Stream::poll_next(body.as_mut(), cx)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_chooses_the_mode() {
        assert_eq!(Mode::from_accept(Some("application/x-ndjson")), Mode::Ndjson);
        assert_eq!(Mode::from_accept(Some("text/event-stream")), Mode::Sse);
        assert_eq!(Mode::from_accept(Some("application/json")), Mode::Document);
        assert_eq!(Mode::from_accept(None), Mode::Document);
        assert_eq!(Mode::Sse.item("1"), Bytes::from_static(b"data: 1\n\n"));
        assert_eq!(Mode::Ndjson.item("1"), Bytes::from_static(b"1\n"));
    }
}
