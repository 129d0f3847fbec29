//! The admin commands' HTTP client: which server (`--server`, `SWITCHYARD_SERVER`, default
//! `http://127.0.0.1:8081`), which token (`--token`, `SWITCHYARD_ADMIN_TOKEN`, else the token a
//! local demo server generated into `./switchyard-data/admin-token`), and one sentence for every
//! failure — the server's own message when it answered.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::data_dir::ADMIN_TOKEN_FILE;

/// Where admin commands go.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The admin listener of the server.
    #[arg(long, env = "SWITCHYARD_SERVER", default_value = "http://127.0.0.1:8081", global = true)]
    pub server: String,
    /// Admin token (default: ./switchyard-data/admin-token, which a local demo server writes).
    #[arg(long, env = "SWITCHYARD_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

/// A client of one server's admin API.
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// A request body.
pub enum Body {
    /// JSON.
    Json(Value),
    /// A script.
    Script(String),
}

impl Client {
    /// For `target`.
    pub fn new(target: &Target) -> anyhow::Result<Self> {
        let token = target.token.clone().or_else(|| local_token(Path::new("switchyard-data")));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Self { base: target.server.trim_end_matches('/').to_owned(), token, http })
    }

    /// `method path` with `body`; the JSON answer, or an error that says what the server said.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Body>) -> anyhow::Result<Value> {
        let url = format!("{}/admin/v1{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Some(Body::Json(value)) => {
                request.header("content-type", "application/json").body(serde_json::to_vec(&value)?)
            }
            Some(Body::Script(source)) => request.header("content-type", "text/javascript").body(source),
            None => request,
        };
        let response = request.send().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the admin API at {} ({e}); is `switchyard serve` running there? (--server, SWITCHYARD_SERVER)",
                self.base
            )
        })?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let value: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        if status.is_success() {
            return Ok(value);
        }
        let message = value["message"].as_str().map_or_else(|| value.to_string(), str::to_owned);
        let hint = match status.as_u16() {
            401 if self.token.is_none() => " (no token: pass --token or set SWITCHYARD_ADMIN_TOKEN)",
            _ => "",
        };
        anyhow::bail!("{} {}: {message}{hint}", status.as_u16(), value["error"].as_str().unwrap_or("error"))
    }
}

/// The token a local demo server generated, if this directory has one.
fn local_token(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(ADMIN_TOKEN_FILE)).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}
