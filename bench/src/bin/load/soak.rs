//! The soak (issue 21 part 6; `bench/load.sh --scenario soak --secs N`): one Switchyard over the
//! demo backends' HTTP serves the fan-out for N seconds at about 70 % of the capacity measured just
//! before, while the harness toggles chaos on a dependency that has a fallback every 10 s and
//! publishes and activates a new revision of the fan-out every 15 s. Every second it reads the
//! server's resident memory and open file descriptors from `/proc`. It passes when both stay flat
//! — the mean over the last stretch of the run less than 10 % above the mean over the stretch
//! right after the warm-up — and nothing went wrong: no non-2xx answer, no socket error, every
//! publish, activation and chaos toggle answered. `all` leaves it out: its point is its length.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::chart;
use crate::procs::{self, Server};
use crate::scenarios::Run;
use crate::wrk::{self, Load};

/// Connections, as in the fan-out table: capacity is measured with them, and the soak paces them.
const CONNECTIONS: u32 = 32;
/// The share of the measured capacity the soak offers.
const SHARE: f64 = 0.70;
/// The capacity measurement (after a 2 s warm-up run) and each of the two pacing calibrations.
const CAPACITY_SECS: u64 = 5;
const CALIBRATION_SECS: u64 = 4;
/// Chaos on `ratings` (whose fallback is a static `[]`: chaos means fallbacks, not errors) is
/// switched on or off every 10 s; a new revision is published and activated every 15 s.
const CHAOS_EVERY: u64 = 10;
const PUBLISH_EVERY: u64 = 15;
const CHAOS_SERVICE: &str = "ratings";
const CHAOS: &str = r#"{"error_percent": 50}"#;
/// Flat: the late mean less than this many per cent above the mean right after the warm-up.
const GROWTH_LIMIT_PCT: f64 = 10.0;
const ENDPOINT: &str = "bench/fanout";

/// One second's reading, `t` seconds into the soak.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    /// Seconds since the soak began.
    pub t: f64,
    /// Switchyard's resident memory, KiB.
    pub rss_kib: u64,
    /// Switchyard's open file descriptors.
    pub fds: usize,
    /// The demo backends' resident memory, KiB (reported, not judged).
    pub backends_rss_kib: u64,
    /// The demo backends' open file descriptors (reported, not judged).
    pub backends_fds: usize,
}

/// What the harness's background thread did and saw.
#[derive(Default)]
struct Background {
    readings: Vec<Reading>,
    publishes: u64,
    publishes_failed: u64,
    toggles: u64,
    toggles_failed: u64,
    /// Seconds at which Switchyard could not be read any more (it exited).
    gone_at: Option<f64>,
}

/// One quantity over the soak: the mean right after the warm-up, the mean at the end, the most.
#[derive(Debug, PartialEq)]
pub struct Trend {
    /// Mean over the window right after the warm-up.
    pub after_warmup: f64,
    /// Mean over the last window.
    pub at_end: f64,
    /// Largest reading after the warm-up.
    pub max: f64,
    /// `at_end` over `after_warmup`, in per cent above it.
    pub growth_pct: f64,
}

/// The warm-up and the two windows the verdict compares, in seconds from the soak's start, for a
/// soak of `secs` whose last reading came at `last`: the warm-up is the first third (at least
/// 10 s); each window is 10 % of the run, but at least 20 s so it spans a whole chaos cycle.
///
/// A third, not a fifth: the server's bounded working set is only complete once every pooled
/// script runtime has retired its first warm context — after `MAX_FACTORIES` (32) revisions, 8
/// minutes at one publish per 15 s — and the pool has grown to the runtimes that round needs. The
/// 30-minute run of 2026-12-06 climbed 115 → 130 MiB from minute 7 to 14 and then stayed within
/// 0.6 % for 16 minutes: a fifth compared the plateau with the climb.
pub fn windows(secs: u64, last: f64) -> (f64, [(f64, f64); 2]) {
    let warmup = (secs as f64 / 3.0).max(10.0);
    let span = (0.1 * secs as f64).max(2.0 * CHAOS_EVERY as f64);
    (warmup, [(warmup, warmup + span), ((last - span).max(warmup), last)])
}

/// `value` over the readings: `None` when either window holds no reading (the run was too short).
pub fn trend(readings: &[Reading], value: impl Fn(&Reading) -> f64, warmup: f64, w: [(f64, f64); 2]) -> Option<Trend> {
    let mean = |(from, to): (f64, f64)| {
        let v: Vec<f64> = readings.iter().filter(|r| r.t >= from && r.t <= to).map(&value).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let (after_warmup, at_end) = (mean(w[0])?, mean(w[1])?);
    let max = readings.iter().filter(|r| r.t >= warmup).map(&value).fold(0.0, f64::max);
    Some(Trend { after_warmup, at_end, max, growth_pct: 100.0 * (at_end / after_warmup.max(f64::MIN_POSITIVE) - 1.0) })
}

/// Runs the soak of `run.secs` seconds, prints its table, writes `soak.svg` and `soak.csv` into
/// `out`; whether it passed.
pub fn soak(run: &Run, out: &Path) -> bool {
    let root = &run.paths.root;
    let server = procs::switchyard(&run.paths, "switchyard-soak", Some(&run.backends.url));
    procs::publish(&server, ENDPOINT, "fanout.js", &run.paths);
    let path = format!("/{ENDPOINT}");
    let full = root.join("bench/wrk/users.lua");
    let paced = root.join("bench/wrk/paced.lua");
    let load = |secs| Load { secs, connections: CONNECTIONS, path: &path };

    wrk::measure(&server, &load(2), &full);
    let capacity = wrk::measure(&server, &load(CAPACITY_SECS), &full).rps;
    let target = SHARE * capacity;
    // Each connection offers 1000 / (pause + latency) requests a second; the latency at the
    // target is unknown until tried, so try, read it off, and correct the pause twice.
    let period = f64::from(CONNECTIONS) * 1000.0 / target.max(1.0);
    let mut pause = period;
    for _ in 0..2 {
        let got = wrk::measure_args(&server, &load(CALIBRATION_SECS), &paced, &[&format!("{pause:.2}")]).0.rps;
        let latency = f64::from(CONNECTIONS) * 1000.0 / got.max(1.0) - pause;
        pause = (period - latency).max(0.0);
    }
    println!(
        "soak: capacity {capacity:.0} rps; pacing {CONNECTIONS} connections with {pause:.2} ms before each request for ~{target:.0} rps, {} s",
        run.secs
    );

    let stop = AtomicBool::new(false);
    let background = Mutex::new(Background::default());
    let (sample, text) = std::thread::scope(|scope| {
        scope.spawn(|| in_background(run, &server, &stop, &background));
        let result = wrk::measure_args(&server, &load(run.secs), &paced, &[&format!("{pause:.2}")]);
        stop.store(true, Ordering::SeqCst);
        result
    });
    let bg = background.into_inner().unwrap_or_else(|e| e.into_inner());
    let socket = wrk::socket_errors(&text);
    let non_2xx = sample.non_2xx.saturating_sub(socket);

    let last = bg.readings.last().map_or(0.0, |r| r.t);
    let (warmup, w) = windows(run.secs, last);
    let rss = trend(&bg.readings, |r| r.rss_kib as f64 / 1024.0, warmup, w);
    let fds = trend(&bg.readings, |r| r.fds as f64, warmup, w);
    let backends_rss = trend(&bg.readings, |r| r.backends_rss_kib as f64 / 1024.0, warmup, w);
    let backends_fds = trend(&bg.readings, |r| r.backends_fds as f64, warmup, w);
    let flat = |t: &Option<Trend>| t.as_ref().is_some_and(|t| t.growth_pct < GROWTH_LIMIT_PCT);
    let errors = non_2xx + socket + bg.publishes_failed + bg.toggles_failed + u64::from(bg.gone_at.is_some());
    let passed = errors == 0 && flat(&rss) && flat(&fds) && sample.requests > 0;

    let share = 100.0 * sample.rps / capacity.max(1.0);
    let trend_text = |t: &Option<Trend>, unit: &str| match t {
        Some(t) => format!("{:.1} / {:.1} {unit} ({:+.1} %), max {:.1}", t.after_warmup, t.at_end, t.growth_pct, t.max),
        None => "no readings in a window: the run is too short".to_owned(),
    };
    let mut table = format!(
        "\n## soak: {} s of the fan-out at ~{:.0} % of capacity; chaos on {CHAOS_SERVICE} ({CHAOS}) toggled every {CHAOS_EVERY} s, a revision published and activated every {PUBLISH_EVERY} s\n",
        run.secs,
        100.0 * SHARE
    );
    let rows = [
        ("capacity", format!("{capacity:.0} rps ({CAPACITY_SECS} s, {CONNECTIONS} connections, full load)")),
        (
            "soak rate",
            format!(
                "{:.0} rps = {share:.0} % of capacity (p50 {:.2} ms, p99 {:.2} ms)",
                sample.rps, sample.p50_ms, sample.p99_ms
            ),
        ),
        ("requests", sample.requests.to_string()),
        ("non-2xx answers", non_2xx.to_string()),
        ("socket errors", socket.to_string()),
        ("fallbacks", sample.fallbacks.map_or("-".to_owned(), |f| f.to_string())),
        ("server CPU", format!("{:.0} µs per request", sample.cpu_us)),
        ("publishes (failed)", format!("{} ({})", bg.publishes, bg.publishes_failed)),
        ("chaos toggles (failed)", format!("{} ({})", bg.toggles, bg.toggles_failed)),
        (
            "warm-up; windows compared",
            format!("{warmup:.0} s; {:.0}–{:.0} s and {:.0}–{:.0} s", w[0].0, w[0].1, w[1].0, w[1].1),
        ),
        ("RSS after warm-up / at end", trend_text(&rss, "MiB")),
        ("open fds after warm-up / at end", trend_text(&fds, "")),
        ("demo backends' RSS (not judged)", trend_text(&backends_rss, "MiB")),
        ("demo backends' fds (not judged)", trend_text(&backends_fds, "")),
    ];
    for (name, value) in rows {
        table.push_str(&format!("{name:<34} {value}\n"));
    }
    if let Some(t) = bg.gone_at {
        table.push_str(&format!("  Switchyard exited {t:.0} s into the soak\n"));
    }
    // What went wrong, from the server's side: its warnings and errors, counted by kind.
    let log = std::fs::read_to_string(run.paths.scratch.join("switchyard-soak.log")).unwrap_or_default();
    for (count, kind) in log_kinds(&log) {
        table.push_str(&format!("  Switchyard logged {count}× {kind}\n"));
    }
    if !(60.0..=75.0).contains(&share) {
        table.push_str(
            "  the rate is outside 60–75 % of capacity: the machine's load moved between measuring and soaking\n",
        );
    }
    table.push_str(&format!(
        "  verdict: {} (growth < {GROWTH_LIMIT_PCT:.0} % for RSS and fds, zero errors: {errors})\n",
        if passed { "PASS" } else { "FAIL" }
    ));
    print!("{table}");

    let series =
        |name: &str, f: fn(&Reading) -> f64| (name.to_owned(), bg.readings.iter().map(|r| (r.t, f(r))).collect());
    let svg = chart::over_time(
        &[
            series("Switchyard resident memory, MiB (soak)", |r| r.rss_kib as f64 / 1024.0),
            series("Switchyard open file descriptors (soak)", |r| r.fds as f64),
        ],
        warmup,
        w,
    );
    let csv: String = std::iter::once("t_s,rss_kib,fds,backends_rss_kib,backends_fds\n".to_owned())
        .chain(
            bg.readings
                .iter()
                .map(|r| format!("{:.1},{},{},{},{}\n", r.t, r.rss_kib, r.fds, r.backends_rss_kib, r.backends_fds)),
        )
        .collect();
    std::fs::write(out.join("soak.svg"), svg).expect("soak.svg");
    std::fs::write(out.join("soak.csv"), csv).expect("soak.csv");
    println!(
        "(RSS and fds over time: {}, every reading: {})",
        out.join("soak.svg").display(),
        out.join("soak.csv").display()
    );
    passed
}

/// The harness's background thread while wrk runs: every second a reading, every
/// [`CHAOS_EVERY`] s a chaos toggle, every [`PUBLISH_EVERY`] s a publish and its activation; at
/// the end chaos is cleared.
fn in_background(run: &Run, server: &Server, stop: &AtomicBool, background: &Mutex<Background>) {
    let start = SystemTime::now();
    let elapsed = || start.elapsed().unwrap_or_default().as_secs_f64();
    let source = std::fs::read_to_string(run.paths.root.join("bench/scripts/fanout.js")).expect("fanout.js");
    let file = run.paths.scratch.join("soak-fanout.js");
    let record = |f: &mut dyn FnMut(&mut Background)| f(&mut background.lock().unwrap_or_else(|e| e.into_inner()));
    let mut chaos_on = false;
    let mut second = 0;
    while !stop.load(Ordering::SeqCst) {
        second += 1;
        let wait = second as f64 - elapsed();
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait));
        } else if wait < -1.0 {
            // Fell behind (a slow publish on a busy machine): go on from now.
            second = elapsed().floor() as u64;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let reading = (server.rss_kib(), server.open_fds());
        let t = elapsed();
        match reading {
            (Some(rss_kib), Some(fds)) => record(&mut |b| {
                b.readings.push(Reading {
                    t,
                    rss_kib,
                    fds,
                    backends_rss_kib: run.backends.rss_kib().unwrap_or(0),
                    backends_fds: run.backends.open_fds().unwrap_or(0),
                })
            }),
            _ => {
                record(&mut |b| b.gone_at = b.gone_at.or(Some(t)));
                break;
            }
        }
        if second % CHAOS_EVERY == 0 {
            chaos_on = !chaos_on;
            let ok = procs::try_chaos(&run.backends, CHAOS_SERVICE, chaos_on.then_some(CHAOS));
            record(&mut |b| {
                b.toggles += 1;
                b.toggles_failed += u64::from(!ok);
            });
        }
        if second % PUBLISH_EVERY == 0 {
            // A comment with the count makes each publish a new revision (same source, same SHA).
            let n = second / PUBLISH_EVERY;
            let ok = std::fs::write(&file, format!("{source}// soak publish {n}\n")).is_ok()
                && procs::publish_file(server, ENDPOINT, &file)
                    .is_some_and(|rev| procs::activate(server, ENDPOINT, rev));
            record(&mut |b| {
                b.publishes += 1;
                b.publishes_failed += u64::from(!ok);
            });
        }
    }
    if chaos_on {
        let ok = procs::try_chaos(&run.backends, CHAOS_SERVICE, None);
        record(&mut |b| {
            b.toggles += 1;
            b.toggles_failed += u64::from(!ok);
        });
    }
}

/// The warnings and errors of a Switchyard log, each without its time, URLs and fields, counted
/// by what is left; the most frequent first.
pub fn log_kinds(log: &str) -> Vec<(usize, String)> {
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for line in log.lines() {
        let plain = strip_ansi(line);
        let Some((level, rest)) =
            [" WARN ", " ERROR "].iter().find_map(|l| plain.split_once(l).map(|(_, r)| (l.trim(), r)))
        else {
            continue;
        };
        // `target: message field=value …`: drop the target, the fields and any (http://…) part.
        let message = rest.split_once(": ").map_or(rest, |(_, m)| m);
        let mut words: Vec<&str> = message.split_whitespace().collect();
        while words.last().is_some_and(|w| w.contains('=')) {
            words.pop();
        }
        let kind: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("(http")).collect();
        *kinds.entry(format!("{level} {}", kind.join(" "))).or_default() += 1;
    }
    let mut counted: Vec<(usize, String)> = kinds.into_iter().map(|(k, n)| (n, k)).collect();
    counted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    counted
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(values: &[u64]) -> Vec<Reading> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Reading { t: (i + 1) as f64, rss_kib: *v, ..Reading::default() })
            .collect()
    }

    #[test]
    fn log_warnings_are_counted_by_kind() {
        let line = |user: u32| {
            format!(
                "\u{1b}[2m2026-12-06T04:12:15.485964Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m \u{1b}[2mswitchyard::public::respond\u{1b}[0m\u{1b}[2m:\u{1b}[0m dependency (502): users: request failed: error sending request for url (http://127.0.0.1:1/users/{user}): connection closed \u{1b}[3mendpoint\u{1b}[0m\u{1b}[2m=\u{1b}[0mbench/fanout \u{1b}[3mrequest_id\u{1b}[0m\u{1b}[2m=\u{1b}[0m{user}"
            )
        };
        let log = format!("{}\nsomething else\n{}\n", line(1), line(2));
        let kinds = log_kinds(&log);
        assert_eq!(
            kinds,
            vec![(
                2,
                "WARN dependency (502): users: request failed: error sending request for url connection closed"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn the_warm_up_is_a_third_and_the_windows_a_tenth_but_at_least_a_chaos_cycle() {
        assert_eq!(windows(1800, 1800.0), (600.0, [(600.0, 780.0), (1620.0, 1800.0)]));
        assert_eq!(windows(60, 60.0), (20.0, [(20.0, 40.0), (40.0, 60.0)]));
        assert_eq!(windows(20, 20.0).0, 10.0);
    }

    #[test]
    fn growth_compares_the_late_mean_with_the_mean_after_the_warm_up() {
        // Ten seconds of warm-up climbing to 100, then 100 for a while, then 120 at the end.
        let mut values: Vec<u64> = (1..=10).map(|v| v * 10).collect();
        values.extend([100; 40]);
        values.extend([120; 10]);
        let r = readings(&values);
        let t = trend(&r, |r| r.rss_kib as f64, 10.0, [(10.0, 20.0), (51.0, 60.0)]).expect("both windows");
        assert_eq!((t.after_warmup, t.at_end, t.max), (100.0, 120.0, 120.0));
        assert!((t.growth_pct - 20.0).abs() < 1e-9);
        assert_eq!(trend(&r, |r| r.rss_kib as f64, 10.0, [(100.0, 110.0), (51.0, 60.0)]), None);
    }
}
