//! How values are written: one format-version byte, then bincode 2 over serde.
//!
//! The version byte lets a later release recognise values it must convert, and lets this one refuse
//! values it does not understand instead of misreading them. Decoding is defensive because its input
//! may be a damaged file or a hostile log entry: the bincode limit bounds what one value may
//! allocate, trailing bytes are an error, and nothing panics.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The version byte of every value this build writes.
pub const VALUE_FORMAT: u8 = 1;

/// A decoded value may claim at most this many bytes (strings, byte arrays), so a corrupt length
/// cannot make the store allocate gigabytes. Scripts are limited to far less (256 KiB by default).
pub const VALUE_LIMIT: usize = 16 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<VALUE_LIMIT>()
}

/// Why bytes are not a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Nothing at all.
    #[error("empty value")]
    Empty,
    /// Written by a release with another value format.
    #[error("value of format version {found}; this build reads version {supported}")]
    Version {
        /// The version byte found.
        found: u8,
        /// The one this build reads.
        supported: u8,
    },
    /// The bytes after the version do not decode.
    #[error("value does not decode: {0}")]
    Malformed(String),
    /// The value decoded but bytes were left over.
    #[error("value has {0} unexpected trailing bytes")]
    Trailing(usize),
    /// A value could not be encoded (not expected for the store's types).
    #[error("value could not be encoded: {0}")]
    Encode(String),
}

/// The version byte followed by the bincode of `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    encode_versioned(VALUE_FORMAT, value)
}

/// Reads a value written by [`encode`].
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_versioned(VALUE_FORMAT, bytes)
}

/// `version`, then the bincode of `value`: the one encoding of stored values and of messages
/// between nodes, each with its own version byte.
pub(crate) fn encode_versioned<T: Serialize + ?Sized>(version: u8, value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![version];
    let body = bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads a value written by [`encode_versioned`] with `version`; any other version is refused.
pub(crate) fn decode_versioned<T: DeserializeOwned>(version: u8, bytes: &[u8]) -> Result<T, CodecError> {
    let (&found, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if found != version {
        return Err(CodecError::Version { found, supported: version });
    }
    let (value, used) =
        bincode::serde::decode_from_slice(body, config()).map_err(|e| CodecError::Malformed(e.to_string()))?;
    match body.len() - used {
        0 => Ok(value),
        extra => Err(CodecError::Trailing(extra)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_version_byte() {
        let bytes = encode(&("tv", 7u32)).expect("encodes");
        assert_eq!(bytes[0], VALUE_FORMAT);
        assert_eq!(decode::<(String, u32)>(&bytes), Ok(("tv".to_owned(), 7)));
    }

    #[test]
    fn refuses_other_versions_empty_input_and_trailing_bytes() {
        let mut bytes = encode(&7u32).expect("encodes");
        assert_eq!(decode::<u32>(&[]), Err(CodecError::Empty));
        bytes.push(0);
        assert_eq!(decode::<u32>(&bytes), Err(CodecError::Trailing(1)));
        bytes[0] = 9;
        assert_eq!(decode::<u32>(&bytes), Err(CodecError::Version { found: 9, supported: VALUE_FORMAT }));
    }

    #[test]
    fn a_huge_length_is_refused_without_allocating_it() {
        // Version, then a varint length of u64::MAX for a string.
        let mut bytes = vec![VALUE_FORMAT, 0xFD];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode::<String>(&bytes), Err(CodecError::Malformed(_))));
        let mut bytes = vec![VALUE_FORMAT, 0xFC];
        bytes.extend_from_slice(&(1u32 << 30).to_le_bytes());
        assert!(matches!(decode::<String>(&bytes), Err(CodecError::Malformed(_))));
    }
}
