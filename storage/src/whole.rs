//! The whole store at once: reading every tree into a [`StoreState`], and replacing it from a
//! snapshot.
//!
//! [`load`] decodes every entry and checks that keys and values agree; open runs it over the whole
//! store before serving (damage is found at start-up, not on some later request) and
//! [`Store::state`] returns its result. [`Store::restore`] installs a snapshot in one transaction:
//! the old content goes and the new arrives together, or nothing changes.

use std::collections::BTreeMap;

use crate::error::StoreError;
use crate::key::{EndpointKey, parse_revision_key, revision_key};
use crate::layout::{self, AUDIT, AUDIT_SEQ_KEY, ENDPOINTS, HEADS, META, MetaKey, REVISIONS, marker_key};
use crate::model::{AuditEntry, EndpointRecord, RevisionRecord};
use crate::state::StoreState;
use crate::store::{Store, Trees, decode, encode};

/// A state as read from the trees, with the bookkeeping entries the open checks compare with it.
pub(crate) struct Loaded {
    pub(crate) state: StoreState,
    /// The `heads` tree.
    pub(crate) heads: BTreeMap<EndpointKey, u32>,
    /// `meta`'s `audit_seq`.
    pub(crate) audit_seq: u64,
    /// `meta`'s `writes`.
    pub(crate) writes: u64,
}

fn inconsistent(tree: &'static str, key: &[u8], detail: &str) -> StoreError {
    StoreError::Inconsistent(format!("tree `{tree}`, key {}: {detail}", layout::describe_key(tree, key)))
}

/// Reads and decodes every entry of every tree, checking that keys and values agree.
pub(crate) fn load(trees: &Trees, environment: &str) -> Result<Loaded, StoreError> {
    let mut state = StoreState { environment: environment.to_owned(), ..StoreState::default() };
    for kv in trees.endpoints.iter() {
        let (k, v) = kv?;
        let record: EndpointRecord = decode(ENDPOINTS, &k, &v)?;
        if record.key.to_bytes() != k.as_ref() {
            return Err(inconsistent(ENDPOINTS, &k, &format!("holds endpoint {}", record.key)));
        }
        state.endpoints.insert(record.key.clone(), record);
    }
    for kv in trees.revisions.iter() {
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
    for kv in trees.heads.iter() {
        let (k, v) = kv?;
        let Some(key) = EndpointKey::from_bytes(&k) else {
            return Err(inconsistent(HEADS, &k, "not an endpoint key"));
        };
        heads.insert(key, decode(HEADS, &k, &v)?);
    }
    for kv in trees.audit.iter() {
        let (k, v) = kv?;
        let entry: AuditEntry = decode(AUDIT, &k, &v)?;
        if entry.seq.to_be_bytes() != k.as_ref() {
            return Err(inconsistent(AUDIT, &k, &format!("holds entry {}", entry.seq)));
        }
        state.audit.push(entry);
    }
    let (mut audit_seq, mut writes) = (0, 0);
    for kv in trees.meta.iter() {
        let (k, v) = kv?;
        match MetaKey::parse(&k) {
            Some(MetaKey::Format | MetaKey::Environment) => {}
            Some(MetaKey::AuditSeq) => audit_seq = decode(META, &k, &v)?,
            Some(MetaKey::Writes) => writes = decode(META, &k, &v)?,
            Some(MetaKey::Marker(name)) => {
                state.markers.insert(name.to_owned(), v.to_vec());
            }
            None => return Err(inconsistent(META, &k, "unknown key")),
        }
    }
    Ok(Loaded { state, heads, audit_seq, writes })
}

impl Store {
    /// Everything the store holds, as one consistent value.
    pub fn state(&self) -> Result<StoreState, StoreError> {
        let _writer = self.lock();
        self.guarded(|| Ok(load(&self.sled.trees, &self.environment)?.state))
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
        let t = &self.sled.trees;
        let mut watermark = self.lock();
        // Keys to remove, read under the writer lock so no command slips in between.
        let old = self.guarded(|| {
            let mut old: Vec<(usize, sled::IVec)> = Vec::new();
            for (i, tree) in [&t.endpoints, &t.revisions, &t.heads, &t.audit].into_iter().enumerate() {
                for key in tree.iter().keys() {
                    old.push((i, key?));
                }
            }
            for key in t.meta.scan_prefix(layout::MARKER_PREFIX).keys() {
                old.push((4, key?));
            }
            Ok(old)
        })?;
        let heads = state.heads();
        self.commit(&mut watermark, |tx| {
            let by_index = [tx.endpoints, tx.revisions, tx.heads, tx.audit, tx.meta];
            for (i, key) in &old {
                by_index[*i].remove(key)?;
            }
            for record in state.endpoints.values() {
                tx.endpoints.insert(record.key.to_bytes(), encode(record)?)?;
            }
            for (key, list) in &state.revisions {
                for revision in list {
                    tx.revisions.insert(revision_key(key, revision.number), encode(revision)?)?;
                }
            }
            for (key, newest) in &heads {
                tx.heads.insert(key.to_bytes(), encode(newest)?)?;
            }
            for entry in &state.audit {
                tx.audit.insert(&entry.seq.to_be_bytes(), encode(entry)?)?;
            }
            match state.audit.last() {
                Some(last) => tx.meta.insert(AUDIT_SEQ_KEY, encode(&last.seq)?)?,
                None => tx.meta.remove(AUDIT_SEQ_KEY)?,
            };
            for (name, value) in &state.markers {
                tx.meta.insert(marker_key(name), value.as_slice())?;
            }
            Ok(((), true))
        })
    }
}
