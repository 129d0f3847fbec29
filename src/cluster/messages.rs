//! What nodes say to each other besides Raft's own messages: a write or a membership change
//! forwarded to the leader, its answer, and the greeting the bootstrapping node uses to see that
//! every voter is up, is the node it expects, belongs to the same environment and is still blank.

use serde::{Deserialize, Serialize};
use switchyard_storage::Command;
use switchyard_storage::raft::{NodeId, Reply};

/// A change only the leader can make, sent to it by the node that received it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Forward {
    /// A store command (publish, routing, rollback, delete).
    Write(Command),
    /// Add a node that receives everything and does not vote.
    AddLearner {
        /// Its id.
        id: NodeId,
        /// Its admin listener.
        address: String,
    },
    /// Make a learner a voter.
    Promote {
        /// Its id.
        id: NodeId,
    },
    /// Take a node out of the cluster (voter or learner).
    Remove {
        /// Its id.
        id: NodeId,
    },
}

/// A [`Forward`] on its way to the leader, with the time its sender still waits for it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForwardRequest {
    /// The change.
    pub change: Forward,
    /// Milliseconds the sender still waits; the leader gives up after as long.
    pub within_ms: u64,
}

/// What the leader answered a [`Forward`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Forwarded {
    /// The command is committed and applied on the leader, at this log index.
    Written {
        /// The store's answer.
        reply: Reply,
        /// Its log index (the forwarding node waits until it applied it too).
        index: u64,
    },
    /// The membership change is committed.
    Changed {
        /// Its log index.
        index: u64,
    },
}

/// Why a change was not made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ClusterError {
    /// No leader could be reached within the write timeout: the change reached none, so nothing of
    /// it is in any log.
    #[error("the cluster has no leader to take the change now ({0}); retry later")]
    Unavailable(String),
    /// The change reached a leader that could not get a majority to acknowledge it in time, or whose
    /// answer was lost: it may or may not be applied (read before retrying).
    #[error("{0}")]
    Indeterminate(String),
    /// The node asked is not (or no longer) the leader.
    #[error("node {0} is not the leader")]
    NotLeader(NodeId),
    /// The change contradicts the membership (an unknown node, removing the last voter …).
    #[error("{0}")]
    Refused(String),
    /// Raft stopped on this node, or its store did (its storage failed: a disk that filled up under
    /// a write, an I/O error): it takes no writes until it is restarted.
    #[error("replication stopped on this node: {0}")]
    Stopped(String),
    /// Refused before anything was written: the disk of the node that took the change, or the
    /// leader's, is too full for it. Nothing of it is in any log; it may be sent again once space
    /// is freed.
    #[error("{0}")]
    NoSpace(String),
}

/// A node's answer to the greeting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Its configured id.
    pub node_id: NodeId,
    /// Its environment.
    pub environment: String,
    /// Whether it already belongs to an initialised cluster.
    pub initialized: bool,
}
