//! Request collapsing (Hystrix's collapser): single-item calls to a batchable operation that arrive
//! within `window_ms` become one backend batch of at most `max_batch` items.
//!
//! The first call of a batch opens it and arms its window; the call that fills it, or the window's
//! end, sends it. Calls with different arguments besides the key never share a batch (their
//! canonical remainder is part of the batch key), and `shards > 1` splits batches further by a
//! hash of the key (for backends partitioned by id). The batch runs through the dependency's
//! breaker, bulkhead and timeout but not its fallback; each caller then gets only its own item, a
//! missing item fails that caller alone, and a failed batch fails every caller, each of whom gets
//! the dependency's fallback for its own single call. Whether a collapser is global or lives for
//! one request is the owner's choice (see [`Scope`]); the mechanism is the same.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::dependency::DependencyHandle;
use crate::error::{CallError, ErrorKind};
use crate::event::Event;
use crate::json::Json;
use crate::reply::{Origin, Reply};

pub use crate::config::{CollapserConfig, Scope};

/// One caller waiting in a batch.
struct Waiter {
    key: String,
    args: Value,
    reply: oneshot::Sender<Result<Reply, CallError>>,
}

/// An open batch.
struct Pending {
    id: u64,
    /// The arguments shared by every call of the batch (the single call's minus its key).
    rest: Map<String, Value>,
    waiters: Vec<Waiter>,
}

type BatchKey = (u32, String);

/// Batch statistics since start (the stream's `HystrixCollapser` event reads them).
#[derive(Clone, Debug, Serialize)]
pub struct CollapserSnapshot {
    /// The single operation collapsed.
    pub operation: String,
    /// Batches sent.
    pub batches: u64,
    /// Calls that went out in a batch.
    pub requests_batched: u64,
    /// Median items per batch.
    pub batch_size_p50: u64,
    /// 90th percentile of items per batch.
    pub batch_size_p90: u64,
    /// 99th percentile of items per batch.
    pub batch_size_p99: u64,
    /// Largest batch.
    pub batch_size_max: u64,
    /// Mean items per batch.
    pub batch_size_mean: f64,
}

struct Inner {
    dependency: DependencyHandle,
    operation: String,
    config: CollapserConfig,
    open: Mutex<(u64, HashMap<BatchKey, Pending>)>,
    /// Items per batch sent.
    sizes: Mutex<Histogram<u64>>,
    /// Calls that went out in a batch.
    requests: AtomicU64,
}

/// Collapses calls of one operation of one dependency. Cheap to clone.
#[derive(Clone)]
pub struct Collapser {
    inner: Arc<Inner>,
}

impl Collapser {
    /// A collapser for `operation` of `dependency`; `config` must be valid.
    pub fn new(dependency: DependencyHandle, operation: &str, config: CollapserConfig) -> Self {
        let sizes = Histogram::new_with_bounds(1, 1_000_000, 2).expect("static histogram bounds are valid");
        Self {
            inner: Arc::new(Inner {
                dependency,
                operation: operation.to_owned(),
                config,
                open: Mutex::new((0, HashMap::new())),
                sizes: Mutex::new(sizes),
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The operation collapsed.
    pub fn operation(&self) -> &str {
        &self.inner.operation
    }

    /// Calls the single operation with `args`, by way of a batch. Needs a local task set (an actix
    /// arbiter or worker): the batch is sent from a task spawned on the caller's thread.
    pub async fn call(&self, args: &Value) -> Result<Reply, CallError> {
        let inner = &self.inner;
        let bad = |message: String| CallError::new(&Arc::from(inner.dependency.name()), ErrorKind::BadRequest, message);
        let Some(object) = args.as_object() else {
            return Err(bad(format!("{} takes an object of arguments", inner.operation)));
        };
        let Some(key) = object.get(&inner.config.key_arg) else {
            return Err(bad(format!("{} needs the argument `{}`", inner.operation, inner.config.key_arg)));
        };
        let key = key.to_string();
        let mut rest = object.clone();
        rest.remove(&inner.config.key_arg);
        let shard = if inner.config.shards > 1 {
            let mut hasher = DefaultHasher::new();
            key.hash(&mut hasher);
            (hasher.finish() % u64::from(inner.config.shards)) as u32
        } else {
            0
        };
        let batch_key = (shard, Value::Object(rest.clone()).to_string());
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter { key, args: args.clone(), reply };
        let (opened, full) = {
            let mut open = inner.open.lock();
            let (next_id, batches) = &mut *open;
            let mut opened = None;
            let pending = batches.entry(batch_key.clone()).or_insert_with(|| {
                *next_id += 1;
                opened = Some(*next_id);
                Pending { id: *next_id, rest, waiters: Vec::new() }
            });
            pending.waiters.push(waiter);
            let full = (pending.waiters.len() >= inner.config.max_batch).then(|| batches.remove(&batch_key)).flatten();
            (opened, full)
        };
        inner.dependency.record_event(Event::Collapsed);
        if let Some(batch) = full {
            let this = self.clone();
            actix_rt::spawn(async move { this.send(batch).await });
        } else if let Some(id) = opened {
            let this = self.clone();
            actix_rt::spawn(async move {
                tokio::time::sleep(Duration::from_millis(this.inner.config.window_ms)).await;
                let batch = {
                    let mut open = this.inner.open.lock();
                    match open.1.get(&batch_key) {
                        Some(p) if p.id == id => open.1.remove(&batch_key),
                        _ => None, // already sent when it filled up
                    }
                };
                if let Some(batch) = batch {
                    this.send(batch).await;
                }
            });
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(CallError::new(
                &Arc::from(inner.dependency.name()),
                ErrorKind::Failure,
                "the batch carrying this call was dropped",
            )),
        }
    }

    async fn send(&self, batch: Pending) {
        let inner = &self.inner;
        let Pending { id, mut rest, waiters } = batch;
        let mut keys: Vec<&str> = waiters.iter().map(|w| w.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let ids: Vec<Value> = keys.iter().map(|k| serde_json::from_str(k).expect("keys are JSON text")).collect();
        let _ = inner.sizes.lock().record(ids.len() as u64);
        inner.requests.fetch_add(waiters.len() as u64, Ordering::Relaxed);
        rest.insert(inner.config.batch_arg.clone(), Value::Array(ids));
        let result = inner.dependency.call_without_fallback(&inner.config.into, &Value::Object(rest)).await;
        match result.and_then(|reply| self.split(&reply)) {
            Ok(mut items) => {
                for waiter in waiters {
                    let answer = match items.get_mut(&waiter.key) {
                        Some(item) => {
                            inner.dependency.remember(&inner.operation, &waiter.args, item);
                            Ok(Reply { body: Some(item.clone()), origin: Origin::Collapsed(id) })
                        }
                        None => Err(CallError::new(
                            &Arc::from(inner.dependency.name()),
                            ErrorKind::BadRequest,
                            format!("no item with {} = {} in the batch reply", inner.config.item_key, waiter.key),
                        )),
                    };
                    let _ = waiter.reply.send(answer);
                }
            }
            Err(error) => {
                let fallbacks = waiters.into_iter().map(|waiter| {
                    let error = error.clone();
                    async move {
                        let answer = inner.dependency.fallback(&inner.operation, &waiter.args, error).await;
                        let _ = waiter.reply.send(answer);
                    }
                });
                futures::future::join_all(fallbacks).await;
            }
        }
    }

    /// The batch reply's items by their key's JSON text, without building value trees: each item is
    /// read as a map of raw fields and kept as its own JSON text.
    fn split(&self, reply: &Reply) -> Result<HashMap<String, Json>, CallError> {
        let inner = &self.inner;
        let failure =
            |message: String| CallError::new(&Arc::from(inner.dependency.name()), ErrorKind::Failure, message);
        let Some(body) = &reply.body else { return Ok(HashMap::new()) };
        let items: Vec<&RawValue> = serde_json::from_str(body.as_str())
            .map_err(|e| failure(format!("batch reply of {} is not an array: {e}", inner.config.into)))?;
        let mut by_key = HashMap::with_capacity(items.len());
        for item in items {
            let fields: HashMap<&str, &RawValue> = serde_json::from_str(item.get())
                .map_err(|e| failure(format!("batch item of {} is not an object: {e}", inner.config.into)))?;
            if let Some(key) = fields.get(inner.config.item_key.as_str()) {
                by_key.insert(key.get().to_owned(), Json::from_raw(item.to_owned()));
            }
        }
        Ok(by_key)
    }

    /// Batch statistics since start.
    pub fn snapshot(&self) -> CollapserSnapshot {
        let sizes = self.inner.sizes.lock();
        let nonempty = !sizes.is_empty();
        let at = |q: f64| if nonempty { sizes.value_at_quantile(q) } else { 0 };
        CollapserSnapshot {
            operation: self.inner.operation.clone(),
            batches: sizes.len(),
            requests_batched: self.inner.requests.load(Ordering::Relaxed),
            batch_size_p50: at(0.5),
            batch_size_p90: at(0.9),
            batch_size_p99: at(0.99),
            batch_size_max: if nonempty { sizes.max() } else { 0 },
            batch_size_mean: if nonempty { sizes.mean() } else { 0.0 },
        }
    }
}
