//! The request context a script sees as `req` (design §5): built once per device request from the
//! HTTP request, the verified user and the parsed body, and handed to the engine as JSON text.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// Where a request is going: `/{namespace}/{name}[/tail]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// First path segment.
    pub namespace: String,
    /// Second path segment.
    pub name: String,
    /// The rest of the path, without its leading `/` (empty when none).
    pub tail: String,
}

impl Route {
    /// Splits a path; `None` when it has fewer than two segments.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let namespace = parts.next().filter(|s| !s.is_empty())?;
        let name = parts.next().filter(|s| !s.is_empty())?;
        let tail = parts.next().unwrap_or("");
        Some(Self { namespace: namespace.to_owned(), name: name.to_owned(), tail: tail.to_owned() })
    }

    /// `namespace/name`.
    pub fn endpoint(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The request's id: the client's `X-Request-Id` when it is sane, else a new random one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned)
}

/// The body as scripts see it: JSON when it parses (a JSON content type must), else text, else
/// null.
pub fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    let declared_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.contains("+json"));
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(e) if declared_json => Err(ApiError::bad_request(format!("the body is not valid JSON: {e}"))),
        Err(_) => Ok(std::str::from_utf8(body).map_or(Value::Null, |s| Value::String(s.to_owned()))),
    }
}

/// Everything of `req` but the body and the user, which the caller parsed and verified.
pub struct ContextParts<'a> {
    /// The HTTP request.
    pub http: &'a HttpRequest,
    /// Its route.
    pub route: &'a Route,
    /// Parsed body.
    pub body: Value,
    /// Verified user, or null.
    pub user: Option<Value>,
    /// Request id.
    pub request_id: &'a str,
    /// Revision that will run.
    pub revision: u32,
}

/// `req` as JSON text.
pub fn build(parts: ContextParts<'_>) -> String {
    let http = parts.http;
    let query: Map<String, Value> = url_pairs(http.query_string()).map(|(k, v)| (k, Value::String(v))).collect();
    let mut headers = Map::new();
    for (name, value) in http.headers() {
        if name == header::AUTHORIZATION || name == header::COOKIE {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
        }
    }
    let header_text = |name: &str| http.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let device = header_text("x-device-type").unwrap_or_else(|| parts.route.namespace.clone());
    json!({
        "method": http.method().as_str(),
        "path": http.path(),
        "namespace": parts.route.namespace,
        "endpoint": parts.route.name,
        "tail": parts.route.tail,
        "query": query,
        "headers": headers,
        "body": parts.body,
        "user": parts.user,
        "device": device,
        "geo": header_text("x-geo-country"),
        "requestId": parts.request_id,
        "revision": parts.revision,
        "variant": Value::Null,
    })
    .to_string()
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded (by actix-web's urlencoded parser); the last
/// of a repeated key wins. A query that does not parse gives no pairs.
fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn routes_split_namespace_name_and_tail() {
        let r = Route::parse("/tv/home/row/3").unwrap();
        assert_eq!((r.namespace.as_str(), r.name.as_str(), r.tail.as_str()), ("tv", "home", "row/3"));
        assert_eq!(Route::parse("/tv/home").unwrap().tail, "");
        assert_eq!(Route::parse("/tv"), None);
        assert_eq!(Route::parse("/"), None);
    }

    #[test]
    fn query_values_are_decoded() {
        let pairs: Vec<_> = url_pairs("a=1&b=x%20y+z&c=&e=%41&%C3%A9=%E2%82%AC").collect();
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (get("a"), get("b"), get("c"), get("e"), get("é")),
            (Some("1"), Some("x y z"), Some(""), Some("A"), Some("€"))
        );
    }

    #[test]
    fn bodies_are_json_text_or_null_and_declared_json_must_parse() {
        let json_headers = TestRequest::default().insert_header(("content-type", "application/json")).to_http_request();
        let plain = TestRequest::default().to_http_request();
        assert_eq!(parse_body(json_headers.headers(), br#"{"a":1}"#).unwrap(), json!({"a": 1}));
        assert_eq!(parse_body(json_headers.headers(), b"{oops").unwrap_err().status, 400);
        assert_eq!(parse_body(plain.headers(), b"hello").unwrap(), json!("hello"));
        assert_eq!(parse_body(plain.headers(), &[0xff, 0xfe]).unwrap(), Value::Null);
        assert_eq!(parse_body(plain.headers(), b"").unwrap(), Value::Null);
    }

    #[test]
    fn the_context_has_every_documented_field() {
        let http = TestRequest::get()
            .uri("/tv/home/x?user=7")
            .insert_header(("x-geo-country", "SE"))
            .insert_header(("authorization", "Bearer secret"))
            .to_http_request();
        let route = Route::parse(http.path()).unwrap();
        let text = build(ContextParts {
            http: &http,
            route: &route,
            body: Value::Null,
            user: None,
            request_id: "r1",
            revision: 2,
        });
        let req: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(req["query"]["user"], "7");
        assert_eq!(
            (req["device"].as_str(), req["geo"].as_str(), req["tail"].as_str()),
            (Some("tv"), Some("SE"), Some("x"))
        );
        assert_eq!((req["requestId"].as_str(), req["revision"].as_u64()), (Some("r1"), Some(2)));
        assert!(req["headers"].get("authorization").is_none(), "credentials are not handed to scripts");
        for key in ["method", "path", "namespace", "endpoint", "headers", "body", "user", "variant"] {
            assert!(req.get(key).is_some(), "{key}");
        }
    }
}
