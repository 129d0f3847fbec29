//! The name of an endpoint, `namespace/name`, and its byte form as a sled key.
//!
//! The server validates both parts at the edge (design §6: `[a-z0-9][a-z0-9_-]{0,63}`); the store
//! trusts them but must not misbehave on any string, because a Raft log or a snapshot can carry
//! whatever a buggy or hostile peer wrote. So the byte form is *order-preserving* (keys sort like
//! `(namespace, name)`) and *prefix-free* (no endpoint's key is a prefix of another's), whatever
//! bytes the parts hold: each part is written with `0x00` escaped as `0x00 0xFF` and ends with
//! `0x00 0x01`. A revision's key is the endpoint's key followed by the big-endian revision number,
//! so a prefix scan lists exactly one endpoint's revisions, in order.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The rule every name in Switchyard follows — namespaces, endpoint names, variant names,
/// dependency names and environments — said for people.
pub const NAME_RULE: &str = "1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit";

/// Whether `name` follows [`NAME_RULE`], `[a-z0-9][a-z0-9_-]{0,63}` (design §6). The one definition.
pub fn is_valid_name(name: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match name.as_bytes().split_first() {
        Some((first, rest)) => {
            alnum(first) && rest.len() <= 63 && rest.iter().all(|b| alnum(b) || *b == b'_' || *b == b'-')
        }
        None => false,
    }
}

/// An endpoint's identity: served at `/{namespace}/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointKey {
    /// The team's namespace (`tv`, `ps3` …); admin tokens are scoped by it.
    pub namespace: String,
    /// The endpoint's name within its namespace.
    pub name: String,
}

impl EndpointKey {
    /// The key of `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into() }
    }

    /// The key's byte form in the `endpoints` tree (see the module doc).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.namespace.len() + self.name.len() + 4);
        put_part(&mut out, self.namespace.as_bytes());
        put_part(&mut out, self.name.as_bytes());
        out
    }

    /// Reads a key written by [`EndpointKey::to_bytes`] at the start of `bytes`; returns the key and
    /// what follows it, or `None` if the bytes are not such a key.
    pub(crate) fn from_bytes_prefix(bytes: &[u8]) -> Option<(Self, &[u8])> {
        let (namespace, rest) = take_part(bytes)?;
        let (name, rest) = take_part(rest)?;
        Some((Self { namespace, name }, rest))
    }

    /// Reads a key that is the whole of `bytes`.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match Self::from_bytes_prefix(bytes)? {
            (key, []) => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for EndpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The key of revision `number` of `endpoint` in the `revisions` tree.
pub(crate) fn revision_key(endpoint: &EndpointKey, number: u32) -> Vec<u8> {
    let mut out = endpoint.to_bytes();
    out.extend_from_slice(&number.to_be_bytes());
    out
}

/// Splits a `revisions` tree key into its endpoint and revision number.
pub(crate) fn parse_revision_key(bytes: &[u8]) -> Option<(EndpointKey, u32)> {
    let (key, rest) = EndpointKey::from_bytes_prefix(bytes)?;
    let number = u32::from_be_bytes(rest.try_into().ok()?);
    Some((key, number))
}

fn put_part(out: &mut Vec<u8>, part: &[u8]) {
    for &byte in part {
        out.push(byte);
        if byte == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn take_part(bytes: &[u8]) -> Option<(String, &[u8])> {
    let mut part = Vec::new();
    let mut i = 0;
    loop {
        match *bytes.get(i)? {
            0 => match *bytes.get(i + 1)? {
                0xFF => part.push(0),
                0x01 => return Some((String::from_utf8(part).ok()?, &bytes[i + 2..])),
                _ => return None,
            },
            byte => {
                part.push(byte);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_one_rule() {
        for ok in ["users", "catalog-v2", "a_b", "9lives", &"x".repeat(64)] {
            assert!(is_valid_name(ok), "{ok:?}");
        }
        for bad in ["", "Users", "-x", "a b", "é", &"x".repeat(65)] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }

    fn key(ns: &str, name: &str) -> EndpointKey {
        EndpointKey::new(ns, name)
    }

    #[test]
    fn displays_as_namespace_slash_name() {
        assert_eq!(key("tv", "home").to_string(), "tv/home");
    }

    #[test]
    fn bytes_round_trip_for_awkward_strings() {
        for k in [key("", ""), key("a\0", "b"), key("a", "\0\0\u{1}"), key("é/x", "\u{ff}"), key("tv", "home")] {
            assert_eq!(EndpointKey::from_bytes(&k.to_bytes()), Some(k.clone()), "{k:?}");
            assert_eq!(parse_revision_key(&revision_key(&k, 7)), Some((k, 7)));
        }
    }

    #[test]
    fn byte_order_follows_key_order() {
        let mut keys = vec![key("a", "b"), key("a", ""), key("a\0", ""), key("", "z"), key("ab", "a"), key("a", "b\0")];
        keys.sort();
        let mut by_bytes = keys.clone();
        by_bytes.sort_by_key(EndpointKey::to_bytes);
        assert_eq!(keys, by_bytes);
    }

    #[test]
    fn no_key_is_a_prefix_of_another() {
        let a = key("a", "b").to_bytes();
        let b = key("a", "bc").to_bytes();
        let c = key("a\0", "b").to_bytes();
        assert!(!b.starts_with(&a) && !c.starts_with(&a));
        assert_eq!(parse_revision_key(&revision_key(&key("a", "bc"), 1)).map(|(k, _)| k), Some(key("a", "bc")));
    }

    #[test]
    fn garbage_bytes_are_not_keys() {
        for bytes in [&b""[..], b"abc", b"a\0\x02", b"a\0\x01", b"\xff\xfe\0\x01\0\x01", b"a\0\x01b\0\x01x"] {
            assert_eq!(EndpointKey::from_bytes(bytes), None, "{bytes:?}");
        }
        assert_eq!(parse_revision_key(b"a\0\x01b\0\x01\0\0\0"), None);
    }
}
