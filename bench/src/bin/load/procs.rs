//! The processes a load run starts and measures: the demo backends, Switchyard (over HTTP
//! dependencies, or with the demo in-process), the bare actix handler and the Node baseline, each
//! on a free port of 127.0.0.1, stopped when dropped. CPU time is read from `/proc/PID/stat`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The admin token of the Switchyard processes the harness starts.
pub const TOKEN: &str = "load-harness-token-0123456789";

/// A running server.
pub struct Server {
    /// What the tables call it.
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Switchyard's admin listener, for publishing and its statistics.
    pub admin: Option<String>,
    child: Child,
}

impl Server {
    /// The process id whose CPU time is counted.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds the process has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of the line (11 and 12 after the name and state).
        (ticks(11) + ticks(12)) / clock_ticks()
    }

    /// Resident memory now (`VmRSS` of `/proc/PID/status`), KiB; `None` once the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
        line.split_whitespace().next()?.parse().ok()
    }

    /// Open file descriptors now (the entries of `/proc/PID/fd`); `None` once the process is gone.
    pub fn open_fds(&self) -> Option<usize> {
        Some(std::fs::read_dir(format!("/proc/{}/fd", self.pid())).ok()?.count())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Where the release binaries and the repository are.
pub struct Paths {
    /// `target/release`.
    pub bin: PathBuf,
    /// The repository root.
    pub root: PathBuf,
    /// A scratch directory for configs and data.
    pub scratch: PathBuf,
}

fn start(name: &str, mut command: Command, url: String, admin: Option<String>, log: &Path) -> Server {
    let out = std::fs::File::create(log).expect("log file");
    command.stdout(out.try_clone().expect("log")).stderr(out).stdin(Stdio::null());
    let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let server = Server { name: name.to_owned(), url, admin, child };
    wait_healthy(&server, log);
    server
}

fn wait_healthy(server: &Server, log: &Path) {
    for _ in 0..300 {
        if curl(&["-sf", &format!("{}/healthz", server.url)]).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} did not come up: {}", server.name, std::fs::read_to_string(log).unwrap_or_default());
}

/// `curl ARGS`: its stdout when it succeeded.
pub fn curl(args: &[&str]) -> Option<String> {
    let out = Command::new("curl").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The demo services over HTTP.
pub fn demo_backends(paths: &Paths) -> Server {
    let port = free_port();
    let mut command = Command::new(paths.bin.join("switchyard"));
    command.args(["demo-backends", "--listen", &format!("127.0.0.1:{port}")]);
    start("demo-backends", command, format!("http://127.0.0.1:{port}"), None, &paths.scratch.join("demo-backends.log"))
}

/// Switchyard: over the demo backends' HTTP (`backends`), or with the demo in-process (`None`).
pub fn switchyard(paths: &Paths, name: &str, backends: Option<&str>) -> Server {
    let (public, admin) = (free_port(), free_port());
    let data = paths.scratch.join(format!("{name}-data"));
    let _ = std::fs::remove_dir_all(&data);
    let config = paths.scratch.join(format!("{name}.toml"));
    let mut text = format!(
        "[server]\nendpoint_concurrency = 1024\n\n[auth]\nadmin_tokens = [{{ name = \"load\", token = \"{TOKEN}\", scopes = [\"*\"] }}]\n"
    );
    if let Some(base) = backends {
        // The demo's dependencies, each over HTTP with the fallback the in-process demo gives it.
        let template =
            std::fs::read_to_string(paths.root.join("examples/demo-backends.toml")).expect("demo-backends.toml");
        // Bulkheads sized to the load (32 connections, one call per dependency each): the demo's
        // Hystrix default of 10 would reject, which is protection working, not its cost.
        let sized = template
            .replace("max_concurrent = 10\n", "max_concurrent = 64\n")
            .replace("max_concurrent = 20\n", "max_concurrent = 64\n");
        text.push_str(&sized.replace("http://127.0.0.1:9000", base));
    }
    std::fs::write(&config, text).expect("config");
    let mut command = Command::new(paths.bin.join("switchyard"));
    command
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--public", &format!("127.0.0.1:{public}"), "--admin", &format!("127.0.0.1:{admin}"), "--data-dir"])
        .arg(&data)
        .env("RUST_LOG", "warn");
    let url = format!("http://127.0.0.1:{public}");
    let admin = Some(format!("http://127.0.0.1:{admin}"));
    start(name, command, url, admin, &paths.scratch.join(format!("{name}.log")))
}

/// The bare actix handler: the same six calls, no protection at all.
pub fn bare(paths: &Paths, backends: &str) -> Server {
    let port = free_port();
    let mut command = Command::new(paths.bin.join("bare"));
    command.args(["--listen", &format!("127.0.0.1:{port}"), "--backends", backends]);
    start("bare actix", command, format!("http://127.0.0.1:{port}"), None, &paths.scratch.join("bare.log"))
}

/// Node.js fastify with an opossum breaker per dependency.
pub fn node(paths: &Paths, backends: &str) -> Server {
    let port = free_port();
    let mut command = Command::new("node");
    command.arg(paths.root.join("bench/node/server.js")).args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--backends",
        backends,
    ]);
    start("node+opossum", command, format!("http://127.0.0.1:{port}"), None, &paths.scratch.join("node.log"))
}

/// The TV home composed in Rust on a Switchyard node's dependency layer (`rusthome`).
pub fn rusthome(paths: &Paths) -> Server {
    let port = free_port();
    let mut command = Command::new(paths.bin.join("rusthome"));
    command.args(["--listen", &format!("127.0.0.1:{port}")]).env("RUST_LOG", "warn");
    start("rust tv home", command, format!("http://127.0.0.1:{port}"), None, &paths.scratch.join("rusthome.log"))
}

/// Publishes `script` (under `bench/scripts/`) as `endpoint` on a Switchyard the harness started.
pub fn publish(server: &Server, endpoint: &str, script: &str, paths: &Paths) {
    let file = paths.root.join("bench/scripts").join(script);
    assert!(publish_file(server, endpoint, &file).is_some(), "cannot publish {endpoint} on {}", server.name);
}

/// Publishes the script in `file` as `endpoint`: the new revision's number, `None` when the
/// publish failed.
pub fn publish_file(server: &Server, endpoint: &str, file: &Path) -> Option<u64> {
    let admin = server.admin.as_deref()?;
    let url = format!("{admin}/admin/v1/endpoints/{endpoint}/revisions");
    let auth = format!("Authorization: Bearer {TOKEN}");
    let body = format!("@{}", file.display());
    let answer =
        curl(&["-sf", "-X", "POST", "-H", &auth, "-H", "Content-Type: text/javascript", "--data-binary", &body, &url])?;
    serde_json::from_str::<serde_json::Value>(&answer).ok()?["revision"].as_u64()
}

/// Routes all of `endpoint`'s traffic to `revision` (no canary, no variants); whether it took.
pub fn activate(server: &Server, endpoint: &str, revision: u64) -> bool {
    let Some(admin) = server.admin.as_deref() else { return false };
    let url = format!("{admin}/admin/v1/endpoints/{endpoint}/routing");
    let auth = format!("Authorization: Bearer {TOKEN}");
    let routing = format!(r#"{{"active": {revision}, "canary": null, "variants": []}}"#);
    curl(&["-sf", "-X", "PUT", "-H", &auth, "-H", "Content-Type: application/json", "--data", &routing, &url]).is_some()
}

/// Calls answered by a fallback so far, over every dependency of a Switchyard.
pub fn fallbacks(server: &Server) -> Option<u64> {
    let admin = server.admin.as_deref()?;
    let auth = format!("Authorization: Bearer {TOKEN}");
    let text = curl(&["-sf", "-H", &auth, &format!("{admin}/admin/v1/dependencies")])?;
    let all: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(all.as_array()?.iter().filter_map(|d| d["snapshot"]["cumulative"]["fallback_success"].as_u64()).sum())
}

/// What a Switchyard's isolation cost its callers over the last minute: for the dependency where
/// it is largest, the whole call's latency less the backend's own execution (caller's wait for the
/// actor, the hop, the answer's way back), at the mean and at p99 (p99 of the whole call less p99
/// of the execution), in ms, with the dependency's name.
pub fn isolation_cost(server: &Server) -> Option<(String, f64, f64)> {
    let admin = server.admin.as_deref()?;
    let auth = format!("Authorization: Bearer {TOKEN}");
    let text = curl(&["-sf", "-H", &auth, &format!("{admin}/admin/v1/dependencies")])?;
    let all: serde_json::Value = serde_json::from_str(&text).ok()?;
    all.as_array()?
        .iter()
        .filter_map(|d| {
            let s = &d["snapshot"];
            let (total, execution) = (&s["latency_total"], &s["latency_execution"]);
            if total["count"].as_u64()? == 0 {
                return None;
            }
            let less = |field: &str| Some(total[field].as_f64()? - execution[field].as_f64()?);
            Some((d["name"].as_str()?.to_owned(), less("mean")?, less("p99")?))
        })
        .max_by(|a, b| a.2.total_cmp(&b.2))
}

/// Sets chaos on a demo service (`None` clears it).
pub fn chaos(backends: &Server, service: &str, settings: Option<&str>) {
    assert!(try_chaos(backends, service, settings), "cannot set chaos on {service}");
}

/// [`chaos`], saying whether the demo backends took it instead of panicking.
pub fn try_chaos(backends: &Server, service: &str, settings: Option<&str>) -> bool {
    let url = format!("{}/chaos/{service}", backends.url);
    match settings {
        Some(json) => curl(&["-sf", "-X", "PUT", "-H", "Content-Type: application/json", "--data", json, &url]),
        None => curl(&["-sf", "-X", "DELETE", &url]),
    }
    .is_some()
}
