//! The TV home composed in Rust, served by Switchyard's own dependency layer: the baseline of the
//! load harness's `tvhome` scenario (design §12: the scripted `/tv/home` within 1.2× of it). It
//! starts a Switchyard node with the embedded demo (the same in-process services, actors,
//! breakers, collapsing and request cache as `switchyard serve`) and answers `GET /tv/home?user=U`
//! with `switchyard_bench::rust_home::tv_home` — the same calls and document as the sample script,
//! with no JavaScript in between.
//!
//! `rusthome --listen 127.0.0.1:PORT`

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use switchyard::config::Config;
use switchyard::node::Node;
use switchyard_endpoints::RequestDispatch;

/// Where to listen.
#[derive(clap::Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long)]
    listen: SocketAddr,
}

/// The query of `/tv/home`.
#[derive(serde::Deserialize)]
struct Query {
    user: Option<u64>,
}

type Dependencies = web::Data<Arc<switchyard_endpoints::Dependencies>>;

async fn home(query: web::Query<Query>, dependencies: Dependencies) -> HttpResponse {
    // One dispatcher per request: its request cache is the request's, as for a script.
    let dispatch = Rc::new(RequestDispatch::new(Arc::clone(&dependencies)));
    match switchyard_bench::rust_home::tv_home(dispatch, query.user.unwrap_or(7)).await {
        Ok(document) => HttpResponse::Ok().json(document),
        Err(e) => HttpResponse::BadGateway().json(json!({"error": e.to_string()})),
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = <Args as clap::Parser>::parse();
    let node = Node::start(Config::default())?;
    let dependencies = web::Data::new(Arc::clone(&node.dependencies));
    HttpServer::new(move || {
        App::new()
            .app_data(dependencies.clone())
            .route("/tv/home", web::get().to(home))
            .route("/healthz", web::get().to(healthz))
    })
    .bind(args.listen)?
    .run()
    .await?;
    Ok(())
}
