//! `[cluster]`: which nodes replicate this node's store, and Raft's timing (design §7, §10).
//!
//! With no members configured a node is a one-member cluster that needs no setup. With members,
//! every node of the cluster has the same `members` (voters) and `learners` tables, its own
//! `node_id`, and the same `secret`, which authenticates every message between nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchyard_actors::ConfigError;
use switchyard_storage::raft::NodeId;

/// `[cluster]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// This node's id: a key of `members` or `learners` (1 for a node alone).
    pub node_id: NodeId,
    /// Shared by every node; authenticates Raft traffic (at least 16 characters). Needed with members.
    pub secret: Option<String>,
    /// Voting nodes: id → admin listener address (`host:port`), the same table on every node.
    pub members: BTreeMap<String, String>,
    /// Non-voting nodes that receive everything (large fleets): id → admin listener address.
    pub learners: BTreeMap<String, String>,
    /// How often the leader reaches every node.
    pub heartbeat_ms: u64,
    /// A follower that hears nothing for the old leader's lease (twice this) plus this (randomised
    /// up to twice) starts an election.
    pub election_timeout_ms: u64,
    /// Longest a write waits for a majority; then 503 (it may still be applied later).
    pub write_timeout_ms: u64,
    /// Applied entries between snapshots (then the log before them is compacted).
    pub snapshot_after: u64,
    /// Entries kept behind a snapshot, so a briefly absent node catches up from the log.
    pub keep_entries: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            node_id: 1,
            secret: None,
            members: BTreeMap::new(),
            learners: BTreeMap::new(),
            heartbeat_ms: 100,
            election_timeout_ms: 500,
            write_timeout_ms: 5000,
            snapshot_after: 1000,
            keep_entries: 100,
        }
    }
}

impl ClusterConfig {
    /// Whether this node is alone (no `members`).
    pub fn is_alone(&self) -> bool {
        self.members.is_empty()
    }

    /// The voters by id (validated).
    pub fn voters(&self) -> BTreeMap<NodeId, String> {
        parse_ids(&self.members)
    }

    /// The learners by id (validated).
    pub fn learner_nodes(&self) -> BTreeMap<NodeId, String> {
        parse_ids(&self.learners)
    }

    /// Checks every value, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, message: String| ConfigError { field: format!("cluster.{field}"), message };
        if self.node_id == 0 {
            return Err(err("node_id", "must be at least 1".into()));
        }
        for (table, nodes) in [("members", &self.members), ("learners", &self.learners)] {
            for (id, address) in nodes {
                if id.parse::<NodeId>().map_or(true, |id| id == 0) {
                    return Err(err(&format!("{table}.{id}"), "a node id is a number of at least 1".into()));
                }
                if !is_host_port(address) {
                    return Err(err(&format!("{table}.{id}"), format!("`{address}` is not host:port")));
                }
            }
        }
        if let Some(id) = self.learners.keys().find(|id| self.members.contains_key(*id)) {
            return Err(err(&format!("learners.{id}"), "a node is a member or a learner, not both".into()));
        }
        if self.is_alone() && !self.learners.is_empty() {
            return Err(err("learners", "learners need members to learn from".into()));
        }
        if !self.is_alone() {
            let id = self.node_id.to_string();
            if !self.members.contains_key(&id) && !self.learners.contains_key(&id) {
                return Err(err("node_id", format!("{id} is neither in cluster.members nor in cluster.learners")));
            }
            if self.secret.as_deref().is_none_or(|s| s.len() < 16) {
                return Err(err("secret", "a cluster needs a shared secret of at least 16 characters".into()));
            }
        }
        if self.heartbeat_ms < 10 {
            return Err(err("heartbeat_ms", "must be at least 10".into()));
        }
        if self.election_timeout_ms < 3 * self.heartbeat_ms {
            return Err(err("election_timeout_ms", "must be at least 3 × heartbeat_ms".into()));
        }
        if self.write_timeout_ms < 100 {
            return Err(err("write_timeout_ms", "must be at least 100".into()));
        }
        if self.snapshot_after == 0 {
            return Err(err("snapshot_after", "must be at least 1".into()));
        }
        Ok(())
    }
}

fn parse_ids(nodes: &BTreeMap<String, String>) -> BTreeMap<NodeId, String> {
    nodes.iter().filter_map(|(id, address)| Some((id.parse().ok()?, address.clone()))).collect()
}

fn is_host_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> ClusterConfig {
        let mut c = ClusterConfig::default();
        c.secret = Some("a-cluster-secret-of-length".into());
        for (id, port) in [("1", 8081), ("2", 8181), ("3", 8281)] {
            c.members.insert(id.into(), format!("127.0.0.1:{port}"));
        }
        c
    }

    #[test]
    fn a_node_alone_needs_nothing_and_a_cluster_needs_its_secret_and_itself() {
        ClusterConfig::default().validate().expect("alone");
        three().validate().expect("three");
        assert_eq!(three().voters().len(), 3);
        let mut c = three();
        c.secret = None;
        assert_eq!(c.validate().expect_err("no secret").field, "cluster.secret");
        let mut c = three();
        c.node_id = 4;
        assert_eq!(c.validate().expect_err("not listed").field, "cluster.node_id");
        c.learners.insert("4".into(), "127.0.0.1:8381".into());
        c.validate().expect("a learner");
        c.learners.insert("2".into(), "127.0.0.1:8381".into());
        assert_eq!(c.validate().expect_err("both").field, "cluster.learners.2");
    }

    #[test]
    fn bad_ids_addresses_and_timings_name_the_key() {
        let mut c = three();
        c.members.insert("x".into(), "127.0.0.1:1".into());
        assert_eq!(c.validate().expect_err("id").field, "cluster.members.x");
        let mut c = three();
        c.members.insert("2".into(), "127.0.0.1".into());
        assert_eq!(c.validate().expect_err("address").field, "cluster.members.2");
        let mut c = three();
        c.election_timeout_ms = 200;
        assert_eq!(c.validate().expect_err("timing").field, "cluster.election_timeout_ms");
        assert!(is_host_port("node-2.internal:8081") && !is_host_port(":8081") && !is_host_port("h:0"));
    }
}
