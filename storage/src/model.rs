//! The records the store keeps: endpoints, revisions and audit entries.
//!
//! They are both the stored values (bincode over serde, [`crate::codec`]) and what the admin API
//! returns as JSON, so field names are snake_case and stable. Because bincode is not self-describing,
//! these types avoid the serde features that need a self-describing format (internally tagged or
//! untagged enums, `flatten`, `skip_serializing_if`): enums are externally tagged, as
//! `{"published": {"revision": 3}}`.

use serde::{Deserialize, Serialize};

use crate::key::EndpointKey;
use crate::routing::Routing;

/// At most this many previously active revisions are remembered for rollback; older ones drop off.
pub const MAX_ACTIVE_HISTORY: usize = 100;

/// A live endpoint: its routing and what rollback goes back to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointRecord {
    /// Which endpoint.
    pub key: EndpointKey,
    /// When it was created: its first publish, or the first after it was deleted (ms since the epoch).
    pub created_ms: u64,
    /// Its newest revision: revisions are numbered `1 ..= newest_revision` and all kept.
    pub newest_revision: u32,
    /// Which revisions serve its traffic.
    pub routing: Routing,
    /// Previously active revisions, oldest first: rollback pops the last into `routing.active`.
    pub active_history: Vec<u32>,
}

/// One immutable revision of an endpoint's script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionRecord {
    /// 1, 2, 3 … per endpoint, never reused.
    pub number: u32,
    /// SHA-256 of `source`, lowercase hex.
    pub sha256: String,
    /// The script.
    pub source: String,
    /// Who published it (the admin token's name).
    pub author: String,
    /// When it was published (ms since the epoch).
    pub at_ms: u64,
    /// The publisher's notes.
    pub notes: String,
}

/// A revision without its source, for listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionMeta {
    /// 1, 2, 3 … per endpoint, never reused.
    pub number: u32,
    /// SHA-256 of the source, lowercase hex.
    pub sha256: String,
    /// Size of the source in bytes.
    pub source_bytes: u64,
    /// Who published it.
    pub author: String,
    /// When it was published (ms since the epoch).
    pub at_ms: u64,
    /// The publisher's notes.
    pub notes: String,
}

impl From<&RevisionRecord> for RevisionMeta {
    fn from(r: &RevisionRecord) -> Self {
        Self {
            number: r.number,
            sha256: r.sha256.clone(),
            source_bytes: r.source.len() as u64,
            author: r.author.clone(),
            at_ms: r.at_ms,
            notes: r.notes.clone(),
        }
    }
}

/// One change, as the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// 1, 2, 3 … across the whole store, in the order changes were applied.
    pub seq: u64,
    /// When (ms since the epoch), as the command said.
    pub at_ms: u64,
    /// Who.
    pub author: String,
    /// Which endpoint.
    pub endpoint: EndpointKey,
    /// What changed.
    pub action: AuditAction,
}

/// What a change did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditAction {
    /// A revision was published.
    Published {
        /// Its number.
        revision: u32,
    },
    /// Routing was set.
    RoutingSet {
        /// The routing now in force.
        routing: Routing,
    },
    /// The previously active revision became active again.
    RolledBack {
        /// The revision that was active.
        from: u32,
        /// The revision now active.
        to: u32,
    },
    /// The endpoint was removed; its revisions are kept.
    Deleted {
        /// Its routing when it was removed.
        routing: Routing,
    },
}

/// Lowercase hex SHA-256 of a script's source.
pub fn sha256_hex(source: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let digest = Sha256::digest(source.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn audit_json_is_snake_case_and_externally_tagged() {
        let entry = AuditEntry {
            seq: 4,
            at_ms: 10,
            author: "ops".into(),
            endpoint: EndpointKey::new("tv", "home"),
            action: AuditAction::RolledBack { from: 3, to: 2 },
        };
        assert_eq!(
            serde_json::to_value(&entry).ok(),
            Some(serde_json::json!({"seq": 4, "at_ms": 10, "author": "ops",
                "endpoint": {"namespace": "tv", "name": "home"}, "action": {"rolled_back": {"from": 3, "to": 2}}}))
        );
    }
}
