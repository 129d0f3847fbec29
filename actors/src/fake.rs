//! A backend whose replies and latency a test scripts (feature `test-util`).
//!
//! Each call takes the next [`Step`] from the script, or the default step when the script is empty:
//! wait `latency` on tokio's clock (so paused-clock tests control it), then reply, fail, refuse the
//! arguments, hang forever or panic. The fake records every call it received and how many were
//! running at once, so tests can assert what reached the backend.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::Value;

use crate::backend::{Backend, BackendError};
use crate::json::Json;

/// What a scripted call does after its latency.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Replies with this value.
    Reply(Json),
    /// Replies with `{"operation": op, "args": args}`.
    Echo,
    /// Fails (5xx-like).
    Fail(String),
    /// Refuses the arguments (4xx-like).
    BadRequest(String),
    /// Never answers.
    Hang,
    /// Panics inside the backend's future.
    Panic(String),
}

/// One scripted call.
#[derive(Clone, Debug)]
pub struct Step {
    /// Time before the outcome.
    pub latency: Duration,
    /// The outcome.
    pub outcome: Outcome,
}

impl Step {
    /// Replies with `value` at once.
    pub fn reply(value: Value) -> Self {
        Self { latency: Duration::ZERO, outcome: Outcome::Reply(value.into()) }
    }
    /// Echoes the call at once.
    pub fn echo() -> Self {
        Self { latency: Duration::ZERO, outcome: Outcome::Echo }
    }
    /// Fails at once.
    pub fn fail(message: &str) -> Self {
        Self { latency: Duration::ZERO, outcome: Outcome::Fail(message.into()) }
    }
    /// Refuses the arguments at once.
    pub fn bad_request(message: &str) -> Self {
        Self { latency: Duration::ZERO, outcome: Outcome::BadRequest(message.into()) }
    }
    /// Never answers.
    pub fn hang() -> Self {
        Self { latency: Duration::ZERO, outcome: Outcome::Hang }
    }
    /// Panics.
    pub fn panic(message: &str) -> Self {
        Self { latency: Duration::ZERO, outcome: Outcome::Panic(message.into()) }
    }
    /// The same outcome after `latency`.
    pub fn after(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// What a fake will do and what it saw, shared by its clones.
#[derive(Debug)]
struct Script {
    /// The next calls' steps, in order.
    steps: VecDeque<Step>,
    /// The step of a call when `steps` is empty.
    default: Step,
    /// Every call received: (operation, args).
    received: Vec<(String, Value)>,
    /// Calls running now.
    running: usize,
    /// Most calls ever running at once.
    max_running: usize,
}

/// The scriptable fake backend. Clones share one script.
#[derive(Clone, Debug)]
pub struct FakeBackend {
    script: Arc<Mutex<Script>>,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self::new(Step::echo())
    }
}

impl FakeBackend {
    /// A fake that answers with `default` whenever its script is empty.
    pub fn new(default: Step) -> Self {
        let script = Script { steps: VecDeque::new(), default, received: Vec::new(), running: 0, max_running: 0 };
        Self { script: Arc::new(Mutex::new(script)) }
    }

    /// Queues steps for the next calls.
    pub fn push(&self, steps: impl IntoIterator<Item = Step>) {
        self.script.lock().steps.extend(steps);
    }

    /// Replaces the default step.
    pub fn set_default(&self, step: Step) {
        self.script.lock().default = step;
    }

    /// Every call received so far: (operation, args).
    pub fn received(&self) -> Vec<(String, Value)> {
        self.script.lock().received.clone()
    }

    /// Calls received so far.
    pub fn call_count(&self) -> usize {
        self.script.lock().received.len()
    }

    /// Calls running right now.
    pub fn running(&self) -> usize {
        self.script.lock().running
    }

    /// Most calls ever running at once.
    pub fn max_running(&self) -> usize {
        self.script.lock().max_running
    }
}

/// Decrements `running` however the call ends (reply, cancellation, panic).
struct Running(Arc<Mutex<Script>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.lock().running -= 1;
    }
}

impl Backend for FakeBackend {
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        let step = {
            let mut s = self.script.lock();
            s.received.push((operation.to_owned(), args.clone()));
            s.running += 1;
            s.max_running = s.max_running.max(s.running);
            s.steps.pop_front().unwrap_or_else(|| s.default.clone())
        };
        let running = Running(Arc::clone(&self.script));
        let echo = serde_json::json!({ "operation": operation, "args": args });
        async move {
            let _running = running;
            if !step.latency.is_zero() {
                tokio::time::sleep(step.latency).await;
            }
            match step.outcome {
                Outcome::Reply(json) => Ok(json),
                Outcome::Echo => Ok(echo.into()),
                Outcome::Fail(m) => Err(BackendError::failure(m)),
                Outcome::BadRequest(m) => Err(BackendError::bad_request(m)),
                Outcome::Hang => futures::future::pending().await,
                Outcome::Panic(m) => panic!("{m}"),
            }
        }
        .boxed()
    }
}
