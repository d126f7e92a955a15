//! Throughput and memory benchmark of the tasktoken mock, measured against a minimal hyper server on loopback.
//!
//! # Running it
//!
//! ```text
//! cargo bench --bench throughput
//! TASKTOKEN_BENCH_CONNECTIONS=64 TASKTOKEN_BENCH_SECS=5 TASKTOKEN_BENCH_ROUNDS=5 cargo bench --bench throughput
//! ```
//!
//! | variable                      | default | meaning                                        |
//! |-------------------------------|---------|------------------------------------------------|
//! | `TASKTOKEN_BENCH_CONNECTIONS` | 32      | concurrent keep-alive HTTP/1.1 connections     |
//! | `TASKTOKEN_BENCH_SECS`        | 3       | length of one timed run, in seconds            |
//! | `TASKTOKEN_BENCH_ROUNDS`      | 3       | baseline/mock pairs per scenario (at least 2)  |
//! | `TASKTOKEN_BENCH_SCENARIOS`   | all     | heartbeat, success, alibaba, lambda (comma-separated) |
//! | `TASKTOKEN_BENCH_SLICE_MS`    | 200     | length of one server's turn within a round      |
//! | `TASKTOKEN_BENCH_AA`          | 0       | 1: both columns measure the baseline (the method's noise) |
//! | `TASKTOKEN_BENCH_JOURNAL`     | 1000    | the mock's journal capacity (0 turns it off, to see the journal's share of the gap) |
//!
//! Everything happens in one process, on 127.0.0.1 only, and stops by itself: every run is
//! bounded by time and by a request count, and every connect and request has a timeout.
//!
//! # Reading the figures
//!
//! * **memory**: growth of `VmRSS` while 1,000,000 pending AWS tasks are created in process
//!   (no HTTP), before any load. It includes allocator slack, so it is an upper bound on
//!   what the store itself holds. Target: at most 150 MB.
//! * **throughput**: the load generator, the mock and the baseline share the same cores, so
//!   absolute requests/s depend on the machine; the figure to watch is the **ratio**
//!   mock/baseline, where the baseline is a minimal hyper server that reads the body and
//!   answers `200 {}` with the same headers and no work. Each round runs both servers on the
//!   same requests, taking turns in slices of 0.2 s (which one goes first alternates), so that
//!   a change in the machine's speed lands on both alike; each server keeps its connections
//!   open for the whole round, so no slice pays for connecting. A round's ratio is the median
//!   of the ratios of its pairs of neighbouring turns (15 pairs in a 3 s round), so that a
//!   burst of other work that lands on a few turns of one server moves a few pairs rather than
//!   the round (each round's line on stderr also gives the ratio of its totals). The ratio
//!   reported is the median of the rounds' ratios, the other figures the median of rounds.
//!   `TASKTOKEN_BENCH_AA=1` points both columns at the baseline: its ratios show the method's
//!   own noise.
//!   Target: ratio at least 0.85 in every round.
//! * `heartbeat` cycles `SendTaskHeartbeat` over 10,000 live tokens; `success` sends
//!   `SendTaskSuccess` with a fresh token per request (each token is used exactly once
//!   against the mock; the baseline gets the very same request bytes); `alibaba` sends
//!   `ReportTaskSucceeded` the same way (token and output in a form body); `lambda` sends
//!   `SendDurableExecutionCallbackSuccess` the same way (the callback id percent-encoded in the
//!   path, a 7-byte Result as the body; the baseline answers `200` with an empty body).
//! * **errors** counts responses other than a 200 success body plus transport failures; a correct
//!   run has 0. PASS/FAIL lines are informative: the benchmark exits 0 either way.

mod common;

use common::{env_or, load_average, median, verdict};

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tasktoken::{Mock, MockConfig, MockServer, Provider, TaskSpec};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Pending tasks created for the memory figure.
const MEMORY_TASKS: usize = 1_000_000;
/// Live tokens the heartbeat scenario cycles through.
const HEARTBEAT_TASKS: usize = 10_000;
/// Hard cap on requests in one timed run, whatever its duration.
const MAX_REQUESTS_PER_RUN: usize = 10_000_000;
/// Fresh tokens per success round: the fastest rate seen so far, times the run length, times this.
const SUCCESS_POOL_MARGIN: f64 = 2.0;
/// Bounds on the success token pool of one round.
const SUCCESS_POOL_MIN: usize = 20_000;
const SUCCESS_POOL_MAX: usize = 3_000_000;
/// Requests/s assumed for sizing success pools when no scenario has run yet.
const UNMEASURED_RATE_GUESS: f64 = 150_000.0;
/// Length of one turn of a server within a round, unless `TASKTOKEN_BENCH_SLICE_MS` says.
const SLICE_MS: u64 = 200;
/// Unmeasured heartbeat load on each server before the first timed run.
const WARMUP: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const TOKIO_WORKERS: usize = 2;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const HEARTBEAT_TARGET: &str = "AWSStepFunctions.SendTaskHeartbeat";
const SUCCESS_TARGET: &str = "AWSStepFunctions.SendTaskSuccess";
/// The baseline's fixed request id (the mock mints a UUID per request; that is part of its cost).
const BASELINE_REQUEST_ID: &str = "00000000-0000-4000-8000-000000000000";

/// Issue 6: one million pending tasks in at most 150 MB.
const MEMORY_TARGET_MB: f64 = 150.0;
/// Issues 11 and 14: sustained throughput at least 0.85 of the minimal hyper server, every round.
const RATIO_TARGET: f64 = 0.85;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let settings = Settings::from_env();
    // Memory first, in a quiet process: no runtime, no server, no load yet.
    let memory = measure_memory(MEMORY_TASKS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(TOKIO_WORKERS)
        .enable_all()
        .build()
        .expect("build the tokio runtime");
    let throughput = runtime.block_on(measure_throughput(&settings));
    runtime.shutdown_timeout(Duration::from_secs(1));
    print!("{}", memory.render());
    match throughput {
        Ok(report) => print!("{}", report.render(&settings)),
        Err(e) => {
            println!("\nthroughput: could not measure: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Settings

struct Settings {
    connections: usize,
    duration: Duration,
    rounds: usize,
    /// Length of one turn of a server within a round.
    slice: Duration,
    /// Both columns measure the baseline (`TASKTOKEN_BENCH_AA=1`): the method's own noise.
    aa: bool,
    /// The mock's journal capacity (`TASKTOKEN_BENCH_JOURNAL`; the default configuration's).
    journal: usize,
    /// Scenario names to run (all when the variable is unset).
    scenarios: Option<Vec<String>>,
}

impl Settings {
    fn from_env() -> Settings {
        let secs: f64 = env_or("TASKTOKEN_BENCH_SECS", 3.0);
        let secs = if secs.is_finite() && secs > 0.0 { secs.min(600.0) } else { 3.0 };
        Settings {
            connections: env_or("TASKTOKEN_BENCH_CONNECTIONS", 32_usize).clamp(1, 4096),
            duration: Duration::from_secs_f64(secs),
            rounds: env_or("TASKTOKEN_BENCH_ROUNDS", 3_usize).clamp(2, 100),
            slice: Duration::from_millis(
                env_or("TASKTOKEN_BENCH_SLICE_MS", SLICE_MS).clamp(10, 60_000),
            ),
            aa: env_or("TASKTOKEN_BENCH_AA", 0_u8) == 1,
            journal: env_or("TASKTOKEN_BENCH_JOURNAL", MockConfig::DEFAULT_JOURNAL_CAPACITY),
            scenarios: std::env::var("TASKTOKEN_BENCH_SCENARIOS").ok().map(|list| {
                list.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
            }),
        }
    }

    fn runs(&self, scenario: &str) -> bool {
        self.scenarios.as_ref().is_none_or(|list| list.iter().any(|s| s == scenario))
    }
}

// ---------------------------------------------------------------------------------------
// Memory

struct MemoryReport {
    tasks: usize,
    pending: u64,
    rss_before_kib: Option<u64>,
    rss_after_kib: Option<u64>,
    rss_dropped_kib: Option<u64>,
    elapsed: Duration,
}

/// Creates `tasks` pending AWS tasks in process and records resident memory around it.
fn measure_memory(tasks: usize) -> MemoryReport {
    let rss_before_kib = rss_kib();
    let started = Instant::now();
    let mock = Mock::new(MockConfig::default()).expect("the default config is valid");
    for _ in 0..tasks {
        drop(
            mock.create_task(TaskSpec::new(Provider::Aws))
                .expect("an uncapped mock accepts every task"),
        );
    }
    let elapsed = started.elapsed();
    let rss_after_kib = rss_kib();
    let pending = mock.stats().pending;
    drop(mock);
    MemoryReport {
        tasks,
        pending,
        rss_before_kib,
        rss_after_kib,
        rss_dropped_kib: rss_kib(),
        elapsed,
    }
}

/// `VmRSS` of this process in KiB (Linux only).
fn rss_kib() -> Option<u64> {
    common::rss_kb(std::process::id())
}

impl MemoryReport {
    fn growth_bytes(&self) -> Option<u64> {
        Some(self.rss_after_kib?.saturating_sub(self.rss_before_kib?).saturating_mul(1024))
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let kib = |v: Option<u64>| v.map_or("n/a".to_owned(), |k| mb(k * 1024));
        let _ = writeln!(
            out,
            "\n== memory: {} pending AWS tasks, in process, before any load ==",
            count(self.tasks as u64)
        );
        let _ = writeln!(out, "VmRSS before        {}", kib(self.rss_before_kib));
        let _ = writeln!(out, "VmRSS after         {}", kib(self.rss_after_kib));
        let _ = writeln!(out, "VmRSS after drop    {}", kib(self.rss_dropped_kib));
        let _ = writeln!(
            out,
            "created in          {:.2} s ({} tasks/s); pending per stats(): {}",
            self.elapsed.as_secs_f64(),
            count((self.tasks as f64 / self.elapsed.as_secs_f64().max(1e-9)) as u64),
            count(self.pending)
        );
        match self.growth_bytes() {
            Some(growth) => {
                let _ = writeln!(
                    out,
                    "growth              {} ({} bytes per task)",
                    mb(growth),
                    growth / self.tasks.max(1) as u64
                );
                let growth_mb = growth as f64 / 1e6;
                let _ = writeln!(
                    out,
                    "target  <= {MEMORY_TARGET_MB:.0} MB    {}",
                    verdict(growth_mb <= MEMORY_TARGET_MB),
                );
            }
            None => {
                let _ = writeln!(out, "growth              n/a (no /proc/self/status)");
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Servers

/// The two servers under load, side by side in this process.
struct Servers {
    mock: MockServer,
    baseline: SocketAddr,
    baseline_task: JoinHandle<()>,
}

impl Servers {
    async fn start(journal: usize) -> Result<Servers, BoxError> {
        let config = MockConfig::default().journal_capacity(journal).max_tasks(64_000_000);
        let mock = Mock::new(config)?;
        let mock = MockServer::start_with(mock).await?;
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let baseline = listener.local_addr()?;
        let baseline_task = tokio::spawn(serve_baseline(listener));
        Ok(Servers { mock, baseline, baseline_task })
    }

    async fn stop(self) {
        self.baseline_task.abort();
        let stopped = tokio::time::timeout(SHUTDOWN_TIMEOUT, self.mock.shutdown()).await;
        if !matches!(stopped, Ok(Ok(()))) {
            eprintln!("the mock server did not stop cleanly: {stopped:?}");
        }
    }
}

/// The baseline: accepts keep-alive HTTP/1.1 connections and answers every request `200 {}`.
async fn serve_baseline(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // The mock sets TCP_NODELAY on accepted sockets too.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(baseline_answer))
                .await;
        });
    }
}

/// Reads the whole body, like the mock does, then answers as the mock does on success
/// (AWS `{}`, or Alibaba's `{"EventId","RequestId"}` when there is no `X-Amz-Target`).
async fn baseline_answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let aws = req.headers().contains_key("x-amz-target");
    let lambda = req.uri().path().starts_with(tasktoken::contract::lambda::PATH_PREFIX);
    let status = match req.into_body().collect().await {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    };
    let body = if lambda {
        Bytes::new()
    } else if aws {
        Bytes::from_static(b"{}")
    } else {
        Bytes::from(format!("{{\"EventId\":2,\"RequestId\":\"{BASELINE_REQUEST_ID}\"}}"))
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if lambda {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-requestid", HeaderValue::from_static(BASELINE_REQUEST_ID));
    } else if aws {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert("x-amzn-requestid", HeaderValue::from_static(BASELINE_REQUEST_ID));
    } else {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        headers.insert("x-acs-request-id", HeaderValue::from_static(BASELINE_REQUEST_ID));
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------
// Workloads: the request bodies a run sends

/// Which wire a workload speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// awsJson1_0: `POST /` with `X-Amz-Target`.
    Aws,
    /// Alibaba RPC: a form body on a fixed query.
    Alibaba,
    /// Lambda restJson1: the id in the path, the Result as the body.
    Lambda,
}

/// What one run sends: an operation and the bodies, cycled or each used once.
struct Workload {
    target: HeaderValue,
    bodies: Vec<Bytes>,
    /// Lambda: each request's path, beside its body.
    paths: Vec<http::Uri>,
    cycle: bool,
    protocol: Protocol,
}

impl Workload {
    /// `SendTaskHeartbeat` cycling over `tasks` live tokens.
    fn heartbeat(mock: &Mock, tasks: usize) -> Result<Workload, BoxError> {
        Ok(Workload {
            target: HeaderValue::from_static(HEARTBEAT_TARGET),
            bodies: fresh_bodies(mock, Provider::Aws, tasks, |token| {
                serde_json::json!({ "taskToken": token }).to_string()
            })?,
            paths: Vec::new(),
            cycle: true,
            protocol: Protocol::Aws,
        })
    }

    /// `SendTaskSuccess` with `tasks` fresh tokens, each used once.
    fn success(mock: &Mock, tasks: usize) -> Result<Workload, BoxError> {
        Ok(Workload {
            target: HeaderValue::from_static(SUCCESS_TARGET),
            bodies: fresh_bodies(mock, Provider::Aws, tasks, |token| {
                serde_json::json!({ "taskToken": token, "output": "{\"n\":1}" }).to_string()
            })?,
            paths: Vec::new(),
            cycle: false,
            protocol: Protocol::Aws,
        })
    }

    /// Alibaba `ReportTaskSucceeded` with `tasks` fresh tokens, each used once (token and
    /// output in the form body, as pop-core sends them).
    fn alibaba_success(mock: &Mock, tasks: usize) -> Result<Workload, BoxError> {
        Ok(Workload {
            target: HeaderValue::from_static("ReportTaskSucceeded"),
            bodies: fresh_bodies(mock, Provider::Alibaba, tasks, |token| {
                tasktoken::wire::alibaba::encode_params([
                    ("TaskToken", token),
                    ("Output", "{\"n\":1}"),
                ])
            })?,
            paths: Vec::new(),
            cycle: false,
            protocol: Protocol::Alibaba,
        })
    }

    /// `SendDurableExecutionCallbackSuccess` on `tasks` fresh callbacks, each used once.
    fn lambda_success(mock: &Mock, tasks: usize) -> Result<Workload, BoxError> {
        let success = &tasktoken::contract::lambda::SEND_CALLBACK_SUCCESS;
        let mut paths = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let task = mock.create_task(TaskSpec::new(Provider::Lambda))?;
            paths.push(tasktoken::wire::lambda::path(success, &task.task_token).parse()?);
        }
        Ok(Workload {
            target: HeaderValue::from_static("SendDurableExecutionCallbackSuccess"),
            bodies: vec![Bytes::from_static(b"{\"n\":1}"); tasks],
            paths,
            cycle: false,
            protocol: Protocol::Lambda,
        })
    }

    /// Most requests a run of this workload may send.
    fn limit(&self) -> usize {
        if self.cycle {
            MAX_REQUESTS_PER_RUN
        } else {
            self.bodies.len().min(MAX_REQUESTS_PER_RUN)
        }
    }

    /// The `n`th body of a run.
    fn body(&self, n: usize) -> Option<&Bytes> {
        if self.cycle {
            self.bodies.get(n % self.bodies.len().max(1))
        } else {
            self.bodies.get(n)
        }
    }
}

/// Creates `tasks` pending tasks of `provider` on `mock` and renders a request body for each token.
fn fresh_bodies(
    mock: &Mock,
    provider: Provider,
    tasks: usize,
    render: impl Fn(&str) -> String,
) -> Result<Vec<Bytes>, BoxError> {
    (0..tasks)
        .map(|_| {
            let task = mock.create_task(TaskSpec::new(provider))?;
            Ok(Bytes::from(render(&task.task_token)))
        })
        .collect()
}

/// One timed run's claim on a workload: hands out request numbers up to the limit.
struct Feed {
    workload: Arc<Workload>,
    next: AtomicUsize,
    limit: usize,
}

impl Feed {
    fn new(workload: Arc<Workload>) -> Feed {
        let limit = workload.limit();
        Feed { workload, next: AtomicUsize::new(0), limit }
    }

    fn claim(&self) -> Option<(usize, Bytes)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        if n >= self.limit {
            return None;
        }
        self.workload.body(n).cloned().map(|b| (n, b))
    }

    fn exhausted(&self) -> bool {
        self.next.load(Ordering::Relaxed) >= self.limit
    }
}

// ---------------------------------------------------------------------------------------
// The load generator: one driver for every scenario and both servers

/// What one timed run against one server measured.
struct Run {
    completed: u64,
    errors: u64,
    elapsed: Duration,
    /// Per-request latency in microseconds, sorted.
    latencies_us: Vec<u32>,
    /// The run stopped because it ran out of bodies (or hit the request cap), not the clock.
    exhausted: bool,
}

impl Run {
    /// This run followed by `other` against the same server, as one run.
    fn merge(mut self, other: Run) -> Run {
        self.completed += other.completed;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
        self.exhausted |= other.exhausted;
        self
    }

    fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile_us(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[rank])
    }
}

/// What one connection saw.
#[derive(Default)]
struct ConnectionStats {
    completed: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    /// The connection failed and is not used again.
    broken: bool,
}

/// Drives `feed` against `address` on `connections` fresh keep-alive connections for `duration`.
async fn drive(
    address: SocketAddr,
    feed: Arc<Feed>,
    connections: usize,
    duration: Duration,
) -> Result<Run, BoxError> {
    let mut clients = Clients::open(address, connections).await?;
    let run = clients.drive(feed, duration).await;
    clients.close();
    run
}

/// One server's keep-alive client connections, open for a whole round: the slices of a round
/// take turns on them, so no slice pays for connecting (and the server for accepting).
struct Clients {
    host: HeaderValue,
    senders: Vec<SendRequest<Full<Bytes>>>,
    connections: Vec<JoinHandle<()>>,
}

impl Clients {
    async fn open(address: SocketAddr, connections: usize) -> Result<Clients, BoxError> {
        let mut clients = Clients {
            host: HeaderValue::from_str(&address.to_string())?,
            senders: Vec::with_capacity(connections),
            connections: Vec::with_capacity(connections),
        };
        for _ in 0..connections {
            let (sender, connection) = connect(address).await?;
            clients.senders.push(sender);
            clients.connections.push(connection);
        }
        Ok(clients)
    }

    /// Drives `feed` on every connection for `duration`. A connection that failed is not
    /// used again (its failure is counted once).
    async fn drive(&mut self, feed: Arc<Feed>, duration: Duration) -> Result<Run, BoxError> {
        let started = Instant::now();
        let deadline = started + duration;
        let mut workers = JoinSet::new();
        for mut sender in std::mem::take(&mut self.senders) {
            let (feed, host) = (feed.clone(), self.host.clone());
            workers.spawn(async move {
                let stats = load_connection(&mut sender, &feed, &host, deadline).await;
                ((!stats.broken).then_some(sender), stats)
            });
        }
        let mut total = ConnectionStats::default();
        let joined = tokio::time::timeout(duration + 2 * REQUEST_TIMEOUT, async {
            while let Some(joined) = workers.join_next().await {
                let (sender, stats) = joined?;
                self.senders.extend(sender);
                total.completed += stats.completed;
                total.errors += stats.errors;
                total.latencies_us.extend(stats.latencies_us);
            }
            Ok::<_, BoxError>(())
        })
        .await;
        let elapsed = started.elapsed();
        joined.map_err(|_| "the load generator did not finish in time")??;
        total.latencies_us.sort_unstable();
        Ok(Run {
            completed: total.completed,
            errors: total.errors,
            elapsed,
            latencies_us: total.latencies_us,
            exhausted: feed.exhausted(),
        })
    }

    fn close(self) {
        for connection in self.connections {
            connection.abort();
        }
    }
}

/// Opens one keep-alive HTTP/1.1 client connection; its I/O runs on the returned task.
async fn connect(
    address: SocketAddr,
) -> Result<(SendRequest<Full<Bytes>>, JoinHandle<()>), BoxError> {
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
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((sender, connection))
}

/// Sends requests one after another on one connection until the deadline or the feed runs out.
async fn load_connection(
    sender: &mut SendRequest<Full<Bytes>>,
    feed: &Feed,
    host: &HeaderValue,
    deadline: Instant,
) -> ConnectionStats {
    let mut stats =
        ConnectionStats { latencies_us: Vec::with_capacity(1 << 14), ..ConnectionStats::default() };
    while Instant::now() < deadline {
        let Some((n, body)) = feed.claim() else { break };
        let request = build_request(&feed.workload, host, n, body);
        let sent = Instant::now();
        let empty = feed.workload.protocol == Protocol::Lambda;
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, exchange(sender, request, empty)).await;
        let latency = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        match outcome {
            Ok(Ok(ok)) => {
                stats.completed += 1;
                stats.latencies_us.push(latency);
                stats.errors += u64::from(!ok);
            }
            // A transport failure or timeout leaves the connection unusable: stop it.
            Ok(Err(_)) | Err(_) => {
                stats.errors += 1;
                stats.broken = true;
                break;
            }
        }
    }
    stats
}

/// The request both servers get: `POST /` with the awsJson1_0 headers, or the Alibaba RPC
/// query with a form body.
fn build_request(
    workload: &Workload,
    host: &HeaderValue,
    n: usize,
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = http::Method::POST;
    let headers = request.headers_mut();
    headers.insert(http::header::HOST, host.clone());
    match workload.protocol {
        Protocol::Alibaba => {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            *request.uri_mut() = http::Uri::from_static(ALIBABA_URI);
        }
        Protocol::Aws => {
            headers.insert("x-amz-target", workload.target.clone());
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            *request.uri_mut() = http::Uri::from_static("/");
        }
        // As botocore sends it: the raw Result, no content type.
        Protocol::Lambda => {
            let path = workload.paths.get(n % workload.paths.len().max(1));
            *request.uri_mut() = path.cloned().unwrap_or_default();
        }
    }
    request
}

/// The query of every Alibaba request (the token travels in the form body).
const ALIBABA_URI: &str = "/?Action=ReportTaskSucceeded&Version=2019-03-15&Format=json";

/// Sends one request and reads the whole response; `Ok(true)` when it is `200 {}`.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
    empty: bool,
) -> Result<bool, hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    // AWS answers `{}`; Alibaba `{"EventId":…,"RequestId":…}`; Lambda an empty body.
    let expected = match empty {
        true => body.is_empty(),
        false => body.as_ref() == b"{}" || body.starts_with(b"{\"EventId\":"),
    };
    Ok(status == StatusCode::OK && expected)
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// One baseline run and the mock run right after it, on the same request bytes.
struct Round {
    baseline: Run,
    mock: Run,
    /// Mock rate / baseline rate of each pair of neighbouring turns, in order.
    pair_ratios: Vec<f64>,
}

impl Round {
    /// The median of the pair ratios: a burst of other work on the machine that lands on a few
    /// turns of one server moves a few pairs, not the round.
    fn ratio(&self) -> f64 {
        median(self.pair_ratios.clone())
    }

    /// The ratio of the round's totals, as the benchmark computed it before pairs.
    fn total_ratio(&self) -> f64 {
        self.mock.rate() / self.baseline.rate()
    }
}

struct Scenario {
    name: &'static str,
    rounds: Vec<Round>,
}

impl Scenario {
    fn median(&self, figure: impl Fn(&Round) -> f64) -> f64 {
        median(self.rounds.iter().map(figure).collect())
    }

    fn errors(&self, run: impl Fn(&Round) -> &Run) -> u64 {
        self.rounds.iter().map(|r| run(r).errors).sum()
    }
}

/// Runs `rounds` rounds of baseline and mock taking turns; `workload` gives each round its requests,
/// knowing the rounds before it.
async fn run_scenario(
    name: &'static str,
    servers: &Servers,
    settings: &Settings,
    mut workload: impl FnMut(&[Round]) -> Result<Arc<Workload>, BoxError>,
) -> Result<Scenario, BoxError> {
    let mut rounds = Vec::with_capacity(settings.rounds);
    for round in 1..=settings.rounds {
        let requests = workload(&rounds)?;
        let (connections, duration) = (settings.connections, settings.duration);
        // The two servers take turns in slices of about settings.slice, the first alternating
        // from slice to slice, so that a change in the machine's speed during a round (these
        // shared machines have them) lands on both alike.
        let slices =
            (duration.as_secs_f64() / settings.slice.as_secs_f64()).round().max(1.0) as u32;
        let slice = duration / slices;
        let feeds = [Arc::new(Feed::new(requests.clone())), Arc::new(Feed::new(requests))];
        let second = if settings.aa { servers.baseline } else { servers.mock.address() };
        let mut clients = [
            Clients::open(servers.baseline, connections).await?,
            Clients::open(second, connections).await?,
        ];
        let mut runs: [Option<Run>; 2] = [None, None];
        let mut pair_ratios = Vec::with_capacity(slices as usize);
        for n in 0..slices {
            let first = (round as u32 + n) % 2;
            let mut rates = [0.0; 2];
            for which in [first, 1 - first] {
                let which = which as usize;
                let run = clients[which].drive(feeds[which].clone(), slice).await?;
                rates[which] = run.rate();
                runs[which] = Some(match runs[which].take() {
                    Some(before) => before.merge(run),
                    None => run,
                });
            }
            if rates[0] > 0.0 {
                pair_ratios.push(rates[1] / rates[0]);
            }
        }
        for clients in clients {
            clients.close();
        }
        let [Some(baseline), Some(mock)] = runs else {
            return Err("a round ran no slice".into());
        };
        let round_result = Round { baseline, mock, pair_ratios };
        eprintln!(
            "{name} round {round}: baseline {:.0} req/s, mock {:.0} req/s; ratio {:.3} (median of {} turn pairs; {:.3} from the totals)",
            round_result.baseline.rate(),
            round_result.mock.rate(),
            round_result.ratio(),
            round_result.pair_ratios.len(),
            round_result.total_ratio(),
        );
        rounds.push(round_result);
    }
    Ok(Scenario { name, rounds })
}

struct ThroughputReport {
    /// 1-minute load average before and after: other work on the machine skews the figures.
    load: [Option<String>; 2],
    scenarios: Vec<Scenario>,
    success_pools: Vec<usize>,
    mock_succeeded: u64,
    mock_success_200s: u64,
}

async fn measure_throughput(settings: &Settings) -> Result<ThroughputReport, BoxError> {
    let servers = Servers::start(settings.journal).await?;
    let result = run_all(&servers, settings).await;
    servers.stop().await;
    result
}

async fn run_all(servers: &Servers, settings: &Settings) -> Result<ThroughputReport, BoxError> {
    let load_before = load_average();
    let mock: &Mock = &servers.mock;
    let heartbeat = Arc::new(Workload::heartbeat(mock, HEARTBEAT_TASKS)?);
    for address in [servers.baseline, servers.mock.address()] {
        drive(address, Arc::new(Feed::new(heartbeat.clone())), settings.connections, WARMUP)
            .await?;
    }
    let mut scenarios = Vec::new();
    if settings.runs("heartbeat") {
        scenarios
            .push(run_scenario("heartbeat", servers, settings, |_| Ok(heartbeat.clone())).await?);
    }
    // Success pools are sized from the fastest rate seen so far (a guess before any run).
    let mut fastest = scenarios.iter().map(|s| fastest_rate(&s.rounds)).fold(0.0, f64::max);
    if fastest == 0.0 {
        fastest = UNMEASURED_RATE_GUESS;
    }
    let mut success_pools = Vec::new();
    if settings.runs("success") {
        let successes = run_scenario("success", servers, settings, |before| {
            let pool = success_pool_size(fastest.max(fastest_rate(before)), settings.duration);
            success_pools.push(pool);
            Ok(Arc::new(Workload::success(mock, pool)?))
        })
        .await?;
        fastest = fastest.max(fastest_rate(&successes.rounds));
        scenarios.push(successes);
    }
    if settings.runs("alibaba") {
        scenarios.push(
            run_scenario("alibaba", servers, settings, |before| {
                let pool = success_pool_size(fastest.max(fastest_rate(before)), settings.duration);
                success_pools.push(pool);
                Ok(Arc::new(Workload::alibaba_success(mock, pool)?))
            })
            .await?,
        );
    }
    if settings.runs("lambda") {
        scenarios.push(
            run_scenario("lambda", servers, settings, |before| {
                let pool = success_pool_size(fastest.max(fastest_rate(before)), settings.duration);
                success_pools.push(pool);
                Ok(Arc::new(Workload::lambda_success(mock, pool)?))
            })
            .await?,
        );
    }

    let mock_success_200s = scenarios
        .iter()
        .filter(|s| s.name != "heartbeat")
        .flat_map(|s| s.rounds.iter())
        .map(|r| r.mock.completed - r.mock.errors)
        .sum();
    Ok(ThroughputReport {
        load: [load_before, load_average()],
        scenarios,
        success_pools,
        mock_succeeded: mock.stats().succeeded,
        mock_success_200s,
    })
}

/// The highest requests/s of any run in `rounds`.
fn fastest_rate(rounds: &[Round]) -> f64 {
    rounds.iter().flat_map(|r| [r.baseline.rate(), r.mock.rate()]).fold(0.0, f64::max)
}

/// Fresh tokens one success run needs: the fastest rate seen, for the run's length, with margin.
fn success_pool_size(fastest_rate: f64, duration: Duration) -> usize {
    let estimate = fastest_rate * duration.as_secs_f64() * SUCCESS_POOL_MARGIN;
    (estimate.ceil() as usize).clamp(SUCCESS_POOL_MIN, SUCCESS_POOL_MAX)
}

// ---------------------------------------------------------------------------------------
// Report

impl ThroughputReport {
    fn render(&self, settings: &Settings) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n== throughput: {} connections, {:.1} s per run in {} ms slices, {} rounds, {TOKIO_WORKERS} tokio workers, mock journal of {} entries, 127.0.0.1 ==",
            settings.connections,
            settings.duration.as_secs_f64(),
            settings.slice.as_millis(),
            settings.rounds,
            settings.journal
        );
        let _ = writeln!(
            out,
            "{:<10} {:>5} {:<8} {:>10} {:>10} {:>8} {:>8} {:>7}  note",
            "scenario", "round", "server", "requests", "req/s", "p50 us", "p99 us", "errors"
        );
        for scenario in &self.scenarios {
            for (i, round) in scenario.rounds.iter().enumerate() {
                for (server, run) in [("baseline", &round.baseline), ("mock", &round.mock)] {
                    render_run(&mut out, scenario.name, i + 1, server, run);
                }
            }
        }
        let pools: Vec<String> = self.success_pools.iter().map(|&n| count(n as u64)).collect();
        let _ = writeln!(
            out,
            "success token pools (fresh tasks created before each round): {}",
            pools.join(", ")
        );
        if settings.aa {
            // The mock answered nothing, so its state has nothing to agree with.
            let _ = writeln!(
                out,
                "A/A run (TASKTOKEN_BENCH_AA=1): the mock column is the baseline server again, so every ratio would be 1 but for the method's noise; no mock state to check"
            );
        } else {
            let _ = writeln!(
                out,
                "mock state check: {} success 200s, {} tasks succeeded in the mock ({})",
                count(self.mock_success_200s),
                count(self.mock_succeeded),
                if self.mock_success_200s == self.mock_succeeded {
                    "consistent"
                } else {
                    "MISMATCH"
                }
            );
        }
        let [before, after] = self.load.clone().map(|l| l.unwrap_or_else(|| "n/a".to_owned()));
        let _ = writeln!(
            out,
            "load average (1 min) before/after the runs: {before} / {after}, {} CPUs (this benchmark alone makes about {TOKIO_WORKERS}; more means other work shared the CPUs)",
            std::thread::available_parallelism().map_or(0, usize::from)
        );
        self.render_summary(&mut out);
        out
    }

    fn render_summary(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n== summary: median of rounds ==\n{:<10} {:>10} {:>10} {:>6} {:>11} {:>9} {:>9} {:>9} {:>9} {:>11}  {:<13} {:<13}",
            "scenario",
            "mock r/s",
            "base r/s",
            "ratio",
            "ratio range",
            "mock p50",
            "mock p99",
            "base p50",
            "base p99",
            "errors m/b",
            format!("ratio>={RATIO_TARGET}"),
            "every round",
        );
        for s in &self.scenarios {
            let ratio = s.median(Round::ratio);
            let ratios = s.rounds.iter().map(Round::ratio);
            let lowest = ratios.clone().fold(f64::INFINITY, f64::min);
            let highest = ratios.fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(
                out,
                "{:<10} {:>10.0} {:>10.0} {:>6.3} {:>11} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>11}  {:<13} {:<13}",
                s.name,
                s.median(|r| r.mock.rate()),
                s.median(|r| r.baseline.rate()),
                ratio,
                format!("{lowest:.2}-{highest:.2}"),
                s.median(|r| r.mock.percentile_us(0.50)),
                s.median(|r| r.mock.percentile_us(0.99)),
                s.median(|r| r.baseline.percentile_us(0.50)),
                s.median(|r| r.baseline.percentile_us(0.99)),
                format!("{}/{}", s.errors(|r| &r.mock), s.errors(|r| &r.baseline)),
                verdict(ratio >= RATIO_TARGET),
                verdict(lowest >= RATIO_TARGET),
            );
        }
        let _ = writeln!(
            out,
            "(latencies in microseconds; ratio = mock req/s / baseline req/s: per round, the median over its pairs of neighbouring turns; then the median of rounds;\n a wide ratio range means other work on the machine disturbed some runs: rerun, or raise TASKTOKEN_BENCH_ROUNDS)"
        );
    }
}

fn render_run(out: &mut String, scenario: &str, round: usize, server: &str, run: &Run) {
    let note = if run.exhausted { "ran out of requests before the deadline" } else { "" };
    let _ = writeln!(
        out,
        "{:<10} {:>5} {:<8} {:>10} {:>10.0} {:>8.0} {:>8.0} {:>7}  {note}",
        scenario,
        round,
        server,
        run.completed,
        run.rate(),
        run.percentile_us(0.50),
        run.percentile_us(0.99),
        run.errors,
    );
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `1234567` as `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
