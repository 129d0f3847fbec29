//! A scripted `Dispatch` for tests: each (dependency, operation) answers after a set latency with
//! a reply computed from the arguments, or with an error of a set kind.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use serde_json::Value;
use switchyard_actors::{CallError, ErrorKind, Json, Origin, Reply};
use switchyard_endpoints::Dispatch;

type Answer = Rc<dyn Fn(&Value) -> Result<Option<Value>, ErrorKind>>;

/// Scripted dependencies.
#[derive(Default)]
pub struct FakeDispatch {
    routes: RefCell<HashMap<(String, String), (Duration, Answer)>>,
    /// Every call made: (dependency, operation, args).
    pub calls: RefCell<Vec<(String, String, Value)>>,
}

impl FakeDispatch {
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// `dependency.operation` answers `reply(args)` after `latency_ms`.
    pub fn route(
        &self,
        dependency: &str,
        operation: &str,
        latency_ms: u64,
        reply: impl Fn(&Value) -> Result<Option<Value>, ErrorKind> + 'static,
    ) {
        self.routes
            .borrow_mut()
            .insert((dependency.into(), operation.into()), (Duration::from_millis(latency_ms), Rc::new(reply)));
    }

    /// `dependency.operation` answers `value` after `latency_ms`.
    pub fn value(&self, dependency: &str, operation: &str, latency_ms: u64, value: Value) {
        self.route(dependency, operation, latency_ms, move |_| Ok(Some(value.clone())));
    }

    /// `dependency.operation` fails with `kind` after `latency_ms`.
    pub fn fail(&self, dependency: &str, operation: &str, latency_ms: u64, kind: ErrorKind) {
        self.route(dependency, operation, latency_ms, move |_| Err(kind));
    }
}

impl Dispatch for FakeDispatch {
    fn call(
        &self,
        dependency: &str,
        operation: &str,
        args: Value,
    ) -> LocalBoxFuture<'static, Result<Reply, CallError>> {
        self.calls.borrow_mut().push((dependency.into(), operation.into(), args.clone()));
        let route = self.routes.borrow().get(&(dependency.to_owned(), operation.to_owned())).cloned();
        let name: std::sync::Arc<str> = std::sync::Arc::from(dependency);
        Box::pin(async move {
            let Some((latency, answer)) = route else {
                return Err(CallError::new(&name, ErrorKind::BadRequest, "unknown dependency"));
            };
            tokio::time::sleep(latency).await;
            match answer(&args) {
                Ok(body) => Ok(Reply {
                    body: body.map(|b| Json::from_value(&b).expect("serialisable")),
                    origin: Origin::Backend,
                }),
                Err(kind) => Err(CallError::new(&name, kind, format!("{kind:?} from the fake"))),
            }
        })
    }
}
