//! The listeners' own bounds (issue 21 part 7), over raw TCP on 127.0.0.1: a request head over
//! `server.max_header_bytes` is answered 431 with the JSON error on both listeners and counted in
//! `/metrics`; `server.max_connections` holds new connections unserved until one closes; a head
//! that does not arrive within `server.request_head_timeout_ms` is answered 408 and closed;
//! `server.keep_alive_ms = 0` closes each connection after its answer.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{ADMIN, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound on anything that should happen: a bug fails the test instead of hanging it.
const BOUND: Duration = Duration::from_secs(20);

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Sends `head` and reads one whole answer (the server closes, or the body is complete).
async fn exchange(stream: &mut TcpStream, head: &str) -> String {
    stream.write_all(head.as_bytes()).await.expect("write");
    read_answer(stream).await
}

/// Reads one answer: headers, then `content-length` bytes of body, or up to EOF.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    tokio::time::timeout(BOUND, async {
        loop {
            let text = String::from_utf8_lossy(&bytes).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok());
                if length.is_some_and(|n| bytes.len() >= end + 4 + n) {
                    return;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("an answer within the bound");
    String::from_utf8_lossy(&bytes).to_string()
}

fn body_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("a JSON body ({e}): {answer}"))
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{extra}\r\n")
}

#[actix_rt::test]
async fn a_head_over_max_header_bytes_is_a_431_json_error_on_both_listeners_and_counted() {
    let server = TestServer::start(|c| c.server.max_header_bytes = 4096);
    let big = format!("x-big: {}\r\n", "a".repeat(5000));
    for base in [&server.url, &server.admin] {
        let mut stream = TcpStream::connect(addr(base)).await.expect("connect");
        let answer = exchange(&mut stream, &get("/healthz", &big)).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        let body = body_of(&answer);
        assert_eq!(body["error"], "headers_too_large", "{body}");
        assert_eq!(body["limit"], 4096, "{body}");
        assert_eq!(body["fault"], "caller", "{body}");
        // Just under the limit is served.
        let mut stream = TcpStream::connect(addr(base)).await.expect("connect");
        let fits = format!("x-big: {}\r\n", "a".repeat(3900));
        let answer = exchange(&mut stream, &get("/healthz", &fits)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let metrics = server
        .client
        .get(format!("{}/metrics", server.admin))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"switchyard_http_responses_total{listener="public",status="431"} 1"#,
        r#"switchyard_http_responses_total{listener="admin",status="431"} 1"#,
        r#"switchyard_http_responses_total{listener="public",status="200"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from:\n{metrics}");
    }
}

#[actix_rt::test]
async fn connections_beyond_max_connections_wait_until_one_closes() {
    let server = TestServer::start(|c| {
        c.server.workers = 1;
        c.server.max_connections = 2;
        c.server.keep_alive_ms = 60_000;
    });
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr(&server.url)).await.expect("connect");
        let answer = exchange(&mut stream, &get("/healthz", "")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(stream);
    }
    // The kernel completes the handshake, but the server does not take the connection.
    let mut third = TcpStream::connect(addr(&server.url)).await.expect("connect");
    third.write_all(get("/healthz", "").as_bytes()).await.expect("write");
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "the third connection was served while two were held: {early:?}");
    drop(held.pop());
    let answer = read_answer(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "served once a place freed: {answer}");
}

#[actix_rt::test]
async fn a_head_slower_than_request_head_timeout_ms_is_answered_408_and_closed() {
    let server = TestServer::start(|c| c.server.request_head_timeout_ms = 200);
    let mut stream = TcpStream::connect(addr(&server.url)).await.expect("connect");
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n").await.expect("write");
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let mut rest = Vec::new();
    // Closed: end of stream (or a reset) within the bound, nothing after the 408.
    let _ = tokio::time::timeout(BOUND, stream.read_to_end(&mut rest)).await.expect("closed within the bound");
    assert!(rest.is_empty(), "nothing after the 408: {rest:?}");
}

#[actix_rt::test]
async fn keep_alive_ms_zero_closes_each_connection_after_its_answer() {
    let server = TestServer::start(|c| c.server.keep_alive_ms = 0);
    let mut stream = TcpStream::connect(addr(&server.url)).await.expect("connect");
    let answer = exchange(&mut stream, &get("/healthz", "")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    let mut rest = Vec::new();
    // Closed: end of stream (or a reset) within the bound, well before keep-alive would matter.
    let _ = tokio::time::timeout(BOUND, stream.read_to_end(&mut rest)).await.expect("closed within the bound");
    assert!(rest.is_empty(), "nothing after the answer: {rest:?}");
}
