//! `RequestDispatch`: the [`Dispatch`] of one device request. Each call goes request cache →
//! collapser (when the operation batches) → dependency actor, and is written to the request's
//! trace (who, what, when, how long, how it ended) for `switchyard run`, traces and access logs.
//!
//! [`Dependencies`] is built once per server from the registry (and its global collapsers);
//! a `RequestDispatch` is made per request and dropped with it, taking its cache and per-request
//! collapsers along.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::Value;
use switchyard_actors::collapser::{Collapser, Scope};
use switchyard_actors::{CallError, ErrorKind, Event, Origin, Registry, Reply};
use tokio::time::Instant;

use crate::dispatch::Dispatch;
use crate::request_cache::RequestCache;

/// How one operation batches: its config, and the collapser when it is global.
struct Collapsing {
    scope: Scope,
    global: Option<Collapser>,
}

/// The server's dependencies as endpoints reach them.
pub struct Dependencies {
    registry: Registry,
    collapsing: HashMap<(String, String), Collapsing>,
}

impl Dependencies {
    /// Wraps a started registry, creating the global collapsers its configs ask for.
    pub fn new(registry: Registry) -> Self {
        let mut collapsing = HashMap::new();
        for dependency in registry.iter() {
            for (operation, config) in &dependency.settings().collapse {
                let global = (config.scope == Scope::Global)
                    .then(|| Collapser::new(dependency.clone(), operation, config.clone()));
                let key = (dependency.name().to_owned(), operation.clone());
                collapsing.insert(key, Collapsing { scope: config.scope, global });
            }
        }
        Self { registry, collapsing }
    }

    /// The registry underneath.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every global collapser.
    pub fn global_collapsers(&self) -> impl Iterator<Item = (&str, &Collapser)> {
        self.collapsing.iter().filter_map(|((dep, _), c)| c.global.as_ref().map(|g| (dep.as_str(), g)))
    }
}

/// How a traced call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum CallOutcome {
    /// The backend answered.
    Success,
    /// A fallback answered, because of this error kind.
    Fallback {
        /// What went wrong first.
        cause: ErrorKind,
    },
    /// The item came from a collapsed batch.
    Collapsed {
        /// Which batch.
        batch: u64,
    },
    /// Answered by the request cache (a duplicate of an earlier call).
    Cache,
    /// Failed with this error kind.
    Error {
        /// What went wrong.
        kind: ErrorKind,
        /// Detail.
        message: String,
    },
}

/// One call of a request's fan-out.
#[derive(Clone, Debug, Serialize)]
pub struct TracedCall {
    /// Dependency called.
    pub dependency: String,
    /// Operation called.
    pub operation: String,
    /// Arguments.
    pub args: Value,
    /// Start, relative to the request's start.
    pub start_ms: f64,
    /// Time until the reply.
    pub duration_ms: f64,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: CallOutcome,
}

struct State {
    dependencies: Arc<Dependencies>,
    cache: RequestCache,
    request_collapsers: RefCell<HashMap<(String, String), Collapser>>,
    started: Instant,
    trace: RefCell<Vec<TracedCall>>,
}

/// The dispatcher of one request. Cheap to clone (shared state).
#[derive(Clone)]
pub struct RequestDispatch {
    state: Rc<State>,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl RequestDispatch {
    /// A dispatcher for a new request.
    pub fn new(dependencies: Arc<Dependencies>) -> Self {
        Self {
            state: Rc::new(State {
                dependencies,
                cache: RequestCache::new(),
                request_collapsers: RefCell::new(HashMap::new()),
                started: Instant::now(),
                trace: RefCell::new(Vec::new()),
            }),
        }
    }

    /// The calls made so far, in the order they finished.
    pub fn trace(&self) -> Vec<TracedCall> {
        self.state.trace.borrow().clone()
    }

    /// Calls made so far (cache hits included).
    pub fn call_count(&self) -> usize {
        self.state.trace.borrow().len()
    }

    fn collapser(&self, dependency: &str, operation: &str) -> Option<Collapser> {
        let key = (dependency.to_owned(), operation.to_owned());
        let collapsing = self.state.dependencies.collapsing.get(&key)?;
        match collapsing.scope {
            Scope::Global => collapsing.global.clone(),
            Scope::Request => {
                let handle = self.state.dependencies.registry.get(dependency)?;
                let config = handle.settings().collapse.get(operation)?.clone();
                let mut mine = self.state.request_collapsers.borrow_mut();
                Some(mine.entry(key).or_insert_with(|| Collapser::new(handle.clone(), operation, config)).clone())
            }
        }
    }
}

impl Dispatch for RequestDispatch {
    fn call(
        &self,
        dependency: &str,
        operation: &str,
        args: Value,
    ) -> LocalBoxFuture<'static, Result<Reply, CallError>> {
        let state = Rc::clone(&self.state);
        let begun = Instant::now();
        let Some(handle) = state.dependencies.registry.get(dependency).cloned() else {
            let error = CallError::new(&Arc::from(dependency), ErrorKind::BadRequest, "no such dependency");
            return futures::future::ready(Err(error)).boxed_local();
        };
        let collapser = self.collapser(dependency, operation);
        let (op, call_args) = (operation.to_owned(), args.clone());
        let (shared, hit) = state.cache.get_or_start(dependency, operation, &args, move || {
            async move {
                match collapser {
                    Some(c) => c.call(&call_args).await,
                    None => handle.call(&op, &call_args).await,
                }
            }
            .boxed_local()
        });
        if hit && let Some(handle) = state.dependencies.registry.get(dependency) {
            handle.record_event(Event::ResponsesFromCache);
        }
        let (dependency, operation) = (dependency.to_owned(), operation.to_owned());
        async move {
            let result = shared.await;
            let outcome = match (&result, hit) {
                (_, true) => CallOutcome::Cache,
                (Ok(reply), false) => match reply.origin {
                    Origin::Backend => CallOutcome::Success,
                    Origin::Fallback(cause) => CallOutcome::Fallback { cause },
                    Origin::Collapsed(batch) => CallOutcome::Collapsed { batch },
                },
                (Err(e), false) => CallOutcome::Error { kind: e.kind, message: e.message.to_string() },
            };
            state.trace.borrow_mut().push(TracedCall {
                dependency,
                operation,
                args,
                start_ms: millis(begun - state.started),
                duration_ms: millis(begun.elapsed()),
                outcome,
            });
            result
        }
        .boxed_local()
    }
}
