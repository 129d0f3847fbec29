//! Replication (design §7): this node's Raft, over the store's Raft storage
//! ([`switchyard_storage::raft`]), talking to its peers over HTTP on the admin listener.
//!
//! Every change to the store is a command in the Raft log, committed on a majority before it is
//! acknowledged and applied by every node in the same order; each node serves device traffic and
//! reads from its own applied state, so a node cut off from the others keeps serving what it has.
//! A node alone (no `[cluster] members`) is a one-member cluster that initialises itself on its
//! first start. In a cluster the lowest voter id initialises it once every voter answers
//! ([`bootstrap`]), or an operator runs `switchyard cluster init`. Writes may arrive at any node
//! ([`Cluster::write`]): a follower forwards them to the leader and answers once it applied them
//! itself, so a publish is served by the node that took it from its next request.

pub mod bootstrap;
pub mod config;
pub mod messages;
pub mod network;
pub mod rpc;
pub mod runtime;
mod status;
mod write;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use openraft::SnapshotPolicy;
use switchyard_storage::Store;
use switchyard_storage::raft::{LogStore, NodeId, OnApplied, Raft, StateMachine};

pub use config::ClusterConfig;
pub use messages::{ClusterError, Forward, Forwarded, Hello};
pub use status::{ClusterStatus, Member};

use network::{Network, PeerClient};
use runtime::RaftRuntime;

/// This node's part in its cluster.
pub struct Cluster {
    /// Its Raft (cheap to clone; runs on `runtime`).
    raft: Raft,
    /// Its id.
    node_id: NodeId,
    /// What `[cluster]` says.
    config: ClusterConfig,
    /// The environment; a cluster never mixes two.
    environment: String,
    /// The admin address other nodes reach this one at.
    address: String,
    /// Messages to peers (forwarded writes, greetings; Raft has its own clone).
    peers: PeerClient,
    /// The store Raft applies to: asked whether the disk has room before a change enters the log.
    store: Arc<Store>,
    /// Raft's threads; stopped last.
    runtime: RaftRuntime,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Raft's settings from `[cluster]`.
fn raft_config(config: &ClusterConfig, environment: &str) -> anyhow::Result<openraft::Config> {
    let raft = openraft::Config {
        cluster_name: environment.to_owned(),
        heartbeat_interval: config.heartbeat_ms,
        election_timeout_min: config.election_timeout_ms,
        election_timeout_max: config.election_timeout_ms * 2,
        // A snapshot travels in 1 MiB chunks, each given 2 s: whole stores of scripts, over loopback or a LAN.
        install_snapshot_timeout: 2000,
        snapshot_max_chunk_size: 1 << 20,
        // Entries carry scripts (up to 256 KiB): small batches keep one append within a heartbeat.
        max_payload_entries: 16,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_after),
        max_in_snapshot_log_to_keep: config.keep_entries,
        purge_batch_size: 1,
        ..Default::default()
    };
    raft.validate().context("invalid [cluster] timing")
}

impl Cluster {
    /// Opens the Raft log in `raft_dir` and starts Raft over `store` (which hears of every applied
    /// change through `on_applied`). Does not initialise anything: see [`bootstrap`].
    pub fn start(
        config: &ClusterConfig,
        environment: &str,
        admin: SocketAddr,
        raft_dir: &Path,
        store: Arc<Store>,
        on_applied: OnApplied,
    ) -> anyhow::Result<Self> {
        let node_id = config.node_id;
        let address = config
            .members
            .get(&node_id.to_string())
            .or_else(|| config.learners.get(&node_id.to_string()))
            .cloned()
            .unwrap_or_else(|| admin.to_string());
        let runtime = RaftRuntime::start().context("cannot start Raft's threads")?;
        let log = LogStore::open(raft_dir)?;
        let machine =
            StateMachine::new(Arc::clone(&store), &log, on_applied).context("cannot open the snapshot tree")?;
        let secret = config.secret.clone().unwrap_or_default();
        let peers = PeerClient::new(&secret);
        let raft_config = Arc::new(raft_config(config, environment)?);
        let network = Network::new(peers.clone());
        let raft = runtime
            .block_on(async move { Raft::new(node_id, raft_config, network, log, machine).await })
            .context("Raft did not start")?;
        Ok(Self {
            raft,
            node_id,
            config: config.clone(),
            environment: environment.to_owned(),
            address,
            peers,
            store,
            runtime,
        })
    }

    /// This node's Raft.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The `[cluster]` it runs with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Its environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The cluster secret ("" for a node alone, which accepts no peer).
    pub fn secret(&self) -> Option<&str> {
        self.config.secret.as_deref().filter(|s| !s.is_empty() && !self.config.is_alone())
    }

    /// Whether this node is a one-member cluster.
    pub fn is_alone(&self) -> bool {
        self.config.is_alone()
    }

    /// The leader's id, if one is known.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.config.write_timeout_ms)
    }

    /// The admin address of node `id`, from the membership (else the configuration).
    fn address_of(&self, id: NodeId) -> Option<String> {
        let metrics = self.raft.metrics().borrow().clone();
        if let Some(node) = metrics.membership_config.membership().get_node(&id) {
            return Some(node.addr.clone());
        }
        let id = id.to_string();
        self.config.members.get(&id).or_else(|| self.config.learners.get(&id)).cloned()
    }

    /// Stops Raft (it lets go of the store and the log), waiting at most a few seconds.
    pub async fn shutdown(&self) {
        let raft = self.raft.clone();
        let stopped = self.runtime.handle().spawn(async move { raft.shutdown().await });
        let _ = tokio::time::timeout(Duration::from_secs(5), stopped).await;
    }
}
