//! Figures of the store on this machine: what a durable write costs, how long opening (with its
//! full verification) takes, and the size on disk.
//!
//! `cargo run --release -p switchyard-storage --example store_figures [DIR]` — DIR (default: a new
//! temporary directory under the system's) must be on the disk to be measured: on tmpfs an fsync
//! costs nothing.
#![allow(missing_docs)]
// Wall-clock timing outside any runtime: tokio's clock is for code that runs inside one.
#![allow(clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchyard_storage::{Command, EndpointKey, Store};

const SCRIPT_BYTES: usize = 10_000;

fn script(i: usize) -> String {
    let line = format!("// revision {i}: export default (req) => call('catalog', 'titles', {{ ids: [1, 2, 3] }});\n");
    line.repeat(SCRIPT_BYTES / line.len() + 1)[..SCRIPT_BYTES].to_owned()
}

fn publish(endpoint: &EndpointKey, i: usize) -> Command {
    Command::Publish {
        endpoint: endpoint.clone(),
        source: script(i),
        author: "figures".into(),
        notes: String::new(),
        at_ms: i as u64,
    }
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    format!(
        "p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  ({} samples)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
        samples.len()
    )
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn main() -> anyhow::Result<()> {
    let base = std::env::args().nth(1).map(PathBuf::from);
    let temp = tempfile::tempdir_in(base.as_deref().unwrap_or(&std::env::temp_dir()))?;
    let dir = temp.path().join("store");
    println!("store in {}", dir.display());

    let store = Store::open(&dir, "figures")?;
    let home = EndpointKey::new("tv", "home");
    let mut accepted = Vec::new();
    for i in 0..300 {
        let (outcome, took) = timed(|| store.apply(&publish(&home, i)));
        outcome?.map_err(anyhow::Error::msg)?;
        accepted.push(took);
    }
    println!("publish 10 KB, durable (transaction + 2 fsyncs): {}", percentiles(accepted));

    let mut rejected = Vec::new();
    for i in 0..300 {
        let rollback = Command::Rollback { endpoint: home.clone(), author: "figures".into(), at_ms: i };
        let (outcome, took) = timed(|| store.apply(&rollback));
        assert!(outcome?.is_err(), "nothing to roll back to");
        rejected.push(took);
    }
    println!("rejected command (read-only transaction, no fsync): {}", percentiles(rejected));

    let raw = sled::open(temp.path().join("raw"))?;
    let (mut unflushed, mut flushed) = (Vec::new(), Vec::new());
    for i in 0..300u32 {
        let value = script(i as usize);
        let (r, took) = timed(|| raw.insert(i.to_be_bytes(), value.as_bytes()));
        r?;
        unflushed.push(took);
        let (r, took) = timed(|| raw.insert((i + 1_000).to_be_bytes(), value.as_bytes()).and_then(|_| raw.flush()));
        r?;
        flushed.push(took);
    }
    println!("raw sled insert of 10 KB, no flush: {}", percentiles(unflushed));
    println!("raw sled insert of 10 KB + flush:   {}", percentiles(flushed));
    drop(raw);

    for i in 300..1_000 {
        let endpoint = EndpointKey::new("tv", format!("e{}", i % 50));
        store.apply(&publish(&endpoint, i))?.map_err(anyhow::Error::msg)?;
    }
    let revisions: usize = store.state()?.revisions.values().map(Vec::len).sum();
    let (snapshot, took) = timed(|| store.snapshot());
    let snapshot = snapshot?;
    println!("snapshot of {revisions} revisions: {} bytes in {:.1} ms", snapshot.len(), took.as_secs_f64() * 1e3);
    let sled_size = store.size_on_disk()?;
    drop(store);
    println!("size on disk: {} bytes in the directory (sled reports {sled_size})", dir_bytes(&dir));

    let mut opens = Vec::new();
    for _ in 0..5 {
        let (store, took) = timed(|| Store::open(&dir, "figures"));
        drop(store?);
        opens.push(took);
    }
    println!("open with full verification, {revisions} revisions of 10 KB: {}", percentiles(opens));
    Ok(())
}
