//! The load harness (design §12, `bench/load.sh`): Switchyard side by side with the ceiling — a
//! bare actix-web handler making the same calls with no protection — and with what a team would
//! pick today — Node.js fastify with an opossum breaker per dependency — in one run, on one
//! machine, over the same demo backends, driven by `wrk`. Every row gives throughput, latency,
//! failures, fallbacks and the **server's CPU time per request** (from `/proc`, steadier than
//! throughput on a shared machine), and its ratio to the table's baseline.
//!
//! `load [--secs N] [--scenario fanout|tvhome|empty|monkey|failing|burst|hostile|soak|all] [--out DIR]`
//! (`all`: the first seven; the soak, whose N is its whole length, runs only when named) expects the release binaries beside it, `wrk` and `node` on the PATH and `bench/node`'s packages
//! installed: `bench/load.sh` sees to all of that.

mod chart;
mod procs;
mod scenarios;
mod soak;
mod wrk;

use std::path::PathBuf;

use procs::Paths;
use scenarios::{Run, Table};

/// What `all` runs.
const SCENARIOS: [&str; 7] = ["fanout", "tvhome", "empty", "monkey", "failing", "burst", "hostile"];
/// Run only when named: the soak is as long as `--secs` says (30 minutes for its real figures).
const ALONE: [&str; 1] = ["soak"];
const USAGE: &str = "usage: load [--secs N] [--scenario fanout|tvhome|empty|monkey|failing|burst|hostile|soak|all] [--out DIR]\n\
  --secs N: seconds per measurement; for soak, the soak's whole length (capacity and pacing are measured before it)\n\
  all: the first seven scenarios; soak runs only when named (bench/load.sh --scenario soak --secs 1800)";

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
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            other => panic!("unknown argument {other}\n{USAGE}"),
        }
    }
    let chosen: Vec<&str> = if scenario == "all" { SCENARIOS.to_vec() } else { vec![scenario.as_str()] };
    if let Some(bad) = chosen.iter().find(|s| !SCENARIOS.contains(s) && !ALONE.contains(s)) {
        eprintln!("unknown scenario `{bad}`\n{USAGE}");
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
    let mut failed = false;
    for name in chosen {
        if name == "soak" {
            failed |= !soak::soak(&run, &out);
            continue;
        }
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
    if failed {
        std::process::exit(1);
    }
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
