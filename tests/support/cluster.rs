//! Real clusters for black-box tests: each node a `switchyard serve` process of its own, with its
//! own config file and data directory in a temp dir, listening on free ports of 127.0.0.1; killed
//! with SIGKILL when a test asks (a crash, not a shutdown) and when the cluster is dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

/// The admin token of every node.
pub const OPS: &str = "ops-token-0123456789";
/// The cluster secret.
pub const SECRET: &str = "cluster-secret-0123456789";

/// One node.
pub struct ClusterNode {
    /// Its `[cluster] node_id`.
    pub id: u64,
    /// Its public listener.
    pub public: String,
    /// Its admin listener, `host:port`.
    pub admin: String,
    config: PathBuf,
    log: PathBuf,
    process: Option<Child>,
}

/// A cluster of `switchyard serve` processes.
pub struct TestCluster {
    /// Every node, voters first (ids 1, 2, 3 …), then learners.
    pub nodes: Vec<ClusterNode>,
    /// A client with a 20 s timeout.
    pub client: reqwest::Client,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl TestCluster {
    /// `voters` voting nodes and `learners` learners, `[cluster]` extended with `extra` lines, all
    /// started.
    pub fn start(voters: u64, learners: u64, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<(u16, u16)> = (0..voters + learners).map(|_| (free_port(), free_port())).collect();
        let table = |ids: std::ops::Range<u64>| {
            ids.map(|id| format!("\"{}\" = \"127.0.0.1:{}\"", id + 1, ports[id as usize].1))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let members = table(0..voters);
        let learner_table = table(voters..voters + learners);
        let mut nodes = Vec::new();
        for (i, (public, admin)) in ports.iter().enumerate() {
            let id = i as u64 + 1;
            let config = dir.path().join(format!("node{id}.toml"));
            let data = dir.path().join(format!("data{id}"));
            let text = format!(
                "[server]\npublic = \"127.0.0.1:{public}\"\nadmin = \"127.0.0.1:{admin}\"\ndata_dir = \"{}\"\nworkers = 1\n\n\
                 [auth]\nadmin_tokens = [{{ name = \"ops\", token = \"{OPS}\", scopes = [\"*\"] }}]\n\n\
                 [cluster]\nnode_id = {id}\nsecret = \"{SECRET}\"\nmembers = {{ {members} }}\nlearners = {{ {learner_table} }}\n{extra}\n",
                data.display()
            );
            std::fs::write(&config, text).expect("config");
            nodes.push(ClusterNode {
                id,
                public: format!("http://127.0.0.1:{public}"),
                admin: format!("127.0.0.1:{admin}"),
                config,
                log: dir.path().join(format!("node{id}.log")),
                process: None,
            });
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
        let mut cluster = Self { nodes, client, dir };
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        cluster
    }

    /// Starts node `i` (index into `nodes`).
    pub fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        assert!(node.process.is_none(), "node {} is running", node.id);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["serve", "--config"])
            .arg(&node.config)
            .env_remove("SWITCHYARD_ADMIN_TOKEN")
            .env("RUST_LOG", "warn,switchyard=info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("switchyard serve starts");
        node.process = Some(child);
    }

    /// Kills node `i` with SIGKILL (a crash: nothing is flushed or said goodbye).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What node `i` logged, for failure messages.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// The data directory root of the test.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// `GET /admin/v1/cluster` of node `i`, or `None` while it does not answer.
    pub async fn status(&self, i: usize) -> Option<Value> {
        let url = format!("http://{}/admin/v1/cluster", self.nodes[i].admin);
        let response = self.client.get(url).bearer_auth(OPS).timeout(Duration::from_secs(2)).send().await.ok()?;
        response.json().await.ok()
    }

    /// Waits until every node of `among` names the same leader, one of `among`'s voters; its index.
    pub async fn leader(&self, among: &[usize], within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let mut leaders = Vec::new();
            for &i in among {
                leaders.push(self.status(i).await.and_then(|s| s["leader"].as_u64()));
            }
            if let Some(Some(leader)) = leaders.first().copied()
                && leaders.iter().all(|l| *l == Some(leader))
                && let Some(index) = among.iter().copied().find(|&i| self.nodes[i].id == leader)
            {
                return index;
            }
            assert!(
                Instant::now() < deadline,
                "no common leader among {among:?} after {within:?}: {leaders:?}\n{}",
                self.log(among[0])
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Publishes `source` as a revision of `endpoint` through node `i`'s admin API.
    pub async fn publish(&self, i: usize, endpoint: &str, source: &str) -> (u16, Value) {
        let url = format!("http://{}/admin/v1/endpoints/{endpoint}/revisions", self.nodes[i].admin);
        let request =
            self.client.post(url).bearer_auth(OPS).header("content-type", "text/javascript").body(source.to_owned());
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, Value::String(e.to_string())),
        }
    }

    /// `GET path` on node `i`'s public listener: status and body (`None` while it does not answer).
    pub async fn get(&self, i: usize, path: &str) -> Option<(u16, Value)> {
        let response = self.client.get(format!("{}{path}", self.nodes[i].public)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// The whole audit log of node `i`.
    pub async fn audit(&self, i: usize) -> Option<Vec<Value>> {
        let url = format!("http://{}/admin/v1/audit", self.nodes[i].admin);
        let response = self.client.get(url).bearer_auth(OPS).send().await.ok()?;
        response.json().await.ok()
    }

    /// Waits until `check` holds for node `i`'s answer to `path`.
    pub async fn until_served(&self, i: usize, path: &str, within: Duration, check: impl Fn(&(u16, Value)) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if self.get(i, path).await.as_ref().is_some_and(&check) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not serve {path} as expected within {within:?}\n{}",
                self.nodes[i].id,
                self.log(i)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
