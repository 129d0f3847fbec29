//! What an item of a collapsed batch is: its key compared as a JSON value ([`ItemKey`]), and the
//! batch reply split into items by that key ([`split`]).
//!
//! Callers and backends need not spell a key the same way: `1` and `1.0`, or `"é"` and `"\u00e9"`,
//! are the same item. Pure, and apart from the batching state machine that uses it.

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::config::CollapserConfig;
use crate::json::Json;

/// An item key compared as a JSON value rather than as the text it arrived in: the canonical text
/// of the value with integral numbers written as integers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ItemKey(String);

impl ItemKey {
    /// The key of `value`.
    pub fn of(value: &Value) -> Self {
        Self(normalized(value).to_string())
    }
}

/// `value` with every number that has an integral value written as an integer (`1.0` → `1`).
fn normalized(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // The largest i64 and u64 are not exact as f64; these bounds are the powers of two.
            if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                Value::from(f as i64)
            } else if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                Value::from(f as u64)
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), normalized(v))).collect()),
        other => other.clone(),
    }
}

/// The batch reply's items by their `item_key` field, without building value trees for the items:
/// each is read as a map of raw fields and kept as its own JSON text. Items without the field are
/// ignored; the error says what is malformed.
pub(crate) fn split(body: &str, config: &CollapserConfig) -> Result<HashMap<ItemKey, Json>, String> {
    let items: Vec<&RawValue> =
        serde_json::from_str(body).map_err(|e| format!("batch reply of {} is not an array: {e}", config.into))?;
    let mut by_key = HashMap::with_capacity(items.len());
    for item in items {
        let fields: HashMap<&str, &RawValue> = serde_json::from_str(item.get())
            .map_err(|e| format!("batch item of {} is not an object: {e}", config.into))?;
        if let Some(key) = fields.get(config.item_key.as_str()) {
            let key: Value = serde_json::from_str(key.get())
                .map_err(|e| format!("batch item of {} has a malformed key: {e}", config.into))?;
            by_key.insert(ItemKey::of(&key), Json::from_raw(item.to_owned()));
        }
    }
    Ok(by_key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config() -> CollapserConfig {
        CollapserConfig { into: "titles".into(), ..Default::default() }
    }

    #[test]
    fn keys_compare_as_values() {
        assert_eq!(ItemKey::of(&json!(1)), ItemKey::of(&json!(1.0)));
        assert_eq!(ItemKey::of(&json!(-3)), ItemKey::of(&json!(-3.0)));
        assert_eq!(ItemKey::of(&json!([1, {"a": 2.0}])), ItemKey::of(&json!([1.0, {"a": 2}])));
        assert_ne!(ItemKey::of(&json!(1)), ItemKey::of(&json!(1.5)));
        assert_ne!(ItemKey::of(&json!(1)), ItemKey::of(&json!("1")));
        let escaped: Value = serde_json::from_str(r#""\u00e9""#).unwrap();
        assert_eq!(ItemKey::of(&escaped), ItemKey::of(&json!("é")));
    }

    #[test]
    fn the_reply_is_split_by_the_value_of_each_item_key() {
        let items = split(r#"[{"id": 1.0, "n": "one"}, {"id": "\u00e9"}, {"id": 2, "n": "two"}]"#, &config()).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[&ItemKey::of(&json!(1))].to_value()["n"], "one");
        assert!(items.contains_key(&ItemKey::of(&json!("é"))));
    }

    #[test]
    fn a_malformed_reply_says_what_is_wrong_and_items_without_the_key_are_ignored() {
        assert!(split(r#"{"id": 1}"#, &config()).unwrap_err().starts_with("batch reply of titles is not an array"));
        assert!(split("[1]", &config()).unwrap_err().starts_with("batch item of titles is not an object"));
        assert_eq!(split(r#"[{"name": "x"}]"#, &config()).unwrap().len(), 0);
    }
}
