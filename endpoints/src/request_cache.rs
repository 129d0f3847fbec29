//! The request cache: within one device request, identical calls (dependency, operation,
//! canonical arguments) run once.
//!
//! A duplicate that arrives while the first call is still in flight shares its pending result, so
//! "once" holds even for calls started at the same instant by concurrent branches of a script.
//! Errors are shared as well: a request never asks a failing dependency twice for the same thing.
//! The cache lives and dies with its request and is single-threaded, like the worker serving it.

use std::cell::RefCell;
use std::collections::HashMap;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use serde_json::Value;
use switchyard_actors::{CallError, Reply};

/// The shared, possibly still pending, result of one call.
pub type SharedCall = Shared<LocalBoxFuture<'static, Result<Reply, CallError>>>;

/// Calls made so far in one request, by canonical key.
#[derive(Default)]
pub struct RequestCache {
    entries: RefCell<HashMap<String, SharedCall>>,
}

/// The key of a call, argument order aside: the actors' one definition,
/// [`switchyard_actors::json::call_key`].
pub fn cache_key(dependency: &str, operation: &str, args: &Value) -> String {
    switchyard_actors::json::call_key(&[dependency, operation], args)
}

impl RequestCache {
    /// An empty cache for a new request.
    pub fn new() -> Self {
        Self::default()
    }

    /// The call's shared result and `true` when it was already made in this request; otherwise
    /// starts it with `start`, remembers it, and returns it with `false`.
    pub fn get_or_start(
        &self,
        dependency: &str,
        operation: &str,
        args: &Value,
        start: impl FnOnce() -> LocalBoxFuture<'static, Result<Reply, CallError>>,
    ) -> (SharedCall, bool) {
        let key = cache_key(dependency, operation, args);
        if let Some(existing) = self.entries.borrow().get(&key) {
            return (existing.clone(), true);
        }
        let shared = start().shared();
        self.entries.borrow_mut().insert(key, shared.clone());
        (shared, false)
    }

    /// Distinct calls made.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether no call was made.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use serde_json::json;
    use switchyard_actors::Origin;

    use super::*;

    fn counting(counter: &Rc<Cell<u32>>) -> impl FnOnce() -> LocalBoxFuture<'static, Result<Reply, CallError>> {
        let counter = Rc::clone(counter);
        move || {
            counter.set(counter.get() + 1);
            async { Ok(Reply { body: Some(json!(1).into()), origin: Origin::Backend }) }.boxed_local()
        }
    }

    #[test]
    fn identical_calls_start_once_whatever_the_argument_order() {
        let cache = RequestCache::new();
        let started = Rc::new(Cell::new(0));
        let (_, hit) = cache.get_or_start("users", "get", &json!({"id": 1, "x": 2}), counting(&started));
        assert!(!hit);
        let reordered: Value = serde_json::from_str(r#"{"x": 2, "id": 1}"#).unwrap();
        let (again, hit) = cache.get_or_start("users", "get", &reordered, counting(&started));
        assert!(hit);
        assert_eq!(started.get(), 1);
        assert!(futures::executor::block_on(again).is_ok());
    }

    #[test]
    fn different_dependency_operation_or_arguments_are_different_calls() {
        let cache = RequestCache::new();
        let started = Rc::new(Cell::new(0));
        let _ = cache.get_or_start("users", "get", &json!({"id": 1}), counting(&started));
        let _ = cache.get_or_start("users", "get", &json!({"id": 2}), counting(&started));
        let _ = cache.get_or_start("users", "list", &json!({"id": 1}), counting(&started));
        let _ = cache.get_or_start("lists", "get", &json!({"id": 1}), counting(&started));
        assert_eq!((started.get(), cache.len()), (4, 4));
    }
}
