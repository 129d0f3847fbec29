//! The request context a script sees as `req` (design §5), defined once: the HTTP front controller
//! and `switchyard run` both fill a [`RequestContext`], so a script meets the same `req` in both.

use serde::Serialize;
use serde_json::{Map, Value};

/// `req`, field by field (the names are the script API's contract).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// `GET`, `POST` ….
    pub method: String,
    /// The whole path.
    pub path: String,
    /// First path segment.
    pub namespace: String,
    /// Second path segment (`req.endpoint`).
    pub endpoint: String,
    /// The rest of the path, without its leading `/` (empty when none).
    pub tail: String,
    /// Query parameters, decoded; the last of a repeated key wins.
    pub query: Map<String, Value>,
    /// Headers with lower-case names, credentials (`authorization`, `cookie`) left out.
    pub headers: Map<String, Value>,
    /// The body: parsed JSON, else text, else null.
    pub body: Value,
    /// The authenticated user, or null.
    pub user: Option<Value>,
    /// `X-Device-Type`, else the namespace.
    pub device: String,
    /// `X-Geo-Country`, or null.
    pub geo: Option<String>,
    /// The request's id (also the `X-Request-Id` response header).
    pub request_id: String,
    /// The revision running.
    pub revision: u32,
    /// The routing variant that chose it (`canary`, a variant's name), or null for the active one.
    pub variant: Option<String>,
}

impl RequestContext {
    /// `req` as the JSON text the engine parses.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Where a request is going: `/{namespace}/{name}[/tail]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// First path segment.
    pub namespace: String,
    /// Second path segment.
    pub name: String,
    /// The rest of the path, without its leading `/` (empty when none).
    pub tail: String,
}

impl Route {
    /// Splits a path; `None` when it has fewer than two segments.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let namespace = parts.next().filter(|s| !s.is_empty())?;
        let name = parts.next().filter(|s| !s.is_empty())?;
        let tail = parts.next().unwrap_or("");
        Some(Self { namespace: namespace.to_owned(), name: name.to_owned(), tail: tail.to_owned() })
    }

    /// `namespace/name`.
    pub fn endpoint(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_namespace_name_and_tail() {
        let r = Route::parse("/tv/home/row/3").unwrap();
        assert_eq!((r.namespace.as_str(), r.name.as_str(), r.tail.as_str()), ("tv", "home", "row/3"));
        assert_eq!(Route::parse("/tv/home").unwrap().tail, "");
        assert_eq!(Route::parse("/tv"), None);
        assert_eq!(Route::parse("/"), None);
    }

    #[test]
    fn the_context_has_every_documented_field_in_camel_case() {
        let req: Value = serde_json::from_str(&RequestContext::default().to_json()).unwrap();
        for key in [
            "method",
            "path",
            "namespace",
            "endpoint",
            "tail",
            "query",
            "headers",
            "body",
            "user",
            "device",
            "geo",
            "requestId",
            "revision",
            "variant",
        ] {
            assert!(req.get(key).is_some(), "{key}");
        }
        assert_eq!(req.as_object().unwrap().len(), 14, "nothing else: {req}");
    }
}
