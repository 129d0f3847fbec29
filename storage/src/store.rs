//! The sled store: the one place commands are applied, and the reads.
//!
//! [`Store::apply_marked`] runs [`crate::apply::decide`] and writes its changes inside one sled
//! transaction over all five trees, so a command is all-or-nothing, then flushes (fsync) before it
//! returns, so an acknowledged command survives a crash. Writers are serialised by a mutex, which
//! also gives [`Store::state`] and [`Store::snapshot`] a consistent cut. Opening and its checks
//! live in [`crate::open`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Transactional, Tree};

use crate::apply::{View, decide};
use crate::codec;
use crate::command::{Command, Outcome};
use crate::error::StoreError;
use crate::key::{EndpointKey, parse_revision_key, revision_key};
use crate::layout::{self, AUDIT, AUDIT_SEQ_KEY, ENDPOINTS, HEADS, META, MetaKey, REVISIONS, marker_key};
use crate::model::{AuditEntry, EndpointRecord, RevisionMeta, RevisionRecord};
use crate::rejection::Rejection;
use crate::state::StoreState;

/// The endpoint store of one node, in one data directory.
pub struct Store {
    /// Where it lives, for messages.
    pub(crate) dir: PathBuf,
    /// The environment it belongs to, checked at open.
    pub(crate) environment: String,
    /// This open created it (the server seeds sample endpoints only then).
    pub(crate) created: bool,
    pub(crate) db: sled::Db,
    pub(crate) trees: Trees,
    /// Serialises writers, and `state` against them.
    writer: Mutex<()>,
}

/// The layout's trees.
pub(crate) struct Trees {
    pub(crate) endpoints: Tree,
    pub(crate) revisions: Tree,
    pub(crate) heads: Tree,
    pub(crate) audit: Tree,
    pub(crate) meta: Tree,
}

/// A state as read from the trees, with the derived entries the open checks compare.
pub(crate) struct Loaded {
    pub(crate) state: StoreState,
    pub(crate) heads: BTreeMap<EndpointKey, u32>,
    pub(crate) audit_seq: u64,
}

type TxError = ConflictableTransactionError<StoreError>;

/// Decodes a value of `tree` at `key`, naming both if it does not decode.
pub(crate) fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    codec::decode(bytes).map_err(|source| StoreError::Corrupt { tree, key: layout::describe_key(tree, key), source })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, TxError> {
    codec::encode(value).map_err(|e| ConflictableTransactionError::Abort(StoreError::Encode(e)))
}

fn inconsistent(tree: &'static str, key: &[u8], detail: &str) -> StoreError {
    StoreError::Inconsistent(format!("tree `{tree}`, key {}: {detail}", layout::describe_key(tree, key)))
}

/// Reads the state through transactional trees, for [`decide`].
struct TxView<'a> {
    endpoints: &'a TransactionalTree,
    heads: &'a TransactionalTree,
    meta: &'a TransactionalTree,
}

impl View for TxView<'_> {
    type Error = TxError;

    fn endpoint(&self, key: &EndpointKey) -> Result<Option<EndpointRecord>, TxError> {
        let k = key.to_bytes();
        match self.endpoints.get(&k)? {
            None => Ok(None),
            Some(v) => decode(ENDPOINTS, &k, &v).map(Some).map_err(ConflictableTransactionError::Abort),
        }
    }

    fn newest_revision(&self, key: &EndpointKey) -> Result<u32, TxError> {
        let k = key.to_bytes();
        match self.heads.get(&k)? {
            None => Ok(0),
            Some(v) => decode(HEADS, &k, &v).map_err(ConflictableTransactionError::Abort),
        }
    }

    fn last_audit_seq(&self) -> Result<u64, TxError> {
        match self.meta.get(AUDIT_SEQ_KEY)? {
            None => Ok(0),
            Some(v) => decode(META, AUDIT_SEQ_KEY, &v).map_err(ConflictableTransactionError::Abort),
        }
    }
}

impl Store {
    pub(crate) fn new(dir: &Path, environment: &str, created: bool, db: sled::Db, trees: Trees) -> Self {
        Self { dir: dir.to_owned(), environment: environment.to_owned(), created, db, trees, writer: Mutex::new(()) }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The guard protects no data: a writer that panicked left sled consistent (its transaction
        // either committed or did not), so a poisoned lock is still good.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `command`: its outcome, or its rejection (which changed nothing). The change is on
    /// disk when this returns.
    pub fn apply(&self, command: &Command) -> Result<Result<Outcome, Rejection>, StoreError> {
        self.apply_marked(command, &[])
    }

    /// Applies `command` and writes `markers` (name, opaque bytes) in the same transaction — also
    /// when the command is rejected, because a replication layer records that it applied the log
    /// entry either way. Read them back with [`Store::marker`].
    pub fn apply_marked(
        &self,
        command: &Command,
        markers: &[(&str, &[u8])],
    ) -> Result<Result<Outcome, Rejection>, StoreError> {
        let t = &self.trees;
        let _writer = self.lock();
        let result = (&t.endpoints, &t.revisions, &t.heads, &t.audit, &t.meta).transaction(
            |(endpoints, revisions, heads, audit, meta)| {
                let view = TxView { endpoints, heads, meta };
                let decision = decide(&view, command)?;
                if let Ok((changes, _)) = &decision {
                    let key = command.endpoint().to_bytes();
                    match &changes.endpoint {
                        Some(record) => endpoints.insert(key.as_slice(), encode(record)?)?,
                        None => endpoints.remove(key.as_slice())?,
                    };
                    if let Some(revision) = &changes.revision {
                        revisions.insert(revision_key(command.endpoint(), revision.number), encode(revision)?)?;
                        heads.insert(key.as_slice(), encode(&revision.number)?)?;
                    }
                    audit.insert(&changes.audit.seq.to_be_bytes(), encode(&changes.audit)?)?;
                    meta.insert(AUDIT_SEQ_KEY, encode(&changes.audit.seq)?)?;
                }
                for (name, value) in markers {
                    meta.insert(marker_key(name), *value)?;
                }
                Ok(decision.map(|(_, outcome)| outcome))
            },
        );
        let outcome = result.map_err(from_transaction)?;
        if outcome.is_ok() || !markers.is_empty() {
            self.db.flush()?;
        }
        Ok(outcome)
    }

    /// Writes `markers` alone, for log entries that carry no command (membership, blank entries).
    pub fn set_markers(&self, markers: &[(&str, &[u8])]) -> Result<(), StoreError> {
        let _writer = self.lock();
        self.trees
            .meta
            .transaction(|meta| {
                for (name, value) in markers {
                    meta.insert(marker_key(name), *value)?;
                }
                Ok(())
            })
            .map_err(from_transaction)?;
        self.db.flush()?;
        Ok(())
    }

    /// A marker written with [`Store::apply_marked`] or [`Store::set_markers`].
    pub fn marker(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.trees.meta.get(marker_key(name))?.map(|v| v.to_vec()))
    }

    /// A live endpoint.
    pub fn endpoint(&self, key: &EndpointKey) -> Result<Option<EndpointRecord>, StoreError> {
        let k = key.to_bytes();
        self.trees.endpoints.get(&k)?.map(|v| decode(ENDPOINTS, &k, &v)).transpose()
    }

    /// Every live endpoint, ordered by key.
    pub fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        self.trees
            .endpoints
            .iter()
            .map(|kv| kv.map_err(StoreError::from).and_then(|(k, v)| decode(ENDPOINTS, &k, &v)))
            .collect()
    }

    /// One revision with its source; deleted endpoints' revisions stay readable.
    pub fn revision(&self, key: &EndpointKey, number: u32) -> Result<Option<RevisionRecord>, StoreError> {
        let k = revision_key(key, number);
        self.trees.revisions.get(&k)?.map(|v| decode(REVISIONS, &k, &v)).transpose()
    }

    /// Every revision of an endpoint (live or deleted) without sources, oldest first.
    pub fn revisions(&self, key: &EndpointKey) -> Result<Vec<RevisionMeta>, StoreError> {
        self.trees
            .revisions
            .scan_prefix(key.to_bytes())
            .map(|kv| {
                let (k, v) = kv?;
                decode::<RevisionRecord>(REVISIONS, &k, &v).map(|r| RevisionMeta::from(&r))
            })
            .collect()
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
        self.trees
            .audit
            .range(start.to_be_bytes()..)
            .take(limit)
            .map(|kv| kv.map_err(StoreError::from).and_then(|(k, v)| decode(AUDIT, &k, &v)))
            .collect()
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
        Ok(self.db.size_on_disk()?)
    }

    /// Everything the store holds, as one consistent value.
    pub fn state(&self) -> Result<StoreState, StoreError> {
        let _writer = self.lock();
        Ok(self.load()?.state)
    }

    /// [`Store::state`] as snapshot bytes (versioned, framed): what a Raft snapshot carries.
    pub fn snapshot(&self) -> Result<Vec<u8>, StoreError> {
        self.state()?.to_snapshot().map_err(StoreError::Encode)
    }

    /// Replaces everything with the state in `snapshot`, atomically and durably. The snapshot must
    /// decode, keep the invariants and belong to this store's environment; otherwise nothing changes.
    pub fn restore(&self, snapshot: &[u8]) -> Result<(), StoreError> {
        let state = StoreState::from_snapshot(snapshot).map_err(StoreError::BadSnapshot)?;
        state.check().map_err(StoreError::BadSnapshot)?;
        if state.environment != self.environment {
            return Err(StoreError::SnapshotEnvironment {
                found: state.environment,
                expected: self.environment.clone(),
            });
        }
        let t = &self.trees;
        let _writer = self.lock();
        let mut old: Vec<(usize, sled::IVec)> = Vec::new();
        for (i, tree) in [&t.endpoints, &t.revisions, &t.heads, &t.audit].into_iter().enumerate() {
            for key in tree.iter().keys() {
                old.push((i, key?));
            }
        }
        for key in t.meta.scan_prefix(layout::MARKER_PREFIX).keys() {
            old.push((4, key?));
        }
        let heads = state.heads();
        let result = (&t.endpoints, &t.revisions, &t.heads, &t.audit, &t.meta).transaction(|trees| {
            let (endpoints, revisions, heads_tree, audit, meta) = trees;
            let by_index = [endpoints, revisions, heads_tree, audit, meta];
            for (i, key) in &old {
                by_index[*i].remove(key)?;
            }
            for record in state.endpoints.values() {
                endpoints.insert(record.key.to_bytes(), encode(record)?)?;
            }
            for (key, list) in &state.revisions {
                for revision in list {
                    revisions.insert(revision_key(key, revision.number), encode(revision)?)?;
                }
            }
            for (key, newest) in &heads {
                heads_tree.insert(key.to_bytes(), encode(newest)?)?;
            }
            for entry in &state.audit {
                audit.insert(&entry.seq.to_be_bytes(), encode(entry)?)?;
            }
            match state.audit.last() {
                Some(last) => meta.insert(AUDIT_SEQ_KEY, encode(&last.seq)?)?,
                None => meta.remove(AUDIT_SEQ_KEY)?,
            };
            for (name, value) in &state.markers {
                meta.insert(marker_key(name), value.as_slice())?;
            }
            Ok(())
        });
        result.map_err(from_transaction)?;
        self.db.flush()?;
        Ok(())
    }

    /// Reads and decodes every entry of every tree, checking that keys and values agree.
    pub(crate) fn load(&self) -> Result<Loaded, StoreError> {
        let t = &self.trees;
        let mut state = StoreState { environment: self.environment.clone(), ..StoreState::default() };
        for kv in t.endpoints.iter() {
            let (k, v) = kv?;
            let record: EndpointRecord = decode(ENDPOINTS, &k, &v)?;
            if record.key.to_bytes() != k.as_ref() {
                return Err(inconsistent(ENDPOINTS, &k, &format!("holds endpoint {}", record.key)));
            }
            state.endpoints.insert(record.key.clone(), record);
        }
        for kv in t.revisions.iter() {
            let (k, v) = kv?;
            let Some((key, number)) = parse_revision_key(&k) else {
                return Err(inconsistent(REVISIONS, &k, "not a revision key"));
            };
            let record: RevisionRecord = decode(REVISIONS, &k, &v)?;
            if record.number != number {
                return Err(inconsistent(REVISIONS, &k, &format!("holds revision {}", record.number)));
            }
            state.revisions.entry(key).or_default().push(record);
        }
        let mut heads = BTreeMap::new();
        for kv in t.heads.iter() {
            let (k, v) = kv?;
            let Some(key) = EndpointKey::from_bytes(&k) else {
                return Err(inconsistent(HEADS, &k, "not an endpoint key"));
            };
            heads.insert(key, decode(HEADS, &k, &v)?);
        }
        for kv in t.audit.iter() {
            let (k, v) = kv?;
            let entry: AuditEntry = decode(AUDIT, &k, &v)?;
            if entry.seq.to_be_bytes() != k.as_ref() {
                return Err(inconsistent(AUDIT, &k, &format!("holds entry {}", entry.seq)));
            }
            state.audit.push(entry);
        }
        let mut audit_seq = 0;
        for kv in t.meta.iter() {
            let (k, v) = kv?;
            match MetaKey::parse(&k) {
                Some(MetaKey::Format | MetaKey::Environment) => {}
                Some(MetaKey::AuditSeq) => audit_seq = decode(META, &k, &v)?,
                Some(MetaKey::Marker(name)) => {
                    state.markers.insert(name.to_owned(), v.to_vec());
                }
                None => return Err(inconsistent(META, &k, "unknown key")),
            }
        }
        Ok(Loaded { state, heads, audit_seq })
    }
}

fn from_transaction(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}
