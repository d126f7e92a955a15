//! Oversized bodies: every client reads the refusal (blocking or streaming, any framing, with or without `Expect`), and a declared length over the limit gets no `100 Continue`.
//!
//! The clients are those of the abuse bench (`benches/common/bodies.rs`): all 64 combinations
//! of 2 / 20 / 100 / 500 MB, AWS and Alibaba, `Content-Length` and chunked, with and without
//! `Expect: 100-continue`, blocking and streaming, on an in-process server (about 3 s in all
//! in a test build: the blocking clients push 5 GB through loopback, which the server reads
//! and discards). The abuse bench runs the same matrix against a `tasktoken serve` process,
//! with its RSS and CPU time.

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tasktoken::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[path = "../../benches/common/bodies.rs"]
mod bodies;

use bodies::{Api, Case, Client, Framing, MB};

/// Runs `cases` one after the other against `server`, each on a blocking thread; fails with
/// every case that did not read the refusal.
async fn run_all(server: &MockServer, cases: Vec<Case>) {
    let addr = server.address();
    let failures = tokio::task::spawn_blocking(move || {
        cases
            .iter()
            .filter_map(|case| {
                let outcome = bodies::run(addr, case, Duration::from_secs(30));
                outcome.verdict(case).err().map(|e| format!("{}: {e}", case.label()))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
    heartbeat_works(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_reads_the_refusal_of_2_and_20_mb_bodies() {
    let server = MockServer::start().await;
    run_all(&server, Case::matrix(&[2 * MB, 20 * MB])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_reads_the_refusal_of_100_and_500_mb_bodies() {
    let server = MockServer::start().await;
    run_all(&server, Case::matrix(&[100 * MB, 500 * MB])).await;
}

/// Everything the server sends within `wait`, or until it closes.
async fn read_for(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (bytes, true),
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => return (bytes, true),
            Err(_) => return (bytes, false),
        }
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_with_expect_gets_the_final_answer_and_no_100() {
    let server = MockServer::start().await;
    for (api, status) in [(Api::Aws, "413"), (Api::Alibaba, "400")] {
        let case = Case {
            api,
            framing: Framing::Length,
            expect: true,
            client: Client::Streaming,
            size: 100 * MB,
        };
        let mut s = TcpStream::connect(server.address()).await.unwrap();
        s.write_all(case.head(server.address()).as_bytes()).await.unwrap();
        // Not one body byte: the raw bytes are the final answer, then the end of stream.
        let (bytes, closed) = read_for(&mut s, Duration::from_secs(5)).await;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{api:?}: {text}");
        assert!(!text.contains("100 Continue"), "{api:?}: {text}");
        assert!(text.to_ascii_lowercase().contains("connection: close"), "{api:?}: {text}");
        assert!(closed, "{api:?}: the write half was not shut after the answer");
    }
    heartbeat_works(&server).await;
}

#[tokio::test]
async fn a_body_within_the_limit_with_expect_gets_100_continue_then_its_answer() {
    let server = MockServer::start().await;
    let t = task(&server);
    let body = json!({"taskToken": t.task_token}).to_string();
    let mut s = TcpStream::connect(server.address()).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {HEARTBEAT}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (interim, _) = read_for(&mut s, Duration::from_millis(500)).await;
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"), "{}", String::from_utf8_lossy(&buf[..n]));
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_with_expect_is_continued_then_refused() {
    let server = MockServer::start().await;
    let case = Case {
        api: Api::Aws,
        framing: Framing::Chunked,
        expect: true,
        client: Client::Streaming,
        size: 20 * MB,
    };
    let addr = server.address();
    let outcome =
        tokio::task::spawn_blocking(move || bodies::run(addr, &case, Duration::from_secs(30)))
            .await
            .unwrap();
    // Its size is known only by reading, so the 100 is right here; the refusal follows.
    assert!(outcome.interim_100(), "{}", outcome.describe());
    assert_eq!(outcome.verdict(&case), Ok(()));
    assert!(outcome.sent < 20 * MB, "the streaming client stops at the answer");
}
