//! The built-in dashboard in a real browser (design §8): a server on 127.0.0.1:0 with device
//! traffic flowing, Debian's chromium driven by `tests/browser/dashboard.mjs` (playwright-core)
//! loads `/dashboard?token=…`, sees dependency and endpoint tiles appear and update from the live
//! stream, and sees the `ratings` tile turn red once chaos makes every ratings call fail. The run
//! takes a screenshot (`SWITCHYARD_SCREENSHOT=docs/dashboard.png` makes it the README's). The browser is part of the suite:
//! `tests/browser/setup.sh` installs it (and playwright-core) when missing, and its failure fails
//! the test.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, TestServer};
use tokio::time::Instant;

/// Every check the driver prints, in order.
const CHECKS: [&str; 6] = ["page loads", "tiles appear", "tiles update", "turns red", "screenshot", "no script errors"];
/// The whole browser run, setup excluded (its own waits are 20-30 s each, bounded).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(90);
/// Where the screenshot goes: the test's scratch directory, or `SWITCHYARD_SCREENSHOT` (an absolute
/// path, or one relative to the crate root) — `SWITCHYARD_SCREENSHOT=docs/dashboard.png` refreshes
/// the README's picture.
fn screenshot_path() -> String {
    std::env::var("SWITCHYARD_SCREENSHOT").unwrap_or_else(|_| format!("{}/dashboard.png", env!("CARGO_TARGET_TMPDIR")))
}

/// The driver process, killed if the test ends before it does.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A few device requests a second on two endpoints (both call `ratings`) until `stop`.
async fn drive_traffic(client: reqwest::Client, url: String, stop: Arc<AtomicBool>) {
    let mut user = 0u32;
    while !stop.load(Ordering::Relaxed) {
        user = user % 1000 + 1;
        for path in ["tv", "ps3"] {
            if let Ok(response) = client.get(format!("{url}/{path}/home?user={user}")).send().await {
                let _ = response.bytes().await;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The driver's JSON line for `check`, if `line` is one.
fn check_of(line: &str) -> Option<(String, bool)> {
    let value: Value = serde_json::from_str(line).ok()?;
    Some((value["check"].as_str()?.to_owned(), value["ok"].as_bool()?))
}

#[actix_rt::test]
async fn the_dashboard_shows_live_tiles_that_update_and_turn_red_when_a_dependency_fails() {
    let root = env!("CARGO_MANIFEST_DIR");
    let setup = actix_web::rt::task::spawn_blocking(move || {
        Command::new("bash").arg("tests/browser/setup.sh").current_dir(root).output().expect("bash runs")
    })
    .await
    .expect("joined");
    assert!(
        setup.status.success(),
        "tests/browser/setup.sh failed ({}): the browser test needs chromium and playwright-core\n{}\n{}",
        setup.status,
        String::from_utf8_lossy(&setup.stdout),
        String::from_utf8_lossy(&setup.stderr)
    );

    let screenshot = screenshot_path();
    let s = TestServer::start(|_| {});
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = actix_rt::spawn(drive_traffic(s.client.clone(), s.url.clone(), stop.clone()));

    let mut driver = Driver(
        Command::new("node")
            .args(["tests/browser/dashboard.mjs", &s.admin, ADMIN, &screenshot])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs"),
    );
    // Its output, read on threads of their own: stdout line by line as it comes, stderr whole.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = driver.0.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut stderr = driver.0.stderr.take().expect("piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let deadline = Instant::now() + DRIVER_TIMEOUT;
    let mut seen: Vec<String> = Vec::new();
    let mut chaos = None;
    loop {
        match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => {
                // The tiles are live: now make every ratings call fail, so its breaker opens.
                if chaos.is_none() && check_of(&line) == Some(("tiles update".into(), true)) {
                    let request = s
                        .admin_request(Method::PUT, "/admin/v1/dependencies/ratings/chaos", Some(ADMIN))
                        .json(&json!({"error_percent": 100}));
                    chaos = Some(s.send(request).await);
                }
                seen.push(line);
            }
            Ok(None) => break,
            Err(_) => {
                drop(driver);
                panic!(
                    "the browser driver did not finish within {DRIVER_TIMEOUT:?}; its output so far:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let status = loop {
        if let Some(status) = driver.0.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "the driver closed its output but did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);
    traffic.abort();
    let stderr = stderr.join().unwrap_or_default();
    let output = format!("stdout:\n{}\nstderr:\n{stderr}", seen.join("\n"));

    if let Some((code, body)) = &chaos {
        assert_eq!(*code, 200, "PUT …/ratings/chaos: {body}\n{output}");
    }
    assert!(status.success(), "the browser driver failed ({status}):\n{output}");
    let passed: Vec<String> =
        seen.iter().filter_map(|line| check_of(line)).filter(|(_, ok)| *ok).map(|(name, _)| name).collect();
    for check in CHECKS {
        assert!(passed.iter().any(|name| name == check), "check `{check}` did not pass:\n{output}");
    }
    assert!(chaos.is_some(), "chaos was never injected:\n{output}");
    let png = std::fs::read(std::path::Path::new(root).join(&screenshot)).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{screenshot} is not a real screenshot");
    println!("{output}");
}
