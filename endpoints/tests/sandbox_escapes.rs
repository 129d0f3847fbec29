//! Sandbox escapes (issue 21), each on one pooled runtime whose reuse is checked with the count of
//! runtimes this thread created: a script that catches its own out-of-memory error or stack
//! overflow is still stopped with `limit` and its runtime is not pooled again; limits lowered after
//! a runtime was pooled bind it on its next request; and no function constructor — async,
//! generator, async generator, `Function` itself reached through `.constructor` chains — nor `eval`
//! runs any code, in a reused context or a fresh one; nor does `import()` reach a module the
//! context holds (the prelude, another namespace's revision and its source).

mod support;

use serde_json::{Value, json};
use support::FakeDispatch;
use switchyard_endpoints::script::{
    LimitKind, ScriptEvent, ScriptFailure, ScriptLimits, ScriptRequest, compile, idle_runtimes, run,
    runtimes_created_here,
};
use tokio::task::LocalSet;

fn local<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    rt.block_on(LocalSet::new().run_until(f))
}

/// One runtime per thread, so consecutive requests share it.
fn one_runtime(limits: ScriptLimits) -> ScriptLimits {
    ScriptLimits { pool_per_worker: 1, ..limits }
}

/// Runs `source` once under `limits`: its last event and the messages it logged.
async fn outcome(name: &str, source: &str, limits: &ScriptLimits) -> (ScriptEvent, Vec<String>) {
    let script = compile(name, source).expect("compiles");
    let request = ScriptRequest { req_json: json!({"query": {}}).to_string(), streaming: false };
    let mut run = run(&script, request, FakeDispatch::new(), limits);
    let (mut last, mut logs) = (None, Vec::new());
    while let Some(event) = run.next().await {
        if let ScriptEvent::Log { message, .. } = &event {
            logs.push(message.clone());
        }
        last = Some(event);
    }
    (last.expect("an event"), logs)
}

async fn document(name: &str, source: &str, limits: &ScriptLimits) -> Value {
    match outcome(name, source, limits).await.0 {
        ScriptEvent::Document(response) => serde_json::from_str(&response.body).unwrap(),
        other => panic!("{name}: expected a document, got {other:?}"),
    }
}

async fn limit(name: &str, source: &str, limits: &ScriptLimits) -> LimitKind {
    match outcome(name, source, limits).await.0 {
        ScriptEvent::Failed(ScriptFailure::Limit { limit, .. }) => limit,
        other => panic!("{name}: expected a limit, got {other:?}"),
    }
}

/// Runs `source` on the runtime a clean request pooled, expects `kind`, and checks that the runtime
/// was discarded: the next request runs on a new one.
async fn stopped_and_discarded(name: &str, source: &str, limits: &ScriptLimits, kind: LimitKind) {
    assert_eq!(document("t/warm", "export default () => 'warm'", limits).await, json!("warm"));
    let created = runtimes_created_here();
    assert_eq!(limit(name, source, limits).await, kind, "{name}");
    assert_eq!(runtimes_created_here(), created, "{name} ran on the pooled runtime");
    assert_eq!(idle_runtimes(), 0, "{name}: its runtime was not given back");
    assert_eq!(document("t/after", "export default () => 'after'", limits).await, json!("after"));
    assert_eq!(runtimes_created_here(), created + 1, "{name}: the next request ran on a fresh runtime");
}

#[test]
fn a_script_that_catches_its_own_out_of_memory_is_stopped_and_its_runtime_discarded() {
    local(async {
        let limits = one_runtime(ScriptLimits { memory_bytes: 8 * 1024 * 1024, ..Default::default() });
        let swallowed = "export default function handle() {
  let caught = 'nothing';
  try { const all = []; for (;;) all.push(new Array(10000).fill(1)); } catch (e) { caught = String(e); }
  return { caught };
}";
        stopped_and_discarded("t/oom-caught", swallowed, &limits, LimitKind::Memory).await;
        // Caught in a promise chain rather than by try/catch.
        let rejected = "export default async function handle() {
  const grow = async () => { const all = []; for (;;) all.push('x'.repeat(4096) + all.length); };
  return await grow().catch(() => 'fine');
}";
        stopped_and_discarded("t/oom-promise", rejected, &limits, LimitKind::Memory).await;
    });
}

#[test]
fn a_script_that_catches_its_own_stack_overflow_is_stopped_and_its_runtime_discarded() {
    local(async {
        let limits = one_runtime(ScriptLimits::default());
        for (name, source) in [
            (
                "t/overflow-caught",
                "function grow(n) { return grow(n + 1) + 1; }
export default function handle() { try { grow(0); } catch (e) {} return 'fine'; }",
            ),
            (
                // Every frame catches, so the deepest one handles it and all return normally.
                "t/overflow-every-frame",
                "function grow(n) { try { return grow(n + 1) + 1; } catch (e) { return 0; } }
export default function handle() { return grow(0); }",
            ),
            (
                "t/overflow-finally",
                "function grow(n) { try { return grow(n + 1) + 1; } finally { return 0; } }
export default function handle() { return grow(0); }",
            ),
            (
                "t/overflow-async",
                "async function grow(n) { return await grow(n + 1); }
export default async function handle() { return await grow(0).catch(() => 'fine'); }",
            ),
            (
                "t/overflow-builtin",
                "export default function handle() {
  let deep = [];
  for (let i = 0; i < 100000; i++) deep = [deep];
  try { JSON.stringify(deep); } catch (e) {}
  return 'fine';
}",
            ),
        ] {
            stopped_and_discarded(name, source, &limits, LimitKind::Stack).await;
        }
    });
}

#[test]
fn ordinary_range_errors_caught_by_a_script_leave_its_runtime_pooled() {
    local(async {
        let limits = one_runtime(ScriptLimits::default());
        let source = r#"export default function handle() {
  const out = [];
  for (const attempt of [() => new Array(-1), () => (1).toFixed(500), () => { throw new RangeError("Maximum call stack size"); }]) {
    try { attempt(); } catch (e) { out.push(e.name); }
  }
  return out;
}"#;
        assert_eq!(document("t/warm", "export default () => 0", &limits).await, json!(0));
        let created = runtimes_created_here();
        assert_eq!(document("t/ranges", source, &limits).await, json!(["RangeError", "RangeError", "RangeError"]));
        assert_eq!((runtimes_created_here(), idle_runtimes()), (created, 1), "the runtime went back to the pool");
    });
}

#[test]
fn limits_lowered_after_a_runtime_was_pooled_bind_it_on_its_next_request() {
    local(async {
        // About 8 MB of array: fine under 32 MiB, not under 4 MiB.
        let big = "export default () => new Array(500000).fill(0).length";
        let roomy = one_runtime(ScriptLimits { memory_bytes: 32 * 1024 * 1024, ..Default::default() });
        assert_eq!(document("t/big", big, &roomy).await, json!(500000));
        let created = runtimes_created_here();
        let tight = one_runtime(ScriptLimits { memory_bytes: 4 * 1024 * 1024, ..Default::default() });
        assert_eq!(limit("t/big", big, &tight).await, LimitKind::Memory);
        assert_eq!(runtimes_created_here(), created, "the runtime pooled under 32 MiB ran it");

        // A thousand frames deep: fine with a 1 MiB stack, not with 32 KiB.
        let deep = "function down(n) { return n === 0 ? 0 : down(n - 1) + 1; }\nexport default () => down(1000)";
        let roomy = one_runtime(ScriptLimits { stack_bytes: 1024 * 1024, ..Default::default() });
        assert_eq!(document("t/deep", deep, &roomy).await, json!(1000));
        let created = runtimes_created_here();
        let tight = one_runtime(ScriptLimits { stack_bytes: 32 * 1024, ..Default::default() });
        assert_eq!(limit("t/deep", deep, &tight).await, LimitKind::Stack);
        assert_eq!(runtimes_created_here(), created, "the runtime pooled with a 1 MiB stack ran it");

        // Raised again, a pooled runtime gets the room back.
        assert_eq!(document("t/deep", deep, &roomy).await, json!(1000));
        let created = runtimes_created_here();
        assert_eq!(document("t/big", big, &roomy).await, json!(500000));
        assert_eq!(runtimes_created_here(), created);
    });
}

/// Every way to a function constructor or `eval` a script could try. Each builds a function whose
/// body would log `ran` and calls it; the answer is what each attempt ended with.
const CONSTRUCTORS: &str = r#"
const body = "log('info', 'ran'); return 'ran';";
const AsyncFunction = (async function () {}).constructor;
const attempts = {
  functionCtor: () => (function () {}).constructor(body)(),
  asyncCtor: () => (async function () {}).constructor(body)(),
  asyncNew: () => new AsyncFunction(body)(),
  generatorCtor: () => (function* () {}).constructor(body)().next().value,
  asyncGeneratorCtor: () => (async function* () {}).constructor(body)().next(),
  arrowChain: () => (() => {}).constructor.constructor(body)(),
  asyncArrowChain: () => (async () => {}).constructor.constructor(body)(),
  objectChain: () => ({}).constructor.constructor(body)(),
  arrayChain: () => [].constructor.constructor(body)(),
  stringChain: () => "".constructor.constructor(body)(),
  prototypeChain: () => Object.getPrototypeOf(async function* () {}).constructor(body)().next(),
  generatorPrototypeChain: () => Object.getPrototypeOf(function* () {}).constructor.constructor(body)(),
  functionGlobal: () => Function(body)(),
  newFunction: () => new Function(body)(),
  reflect: () => Reflect.construct(Function, [body])(),
  callApply: () => Function.prototype.constructor.apply(null, [body])(),
  bound: () => Function.bind(null, body)()(),
  evalDirect: () => eval(body),
  evalIndirect: () => (0, eval)(body),
  evalGlobal: () => globalThis.eval(body),
  evalChain: () => (function () {}).constructor.constructor("return eval")()(body),
};
export default async function handle() {
  const out = {};
  for (const [name, attempt] of Object.entries(attempts)) {
    try {
      out[name] = String(await attempt());
    } catch (e) {
      out[name] = e.name;
    }
  }
  return out;
}
"#;

#[test]
fn function_constructors_and_eval_stay_refused_and_run_nothing() {
    local(async {
        let limits = one_runtime(ScriptLimits::default());
        let fresh = format!("{CONSTRUCTORS}\nconst unused = 1;\nexport {{ unused }};");
        let fresh = fresh.replace("export default async function handle", "async function handle");
        let fresh = format!("{fresh}\nexport {{ handle as default }};");
        assert!(compile("t/ctor", CONSTRUCTORS).unwrap().runs_warm());
        assert!(!compile("t/ctor-fresh", &fresh).unwrap().runs_warm(), "this one gets a fresh context");
        for (name, source) in [("t/ctor", CONSTRUCTORS), ("t/ctor", CONSTRUCTORS), ("t/ctor-fresh", fresh.as_str())] {
            let (event, logs) = outcome(name, source, &limits).await;
            let ScriptEvent::Document(response) = event else { panic!("{name}: {event:?}") };
            let answers: Value = serde_json::from_str(&response.body).unwrap();
            assert_eq!(answers.as_object().unwrap().len(), 21, "{answers}");
            for (attempt, answer) in answers.as_object().unwrap() {
                assert_eq!(answer, "TypeError", "{name}: {attempt} must be refused: {answers}");
            }
            assert!(logs.is_empty(), "{name}: no constructed body ran: {logs:?}");
        }
    });
}

#[test]
fn import_reaches_no_module_the_context_holds() {
    local(async {
        let limits = one_runtime(ScriptLimits::default());
        let secret = "const key = 'team-secret-42';\nexport default (req) => ({ key })";
        assert_eq!(document("other/secret@1", secret, &limits).await, json!({"key": "team-secret-42"}));
        let created = runtimes_created_here();
        let thief = r#"export default async function handle() {
  const out = [];
  for (const name of ["other/secret@1", "switchyard:prelude", "t/thief@1", "./secret@1", "data:text/javascript,export default 1"]) {
    try {
      const module = await import(name);
      out.push(String(module.default));
    } catch (e) {
      out.push(e.name);
    }
  }
  return out;
}"#;
        let refused = json!(["ReferenceError", "ReferenceError", "ReferenceError", "ReferenceError", "ReferenceError"]);
        assert_eq!(document("t/thief@1", thief, &limits).await, refused);
        assert_eq!(runtimes_created_here(), created, "in the context that loaded other/secret@1");
        let fresh = format!("{thief}\nconst unused = 1;\nexport {{ unused }};");
        let fresh = fresh.replace("export default async function handle", "async function handle");
        let fresh = format!("{fresh}\nexport {{ handle as default }};");
        assert!(!compile("t/thief@2", &fresh).unwrap().runs_warm());
        assert_eq!(document("t/thief@2", &fresh, &limits).await, refused, "nor in a fresh context");
    });
}
