//! `Json`: a reply as validated JSON text behind an `Arc`.
//!
//! Replies cross several hands (actor → caller → stale cache → request cache → script) and are
//! mostly passed through untouched; keeping them as text means a clone is a reference count and the
//! script side can hand the bytes straight to the engine's own `JSON.parse` (design §5: convert once).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Immutable, validated JSON text. Cloning is cheap.
#[derive(Clone)]
pub struct Json(Arc<RawValue>);

impl Json {
    /// Serializes a value once.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self(Arc::from(serde_json::value::to_raw_value(value)?)))
    }

    /// Takes JSON text, checking that it is well formed (a backend that lies is caught here).
    pub fn from_text(text: impl Into<String>) -> Result<Self, serde_json::Error> {
        Ok(Self(Arc::from(RawValue::from_string(text.into())?)))
    }

    /// Takes JSON bytes, checking that they are UTF-8 and well formed.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let raw: &RawValue = serde_json::from_slice(bytes)?;
        Ok(Self(Arc::from(raw.to_owned())))
    }

    /// Takes text the parser already checked (an item sliced out of a larger reply).
    pub fn from_raw(raw: Box<RawValue>) -> Self {
        Self(Arc::from(raw))
    }

    /// The JSON `null`.
    pub fn null() -> Self {
        Self::from_text("null").expect("null is JSON")
    }

    /// The text, exactly as received or serialized.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Parses the text into a typed value.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// Parses into a generic value tree.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).expect("Json holds valid JSON")
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Json {
    /// Equal when the JSON values are equal, whatever the spacing.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through a value tree, so the text is compact and canonical (sorted keys) whatever the
        // source format (TOML config gives no raw JSON text).
        let value = serde_json::Value::deserialize(deserializer)?;
        Json::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Json::from_value(&value).expect("a Value always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_text() {
        assert!(Json::from_text("{\"a\":").is_err());
        assert!(Json::from_slice(b"\xff").is_err());
    }

    #[test]
    fn keeps_text_and_compares_by_value() {
        let a = Json::from_text("{ \"a\": 1 }").unwrap();
        assert_eq!(a.as_str(), "{ \"a\": 1 }");
        assert_eq!(a, Json::from_value(&serde_json::json!({"a": 1})).unwrap());
        assert_ne!(a, Json::null());
    }
}
