//! Replication of the store with Raft (openraft 0.9, design §7): the store's [`Command`]s are the
//! entries of a Raft log, and the state machine applies them with the store's own
//! [`Store::apply_marked`], so every node applies the same changes in the same order.
//!
//! This module owns the storage side of Raft and nothing of the network:
//! - [`LogStore`]: the log, the vote and the purge marker, in a sled database of their own
//!   (`data_dir/raft`), each write flushed before Raft is told it is durable;
//! - [`StateMachine`]: the [`Store`] itself, whose markers record the last applied log id and
//!   membership in the same transaction as each command, so a crash never splits them; snapshots
//!   are [`Store::snapshot`] bytes, installed with [`Store::restore`] (which refuses another
//!   environment's);
//! - [`wire`]: the versioned bincode encoding of what goes on disk and between nodes.
//!
//! The server gives the network (HTTP on its admin listener) and reacts to applied changes through
//! the [`OnApplied`] hook, so its endpoints follow the store on every node.

// openraft's traits return its `StorageError` (224 bytes); the helpers here return what they do.
#![allow(clippy::result_large_err)]

mod log_store;
mod state_machine;
pub mod wire;

use std::sync::Arc;

pub use log_store::{LogOpenError, LogStore};
pub use openraft;
pub use state_machine::{SnapshotBuilder, StateMachine};

use crate::command::{Command, Outcome};
use crate::key::EndpointKey;
use crate::rejection::Rejection;
#[allow(unused_imports)]
use crate::store::Store;

/// A node's id in its cluster.
pub type NodeId = u64;

/// A node's address: its admin listener, `host:port`.
pub type Node = openraft::BasicNode;

/// What applying one log entry answered: the command's outcome or rejection; `None` for entries
/// that carry no command (membership changes, a new leader's blank entry).
pub type Reply = Option<Result<Outcome, Rejection>>;

openraft::declare_raft_types!(
    /// Switchyard's Raft: commands in, their outcomes out, nodes addressed by their admin listener.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = NodeId,
        Node = Node,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = std::io::Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft of this crate's types.
pub type Raft = openraft::Raft<TypeConfig>;

/// What changed in the store, for whoever serves from it.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    /// One endpoint (its routing, revisions or existence).
    Endpoint(&'a EndpointKey),
    /// Everything (a snapshot was installed).
    Everything,
}

/// Called after each change is applied and durable, before Raft hears it was applied.
pub type OnApplied = Arc<dyn Fn(Change<'_>) + Send + Sync>;

/// The names of the store markers the state machine keeps.
pub(crate) mod markers {
    /// The last applied log id (`Option<LogId>`).
    pub const APPLIED: &str = "raft/applied";
    /// The last applied membership (`StoredMembership`).
    pub const MEMBERSHIP: &str = "raft/membership";
}
