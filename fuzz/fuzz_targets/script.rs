//! Publish → compile → run: any bytes a publish could carry, compiled as a revision and, when it
//! compiles, run as a device request in the sandbox under small limits, on one thread whose runtime
//! pool is reused from input to input (as a worker's is). Fails on a panic or an engine crash
//! (QuickJS-ng is C: the sanitizer build catches its memory errors), and when a run ends without
//! its final event (every request must answer: a document, a completed stream or a failure).
#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use switchyard_actors::{CallError, ErrorKind, Json, Origin, Reply};
use switchyard_endpoints::Dispatch;
use switchyard_endpoints::script::{ScriptEvent, ScriptLimits, ScriptRequest, compile, run};
use tokio::task::LocalSet;

/// Two dependencies that answer at once (one with a list, one with an object), one that fails, and
/// everything else unknown, as the real registry answers.
struct Demo;

impl Dispatch for Demo {
    fn call(
        &self,
        dependency: &str,
        operation: &str,
        args: Value,
    ) -> LocalBoxFuture<'static, Result<Reply, CallError>> {
        let name: std::sync::Arc<str> = std::sync::Arc::from(dependency);
        let answer = match (dependency, operation) {
            ("users", "get") => Ok(json!({"id": args.get("id").cloned().unwrap_or(Value::Null), "name": "Ada"})),
            ("lists", "for_user") => Ok(json!([{"id": 1, "title_ids": [1, 2, 3]}, {"id": 2, "title_ids": []}])),
            ("ratings", _) => Err(ErrorKind::Failure),
            _ => Err(ErrorKind::BadRequest),
        };
        Box::pin(async move {
            tokio::task::yield_now().await;
            match answer {
                Ok(body) => Ok(Reply { body: Json::from_value(&body).ok(), origin: Origin::Backend }),
                Err(kind) => Err(CallError::new(&name, kind, "from the fuzz dispatcher")),
            }
        })
    }
}

/// Limits small enough that a runaway input costs milliseconds, not the default 200 ms slices.
fn limits() -> ScriptLimits {
    ScriptLimits {
        memory_bytes: 8 << 20,
        stack_bytes: 128 << 10,
        cpu_slice_ms: 20,
        deadline_ms: 100,
        max_calls: 50,
        max_response_bytes: 64 << 10,
        pool_per_worker: 2,
        ..ScriptLimits::default()
    }
}

thread_local! {
    static RUNTIME: RefCell<tokio::runtime::Runtime> = RefCell::new(
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime"),
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let Ok(script) = compile("fuzz/endpoint", source) else { return };
    let request = ScriptRequest {
        req_json:
            json!({"method": "GET", "path": "/fuzz/endpoint", "query": {"user": "7"}, "headers": {}, "body": null})
                .to_string(),
        streaming: data.len() % 2 == 0,
    };
    let limits = limits();
    RUNTIME.with(|rt| {
        rt.borrow().block_on(LocalSet::new().run_until(async {
            let mut running = run(&script, request, Rc::new(Demo), &limits);
            let mut last = None;
            while let Some(event) = running.next().await {
                last = Some(event);
            }
            assert!(
                matches!(last, Some(ScriptEvent::Document(_) | ScriptEvent::End | ScriptEvent::Failed(_))),
                "a run ended without its answer: {last:?}"
            );
        }))
    });
});
