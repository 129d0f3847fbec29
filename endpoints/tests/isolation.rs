//! Isolation between requests that share a pooled runtime and its warm (reused) context: what one
//! request does is never seen by the next. The first request tries every channel — the global
//! object, the prototypes of the built-ins (also those reachable only through an instance), `JSON`,
//! `Promise`, the script API, module-scope variables, the legacy RegExp statics, finalizers, the
//! engine's stack-trace hook and limit (`Error.prepareStackTrace`, `Error.stackTraceLimit`: setters
//! that freezing does not stop), a revision's `import.meta` — and the second, on the same runtime (no runtime was created in
//! between), looks for traces. A request that leaves a job or a call behind takes its runtime with
//! it: what the leftover would do never happens during the next request.

mod support;

use std::rc::Rc;

use serde_json::{Value, json};
use support::FakeDispatch;
use switchyard_endpoints::script::{
    ScriptEvent, ScriptLimits, ScriptRequest, compile, idle_runtimes, run, runtimes_created_here,
};
use tokio::task::LocalSet;

fn local<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    rt.block_on(LocalSet::new().run_until(f))
}

/// One runtime per thread, so consecutive requests share it (and its warm context).
fn one_runtime() -> ScriptLimits {
    ScriptLimits { pool_per_worker: 1, ..Default::default() }
}

/// Runs `source` (compiled as `name`) once and returns its document.
async fn answer(name: &str, source: &str, dispatch: Rc<FakeDispatch>) -> Value {
    answer_and_logs(name, source, dispatch).await.0
}

/// Runs `source` once: its document and the messages it logged.
async fn answer_and_logs(name: &str, source: &str, dispatch: Rc<FakeDispatch>) -> (Value, Vec<String>) {
    let script = compile(name, source).expect("compiles");
    assert!(script.runs_warm(), "{name} runs in the reused context");
    let request = ScriptRequest { req_json: json!({"query": {}}).to_string(), streaming: false };
    let mut run = run(&script, request, dispatch, &one_runtime());
    let (mut last, mut logs) = (None, Vec::new());
    while let Some(event) = run.next().await {
        if let ScriptEvent::Log { message, .. } = &event {
            logs.push(message.clone());
        }
        last = Some(event);
    }
    match last {
        Some(ScriptEvent::Document(response)) => (serde_json::from_str(&response.body).unwrap(), logs),
        other => panic!("{name}: expected a document, got {other:?}"),
    }
}

const TAMPER: &str = r#"
const attempts = {
  global: () => { globalThis.leak = "secret"; },
  objectPrototype: () => { Object.prototype.leak = "secret"; },
  arrayPrototype: () => { Array.prototype.leak = "secret"; },
  arrayMap: () => { Array.prototype.map = function () { return ["secret"]; }; },
  json: () => { JSON.parse = () => "secret"; },
  promiseThen: () => { Promise.prototype.then = null; },
  promiseLeak: () => { Promise.prototype.leak = "secret"; },
  observable: () => { Observable.prototype.map = null; },
  callApi: () => { globalThis.call = null; },
  arrayIterator: () => { Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true }); },
  asyncFunction: () => { Object.getPrototypeOf(async function () {}).leak = "secret"; },
  generator: () => { Object.getPrototypeOf(function* () {}).prototype.leak = "secret"; },
  errorName: () => { Error.prototype.name = "secret"; },
  defineOnObject: () => { Object.defineProperty(Object.prototype, "leak", { value: "secret" }); },
  protoSetter: () => { ({}).__proto__.leak = "secret"; },
  regexp: () => { /(s3cr3t)/.exec("the s3cr3t"); return "ran"; },
  stackHook: () => { Error.prepareStackTrace = () => "secret"; },
  stackLimit: () => { Error.stackTraceLimit = 0; },
  stackHookDefine: () => { Object.defineProperty(Error, "prepareStackTrace", { value: () => "secret" }); },
};
export default function handle() {
  const out = {};
  for (const [name, attempt] of Object.entries(attempts)) {
    try {
      out[name] = attempt() ?? "changed";
    } catch (e) {
      out[name] = e.name;
    }
  }
  return out;
}
"#;

const LOOK: &str = r#"
export default function handle() {
  return {
    global: typeof globalThis.leak,
    objectPrototype: typeof ({}).leak,
    arrayPrototype: typeof [].leak,
    arrayMap: [1, 2].map((x) => x * 2),
    json: JSON.parse("[1]"),
    promiseThen: typeof Promise.resolve().then,
    promiseLeak: typeof Promise.resolve().leak,
    observable: typeof Observable.prototype.map,
    callApi: typeof call,
    arrayIterator: [...[1, 2]],
    asyncFunction: typeof Object.getPrototypeOf(async function () {}).leak,
    generator: typeof (function* () {})().leak,
    errorName: new Error("x").name,
    regexp: [typeof RegExp.$1 === "string" ? RegExp.$1 : null, typeof RegExp.lastMatch === "string" ? RegExp.lastMatch : null],
    finalizers: [typeof WeakRef, typeof FinalizationRegistry],
    stack: new Error("x").stack.split("\n")[0].trim().startsWith("at handle ("),
    stackHook: typeof Error.prepareStackTrace,
    stackLimit: Error.stackTraceLimit,
  };
}
"#;

#[test]
fn what_one_request_tries_to_change_the_next_one_never_sees() {
    local(async {
        let tampered = answer("t/tamper", TAMPER, FakeDispatch::new()).await;
        let created = runtimes_created_here();
        for (attempt, result) in tampered.as_object().unwrap() {
            if attempt != "regexp" {
                assert_eq!(result, "TypeError", "{attempt} must be refused: {tampered}");
            }
        }
        let seen = answer("t/look", LOOK, FakeDispatch::new()).await;
        assert_eq!(
            seen,
            json!({
                "global": "undefined", "objectPrototype": "undefined", "arrayPrototype": "undefined",
                "arrayMap": [2, 4], "json": [1], "promiseThen": "function", "promiseLeak": "undefined",
                "observable": "function", "callApi": "function", "arrayIterator": [1, 2],
                "asyncFunction": "undefined", "generator": "undefined", "errorName": "Error",
                "regexp": [null, null], "finalizers": ["undefined", "undefined"],
                "stack": true, "stackHook": "undefined", "stackLimit": 10,
            })
        );
        assert_eq!(runtimes_created_here(), created, "the second ran on the runtime the first gave back");
        assert_eq!(idle_runtimes(), 1);
    });
}

#[test]
fn module_scope_is_fresh_for_every_request() {
    local(async {
        let source = "let count = 0;\nconst seen = [];\nexport default (req) => { seen.push(1); return [++count, seen.length]; }";
        assert_eq!(answer("t/counter", source, FakeDispatch::new()).await, json!([1, 1]));
        let created = runtimes_created_here();
        for _ in 0..2 {
            assert_eq!(answer("t/counter", source, FakeDispatch::new()).await, json!([1, 1]));
        }
        assert_eq!((runtimes_created_here(), idle_runtimes()), (created, 1), "all on one pooled runtime");
    });
}

#[test]
fn objects_of_the_request_can_still_shadow_shared_methods() {
    local(async {
        let source = r#"
class NotFound extends Error {
  constructor(what) { super(`${what} not found`); this.name = "NotFound"; }
}
export default function handle() {
  const o = {};
  o.toString = () => "custom";
  const f = function () {};
  f.toString = () => "fn";
  const e = new NotFound("title");
  return [String(o), String(f), e.name, e.message, `${e}`, Object.keys(o)];
}"#;
        assert_eq!(
            answer("t/shadow", source, FakeDispatch::new()).await,
            json!(["custom", "fn", "NotFound", "title not found", "NotFound: title not found", ["toString"]])
        );
    });
}

#[test]
fn a_request_that_leaves_a_call_or_a_job_behind_takes_its_runtime_with_it() {
    local(async {
        let dispatch = FakeDispatch::new();
        dispatch.route("users", "get", 50, |_| Ok(Some(json!({"name": "Ada"}))));
        let clean = answer(
            "t/clean",
            "export default async () => (await call('users', 'get', {id: 1}))[0].name",
            Rc::clone(&dispatch),
        )
        .await;
        assert_eq!((clean, idle_runtimes()), (json!("Ada"), 1));
        // An un-awaited call is still running when the answer leaves.
        let left = "export default () => { call('users', 'get', {id: 2}).subscribe({}); return 'answered'; }";
        assert_eq!(answer("t/left-call", left, Rc::clone(&dispatch)).await, json!("answered"));
        assert_eq!(idle_runtimes(), 0, "the runtime that still had a call running was not pooled");
        let after = "export default () => typeof globalThis.leftover";
        assert_eq!(answer("t/after", after, Rc::clone(&dispatch)).await, json!("undefined"));
    });
}

#[test]
fn function_constructors_stay_refused_in_a_reused_context() {
    local(async {
        let source = r#"export default function handle() {
  const out = [];
  for (const f of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    try { f.constructor("return 1"); out.push("constructed"); } catch (e) { out.push(e.name); }
  }
  try { eval("1"); out.push("eval ran"); } catch (e) { out.push(e.name); }
  return out;
}"#;
        for _ in 0..2 {
            assert_eq!(
                answer("t/ctor", source, FakeDispatch::new()).await,
                json!(["TypeError", "TypeError", "TypeError", "TypeError", "TypeError"])
            );
        }
    });
}

#[test]
fn a_job_still_queued_when_the_answer_leaves_never_runs_in_the_next_request() {
    local(async {
        answer("t/warm", "export default () => 0", FakeDispatch::new()).await;
        let created = runtimes_created_here();
        // A chain of jobs; the last would log and call on behalf of whichever request runs then.
        let planted = "export default () => {
  let p = Promise.resolve();
  for (let i = 0; i < 100; i++) p = p.then(() => 0);
  p.then(() => { log('info', 'leftover job'); call('spy', 'see', {}).subscribe({}); });
  return 'answered';
}";
        let first = FakeDispatch::new();
        let (answered, logs) = answer_and_logs("t/plant-job", planted, Rc::clone(&first)).await;
        assert_eq!((answered, logs.len()), (json!("answered"), 0), "answered before the chain ran out");
        assert_eq!(runtimes_created_here(), created, "it ran on the pooled runtime");
        assert_eq!(idle_runtimes(), 0, "which left with its queued jobs");

        let second = FakeDispatch::new();
        second.value("users", "get", 10, json!({"name": "Ada"}));
        second.value("spy", "see", 0, json!(1));
        let next =
            "export default async () => { log('info', 'mine'); return (await call('users', 'get', {}))[0].name; }";
        let (seen, logs) = answer_and_logs("t/next", next, Rc::clone(&second)).await;
        assert_eq!((seen, logs), (json!("Ada"), vec!["mine".to_owned()]), "no leftover job logged here");
        let calls: Vec<String> = second.calls.borrow().iter().map(|(d, ..)| d.clone()).collect();
        assert_eq!((calls, first.calls.borrow().len()), (vec!["users".to_owned()], 0), "nor called");
        assert_eq!(runtimes_created_here(), created + 1, "the next request ran on a fresh runtime");
    });
}

#[test]
fn an_un_awaited_call_never_answers_into_the_next_request() {
    local(async {
        answer("t/warm", "export default () => 0", FakeDispatch::new()).await;
        let created = runtimes_created_here();
        let first = FakeDispatch::new();
        first.value("users", "get", 50, json!({"name": "Ada"}));
        // Lazy and never subscribed: nothing starts, nothing is left behind, the runtime stays.
        let lazy = "export default () => { call('users', 'get', {id: 1}); return 'answered'; }";
        assert_eq!(answer("t/lazy", lazy, Rc::clone(&first)).await, json!("answered"));
        assert_eq!((first.calls.borrow().len(), idle_runtimes(), runtimes_created_here()), (0, 1, created));

        // Started (`then` subscribes), in flight and not awaited when the answer leaves: its reply
        // would land during the next request.
        first.value("users", "quick", 1, json!(1));
        let started = "export default async () => {
  call('users', 'get', {id: 2}).then(([u]) => { log('info', `late ${u.name}`); call('users', 'get', {id: 3}).subscribe({}); });
  await call('users', 'quick', {});
  return 'answered';
}";
        let (answered, logs) = answer_and_logs("t/started", started, Rc::clone(&first)).await;
        assert_eq!((answered, logs.len()), (json!("answered"), 0));
        assert_eq!((first.calls.borrow().len(), idle_runtimes()), (2, 0), "the call was in flight; its runtime went");

        let second = FakeDispatch::new();
        second.value("users", "get", 200, json!({"name": "Bob"}));
        let next = "export default async () => (await call('users', 'get', {id: 9}))[0].name";
        let (seen, logs) = answer_and_logs("t/next", next, Rc::clone(&second)).await;
        assert_eq!((seen, logs.len()), (json!("Bob"), 0), "no late reply was logged during it");
        assert_eq!((second.calls.borrow().len(), first.calls.borrow().len()), (1, 2), "nor a call made");
        assert_eq!(runtimes_created_here(), created + 1, "the next request ran on a fresh runtime");
    });
}

#[test]
fn import_meta_is_not_a_channel_between_requests_of_one_revision() {
    local(async {
        // The factory module's `import.meta` is the one object all requests of a revision share.
        let source = "export default () => {
  const seen = import.meta.last ?? null;
  let wrote;
  try { import.meta.last = 'the previous request'; wrote = 'changed'; } catch (e) { wrote = e.name; }
  return [seen, wrote];
}";
        assert_eq!(answer("t/meta", source, FakeDispatch::new()).await, json!([null, "TypeError"]));
        let created = runtimes_created_here();
        assert_eq!(answer("t/meta", source, FakeDispatch::new()).await, json!([null, "TypeError"]));
        assert_eq!(runtimes_created_here(), created, "both ran in the one warm context");
    });
}
