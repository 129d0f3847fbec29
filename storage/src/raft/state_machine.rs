//! The Raft state machine: the [`Store`]. Each committed entry is applied with
//! [`Store::apply_marked`] — the command and the new "last applied" (and, for a membership change,
//! the membership) in one transaction, flushed before Raft hears of it — so the state machine is
//! durable and a restarted node resumes from exactly what it applied.
//!
//! A snapshot is the whole store ([`Store::snapshot`], markers included, read under the store's
//! writer lock so data, last applied and membership agree). Building one records it as the current
//! snapshot; installing one replaces the store ([`Store::restore`], atomically; a snapshot of another
//! environment is refused) and records it too. The current snapshot lives in the log's database.
//! Store I/O runs on tokio's blocking pool, off Raft's own tasks.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};
use sled::Tree;

use super::log_store::LogStore;
use super::{Change, Node, NodeId, OnApplied, Reply, TypeConfig, markers, wire};
use crate::store::Store;

const SNAPSHOT_META: &[u8] = b"meta";
const SNAPSHOT_DATA: &[u8] = b"data";

type Membership = StoredMembership<NodeId, Node>;

fn sm_read(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_state_machine(&e).into()
}

fn sm_write(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(&e).into()
}

fn snapshot_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_snapshot(None, &e).into()
}

/// The store as Raft's state machine.
pub struct StateMachine {
    store: Arc<Store>,
    snapshots: Tree,
    on_applied: OnApplied,
}

impl StateMachine {
    /// The state machine over `store`, keeping its current snapshot beside `log`; `on_applied`
    /// hears of every change once it is durable.
    pub fn new(store: Arc<Store>, log: &LogStore, on_applied: OnApplied) -> sled::Result<Self> {
        Ok(Self { store, snapshots: log.snapshot_tree()?, on_applied })
    }
}

/// Last applied log id and membership, from the store's markers.
fn applied_state(store: &Store) -> Result<(Option<LogId<NodeId>>, Membership), StorageError<NodeId>> {
    let applied = match store.marker(markers::APPLIED).map_err(sm_read)? {
        Some(bytes) => wire::decode(&bytes).map_err(sm_read)?,
        None => None,
    };
    let membership = match store.marker(markers::MEMBERSHIP).map_err(sm_read)? {
        Some(bytes) => wire::decode(&bytes).map_err(sm_read)?,
        None => Membership::default(),
    };
    Ok((applied, membership))
}

/// Applies `entries` in order, each durably with its log id; one reply per entry.
fn apply_all(
    store: &Store,
    on_applied: &OnApplied,
    entries: Vec<Entry<TypeConfig>>,
) -> Result<Vec<Reply>, StorageError<NodeId>> {
    let mut replies = Vec::with_capacity(entries.len());
    for entry in entries {
        let log_id = entry.log_id;
        let failed = |e: &dyn std::error::Error| -> StorageError<NodeId> {
            StorageIOError::apply(log_id, &std::io::Error::other(e.to_string())).into()
        };
        let applied = wire::encode(&Some(log_id)).map_err(|e| failed(&e))?;
        match entry.payload {
            EntryPayload::Blank => {
                store.set_markers(&[(markers::APPLIED, &applied)]).map_err(|e| failed(&e))?;
                replies.push(None);
            }
            EntryPayload::Normal(command) => {
                let outcome = store.apply_marked(&command, &[(markers::APPLIED, &applied)]).map_err(|e| failed(&e))?;
                if outcome.is_ok() {
                    on_applied(Change::Endpoint(command.endpoint()));
                }
                replies.push(Some(outcome));
            }
            EntryPayload::Membership(membership) => {
                let stored = wire::encode(&Membership::new(Some(log_id), membership)).map_err(|e| failed(&e))?;
                store
                    .set_markers(&[(markers::APPLIED, &applied), (markers::MEMBERSHIP, &stored)])
                    .map_err(|e| failed(&e))?;
                replies.push(None);
            }
        }
    }
    Ok(replies)
}

/// Records `meta` and `data` as the current snapshot (one atomic batch).
fn save_current(snapshots: &Tree, meta: &SnapshotMeta<NodeId, Node>, data: &[u8]) -> Result<(), StorageError<NodeId>> {
    let mut batch = sled::Batch::default();
    batch.insert(SNAPSHOT_META, wire::encode(meta).map_err(snapshot_err)?);
    batch.insert(SNAPSHOT_DATA, data);
    snapshots.apply_batch(batch).map_err(snapshot_err)?;
    snapshots.flush().map_err(snapshot_err)?;
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError<NodeId>> + Send + 'static,
) -> Result<T, StorageError<NodeId>> {
    tokio::task::spawn_blocking(work).await.map_err(|e| sm_write(std::io::Error::other(e.to_string())))?
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId<NodeId>>, Membership), StorageError<NodeId>> {
        applied_state(&self.store)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<_> = entries.into_iter().collect();
        let (store, on_applied) = (Arc::clone(&self.store), Arc::clone(&self.on_applied));
        blocking(move || apply_all(&store, &on_applied, entries)).await
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder { store: Arc::clone(&self.store), snapshots: self.snapshots.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let (store, snapshots, on_applied) =
            (Arc::clone(&self.store), self.snapshots.clone(), Arc::clone(&self.on_applied));
        let meta = meta.clone();
        blocking(move || {
            let refused = |e: &dyn std::error::Error| -> StorageError<NodeId> {
                StorageIOError::write_snapshot(Some(meta.signature()), &std::io::Error::other(e.to_string())).into()
            };
            store.restore(&data).map_err(|e| refused(&e))?;
            // The snapshot's own markers say the same; written again so the meta Raft acted on wins.
            let applied = wire::encode(&meta.last_log_id).map_err(|e| refused(&e))?;
            let membership = wire::encode(&meta.last_membership).map_err(|e| refused(&e))?;
            store
                .set_markers(&[(markers::APPLIED, &applied), (markers::MEMBERSHIP, &membership)])
                .map_err(|e| refused(&e))?;
            save_current(&snapshots, &meta, &data)?;
            on_applied(Change::Everything);
            Ok(())
        })
        .await
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let read = |e: &dyn std::error::Error| -> StorageError<NodeId> {
            StorageIOError::read_snapshot(None, &std::io::Error::other(e.to_string())).into()
        };
        let meta = self.snapshots.get(SNAPSHOT_META).map_err(|e| read(&e))?;
        let data = self.snapshots.get(SNAPSHOT_DATA).map_err(|e| read(&e))?;
        let (Some(meta), Some(data)) = (meta, data) else { return Ok(None) };
        let meta = wire::decode(&meta).map_err(|e| read(&e))?;
        Ok(Some(Snapshot { meta, snapshot: Box::new(Cursor::new(data.to_vec())) }))
    }
}

/// Builds a snapshot of the whole store, consistent with its markers.
pub struct SnapshotBuilder {
    store: Arc<Store>,
    snapshots: Tree,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (store, snapshots) = (Arc::clone(&self.store), self.snapshots.clone());
        blocking(move || {
            // One read under the writer lock: the data and the markers describing it agree.
            let state = store.state().map_err(snapshot_err)?;
            let marker = |name: &str| state.markers.get(name).cloned();
            let last_log_id: Option<LogId<NodeId>> = match marker(markers::APPLIED) {
                Some(bytes) => wire::decode(&bytes).map_err(snapshot_err)?,
                None => None,
            };
            let last_membership: Membership = match marker(markers::MEMBERSHIP) {
                Some(bytes) => wire::decode(&bytes).map_err(snapshot_err)?,
                None => Membership::default(),
            };
            let data = state.to_snapshot().map_err(snapshot_err)?;
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let snapshot_id = match last_log_id {
                Some(id) => format!("{}-{}-{nanos}", id.leader_id, id.index),
                None => format!("empty-{nanos}"),
            };
            let meta = SnapshotMeta { last_log_id, last_membership, snapshot_id };
            save_current(&snapshots, &meta, &data)?;
            Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
        })
        .await
    }
}
