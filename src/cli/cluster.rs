//! `switchyard cluster …` (design §10): a running node's view of its cluster, and the membership
//! changes an operator makes — through that node's admin API, which has the leader make them.

use reqwest::Method;
use serde_json::{Value, json};

use super::admin::{print, text};
use super::client::{Body, Client, Target};

/// What `cluster` does.
#[derive(clap::Subcommand, Debug)]
pub enum ClusterAction {
    /// This node's view: role, leader, voters, learners, log and applied indexes.
    Status,
    /// Initialise the cluster with every configured member (when they did not all start together).
    Init,
    /// Add a node that receives every change and never votes.
    AddLearner {
        /// Its `[cluster] node_id`.
        id: u64,
        /// Its admin listener, host:port.
        address: String,
    },
    /// Make a learner a voter.
    Promote {
        /// Its id.
        id: u64,
    },
    /// Take a node (voter or learner) out of the cluster.
    Remove {
        /// Its id.
        id: u64,
    },
}

/// Runs one cluster command.
pub fn run(action: ClusterAction, target: &Target, json: bool) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let client = Client::new(target)?;
        let answer = match &action {
            ClusterAction::Status => client.send(Method::GET, "/cluster", None).await?,
            ClusterAction::Init => client.send(Method::POST, "/cluster/init", None).await?,
            ClusterAction::AddLearner { id, address } => {
                let body = Body::Json(json!({"id": id, "address": address}));
                client.send(Method::POST, "/cluster/learners", Some(body)).await?
            }
            ClusterAction::Promote { id } => client.send(Method::POST, &format!("/cluster/voters/{id}"), None).await?,
            ClusterAction::Remove { id } => {
                client.send(Method::DELETE, &format!("/cluster/members/{id}"), None).await?
            }
        };
        print(json, &answer, || {
            let status = if answer["cluster"].is_object() { &answer["cluster"] } else { &answer };
            let done = match &action {
                ClusterAction::Status => String::new(),
                ClusterAction::Init => "initialised\n".to_owned(),
                ClusterAction::AddLearner { id, .. } => {
                    format!("node {id} added as a learner (log index {})\n", answer["index"])
                }
                ClusterAction::Promote { id } => format!("node {id} is a voter (log index {})\n", answer["index"]),
                ClusterAction::Remove { id } => format!("node {id} removed (log index {})\n", answer["index"]),
            };
            done + &render(status)
        });
        Ok(())
    })
}

fn render(status: &Value) -> String {
    let members = |list: &Value| {
        let all: Vec<String> = list
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| format!("{} ({})", text(&m["id"]), text(&m["address"])))
            .collect();
        if all.is_empty() { "-".to_owned() } else { all.join(", ") }
    };
    let index = |v: &Value| if v.is_null() { "-".to_owned() } else { text(v) };
    let mut out = format!(
        "node {} in {}: {}, term {}, leader {}\n  voters    {}\n  learners  {}\n  log {}  applied {}  snapshot {}  purged {}\n",
        text(&status["node_id"]),
        text(&status["environment"]),
        text(&status["role"]),
        text(&status["term"]),
        index(&status["leader"]),
        members(&status["voters"]),
        members(&status["learners"]),
        index(&status["last_log_index"]),
        index(&status["last_applied_index"]),
        index(&status["snapshot_index"]),
        index(&status["purged_index"]),
    );
    if let Some(stopped) = status["stopped"].as_str() {
        out.push_str(&format!("  STOPPED: {stopped}\n"));
    }
    out
}
