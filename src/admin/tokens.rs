//! Admin tokens and their scopes (design §10): who may change what. A token is a bearer secret with
//! a name (recorded as the author of every change it makes) and scopes: `*` for everything, or
//! namespaces (`tv`, `ps3`) for the endpoints under them. Tokens are compared in constant time,
//! against every configured token, so timing says nothing about how close a guess was.

use actix_web::HttpRequest;
use actix_web::http::header;
use subtle::ConstantTimeEq;

use crate::config::AdminToken;
use crate::status::{ApiError, ErrorCode};

/// The `Authorization` header of an admin request, as text (checked by [`AdminTokens::authorize`]).
pub fn authorization(http: &HttpRequest) -> Option<&str> {
    http.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// What an admin request is about, for the scope check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The endpoints of one namespace.
    Namespace(&'a str),
    /// Everything else: dependency settings and chaos, the cluster.
    Everything,
    /// Reads open to any valid token (listings are filtered by its scopes).
    Any,
}

/// The admin tokens a node accepts.
#[derive(Clone, Debug, Default)]
pub struct AdminTokens {
    tokens: Vec<AdminToken>,
}

impl AdminTokens {
    /// These tokens.
    pub fn new(tokens: Vec<AdminToken>) -> Self {
        Self { tokens }
    }

    /// The token presented as `Authorization: Bearer …` (or `None`), if it is one of ours.
    pub fn identify(&self, presented: Option<&str>) -> Option<&AdminToken> {
        let presented = presented?.as_bytes();
        // Every token is compared, whichever matches.
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.token.as_bytes().ct_eq(presented)) {
                found = Some(token);
            }
        }
        found
    }

    /// The token of `authorization` (an `Authorization` header value), if it covers `scope`:
    /// 401 without a valid token, 403 outside its scopes.
    pub fn authorize(&self, authorization: Option<&str>, scope: Scope<'_>) -> Result<&AdminToken, ApiError> {
        let token = self.authenticate(authorization)?;
        self.permit(token, scope)
    }

    /// The token of `authorization`, whatever it covers: 401 without a valid token. Handlers whose
    /// scope depends on the request (an endpoint's namespace) call this before looking at the
    /// request, so a caller without a valid token learns nothing but that it needs one (design §11).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<&AdminToken, ApiError> {
        let presented = authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim);
        self.identify(presented).ok_or_else(|| {
            let message = if presented.is_none() {
                "an admin token is required: `Authorization: Bearer <token>`"
            } else {
                "this admin token is not valid"
            };
            ApiError::unauthorized(message)
        })
    }

    /// `token`, if it covers `scope`: 403 otherwise.
    pub fn permit<'t>(&self, token: &'t AdminToken, scope: Scope<'_>) -> Result<&'t AdminToken, ApiError> {
        if self.allows(token, scope) {
            return Ok(token);
        }
        let what = match scope {
            Scope::Namespace(ns) => format!("namespace `{ns}`"),
            Scope::Everything | Scope::Any => "this resource (it needs scope `*`)".to_owned(),
        };
        Err(ApiError::new(ErrorCode::Forbidden, format!("token `{}` may not change {what}", token.name))
            .with("scopes", token.scopes.clone()))
    }

    /// Whether `token` covers `scope`.
    pub fn allows(&self, token: &AdminToken, scope: Scope<'_>) -> bool {
        covers(token, scope)
    }

    /// Whether `presented` (a bare token) is an admin token covering `namespace`: the check behind
    /// `X-Switchyard-Revision` pins on device traffic.
    pub fn covers_namespace(&self, presented: Option<&str>, namespace: &str) -> bool {
        self.identify(presented).is_some_and(|t| covers(t, Scope::Namespace(namespace)))
    }
}

fn covers(token: &AdminToken, scope: Scope<'_>) -> bool {
    if scope == Scope::Any {
        return true;
    }
    token.scopes.iter().any(|s| match scope {
        _ if s == "*" => true,
        Scope::Any => true,
        Scope::Namespace(ns) => s == ns,
        Scope::Everything => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AdminTokens {
        AdminTokens::new(vec![
            AdminToken { name: "ops".into(), token: "ops-token-0123456789".into(), scopes: vec!["*".into()] },
            AdminToken { name: "tv-team".into(), token: "tv-token-0123456789".into(), scopes: vec!["tv".into()] },
        ])
    }

    #[test]
    fn a_token_is_identified_and_its_scopes_checked() {
        let t = tokens();
        assert_eq!(t.authorize(Some("Bearer ops-token-0123456789"), Scope::Everything).unwrap().name, "ops");
        assert_eq!(t.authorize(Some("Bearer tv-token-0123456789"), Scope::Namespace("tv")).unwrap().name, "tv-team");
        let forbidden = t.authorize(Some("Bearer tv-token-0123456789"), Scope::Namespace("ps3")).unwrap_err();
        assert_eq!(forbidden.status(), 403);
        assert_eq!(t.authorize(Some("Bearer tv-token-0123456789"), Scope::Everything).unwrap_err().status(), 403);
        assert_eq!(t.authorize(None, Scope::Everything).unwrap_err().status(), 401);
        assert_eq!(t.authorize(Some("Bearer nope"), Scope::Everything).unwrap_err().status(), 401);
        assert_eq!(t.authorize(Some("ops-token-0123456789"), Scope::Everything).unwrap_err().status(), 401);
        assert!(t.covers_namespace(Some("tv-token-0123456789"), "tv"));
        assert!(!t.covers_namespace(Some("tv-token-0123456789"), "ios"));
        assert!(!t.covers_namespace(Some("tv-token-012345678"), "tv"), "a prefix is not the token");
        assert!(!AdminTokens::default().covers_namespace(Some(""), "tv"));
    }
}
