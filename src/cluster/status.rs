//! What `GET /admin/v1/cluster` and `switchyard cluster status` show: this node's view of its
//! cluster, read from Raft's metrics.

use serde::Serialize;
use switchyard_storage::raft::NodeId;
use utoipa::ToSchema;

use super::Cluster;

/// One node of the membership.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Member {
    /// Its id.
    pub id: NodeId,
    /// Its admin listener.
    pub address: String,
}

/// This node's view of its cluster.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClusterStatus {
    /// This node.
    pub node_id: NodeId,
    /// The environment (each is a cluster of its own).
    pub environment: String,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub role: String,
    /// The leader this node knows of.
    pub leader: Option<NodeId>,
    /// Raft's current term.
    pub term: u64,
    /// Voting members.
    pub voters: Vec<Member>,
    /// Non-voting members.
    pub learners: Vec<Member>,
    /// Index of the last entry in this node's log.
    pub last_log_index: Option<u64>,
    /// Index of the last entry applied to this node's store.
    pub last_applied_index: Option<u64>,
    /// Index the last snapshot covers.
    pub snapshot_index: Option<u64>,
    /// Entries up to this index were compacted away.
    pub purged_index: Option<u64>,
    /// Whether the cluster was initialised (a node alone initialises itself).
    pub initialized: bool,
    /// Why Raft stopped on this node, if it did.
    pub stopped: Option<String>,
}

impl Cluster {
    /// This node's view, now.
    pub fn status(&self) -> ClusterStatus {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let member =
            |id: NodeId| Member { id, address: membership.get_node(&id).map(|n| n.addr.clone()).unwrap_or_default() };
        let voters: Vec<Member> = membership.voter_ids().map(member).collect();
        let learners: Vec<Member> = membership.learner_ids().map(member).collect();
        ClusterStatus {
            node_id: self.node_id,
            environment: self.environment.clone(),
            role: format!("{:?}", m.state).to_lowercase(),
            leader: m.current_leader,
            term: m.current_term,
            initialized: !voters.is_empty(),
            voters,
            learners,
            last_log_index: m.last_log_index,
            last_applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            stopped: m.running_state.err().map(|e| e.to_string()),
        }
    }
}
