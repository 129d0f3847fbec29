//! The scenarios of `bench/load.sh` (design §12): each starts the servers it compares, measures them
//! interleaved (so drift of a shared machine hits every target alike) and returns one table.

use std::process::{Child, Command, Stdio};

use crate::procs::{self, Paths, Server};
use crate::wrk::{Load, Sample, measure};

/// One scenario's result.
pub struct Table {
    /// What was measured.
    pub title: String,
    /// Target name and what it measured.
    pub rows: Vec<(String, Sample)>,
    /// The row the ratios are taken against.
    pub baseline: usize,
    /// Extra lines under the table.
    pub notes: Vec<String>,
}

/// What every scenario shares.
pub struct Run {
    /// Binaries, repository, scratch space.
    pub paths: Paths,
    /// Seconds per measurement.
    pub secs: u64,
    /// The demo services over HTTP, shared by every target.
    pub backends: Server,
}

const CONNECTIONS: u32 = 32;

impl Run {
    fn lua(&self) -> std::path::PathBuf {
        self.paths.root.join("bench/wrk/users.lua")
    }

    fn load<'a>(&self, path: &'a str) -> Load<'a> {
        Load { secs: self.secs, connections: CONNECTIONS, path }
    }

    /// Each target measured `rounds` times, the order turned around every round; the mean per target.
    fn interleaved(&self, targets: &[(&Server, &str)], connections: u32, rounds: usize) -> Vec<(String, Sample)> {
        let mut sums: Vec<Vec<Sample>> = vec![Vec::new(); targets.len()];
        for round in 0..rounds {
            let order: Vec<usize> =
                if round % 2 == 0 { (0..targets.len()).collect() } else { (0..targets.len()).rev().collect() };
            for i in order {
                let (server, path) = targets[i];
                let load = Load { connections, ..self.load(path) };
                sums[i].push(measure(server, &load, &self.lua()));
            }
        }
        targets.iter().zip(sums).map(|((server, _), samples)| (server.name.clone(), mean(&samples))).collect()
    }

    fn http_targets(&self) -> (Server, Server, Server) {
        let switchyard = procs::switchyard(&self.paths, "switchyard", Some(&self.backends.url));
        procs::publish(&switchyard, "bench/fanout", "fanout.js", &self.paths);
        (procs::bare(&self.paths, &self.backends.url), switchyard, procs::node(&self.paths, &self.backends.url))
    }

    /// The six-call fan-out over HTTP: bare handler, Switchyard script, Node + opossum.
    pub fn fanout(&self, connections: u32, title: &str) -> Table {
        let (bare, switchyard, node) = self.http_targets();
        let rows =
            self.interleaved(&[(&bare, "/fanout"), (&switchyard, "/bench/fanout"), (&node, "/fanout")], connections, 2);
        let notes = procs::isolation_cost(&switchyard)
            .map(|(dependency, mean, p99)| {
                format!(
                    "switchyard's isolation cost (whole call − backend execution), worst dependency ({dependency}): \
                     mean {mean:.3} ms, p99 {p99:.3} ms (target < 0.05 ms at p99)"
                )
            })
            .into_iter()
            .collect();
        Table { title: title.to_owned(), rows, baseline: 0, notes }
    }

    /// The fan-out with one dependency answering 500 to everything.
    pub fn failing(&self) -> Table {
        procs::chaos(&self.backends, "ratings", Some(r#"{"error_percent": 100}"#));
        let mut table = self.fanout(CONNECTIONS, "failing: ratings answers 500 to every call");
        procs::chaos(&self.backends, "ratings", None);
        table.notes.push("bare answers 502 (non-2xx); Switchyard and Node answer with the ratings fallback".into());
        table
    }

    /// The script runtime's floor beside `/healthz` on the same server.
    pub fn empty(&self) -> Table {
        let switchyard = procs::switchyard(&self.paths, "switchyard-empty", None);
        procs::publish(&switchyard, "bench/empty", "empty.js", &self.paths);
        let mut health = self.interleaved(&[(&switchyard, "/healthz")], CONNECTIONS, 1);
        let empty = self.interleaved(&[(&switchyard, "/bench/empty")], CONNECTIONS, 1);
        health[0].0 = "switchyard /healthz".into();
        let mut rows = health;
        rows.push(("switchyard `export default () => 1`".into(), empty[0].1.clone()));
        let extra = rows[1].1.cpu_us - rows[0].1.cpu_us;
        Table {
            title: "empty: the script floor".into(),
            rows,
            baseline: 0,
            notes: vec![format!("script floor above /healthz: {extra:.0} µs CPU per request (target ≤ 40)")],
        }
    }

    /// The TV home sample as a script beside the same composition in Rust, both over Switchyard's
    /// dependency layer with the demo in-process.
    pub fn tvhome(&self) -> Table {
        let rust = procs::rusthome(&self.paths);
        let switchyard = procs::switchyard(&self.paths, "switchyard-tvhome", None);
        let rows = self.interleaved(&[(&rust, "/tv/home"), (&switchyard, "/tv/home")], 8, 2);
        let ratio = rows[1].1.cpu_us / rows[0].1.cpu_us.max(f64::MIN_POSITIVE);
        Table {
            title: "tvhome: /tv/home as a script and in Rust, demo in-process, 8 connections".into(),
            rows,
            baseline: 0,
            notes: vec![format!("script / Rust CPU per request: {ratio:.2}× (target ≤ 1.2×; ≤ 4 ms CPU per request)")],
        }
    }

    /// `/tv/home` alone, then while two clients hammer a `for(;;){}` endpoint on the same server.
    pub fn hostile(&self) -> Table {
        let switchyard = procs::switchyard(&self.paths, "switchyard-hostile", None);
        procs::publish(&switchyard, "bench/spin", "spin.js", &self.paths);
        let alone = self.interleaved(&[(&switchyard, "/tv/home")], 8, 1);
        let spinners: Vec<Child> = (0..2)
            .map(|_| {
                Command::new("wrk")
                    .args(["-t1", "-c1", &format!("-d{}s", self.secs + 2), &format!("{}/bench/spin", switchyard.url)])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("wrk")
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let beside = self.interleaved(&[(&switchyard, "/tv/home")], 8, 1);
        for mut spinner in spinners {
            let _ = spinner.kill();
            let _ = spinner.wait();
        }
        let ratio = beside[0].1.p99_ms / alone[0].1.p99_ms.max(0.001);
        Table {
            title: "hostile: /tv/home beside two clients on a for(;;){} endpoint".into(),
            rows: vec![
                ("tv/home alone".into(), alone[0].1.clone()),
                ("tv/home beside the spinners".into(), beside[0].1.clone()),
            ],
            baseline: 0,
            notes: vec![format!("p99 with the spinners: {ratio:.2}× alone (target ≤ 1.5×)")],
        }
    }

    /// One dependency made 2 s slow mid-run, then healed: one continuous run per target, its
    /// successful answers counted second by second. The slow phase is measured in two parts: its
    /// onset (the breaker opening, its first sleep window and first trial) and what follows, so
    /// the latency after the first sleep window has a row of its own.
    pub fn monkey(&self) -> (Table, Vec<(String, Vec<f64>)>) {
        let (bare, switchyard, node) = self.http_targets();
        // The slow phase outlasts the breaker's 10 s window (a breaker without a recent view
        // needs that long for the error rate to cross 50 %); its onset spans a second to open,
        // the 5 s sleep window and the 1 s trial.
        let (healthy_secs, slow_secs, healed_secs) = monkey_phases(self.secs);
        let onset = MONKEY_ONSET_SECS.min(slow_secs - 1);
        let phases = [healthy_secs, onset, slow_secs - onset, healed_secs];
        let (mut series, mut rows, mut notes) = (Vec::new(), Vec::new(), Vec::new());
        let lua = self.paths.root.join("bench/wrk/per_second.lua");
        for (server, path) in [(&bare, "/fanout"), (&switchyard, "/bench/fanout"), (&node, "/fanout")] {
            // One wrk run per phase, back to back: each phase's latency and failures of its own,
            // and its answers counted second by second for the chart.
            let mut per_second = Vec::new();
            let mut samples = Vec::new();
            for (k, secs) in phases.iter().enumerate() {
                match k {
                    1 => procs::chaos(&self.backends, "ratings", Some(r#"{"latency_ms": 2000}"#)),
                    3 => procs::chaos(&self.backends, "ratings", None),
                    _ => {}
                }
                let (sample, seconds) =
                    measure_with_seconds(server, &Load { secs: *secs, connections: CONNECTIONS, path }, &lua);
                per_second.extend(seconds);
                samples.push(sample);
            }
            let slow_from = phases[0] as usize;
            let healed_from = slow_from + slow_secs as usize;
            let part = |from: usize, secs: u64| -> &[f64] {
                let from = from.min(per_second.len());
                &per_second[from..(from + secs as usize).min(per_second.len())]
            };
            let healthy = samples[0].rps;
            let slow_rps =
                (samples[1].rps * onset as f64 + samples[2].rps * (slow_secs - onset) as f64) / slow_secs as f64;
            let within = |v: &[f64]| v.iter().position(|rps| *rps >= 0.9 * healthy);
            notes.push(format!(
                "{}: {:.0} % of healthy throughput over the slow phase ({} into it); p99 after its first {} s {:.2}× healthy; back to 90 % {}",
                server.name,
                100.0 * slow_rps / healthy.max(1.0),
                within(part(slow_from, slow_secs)).map_or("never at 90 %".to_owned(), |s| format!("at 90 % again {s} s")),
                onset,
                samples[2].p99_ms / samples[0].p99_ms.max(0.001),
                within(part(healed_from, healed_secs))
                    .map_or("not within the run".to_owned(), |s| format!("{s} s after the heal"))
            ));
            let labels = [
                "healthy".to_owned(),
                format!("ratings +2 s, first {onset} s"),
                format!("ratings +2 s, after {onset} s"),
                "healed".to_owned(),
            ];
            for (sample, label) in samples.into_iter().zip(labels) {
                rows.push((format!("{} {label}", server.name), sample));
            }
            series.push((server.name.clone(), per_second));
        }
        let title = format!(
            "monkey: ratings 2 s slow for {slow_secs} s after {healthy_secs} s, then healed for {healed_secs} s"
        );
        (Table { title, rows, baseline: 0, notes }, series)
    }
}

/// The slow phase's onset in the monkey: a second for the breaker to open, its 5 s sleep window
/// and the 1 s trial.
const MONKEY_ONSET_SECS: u64 = 7;

/// The monkey's healthy, slow and healed phases in seconds, for `secs` per measurement.
pub fn monkey_phases(secs: u64) -> (u64, u64, u64) {
    (secs.max(3), (3 * secs).max(15), (2 * secs).max(10))
}

/// `measure` with `per_second.lua`: the sample and the successful answers of each second.
fn measure_with_seconds(server: &Server, load: &Load<'_>, lua: &std::path::Path) -> (Sample, Vec<f64>) {
    let (sample, text) = crate::wrk::measure_text(server, load, lua);
    let mut seconds: Vec<(u64, f64)> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("second ")?.split_whitespace();
            Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
        })
        .collect();
    seconds.sort_by_key(|(t, _)| *t);
    let first = seconds.first().map_or(0, |(t, _)| *t);
    let mut series = vec![0.0; load.secs as usize];
    for (t, n) in seconds {
        if let Some(slot) = series.get_mut((t - first) as usize) {
            *slot = n;
        }
    }
    (sample, series)
}

fn mean(samples: &[Sample]) -> Sample {
    let n = samples.len().max(1) as f64;
    let sum = |f: fn(&Sample) -> f64| samples.iter().map(f).sum::<f64>() / n;
    Sample {
        rps: sum(|s| s.rps),
        p50_ms: sum(|s| s.p50_ms),
        p99_ms: sum(|s| s.p99_ms),
        requests: samples.iter().map(|s| s.requests).sum(),
        non_2xx: samples.iter().map(|s| s.non_2xx).sum(),
        fallbacks: samples.iter().map(|s| s.fallbacks).sum(),
        cpu_us: sum(|s| s.cpu_us),
    }
}
