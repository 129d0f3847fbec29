//! What `serve` prints when it is ready: a short, readable startup banner on stdout — where it
//! listens (and where to watch it), where its configuration and data come from, the dependencies and endpoints it serves,
//! and how to try it. Built from plain facts so it is tested without starting anything.

use std::fmt::Write;
use std::net::SocketAddr;

/// Everything the banner says.
pub struct Banner {
    /// The device listener as bound.
    pub public: SocketAddr,
    /// The admin listener as bound, once the server has one.
    pub admin: Option<SocketAddr>,
    /// The environment the node belongs to.
    pub environment: String,
    /// Where the configuration came from: a file path, or `None` for the embedded defaults.
    pub config_file: Option<String>,
    /// The data directory, and what happened to it at this start.
    pub data: String,
    /// This node's place in its cluster.
    pub cluster: String,
    /// How the admin token is found, when there is one to show.
    pub admin_token: Option<String>,
    /// `name (kind)` of every dependency.
    pub dependencies: Vec<String>,
    /// `namespace/name rN` of every endpoint served.
    pub endpoints: Vec<String>,
}

impl Banner {
    /// The banner's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "switchyard {} ({} environment)", env!("CARGO_PKG_VERSION"), self.environment);
        let config = self
            .config_file
            .as_deref()
            .map_or_else(|| "embedded defaults (see `switchyard config --print-default`)".to_owned(), str::to_owned);
        let _ = writeln!(out, "  config        {config}");
        let _ = writeln!(out, "  data          {}", self.data);
        let _ = writeln!(out, "  devices       http://{}", self.public);
        if let Some(admin) = self.admin {
            let _ =
                writeln!(out, "  admin         http://{admin}/admin/v1  (API: http://{admin}/admin/v1/openapi.json)");
            let _ = writeln!(
                out,
                "  watch         http://{admin}/dashboard?token=…  (also /hystrix.stream, /turbine.stream, /metrics)"
            );
        }
        let _ = writeln!(out, "  cluster       {}", self.cluster);
        if let Some(token) = &self.admin_token {
            let _ = writeln!(out, "  admin token   {token}");
        }
        let _ = writeln!(out, "  dependencies  {}", self.dependencies.join(", "));
        let _ = writeln!(
            out,
            "  endpoints     {}",
            if self.endpoints.is_empty() { "none yet".to_owned() } else { self.endpoints.join(", ") }
        );
        if let Some(first) = self.endpoints.first().and_then(|e| e.split_whitespace().next()) {
            let _ = writeln!(out, "try:\n  curl -s 'http://{}/{first}?user=7'", self.public);
            if self.admin.is_some() {
                let _ = writeln!(out, "  switchyard list              (admin commands: switchyard --help)");
            }
        }
        out.push_str("requests are logged below (stderr); -v for more, RUST_LOG for anything else\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_listeners_sources_and_endpoints() {
        let banner = Banner {
            public: "127.0.0.1:8080".parse().unwrap(),
            admin: Some("127.0.0.1:8081".parse().unwrap()),
            environment: "dev".into(),
            config_file: None,
            data: "switchyard-data (created)".into(),
            cluster: "node 1 alone (a one-member cluster)".into(),
            admin_token: Some("in switchyard-data/admin-token".into()),
            dependencies: vec!["users (demo)".into(), "catalog (demo)".into()],
            endpoints: vec!["tv/home r1".into(), "ps3/home r1".into()],
        };
        let text = banner.render();
        for expected in [
            "dev environment",
            "embedded defaults",
            "switchyard-data (created)",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8081/admin/v1",
            "http://127.0.0.1:8081/dashboard?token=",
            "users (demo), catalog (demo)",
            "tv/home r1, ps3/home r1",
            "node 1 alone",
            "curl -s 'http://127.0.0.1:8080/tv/home?user=7'",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        assert!(text.lines().count() < 15, "short: {text}");
    }
}
