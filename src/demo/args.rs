//! Reading an operation's JSON arguments, with errors that say which argument is wrong and why.
//!
//! Every failure here is the caller's fault, so it is a [`BackendError::bad_request`]: the
//! dependency actor passes it straight back without counting an error or running a fallback.
//! Ids must be JSON integers, as the catalogue's are: the collapser matches batch items to callers
//! by the id's value, and a string `"7"` is not the number 7.

use serde_json::{Map, Value};
use switchyard_actors::BackendError;

/// Most ids a batch operation takes in one call.
pub const MAX_BATCH: usize = 500;

/// The arguments of one call of `service.operation`.
#[derive(Debug)]
pub(crate) struct Args<'a> {
    service: &'static str,
    operation: &'static str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    /// Wraps `args`, which must be an object (or `null`, meaning none).
    pub fn new(service: &'static str, operation: &'static str, args: &'a Value) -> Result<Self, BackendError> {
        let map = match args {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => {
                let this = Self { service, operation, map: None };
                return Err(this.error(format!("arguments must be a JSON object, got {}", kind(other))));
            }
        };
        Ok(Self { service, operation, map })
    }

    /// A bad request naming the operation.
    pub fn error(&self, message: impl std::fmt::Display) -> BackendError {
        BackendError::bad_request(format!("{}.{}: {message}", self.service, self.operation))
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    fn required(&self, name: &str) -> Result<&'a Value, BackendError> {
        self.get(name).ok_or_else(|| self.error(format!("missing argument `{name}`")))
    }

    /// A required integer id.
    pub fn id(&self, name: &str) -> Result<u64, BackendError> {
        let value = self.required(name)?;
        value.as_u64().ok_or_else(|| self.error(format!("`{name}` must be a non-negative integer, got {value}")))
    }

    /// A required array of at most [`MAX_BATCH`] integer ids.
    pub fn ids(&self, name: &str) -> Result<Vec<u64>, BackendError> {
        let value = self.required(name)?;
        let Some(items) = value.as_array() else {
            return Err(self.error(format!("`{name}` must be an array of ids, got {}", kind(value))));
        };
        if items.len() > MAX_BATCH {
            return Err(self.error(format!("`{name}` has {} ids; at most {MAX_BATCH} per call", items.len())));
        }
        items
            .iter()
            .map(|item| {
                item.as_u64().ok_or_else(|| self.error(format!("`{name}` must hold non-negative integers, got {item}")))
            })
            .collect()
    }

    /// An optional count, at most `max`.
    pub fn limit(&self, name: &str, max: usize) -> Result<Option<usize>, BackendError> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(self.error(format!("`{name}` must be an integer from 0 to {max}, got {value}"))),
        }
    }

    /// A required string, one of `allowed`.
    pub fn one_of(&self, name: &str, allowed: &[&'static str]) -> Result<&'static str, BackendError> {
        let value = self.required(name)?;
        value
            .as_str()
            .and_then(|s| allowed.iter().copied().find(|a| *a == s))
            .ok_or_else(|| self.error(format!("`{name}` must be one of {}, got {value}", allowed.join(", "))))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchyard_actors::BackendErrorKind;

    use super::*;

    fn message(result: Result<impl std::fmt::Debug, BackendError>) -> String {
        let error = result.expect_err("should be refused");
        assert_eq!(error.kind, BackendErrorKind::BadRequest);
        error.message
    }

    #[test]
    fn reads_valid_arguments() {
        let value = json!({"id": 7, "ids": [1, 2], "limit": 3, "size": "small"});
        let args = Args::new("s", "op", &value).expect("an object");
        assert_eq!(args.id("id"), Ok(7));
        assert_eq!(args.ids("ids"), Ok(vec![1, 2]));
        assert_eq!(args.limit("limit", 10), Ok(Some(3)));
        assert_eq!(args.limit("absent", 10), Ok(None));
        assert_eq!(args.one_of("size", &["small", "large"]), Ok("small"));
    }

    #[test]
    fn refuses_missing_and_mistyped_arguments_naming_them() {
        let value = json!({"id": "7", "ids": [1, "x"], "limit": 11, "size": "huge", "list": 5});
        let args = Args::new("users", "get", &value).expect("an object");
        assert_eq!(message(args.id("other")), "users.get: missing argument `other`");
        assert_eq!(message(args.id("id")), "users.get: `id` must be a non-negative integer, got \"7\"");
        assert!(message(args.ids("ids")).contains("must hold non-negative integers, got \"x\""));
        assert!(message(args.ids("list")).contains("must be an array of ids, got a number"));
        assert!(message(args.limit("limit", 10)).contains("from 0 to 10"));
        assert!(message(args.one_of("size", &["small"])).contains("must be one of small"));
        assert!(message(Args::new("users", "get", &json!([1]))).contains("must be a JSON object"));
        let many = json!({"ids": vec![1; MAX_BATCH + 1]});
        assert!(message(Args::new("c", "t", &many).expect("object").ids("ids")).contains("at most 500"));
    }
}
