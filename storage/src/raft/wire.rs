//! How Raft's values are written, on disk and between nodes: one format-version byte, then bincode
//! 2 over serde, decoded defensively (a bounded size, no trailing bytes, no panic), the same way as
//! the store's values. A node that receives a message of another format refuses it with a message
//! that names both versions, so two releases that cannot talk say so instead of misreading.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::codec::CodecError;
use crate::codec::{decode_versioned, encode_versioned};

/// The version byte of every Raft value and message this build writes.
pub const WIRE_FORMAT: u8 = 1;

/// `value` as bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    encode_versioned(WIRE_FORMAT, value)
}

/// Bytes written by [`encode`] as a value.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_versioned(WIRE_FORMAT, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::key::EndpointKey;

    #[test]
    fn log_entries_round_trip_and_other_formats_are_refused() {
        let command = Command::Rollback { endpoint: EndpointKey::new("tv", "home"), author: "ops".into(), at_ms: 9 };
        let entry = openraft::Entry::<super::super::TypeConfig> {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(3, 1), 42),
            payload: openraft::EntryPayload::Normal(command.clone()),
        };
        let bytes = encode(&entry).expect("encodes");
        let back: openraft::Entry<super::super::TypeConfig> = decode(&bytes).expect("decodes");
        assert_eq!(back.log_id, entry.log_id);
        assert!(matches!(back.payload, openraft::EntryPayload::Normal(c) if c == command));
        let mut other = bytes.clone();
        other[0] = WIRE_FORMAT + 1;
        let refused = decode::<openraft::Entry<super::super::TypeConfig>>(&other).expect_err("refused");
        assert_eq!(refused, CodecError::Version { found: WIRE_FORMAT + 1, supported: WIRE_FORMAT });
        assert!(decode::<openraft::Entry<super::super::TypeConfig>>(&bytes[..bytes.len() - 1]).is_err(), "truncated");
    }
}
