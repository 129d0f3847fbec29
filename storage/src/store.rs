//! The sled store: the one place commands are applied, and the reads.
//!
//! [`Store::apply_marked`] runs [`crate::apply::decide`] and writes its changes inside one sled
//! transaction over all five trees, so a command is all-or-nothing, then flushes (fsync) and
//! advances the [watermark](crate::watermark) before it returns, so an acknowledged command
//! survives a crash and its loss would be noticed. Writers are serialised by a mutex, which also
//! gives [`Store::state`] a consistent cut. Every use of sled goes through the store's
//! [health](crate::health): a new command is refused when the disk is nearly full, and the first
//! I/O failure stops the store until it is opened again. Opening lives in [`crate::open`],
//! whole-state reads and restore in [`crate::whole`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Transactional, Tree};

use crate::apply::{View, decide};
use crate::codec;
use crate::command::{Command, Outcome};
use crate::error::StoreError;
use crate::health::{FLUSH_LIMIT, Failure, FlushError, Health, flush_within};
use crate::key::{EndpointKey, revision_key};
use crate::layout::{self, AUDIT, AUDIT_SEQ_KEY, ENDPOINTS, HEADS, META, REVISIONS, WRITES_KEY, marker_key};
use crate::model::{AuditEntry, EndpointRecord, RevisionMeta, RevisionRecord};
use crate::rejection::Rejection;
use crate::watermark::Watermark;

/// The endpoint store of one node, in one data directory.
pub struct Store {
    /// Where it lives, for messages.
    pub(crate) dir: PathBuf,
    /// The environment it belongs to, checked at open.
    pub(crate) environment: String,
    /// This open created it (the server seeds sample endpoints only then).
    pub(crate) created: bool,
    /// sled's handles; shared only so that a failed store can let go of them on a thread of its own.
    pub(crate) sled: Arc<Handles>,
    /// The failure latch and the free-space reserve.
    health: Health,
    /// Serialises writers (and `state` against them); holds the watermark they advance.
    writer: Mutex<Watermark>,
    /// The identity file, locked while the store is open: one process per directory.
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).field("environment", &self.environment).finish_non_exhaustive()
    }
}

/// The open sled database and its trees.
pub(crate) struct Handles {
    pub(crate) db: sled::Db,
    pub(crate) trees: Trees,
}

/// The layout's trees.
pub(crate) struct Trees {
    pub(crate) endpoints: Tree,
    pub(crate) revisions: Tree,
    pub(crate) heads: Tree,
    pub(crate) audit: Tree,
    pub(crate) meta: Tree,
}

/// The trees inside a transaction.
pub(crate) struct Tx<'a> {
    pub(crate) endpoints: &'a TransactionalTree,
    pub(crate) revisions: &'a TransactionalTree,
    pub(crate) heads: &'a TransactionalTree,
    pub(crate) audit: &'a TransactionalTree,
    pub(crate) meta: &'a TransactionalTree,
}

pub(crate) type TxError = ConflictableTransactionError<StoreError>;

/// Decodes a value of `tree` at `key`, naming both if it does not decode.
pub(crate) fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    codec::decode(bytes).map_err(|source| StoreError::Corrupt { tree, key: layout::describe_key(tree, key), source })
}

/// Encodes a value inside a transaction.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, TxError> {
    codec::encode(value).map_err(|e| ConflictableTransactionError::Abort(StoreError::Encode(e)))
}

fn decode_tx<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T, TxError> {
    decode(tree, key, bytes).map_err(ConflictableTransactionError::Abort)
}

impl View for Tx<'_> {
    type Error = TxError;

    fn endpoint(&self, key: &EndpointKey) -> Result<Option<EndpointRecord>, TxError> {
        let k = key.to_bytes();
        self.endpoints.get(&k)?.map(|v| decode_tx(ENDPOINTS, &k, &v)).transpose()
    }

    fn newest_revision(&self, key: &EndpointKey) -> Result<u32, TxError> {
        let k = key.to_bytes();
        Ok(self.heads.get(&k)?.map(|v| decode_tx(HEADS, &k, &v)).transpose()?.unwrap_or(0))
    }

    fn last_audit_seq(&self) -> Result<u64, TxError> {
        Ok(self.meta.get(AUDIT_SEQ_KEY)?.map(|v| decode_tx(META, AUDIT_SEQ_KEY, &v)).transpose()?.unwrap_or(0))
    }
}

impl Store {
    pub(crate) fn new(
        dir: &Path,
        environment: &str,
        created: bool,
        db: sled::Db,
        trees: Trees,
        watermark: Watermark,
        lock: File,
    ) -> Self {
        Self {
            dir: dir.to_owned(),
            environment: environment.to_owned(),
            created,
            sled: Arc::new(Handles { db, trees }),
            health: Health::new(),
            writer: Mutex::new(watermark),
            _lock: lock,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Watermark> {
        // A writer that panicked left sled consistent (its transaction committed or did not) and
        // the watermark at most one behind, which open accepts: a poisoned lock is still good.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `read` unless the store failed; an I/O failure it meets stops the store.
    pub(crate) fn guarded<T>(&self, read: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.health.check()?;
        read().map_err(|e| self.health.record(&self.dir, e))
    }

    /// Runs `body` in one transaction over every tree. If it reports that it wrote, the write
    /// count is advanced in the same transaction, then sled is flushed and the watermark advanced.
    /// Any I/O failure on the way stops the store ([`StoreError::Failed`]).
    pub(crate) fn commit<T>(
        &self,
        watermark: &mut Watermark,
        body: impl Fn(&Tx<'_>) -> Result<(T, bool), TxError>,
    ) -> Result<T, StoreError> {
        self.health.check()?;
        let t = &self.sled.trees;
        let result = (&t.endpoints, &t.revisions, &t.heads, &t.audit, &t.meta).transaction(
            |(endpoints, revisions, heads, audit, meta)| {
                let tx = Tx { endpoints, revisions, heads, audit, meta };
                let (value, wrote) = body(&tx)?;
                if !wrote {
                    return Ok((value, None));
                }
                let writes: u64 =
                    meta.get(WRITES_KEY)?.map(|v| decode_tx(META, WRITES_KEY, &v)).transpose()?.unwrap_or(0);
                let writes = writes.saturating_add(1);
                meta.insert(WRITES_KEY, encode(&writes)?)?;
                Ok((value, Some(writes)))
            },
        );
        let (value, writes) = result.map_err(|e| match e {
            TransactionError::Abort(e) => self.health.record(&self.dir, e),
            TransactionError::Storage(e) => self.health.record(&self.dir, StoreError::Sled(e)),
        })?;
        if let Some(writes) = writes {
            match flush_within(&self.sled.db, FLUSH_LIMIT) {
                Ok(()) => {}
                Err(FlushError::Sled(e)) => return Err(self.health.record(&self.dir, StoreError::Sled(e))),
                Err(FlushError::TooSlow(limit)) => return Err(self.flush_too_slow(limit)),
            }
            if let Err(e) = watermark.write(writes) {
                // The write is durable in sled: say so, and stop, since the watermark is behind.
                self.health.fail(&self.dir, format!("the watermark: {e}"), crate::health::is_no_space(&e));
                return Err(StoreError::Watermark(e));
            }
        }
        Ok(value)
    }

    fn flush_too_slow(&self, limit: Duration) -> StoreError {
        self.health.fail(&self.dir, format!("a flush did not finish within {} s", limit.as_secs()), false)
    }

    /// Applies a new `command`: its outcome, or its rejection (which changed nothing). The change
    /// is on disk when this returns. Refused with [`StoreError::NoSpace`], having written nothing,
    /// when the disk is too full for it ([`Store::ensure_space_for`]).
    pub fn apply(&self, command: &Command) -> Result<Result<Outcome, Rejection>, StoreError> {
        self.ensure_space_for(command)?;
        self.apply_marked(command, &[])
    }

    /// Whether the disk has room for `command`: refused with [`StoreError::NoSpace`] when writing
    /// it (twice: to a Raft log and to the store) would leave less free than the store's own size
    /// (a restart checks a copy of it) plus the reserve ([`Store::set_space_reserve`]). A caller
    /// that logs commands before applying them asks before logging; [`Store::apply_marked`] does
    /// not ask, because a logged command must be applied if at all possible.
    pub fn ensure_space_for(&self, command: &Command) -> Result<(), StoreError> {
        if self.health.reserve().is_none() {
            return self.health.check();
        }
        let write = crate::codec::encode(command).map_err(StoreError::Encode)?.len() as u64;
        let own = self.size_on_disk()?;
        self.health.ensure_space(&self.dir, own, write)
    }

    /// The free space kept beyond a write and the store's own size
    /// ([`crate::DEFAULT_SPACE_RESERVE`] unless changed); `None` when it is not checked.
    pub fn space_reserve(&self) -> Option<u64> {
        self.health.reserve()
    }

    /// Changes the free space kept beyond a write and the store's own size; `None` checks
    /// nothing (sled then meets a full disk itself, and the store fails: [`StoreError::Failed`]).
    pub fn set_space_reserve(&self, bytes: Option<u64>) {
        self.health.set_reserve(bytes);
    }

    /// Why the store stopped, if it did: it then answers every call with
    /// [`StoreError::Failed`] until it is opened again.
    pub fn failure(&self) -> Option<Failure> {
        self.health.failure().cloned()
    }

    /// Applies `command` and writes `markers` (name, opaque bytes) in the same transaction — also
    /// when the command is rejected, because a replication layer records that it applied the log
    /// entry either way. Read them back with [`Store::marker`].
    pub fn apply_marked(
        &self,
        command: &Command,
        markers: &[(&str, &[u8])],
    ) -> Result<Result<Outcome, Rejection>, StoreError> {
        let mut watermark = self.lock();
        self.commit(&mut watermark, |tx| {
            let decision = decide(tx, command)?;
            if let Ok((changes, _)) = &decision {
                let key = command.endpoint().to_bytes();
                match &changes.endpoint {
                    Some(record) => tx.endpoints.insert(key.as_slice(), encode(record)?)?,
                    None => tx.endpoints.remove(key.as_slice())?,
                };
                if let Some(revision) = &changes.revision {
                    tx.revisions.insert(revision_key(command.endpoint(), revision.number), encode(revision)?)?;
                    tx.heads.insert(key.as_slice(), encode(&revision.number)?)?;
                }
                tx.audit.insert(&changes.audit.seq.to_be_bytes(), encode(&changes.audit)?)?;
                tx.meta.insert(AUDIT_SEQ_KEY, encode(&changes.audit.seq)?)?;
            }
            for (name, value) in markers {
                tx.meta.insert(marker_key(name), *value)?;
            }
            let wrote = decision.is_ok() || !markers.is_empty();
            Ok((decision.map(|(_, outcome)| outcome), wrote))
        })
    }

    /// Writes `markers` alone, for log entries that carry no command (membership, blank entries).
    pub fn set_markers(&self, markers: &[(&str, &[u8])]) -> Result<(), StoreError> {
        let mut watermark = self.lock();
        self.commit(&mut watermark, |tx| {
            for (name, value) in markers {
                tx.meta.insert(marker_key(name), *value)?;
            }
            Ok(((), !markers.is_empty()))
        })
    }

    /// A marker written with [`Store::apply_marked`] or [`Store::set_markers`].
    pub fn marker(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.guarded(|| Ok(self.sled.trees.meta.get(marker_key(name))?.map(|v| v.to_vec())))
    }

    /// A live endpoint.
    pub fn endpoint(&self, key: &EndpointKey) -> Result<Option<EndpointRecord>, StoreError> {
        let k = key.to_bytes();
        self.guarded(|| self.sled.trees.endpoints.get(&k)?.map(|v| decode(ENDPOINTS, &k, &v)).transpose())
    }

    /// Every live endpoint, ordered by key.
    pub fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        self.guarded(|| {
            let entries = self.sled.trees.endpoints.iter();
            entries.map(|kv| kv.map_err(StoreError::from).and_then(|(k, v)| decode(ENDPOINTS, &k, &v))).collect()
        })
    }

    /// One revision with its source; deleted endpoints' revisions stay readable.
    pub fn revision(&self, key: &EndpointKey, number: u32) -> Result<Option<RevisionRecord>, StoreError> {
        let k = revision_key(key, number);
        self.guarded(|| self.sled.trees.revisions.get(&k)?.map(|v| decode(REVISIONS, &k, &v)).transpose())
    }

    /// Every revision of an endpoint (live or deleted) without sources, oldest first.
    pub fn revisions(&self, key: &EndpointKey) -> Result<Vec<RevisionMeta>, StoreError> {
        self.guarded(|| {
            let entries = self.sled.trees.revisions.scan_prefix(key.to_bytes());
            entries
                .map(|kv| {
                    let (k, v) = kv?;
                    decode::<RevisionRecord>(REVISIONS, &k, &v).map(|r| RevisionMeta::from(&r))
                })
                .collect()
        })
    }

    /// At most `limit` audit entries, oldest first, after `after_seq` (from the start if `None`).
    pub fn audit(&self, after_seq: Option<u64>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let start = match after_seq {
            None => 0,
            Some(seq) => match seq.checked_add(1) {
                Some(next) => next,
                None => return Ok(Vec::new()),
            },
        };
        self.guarded(|| {
            let entries = self.sled.trees.audit.range(start.to_be_bytes()..).take(limit);
            entries.map(|kv| kv.map_err(StoreError::from).and_then(|(k, v)| decode(AUDIT, &k, &v))).collect()
        })
    }

    /// The environment this store belongs to.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// This open created the store (the directory was missing or empty).
    pub fn was_created(&self) -> bool {
        self.created
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes sled reports on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.guarded(|| Ok(self.sled.db.size_on_disk()?))
    }
}

impl Drop for Store {
    /// A failed store's sled may flush on closing and wait forever for a write that failed: its
    /// handles are let go on a thread of their own (the last reference, once this store's own is
    /// gone), so dropping the store never hangs. A healthy store closes here, as sled does.
    fn drop(&mut self) {
        if self.health.failure().is_none() {
            return;
        }
        let sled = Arc::clone(&self.sled);
        let released = std::thread::Builder::new().name("store-release".into()).spawn(move || {
            while Arc::strong_count(&sled) > 1 {
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(sled);
        });
        if let Err(e) = released {
            tracing::warn!("cannot close the failed store on a thread of its own: {e}");
        }
    }
}
