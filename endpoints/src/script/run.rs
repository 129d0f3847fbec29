//! Running one device request through a revision: a pooled runtime, a fresh context, the natives
//! and the prelude, the revision's `handle(req)`, under the request's limits; the results leave as
//! [`ScriptEvent`]s on a channel so a document and a progressive stream travel the same way.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;

use rquickjs::context::intrinsic;
use rquickjs::{AsyncContext, Ctx, Function, Object, Persistent, Promise, Value};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tracing::Instrument;

use super::bytecode::Bytecode;
use super::error::JsException;
use super::events::{LimitKind, ScriptEvent, ScriptFailure, ScriptResponse, error_kind_from_name};
use super::guard::RunGuard;
use super::limits::ScriptLimits;
use super::natives::{self, EnvSlot, NativeEnv};
use super::warm::WarmContext;
use super::{CompiledScript, pool, prelude};
use crate::dispatch::Dispatch;

/// What a request context offers scripts: no `eval` (nor the `Function` constructor), no
/// `performance` clock; `Date`, `RegExp`, `JSON`, `Map`/`Set`, typed arrays, `Promise`, `Proxy`.
pub(crate) type SandboxIntrinsics = (
    intrinsic::Date,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::MapSet,
    intrinsic::TypedArrays,
    intrinsic::Promise,
    intrinsic::Proxy,
);

/// One request for a script.
#[derive(Clone, Debug)]
pub struct ScriptRequest {
    /// The `req` object, as JSON text (design §5's fields; the server builds it).
    pub req_json: String,
    /// The client asked for NDJSON / SSE: an Observable's items go out one by one.
    pub streaming: bool,
}

/// A running script: read its events until `Document`, `End` or `Failed`. Dropping it stops the
/// script (the client went away) and discards its runtime.
pub struct ScriptRun {
    events: UnboundedReceiver<ScriptEvent>,
    task: tokio::task::JoinHandle<()>,
    finished: bool,
}

impl ScriptRun {
    /// The next event; `None` after the last (`Document`, `End` or `Failed`).
    pub async fn next(&mut self) -> Option<ScriptEvent> {
        if self.finished {
            return None;
        }
        let event = self.events.recv().await?;
        self.finished = matches!(event, ScriptEvent::Document(_) | ScriptEvent::End | ScriptEvent::Failed(_));
        Some(event)
    }

    /// The rest of the events as a stream.
    pub fn into_stream(mut self) -> impl futures::Stream<Item = ScriptEvent> {
        async_stream::stream! {
            while let Some(event) = self.next().await {
                yield event;
            }
        }
    }
}

impl Drop for ScriptRun {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts `script` for one request on this thread's local task set (an actix-web worker, or a
/// `LocalSet` in tests). Calls go through `dispatch`.
pub fn run(
    script: &CompiledScript,
    request: ScriptRequest,
    dispatch: Rc<dyn Dispatch>,
    limits: &ScriptLimits,
) -> ScriptRun {
    let (sender, events) = unbounded_channel();
    let script = script.clone();
    let limits = limits.clone();
    let task = tokio::task::spawn_local(
        async move {
            let failure_sender = sender.clone();
            let last = match execute(&script, request, dispatch, &limits, sender).await {
                Ok(Some(event)) => event,
                Ok(None) => return,
                Err(failure) => ScriptEvent::Failed(failure),
            };
            let _ = failure_sender.send(last);
        }
        // The caller's span (the device request's), so the script's logs and calls carry it.
        .instrument(tracing::Span::current()),
    );
    ScriptRun { events, task, finished: false }
}

/// Runs the request; the final event (or failure) is returned for the caller to send after
/// everything the script streamed.
async fn execute(
    script: &CompiledScript,
    request: ScriptRequest,
    dispatch: Rc<dyn Dispatch>,
    limits: &ScriptLimits,
    events: UnboundedSender<ScriptEvent>,
) -> Result<Option<ScriptEvent>, ScriptFailure> {
    let engine = |e: rquickjs::Error| ScriptFailure::Invalid(format!("script engine: {e}"));
    let mut pooled = pool::take(limits).await.map_err(engine)?;
    let guard = Rc::new(RunGuard::watching(limits, Rc::clone(&pooled.meter)));
    let interrupt_guard = Rc::clone(&guard);
    let interrupt = move || interrupt_guard.should_interrupt();
    let env = NativeEnv { dispatch, guard: Rc::clone(&guard), events, endpoint: Rc::from(script.name()) };
    let module_name = script.name().to_owned();

    let (outcome, warm) = match &script.factory {
        Some((factory, shift)) => {
            let shift = *shift;
            let warm = match pooled.warm.take() {
                Some(warm) if !warm.is_spent(&pooled.runtime, &pooled.meter, limits.memory_bytes).await => warm,
                spent => {
                    if let Some(spent) = spent {
                        // What the retired context held is only given back by a collection.
                        drop(spent);
                        pooled.runtime.run_gc().await;
                    }
                    WarmContext::new(&pooled.runtime).await.map_err(engine)?
                }
            };
            // Only the revision's code runs under the CPU slice: setting a warm context up (our own
            // code, a few milliseconds, longer in a debug build on a busy machine) is not the
            // script's time.
            pooled.runtime.set_interrupt_handler(Some(Box::new(interrupt))).await;
            let mut warm = warm;
            *warm.slot.borrow_mut() = Some(env);
            let outcome = match warm.prepare(factory).await {
                Ok((run, factory)) => {
                    let request_guard = Rc::clone(&guard);
                    let work = warm.context.async_with(async move |ctx| {
                        let started = start_warm(&ctx, run, factory, &request).await;
                        let outcome = match started {
                            Ok(answer) => answer_of(answer, &request_guard).await,
                            Err(e) => Err(e),
                        };
                        outcome.map_err(|e| failure_of(&ctx, e, &module_name, &request_guard, shift))
                    });
                    supervise(work, &guard).await
                }
                Err(e) => Err(engine(e)),
            };
            warm.slot.borrow_mut().take();
            (outcome, Some(warm))
        }
        None => {
            pooled.runtime.set_interrupt_handler(Some(Box::new(interrupt))).await;
            let context = AsyncContext::custom::<SandboxIntrinsics>(&pooled.runtime).await.map_err(engine)?;
            let slot: EnvSlot = Rc::new(RefCell::new(Some(env)));
            let script = script.module().clone();
            let request_slot = Rc::clone(&slot);
            let request_guard = Rc::clone(&guard);
            let work = context.async_with(async move |ctx| {
                let started = start_fresh(&ctx, &request_slot, &script, &request).await;
                let outcome = match started {
                    Ok(answer) => answer_of(answer, &request_guard).await,
                    Err(e) => Err(e),
                };
                outcome.map_err(|e| failure_of(&ctx, e, &module_name, &request_guard, 0))
            });
            let outcome = supervise(work, &guard).await;
            slot.borrow_mut().take();
            drop(context);
            (outcome, None)
        }
    };

    let clean = matches!(outcome, Ok(_) | Err(ScriptFailure::Exception(_)) | Err(ScriptFailure::Dependency { .. }))
        && guard.tripped_limit().is_none()
        && guard.outstanding_count() == 0
        && !pooled.runtime.is_job_pending().await;
    if clean {
        if warm.is_some() {
            pooled.warm = warm;
        }
        pool::give_back(pooled, limits).await;
    } else {
        // The context first, then its runtime.
        drop(warm);
        drop(pooled);
        pool::DISCARDED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    outcome
}

/// Drives the engine, restarting the CPU slice at every poll, until it answers, a limit trips
/// while it waits, or the deadline passes.
async fn supervise<T>(
    work: impl Future<Output = Result<T, ScriptFailure>>,
    guard: &RunGuard,
) -> Result<T, ScriptFailure> {
    let mut work = pin!(work);
    let timed = std::future::poll_fn(|cx| {
        guard.slice_starts();
        let polled = work.as_mut().poll(cx);
        // An out-of-memory the script caught trips its limit before the script waits on anything.
        guard.check_memory();
        polled
    });
    let limit = |kind: LimitKind| ScriptFailure::Limit { limit: kind, detail: limit_detail(kind) };
    tokio::select! {
        biased;
        outcome = timed => match guard.tripped_limit() {
            Some(kind) => Err(limit(kind)),
            None => outcome,
        },
        () = guard.tripped() => Err(limit(guard.tripped_limit().unwrap_or(LimitKind::Deadline))),
        () = tokio::time::sleep_until(guard.deadline()) => Err(limit(LimitKind::Deadline)),
    }
}

fn limit_detail(kind: LimitKind) -> String {
    match kind {
        LimitKind::Cpu => "limit exceeded: the script ran too long without waiting (cpu)".into(),
        LimitKind::Deadline => "limit exceeded: the request took longer than its deadline".into(),
        LimitKind::Memory => "limit exceeded: the script ran out of memory".into(),
        LimitKind::Stack => "limit exceeded: the script's stack overflowed".into(),
        LimitKind::Calls => "limit exceeded: too many dependency calls".into(),
        LimitKind::ResponseSize => "limit exceeded: the response is too large".into(),
    }
}

/// In a warm context: the revision's factory gives this request its own module scope and `handle`;
/// the prelude's `run` answers with it.
async fn start_warm<'js>(
    ctx: &Ctx<'js>,
    run: Persistent<Function<'static>>,
    factory: Persistent<Function<'static>>,
    request: &ScriptRequest,
) -> Result<Promise<'js>, Stop> {
    let run = run.restore(ctx)?;
    let factory = factory.restore(ctx)?;
    let made: Promise = factory.call(())?;
    let handle: Value = made.into_future().await?;
    call_run(ctx, &run, handle, request)
}

/// In a fresh context: natives, prelude and the revision's module, then the prelude's `run`.
async fn start_fresh<'js>(
    ctx: &Ctx<'js>,
    slot: &EnvSlot,
    script: &Bytecode,
    request: &ScriptRequest,
) -> Result<Promise<'js>, Stop> {
    natives::install(ctx, slot)?;
    let (prelude, ready) = prelude().load(ctx)?.eval()?;
    ready.into_future::<()>().await?;
    let run: Function = prelude.get("run")?;
    let (module, ready) = script.load(ctx)?.eval()?;
    ready.into_future::<()>().await?;
    let handle: Value = module.get("default")?;
    call_run(ctx, &run, handle, request)
}

fn call_run<'js>(
    ctx: &Ctx<'js>,
    run: &Function<'js>,
    handle: Value<'js>,
    request: &ScriptRequest,
) -> Result<Promise<'js>, Stop> {
    if !handle.is_function() {
        return Err(Stop::Invalid(NO_HANDLE.to_owned()));
    }
    let req = ctx.json_parse(request.req_json.as_str())?;
    Ok(run.call((handle, req, request.streaming))?)
}

/// What the prelude's `run` answered, as the request's final event.
async fn answer_of(answer: Promise<'_>, guard: &RunGuard) -> Result<Option<ScriptEvent>, Stop> {
    let answer: Object = answer.into_future().await?;
    let kind: String = answer.get("kind")?;
    if kind == "end" {
        return Ok(Some(ScriptEvent::End));
    }
    let body: String = answer.get("body")?;
    if !guard.admit_bytes(body.len()) {
        return Ok(None);
    }
    let mut response = ScriptResponse { status: 200, headers: Vec::new(), content_type: None, body, raw: false };
    if kind == "response" {
        let status: f64 = answer.get("status")?;
        response.status = valid_status(status).ok_or_else(|| {
            Stop::Invalid(format!("response(status, body): status must be an integer 100..=599, got {status}"))
        })?;
        let headers: Vec<Vec<String>> = answer.get("headers")?;
        response.headers =
            headers.into_iter().filter_map(|pair| <[String; 2]>::try_from(pair).ok().map(|[n, v]| (n, v))).collect();
        response.content_type = answer.get("type")?;
        response.raw = answer.get("raw")?;
    }
    Ok(Some(ScriptEvent::Document(response)))
}

const NO_HANDLE: &str = "the module has no default export `handle(req)`";

/// Why a request stopped short of an answer: the engine (an exception, a limit), or an answer the
/// runner itself refuses (no `handle`, a bad status) — the latter never becomes a JavaScript value.
enum Stop {
    /// From the engine.
    Engine(rquickjs::Error),
    /// The script answered something that is not an answer.
    Invalid(String),
}

impl From<rquickjs::Error> for Stop {
    fn from(error: rquickjs::Error) -> Self {
        Self::Engine(error)
    }
}

fn valid_status(status: f64) -> Option<u16> {
    (status.fract() == 0.0 && (100.0..=599.0).contains(&status)).then_some(status as u16)
}

/// Classifies what stopped a run: a tripped limit first (its exception is only the interrupt),
/// the engine's own memory and stack limits, an unhandled dependency error, or a script error —
/// whose first-line column is moved back by `shift`, what the factory form added before it.
fn failure_of(ctx: &Ctx<'_>, stop: Stop, module: &str, guard: &RunGuard, shift: u32) -> ScriptFailure {
    let error = match stop {
        Stop::Invalid(message) => return ScriptFailure::Invalid(message),
        Stop::Engine(error) => error,
    };
    let thrown = if error.is_exception() { Some(ctx.catch()) } else { None };
    if let Some(kind) = guard.tripped_limit() {
        return ScriptFailure::Limit { limit: kind, detail: limit_detail(kind) };
    }
    let Some(thrown) = thrown else {
        return match error {
            rquickjs::Error::Allocation => limit_failure(LimitKind::Memory),
            other => ScriptFailure::Invalid(format!("script engine: {other}")),
        };
    };
    let mut exception = JsException::from_value(&thrown, module);
    if let (Some(1), Some(column)) = (exception.line, exception.column) {
        exception.column = Some(column.saturating_sub(shift).max(1));
    }
    if let Some(kind) = engine_limit(thrown.is_null(), &exception.name, &exception.message) {
        return limit_failure(kind);
    }
    if exception.name == "DependencyError"
        && let (Some(dependency), Some(kind)) = (
            JsException::property(&thrown, "dependency"),
            JsException::property(&thrown, "kind").as_deref().and_then(error_kind_from_name),
        )
    {
        return ScriptFailure::Dependency { dependency, kind, message: exception.message };
    }
    ScriptFailure::Exception(exception)
}

/// The engine's own limit, told by the exact exception QuickJS-ng raises for it: `InternalError:
/// out of memory` (or `null`, when memory is so short that even that error cannot be allocated) and
/// `RangeError: Maximum call stack size exceeded`. A message that merely mentions memory is the
/// script's own error. (A script that throws exactly these values is stopped as if it hit the limit:
/// a 500 either way, and a fresh runtime for the next request.)
fn engine_limit(thrown_null: bool, name: &str, message: &str) -> Option<LimitKind> {
    match (thrown_null, name, message) {
        (true, _, _) | (false, "InternalError", "out of memory") => Some(LimitKind::Memory),
        (false, "RangeError", "Maximum call stack size exceeded") => Some(LimitKind::Stack),
        _ => None,
    }
}

fn limit_failure(kind: LimitKind) -> ScriptFailure {
    ScriptFailure::Limit { limit: kind, detail: limit_detail(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_engines_own_exceptions_are_limits() {
        assert_eq!(engine_limit(true, "", ""), Some(LimitKind::Memory), "out of memory for its own error");
        assert_eq!(engine_limit(false, "InternalError", "out of memory"), Some(LimitKind::Memory));
        assert_eq!(engine_limit(false, "RangeError", "Maximum call stack size exceeded"), Some(LimitKind::Stack));
        assert_eq!(engine_limit(false, "Error", "out of memory"), None, "a script's own error");
        assert_eq!(engine_limit(false, "Error", "cache ran out of memory while sorting"), None);
        assert_eq!(engine_limit(false, "RangeError", "Invalid array length"), None);
        assert_eq!(engine_limit(false, "TypeError", "stack overflow in my parser"), None);
    }

    #[test]
    fn statuses_are_integers_in_range() {
        assert_eq!(valid_status(200.0), Some(200));
        assert_eq!(valid_status(599.0), Some(599));
        assert_eq!(valid_status(99.0), None);
        assert_eq!(valid_status(600.0), None);
        assert_eq!(valid_status(200.5), None);
    }
}
