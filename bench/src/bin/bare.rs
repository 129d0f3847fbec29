//! The bare baseline of the load harness (design §12, `bench/load.sh`): a plain actix-web server
//! that makes the same six HTTP calls as Switchyard's fan-out endpoint (`bench/scripts/fanout.js`)
//! and the Node baseline (`bench/node/server.js`), with **no protection at all** — no timeouts
//! beyond the HTTP client's default, no circuit breaker, no bulkhead, no fallback, no collapsing.
//! It is the ceiling: what the hardware and the demo backends allow when nothing is spent on
//! resilience, so the harness can show what Switchyard's protection costs next to it.
//!
//! `bare --listen 127.0.0.1:PORT --backends http://127.0.0.1:PORT [--workers N]`
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /healthz` | `{"status": "ok"}` |
//! | `GET /fanout?user=U` (U defaults to 7) | `{"user", "subscriber", "rows", "bookmarks", "ratings", "art"}`, each a backend's JSON body |
//!
//! If any of the six calls fails (connect error, non-2xx status, body that is not JSON) the whole
//! request answers 502 `{"error": "..."}`: that is what an unprotected handler does.

use std::collections::HashMap;

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::Parser;
use serde_json::{Value, json};

/// Command-line arguments.
#[derive(Parser, Debug)]
#[command(name = "bare", about = "The unprotected actix-web fan-out baseline of the load harness")]
struct Args {
    /// Address to listen on, e.g. `127.0.0.1:19100`.
    #[arg(long)]
    listen: String,
    /// Base URL of the demo backends (`switchyard demo-backends`), e.g. `http://127.0.0.1:19000`.
    #[arg(long)]
    backends: String,
    /// Worker threads; actix's default (one per core) when absent.
    #[arg(long)]
    workers: Option<usize>,
}

/// What every worker shares: the one HTTP client (and its keep-alive pool) and the backends' URL.
struct State {
    /// The single client every call goes through.
    client: reqwest::Client,
    /// Base URL of the demo backends, without a trailing slash.
    backends: String,
}

/// `GET /healthz`.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// One GET whose body must be JSON; any failure becomes the error text of the 502.
async fn get_json(client: &reqwest::Client, url: String) -> Result<Value, String> {
    let response = client.get(&url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    // Read the body even on an error status so the connection can go back to the pool.
    let body = response.bytes().await.map_err(|e| format!("GET {url}: reading the body: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url}: {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

/// `GET /fanout?user=U`: the six calls at once, all or nothing.
async fn fanout(state: web::Data<State>, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let user: u64 = match query.get("user") {
        None => 7,
        Some(text) => match text.parse() {
            Ok(user) => user,
            Err(_) => return HttpResponse::BadRequest().json(json!({"error": format!("bad user `{text}`")})),
        },
    };
    let first = 1 + (user % 4996);
    let ids = (first..first + 5).map(|id| id.to_string()).collect::<Vec<_>>().join(",");
    let (client, base) = (&state.client, &state.backends);
    let calls = futures::try_join!(
        get_json(client, format!("{base}/users/{user}")),
        get_json(client, format!("{base}/subscriber/{user}")),
        get_json(client, format!("{base}/lists/{user}?limit=12")),
        get_json(client, format!("{base}/bookmarks/{user}")),
        get_json(client, format!("{base}/ratings/predicted?user={user}&ids={ids}")),
        get_json(client, format!("{base}/artwork/boxart?ids={ids}&size=small")),
    );
    match calls {
        Ok((user, subscriber, rows, bookmarks, ratings, art)) => HttpResponse::Ok().json(json!({
            "user": user,
            "subscriber": subscriber,
            "rows": rows,
            "bookmarks": bookmarks,
            "ratings": ratings,
            "art": art,
        })),
        Err(error) => HttpResponse::BadGateway().json(json!({"error": error})),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    // One client for the whole process: its pool keeps connections to the backends alive. No
    // proxy (the backends are local) and no timeout of our own — that is the point of this baseline.
    let client = reqwest::Client::builder().no_proxy().build().map_err(std::io::Error::other)?;
    let state = web::Data::new(State { client, backends: args.backends.trim_end_matches('/').to_owned() });
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/fanout", web::get().to(fanout))
    });
    if let Some(workers) = args.workers {
        server = server.workers(workers);
    }
    server.bind(&args.listen)?.run().await
}
