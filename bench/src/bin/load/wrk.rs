//! One measurement: `wrk` against one target for a while, with the target's CPU time read before
//! and after, so each row says what a request cost the server, not only how many it answered.

use std::path::Path;
use std::process::Command;

use crate::procs::Server;

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Answers that were not 2xx/3xx, plus socket errors.
    pub non_2xx: u64,
    /// Calls answered by a fallback (Switchyard only).
    pub fallbacks: Option<u64>,
    /// Server CPU time per request, µs.
    pub cpu_us: f64,
}

/// The load: how long, how many connections, which path.
pub struct Load<'a> {
    /// Seconds.
    pub secs: u64,
    /// Open connections (2 wrk threads).
    pub connections: u32,
    /// Path on the target; each request adds a random `user`.
    pub path: &'a str,
}

/// Runs `wrk` with `load` against `server`.
pub fn measure(server: &Server, load: &Load<'_>, lua: &Path) -> Sample {
    measure_text(server, load, lua).0
}

/// [`measure`], with wrk's whole output (for what a Lua script printed).
pub fn measure_text(server: &Server, load: &Load<'_>, lua: &Path) -> (Sample, String) {
    measure_args(server, load, lua, &[])
}

/// [`measure_text`], with more arguments for the Lua script after the path.
pub fn measure_args(server: &Server, load: &Load<'_>, lua: &Path, script_args: &[&str]) -> (Sample, String) {
    let fallbacks_before = crate::procs::fallbacks(server);
    let cpu_before = server.cpu_seconds();
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", load.connections),
            &format!("-d{}s", load.secs),
            "--latency",
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(lua)
        .arg(&server.url)
        .args(["--", load.path])
        .args(script_args)
        .output()
        .expect("wrk runs (bench/load.sh installs it)");
    let cpu = server.cpu_seconds() - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut sample = parse(&text);
    sample.fallbacks = fallbacks_before.zip(crate::procs::fallbacks(server)).map(|(a, b)| b.saturating_sub(a));
    if sample.requests > 0 {
        sample.cpu_us = cpu * 1e6 / sample.requests as f64;
    }
    (sample, text.into_owned())
}

/// Reads wrk's report.
pub fn parse(text: &str) -> Sample {
    let mut sample = Sample::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => sample.p50_ms = millis(value),
            ["99%", value] => sample.p99_ms = millis(value),
            ["Requests/sec:", value] => sample.rps = value.parse().unwrap_or(0.0),
            [count, "requests", "in", ..] => sample.requests = count.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", count] => sample.non_2xx += count.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                sample.non_2xx += rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>();
            }
            _ => {}
        }
    }
    sample
}

/// The socket errors (connect, read, write, timeout) in wrk's report; [`Sample::non_2xx`] counts
/// them together with the non-2xx answers.
pub fn socket_errors(text: &str) -> u64 {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("Socket errors:"))
        .flat_map(|rest| rest.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()))
        .sum()
}

/// `1.23ms`, `456.00us`, `2.01s` → milliseconds.
fn millis(value: &str) -> f64 {
    let split = value.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().unwrap_or(0.0);
    match unit {
        "us" => number / 1000.0,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrks_report() {
        let text = "Running 3s test @ http://127.0.0.1:1\n  Latency Distribution\n     50%    1.50ms\n     75%  800.00us\n     99%    2.01s\n  3000 requests in 3.00s, 1.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 7\nRequests/sec:   1000.50\n";
        let s = parse(text);
        assert_eq!((s.requests, s.non_2xx), (3000, 10));
        assert_eq!(socket_errors(text), 3);
        assert!((s.p50_ms - 1.5).abs() < 1e-9 && (s.p99_ms - 2010.0).abs() < 1e-9 && (s.rps - 1000.5).abs() < 1e-9);
    }
}
