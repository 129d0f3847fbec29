//! The demo services over HTTP (`switchyard demo-backends --listen ADDR`): the same backends as
//! in-process, so data, latency and chaos are identical, behind a small REST-ish JSON API that a
//! `kind = "http"` dependency (or curl) can call.
//!
//! | method and path | operation |
//! |---|---|
//! | `GET /users/{id}` | `users.get {id}` |
//! | `GET /subscriber/{user}` | `subscriber.status {user}` |
//! | `GET /lists/{user}?limit=N` | `lists.for_user {user, limit?}` |
//! | `GET /catalog/titles?ids=1,2,3` | `catalog.titles {ids}` (the batch endpoint) |
//! | `GET /catalog/titles/{id}` | `catalog.title {id}` |
//! | `GET /ratings/predicted?user=U&ids=1,2,3` | `ratings.predicted {user, ids}` |
//! | `GET /bookmarks/{user}` | `bookmarks.for_user {user}` |
//! | `GET /artwork/boxart?ids=1,2&size=small` | `artwork.boxart {ids, size}` |
//! | `GET /recs/similar/{id}?limit=N` | `recs.similar {id, limit?}` |
//! | `POST /call/{service}/{operation}` | any operation, JSON arguments as the body |
//! | `GET`, `PUT`, `DELETE /chaos/{service}` | read, set (JSON `ChaosSettings`), clear the chaos switch |
//! | `GET /healthz` | `{"status": "ok"}` |
//!
//! A reply is the operation's JSON text as is. Refused arguments are 400, an unknown route or
//! service 404, a failing service (chaos) 503, each with a JSON body `{"error": "..."}`.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use serde_json::{Map, Value, json};
use switchyard_actors::{Backend, BackendErrorKind};

use super::chaos::ChaosSettings;
use super::services::Service;
use super::{DemoServices, SERVICES};
use crate::status::ErrorCode;

type Demo = web::Data<DemoServices>;

/// Builds the demo backends' HTTP server on `listener` (bind `127.0.0.1:0` in tests). The caller
/// awaits or spawns the returned server, inside an actix or tokio runtime.
pub fn demo_backends_server(listener: TcpListener, services: DemoServices) -> std::io::Result<Server> {
    let demo = web::Data::new(services);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(demo.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/users/{id}", web::get().to(users_get))
            .route("/subscriber/{user}", web::get().to(subscriber_status))
            .route("/lists/{user}", web::get().to(lists_for_user))
            .route("/catalog/titles", web::get().to(catalog_titles))
            .route("/catalog/titles/{id}", web::get().to(catalog_title))
            .route("/ratings/predicted", web::get().to(ratings_predicted))
            .route("/bookmarks/{user}", web::get().to(bookmarks_for_user))
            .route("/artwork/boxart", web::get().to(artwork_boxart))
            .route("/recs/similar/{id}", web::get().to(recs_similar))
            .route("/call/{service}/{operation}", web::post().to(call_any))
            .route("/chaos/{service}", web::get().to(chaos_get))
            .route("/chaos/{service}", web::put().to(chaos_put))
            .route("/chaos/{service}", web::delete().to(chaos_delete))
            .default_service(web::to(not_found))
    })
    .listen(listener)?;
    Ok(server.run())
}

/// A request the demo services refuse. Its status comes from the server's one table
/// ([`ErrorCode`]); its body stays what a foreign backend would send, `{"error": message}`: these
/// services stand in for someone else's API, whose error bodies Switchyard never interprets.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::BadRequest, message: message.into() }
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::NotFound, message: message.into() }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::Unavailable, message: message.into() }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        json_response(self.status_code(), json!({ "error": self.message }).to_string())
    }
}

type Answer = Result<HttpResponse, ApiError>;

fn json_response(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body)
}

/// Calls the in-process backend and writes its reply text as is.
async fn call(demo: &DemoServices, service: Service, operation: &str, args: Value) -> Answer {
    match demo.entry(service).call(operation, &args).await {
        Ok(reply) => Ok(json_response(StatusCode::OK, reply.as_str().to_owned())),
        Err(e) if e.kind == BackendErrorKind::BadRequest => Err(ApiError::bad_request(e.message)),
        Err(e) => Err(ApiError::unavailable(format!("{service}: {}", e.message))),
    }
}

/// A path or query value as JSON: integers become numbers (ids are numbers), anything else stays a
/// string for the service to refuse with its own message.
fn scalar(text: &str) -> Value {
    text.parse::<u64>().map_or_else(|_| Value::String(text.to_owned()), Value::from)
}

/// A comma-separated list (`1,2,3`) as a JSON array.
fn list(text: &str) -> Value {
    Value::Array(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(scalar).collect())
}

/// Arguments from path values and the named query parameters that are present (`ids` as a list).
fn args(path: &[(&str, &str)], req: &HttpRequest, params: &[&str]) -> Result<Value, ApiError> {
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
    let mut map: Map<String, Value> = path.iter().map(|(k, v)| ((*k).to_owned(), scalar(v))).collect();
    for (key, value) in query.into_inner() {
        if params.contains(&key.as_str()) {
            let value = if key == "ids" { list(&value) } else { scalar(&value) };
            map.insert(key, value);
        }
    }
    Ok(Value::Object(map))
}

async fn healthz() -> HttpResponse {
    json_response(StatusCode::OK, json!({ "status": "ok", "services": SERVICES }).to_string())
}

async fn users_get(demo: Demo, id: web::Path<String>, req: HttpRequest) -> Answer {
    call(&demo, Service::Users, "get", args(&[("id", &id)], &req, &[])?).await
}

async fn subscriber_status(demo: Demo, user: web::Path<String>, req: HttpRequest) -> Answer {
    call(&demo, Service::Subscriber, "status", args(&[("user", &user)], &req, &[])?).await
}

async fn lists_for_user(demo: Demo, user: web::Path<String>, req: HttpRequest) -> Answer {
    call(&demo, Service::Lists, "for_user", args(&[("user", &user)], &req, &["limit"])?).await
}

async fn catalog_titles(demo: Demo, req: HttpRequest) -> Answer {
    call(&demo, Service::Catalog, "titles", args(&[], &req, &["ids"])?).await
}

async fn catalog_title(demo: Demo, id: web::Path<String>, req: HttpRequest) -> Answer {
    call(&demo, Service::Catalog, "title", args(&[("id", &id)], &req, &[])?).await
}

async fn ratings_predicted(demo: Demo, req: HttpRequest) -> Answer {
    call(&demo, Service::Ratings, "predicted", args(&[], &req, &["user", "ids"])?).await
}

async fn bookmarks_for_user(demo: Demo, user: web::Path<String>, req: HttpRequest) -> Answer {
    call(&demo, Service::Bookmarks, "for_user", args(&[("user", &user)], &req, &[])?).await
}

async fn artwork_boxart(demo: Demo, req: HttpRequest) -> Answer {
    let mut args = args(&[], &req, &["ids", "size"])?;
    // `size` is a word, never an id: keep it a string even if someone sends `size=1`.
    if let Some(size) = args.get_mut("size").filter(|v| v.is_number()) {
        *size = Value::String(size.to_string());
    }
    call(&demo, Service::Artwork, "boxart", args).await
}

async fn recs_similar(demo: Demo, id: web::Path<String>, req: HttpRequest) -> Answer {
    call(&demo, Service::Recs, "similar", args(&[("id", &id)], &req, &["limit"])?).await
}

async fn call_any(demo: Demo, path: web::Path<(String, String)>, body: web::Bytes) -> Answer {
    let (service, operation) = path.into_inner();
    let service = find_service(&service)?;
    let args = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("malformed JSON arguments: {e}")))?
    };
    call(&demo, service, &operation, args).await
}

/// The service named in the path, or a 404.
fn find_service(name: &str) -> Result<Service, ApiError> {
    Service::from_name(name).ok_or_else(|| ApiError::not_found(format!("no demo service `{name}`")))
}

fn chaos_state(demo: &DemoServices, service: Service) -> HttpResponse {
    let chaos = demo.entry(service).chaos();
    let body = json!({
        "service": service.name(),
        "chaos": chaos.current(),
        "remaining_s": chaos.remaining().map(|d| d.as_secs_f64()),
    });
    json_response(StatusCode::OK, body.to_string())
}

async fn chaos_get(demo: Demo, name: web::Path<String>) -> Answer {
    Ok(chaos_state(&demo, find_service(&name)?))
}

async fn chaos_put(demo: Demo, name: web::Path<String>, body: web::Bytes) -> Answer {
    let service = find_service(&name)?;
    let settings: ChaosSettings =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid chaos settings: {e}")))?;
    demo.entry(service).chaos().set(settings).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(chaos_state(&demo, service))
}

async fn chaos_delete(demo: Demo, name: web::Path<String>) -> Answer {
    let service = find_service(&name)?;
    demo.entry(service).chaos().clear();
    Ok(chaos_state(&demo, service))
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no route for {} {}", req.method(), req.path())).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_become_numbers_when_they_are_ids() {
        assert_eq!(scalar("42"), json!(42));
        assert_eq!(scalar("abc"), json!("abc"));
        assert_eq!(list("1, 2,,3"), json!([1, 2, 3]));
        assert_eq!(list(""), json!([]));
        assert_eq!(list("1,x"), json!([1, "x"]));
    }
}
