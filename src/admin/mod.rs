//! The admin listener (design §10, default 127.0.0.1:8081): the management API under `/admin/v1`
//! (endpoints and their revisions, routing, rollback, delete, audit, dependencies, chaos, the
//! script limits, the cluster, traces, history), the peers' Raft traffic under `/cluster/v1`
//! ([`crate::cluster::rpc`]), the streams, dashboard and metrics ([`crate::observe`]), its
//! OpenAPI 3 document at `/admin/v1/openapi.json` — generated from the handlers and their types by
//! utoipa, never written by hand — and `/healthz`, `/readyz`.
//!
//! Every request needs an admin bearer token ([`tokens`]); every error is the JSON of
//! [`crate::status`], including the ones actix-web's extractors would otherwise answer in text.

pub mod audit;
pub mod body;
pub mod cluster;
pub mod dependencies;
pub mod endpoints;
pub mod observe;
pub mod scripts;
pub mod tokens;

use std::future::Future;
use std::net::TcpListener;

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_actix_web::{AppExt, scope};

use crate::app::AppState;
use crate::listener::{Bounds, Guard};
use crate::observe::responses::Listener;
use crate::status::ApiError;

/// The shape of every error answer (design §11).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `compile_error`, `internal` ….
    pub error: String,
    /// One sentence for people.
    pub message: String,
    /// Whose fault: `caller`, `backend`, `script`, `server`.
    pub fault: String,
    /// Whether the same request may succeed later.
    pub retryable: bool,
    /// The field at fault, for a 400.
    pub field: Option<String>,
    /// Line of a compile error.
    pub line: Option<u32>,
    /// Column of a compile error.
    pub column: Option<u32>,
}

/// The document's frame: title, version and the bearer security scheme.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchyard admin API", description = "Publish, route and roll back endpoint revisions; watch and tune dependencies."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct AdminApi;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Serves the admin API on `listener` until `shutdown` resolves.
pub fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<impl Future<Output = std::io::Result<()>>> {
    // Two workers: the admin API is light, and its streams mostly wait.
    const WORKERS: usize = 2;
    let bounds = Bounds::new(&state.node.config.server, WORKERS);
    let guard = Guard::new(Listener::Admin, state.node.config.server.max_header_bytes, state.observe.responses.clone());
    let data = web::Data::new(state);
    actix_web::rt::spawn(crate::observe::history::run(std::sync::Arc::downgrade(&data.clone().into_inner())));
    // Built once; registered before the `/admin/v1` scope, which would otherwise claim its path.
    let document = web::Data::new(openapi_document());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(guard.clone())
            .app_data(data.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| ApiError::not_found(format!("no such resource: {e}")).into()),
            )
            .service(
                web::resource("/admin/v1/openapi.json").app_data(document.clone()).route(web::get().to(openapi_json)),
            )
            .into_utoipa_app()
            .service(api())
            .into_app()
            .configure(crate::cluster::rpc::routes)
            .configure(crate::observe::stream::routes)
            .configure(crate::observe::dashboard::routes)
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(crate::status::readyz))
            .default_service(web::to(not_found))
    })
    .workers(WORKERS)
    .max_connections(bounds.connections_per_worker)
    .client_request_timeout(bounds.head_timeout)
    .keep_alive(bounds.keep_alive)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(crate::shutdown::until(server, shutdown))
}

/// Every `/admin/v1` handler, once: for the listener and for the document.
fn api() -> scope::Scope<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse, Error = actix_web::Error, InitError = ()>,
> {
    scope::scope("/admin/v1")
        .service(endpoints::list_endpoints)
        .service(endpoints::publish)
        .service(endpoints::show_endpoint)
        .service(endpoints::show_revision)
        .service(endpoints::set_routing)
        .service(endpoints::rollback)
        .service(endpoints::delete_endpoint)
        .service(dependencies::list_dependencies)
        .service(dependencies::update_settings)
        .service(dependencies::set_chaos)
        .service(dependencies::clear_chaos)
        .service(scripts::show_limits)
        .service(scripts::update_limits)
        .service(audit::read_audit)
        .service(cluster::show_cluster)
        .service(cluster::init_cluster)
        .service(cluster::add_learner)
        .service(cluster::promote)
        .service(cluster::remove)
        .service(observe::show_trace)
        .service(observe::show_history)
}

/// The OpenAPI document, as the listener serves it (it depends only on the handlers).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, document) = App::new().into_utoipa_app().openapi(AdminApi::openapi()).service(api()).split_for_parts();
    document
}

async fn openapi_json(document: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(&**document)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn not_found(request: actix_web::HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no admin resource {} {}", request.method(), request.path())).error_response()
}
