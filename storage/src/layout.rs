//! Where things are on disk: the directory's files, the sled trees and the keys in them.
//!
//! The store owns its directory. Beside sled's files (`conf`, `db`, `blobs/`, `snap.*`) it keeps:
//! the identity file `switchyard-store`, written last when a store is created, so that sled files
//! without it are an interrupted creation, while a store whose sled data vanished (sled silently
//! starts over when `db` is missing) is still recognised as one that lost its data; the
//! [watermark](crate::watermark) `switchyard-store.watermark`; and, only while opening, the copy
//! `switchyard-store.check/` that is verified before the real files are touched. Trees:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `endpoints` | endpoint key ([`crate::key`]) | [`crate::EndpointRecord`] |
//! | `revisions` | endpoint key ‖ revision, u32 big-endian | [`crate::RevisionRecord`] |
//! | `heads` | endpoint key | newest revision number (u32), kept after a delete |
//! | `audit` | seq, u64 big-endian | [`crate::AuditEntry`] |
//! | `meta` | `format`, `environment`, `audit_seq`, `writes`, `marker/NAME` | see [`MetaKey`] |
//!
//! `format` is two raw big-endian bytes so any later release can read it before anything else;
//! markers are opaque bytes; every other value is a versioned [`crate::codec`] value.

use crate::key::{EndpointKey, parse_revision_key};

/// The store layout this build writes and reads.
pub const STORE_FORMAT: u16 = 1;

/// The identity file's name and its exact content.
pub(crate) const IDENTITY_FILE: &str = "switchyard-store";
pub(crate) const IDENTITY_TMP: &str = "switchyard-store.tmp";
/// Where open verifies a copy of the store before touching the real files.
pub(crate) const CHECK_DIR: &str = "switchyard-store.check";
pub(crate) const IDENTITY_CONTENT: &str =
    "switchyard-store\nThis directory is a Switchyard endpoint store (sled). Do not add or change files in it.\n";

pub(crate) const ENDPOINTS: &str = "endpoints";
pub(crate) const REVISIONS: &str = "revisions";
pub(crate) const HEADS: &str = "heads";
pub(crate) const AUDIT: &str = "audit";
pub(crate) const META: &str = "meta";
/// Every tree of the layout.
pub(crate) const TREES: [&str; 5] = [ENDPOINTS, REVISIONS, HEADS, AUDIT, META];

pub(crate) const FORMAT_KEY: &[u8] = b"format";
pub(crate) const ENVIRONMENT_KEY: &[u8] = b"environment";
pub(crate) const AUDIT_SEQ_KEY: &[u8] = b"audit_seq";
pub(crate) const WRITES_KEY: &[u8] = b"writes";
pub(crate) const MARKER_PREFIX: &[u8] = b"marker/";

/// What a key of the `meta` tree is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MetaKey<'a> {
    Format,
    Environment,
    AuditSeq,
    Writes,
    Marker(&'a str),
}

impl<'a> MetaKey<'a> {
    pub(crate) fn parse(key: &'a [u8]) -> Option<Self> {
        match key {
            FORMAT_KEY => Some(MetaKey::Format),
            ENVIRONMENT_KEY => Some(MetaKey::Environment),
            AUDIT_SEQ_KEY => Some(MetaKey::AuditSeq),
            WRITES_KEY => Some(MetaKey::Writes),
            _ => std::str::from_utf8(key.strip_prefix(MARKER_PREFIX)?).ok().map(MetaKey::Marker),
        }
    }
}

/// The `meta` key of a marker.
pub(crate) fn marker_key(name: &str) -> Vec<u8> {
    [MARKER_PREFIX, name.as_bytes()].concat()
}

/// Is `name` one of sled's own files or directories?
pub(crate) fn is_sled_file(name: &str) -> bool {
    matches!(name, "conf" | "db" | "blobs") || name.starts_with("snap.")
}

/// Is `name` one of the store's own files other than the identity file?
pub(crate) fn is_own_file(name: &str) -> bool {
    name == IDENTITY_TMP || name == CHECK_DIR || name == crate::watermark::WATERMARK_FILE
}

/// A key of `tree`, readable in an error message.
pub(crate) fn describe_key(tree: &str, key: &[u8]) -> String {
    let parsed = match tree {
        ENDPOINTS | HEADS => EndpointKey::from_bytes(key).map(|k| k.to_string()),
        REVISIONS => parse_revision_key(key).map(|(k, n)| format!("{k} revision {n}")),
        AUDIT => <[u8; 8]>::try_from(key).ok().map(|seq| format!("seq {}", u64::from_be_bytes(seq))),
        META => std::str::from_utf8(key).ok().map(|s| format!("`{s}`")),
        _ => None,
    };
    parsed.unwrap_or_else(|| format!("0x{}", key.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_described_readably() {
        let k = EndpointKey::new("tv", "home");
        assert_eq!(describe_key(ENDPOINTS, &k.to_bytes()), "tv/home");
        assert_eq!(describe_key(REVISIONS, &crate::key::revision_key(&k, 3)), "tv/home revision 3");
        assert_eq!(describe_key(AUDIT, &9u64.to_be_bytes()), "seq 9");
        assert_eq!(describe_key(META, b"format"), "`format`");
        assert_eq!(describe_key(AUDIT, &[1, 2]), "0x0102");
    }

    #[test]
    fn meta_keys_parse() {
        assert_eq!(MetaKey::parse(b"format"), Some(MetaKey::Format));
        assert_eq!(MetaKey::parse(&marker_key("raft/last")), Some(MetaKey::Marker("raft/last")));
        assert_eq!(MetaKey::parse(b"other"), None);
    }
}
