//! A real server for black-box tests: both listeners on 127.0.0.1:0, a data directory of its own
//! in a temp dir, latency-free demo services, stopped when the test drops it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchyard::app::{AppState, now_ms};
use switchyard::config::{AdminToken, Config};
use switchyard::demo::DemoServices;
use switchyard_storage::{Command, EndpointKey, Outcome};

/// The admin token every test server accepts (scope `*`).
pub const ADMIN: &str = "test-admin-token-0123456789";
/// A token scoped to the `tv` namespace.
pub const TV_TEAM: &str = "test-tv-team-token-0123456789";
/// Device tokens are signed with this.
pub const SECRET: &str = "a-test-secret-of-some-length";

/// A running server.
pub struct TestServer {
    /// The public listener.
    pub url: String,
    /// The admin listener.
    pub admin: String,
    /// Its state, to poke at directly.
    pub state: AppState,
    /// A client with a 20 s timeout.
    pub client: reqwest::Client,
    /// Keeps the data directory until the test ends.
    pub data: Arc<tempfile::TempDir>,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    listeners: Vec<actix_rt::task::JoinHandle<std::io::Result<()>>>,
    /// Handles on the store the node holds itself (the live endpoints, Raft), before any listener.
    own_store_handles: usize,
}

impl TestServer {
    /// A server over latency-free demo services, with `tweak` applied to the default config.
    pub fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(Arc::new(tempfile::tempdir().expect("temp dir")), DemoServices::without_latency(42), tweak)
    }

    /// As [`TestServer::start`], over the data directory `data` and the demo services `demo`.
    pub fn start_in(data: Arc<tempfile::TempDir>, demo: DemoServices, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        config.auth.jwt_secret = Some(SECRET.into());
        config.auth.admin_tokens = vec![
            AdminToken { name: "ops".into(), token: ADMIN.into(), scopes: vec!["*".into()] },
            AdminToken { name: "tv-team".into(), token: TV_TEAM.into(), scopes: vec!["tv".into()] },
        ];
        config.server.workers = 2;
        config.server.data_dir = data.path().join("data");
        tweak(&mut config);
        let state = AppState::open_with(config, demo).expect("the node opens");
        let own_store_handles = Arc::strong_count(&state.store);
        let public = TcpListener::bind("127.0.0.1:0").expect("bind");
        let admin = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", public.local_addr().expect("bound"));
        let admin_url = format!("http://{}", admin.local_addr().expect("bound"));
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        let stopped = futures::FutureExt::shared(futures::FutureExt::map(stopped, |_| ()));
        let public = switchyard::public::serve(state.clone(), public, stopped.clone()).expect("public listener");
        let admin = switchyard::admin::serve(state.clone(), admin, stopped).expect("admin listener");
        let listeners = vec![actix_rt::spawn(public), actix_rt::spawn(admin)];
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
        Self { url, admin: admin_url, state, client, data, stop: Some(stop), listeners, own_store_handles }
    }

    /// Publishes `source` as a new revision of `ns/name` straight through the store's write path.
    pub async fn publish(&self, path: &str, source: &str) -> u32 {
        let (namespace, name) = path.split_once('/').expect("ns/name");
        let command = Command::Publish {
            endpoint: EndpointKey::new(namespace, name),
            source: source.to_owned(),
            author: "test".into(),
            notes: String::new(),
            at_ms: now_ms(),
        };
        match self.state.write(command).await.expect("published") {
            Outcome::Published { revision, .. } => revision,
            other => panic!("{other:?}"),
        }
    }

    /// GET on the public listener.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.url))).await
    }

    /// `method path` on the admin listener with `token`.
    pub fn admin_request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.admin));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends and reads a JSON answer.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// Stops both listeners and waits until nothing but this test holds the node (its workers have
    /// let go of the store), so the same data directory can be opened again.
    pub async fn shut_down(mut self) -> AppState {
        self.stop();
        for listener in std::mem::take(&mut self.listeners) {
            listener.await.expect("listener task").expect("listener stopped cleanly");
        }
        self.state.shutdown().await;
        // Worker threads drop their handles on the node as they exit, just after the listener ends.
        for _ in 0..1000 {
            if Arc::strong_count(&self.state.store) <= self.own_store_handles {
                return self.state.clone();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the stopped server still holds the store after 10 s");
    }

    /// Signals both listeners to stop (also done when dropped).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
pub mod cluster;
