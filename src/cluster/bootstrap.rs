//! A cluster's first start, once (design §7, §10).
//!
//! - A node alone initialises itself as a one-member cluster on its first start and leads at once.
//! - In a cluster, the voter with the lowest id initialises it, with every configured voter, once
//!   every voter answers the greeting as the node it expects, of the same environment and not yet
//!   part of a cluster; then it adds the configured learners. Nobody else initialises anything, so
//!   a cluster is never initialised twice. `switchyard cluster init` does the same by hand.
//! - The node that initialises publishes the sample endpoints when its store was created now: the
//!   samples go through the log like any publish, so every node has them.
//!
//! A node that restarts finds its cluster in its Raft log and does none of this.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use switchyard_storage::Command;
use switchyard_storage::raft::{Node, NodeId};

use super::Cluster;
use super::messages::{Forward, Hello};

/// How often the bootstrapping node greets the voters that have not answered yet.
const GREETING_INTERVAL: Duration = Duration::from_millis(300);

/// Starts the cluster if it was never started: at once for a node alone (returning when it leads
/// and `seed` is published), in the background for the lowest voter of a cluster.
pub fn bootstrap(cluster: &Arc<Cluster>, seed: Vec<Command>) -> anyhow::Result<()> {
    if cluster.is_alone() {
        let alone = Arc::clone(cluster);
        return cluster.runtime.block_on(async move { start_alone(&alone, seed).await });
    }
    let lowest = cluster.config.voters().keys().next().copied();
    if lowest == Some(cluster.node_id) {
        let weak = Arc::downgrade(cluster);
        cluster.runtime.handle().spawn(async move { start_cluster(weak, seed).await });
    }
    Ok(())
}

async fn start_alone(cluster: &Cluster, seed: Vec<Command>) -> anyhow::Result<()> {
    let initialized = cluster.raft.is_initialized().await.context("Raft stopped")?;
    if !initialized {
        let me = BTreeMap::from([(cluster.node_id, Node::new(cluster.address.clone()))]);
        cluster.raft.initialize(me).await.context("cannot initialise this node's one-member cluster")?;
    }
    cluster
        .raft
        .wait(Some(Duration::from_secs(10)))
        .current_leader(cluster.node_id, "a node alone leads itself")
        .await
        .context("this node did not become the leader of its one-member cluster within 10 s")?;
    // `seed` is empty unless the store never saw a change (see `AppState::open`).
    publish(cluster, seed).await
}

async fn start_cluster(cluster: Weak<Cluster>, seed: Vec<Command>) {
    loop {
        let Some(node) = cluster.upgrade() else { return };
        match node.raft.is_initialized().await {
            Ok(false) => {}
            Ok(true) | Err(_) => return,
        }
        match greet_voters(&node).await {
            Ok(true) => {
                if let Err(e) = initialize(&node, seed).await {
                    tracing::error!("cannot initialise the cluster: {e:#}");
                }
                return;
            }
            // Another node already belongs to a cluster: it is not ours to start.
            Ok(false) => return,
            Err(waiting_for) => {
                tracing::info!("waiting for every voter before initialising the cluster: {waiting_for}")
            }
        }
        drop(node);
        tokio::time::sleep(GREETING_INTERVAL).await;
    }
}

/// `Ok(true)`: every voter answered, blank; `Ok(false)`: one is already initialised; `Err`: who is missing.
async fn greet_voters(cluster: &Cluster) -> Result<bool, String> {
    let mut missing = Vec::new();
    for (id, address) in cluster.config.voters() {
        if id == cluster.node_id {
            continue;
        }
        match cluster.peers.post::<_, Hello>(&address, "hello", &(), Duration::from_secs(1)).await {
            Ok(hello) if hello.node_id != id => {
                missing.push(format!("{address} says it is node {}, not {id}", hello.node_id));
            }
            Ok(hello) if hello.environment != cluster.environment => missing.push(format!(
                "node {id} belongs to environment `{}`, not `{}`",
                hello.environment, cluster.environment
            )),
            Ok(hello) if hello.initialized => return Ok(false),
            Ok(_) => {}
            Err(e) => missing.push(format!("node {id}: {e}")),
        }
    }
    if missing.is_empty() { Ok(true) } else { Err(missing.join("; ")) }
}

/// Initialises the cluster with every configured voter, adds the learners, publishes `seed`.
pub async fn initialize(cluster: &Cluster, seed: Vec<Command>) -> anyhow::Result<()> {
    let voters: BTreeMap<NodeId, Node> =
        cluster.config.voters().into_iter().map(|(id, address)| (id, Node::new(address))).collect();
    cluster.raft.initialize(voters).await.context("Raft refused to initialise")?;
    tracing::info!(node = cluster.node_id, "initialised the cluster");
    // The learners and samples are written through the leader: wait for the first election.
    cluster
        .raft
        .wait(Some(Duration::from_secs(30)))
        .metrics(|m| m.current_leader.is_some(), "a leader after initialising")
        .await
        .context("no leader was elected within 30 s of initialising the cluster")?;
    for (id, address) in cluster.config.learner_nodes() {
        // Refused while the first membership is still being committed by the new leader: a moment
        // later it is not. Adding a learner twice changes nothing, so retrying is safe.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match cluster.change(Forward::AddLearner { id, address: address.clone() }).await {
                Ok(_) => break,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!(learner = id, "adding the learner again: {e}");
                    tokio::time::sleep(GREETING_INTERVAL).await;
                }
                Err(e) => return Err(e).with_context(|| format!("cannot add learner {id}")),
            }
        }
    }
    publish(cluster, seed).await
}

async fn publish(cluster: &Cluster, seed: Vec<Command>) -> anyhow::Result<()> {
    for command in seed {
        let endpoint = command.endpoint().to_string();
        match cluster.write(command).await {
            Ok(Some(Ok(_))) => {}
            Ok(other) => anyhow::bail!("seeding {endpoint}: the store answered {other:?}"),
            Err(e) => anyhow::bail!("seeding {endpoint}: {e}"),
        }
    }
    Ok(())
}
