//! Reading admin request bodies: JSON into typed values with the path of the field at fault in
//! the error (`400 … "field": "canary.percent"`), unknown fields refused by the types themselves
//! (`deny_unknown_fields`). Bodies are read within their limit (413) by the shared
//! [`crate::public::input::read_body`].

use serde::de::DeserializeOwned;

use crate::status::ApiError;

/// `body` as a `T`: 400 naming the field on malformed JSON, a wrong type or an unknown field.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the body is empty: a JSON document is expected"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = e.path().to_string();
        let message = format!("invalid JSON body: {}", e.inner());
        if field.is_empty() || field == "." {
            ApiError::bad_request(message)
        } else {
            ApiError::bad_field(&field, message)
        }
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

/// Largest admin body that is not a script (routing, settings, chaos).
pub const SMALL_BODY: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        percent: f64,
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        let e = json::<Outer>(br#"{"inner": {"percent": "ten"}}"#).unwrap_err();
        assert_eq!((e.status(), e.details["field"].as_str()), (400, Some("inner.percent")));
        let e = json::<Outer>(br#"{"inner": {"percent": 1, "extra": 2}}"#).unwrap_err();
        assert!(e.message.contains("unknown field `extra`"), "{e}");
        assert_eq!(json::<Outer>(b"{nope").unwrap_err().status(), 400);
        assert_eq!(json::<Outer>(b"").unwrap_err().status(), 400);
        assert_eq!(json::<Outer>(br#"{"inner": {"percent": 1}} trailing"#).unwrap_err().status(), 400);
    }
}
