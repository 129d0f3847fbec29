//! [`HttpBackend`]: a dependency's calls as HTTP requests on `reqwest`, with its own keep-alive
//! pool — one per thread that calls: hyper drives a connection on the thread that opened it, so a
//! pool shared by every worker would have each reply cross threads (a wake-up of the other
//! worker, then one back). With per-worker dependency actors each worker reuses its own
//! connections; the number of requests in flight stays the dependency's (one semaphore).
//!
//! Classification (design §3): a 4xx is the caller's fault (bad request: not counted against the
//! breaker, no fallback); a 5xx, a connect error, a closed connection or a 2xx whose body is not
//! JSON is a failure. The pool never grows past the dependency's bulkhead: at most
//! `max_connections` requests are in flight (a semaphore held for the whole exchange, so a
//! connection exists per request at most) and as many idle connections are kept.
//!
//! Reply size: the body is read chunk by chunk and never past `max_reply_bytes`. A declared
//! `content-length` above it fails the call before any of the body is read; otherwise the call
//! fails as soon as the bytes read pass it (chunked or unframed replies). Either is a failure
//! naming `max_reply_bytes`. The unread response is dropped, and with it the connection: hyper
//! closes a connection whose body was abandoned rather than return it to the pool (unless the rest
//! of the body had already arrived, which it then reads, leaving the connection clean), and does
//! the same for one whose call timed out (the actor drops this future) before the reply was
//! complete. `tests/http_bad_networks.rs` checks both against raw servers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::config::{HttpConfig, HttpMethod, HttpOperation, placeholders};
use crate::backend::{Backend, BackendError};
use crate::error::ConfigError;
use crate::json::Json;
use crate::per_thread::PerThread;

/// A client for one HTTP dependency.
pub struct HttpBackend {
    name: Arc<str>,
    /// How each thread's client is built.
    client: ClientSettings,
    /// Each calling thread's client (its own pool of connections).
    clients: PerThread<reqwest::Client>,
    base_url: String,
    operations: Arc<BTreeMap<String, HttpOperation>>,
    max_reply_bytes: u64,
    in_flight: Arc<Semaphore>,
}

impl HttpBackend {
    /// A client for `config`, with at most `max_connections` requests in flight (the dependency's
    /// `max_concurrent`).
    pub fn new(name: &str, config: &HttpConfig, max_connections: usize) -> Result<Self, ConfigError> {
        let prefix = format!("dependencies.{name}.http");
        config.validate(&prefix)?;
        let max_connections = max_connections.max(1);
        let client = ClientSettings {
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            max_idle: max_connections,
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
        };
        // Built once here, so a client that cannot be built is a configuration error at start.
        client.build().map_err(|e| ConfigError::new(&prefix, "base_url", format!("cannot build a client: {e}")))?;
        Ok(Self {
            name: Arc::from(name),
            client,
            clients: PerThread::new(),
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            operations: Arc::new(config.operations.clone()),
            max_reply_bytes: config.max_reply_bytes,
            in_flight: Arc::new(Semaphore::new(max_connections)),
        })
    }

    /// Requests in flight now.
    pub fn in_flight(&self, max_connections: usize) -> usize {
        max_connections - self.in_flight.available_permits()
    }

    fn request(&self, operation: &str, args: &Value) -> Result<reqwest::RequestBuilder, BackendError> {
        let op = self
            .operations
            .get(operation)
            .ok_or_else(|| BackendError::bad_request(format!("{} has no operation `{operation}`", self.name)))?;
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base_url, fill_path(&op.path, args)?))
            .map_err(|e| BackendError::bad_request(format!("arguments make a bad URL: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            for name in &op.query {
                if let Some(value) = args.get(name).filter(|v| !v.is_null()) {
                    query.append_pair(name, &text_of(name, value)?);
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let method = match op.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        let client = self
            .clients
            .get_or_make(|| self.client.build().ok())
            .ok_or_else(|| BackendError::failure("cannot build an HTTP client on this thread"))?;
        let mut request = client.request(method, url).header("accept", "application/json");
        if op.body {
            request = request.header("content-type", "application/json").body(args.to_string());
        }
        Ok(request)
    }
}

/// What every thread's client of one dependency is built with.
struct ClientSettings {
    connect_timeout: Duration,
    max_idle: usize,
    idle_timeout: Duration,
}

impl ClientSettings {
    fn build(&self) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .pool_max_idle_per_host(self.max_idle)
            .pool_idle_timeout(self.idle_timeout)
            .tcp_nodelay(true)
            .build()
    }
}

impl Backend for HttpBackend {
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        let request = match self.request(operation, args) {
            Ok(request) => request,
            Err(e) => return futures::future::ready(Err(e)).boxed(),
        };
        let in_flight = Arc::clone(&self.in_flight);
        let max_reply_bytes = self.max_reply_bytes;
        async move {
            let _permit = in_flight.acquire_owned().await.map_err(|_| BackendError::failure("client closed"))?;
            let response = request.send().await.map_err(|e| BackendError::failure(describe(&e)))?;
            let status = response.status();
            let body = read_body(response, max_reply_bytes).await?;
            if status.is_client_error() {
                return Err(BackendError::bad_request(format!("{status}: {}", excerpt(&body))));
            }
            if !status.is_success() {
                return Err(BackendError::failure(format!("{status}: {}", excerpt(&body))));
            }
            Json::from_slice(&body)
                .map_err(|e| BackendError::failure(format!("malformed reply ({e}): {}", excerpt(&body))))
        }
        .boxed()
    }
}

/// The whole body, read chunk by chunk, or a failure once it is known to pass `limit` bytes. On
/// failure the response (and so its connection) is dropped with the rest unread.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>, BackendError> {
    let too_big = |what: String| BackendError::failure(format!("reply exceeded max_reply_bytes ({limit}): {what}"));
    let declared = response.content_length();
    if let Some(length) = declared.filter(|&length| length > limit) {
        return Err(too_big(format!("content-length {length}")));
    }
    // Preallocate from the declared length (at most `limit` here), but no more than 64 KiB of it.
    let capacity = declared.unwrap_or(0).min(limit).min(64 * 1024);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| BackendError::failure(describe(&e)))? {
        let total = body.len() as u64 + chunk.len() as u64;
        if total > limit {
            return Err(too_big(format!("at least {total} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_connect() {
        "connect error"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_body() || error.is_decode() {
        "broken reply"
    } else {
        "request failed"
    };
    let mut message = format!("{what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().to_owned()
}

/// An argument as URL text: scalars as they print, arrays comma-joined.
fn text_of(name: &str, value: &Value) -> Result<String, BackendError> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(BackendError::bad_request(format!(
            "argument `{name}` must be a string, number, boolean or a list of them"
        ))),
    };
    match value {
        Value::Array(items) => Ok(items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?.join(",")),
        other => scalar(other),
    }
}

/// `/users/{id}` with `{"id": 7}` → `/users/7` (each value percent-encoded).
fn fill_path(template: &str, args: &Value) -> Result<String, BackendError> {
    let mut path = template.to_owned();
    for name in placeholders(template).map_err(BackendError::bad_request)? {
        let value = args
            .get(name)
            .filter(|v| !v.is_null())
            .ok_or_else(|| BackendError::bad_request(format!("missing argument `{name}`")))?;
        path = path.replacen(&format!("{{{name}}}"), &encode(&text_of(name, value)?), 1);
    }
    Ok(path)
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `,`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~,".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_are_filled_and_encoded() {
        assert_eq!(fill_path("/users/{id}", &json!({"id": 7})).unwrap(), "/users/7");
        assert_eq!(fill_path("/t/{ids}", &json!({"ids": [1, 2]})).unwrap(), "/t/1,2");
        assert_eq!(fill_path("/n/{name}", &json!({"name": "a b/é"})).unwrap(), "/n/a%20b%2F%C3%A9");
        assert!(fill_path("/users/{id}", &json!({})).unwrap_err().message.contains("`id`"));
        assert!(fill_path("/users/{id}", &json!({"id": {"x": 1}})).is_err());
    }

    #[test]
    fn requests_carry_the_query_and_body_of_their_operation() {
        let mut config = HttpConfig::for_demo_service("http://127.0.0.1:9/api/", "ratings").unwrap();
        config.operations.insert(
            "save".into(),
            HttpOperation { method: HttpMethod::Post, path: "/save/{id}".into(), query: vec![], body: true },
        );
        let backend = HttpBackend::new("ratings", &config, 4).unwrap();
        let request =
            backend.request("predicted", &json!({"user": 7, "ids": [1, 2], "other": 1})).unwrap().build().unwrap();
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/api/ratings/predicted?user=7&ids=1%2C2");
        assert_eq!(request.method(), reqwest::Method::GET);
        let request = backend.request("save", &json!({"id": 3, "v": true})).unwrap().build().unwrap();
        assert_eq!((request.method().as_str(), request.url().path()), ("POST", "/api/save/3"));
        assert_eq!(request.body().and_then(|b| b.as_bytes()), Some(br#"{"id":3,"v":true}"#.as_slice()));
        assert!(backend.request("nope", &json!({})).unwrap_err().message.contains("nope"));
        let no_query = backend.request("predicted", &json!({})).unwrap().build().unwrap();
        assert_eq!(no_query.url().query(), None);
    }
}
