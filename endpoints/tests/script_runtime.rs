//! The JavaScript runtime end to end with a scripted dispatcher: the script API of design §5, its
//! concurrency on paused time, errors, streaming, the sandbox limits and isolation between requests.

mod support;

use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};
use support::FakeDispatch;
use switchyard_actors::ErrorKind;
use switchyard_endpoints::script::{
    LimitKind, ScriptEvent, ScriptFailure, ScriptLimits, ScriptRequest, compile, idle_runtimes, run,
};
use tokio::task::LocalSet;
use tokio::time::Instant;

fn request(req: Value, streaming: bool) -> ScriptRequest {
    ScriptRequest { req_json: req.to_string(), streaming }
}

/// Runs `source` once and returns every event it produced.
async fn events(source: &str, dispatch: Rc<FakeDispatch>, limits: &ScriptLimits, streaming: bool) -> Vec<ScriptEvent> {
    let script = compile("test/endpoint", source).expect("compiles");
    let mut run = run(&script, request(json!({"query": {"user": "7"}}), streaming), dispatch, limits);
    let mut out = Vec::new();
    while let Some(event) = run.next().await {
        out.push(event);
    }
    out
}

/// The document a script answered, parsed.
async fn document(source: &str, dispatch: Rc<FakeDispatch>) -> Value {
    let evs = events(source, dispatch, &ScriptLimits::default(), false).await;
    match evs.last() {
        Some(ScriptEvent::Document(response)) => serde_json::from_str(&response.body).unwrap(),
        other => panic!("expected a document, got {other:?} in {evs:?}"),
    }
}

async fn failure(source: &str, dispatch: Rc<FakeDispatch>, limits: &ScriptLimits) -> ScriptFailure {
    let evs = events(source, dispatch, limits, false).await;
    match evs.last() {
        Some(ScriptEvent::Failed(failure)) => failure.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn local<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    rt.block_on(LocalSet::new().run_until(f))
}

fn local_real_time<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(LocalSet::new().run_until(f))
}

#[test]
fn handle_may_return_a_value_a_promise_or_an_observable() {
    local(async {
        let d = FakeDispatch::new;
        assert_eq!(
            document("export default function handle(req) { return {a: 1, q: req.query.user} }", d()).await,
            json!({"a": 1, "q": "7"})
        );
        assert_eq!(document("export default async function handle() { return [1, 2] }", d()).await, json!([1, 2]));
        assert_eq!(document("export default () => Observable.of(5)", d()).await, json!(5), "one item is the body");
        assert_eq!(
            document("export default () => Observable.of(5, 6)", d()).await,
            json!([5, 6]),
            "several are an array"
        );
        assert_eq!(document("export default () => Observable.empty()", d()).await, json!([]));
        assert_eq!(document("export default () => undefined", d()).await, Value::Null);
    });
}

#[test]
fn response_sets_status_headers_and_raw_bodies() {
    local(async {
        let src =
            r#"export default () => response(201, "<ok/>").header("X-Thing", "1").contentType("application/xml")"#;
        let evs = events(src, FakeDispatch::new(), &ScriptLimits::default(), false).await;
        let Some(ScriptEvent::Document(r)) = evs.last() else { panic!("{evs:?}") };
        assert_eq!((r.status, r.raw, r.body.as_str()), (201, true, "<ok/>"));
        assert_eq!(r.headers, vec![("X-Thing".to_string(), "1".to_string())]);
        assert_eq!(r.content_type.as_deref(), Some("application/xml"));

        let evs = events(
            "export default () => response(404, {missing: true})",
            FakeDispatch::new(),
            &ScriptLimits::default(),
            false,
        )
        .await;
        let Some(ScriptEvent::Document(r)) = evs.last() else { panic!("{evs:?}") };
        assert_eq!((r.status, r.raw, r.body.as_str()), (404, false, r#"{"missing":true}"#));

        let f = failure("export default () => response(99, 1)", FakeDispatch::new(), &ScriptLimits::default()).await;
        assert!(matches!(&f, ScriptFailure::Invalid(m) if m.contains("status")), "{f:?}");
    });
}

#[test]
fn call_emits_one_item_per_element_and_await_gives_the_array() {
    local(async {
        let d = FakeDispatch::new();
        d.value("lists", "for_user", 5, json!([{"id": 1}, {"id": 2}]));
        d.value("users", "get", 5, json!({"id": 7, "name": "Ann"}));
        d.route("bookmarks", "for_user", 5, |_| Ok(None));
        let src = r#"export default async function handle(req) {
            const [user] = await call("users", "get", {id: 7});
            const rows = await call("lists", "for_user", {user: 7}).map((r) => r.id);
            const count = await call("lists", "for_user", {user: 7}).reduce((n) => n + 1, 0);
            const none = await call("bookmarks", "for_user", {user: 7});
            return {name: user.name, rows, count: count[0], none};
        }"#;
        assert_eq!(document(src, Rc::clone(&d)).await, json!({"name": "Ann", "rows": [1, 2], "count": 2, "none": []}));
        let calls = d.calls.borrow();
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0], ("users".into(), "get".into(), json!({"id": 7})));
    });
}

#[test]
fn a_call_is_lazy_until_subscribed() {
    local(async {
        let d = FakeDispatch::new();
        d.value("users", "get", 5, json!({"id": 1}));
        let src = r#"export default function handle() { const unused = call("users", "get", {id: 1}); return 1; }"#;
        assert_eq!(document(src, Rc::clone(&d)).await, json!(1));
        assert!(d.calls.borrow().is_empty());
    });
}

#[test]
fn independent_calls_overlap() {
    local(async {
        let d = FakeDispatch::new();
        d.value("users", "get", 50, json!({"id": 1}));
        d.value("ratings", "predicted", 80, json!([{"id": 1, "rating": 4.5}]));
        let src = r#"export default async function handle() {
            const [[user], ratings] = await Promise.all([call("users", "get", {id: 1}), call("ratings", "predicted", {})]);
            return {user, ratings};
        }"#;
        let start = Instant::now();
        document(src, d).await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(80) && took < Duration::from_millis(90),
            "the slower call bounds it: {took:?}"
        );
    });
}

#[test]
fn flat_map_subscribes_inners_concurrently_and_concat_map_in_order() {
    local(async {
        let d = FakeDispatch::new();
        d.route("catalog", "title", 0, |args| Ok(Some(json!({"id": args["id"]}))));
        d.route("slow", "get", 0, |_| Ok(Some(json!(1))));
        let src = r#"export default async function handle() {
            const flat = await Observable.of(1, 2, 3).flatMap((id) => call("catalog", "title", {id})).map((t) => t.id);
            const concat = await Observable.of(3, 1, 2).concatMap((id) => call("catalog", "title", {id})).map((t) => t.id);
            return {flat: flat.sort(), concat};
        }"#;
        assert_eq!(document(src, Rc::clone(&d)).await, json!({"flat": [1, 2, 3], "concat": [3, 1, 2]}));

        // Three 40 ms lookups under flatMap take 40 ms, not 120.
        let d = FakeDispatch::new();
        d.route("catalog", "title", 40, |args| Ok(Some(json!({"id": args["id"]}))));
        let start = Instant::now();
        let out = document(
            r#"export default () => Observable.of(1, 2, 3).flatMap((id) => call("catalog", "title", {id})).toList()"#,
            d,
        )
        .await;
        assert_eq!(out.as_array().unwrap().len(), 3);
        assert!(start.elapsed() < Duration::from_millis(50), "{:?}", start.elapsed());
    });
}

#[test]
fn the_observable_operators_behave_like_rx() {
    local(async {
        let src = r#"export default async function handle() {
            const of = (...v) => Observable.of(...v);
            const out = {};
            out.take = await of(1, 2, 3).take(2);
            out.take0 = await of(1, 2).take(0);
            out.skip = await of(1, 2, 3).skip(2);
            out.first = await of(4, 5).first();
            out.firstEmpty = await Observable.empty().first().catchError((e) => e.name);
            out.filter = await of(1, 2, 3, 4).filter((x) => x % 2 === 0);
            out.zip = await Observable.zip(of(1, 2, 3), of("a", "b"));
            out.concat = await Observable.concat(of(1), of(2, 3));
            out.merge = (await Observable.merge(of(1), of(2))).sort();
            out.def = await Observable.empty().defaultIfEmpty("none");
            out.reduce = await of(1, 2, 3).reduce((a, b) => a + b, 10);
            out.from = await Observable.from([7, 8]);
            out.fromPromise = await Observable.from(Promise.resolve(9));
            const seen = [];
            out.tap = await of(1, 2).tap((x) => seen.push(x));
            out.seen = seen;
            out.mapError = await of(1).map(() => { throw new RangeError("bad"); }).catchError((e) => e.message);
            out.errorStops = await Observable.concat(of(1), Observable.throwError(new Error("x")), of(2)).catchError(() => "caught");
            return out;
        }"#;
        assert_eq!(
            document(src, FakeDispatch::new()).await,
            json!({
                "take": [1, 2], "take0": [], "skip": [3], "first": [4], "firstEmpty": ["EmptyError"], "filter": [2, 4],
                "zip": [[1, "a"], [2, "b"]], "concat": [1, 2, 3], "merge": [1, 2], "def": ["none"],
                "reduce": [16], "from": [7, 8], "fromPromise": [9], "tap": [1, 2], "seen": [1, 2],
                "mapError": ["bad"], "errorStops": [1, "caught"]
            })
        );
    });
}

#[test]
fn timeout_fails_a_slow_observable_on_paused_time() {
    local(async {
        let d = FakeDispatch::new();
        d.value("slow", "get", 100, json!(1));
        d.value("fast", "get", 10, json!(2));
        let src = r#"export default async function handle() {
            const slow = await call("slow", "get", {}).timeout(50).catchError((e) => e.name);
            const fast = await call("fast", "get", {}).timeout(50);
            return {slow, fast};
        }"#;
        let start = Instant::now();
        assert_eq!(document(src, d).await, json!({"slow": ["TimeoutError"], "fast": [2]}));
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "the timeout answered before the slow call: {:?}",
            start.elapsed()
        );
    });
}

#[test]
fn an_unhandled_dependency_error_names_the_dependency_and_catch_error_replaces_it() {
    local(async {
        let d = FakeDispatch::new();
        d.fail("ratings", "predicted", 1, ErrorKind::ShortCircuited);
        let f = failure(
            r#"export default async () => await call("ratings", "predicted", {})"#,
            Rc::clone(&d),
            &ScriptLimits::default(),
        )
        .await;
        assert_eq!(
            f,
            ScriptFailure::Dependency {
                dependency: "ratings".into(),
                kind: ErrorKind::ShortCircuited,
                message: "ShortCircuited from the fake".into()
            }
        );

        let src = r#"export default () => call("ratings", "predicted", {}).catchError((e) => ({replaced: e.dependency, kind: e.kind}))"#;
        assert_eq!(document(src, d).await, json!({"replaced": "ratings", "kind": "short_circuited"}));
    });
}

#[test]
fn script_errors_carry_class_line_and_column() {
    local(async {
        let src = "export default function handle() {\n  const x = 1;\n  throw new TypeError(\"boom \" + x);\n}\n";
        let ScriptFailure::Exception(e) = failure(src, FakeDispatch::new(), &ScriptLimits::default()).await else {
            panic!()
        };
        assert_eq!((e.name.as_str(), e.message.as_str(), e.line), ("TypeError", "boom 1", Some(3)));
        let f = failure("export const x = 1;", FakeDispatch::new(), &ScriptLimits::default()).await;
        assert!(matches!(&f, ScriptFailure::Invalid(m) if m.contains("handle")), "{f:?}");
    });
}

#[test]
fn syntax_errors_and_imports_are_refused_at_compile_with_line_and_column() {
    let err = compile("t/x", "export default function handle() {\n  return {a: };\n}").unwrap_err();
    let switchyard_endpoints::script::ScriptError::Compile(e) = err else { panic!("{err:?}") };
    assert_eq!((e.name.as_str(), e.line, e.column), ("SyntaxError", Some(2), Some(14)));
    assert!(compile("t/x", "import fs from 'fs';\nexport default () => 1").is_err());
}

#[test]
fn no_eval_and_no_function_constructor() {
    local(async {
        let src = r#"export default function handle() {
            const out = [];
            try { eval("1 + 1"); out.push("eval ran"); } catch (e) { out.push(e.name); }
            try { (function () {}).constructor("return 1")(); out.push("Function ran"); } catch (e) { out.push(e.name); }
            out.push(typeof __call, typeof __emit, typeof performance, typeof setTimeout);
            return out;
        }"#;
        assert_eq!(
            document(src, FakeDispatch::new()).await,
            json!(["TypeError", "TypeError", "undefined", "undefined", "undefined", "undefined"])
        );
    });
}

#[test]
fn streaming_sends_each_item_as_it_arrives() {
    local(async {
        let d = FakeDispatch::new();
        d.value("fast", "get", 10, json!({"row": "fast"}));
        d.value("slow", "get", 200, json!({"row": "slow"}));
        let script = compile(
            "t/stream",
            r#"export default () => Observable.merge(call("slow", "get", {}), call("fast", "get", {}))"#,
        )
        .unwrap();
        let start = Instant::now();
        let mut run = run(&script, request(json!({}), true), d, &ScriptLimits::default());
        assert_eq!(run.next().await, Some(ScriptEvent::Item(r#"{"row":"fast"}"#.into())));
        assert!(start.elapsed() < Duration::from_millis(20), "the fast row came before the slow call finished");
        assert_eq!(run.next().await, Some(ScriptEvent::Item(r#"{"row":"slow"}"#.into())));
        assert_eq!(run.next().await, Some(ScriptEvent::End));
        assert_eq!(run.next().await, None);
    });
}

#[test]
fn log_lines_are_events() {
    local(async {
        let evs = events(
            r#"export default () => { log("warn", "careful"); return 1; }"#,
            FakeDispatch::new(),
            &ScriptLimits::default(),
            false,
        )
        .await;
        assert_eq!(evs[0], ScriptEvent::Log { level: "warn".into(), message: "careful".into() });
    });
}

fn limit_of(f: &ScriptFailure) -> LimitKind {
    match f {
        ScriptFailure::Limit { limit, .. } => *limit,
        other => panic!("expected a limit, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_is_stopped_even_inside_try_catch() {
    local_real_time(async {
        let limits = ScriptLimits { cpu_slice_ms: 30, ..Default::default() };
        let src = "export default function handle() { for (;;) { try { for (;;) {} } catch (e) {} } }";
        assert_eq!(limit_of(&failure(src, FakeDispatch::new(), &limits).await), LimitKind::Cpu);
        assert_eq!(idle_runtimes(), 0, "an interrupted runtime is discarded");
    });
}

#[test]
fn a_huge_allocation_hits_the_memory_limit() {
    local(async {
        let limits = ScriptLimits { memory_bytes: 8 * 1024 * 1024, ..Default::default() };
        let src =
            "export default function handle() { const a = []; for (let i = 0; ; i++) a.push('x'.repeat(1024) + i); }";
        assert_eq!(limit_of(&failure(src, FakeDispatch::new(), &limits).await), LimitKind::Memory);
    });
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    local(async {
        let src = "function f(n) { return f(n + 1) + 1; }\nexport default function handle() { return f(0); }";
        assert_eq!(limit_of(&failure(src, FakeDispatch::new(), &ScriptLimits::default()).await), LimitKind::Stack);
    });
}

#[test]
fn ten_thousand_calls_hit_the_call_limit() {
    local(async {
        let d = FakeDispatch::new();
        d.value("users", "get", 1, json!({}));
        let src = r#"export default async function handle() {
            const all = [];
            for (let i = 0; i < 10000; i++) all.push(call("users", "get", {id: i}).toList().catchError(() => []));
            return (await Promise.all(all)).length;
        }"#;
        let f = failure(src, Rc::clone(&d), &ScriptLimits::default()).await;
        assert_eq!(limit_of(&f), LimitKind::Calls);
        assert!(
            d.calls.borrow().len() <= ScriptLimits::default().max_calls,
            "no call past the limit reached a dependency"
        );
    });
}

#[test]
fn a_promise_that_never_settles_hits_the_deadline() {
    local(async {
        let limits = ScriptLimits { deadline_ms: 300, ..Default::default() };
        let start = Instant::now();
        let f = failure("export default async () => await new Promise(() => {})", FakeDispatch::new(), &limits).await;
        assert_eq!(limit_of(&f), LimitKind::Deadline);
        assert_eq!(start.elapsed().as_millis(), 300);
    });
}

#[test]
fn an_oversized_response_hits_the_response_limit() {
    local(async {
        let limits = ScriptLimits { max_response_bytes: 1000, ..Default::default() };
        let f = failure("export default () => 'x'.repeat(2000)", FakeDispatch::new(), &limits).await;
        assert_eq!(limit_of(&f), LimitKind::ResponseSize);
        let evs = events(
            "export default () => Observable.of(...Array(100).fill('0123456789abcdef'))",
            FakeDispatch::new(),
            &limits,
            true,
        )
        .await;
        assert!(
            matches!(
                evs.last(),
                Some(ScriptEvent::Failed(ScriptFailure::Limit { limit: LimitKind::ResponseSize, .. }))
            ),
            "{:?}",
            evs.last()
        );
        assert!(evs.iter().filter(|e| matches!(e, ScriptEvent::Item(_))).count() < 100);
    });
}

#[test]
fn a_runaway_request_does_not_stop_another_on_the_same_thread() {
    local_real_time(async {
        let limits = ScriptLimits { cpu_slice_ms: 50, ..Default::default() };
        let d = FakeDispatch::new();
        d.value("users", "get", 5, json!({"ok": true}));
        let runaway =
            compile("t/runaway", "export default async () => { await call('users', 'get', {}); for (;;) {} }").unwrap();
        let good = compile("t/good", "export default () => call('users', 'get', {})").unwrap();
        let mut bad = run(&runaway, request(json!({}), false), Rc::clone(&d) as _, &limits);
        let mut fine = run(&good, request(json!({}), false), d, &limits);
        let Some(ScriptEvent::Document(r)) = fine.next().await else { panic!() };
        assert_eq!(r.body, r#"{"ok":true}"#);
        assert!(matches!(
            bad.next().await,
            Some(ScriptEvent::Failed(ScriptFailure::Limit { limit: LimitKind::Cpu, .. }))
        ));
    });
}
