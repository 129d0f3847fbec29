//! `Json`: a reply as validated JSON text behind an `Arc`.
//!
//! Replies cross several hands (actor → caller → stale cache → request cache → script) and are
//! mostly passed through untouched; keeping them as text means a clone is a reference count and the
//! script side can hand the bytes straight to the engine's own `JSON.parse` (design §5: convert once).
//!
//! Also here, the one definition of a call's canonical key ([`call_key`]): the stale fallback, the
//! collapser and the request cache all decide "same arguments" with it.

use std::fmt::{self, Write as _};
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

/// The key of a call: each of `names` (dependency, operation…) followed by a NUL, then the
/// arguments as compact JSON text. Equal arguments give equal keys whatever their key order,
/// because serde_json's maps are sorted (true while no crate enables its `preserve_order` feature;
/// the test beside this function fails if one does).
pub fn call_key(names: &[&str], args: &serde_json::Value) -> String {
    let mut key = String::with_capacity(names.iter().map(|n| n.len() + 1).sum::<usize>() + 16);
    for name in names {
        key.push_str(name);
        key.push('\0');
    }
    let _ = write!(key, "{args}");
    key
}

/// The canonical text of arguments alone: [`call_key`] without names.
pub fn canonical(args: &serde_json::Value) -> String {
    call_key(&[], args)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn call_keys_ignore_argument_order_at_every_depth() {
        let reordered: serde_json::Value = serde_json::from_str(r#"{"x": {"b": 2, "a": 1}, "id": 1}"#).unwrap();
        let sorted = json!({"id": 1, "x": {"a": 1, "b": 2}});
        assert_eq!(call_key(&["users", "get"], &reordered), call_key(&["users", "get"], &sorted));
        assert_eq!(canonical(&reordered), r#"{"id":1,"x":{"a":1,"b":2}}"#);
    }

    #[test]
    fn call_keys_separate_names_and_arguments() {
        assert_eq!(call_key(&["users", "get"], &json!({"id": 1})), "users\0get\0{\"id\":1}");
        assert_ne!(call_key(&["ab", "c"], &json!(1)), call_key(&["a", "bc"], &json!(1)));
        assert_ne!(call_key(&["get"], &json!({"id": 1})), call_key(&["get"], &json!({"id": 2})));
    }

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
