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
//!
//! The decisions (which batch, opened / joined / full, expired, which item for whom) are the pure
//! state machine in [`batches`]; this file is the thin actor side that spawns a send or sleeps
//! until a window ends as that machine answers, calls the dependency and hands out the replies.

use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::dependency::DependencyHandle;
use crate::error::{CallError, ErrorKind};
use crate::event::Event;
use crate::reply::{Origin, Reply};
use batches::{Added, Batch, Batches, RouteError};
use stats::BatchStats;

mod batches;
mod items;
mod stats;

pub use crate::config::{CollapserConfig, Scope};
pub use stats::CollapserSnapshot;

/// One caller waiting in a batch.
struct Waiter {
    /// The caller's own arguments: for the stale fallback's memory and for its own fallback.
    args: Value,
    /// Where its item, its error or its fallback's answer goes.
    reply: oneshot::Sender<Result<Reply, CallError>>,
}

/// What every clone of a collapser shares.
struct CollapserCore {
    /// The dependency the batches are sent to (breaker, bulkhead, timeout; no fallback).
    dependency: DependencyHandle,
    /// The single operation collapsed.
    operation: String,
    /// How it collapses (validated).
    config: CollapserConfig,
    /// The open batches, decided by the pure state machine; the lock is held only to add or
    /// expire, never across a send.
    batches: Mutex<Batches<Waiter>>,
    /// Batch sizes and calls batched since start.
    stats: BatchStats,
}

/// Collapses calls of one operation of one dependency. Cheap to clone.
#[derive(Clone)]
pub struct Collapser {
    core: Arc<CollapserCore>,
}

impl Collapser {
    /// A collapser for `operation` of `dependency`; `config` must be valid.
    pub fn new(dependency: DependencyHandle, operation: &str, config: CollapserConfig) -> Self {
        Self {
            core: Arc::new(CollapserCore {
                dependency,
                operation: operation.to_owned(),
                batches: Mutex::new(Batches::new(&config)),
                config,
                stats: BatchStats::new(),
            }),
        }
    }

    /// The operation collapsed.
    pub fn operation(&self) -> &str {
        &self.core.operation
    }

    /// Calls the single operation with `args`, by way of a batch. Needs a local task set (an actix
    /// arbiter or worker): the batch is sent from a task spawned on the caller's thread.
    pub async fn call(&self, args: &Value) -> Result<Reply, CallError> {
        let core = &self.core;
        let routed = batches::route(&core.config, args).map_err(|e| {
            let message = match e {
                RouteError::NotAnObject => format!("{} takes an object of arguments", core.operation),
                RouteError::MissingKey => format!("{} needs the argument `{}`", core.operation, core.config.key_arg),
            };
            self.error(ErrorKind::BadRequest, message)
        })?;
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter { args: args.clone(), reply };
        let added = core.batches.lock().add(routed, waiter, Instant::now());
        core.dependency.record_event(Event::Collapsed);
        match added {
            Added::Joined => {}
            Added::Full(batch) => {
                let this = self.clone();
                actix_rt::spawn(async move { this.send(batch).await });
            }
            Added::Opened { key, id, deadline } => {
                let this = self.clone();
                actix_rt::spawn(async move {
                    tokio::time::sleep_until(deadline).await;
                    let batch = this.core.batches.lock().expire(&key, id);
                    if let Some(batch) = batch {
                        this.send(batch).await;
                    }
                });
            }
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.error(ErrorKind::Failure, "the batch carrying this call was dropped")),
        }
    }

    fn error(&self, kind: ErrorKind, message: impl Into<std::borrow::Cow<'static, str>>) -> CallError {
        CallError::new(&Arc::from(self.core.dependency.name()), kind, message)
    }

    /// Sends one batch and hands each waiter its item, its error, or its fallback. A caller that
    /// goes away leaves the batch to the others; once every one of them has, the batch's call is
    /// dropped (cancelled like any abandoned call: its slot freed, nothing counted).
    async fn send(&self, mut batch: Batch<Waiter>) {
        let core = &self.core;
        let (args, items) = batch.args(&core.config.batch_arg);
        core.stats.record(items, batch.len(), Instant::now());
        let call = core.dependency.call_without_fallback(&core.config.into, &args);
        let every_caller_gone = futures::future::join_all(batch.waiters_mut().map(|w| w.reply.closed()));
        let result = tokio::select! {
            biased;
            result = call => result,
            _ = every_caller_gone => return,
        };
        let split = result.and_then(|reply| match &reply.body {
            None => Ok(Default::default()),
            Some(body) => items::split(body.as_str(), &core.config).map_err(|m| self.error(ErrorKind::Failure, m)),
        });
        match split {
            Ok(items) => {
                let id = batch.id;
                for delivery in batch.deliver(&items) {
                    let answer = match delivery.item {
                        Some(item) => {
                            core.dependency.remember(&core.operation, &delivery.waiter.args, &item);
                            Ok(Reply { body: Some(item), origin: Origin::Collapsed(id) })
                        }
                        None => Err(self.error(
                            ErrorKind::BadRequest,
                            format!("no item with {} = {} in the batch reply", core.config.item_key, delivery.key),
                        )),
                    };
                    let _ = delivery.waiter.reply.send(answer);
                }
            }
            Err(error) => {
                let fallbacks = batch.into_waiters().map(|waiter| {
                    let error = error.clone();
                    async move {
                        let answer = core.dependency.fallback(&core.operation, &waiter.args, error).await;
                        let _ = waiter.reply.send(answer);
                    }
                });
                futures::future::join_all(fallbacks).await;
            }
        }
    }

    /// The dependency whose batches it sends.
    pub fn dependency(&self) -> &str {
        self.core.dependency.name()
    }

    /// The operation its batches call.
    pub fn batch_operation(&self) -> &str {
        &self.core.config.into
    }

    /// The settings it collapses with.
    pub fn config(&self) -> &CollapserConfig {
        &self.core.config
    }

    /// Batch statistics: since start and over the last 10 seconds.
    pub fn snapshot(&self) -> CollapserSnapshot {
        self.core.stats.snapshot(&self.core.operation, Instant::now())
    }
}
