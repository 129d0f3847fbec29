//! Changes only the leader can make — store commands and membership changes — taken by any node.
//!
//! The node that receives a change runs it through Raft if it leads, else forwards it to the
//! leader (over `/cluster/v1/forward`), all within `cluster.write_timeout_ms`. Only a change that
//! certainly never reached a leader is retried (no leader known yet, the leader unreachable, a node
//! that is no longer the leader): a change that reached one and timed out is answered `Unavailable`
//! and not sent again, because it may still be committed and must not be committed twice. A write
//! answers once this node has applied it too, so the next request here sees it. A store command
//! is refused before it enters any log when the disk of the node that took it, or the leader's,
//! is too full for it ([`ClusterError::NoSpace`]) or its store failed ([`ClusterError::Stopped`]):
//! a command in the log must be applied, and sled must never meet a full disk if it can be helped.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::ChangeMembers;
use openraft::error::{ClientWriteError, RaftError};
use switchyard_storage::raft::{Node, NodeId, Reply};
use switchyard_storage::{Command, StoreError};
use tokio::time::Instant;

use super::Cluster;
use super::messages::{ClusterError, Forward, ForwardRequest, Forwarded};
use super::network::PeerError;

/// How long to wait before asking again who leads.
const RETRY: Duration = Duration::from_millis(50);

impl Cluster {
    /// Commits `command` on a majority and applies it here; the store's answer.
    pub async fn write(&self, command: Command) -> Result<Reply, ClusterError> {
        self.room_for(&command)?;
        let deadline = Instant::now() + self.write_timeout();
        match self.on_leader(Forward::Write(command), deadline).await? {
            Forwarded::Written { reply, index } => {
                self.await_applied(index, deadline).await;
                Ok(reply)
            }
            Forwarded::Changed { .. } => {
                Err(ClusterError::Refused("a write was answered as a membership change".into()))
            }
        }
    }

    /// Commits a membership change; its log index.
    pub async fn change(&self, change: Forward) -> Result<u64, ClusterError> {
        let deadline = Instant::now() + self.write_timeout();
        match self.on_leader(change, deadline).await? {
            Forwarded::Changed { index } | Forwarded::Written { index, .. } => {
                self.await_applied(index, deadline).await;
                Ok(index)
            }
        }
    }

    /// A change forwarded by another node: made here if this node leads, within the sender's time.
    pub async fn forwarded(&self, request: ForwardRequest) -> Result<Forwarded, ClusterError> {
        let within = Duration::from_millis(request.within_ms).min(self.write_timeout());
        if self.leader() != Some(self.node_id) {
            return Err(ClusterError::NotLeader(self.node_id));
        }
        if let Forward::Write(command) = &request.change {
            self.room_for(command)?;
        }
        tokio::time::timeout(within, self.execute(request.change)).await.unwrap_or_else(|_| Err(no_majority(within)))
    }

    /// Refuses `command` if this node's disk has no room for it or its store failed, before
    /// anything of it is written. A check that cannot be made lets the command go on.
    fn room_for(&self, command: &Command) -> Result<(), ClusterError> {
        match self.store.ensure_space_for(command) {
            Ok(()) => Ok(()),
            Err(e @ StoreError::NoSpace { .. }) => Err(ClusterError::NoSpace(format!("node {}: {e}", self.node_id))),
            Err(e @ StoreError::Failed(_)) => Err(ClusterError::Stopped(e.to_string())),
            Err(e) => {
                tracing::warn!("cannot tell whether the disk has room for a change: {e}");
                Ok(())
            }
        }
    }

    /// Waits (until `deadline` at most) until this node has applied log index `index`.
    async fn await_applied(&self, index: u64, deadline: Instant) {
        let mut metrics = self.raft.metrics();
        let applied = async {
            while metrics.borrow().last_applied.is_none_or(|l| l.index < index) {
                if metrics.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout_at(deadline, applied).await.is_err() {
            tracing::warn!(index, "committed, but not applied on this node within the write timeout");
        }
    }

    async fn on_leader(&self, change: Forward, deadline: Instant) -> Result<Forwarded, ClusterError> {
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let attempt = match self.leader() {
                Some(leader) if leader == self.node_id => {
                    return tokio::time::timeout(remaining, self.execute(change.clone()))
                        .await
                        .unwrap_or_else(|_| Err(no_majority(remaining)));
                }
                Some(leader) => self.forward(leader, &change, remaining).await,
                None => Err(ClusterError::Unavailable("no leader is known".into())),
            };
            match attempt {
                // Never reached a leader (none known, unreachable, or the node asked no longer
                // leads: openraft says so only before it appended the entry): ask again who leads,
                // while there is time. A leader's own timeout is `Indeterminate`, never retried.
                Err(ClusterError::NotLeader(_) | ClusterError::Unavailable(_))
                    if deadline.saturating_duration_since(Instant::now()) > RETRY * 2 =>
                {
                    tokio::time::sleep(RETRY).await;
                }
                other => return other,
            }
        }
    }

    async fn forward(&self, leader: NodeId, change: &Forward, remaining: Duration) -> Result<Forwarded, ClusterError> {
        let address = self
            .address_of(leader)
            .ok_or_else(|| ClusterError::Unavailable(format!("the leader, node {leader}, has no known address")))?;
        let request = ForwardRequest { change: change.clone(), within_ms: remaining.as_millis() as u64 };
        match self.peers.post::<_, Result<Forwarded, ClusterError>>(&address, "forward", &request, remaining).await {
            Ok(answer) => answer,
            Err(PeerError::Unreachable(message)) => Err(ClusterError::Unavailable(message)),
            // It may have arrived: not retried.
            Err(PeerError::Network(message)) => Err(ClusterError::Indeterminate(format!(
                "the leader (node {leader}) did not answer the forwarded change, which may or may not be applied: {message}"
            ))),
        }
    }

    /// Makes `change` here, as the leader.
    async fn execute(&self, change: Forward) -> Result<Forwarded, ClusterError> {
        let me = self.node_id;
        let classify = |e: RaftError<NodeId, ClientWriteError<NodeId, Node>>| match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => ClusterError::NotLeader(me),
            RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => ClusterError::Refused(e.to_string()),
            RaftError::Fatal(fatal) => ClusterError::Stopped(fatal.to_string()),
        };
        let changed = |r: openraft::raft::ClientWriteResponse<_>| Forwarded::Changed { index: r.log_id.index };
        match change {
            Forward::Write(command) => self
                .raft
                .client_write(command)
                .await
                .map(|r| Forwarded::Written { reply: r.data, index: r.log_id.index })
                .map_err(classify),
            Forward::AddLearner { id, address } => {
                self.raft.add_learner(id, Node::new(address), false).await.map(changed).map_err(classify)
            }
            Forward::Promote { id } => self
                .raft
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
                .await
                .map(changed)
                .map_err(classify),
            Forward::Remove { id } => {
                let is_voter = self.raft.metrics().borrow().membership_config.membership().voter_ids().any(|v| v == id);
                if is_voter {
                    self.raft
                        .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
                        .await
                        .map_err(classify)?;
                }
                self.raft
                    .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                    .await
                    .map(changed)
                    .map_err(classify)
            }
        }
    }
}

/// A leader that took the change but saw no majority acknowledge it in time: the entry is in its
/// log and may still be committed if the majority comes back, so it must not be sent again.
fn no_majority(waited: Duration) -> ClusterError {
    ClusterError::Indeterminate(format!(
        "no majority acknowledged the change within {} ms; it may still be applied if the leader regains its majority: read before retrying",
        waited.as_millis()
    ))
}
