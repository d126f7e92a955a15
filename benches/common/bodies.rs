//! Clients that send an oversized body to the mock, blocking or streaming, and what each one read back.
//!
//! Shared by the abuse bench (`benches/abuse.rs`, through `common`) and the integration tests
//! (`tests/it/oversized_bodies.rs`, through `#[path]`), so both measure the same clients. Plain
//! `std::net` sockets and threads, no HTTP library: every byte read is kept (the first 64 KiB)
//! so that an interim `100 Continue` is seen if one is sent. Bodies are generated on the fly
//! from one 64 KiB chunk; nothing of their size is ever allocated.
//!
//! * **blocking**: writes the head and the whole body, then reads, as Python's `http.client`
//!   does (it sends `Expect: 100-continue` when told to, but never waits for the 100); a
//!   failed write is what that client reports as `BrokenPipeError`;
//! * **streaming**: reads while it writes and stops writing once an answer has come; with
//!   `Expect: 100-continue` it first waits (up to 1 s, as curl does) for the 100 or a final
//!   answer, and sends nothing if the answer is final.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which API the body is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// AWS `SendTaskSuccess`: 413 with the front end's plain-text message.
    Aws,
    /// Alibaba `ReportTaskSucceeded`: 400 `EntityTooLarge`.
    Alibaba,
}

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: the server knows the size from the head.
    Length,
    /// `Transfer-Encoding: chunked`: it finds out by reading.
    Chunked,
}

/// How the client behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Writes everything, then reads.
    Blocking,
    /// Reads while writing; honours `Expect`.
    Streaming,
}

/// One oversized post.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub api: Api,
    pub framing: Framing,
    pub expect: bool,
    pub client: Client,
    /// Body bytes (before chunk framing).
    pub size: u64,
}

impl Case {
    /// `aws length expect blocking 20 MB`.
    pub fn label(&self) -> String {
        format!(
            "{} {} {} {} {} MB",
            match self.api {
                Api::Aws => "aws",
                Api::Alibaba => "alibaba",
            },
            match self.framing {
                Framing::Length => "length",
                Framing::Chunked => "chunked",
            },
            if self.expect { "expect" } else { "no-expect" },
            match self.client {
                Client::Blocking => "blocking",
                Client::Streaming => "streaming",
            },
            self.size / MB,
        )
    }

    /// Every combination of the given sizes, both APIs, both framings, with and without
    /// `Expect`, both clients.
    pub fn matrix(sizes: &[u64]) -> Vec<Case> {
        let mut cases = Vec::new();
        for &size in sizes {
            for api in [Api::Aws, Api::Alibaba] {
                for framing in [Framing::Length, Framing::Chunked] {
                    for expect in [false, true] {
                        for client in [Client::Blocking, Client::Streaming] {
                            cases.push(Case { api, framing, expect, client, size });
                        }
                    }
                }
            }
        }
        cases
    }

    /// The request head, as sent.
    pub fn head(&self, addr: SocketAddr) -> String {
        let framing = match self.framing {
            Framing::Length => format!("Content-Length: {}\r\n", self.size),
            Framing::Chunked => "Transfer-Encoding: chunked\r\n".to_owned(),
        };
        let expect = if self.expect { "Expect: 100-continue\r\n" } else { "" };
        match self.api {
            Api::Aws => format!(
                "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: AWSStepFunctions.SendTaskSuccess\r\n\
                 Content-Type: application/x-amz-json-1.0\r\n{framing}{expect}\r\n"
            ),
            Api::Alibaba => format!(
                "POST /?Action=ReportTaskSucceeded&Version=2019-03-15&Format=json&TaskToken=big HTTP/1.1\r\n\
                 Host: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}{expect}\r\n"
            ),
        }
    }
}

/// A megabyte, as the sizes are counted (10^6 bytes, as in "a 20 MB body").
pub const MB: u64 = 1_000_000;
/// Body bytes per write.
const CHUNK: usize = 64 * 1024;
/// Bytes of the answer kept.
const KEEP: usize = 64 * 1024;
/// How long a streaming client waits for `100 Continue` before sending anyway.
const EXPECT_WAIT: Duration = Duration::from_secs(1);

/// What one client saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Everything the server sent (the first 64 KiB).
    pub received: Vec<u8>,
    /// Body bytes written (before chunk framing).
    pub sent: u64,
    /// The write that failed, if one did (`BrokenPipe`, `ConnectionReset`, ...).
    pub write_error: Option<String>,
    /// How the read ended, if not by the server's end of stream.
    pub read_error: Option<String>,
    /// When the first byte of the final answer arrived, from the connect.
    pub answered_after: Option<Duration>,
    /// Connect to end of stream.
    pub took: Duration,
}

impl Outcome {
    /// Whether an interim `100 Continue` came before the final answer.
    pub fn interim_100(&self) -> bool {
        self.received.starts_with(b"HTTP/1.1 100")
    }

    /// The final answer's status and body (interim 1xx answers skipped).
    pub fn final_response(&self) -> Option<(u16, String)> {
        let text = String::from_utf8_lossy(final_part(&self.received)?);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    }

    /// Whether the final answer is the API's answer to a body over its limit.
    pub fn refused_as_too_large(&self, api: Api) -> bool {
        let Some((status, body)) = self.final_response() else { return false };
        match api {
            Api::Aws => status == 413 && body == tasktoken::contract::aws::TOO_LARGE_BODY,
            Api::Alibaba => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                status == 400 && v["Code"] == tasktoken::contract::alibaba::ENTITY_TOO_LARGE.code
            }
        }
    }

    /// Every client must read the refusal; a blocking one must also get its whole body out
    /// (a failed write is a `BrokenPipeError` to Python); with a declared length over the
    /// limit, no `100 Continue` may come first.
    pub fn verdict(&self, case: &Case) -> Result<(), String> {
        if !self.refused_as_too_large(case.api) {
            return Err(format!("no refusal read: {}", self.describe()));
        }
        if case.client == Client::Blocking && self.write_error.is_some() {
            return Err(format!("the body could not be written: {}", self.describe()));
        }
        if case.framing == Framing::Length && self.interim_100() {
            return Err("a 100 Continue came before the refusal of a declared length".to_owned());
        }
        Ok(())
    }

    /// `413 "HTTP content…", 20.0 MB sent, end of stream`.
    pub fn describe(&self) -> String {
        let answer = match self.final_response() {
            Some((status, body)) => format!("{status} {:?}", clip(&body, 48)),
            None if self.received.is_empty() => "no answer".to_owned(),
            None => format!("{:?}", clip(&String::from_utf8_lossy(&self.received), 40)),
        };
        format!(
            "{answer}{}, {:.1} MB sent{}, {}",
            if self.interim_100() { " after a 100 Continue" } else { "" },
            self.sent as f64 / MB as f64,
            self.write_error.as_ref().map(|e| format!(" (write failed: {e})")).unwrap_or_default(),
            self.read_error.as_deref().unwrap_or("end of stream"),
        )
    }
}

/// The bytes from the final answer on (after any interim `HTTP/1.1 1xx` answers).
fn final_part(mut bytes: &[u8]) -> Option<&[u8]> {
    while bytes.starts_with(b"HTTP/1.1 1") {
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        bytes = &bytes[end + 4..];
    }
    (!bytes.is_empty()).then_some(bytes)
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Posts `case` to `addr` and returns what came back; the socket is closed at the end. Every
/// socket operation has a timeout (`within` for reads, 30 s for writes), so a server that
/// stops reading cannot hang the caller.
pub fn run(addr: SocketAddr, case: &Case, within: Duration) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome::default();
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(stream) => stream,
        Err(e) => {
            outcome.write_error = Some(format!("connect: {e}"));
            return outcome;
        }
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_read_timeout(Some(within));
    if let Err(e) = stream.write_all(case.head(addr).as_bytes()) {
        outcome.write_error = Some(format!("head: {:?}", e.kind()));
        return outcome;
    }
    match case.client {
        Client::Blocking => {
            write_body(&mut stream, case, &AtomicBool::new(false), &mut outcome);
            read_to_end(&mut stream, started, &mut outcome, None);
        }
        Client::Streaming => {
            if case.expect && wait_for_continue(&mut stream, started, &mut outcome) {
                // A final answer came instead of the 100: the body is never sent.
                read_to_end(&mut stream, started, &mut outcome, None);
                outcome.took = started.elapsed();
                return outcome;
            }
            let answered = Arc::new(AtomicBool::new(false));
            let reader = stream.try_clone().map(|mut reading| {
                let answered = answered.clone();
                let mut seen = std::mem::take(&mut outcome);
                std::thread::spawn(move || {
                    read_to_end(&mut reading, started, &mut seen, Some(&answered));
                    seen
                })
            });
            let mut written = Outcome::default();
            write_body(&mut stream, case, &answered, &mut written);
            match reader {
                Ok(reader) => outcome = reader.join().unwrap_or_default(),
                Err(e) => outcome.read_error = Some(format!("clone: {e}")),
            }
            outcome.sent = written.sent;
            outcome.write_error = written.write_error;
        }
    }
    outcome.took = started.elapsed();
    outcome
}

/// Waits up to [`EXPECT_WAIT`] for an answer to the head. True if a final answer came (it is
/// kept in `outcome`); false if a `100 Continue` came or nothing did (the body goes then).
fn wait_for_continue(stream: &mut TcpStream, started: Instant, outcome: &mut Outcome) -> bool {
    let _ = stream.set_read_timeout(Some(EXPECT_WAIT));
    let mut buf = [0u8; 4096];
    let waited = Instant::now();
    let final_came = loop {
        match stream.read(&mut buf) {
            Ok(0) => break !outcome.received.is_empty(),
            Ok(n) => {
                outcome.received.extend_from_slice(&buf[..n]);
                if final_part(&outcome.received).is_some() {
                    outcome.answered_after = Some(started.elapsed());
                    break true;
                }
                let head_done = outcome.received.windows(4).any(|w| w == b"\r\n\r\n");
                if head_done {
                    // `100 Continue`, complete: the body goes now.
                    break false;
                }
            }
            Err(_) if waited.elapsed() >= EXPECT_WAIT => break false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break false,
        }
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    final_came
}

/// Writes the body in 64 KiB chunks until it is all out, `stop` is set, or a write fails.
fn write_body(stream: &mut TcpStream, case: &Case, stop: &AtomicBool, outcome: &mut Outcome) {
    let data = [b'x'; CHUNK];
    let mut frame = Vec::with_capacity(CHUNK + 16);
    while outcome.sent < case.size && !stop.load(Ordering::Relaxed) {
        let n = (case.size - outcome.sent).min(CHUNK as u64) as usize;
        let written = match case.framing {
            Framing::Length => stream.write_all(&data[..n]),
            Framing::Chunked => {
                frame.clear();
                frame.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                frame.extend_from_slice(&data[..n]);
                frame.extend_from_slice(b"\r\n");
                stream.write_all(&frame)
            }
        };
        if let Err(e) = written {
            outcome.write_error = Some(format!("{:?}", e.kind()));
            return;
        }
        outcome.sent += n as u64;
    }
    if case.framing == Framing::Chunked && outcome.sent == case.size {
        if let Err(e) = stream.write_all(b"0\r\n\r\n") {
            outcome.write_error = Some(format!("{:?}", e.kind()));
        }
    }
}

/// Reads until the server's end of stream (or an error, or the read timeout), keeping the
/// first bytes; sets `answered` once a final answer has begun (and at the end in any case).
fn read_to_end(
    stream: &mut TcpStream,
    started: Instant,
    outcome: &mut Outcome,
    answered: Option<&AtomicBool>,
) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if outcome.received.len() < KEEP {
                    outcome.received.extend_from_slice(&buf[..n]);
                }
                if final_part(&outcome.received).is_some() {
                    outcome.answered_after.get_or_insert_with(|| started.elapsed());
                    if let Some(answered) = answered {
                        answered.store(true, Ordering::Relaxed);
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                outcome.read_error = Some(format!("read: {:?}", e.kind()));
                break;
            }
        }
    }
    if let Some(answered) = answered {
        // Nothing more will come either way: the writer stops.
        answered.store(true, Ordering::Relaxed);
    }
}
