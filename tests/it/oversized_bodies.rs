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

// ---- Lambda ------------------------------------------------------------------------------
//
// `benches/common/bodies.rs` has no Lambda head (its `Api` is AWS or Alibaba, and benches/ is
// not this test's to change), so these clients behave as its blocking and streaming ones do,
// cut to what the verdict needs, on Lambda's path with its 2 MiB limit.

mod lambda_bodies {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    pub use super::bodies::{Client, Framing};

    /// One oversized Lambda Success post.
    #[derive(Debug, Clone, Copy)]
    pub struct LambdaCase {
        pub framing: Framing,
        pub expect: bool,
        pub client: Client,
        pub size: u64,
    }

    impl LambdaCase {
        pub fn matrix(sizes: &[u64]) -> Vec<LambdaCase> {
            let mut cases = Vec::new();
            for &size in sizes {
                for framing in [Framing::Length, Framing::Chunked] {
                    for expect in [false, true] {
                        for client in [Client::Blocking, Client::Streaming] {
                            cases.push(LambdaCase { framing, expect, client, size });
                        }
                    }
                }
            }
            cases
        }

        fn head(&self, addr: SocketAddr, path: &str) -> String {
            let framing = match self.framing {
                Framing::Length => format!("Content-Length: {}\r\n", self.size),
                Framing::Chunked => "Transfer-Encoding: chunked\r\n".to_owned(),
            };
            let expect = if self.expect { "Expect: 100-continue\r\n" } else { "" };
            format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n{framing}{expect}\r\n")
        }
    }

    /// What came back: every byte read (the first 64 KiB), a failed write, and whether the
    /// server ended the stream.
    #[derive(Debug, Default)]
    struct Seen {
        received: Vec<u8>,
        write_error: Option<String>,
        closed: bool,
    }

    fn final_part(mut bytes: &[u8]) -> Option<&[u8]> {
        while bytes.starts_with(b"HTTP/1.1 1") {
            let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
            bytes = &bytes[end + 4..];
        }
        (!bytes.is_empty()).then_some(bytes)
    }

    fn read_to_end(stream: &mut TcpStream, seen: &mut Seen, answered: Option<&AtomicBool>) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    seen.closed = true;
                    break;
                }
                Ok(n) => {
                    if seen.received.len() < 64 * 1024 {
                        seen.received.extend_from_slice(&buf[..n]);
                    }
                    if let (Some(a), Some(_)) = (answered, final_part(&seen.received)) {
                        a.store(true, Ordering::Relaxed);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // A reset after the whole answer is how a lingering close may end.
                    seen.closed = e.kind() == ErrorKind::ConnectionReset;
                    break;
                }
            }
        }
        if let Some(a) = answered {
            a.store(true, Ordering::Relaxed);
        }
    }

    fn write_body(stream: &mut TcpStream, case: &LambdaCase, stop: &AtomicBool) -> Option<String> {
        let data = [b'x'; 64 * 1024];
        let mut sent = 0u64;
        while sent < case.size && !stop.load(Ordering::Relaxed) {
            let n = (case.size - sent).min(data.len() as u64) as usize;
            let written = match case.framing {
                Framing::Length => stream.write_all(&data[..n]),
                Framing::Chunked => {
                    let mut frame = format!("{n:x}\r\n").into_bytes();
                    frame.extend_from_slice(&data[..n]);
                    frame.extend_from_slice(b"\r\n");
                    stream.write_all(&frame)
                }
            };
            if let Err(e) = written {
                return Some(format!("{:?}", e.kind()));
            }
            sent += n as u64;
        }
        if case.framing == Framing::Chunked && sent == case.size {
            return stream.write_all(b"0\r\n\r\n").err().map(|e| format!("{:?}", e.kind()));
        }
        None
    }

    fn post(addr: SocketAddr, path: &str, case: &LambdaCase) -> Seen {
        let mut seen = Seen::default();
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        stream.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(case.head(addr, path).as_bytes()).unwrap();
        match case.client {
            Client::Blocking => {
                seen.write_error = write_body(&mut stream, case, &AtomicBool::new(false));
                read_to_end(&mut stream, &mut seen, None);
            }
            Client::Streaming => {
                if case.expect {
                    // Up to 1 s for the 100 or a final answer, as curl waits.
                    stream.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                    let mut buf = [0u8; 4096];
                    if let Ok(n) = stream.read(&mut buf) {
                        seen.received.extend_from_slice(&buf[..n]);
                    }
                    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    if final_part(&seen.received).is_some() {
                        read_to_end(&mut stream, &mut seen, None);
                        return seen;
                    }
                }
                let answered = Arc::new(AtomicBool::new(false));
                let mut reading = stream.try_clone().unwrap();
                let flag = answered.clone();
                let mut prior = std::mem::take(&mut seen);
                let reader = std::thread::spawn(move || {
                    read_to_end(&mut reading, &mut prior, Some(&flag));
                    prior
                });
                let write_error = write_body(&mut stream, case, &answered);
                seen = reader.join().unwrap();
                seen.write_error = write_error;
            }
        }
        seen
    }

    /// Posts `case` to `path` and judges it: the refusal read (400, the validation error in
    /// `x-amzn-ErrorType`, `Connection: close`), the stream then ended, a blocking client's
    /// body all written, and no `100 Continue` before the refusal of a declared length.
    pub fn verdict(addr: SocketAddr, path: &str, case: &LambdaCase) -> Result<(), String> {
        let seen = post(addr, path, case);
        let text = String::from_utf8_lossy(final_part(&seen.received).unwrap_or_default());
        let head = text.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
        let refused = head.starts_with("http/1.1 400 ")
            && head.contains("\r\nx-amzn-errortype: invalidparametervalueexception")
            && head.contains("\r\nconnection: close")
            && text.contains("The request body must be at most 2097152 bytes");
        if !refused {
            return Err(format!("no refusal read: {text:?}"));
        }
        if !seen.closed {
            return Err("the connection was not closed after the refusal".into());
        }
        if case.client == Client::Blocking && seen.write_error.is_some() {
            return Err(format!("the body could not be written: {:?}", seen.write_error));
        }
        if case.framing == Framing::Length && seen.received.starts_with(b"HTTP/1.1 100") {
            return Err("a 100 Continue came before the refusal of a declared length".into());
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_reads_the_lambda_refusal_of_bodies_over_2_mib() {
    use lambda_bodies::{verdict, LambdaCase};
    use tasktoken::contract::lambda::{MAX_REQUEST_BYTES, SEND_CALLBACK_SUCCESS};
    let server = MockServer::start().await;
    let t = server.create_task(tasktoken::TaskSpec::new(tasktoken::Provider::Lambda)).unwrap();
    let path = tasktoken::wire::lambda::path(&SEND_CALLBACK_SUCCESS, &t.task_token);
    let addr = server.address();
    let sizes = [MAX_REQUEST_BYTES as u64 + 1, 20 * MB];
    let failures = tokio::task::spawn_blocking(move || {
        LambdaCase::matrix(&sizes)
            .iter()
            .filter_map(|case| verdict(addr, &path, case).err().map(|e| format!("{case:?}: {e}")))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(server.task(t.task_id).unwrap().status, tasktoken::Status::Pending);
    // 2 MiB exactly is read whole: a Result over 1 MiB, the validation error on its own.
    let body = vec![b'x'; MAX_REQUEST_BYTES];
    let r = reqwest::Client::new()
        .post(format!(
            "{}{}",
            server.uri(),
            tasktoken::wire::lambda::path(&SEND_CALLBACK_SUCCESS, &t.task_token)
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("connection").is_none_or(|c| c != "close"));
    assert!(r.text().await.unwrap().contains("'result'"));
    heartbeat_works(&server).await;
}
