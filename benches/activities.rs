//! Activity API benchmark: what held `GetActivityTask` polls cost, and how fast a task reaches one.
//!
//! # Running it
//!
//! ```text
//! cargo bench --bench activities
//! TASKTOKEN_BENCH_POLLS=1000 TASKTOKEN_BENCH_SECS=1.5 TASKTOKEN_BENCH_ROUNDS=5 cargo bench --bench activities
//! ```
//!
//! | variable                      | default | meaning                                             |
//! |-------------------------------|---------|-----------------------------------------------------|
//! | `TASKTOKEN_BENCH_POLLS`       | 1000    | polls held at once (one TCP connection each)        |
//! | `TASKTOKEN_BENCH_SECS`        | 1.5     | length of one heartbeat slice, in seconds (<= 20)   |
//! | `TASKTOKEN_BENCH_ROUNDS`      | 5       | rounds (none waiting, polls held, none), 1 to 20    |
//! | `TASKTOKEN_BENCH_CONNECTIONS` | 32      | keep-alive connections sending heartbeats           |
//!
//! One `tasktoken serve --poll-hold 60` child on 127.0.0.1 (real clock), driven from this
//! process, plus three short-lived fresh servers for comparison. Every connect, request and wait
//! has a timeout and the counts are fixed: the run takes about `ROUNDS * (3 * SECS + 2)`
//! seconds plus some 10 s. It stops with an error before starting if `ulimit -n` is below
//! `POLLS + CONNECTIONS + 128`, and prints both processes' limits.
//!
//! # What it measures, in one run
//!
//! Polls are held by opening `POLLS` HTTP/1.1 connections that each send one
//! `GetActivityTask` and wait for its answer; `GET /_mock/activities` must show exactly `POLLS`
//! waiting, before and after the held slice. They are released by scheduling `POLLS` tasks
//! (`POST /_mock/tasks`), one after another. After a warm-up, a first batch is held on the
//! fresh server; then each round runs three heartbeat slices: none waiting, `POLLS` held, none.
//!
//! * **memory**: growth of the server's `VmRSS` from just before the polls are opened to when
//!   all of them wait, divided by `POLLS` (the connection, its buffers, the poll, allocator
//!   slack). Target: at most 4 KB per held poll. Shown for the first batch on a fresh server
//!   and for each round; beside them, on fresh servers prepared the same way, `POLLS`
//!   connections that sent nothing, `POLLS` keep-alive connections after one heartbeat, and
//!   the floor: a minimal server on the same hyper and tokio (this bench re-executed as a
//!   child, see [`floor`]) holding `POLLS` requests, which is what hyper's HTTP/1 connection
//!   itself keeps (its 8 KiB read and write buffers among it) before any state of the mock's.
//! * **heartbeat ratio**: `SendTaskHeartbeat` requests/s with the polls held over requests/s
//!   of both idle slices of the round together; the figure is the median. Target: at least 0.9.
//! * **hand-off**: from just before a schedule request is sent to when the poll's whole answer
//!   has been received: for every task that releases a batch (each goes to the longest-waiting
//!   poll), and for 1,000 tasks to a single worker that polls again after each (each scheduled
//!   once the control API shows it waiting). Target: p99 at most 5 ms. Every answer must carry
//!   the scheduled token and input byte for byte, every poll exactly one task.
//!
//! The client, the server and anything else on the machine share its cores: the ratio is
//! the figure to read; PASS/FAIL lines are informative, and the benchmark exits 0 either way
//! unless it could not measure (a poll lost, a wrong answer, a timeout).

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};

use common::ServeProcess;
use common::{env_or, load_average, median, verdict};

/// The server's hold, longer than any slice: no held poll ends by itself during a round.
const POLL_HOLD_SECS: &str = "60";
/// Live tokens the heartbeat slices cycle through.
const HEARTBEAT_TOKENS: usize = 1_000;
/// Hard cap on heartbeats in one slice.
const MAX_REQUESTS_PER_SLICE: usize = 5_000_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// A held poll's answer must come within this (well under the 60 s hold, over any round).
const POLL_TIMEOUT: Duration = Duration::from_secs(50);
/// How long the polls may take to be counted waiting.
const WAITING_WITHIN: Duration = Duration::from_secs(30);
const TOKIO_WORKERS: usize = 2;
/// Hand-offs to a single worker polling again after each task.
const SINGLE_HANDOFFS: usize = 1_000;
/// Descriptors this process needs beyond the held polls (heartbeats, control, stdio, runtime).
const FD_HEADROOM: u64 = 128;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Issue 10: 1,000 held polls cost at most 4 KB each.
const RSS_TARGET_KB: f64 = 4.0;
/// Issue 10: heartbeat throughput with 1,000 polls waiting at least 0.9 of that with none.
const RATIO_TARGET: f64 = 0.9;
/// Issue 10: hand-off from schedule to the worker's answer, p99 at most 5 ms.
const HANDOFF_P99_TARGET_MS: f64 = 5.0;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    if std::env::var_os(floor::SERVER_ENV).is_some() {
        floor::serve();
        return;
    }
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TOKIO_WORKERS)
        .enable_all()
        .build()
        .expect("build the tokio runtime");
    let report = runtime.block_on(run(&settings));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match report {
        Ok(report) => print!("{}", report.render(&settings)),
        Err(e) => {
            println!("\nactivities: could not measure: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Settings

struct Settings {
    polls: usize,
    slice: Duration,
    rounds: usize,
    connections: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let secs: f64 = env_or("TASKTOKEN_BENCH_SECS", 1.5);
        let secs = if secs.is_finite() && secs > 0.0 { secs.min(20.0) } else { 1.5 };
        Settings {
            polls: env_or("TASKTOKEN_BENCH_POLLS", 1_000_usize).clamp(1, 10_000),
            slice: Duration::from_secs_f64(secs),
            rounds: env_or("TASKTOKEN_BENCH_ROUNDS", 5_usize).clamp(1, 20),
            connections: env_or("TASKTOKEN_BENCH_CONNECTIONS", 32_usize).clamp(1, 1024),
        }
    }
}

/// The soft and hard `Max open files` of process `pid`, from `/proc/<pid>/limits`.
fn open_files_limit(pid: u32) -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line["Max open files".len()..].split_whitespace();
    // "unlimited" is no limit.
    let parse = |v: &str| v.parse().unwrap_or(u64::MAX);
    Some((parse(numbers.next()?), parse(numbers.next()?)))
}

// ---------------------------------------------------------------------------------------
// HTTP: one keep-alive connection per caller, hyper's client

struct Connection {
    sender: SendRequest<Full<Bytes>>,
    io: JoinHandle<()>,
    host: HeaderValue,
}

impl Connection {
    async fn open(address: SocketAddr) -> Result<Connection, BoxError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| format!("connect to {address} timed out"))??;
        stream.set_nodelay(true)?;
        let (sender, connection) = tokio::time::timeout(
            CONNECT_TIMEOUT,
            hyper::client::conn::http1::handshake(TokioIo::new(stream)),
        )
        .await
        .map_err(|_| format!("HTTP handshake with {address} timed out"))??;
        let io = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Connection { sender, io, host: HeaderValue::from_str(&address.to_string())? })
    }

    /// One request; its status and whole body, within `timeout`.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        target: Option<&'static str>,
        body: Bytes,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), BoxError> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = path.parse()?;
        let headers = request.headers_mut();
        headers.insert(http::header::HOST, self.host.clone());
        if let Some(target) = target {
            headers.insert("x-amz-target", HeaderValue::from_static(target));
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        } else {
            headers
                .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let exchange = async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        let (status, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("{path} {target:?}: no answer within {timeout:?}"))??;
        Ok((status, body))
    }

    /// A control API call that must answer `expect`; its JSON body.
    async fn control(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: StatusCode,
    ) -> Result<Value, BoxError> {
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let (status, answer) = self.call(method, path, None, body, REQUEST_TIMEOUT).await?;
        if status != expect {
            return Err(
                format!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&answer)).into()
            );
        }
        Ok(serde_json::from_slice(&answer)?)
    }

    /// `waitingPolls` of activity `arn` (`GET /_mock/activities`).
    async fn waiting_polls(&mut self, arn: &str) -> Result<u64, BoxError> {
        let all = self.control(Method::GET, "/_mock/activities", None, StatusCode::OK).await?;
        all["activities"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["activityArn"] == arn))
            .and_then(|a| a["waitingPolls"].as_u64())
            .ok_or_else(|| format!("no activity {arn} in {all}").into())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.io.abort();
    }
}

// ---------------------------------------------------------------------------------------
// Held polls and hand-offs

/// A poll's answer and when it was received in full.
struct PollAnswer {
    received: Instant,
    status: StatusCode,
    body: Bytes,
}

/// Opens `n` connections, each sending one `GetActivityTask` on `arn`; returns their tasks.
async fn open_polls(
    address: SocketAddr,
    arn: &str,
    n: usize,
) -> Result<JoinSet<Result<PollAnswer, String>>, BoxError> {
    let body = Bytes::from(json!({"activityArn": arn, "workerName": "bench"}).to_string());
    let mut polls = JoinSet::new();
    for _ in 0..n {
        let mut connection = Connection::open(address).await?;
        let body = body.clone();
        polls.spawn(async move {
            let (status, body) = connection
                .call(
                    Method::POST,
                    "/",
                    Some("AWSStepFunctions.GetActivityTask"),
                    body,
                    POLL_TIMEOUT,
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(PollAnswer { received: Instant::now(), status, body })
            // The connection closes here, as a worker that stops would close it.
        });
    }
    Ok(polls)
}

/// Waits (bounded) until `GET /_mock/activities` shows `n` polls waiting on `arn`.
async fn until_waiting(control: &mut Connection, arn: &str, n: usize) -> Result<(), BoxError> {
    let deadline = Instant::now() + WAITING_WITHIN;
    loop {
        let waiting = control.waiting_polls(arn).await?;
        if waiting == n as u64 {
            return Ok(());
        }
        if waiting > n as u64 || Instant::now() > deadline {
            return Err(format!("{waiting} polls waiting on {arn}, expected {n}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Schedules one task per held poll, one after another, and checks that every poll got
/// exactly one of them with its input byte for byte; the hand-off latencies in microseconds.
async fn hand_off(
    control: &mut Connection,
    arn: &str,
    round: usize,
    mut polls: JoinSet<Result<PollAnswer, String>>,
) -> Result<Vec<u32>, BoxError> {
    let n = polls.len();
    let mut sent: HashMap<String, (Instant, String)> = HashMap::with_capacity(n);
    for i in 0..n {
        let input = format!("{{\"round\":{round},\"i\":{i},\"text\":\"€😀 \\u00e9\"}}");
        let at = Instant::now();
        let task = control
            .control(
                Method::POST,
                "/_mock/tasks",
                Some(json!({"provider": "aws", "activityArn": arn, "input": input})),
                StatusCode::CREATED,
            )
            .await?;
        let token = task["taskToken"].as_str().ok_or("no taskToken")?.to_owned();
        sent.insert(token, (at, input));
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(answer) = polls.join_next().await {
        let answer = answer?.map_err(|e| format!("a held poll failed: {e}"))?;
        if answer.status != StatusCode::OK {
            return Err(format!("a poll answered {}", answer.status).into());
        }
        let body: Value = serde_json::from_slice(&answer.body)?;
        let token = body["taskToken"].as_str().ok_or_else(|| format!("no task in {body}"))?;
        let (at, input) = sent
            .remove(token)
            .ok_or_else(|| format!("token delivered twice or never scheduled: {token}"))?;
        if body["input"].as_str() != Some(input.as_str()) {
            return Err(format!("input {} is not {input}", body["input"]).into());
        }
        let latency = answer.received.saturating_duration_since(at);
        latencies.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }
    if !sent.is_empty() {
        return Err(format!("{} scheduled tasks reached no poll", sent.len()).into());
    }
    Ok(latencies)
}

/// Waits (bounded, 10 s) until the server holds no connection but the control one.
async fn settle(server: &ServeProcess) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.open_fds() > server.idle_fds + 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Heartbeats

struct Slice {
    completed: u64,
    errors: u64,
    elapsed: Duration,
}

impl Slice {
    fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `SendTaskHeartbeat` over `bodies` in turn on `connections` keep-alive connections for
/// `duration`.
async fn heartbeats(
    address: SocketAddr,
    bodies: &Arc<Vec<Bytes>>,
    connections: usize,
    duration: Duration,
) -> Result<Slice, BoxError> {
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(Connection::open(address).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut senders = JoinSet::new();
    for mut connection in opened {
        let (bodies, next) = (bodies.clone(), next.clone());
        senders.spawn(async move {
            let (mut completed, mut errors) = (0_u64, 0_u64);
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= MAX_REQUESTS_PER_SLICE {
                    break;
                }
                let body = bodies[n % bodies.len()].clone();
                let target = Some("AWSStepFunctions.SendTaskHeartbeat");
                match connection.call(Method::POST, "/", target, body, REQUEST_TIMEOUT).await {
                    Ok((StatusCode::OK, answer)) if answer.as_ref() == b"{}" => completed += 1,
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
            (completed, errors)
        });
    }
    let (mut completed, mut errors) = (0, 0);
    let joined = tokio::time::timeout(duration + 2 * REQUEST_TIMEOUT, async {
        while let Some(counts) = senders.join_next().await {
            let (c, e) = counts?;
            completed += c;
            errors += e;
        }
        Ok::<_, BoxError>(())
    })
    .await;
    let elapsed = started.elapsed();
    joined.map_err(|_| "the heartbeat senders did not finish in time")??;
    Ok(Slice { completed, errors, elapsed })
}

// ---------------------------------------------------------------------------------------
// The run

/// Resident memory around one batch of held polls.
struct Held {
    rss_before_kb: u64,
    rss_held_kb: u64,
    fds_held: usize,
}

impl Held {
    /// `server`'s memory and descriptors now, against `rss_before_kb`.
    fn read(server: &ServeProcess, rss_before_kb: u64) -> Held {
        Held { rss_before_kb, rss_held_kb: server.rss_kb(), fds_held: server.open_fds() }
    }

    fn kb_per_poll(&self, polls: usize) -> f64 {
        self.rss_held_kb.saturating_sub(self.rss_before_kb) as f64 / polls as f64
    }
}

/// One round: heartbeats with no poll waiting, with the polls held, and with none again.
struct Round {
    idle_before: Slice,
    held: Slice,
    idle_after: Slice,
    memory: Held,
}

impl Round {
    /// Held rate over the rate of both idle slices together (a drift of the machine's speed
    /// during the round lands on both sides alike).
    fn ratio(&self) -> f64 {
        let idle = Slice {
            completed: self.idle_before.completed + self.idle_after.completed,
            errors: 0,
            elapsed: self.idle_before.elapsed + self.idle_after.elapsed,
        };
        self.held.rate() / idle.rate()
    }

    fn errors(&self) -> u64 {
        self.idle_before.errors + self.held.errors + self.idle_after.errors
    }
}

struct Measured {
    /// The first batch on a fresh server (after a heartbeat warm-up only).
    cold: Held,
    rounds: Vec<Round>,
    /// Hand-offs to the longest-waiting of `POLLS` held polls, in microseconds, sorted.
    handoffs_us: Vec<u32>,
    /// Hand-offs to a single worker that polls again after each task, in microseconds, sorted.
    single_us: Vec<u32>,
    /// On fresh servers, for comparison with `cold`: connections that sent nothing, and
    /// keep-alive connections after one heartbeat each.
    fresh_silent: Held,
    fresh_used: Held,
    /// The floor: a minimal hyper server holding `POLLS` requests the same way.
    floor: Held,
}

struct Report {
    client_fds: Option<(u64, u64)>,
    server_fds: Option<(u64, u64)>,
    server_idle_fds: usize,
    load: [Option<String>; 2],
    measured: Measured,
    rss_end_kb: u64,
    stopped: String,
}

async fn run(settings: &Settings) -> Result<Report, BoxError> {
    let client_fds = open_files_limit(std::process::id());
    let needed = settings.polls as u64 + settings.connections as u64 + FD_HEADROOM;
    if let Some((soft, _)) = client_fds {
        if soft < needed {
            return Err(format!(
                "`ulimit -n` is {soft}; holding {} polls needs at least {needed} descriptors \
                 (raise it, or set TASKTOKEN_BENCH_POLLS lower)",
                settings.polls
            )
            .into());
        }
    }
    let load_before = load_average();
    let mut server = ServeProcess::spawn(&["--port", "0", "--poll-hold", POLL_HOLD_SECS])?;
    let server_fds = open_files_limit(server.pid);
    if let Some((soft, _)) = server_fds {
        if soft < needed {
            return Err(format!("the server's open files limit is {soft}, under {needed}").into());
        }
    }
    let result = measure(&server, settings).await;
    let rss_end_kb = server.rss_kb();
    let stopped = server.stop().to_string();
    Ok(Report {
        client_fds,
        server_fds,
        server_idle_fds: server.idle_fds,
        load: [load_before, load_average()],
        measured: result?,
        rss_end_kb,
        stopped,
    })
}

/// Opens `polls` held polls and records the server's memory before and once all wait.
async fn hold(
    server: &ServeProcess,
    control: &mut Connection,
    arn: &str,
    polls: usize,
) -> Result<(JoinSet<Result<PollAnswer, String>>, Held), BoxError> {
    // The last polls' and heartbeats' connections closed on both sides first.
    settle(server).await;
    let rss_before_kb = server.rss_kb();
    let held = open_polls(server.addr, arn, polls).await?;
    until_waiting(control, arn, polls).await?;
    let memory = Held::read(server, rss_before_kb);
    Ok((held, memory))
}

/// A fresh server's activity, `HEARTBEAT_TOKENS` live tokens, and an unmeasured warm-up:
/// the server's buffers, its journal filled to capacity, both sides' caches.
async fn prepare(
    server: &ServeProcess,
    connections: usize,
) -> Result<(Connection, String, Arc<Vec<Bytes>>), BoxError> {
    let mut control = Connection::open(server.addr).await?;
    let activity = control
        .control(
            Method::POST,
            "/_mock/activities",
            Some(json!({"name": "bench"})),
            StatusCode::CREATED,
        )
        .await?;
    let arn = activity["activityArn"].as_str().ok_or("no activityArn")?.to_owned();
    let mut bodies = Vec::with_capacity(HEARTBEAT_TOKENS);
    for _ in 0..HEARTBEAT_TOKENS {
        let task = control
            .control(
                Method::POST,
                "/_mock/tasks",
                Some(json!({"provider": "aws"})),
                StatusCode::CREATED,
            )
            .await?;
        let token = task["taskToken"].as_str().ok_or("no taskToken")?;
        bodies.push(Bytes::from(json!({"taskToken": token}).to_string()));
    }
    let bodies = Arc::new(bodies);
    heartbeats(server.addr, &bodies, connections, Duration::from_millis(500)).await?;
    Ok((control, arn, bodies))
}

/// For comparison with the first batch of held polls: a fresh server, prepared the same way,
/// holding `n` open connections that sent nothing (`request` false) or one heartbeat each.
async fn fresh_connections(settings: &Settings, n: usize, request: bool) -> Result<Held, BoxError> {
    let mut server = ServeProcess::spawn(&["--port", "0", "--poll-hold", POLL_HOLD_SECS])?;
    let result = async {
        let (_control, _arn, bodies) = prepare(&server, settings.connections).await?;
        settle(&server).await;
        let rss_before_kb = server.rss_kb();
        let mut open = Vec::with_capacity(n);
        for i in 0..n {
            let mut connection = Connection::open(server.addr).await?;
            if request {
                let body = bodies[i % bodies.len()].clone();
                let target = Some("AWSStepFunctions.SendTaskHeartbeat");
                let (status, _) =
                    connection.call(Method::POST, "/", target, body, REQUEST_TIMEOUT).await?;
                if status != StatusCode::OK {
                    return Err(format!("a heartbeat answered {status}").into());
                }
            }
            open.push(connection);
        }
        let deadline = Instant::now() + WAITING_WITHIN;
        while server.open_fds() < server.idle_fds + 1 + n {
            if Instant::now() > deadline {
                return Err(format!("the server never held {n} connections").into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let held = Held::read(&server, rss_before_kb);
        drop(open);
        Ok::<_, BoxError>(held)
    }
    .await;
    server.stop();
    result
}

async fn measure(server: &ServeProcess, settings: &Settings) -> Result<Measured, BoxError> {
    let address = server.addr;
    let (mut control, arn, bodies) = prepare(server, settings.connections).await?;
    let (connections, slice) = (settings.connections, settings.slice);
    // The cold batch: the first held polls this server has seen.
    let (polls, cold) = hold(server, &mut control, &arn, settings.polls).await?;
    let mut handoffs_us = hand_off(&mut control, &arn, 0, polls).await?;

    let mut rounds = Vec::with_capacity(settings.rounds);
    for round in 1..=settings.rounds {
        settle(server).await;
        let idle_before = heartbeats(address, &bodies, connections, slice).await?;
        let (polls, memory) = hold(server, &mut control, &arn, settings.polls).await?;
        let held = heartbeats(address, &bodies, connections, slice).await?;
        // Still all waiting after the slice: none ended early, none was lost.
        until_waiting(&mut control, &arn, settings.polls).await?;
        handoffs_us.extend(hand_off(&mut control, &arn, round, polls).await?);
        settle(server).await;
        let idle_after = heartbeats(address, &bodies, connections, slice).await?;
        let round = Round { idle_before, held, idle_after, memory };
        eprintln!(
            "round {round_no}: heartbeats {:.0}/s and {:.0}/s idle, {:.0}/s with {} held \
             ({:.3}); {:.2} KB per held poll",
            round.idle_before.rate(),
            round.idle_after.rate(),
            round.held.rate(),
            settings.polls,
            round.ratio(),
            round.memory.kb_per_poll(settings.polls),
            round_no = rounds.len() + 1,
        );
        rounds.push(round);
    }
    handoffs_us.sort_unstable();
    let mut single_us = single_worker(address, &mut control, &arn, SINGLE_HANDOFFS).await?;
    single_us.sort_unstable();
    let fresh_silent = fresh_connections(settings, settings.polls, false).await?;
    let fresh_used = fresh_connections(settings, settings.polls, true).await?;
    let floor = floor::measure(settings, &bodies).await?;
    Ok(Measured { cold, rounds, handoffs_us, single_us, fresh_silent, fresh_used, floor })
}

/// One worker on one keep-alive connection: poll, get the task, poll again; each task is
/// scheduled once the control API shows the poll waiting. The hand-off latencies in
/// microseconds.
async fn single_worker(
    address: SocketAddr,
    control: &mut Connection,
    arn: &str,
    n: usize,
) -> Result<Vec<u32>, BoxError> {
    let (polls_tx, mut answers) = tokio::sync::mpsc::channel::<Result<PollAnswer, String>>(1);
    let (go_tx, mut go) = tokio::sync::mpsc::channel::<()>(1);
    let mut worker = Connection::open(address).await?;
    let body = Bytes::from(json!({"activityArn": arn, "workerName": "single"}).to_string());
    let polling = tokio::spawn(async move {
        while go.recv().await.is_some() {
            let target = Some("AWSStepFunctions.GetActivityTask");
            let answer = worker
                .call(Method::POST, "/", target, body.clone(), POLL_TIMEOUT)
                .await
                .map(|(status, body)| PollAnswer { received: Instant::now(), status, body })
                .map_err(|e| e.to_string());
            if polls_tx.send(answer).await.is_err() {
                break;
            }
        }
    });
    let mut latencies = Vec::with_capacity(n);
    let result = async {
        for i in 0..n {
            go_tx.send(()).await.map_err(|_| "the worker stopped")?;
            until_waiting(control, arn, 1).await?;
            let input = format!("{{\"single\":{i}}}");
            let at = Instant::now();
            let task = control
                .control(
                    Method::POST,
                    "/_mock/tasks",
                    Some(json!({"provider": "aws", "activityArn": arn, "input": input})),
                    StatusCode::CREATED,
                )
                .await?;
            let answer = tokio::time::timeout(POLL_TIMEOUT, answers.recv())
                .await
                .map_err(|_| "no answer to the single worker's poll")?
                .ok_or("the worker stopped")??;
            let got: Value = serde_json::from_slice(&answer.body)?;
            if answer.status != StatusCode::OK
                || got["taskToken"] != task["taskToken"]
                || got["input"].as_str() != Some(input.as_str())
            {
                return Err(format!("the single worker got {got} for {task}").into());
            }
            let latency = answer.received.saturating_duration_since(at);
            latencies.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
        Ok::<_, BoxError>(())
    }
    .await;
    drop(go_tx);
    polling.abort();
    result.map(|()| latencies)
}

// ---------------------------------------------------------------------------------------
// The report

impl Report {
    fn render(&self, settings: &Settings) -> String {
        use std::fmt::Write as _;
        let polls = settings.polls;
        let m = &self.measured;
        let limit = |l: Option<(u64, u64)>| match l {
            Some((soft, hard)) => format!("soft {soft}, hard {hard}"),
            None => "unknown".to_owned(),
        };
        let mut out = String::new();
        let _ = writeln!(out, "\n== activities: tasktoken serve --poll-hold {POLL_HOLD_SECS}");
        let _ = writeln!(
            out,
            "open files limit (ulimit -n): this process {}; server {}; server idle fds {}",
            limit(self.client_fds),
            limit(self.server_fds),
            self.server_idle_fds
        );
        let _ = writeln!(
            out,
            "{} rounds of heartbeat slices (none waiting, {polls} waiting, none) of {:.1} s on {} \
             connections over {HEARTBEAT_TOKENS} tokens; load average before/after: {} / {}",
            m.rounds.len(),
            settings.slice.as_secs_f64(),
            settings.connections,
            self.load[0].as_deref().unwrap_or("?"),
            self.load[1].as_deref().unwrap_or("?")
        );

        let _ = writeln!(
            out,
            "\n-- memory: server VmRSS before and with {polls} held polls \
             (each time GET /_mock/activities showed waitingPolls = {polls})"
        );
        let line = |name: String, h: &Held| {
            format!(
                "{name}: {} kB before, {} kB held: +{} kB, {:.2} KB each; server fds {}\n",
                h.rss_before_kb,
                h.rss_held_kb,
                h.rss_held_kb.saturating_sub(h.rss_before_kb),
                h.kb_per_poll(polls),
                h.fds_held
            )
        };
        out.push_str(&line("first batch (fresh server)".to_owned(), &m.cold));
        for (i, r) in m.rounds.iter().enumerate() {
            out.push_str(&line(format!("round {}", i + 1), &r.memory));
        }
        out.push_str(&line(
            format!("for comparison, a fresh server with {polls} connections that sent nothing"),
            &m.fresh_silent,
        ));
        out.push_str(&line(
            format!("for comparison, a fresh server with {polls} keep-alive connections after one heartbeat each"),
            &m.fresh_used,
        ));
        out.push_str(&line(
            format!(
                "the floor, a minimal hyper server (same hyper and tokio, one task per \
                 connection) holding {polls} requests"
            ),
            &m.floor,
        ));
        let cold = m.cold.kb_per_poll(polls);
        let warm = median(m.rounds.iter().map(|r| r.memory.kb_per_poll(polls)).collect());
        let floor = m.floor.kb_per_poll(polls);
        let _ = writeln!(
            out,
            "first batch over the floor: {:.2}x ({:.2} KB more per held poll than hyper's own)",
            cold / floor.max(1e-9),
            cold - floor
        );
        let _ = writeln!(
            out,
            "{} first batch {cold:.2} KB per held poll; {} rounds' median {warm:.2} KB \
             (target <= {RSS_TARGET_KB} KB); VmRSS at the end {} kB",
            verdict(cold <= RSS_TARGET_KB),
            verdict(warm <= RSS_TARGET_KB),
            self.rss_end_kb
        );

        let _ = writeln!(out, "\n-- SendTaskHeartbeat: none waiting vs {polls} polls waiting");
        let _ = writeln!(out, "round | none req/s (before, after) | held req/s | ratio | errors");
        for (i, r) in m.rounds.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:>5} | {:>11.0} {:>11.0}   | {:>10.0} | {:.3} | {}",
                i + 1,
                r.idle_before.rate(),
                r.idle_after.rate(),
                r.held.rate(),
                r.ratio(),
                r.errors()
            );
        }
        let ratios: Vec<f64> = m.rounds.iter().map(Round::ratio).collect();
        let ratio = median(ratios.clone());
        let (lo, hi) =
            ratios.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let errors: u64 = m.rounds.iter().map(Round::errors).sum();
        let _ = writeln!(
            out,
            "{} median ratio {ratio:.3}, rounds {lo:.3} to {hi:.3} (target >= {RATIO_TARGET}); \
             errors {errors}",
            verdict(ratio >= RATIO_TARGET && errors == 0)
        );

        let _ =
            writeln!(out, "\n-- hand-off: POST /_mock/tasks sent -> the poll's answer received");
        for (name, all) in [
            (format!("to the longest-waiting of {polls} held polls"), &m.handoffs_us),
            ("to a single worker polling again after each task".to_owned(), &m.single_us),
        ] {
            let pct = |p: f64| percentile_ms(all, p);
            let _ = writeln!(
                out,
                "{} {name}: {} hand-offs, p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms \
                 (target p99 <= {HANDOFF_P99_TARGET_MS} ms)",
                verdict(pct(0.99) <= HANDOFF_P99_TARGET_MS),
                all.len(),
                pct(0.50),
                pct(0.90),
                pct(0.99),
                pct(1.0)
            );
        }
        let _ = writeln!(out, "every poll got exactly one task, its token and input byte for byte");
        let _ = writeln!(out, "\nserver {}", self.stopped);
        out
    }
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted_us.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted_us[rank]) / 1000.0
}

// ---------------------------------------------------------------------------------------
// The floor: what hyper's HTTP/1 server itself keeps for a request it is answering

/// The floor server, run in a child process of this bench (re-executed with
/// [`SERVER_ENV`] set): the same hyper HTTP/1 server and tokio runtime as `tasktoken serve`,
/// one task per connection, nothing else. It reads each request's body; a `GetActivityTask`
/// is then held until its client hangs up, anything else answered `200 {}` at once;
/// `GET /held` answers how many are held. What a held poll costs here is what any server
/// built on hyper's HTTP/1 connection pays before its own state.
mod floor {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    use super::common::{ServeProcess, LISTENING};
    use super::{heartbeats, open_polls, settle, BoxError, Connection, Held, Settings};
    use super::{Method, REQUEST_TIMEOUT, WAITING_WITHIN};

    /// Set in the child's environment: serve instead of benchmarking.
    pub const SERVER_ENV: &str = "TASKTOKEN_BENCH_FLOOR_SERVER";

    /// Serves on 127.0.0.1 until killed.
    pub fn serve() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("build the tokio runtime");
        runtime.block_on(async {
            let listener =
                tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
            let address = listener.local_addr().expect("the bound address");
            println!("{LISTENING}http://{address}");
            let held = Arc::new(AtomicUsize::new(0));
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let held = held.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(held.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }

    /// Counts a held request while it is held, including when hyper drops it unanswered.
    struct Holding(Arc<AtomicUsize>);

    impl Drop for Holding {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn answer(
        held: Arc<AtomicUsize>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        if req.uri().path() == "/held" {
            let body = Bytes::from(held.load(Ordering::Relaxed).to_string());
            return Ok(Response::new(Full::new(body)));
        }
        let poll = req
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.as_bytes() == b"AWSStepFunctions.GetActivityTask");
        if req.into_body().collect().await.is_err() {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(response);
        }
        if poll {
            held.fetch_add(1, Ordering::Relaxed);
            let _holding = Holding(held);
            std::future::pending::<()>().await;
        }
        Ok(Response::new(Full::new(Bytes::from_static(b"{}"))))
    }

    /// A fresh floor server, warmed up as the mock is (heartbeats on the same connections),
    /// then `POLLS` polls held on it: its resident memory before and with them.
    pub async fn measure(settings: &Settings, bodies: &Arc<Vec<Bytes>>) -> Result<Held, BoxError> {
        let mut command = std::process::Command::new(std::env::current_exe()?);
        command.env(SERVER_ENV, "1");
        let mut server = ServeProcess::spawn_command(command)?;
        let result = async {
            let mut control = Connection::open(server.addr).await?;
            heartbeats(server.addr, bodies, settings.connections, Duration::from_millis(500))
                .await?;
            settle(&server).await;
            let rss_before_kb = server.rss_kb();
            let polls = open_polls(server.addr, "arn:floor", settings.polls).await?;
            let deadline = Instant::now() + WAITING_WITHIN;
            loop {
                let (status, body) =
                    control.call(Method::GET, "/held", None, Bytes::new(), REQUEST_TIMEOUT).await?;
                if status == StatusCode::OK && body == settings.polls.to_string().as_bytes() {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "the floor server held {} polls, not {}",
                        String::from_utf8_lossy(&body),
                        settings.polls
                    )
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let held = Held::read(&server, rss_before_kb);
            drop(polls);
            Ok::<_, BoxError>(held)
        }
        .await;
        server.stop();
        result
    }
}
