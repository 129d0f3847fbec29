//! The four Rust functions the prelude builds the script API on (`__call`, `__emit`, `__log`,
//! `__sleep`). The prelude removes them from `globalThis` before any revision runs.
//!
//! `__call` is where a script reaches a dependency: it hands the call to the request's
//! [`Dispatch`] (request cache → collapser → actor) and returns a promise at once, so every
//! independent call of a request is in flight together. The reply enters JavaScript through the
//! engine's own `JSON.parse` on the reply's bytes — one conversion, no `serde_json::Value` step.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::promise::Promised;
use rquickjs::{Array, Ctx, Function, IntoJs, Object, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::events::{LimitKind, ScriptEvent};
use super::guard::RunGuard;
use crate::dispatch::Dispatch;

/// What the natives of one request work with.
#[derive(Clone)]
pub(crate) struct NativeEnv {
    pub(crate) dispatch: Rc<dyn Dispatch>,
    pub(crate) guard: Rc<RunGuard>,
    pub(crate) events: UnboundedSender<ScriptEvent>,
    pub(crate) endpoint: Rc<str>,
}

/// The natives reach their request through this slot, which the runner empties when the request
/// ends: a runtime going back to the pool may keep unreachable function objects until its next GC,
/// but never the previous request's dispatcher, replies or channel.
pub(crate) type EnvSlot = Rc<RefCell<Option<NativeEnv>>>;

fn current(ctx: &Ctx<'_>, slot: &EnvSlot) -> rquickjs::Result<NativeEnv> {
    match slot.borrow().as_ref() {
        Some(env) => Ok(env.clone()),
        None => Err(rquickjs::Exception::throw_internal(ctx, "the request is over")),
    }
}

/// Defines the natives on `globalThis` of a fresh context.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, slot: &EnvSlot) -> rquickjs::Result<()> {
    let globals = ctx.globals();

    let call_slot = Rc::clone(slot);
    let call = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, dependency: String, operation: String, args: String| -> rquickjs::Result<Value<'js>> {
            let call_env = current(&ctx, &call_slot)?;
            // Admitted here, synchronously, so a loop of calls stops at the limit before any runs.
            if !call_env.guard.admit_call() {
                let text = limit_text(LimitKind::Calls, call_env.guard.max_calls());
                return Err(ctx.throw(rquickjs::String::from_str(ctx.clone(), &text)?.into()));
            }
            let future = call_dependency(ctx.clone(), call_env, dependency, operation, args);
            Promised(future).into_js(&ctx)
        },
    )?;
    globals.set("__call", call)?;

    let emit_slot = Rc::clone(slot);
    let emit = Function::new(ctx.clone(), move |ctx: Ctx<'js>, item: String| -> rquickjs::Result<()> {
        let emit_env = current(&ctx, &emit_slot)?;
        if !emit_env.guard.admit_bytes(item.len() + 1) {
            let max = emit_env.guard.max_response_bytes();
            return Err(
                ctx.throw(rquickjs::String::from_str(ctx.clone(), &limit_text(LimitKind::ResponseSize, max))?.into())
            );
        }
        // A closed receiver means the client went away; the run is being dropped anyway.
        let _ = emit_env.events.send(ScriptEvent::Item(item));
        Ok(())
    })?;
    globals.set("__emit", emit)?;

    let log_slot = Rc::clone(slot);
    let log =
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, level: String, message: String| -> rquickjs::Result<()> {
            let log_env = current(&ctx, &log_slot)?;
            match level.as_str() {
                "error" => tracing::error!(endpoint = %log_env.endpoint, "{message}"),
                "warn" => tracing::warn!(endpoint = %log_env.endpoint, "{message}"),
                "debug" => tracing::debug!(endpoint = %log_env.endpoint, "{message}"),
                _ => tracing::info!(endpoint = %log_env.endpoint, "{message}"),
            }
            let _ = log_env.events.send(ScriptEvent::Log { level, message });
            Ok(())
        })?;
    globals.set("__log", log)?;

    let sleep_slot = Rc::clone(slot);
    let sleep = Function::new(ctx.clone(), move |ctx: Ctx<'js>, ms: f64| -> rquickjs::Result<Value<'js>> {
        let outstanding = current(&ctx, &sleep_slot)?.guard.outstanding();
        let duration = Duration::from_secs_f64(ms.clamp(0.0, 3_600_000.0) / 1000.0);
        Promised(async move {
            let _outstanding = outstanding;
            tokio::time::sleep(duration).await;
        })
        .into_js(&ctx)
    })?;
    globals.set("__sleep", sleep)?;
    Ok(())
}

fn limit_text(limit: LimitKind, max: usize) -> String {
    format!("limit exceeded: {} (max {max})", limit.name())
}

/// Resolves with `[true]` (no body: a silent fallback), `[true, reply]`, or
/// `[false, {dependency, kind, message}]`.
async fn call_dependency<'js>(
    ctx: Ctx<'js>,
    env: NativeEnv,
    dependency: String,
    operation: String,
    args: String,
) -> rquickjs::Result<Array<'js>> {
    let _outstanding = env.guard.outstanding();
    let result = Array::new(ctx.clone())?;
    let args = match serde_json::from_str(&args) {
        Ok(args) => args,
        Err(e) => {
            result.set(0, false)?;
            result.set(1, error_object(&ctx, &dependency, "bad_request", &format!("arguments: {e}"))?)?;
            return Ok(result);
        }
    };
    match env.dispatch.call(&dependency, &operation, args).await {
        Ok(reply) => {
            result.set(0, true)?;
            if let Some(body) = reply.body {
                let value: Value<'js> = ctx.json_parse(body.as_str())?;
                result.set(1, value)?;
            }
        }
        Err(error) => {
            result.set(0, false)?;
            result.set(1, error_object(&ctx, &error.dependency, error.kind.name(), &error.message)?)?;
        }
    }
    Ok(result)
}

fn error_object<'js>(ctx: &Ctx<'js>, dependency: &str, kind: &str, message: &str) -> rquickjs::Result<Object<'js>> {
    let error = Object::new(ctx.clone())?;
    error.set("dependency", dependency)?;
    error.set("kind", kind)?;
    error.set("message", message)?;
    Ok(error)
}
