//! The JavaScript runtime's costs (design §5, §12):
//! - `tv_home/script` vs `tv_home/rust`: the `tv/home` sample against the same composition as an
//!   in-process Rust endpoint (`switchyard_bench::rust_home`), both over the in-process demo
//!   dependencies without latency (actors, collapsing and the request cache included), so the
//!   ratio is the script's own cost;
//! - `runtime_setup`: a request to `export default () => 1` (pooled runtime, fresh context,
//!   natives, prelude and module loaded from bytecode, answer);
//! - `conversion/*`: one reply of ~270 KB entering JavaScript and going out again as the response,
//!   against the same script with a tiny reply.
//!
//! Run: `cargo bench -p switchyard-bench --bench script`

use std::rc::Rc;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::LocalBoxFuture;
use serde_json::{Value, json};
use switchyard::config::Config;
use switchyard::demo::DemoServices;
use switchyard::node::Node;
use switchyard_actors::{CallError, Json, Origin, Reply};
use switchyard_bench::rust_home::tv_home;
use switchyard_endpoints::script::{self, ScriptEvent, ScriptLimits, ScriptRequest};
use switchyard_endpoints::{Dispatch, RequestDispatch};

const TV_HOME: &str = include_str!("../../examples/endpoints/tv.home.js");

async fn run_script(
    script: &script::CompiledScript,
    dispatch: Rc<dyn Dispatch>,
    limits: &ScriptLimits,
    req: &str,
) -> usize {
    let mut run = script::run(script, ScriptRequest { req_json: req.to_owned(), streaming: false }, dispatch, limits);
    loop {
        match run.next().await {
            Some(ScriptEvent::Document(r)) => return r.body.len(),
            Some(ScriptEvent::Log { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Every call answers the same reply at once.
struct Fixed(Json);

impl Dispatch for Fixed {
    fn call(&self, _: &str, _: &str, _: Value) -> LocalBoxFuture<'static, Result<Reply, CallError>> {
        let reply = Reply { body: Some(self.0.clone()), origin: Origin::Backend };
        Box::pin(async move { Ok(reply) })
    }
}

fn benches(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let node = system
        .block_on(async { Node::start_with(Config::default(), DemoServices::without_latency(42)).expect("node") });
    let limits = node.config.scripts.clone();
    let req = json!({"query": {"user": "7"}, "user": null}).to_string();

    let tv = script::compile("tv/home", TV_HOME).expect("compiles");
    let mut group = c.benchmark_group("tv_home");
    group.sample_size(30);
    group.bench_function("script", |b| {
        b.iter(|| {
            system.block_on(async {
                let dispatch = Rc::new(RequestDispatch::new(Arc::clone(&node.dependencies)));
                run_script(&tv, dispatch, &limits, &req).await
            })
        })
    });
    group.bench_function("rust", |b| {
        b.iter(|| {
            system.block_on(async {
                let dispatch = Rc::new(RequestDispatch::new(Arc::clone(&node.dependencies)));
                tv_home(dispatch, 7).await.expect("composes")
            })
        })
    });
    group.finish();

    let trivial = script::compile("bench/trivial", "export default () => 1").expect("compiles");
    let none: Rc<dyn Dispatch> = Rc::new(Fixed(Json::from(json!(null))));
    c.bench_function("runtime_setup", |b| {
        b.iter(|| system.block_on(run_script(&trivial, Rc::clone(&none), &limits, "{}")))
    });

    // ~270 KB: 1,000 titles as the catalog returns them.
    let titles: Vec<Value> = (0..1000)
        .map(|i| json!({"id": i, "name": format!("Title {i}"), "year": 2000 + i % 25, "maturity": "PG-13",
            "genres": ["drama", "comedy"], "runtime_min": 90 + i % 60,
            "synopsis": "A struggling novelist must survive a brutal winter across the American West. Time is running out.",
            "boxart": format!("https://art.switchyard.example/boxart/{i}/large.jpg")}))
        .collect();
    let big = Json::from(Value::Array(titles));
    let passthrough = script::compile("bench/pass", "export default async () => await call('catalog', 'titles', {})")
        .expect("compiles");
    let mut group = c.benchmark_group("conversion");
    group.sample_size(30);
    let large: Rc<dyn Dispatch> = Rc::new(Fixed(big.clone()));
    let small: Rc<dyn Dispatch> = Rc::new(Fixed(Json::from(json!([{"id": 1}]))));
    group.bench_function(format!("reply_{}kb_in_and_out", big.as_str().len() / 1024), |b| {
        b.iter(|| system.block_on(run_script(&passthrough, Rc::clone(&large), &limits, "{}")))
    });
    group.bench_function("tiny_reply", |b| {
        b.iter(|| system.block_on(run_script(&passthrough, Rc::clone(&small), &limits, "{}")))
    });
    group.finish();
}

criterion_group!(script_benches, benches);
criterion_main!(script_benches);
