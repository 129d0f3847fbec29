//! The four Rust functions the prelude builds the script API on (`__call`, `__emit`, `__log`,
//! `__sleep`). The prelude removes them from `globalThis` before any revision runs.
//!
//! `__call` is where a script reaches a dependency: it hands the call to the request's
//! [`Dispatch`] (request cache → collapser → actor) and returns a promise at once, so every
//! independent call of a request is in flight together. The reply enters JavaScript through the
//! engine's own `JSON.parse` on the reply's bytes — one conversion, no `serde_json::Value` step.
//!
//! Beside them, every context gets the engine's stack-trace hook (`Error.prepareStackTrace`) set to
//! a Rust function of ours, and that property and `Error.stackTraceLimit` turned into read-only
//! data: both are per-context engine state behind setters that freezing does not stop, so a request
//! could otherwise plant a function that runs in the next request's errors. Our hook sees every
//! error the engine builds a stack for — a stack overflow included, however the script then treats
//! it — and trips [`LimitKind::Stack`] for the engine's `RangeError: Maximum call stack size
//! exceeded`; it formats the stack the way the engine would.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::function::This;
use rquickjs::object::Property;
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

    let hook_slot = Rc::clone(slot);
    let hook = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, error: Value<'js>, sites: Value<'js>| -> rquickjs::Result<String> {
            if is_stack_overflow(&ctx, &error)
                && let Some(env) = hook_slot.borrow().as_ref()
            {
                env.guard.trip(LimitKind::Stack);
            }
            Ok(format_stack(&ctx, &sites))
        },
    )?;
    let error: Object = globals.get("Error")?;
    // Through the engine's setter: the context's hook from now on. Then both accessors become plain
    // read-only values, and their setters are unreachable.
    error.set("prepareStackTrace", hook)?;
    let limit: Value = error.get("stackTraceLimit")?;
    error.prop("prepareStackTrace", Property::from(rquickjs::Undefined))?;
    error.prop("stackTraceLimit", Property::from(limit))?;
    Ok(())
}

/// The engine's stack overflow: a genuine `RangeError` (its prototype exactly `RangeError.prototype`)
/// whose own message is the engine's. Reads no accessor of the script's on the way: an error of
/// another class is refused before its message is read.
fn is_stack_overflow<'js>(ctx: &Ctx<'js>, error: &Value<'js>) -> bool {
    let Some(object) = error.as_object().filter(|_| error.is_error()) else {
        return false;
    };
    let range_error = ctx.globals().get::<_, Object>("RangeError").and_then(|c| c.get::<_, Object>("prototype"));
    match (object.get_prototype(), range_error) {
        (Some(prototype), Ok(range_error)) if prototype == range_error => {}
        _ => return false,
    }
    let message = object.get::<_, Value>("message");
    let overflow = message.ok().and_then(|m| m.as_string().and_then(|s| s.to_string().ok()));
    if overflow.is_none() {
        // A getter that failed (no room left on the stack) leaves its exception pending.
        let _ = ctx.catch();
    }
    overflow.as_deref() == Some(STACK_OVERFLOW)
}

/// The message of the engine's stack overflow (also matched in `run.rs`).
pub(crate) const STACK_OVERFLOW: &str = "Maximum call stack size exceeded";

/// The stack as the engine writes it without a hook: `    at name (file:line:column)` per frame,
/// `    at name (native)` for built-ins, `    at file:line:column` for a parse position. As much
/// as could be read: at the very bottom of the stack even a built-in method cannot be called.
fn format_stack<'js>(ctx: &Ctx<'js>, sites: &Value<'js>) -> String {
    let mut out = String::new();
    if let Err(error) = write_frames(sites, &mut out)
        && error.is_exception()
    {
        let _ = ctx.catch();
    }
    out
}

fn write_frames<'js>(sites: &Value<'js>, out: &mut String) -> rquickjs::Result<()> {
    use std::fmt::Write;
    let Some(sites) = sites.as_array() else { return Ok(()) };
    let Some(prototype) = sites.get::<Option<Object>>(0)?.and_then(|site| site.get_prototype()) else {
        return Ok(());
    };
    let method = |name: &str| prototype.get::<_, Function>(name);
    let (native, function, name, file, line, column) = (
        method("isNative")?,
        method("getFunction")?,
        method("getFunctionName")?,
        method("getFileName")?,
        method("getLineNumber")?,
        method("getColumnNumber")?,
    );
    for (i, site) in sites.iter::<Object>().enumerate() {
        let site = site?;
        let ask = |f: &Function<'js>| f.call::<_, Value<'js>>((This(site.clone()),));
        let text = |v: Value<'js>| v.as_string().and_then(|s| s.to_string().ok());
        let name = text(ask(&name)?).filter(|n| !n.is_empty()).unwrap_or_else(|| "<anonymous>".into());
        if ask(&native)?.as_bool() == Some(true) {
            let _ = writeln!(out, "    at {name} (native)");
            continue;
        }
        let file = text(ask(&file)?).unwrap_or_else(|| "<null>".into());
        let position = match (ask(&line)?.as_int(), ask(&column)?.as_int()) {
            (Some(line), Some(column)) => format!(":{line}:{column}"),
            _ => String::new(),
        };
        if i == 0 && !ask(&function)?.is_function() {
            let _ = writeln!(out, "    at {file}{position}");
        } else {
            let _ = writeln!(out, "    at {name} ({file}{position})");
        }
    }
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
