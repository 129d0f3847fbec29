//! What a device request brings, read off HTTP: its id, its body (within the limit, parsed as
//! scripts see it) and the `req` context built from both (design §5).

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::request::{RequestContext, Route};
use crate::status::ApiError;

/// The request's id: the client's `X-Request-Id` when it is sane, else a new random one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned)
}

/// The body, refused with 413 past `limit` bytes (by its declared length, or while reading).
pub async fn read_body(
    http: &HttpRequest,
    mut payload: actix_web::web::Payload,
    limit: usize,
) -> Result<BytesMut, ApiError> {
    let declared =
        http.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

/// `req` for an HTTP request to `route`, with its parsed body and verified user. Revision and
/// variant are the routing's choice, set by the caller.
pub fn context(
    http: &HttpRequest,
    route: &Route,
    body: Value,
    user: Option<Value>,
    request_id: &str,
) -> RequestContext {
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
    RequestContext {
        method: http.method().as_str().to_owned(),
        path: http.path().to_owned(),
        namespace: route.namespace.clone(),
        endpoint: route.name.clone(),
        tail: route.tail.clone(),
        query,
        headers,
        body,
        user,
        device: header_text("x-device-type").unwrap_or_else(|| route.namespace.clone()),
        geo: header_text("x-geo-country"),
        request_id: request_id.to_owned(),
        revision: 0,
        variant: None,
    }
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
    use serde_json::json;

    use super::*;

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
        assert_eq!(parse_body(json_headers.headers(), b"{oops").unwrap_err().status(), 400);
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
        let mut context = context(&http, &route, Value::Null, None, "r1");
        context.revision = 2;
        let req: Value = serde_json::from_str(&context.to_json()).unwrap();
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
