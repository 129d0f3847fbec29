//! Publish → served, on one node (design §12: p99 < 50 ms): a release-built node in this process on
//! 127.0.0.1 free ports, driven over real HTTP like a user would. For each of 100 publishes it
//! times (a) the publish alone (compile, durable store write, registry reload), and (b) publish +
//! routing to make the revision active → the first device request answered by it (read from
//! `X-Switchyard-Revision`). Prints p50, p99 and max of each.
//!
//! `cargo bench -p switchyard-bench --bench publish`
#![allow(missing_docs)]

use std::net::TcpListener;
use std::time::Duration;

use futures::FutureExt;
use switchyard::app::AppState;
use switchyard::config::{AdminToken, Config};
use switchyard::demo::DemoServices;
use tokio::time::Instant;

const TOKEN: &str = "bench-admin-token-0123456789";
const ROUNDS: usize = 100;

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means another bench was asked for.
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && !"publish".contains(a.as_str())) {
        return;
    }
    actix_web::rt::System::new().block_on(run());
}

async fn run() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.data_dir = data.path().join("data");
    config.auth.admin_tokens = vec![AdminToken { name: "bench".into(), token: TOKEN.into(), scopes: vec!["*".into()] }];
    let state = AppState::open_with(config, DemoServices::without_latency(1)).expect("node");
    let public = TcpListener::bind("127.0.0.1:0").expect("bind");
    let admin = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (public_url, admin_url) = (
        format!("http://{}", public.local_addr().expect("addr")),
        format!("http://{}", admin.local_addr().expect("addr")),
    );
    let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    let stopped = stopped.map(|_| ()).shared();
    actix_web::rt::spawn(switchyard::public::serve(state.clone(), public, stopped.clone()).expect("public"));
    actix_web::rt::spawn(switchyard::admin::serve(state, admin, stopped).expect("admin"));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");

    let publish_url = format!("{admin_url}/admin/v1/endpoints/bench/publish/revisions");
    let routing_url = format!("{admin_url}/admin/v1/endpoints/bench/publish/routing");
    let endpoint_url = format!("{public_url}/bench/publish");
    let (mut publish_alone, mut until_served) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // A distinct, realistic-sized source each time, so nothing is served from the compile cache.
        let source = format!(
            "// round {round}\nexport default async function handle(req) {{\n  const [user] = await call('users', 'get', {{id: 7}});\n  return {{round: {round}, name: user.name, padding: '{}'}};\n}}\n",
            "x".repeat(2000)
        );
        let started = Instant::now();
        let answer = client.post(&publish_url).bearer_auth(TOKEN).body(source).send().await.expect("publish");
        assert_eq!(answer.status().as_u16(), 201, "publish failed");
        let published: serde_json::Value = answer.json().await.expect("json");
        publish_alone.push(started.elapsed());
        let revision = published["revision"].as_u64().expect("revision");
        if revision > 1 {
            let body = serde_json::json!({"active": revision});
            let answer = client.put(&routing_url).bearer_auth(TOKEN).json(&body).send().await.expect("route");
            assert_eq!(answer.status().as_u16(), 200, "routing failed");
        }
        loop {
            let answer = client.get(&endpoint_url).send().await.expect("request");
            let served = answer.headers().get("x-switchyard-revision").and_then(|v| v.to_str().ok()).map(str::to_owned);
            if served.as_deref() == Some(revision.to_string().as_str()) {
                until_served.push(started.elapsed());
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "revision {revision} not served after 5 s");
        }
    }
    let _ = stop.send(());
    switchyard_bench::latencies::report("publish (compile + durable write + reload), answered", &mut publish_alone);
    switchyard_bench::latencies::report("publish + activate → first request served by it", &mut until_served);
}
