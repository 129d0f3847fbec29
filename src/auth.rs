//! Device authentication: the user behind a request, from an `Authorization: Bearer` JWT signed
//! with HS256 and the configured secret (design §5 `req.user`). No token means anonymous; a token
//! that does not verify (bad signature, expired, wrong algorithm, no secret configured) is refused.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Why a presented token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    /// No secret is configured, so no token can be verified.
    #[error("this server accepts no device tokens (auth.jwt_secret is not set)")]
    NotConfigured,
    /// Signature, expiry or format is wrong.
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// Verifies device tokens.
#[derive(Clone)]
pub struct Authenticator {
    key: Option<DecodingKey>,
    validation: Validation,
}

impl Authenticator {
    /// With `secret`, HS256 tokens signed by it are accepted; without, only anonymous requests.
    pub fn new(secret: Option<&str>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["sub".to_owned()].into_iter().collect();
        validation.validate_exp = true;
        Self { key: secret.map(|s| DecodingKey::from_secret(s.as_bytes())), validation }
    }

    /// The user of a request: `Ok(None)` when anonymous, else the token's claims as an object
    /// with `id` set from `sub`.
    pub fn user(&self, authorization: Option<&str>) -> Result<Option<Value>, AuthError> {
        let Some(header) = authorization else { return Ok(None) };
        let token = header.strip_prefix("Bearer ").ok_or(AuthError::Malformed)?.trim();
        let key = self.key.as_ref().ok_or(AuthError::NotConfigured)?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let mut claims = data.claims;
        let sub = claims.get("sub").cloned().unwrap_or(Value::Null);
        // A numeric subject is the demo's user id; keep it a number for scripts.
        let id = match &sub {
            Value::String(s) => s.parse::<u64>().map(Value::from).unwrap_or(sub.clone()),
            other => other.clone(),
        };
        claims.insert("id".into(), id);
        Ok(Some(Value::Object(claims)))
    }
}

/// Signs a token (for `switchyard` tests and tools).
pub fn sign(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of a JSON object cannot fail")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SECRET: &str = "a-test-secret-of-some-length";

    #[test]
    fn anonymous_without_header_and_user_from_a_valid_token() {
        let auth = Authenticator::new(Some(SECRET));
        assert_eq!(auth.user(None).unwrap(), None);
        let token = sign(SECRET, &json!({"sub": "42", "country": "SE", "exp": 4_000_000_000u64}));
        let user = auth.user(Some(&format!("Bearer {token}"))).unwrap().unwrap();
        assert_eq!((user["id"].clone(), user["country"].clone()), (json!(42), json!("SE")));
    }

    #[test]
    fn wrong_secret_expired_malformed_and_unconfigured_are_refused() {
        let auth = Authenticator::new(Some(SECRET));
        let forged = sign("another-secret-entirely", &json!({"sub": "1", "exp": 4_000_000_000u64}));
        assert!(matches!(auth.user(Some(&format!("Bearer {forged}"))), Err(AuthError::Invalid(_))));
        let expired = sign(SECRET, &json!({"sub": "1", "exp": 1_000}));
        assert!(matches!(auth.user(Some(&format!("Bearer {expired}"))), Err(AuthError::Invalid(_))));
        assert!(matches!(auth.user(Some("Basic abc")), Err(AuthError::Malformed)));
        let token = sign(SECRET, &json!({"sub": "1", "exp": 4_000_000_000u64}));
        let none = Authenticator::new(None);
        assert!(matches!(none.user(Some(&format!("Bearer {token}"))), Err(AuthError::NotConfigured)));
    }
}
