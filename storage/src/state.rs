//! The whole content of a store as one value: what [`crate::Store::state`] returns, what a snapshot
//! carries, and what the invariants are checked on.
//!
//! The invariants hold after every command, so a state that breaks one was damaged or forged: the
//! store refuses to open it and [`crate::Store::restore`] refuses to install it. A snapshot is a
//! format byte followed by length-framed items, each a versioned value ([`crate::codec`]), and ends
//! with an item that counts them, so a truncated snapshot is detected and no single length in it
//! can make the reader allocate more than one value's limit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError, VALUE_LIMIT};
use crate::key::EndpointKey;
use crate::model::{AuditEntry, EndpointRecord, MAX_ACTIVE_HISTORY, RevisionRecord, sha256_hex};

/// The first byte of every snapshot this build writes.
pub const SNAPSHOT_FORMAT: u8 = 1;

/// Everything a store holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreState {
    /// The environment the store belongs to.
    pub environment: String,
    /// Live endpoints.
    pub endpoints: BTreeMap<EndpointKey, EndpointRecord>,
    /// Every revision ever published, by endpoint (deleted endpoints' too), numbered 1, 2, 3 ….
    pub revisions: BTreeMap<EndpointKey, Vec<RevisionRecord>>,
    /// Every change, in order.
    pub audit: Vec<AuditEntry>,
    /// Opaque entries written with commands by a replication layer (last applied log id …).
    pub markers: BTreeMap<String, Vec<u8>>,
}

/// One framed item of a snapshot.
#[derive(Serialize, Deserialize)]
enum Item {
    Environment(String),
    Marker(String, Vec<u8>),
    Endpoint(EndpointRecord),
    Revision(EndpointKey, RevisionRecord),
    Audit(AuditEntry),
    End { items: u64 },
}

impl StoreState {
    /// Checks what every command keeps true; the error says which record breaks what.
    pub fn check(&self) -> Result<(), String> {
        for (key, revisions) in &self.revisions {
            for (i, revision) in revisions.iter().enumerate() {
                if u64::from(revision.number) != i as u64 + 1 {
                    return Err(format!("endpoint {key}: revision {} found where {} belongs", revision.number, i + 1));
                }
                if revision.sha256 != sha256_hex(&revision.source) {
                    return Err(format!(
                        "endpoint {key}, revision {}: the source does not match its sha256",
                        revision.number
                    ));
                }
            }
        }
        for (key, endpoint) in &self.endpoints {
            if &endpoint.key != key {
                return Err(format!("endpoint {key} is stored under another name ({})", endpoint.key));
            }
            let count = self.revisions.get(key).map_or(0, Vec::len);
            if endpoint.newest_revision == 0 || endpoint.newest_revision as usize != count {
                return Err(format!(
                    "endpoint {key} says its newest revision is {}, but {count} revisions are stored",
                    endpoint.newest_revision
                ));
            }
            match endpoint.routing.validated(endpoint.newest_revision) {
                Ok(valid) if valid == endpoint.routing => {}
                Ok(_) => return Err(format!("endpoint {key}: routing percents are not as validation stores them")),
                Err(e) => return Err(format!("endpoint {key}: invalid routing: {e}")),
            }
            let history = &endpoint.active_history;
            if history.len() > MAX_ACTIVE_HISTORY || history.iter().any(|&r| r == 0 || r > endpoint.newest_revision) {
                return Err(format!("endpoint {key}: the rollback history names revisions that do not exist"));
            }
        }
        for (i, entry) in self.audit.iter().enumerate() {
            if entry.seq != i as u64 + 1 {
                return Err(format!("audit entry {} found where {} belongs", entry.seq, i + 1));
            }
        }
        Ok(())
    }

    /// The newest revision per endpoint, as the `heads` tree must hold it.
    pub(crate) fn heads(&self) -> BTreeMap<EndpointKey, u32> {
        self.revisions.iter().map(|(k, r)| (k.clone(), r.len() as u32)).collect()
    }

    /// The state as snapshot bytes.
    pub fn to_snapshot(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = vec![SNAPSHOT_FORMAT];
        let mut items = 0u64;
        let mut put = |item: &Item| -> Result<u64, CodecError> {
            let bytes = codec::encode(item)?;
            let len = u32::try_from(bytes.len()).map_err(|_| CodecError::Encode("snapshot item over 4 GiB".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&bytes);
            Ok(1)
        };
        items += put(&Item::Environment(self.environment.clone()))?;
        for (name, value) in &self.markers {
            items += put(&Item::Marker(name.clone(), value.clone()))?;
        }
        for endpoint in self.endpoints.values() {
            items += put(&Item::Endpoint(endpoint.clone()))?;
        }
        for (key, revisions) in &self.revisions {
            for revision in revisions {
                items += put(&Item::Revision(key.clone(), revision.clone()))?;
            }
        }
        for entry in &self.audit {
            items += put(&Item::Audit(entry.clone()))?;
        }
        put(&Item::End { items })?;
        Ok(out)
    }

    /// Reads snapshot bytes; any bytes give a state or an error, never a panic. The state is not
    /// [checked](StoreState::check) yet.
    pub fn from_snapshot(bytes: &[u8]) -> Result<StoreState, String> {
        let (&format, mut rest) = bytes.split_first().ok_or("empty snapshot")?;
        if format != SNAPSHOT_FORMAT {
            return Err(format!("snapshot format {format}; this build reads format {SNAPSHOT_FORMAT}"));
        }
        let mut state = StoreState::default();
        let mut environment = None;
        let mut items = 0u64;
        loop {
            let (len, body) = rest.split_first_chunk::<4>().ok_or("snapshot truncated")?;
            let len = u32::from_be_bytes(*len) as usize;
            if len > body.len() || len > VALUE_LIMIT + 1 {
                return Err(format!("snapshot item {items} claims {len} bytes; {} remain", body.len()));
            }
            let (item, after) = body.split_at(len);
            rest = after;
            let item: Item = codec::decode(item).map_err(|e| format!("snapshot item {items}: {e}"))?;
            match item {
                Item::Environment(env) if environment.is_none() => environment = Some(env),
                Item::Environment(_) => return Err("snapshot names its environment twice".into()),
                Item::Marker(name, value) => {
                    state.markers.insert(name, value);
                }
                Item::Endpoint(e) => {
                    if state.endpoints.insert(e.key.clone(), e).is_some() {
                        return Err(format!("snapshot item {items} repeats an endpoint"));
                    }
                }
                Item::Revision(key, revision) => state.revisions.entry(key).or_default().push(revision),
                Item::Audit(entry) => state.audit.push(entry),
                Item::End { items: counted } if counted == items && rest.is_empty() => break,
                Item::End { .. } => return Err("snapshot end does not match its content".into()),
            }
            items += 1;
        }
        state.environment = environment.ok_or("snapshot names no environment")?;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditAction;
    use crate::routing::Routing;

    fn sample() -> StoreState {
        let key = EndpointKey::new("tv", "home");
        let revision = |number: u32| RevisionRecord {
            number,
            sha256: sha256_hex(&format!("src {number}")),
            source: format!("src {number}"),
            author: "ops".into(),
            at_ms: u64::from(number),
            notes: String::new(),
        };
        let mut state = StoreState { environment: "dev".into(), ..StoreState::default() };
        state.revisions.insert(key.clone(), vec![revision(1), revision(2)]);
        state.endpoints.insert(
            key.clone(),
            EndpointRecord {
                key: key.clone(),
                created_ms: 1,
                newest_revision: 2,
                routing: Routing::only(2),
                active_history: vec![1],
            },
        );
        state.audit.push(AuditEntry {
            seq: 1,
            at_ms: 1,
            author: "ops".into(),
            endpoint: key,
            action: AuditAction::Published { revision: 1 },
        });
        state.markers.insert("last_applied".into(), vec![1, 2, 3]);
        state
    }

    #[test]
    fn a_snapshot_round_trips() {
        let state = sample();
        assert_eq!(state.check(), Ok(()));
        let bytes = state.to_snapshot().expect("encodes");
        assert_eq!(StoreState::from_snapshot(&bytes), Ok(state));
    }

    #[test]
    fn a_truncated_or_padded_snapshot_is_refused() {
        let bytes = sample().to_snapshot().expect("encodes");
        for cut in [0, 1, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(StoreState::from_snapshot(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(StoreState::from_snapshot(&padded).is_err());
    }

    #[test]
    fn broken_invariants_are_named() {
        let key = EndpointKey::new("tv", "home");
        let mut s = sample();
        s.revisions.get_mut(&key).expect("there").remove(0);
        assert!(s.check().is_err_and(|e| e.contains("revision 2 found where 1 belongs")));
        let mut s = sample();
        s.revisions.get_mut(&key).expect("there")[1].source.push('!');
        assert!(s.check().is_err_and(|e| e.contains("does not match its sha256")));
        let mut s = sample();
        s.endpoints.get_mut(&key).expect("there").routing.active = 3;
        assert!(s.check().is_err_and(|e| e.contains("invalid routing")));
        let mut s = sample();
        s.audit[0].seq = 2;
        assert!(s.check().is_err_and(|e| e.contains("audit entry 2")));
    }
}
