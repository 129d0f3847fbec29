//! The Raft log of one node: entries, the vote and the purge marker in a sled database of their own
//! (`data_dir/raft`, trees `log` and `meta`; the state machine keeps its current snapshot in tree
//! `snapshot`).
//!
//! What Raft needs of it (openraft's `RaftLogStorage`): a vote is on disk before `save_vote`
//! returns; appended entries are readable when `append` returns and on disk when its callback is
//! called (after a flush, which counts as failed if it takes over [`FLUSH_LIMIT`]); the log has no holes; the purge marker is written before the entries it
//! covers are removed, so a restart after compaction knows where the log begins. Opening checks
//! every entry decodes and that they follow each other, and refuses a log that does not, naming
//! the directory: a damaged log is never silently shortened.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogId, StorageError, StorageIOError, Vote};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;

use super::{NodeId, TypeConfig, wire};
use crate::health::FLUSH_LIMIT;

const VOTE: &[u8] = b"vote";
const LAST_PURGED: &[u8] = b"last_purged";

/// Why a Raft log directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogOpenError {
    /// sled refused the directory (locked by another process, unreadable, damaged).
    #[error("the Raft log in {dir} cannot be opened: {source}")]
    Sled {
        /// The directory.
        dir: PathBuf,
        /// sled's reason.
        source: sled::Error,
    },
    /// An entry, the vote or the purge marker does not decode, or the entries do not follow each other.
    #[error("the Raft log in {dir} is damaged: {detail}; refusing to start (nothing was changed)")]
    Damaged {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// The log, vote and purge marker of one node. Clones share the database (the log reader is one).
#[derive(Clone)]
pub struct LogStore {
    db: sled::Db,
    log: Tree,
    meta: Tree,
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").field("entries", &self.log.len()).finish_non_exhaustive()
    }
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_logs(&e).into()
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn index_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// Opens sled in `dir`. Another process holding it is kept out by the store's identity lock
/// (the log lives beside the store, in the same data directory), so a lock conflict here is a
/// handle of this process that was just dropped: sled lets go of its file a moment later.
fn open_db(dir: &Path) -> sled::Result<sled::Db> {
    let mut attempts = 0;
    loop {
        match sled::Config::new().path(dir).open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") && attempts < 300 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, checking every entry.
    pub fn open(dir: &Path) -> Result<Self, LogOpenError> {
        let sled_err = |source| LogOpenError::Sled { dir: dir.to_owned(), source };
        let db = open_db(dir).map_err(sled_err)?;
        let log = db.open_tree("log").map_err(sled_err)?;
        let meta = db.open_tree("meta").map_err(sled_err)?;
        let store = Self { db, log, meta };
        // A purge interrupted by a crash: its marker is written, some entries it covers are not
        // removed yet. Finish it, so the log starts right after the marker.
        if let Ok(Some(purged)) = store.meta_value::<LogId<NodeId>>(LAST_PURGED) {
            store.remove(..=index_key(purged.index)).map_err(|e| LogOpenError::Damaged {
                dir: dir.to_owned(),
                detail: format!("cannot finish an interrupted purge: {e}"),
            })?;
        }
        store.verify().map_err(|detail| LogOpenError::Damaged { dir: dir.to_owned(), detail })?;
        Ok(store)
    }

    fn verify(&self) -> Result<(), String> {
        let purged: Option<LogId<NodeId>> = self.meta_value(LAST_PURGED).map_err(|e| format!("purge marker: {e}"))?;
        let _: Option<Vote<NodeId>> = self.meta_value(VOTE).map_err(|e| format!("vote: {e}"))?;
        let mut expected = purged.map(|p| p.index + 1);
        for item in self.log.iter() {
            let (key, value) = item.map_err(|e| e.to_string())?;
            let index = index_of(&key).ok_or_else(|| format!("a key of {} bytes", key.len()))?;
            let entry: Entry<TypeConfig> = wire::decode(&value).map_err(|e| format!("entry {index}: {e}"))?;
            if entry.log_id.index != index {
                return Err(format!("the entry at {index} says it is entry {}", entry.log_id.index));
            }
            if let Some(expected) = expected
                && index != expected
            {
                return Err(format!("entry {expected} is missing (the next one is {index})"));
            }
            expected = Some(index + 1);
        }
        Ok(())
    }

    /// The tree the state machine keeps its current snapshot in.
    pub(crate) fn snapshot_tree(&self) -> sled::Result<Tree> {
        self.db.open_tree("snapshot")
    }

    fn meta_value<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, String> {
        match self.meta.get(key).map_err(|e| e.to_string())? {
            Some(bytes) => wire::decode(&bytes).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    fn put_meta<T: Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError<NodeId>> {
        let bytes = wire::encode(value).map_err(write_err)?;
        self.meta.insert(key, bytes).map_err(write_err)?;
        Ok(())
    }

    /// Flushes, within [`FLUSH_LIMIT`]: after a failed write (a full disk) sled may wait forever,
    /// and Raft must hear of a failure rather than wait with it (it then stops on this node).
    async fn flush(&self) -> Result<(), sled::Error> {
        match tokio::time::timeout(FLUSH_LIMIT, self.db.flush_async()).await {
            Ok(flushed) => flushed.map(|_| ()),
            Err(_) => Err(sled::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the Raft log's flush did not finish within {} s", FLUSH_LIMIT.as_secs()),
            ))),
        }
    }

    fn last_purged(&self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        self.meta_value(LAST_PURGED).map_err(|e| read_err(std::io::Error::other(e)))
    }

    /// Removes every entry whose index is in `range`.
    fn remove(&self, range: impl RangeBounds<[u8; 8]>) -> Result<(), StorageError<NodeId>> {
        let mut batch = sled::Batch::default();
        for key in self.log.range(range).keys() {
            batch.remove(key.map_err(write_err)?);
        }
        self.log.apply_batch(batch).map_err(write_err)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let start = match range.start_bound() {
            Bound::Included(i) => Bound::Included(index_key(*i)),
            Bound::Excluded(i) => Bound::Excluded(index_key(*i)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => Bound::Included(index_key(*i)),
            Bound::Excluded(i) => Bound::Excluded(index_key(*i)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let mut entries = Vec::new();
        for item in self.log.range((start, end)) {
            let (_, value) = item.map_err(read_err)?;
            entries.push(wire::decode(&value).map_err(read_err)?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged_log_id = self.last_purged()?;
        let last = match self.log.last().map_err(read_err)? {
            Some((_, value)) => Some(*wire::decode::<Entry<TypeConfig>>(&value).map_err(read_err)?.get_log_id()),
            None => last_purged_log_id,
        };
        Ok(LogState { last_purged_log_id, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.put_meta(VOTE, vote)?;
        self.flush().await.map_err(|e| StorageIOError::write_vote(&e))?;
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.meta_value(VOTE).map_err(|e| StorageIOError::read_vote(&std::io::Error::other(e)).into())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = sled::Batch::default();
        for entry in entries {
            batch.insert(&index_key(entry.log_id.index), wire::encode(&entry).map_err(write_err)?);
        }
        self.log.apply_batch(batch).map_err(write_err)?;
        let flushed = self.flush().await.map_err(std::io::Error::other);
        let failed = flushed.as_ref().err().map(|e| write_err(std::io::Error::other(e.to_string())));
        callback.log_io_completed(flushed);
        failed.map_or(Ok(()), Err)
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.remove(index_key(log_id.index)..)?;
        self.flush().await.map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        // The marker first: after a crash in between, the entries it covers are simply ignored.
        self.put_meta(LAST_PURGED, &log_id)?;
        self.flush().await.map_err(write_err)?;
        // No flush needed: entries the marker covers are ignored, and open removes any left over.
        self.remove(..=index_key(log_id.index))
    }
}
