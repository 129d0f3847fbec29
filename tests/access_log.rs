//! The access log (design §8): one JSON line per device request, whatever its outcome, with the
//! design's fields, through `tracing` in the format `[log]` chooses. Its own test binary: it
//! installs the process's one log subscriber, writing into memory.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::TestServer;
use switchyard::logging::{LogConfig, LogFormat, install};

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[actix_rt::test]
async fn every_device_request_writes_one_json_access_line() {
    let captured = Captured::default();
    let config = LogConfig { format: LogFormat::Json, ..LogConfig::default() };
    assert!(install(&config, "warn,switchyard::access=info", captured.clone()), "the first subscriber");
    let s = TestServer::start(|_| {});

    let mut sent = Vec::new();
    for (path, accept) in [
        ("/tv/home?user=7", "application/json"),
        ("/nowhere/at-all", "application/json"),
        ("/ps3/home?user=3", "application/x-ndjson"),
    ] {
        let response = s.client.get(format!("{}{path}", s.url)).header("accept", accept).send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let status = response.status().as_u16();
        let _ = response.bytes().await.unwrap();
        sent.push((id, status, path));
    }
    // A streamed answer logs after its last line: give the worker a moment to drop it.
    let mut lines: Vec<Value> = Vec::new();
    for _ in 0..200 {
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        lines = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .filter(|l| l["target"] == "switchyard::access")
            .collect();
        if lines.len() >= sent.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(lines.len(), sent.len(), "one line per request: {lines:?}");
    for (id, status, path) in &sent {
        let line = lines.iter().find(|l| l["request_id"] == id.as_str()).unwrap_or_else(|| panic!("{id}: {lines:?}"));
        assert_eq!(line["status"], *status, "{line}");
        assert_eq!(line["method"], "GET");
        assert_eq!(line["path"], path.split('?').next().unwrap());
        for field in ["timestamp", "duration_ms", "endpoint", "revision", "device", "calls"] {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
    }
    let tv = lines.iter().find(|l| l["endpoint"] == "tv/home").unwrap();
    assert_eq!(
        (tv["revision"].as_u64(), tv["device"].as_str(), tv["calls"].as_u64()),
        (Some(1), Some("tv"), Some(219))
    );
    let missing = lines.iter().find(|l| l["status"] == 404).unwrap();
    assert_eq!(missing["endpoint"], "-");
}
