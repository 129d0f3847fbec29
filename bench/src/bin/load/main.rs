//! The load harness (design §12, `bench/load.sh`): Switchyard side by side with the ceiling — a
//! bare actix-web handler making the same calls with no protection — and with what a team would
//! pick today — Node.js fastify with an opossum breaker per dependency — in one run, on one
//! machine, over the same demo backends, driven by `wrk`. Every row gives throughput, latency,
//! failures, fallbacks and the **server's CPU time per request** (from `/proc`, steadier than
//! throughput on a shared machine), and its ratio to the table's baseline.
//!
//! `load [--secs N] [--scenario fanout|tvhome|empty|monkey|failing|burst|hostile|all] [--out DIR]`
//! expects the release binaries beside it, `wrk` and `node` on the PATH and `bench/node`'s packages
//! installed: `bench/load.sh` sees to all of that.

mod chart;
mod procs;
mod scenarios;
mod wrk;

use std::path::PathBuf;

use procs::Paths;
use scenarios::{Run, Table};

const SCENARIOS: [&str; 7] = ["fanout", "tvhome", "empty", "monkey", "failing", "burst", "hostile"];

fn main() {
    let mut secs = 10;
    let mut scenario = "all".to_owned();
    let mut out = PathBuf::from("target/load");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().and_then(|v| v.parse().ok()).expect("--secs N"),
            "--scenario" => scenario = args.next().expect("--scenario NAME"),
            "--out" => out = args.next().map(PathBuf::from).expect("--out DIR"),
            other => panic!("unknown argument {other}; usage: load [--secs N] [--scenario NAME|all] [--out DIR]"),
        }
    }
    let chosen: Vec<&str> = if scenario == "all" { SCENARIOS.to_vec() } else { vec![scenario.as_str()] };
    if let Some(bad) = chosen.iter().find(|s| !SCENARIOS.contains(s)) {
        eprintln!("unknown scenario `{bad}`: one of {}, or all", SCENARIOS.join(", "));
        std::process::exit(2);
    }
    let bin = std::env::current_exe().ok().and_then(|p| p.parent().map(PathBuf::from)).expect("where the binaries are");
    let root = std::env::current_dir().expect("the repository root");
    std::fs::create_dir_all(&out).expect("output directory");
    let scratch = tempfile_dir();
    let paths = Paths { bin, root, scratch: scratch.clone() };
    let backends = procs::demo_backends(&paths);
    let run = Run { paths, secs, backends };
    println!("load harness: {secs} s per measurement, {} cores, wrk -t2, users at random", cores());
    for name in chosen {
        let table = match name {
            "fanout" => run.fanout(32, "fanout: the same six calls over HTTP, 32 connections"),
            "burst" => run.fanout(320, "burst: the fan-out with 10× the connections (320)"),
            "failing" => run.failing(),
            "empty" => run.empty(),
            "tvhome" => run.tvhome(),
            "hostile" => run.hostile(),
            "monkey" => {
                let (table, series) = run.monkey();
                let file = out.join("monkey.svg");
                let (healthy, slow, _) = scenarios::monkey_phases(run.secs);
                std::fs::write(&file, chart::throughput(&series, healthy, slow)).expect("chart");
                println!("(throughput over time: {})", file.display());
                table
            }
            _ => unreachable!("checked above"),
        };
        print!("{}", render(&table));
    }
    drop(run);
    let _ = std::fs::remove_dir_all(scratch);
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// One table, as text.
fn render(table: &Table) -> String {
    let base = &table.rows[table.baseline].1;
    let mut out = format!(
        "\n## {}\n{:<40} {:>9} {:>9} {:>9} {:>8} {:>9} {:>10} {:>7} {:>7}\n",
        table.title, "target", "rps", "p50 ms", "p99 ms", "non-2xx", "fallbacks", "CPU µs/req", "× rps", "× CPU"
    );
    for (name, s) in &table.rows {
        out.push_str(&format!(
            "{:<40} {:>9.0} {:>9.2} {:>9.2} {:>8} {:>9} {:>10.0} {:>7.2} {:>7.2}\n",
            name,
            s.rps,
            s.p50_ms,
            s.p99_ms,
            s.non_2xx,
            s.fallbacks.map_or("-".to_owned(), |f| f.to_string()),
            s.cpu_us,
            s.rps / base.rps.max(f64::MIN_POSITIVE),
            s.cpu_us / base.cpu_us.max(f64::MIN_POSITIVE),
        ));
    }
    for note in &table.notes {
        out.push_str(&format!("  {note}\n"));
    }
    out
}
