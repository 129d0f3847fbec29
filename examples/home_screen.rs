//! An in-process Rust endpoint: the TV home screen composed with `Observable` over the demo
//! dependencies (the same composition as `examples/endpoints/tv.home.js`), printed with its
//! fan-out. Run: `cargo run --example home_screen [USER]`.

use std::rc::Rc;
use std::sync::Arc;

use switchyard::config::Config;
use switchyard::node::Node;
use switchyard_bench::rust_home::tv_home;
use switchyard_endpoints::RequestDispatch;
use tokio::time::Instant;

fn main() -> anyhow::Result<()> {
    let user: u64 = std::env::args().nth(1).map_or(Ok(7), |a| a.parse())?;
    actix_rt::System::new().block_on(async move {
        let node = Node::start(Config::default())?;
        let dispatch = RequestDispatch::new(Arc::clone(&node.dependencies));
        let started = Instant::now();
        let home = tv_home(Rc::new(dispatch.clone()), user).await?;
        let elapsed = started.elapsed();
        println!("{}", serde_json::to_string_pretty(&home)?);
        let rows = home["rows"].as_array().map_or(0, Vec::len);
        println!(
            "\n{rows} rows in {:.1} ms with {} dependency calls",
            elapsed.as_secs_f64() * 1000.0,
            dispatch.call_count()
        );
        Ok(())
    })
}
