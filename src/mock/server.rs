//! The HTTP adapter: serves a [`Mock`] with hyper on a socket, bounding what it reads, and stops cleanly.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::Poll;
use std::time::Duration;

use atomic_waker::AtomicWaker;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

use super::activities::{AnswerBody, Polled};
use super::adapter::Head;
use super::deadline::{BodyRead, Deadlines};
use super::linger::{Linger, Lingering};
use super::{Mock, MockConfig};

/// How long open connections get to finish when the server stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running mock on a loopback port, for tests: as easy to start as a wiremock server.
///
/// Derefs to its [`Mock`], so tasks are created and read directly, without HTTP.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use tasktoken::{MockServer, Provider, Status, TaskSpec};
///
/// let server = MockServer::start().await;
/// let task = server.create_task(TaskSpec::new(Provider::Aws).timeout_seconds(30)).unwrap();
/// // ... point the worker under test at server.uri() and give it task.task_token ...
/// server.advance_clock(Duration::from_secs(30)).unwrap();
/// assert_eq!(server.task(task.task_id).unwrap().status, Status::TimedOut);
/// # });
/// ```
#[derive(Debug)]
pub struct MockServer {
    mock: Mock,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl MockServer {
    /// Starts a mock with the default configuration (virtual clock) on `127.0.0.1` and an
    /// ephemeral port.
    ///
    /// # Panics
    /// If no loopback port can be bound, as `wiremock::MockServer::start` does.
    pub async fn start() -> MockServer {
        let mock = Mock::new(MockConfig::default()).expect("the default config is valid");
        MockServer::start_with(mock).await.expect("bind 127.0.0.1 on an ephemeral port")
    }

    /// Serves `mock` on `127.0.0.1` and an ephemeral port.
    pub async fn start_with(mock: Mock) -> io::Result<MockServer> {
        MockServer::bind(mock, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `mock` on `address`.
    pub async fn bind(mock: Mock, address: SocketAddr) -> io::Result<MockServer> {
        let listener = bind(address).await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(mock.clone(), listener, async {
            let _ = stopped.await;
        }));
        Ok(MockServer { mock, address, stop: Some(stop), task: Some(task) })
    }

    /// `http://<address>`, the endpoint to point clients at.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The engine.
    pub fn mock(&self) -> &Mock {
        &self.mock
    }

    /// Stops accepting, lets open requests finish, and waits for the server to end.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(io::Error::other(e))),
            None => Ok(()),
        }
    }
}

impl Deref for MockServer {
    type Target = Mock;
    fn deref(&self) -> &Mock {
        &self.mock
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `mock` on `listener` until `shutdown` completes, then drains open connections.
pub async fn serve(
    mock: Mock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    // Sent when the server stops: connections not yet handed to hyper close at once, the
    // others finish what they are answering. Every connection holds a receiver until it ends.
    let (stopping, stopped) = watch::channel(());
    let slots = Arc::new(Semaphore::new(mock.limits().max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::time::Instant::now();
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // At the cap: say so and close, rather than leave the client in the backlog.
            tracing::warn!(%peer, "connection cap reached; refusing a connection");
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (mock, mut stopped) = (mock.clone(), stopped.clone());
        tokio::spawn(async move {
            // No HTTP state (hyper's 8 KiB read buffer among it) until the first byte: an
            // idle connection costs little, and one that never sends is closed at the header
            // timeout as hyper would.
            let header_timeout = mock.limits().header_read_timeout;
            // A peek, not `readable()`: tokio reports a fresh socket readable before any data.
            let mut first = [0u8; 1];
            tokio::select! {
                peeked = tokio::time::timeout_at(accepted + header_timeout, stream.peek(&mut first)) => {
                    if !matches!(peeked, Ok(Ok(1..))) {
                        tracing::debug!(%peer, "nothing received within the header timeout; closing");
                        return;
                    }
                }
                _ = stopped.changed() => return,
            }
            // Boxed: the task's own allocation stays the size of the wait above. The receiver
            // goes to the connection's watchdog, which lives as long as the connection.
            let served = Box::pin(async move {
                supervised(Connection::new(mock, accepted), stream, Some(stopped)).await
            });
            if let Err(e) = served.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop((listener, stopped));
    let _ = stopping.send(());
    if tokio::time::timeout(DRAIN_TIMEOUT, stopping.closed()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

/// What the service of one connection shares with its watchdog and its IO.
#[derive(Debug)]
struct Connection {
    mock: Mock,
    deadlines: Deadlines,
    /// Armed when an answer leaves the request body unread: the IO then closes by lingering.
    linger: Arc<Linger>,
    /// What the watchdog tells the connection.
    signal: Signal,
}

/// What a connection's watchdog tells it: to finish what it is answering and close (the
/// server is stopping), or to close now (a head was awaited past the header timeout).
#[derive(Debug)]
struct Signal {
    /// [`RUNNING`], [`DRAIN`] or [`CLOSE`]; only ever raised.
    state: AtomicU8,
    /// The connection's task, woken when the state is raised.
    waker: AtomicWaker,
}

const RUNNING: u8 = 0;
const DRAIN: u8 = 1;
const CLOSE: u8 = 2;

impl Signal {
    fn new() -> Signal {
        Signal { state: AtomicU8::new(RUNNING), waker: AtomicWaker::new() }
    }

    fn raise(&self, to: u8) {
        self.state.fetch_max(to, Ordering::AcqRel);
        self.waker.wake();
    }
}

impl Connection {
    fn new(mock: Mock, opened: tokio::time::Instant) -> Arc<Connection> {
        let limits = mock.limits();
        let deadlines =
            Deadlines::new(opened, limits.header_read_timeout, limits.body_read_timeout);
        Arc::new(Connection { mock, deadlines, linger: Arc::default(), signal: Signal::new() })
    }
}

/// The hyper connection serving `state.mock` on `io`; its read deadlines are kept by
/// [`supervised`], and it closes by lingering when `state.linger` is armed.
#[allow(clippy::type_complexity)] // hyper's connection type, spelled out once
fn connection<IO>(
    state: Arc<Connection>,
    io: IO,
) -> http1::Connection<
    TokioIo<Lingering<IO>>,
    impl hyper::service::Service<
        Request<Incoming>,
        Response = Response<AnswerBody>,
        Error = ResetByFault,
        Future = impl Future<Output = Result<Response<AnswerBody>, ResetByFault>> + Send,
    >,
>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Lingering::new(io, state.linger.clone()));
    let service = service_fn(move |req| answer(state.clone(), req));
    http1::Builder::new().serve_connection(io, service)
}

/// Serves `io` until the connection ends; closes it once a request head has been awaited for
/// longer than the header timeout (a slow or idle client), and finishes it gracefully once
/// `stop` changes (or its sender is gone).
///
/// The deadlines and `stop` are watched by a task of their own that reaches the connection
/// through [`Signal`]: a wake of the connection (every request has one or more) then costs one
/// atomic load. Polling a timer and a shared shutdown notification beside hyper at every wake
/// cost about 0.26 µs per request in a profile of the throughput benchmark's SendTaskSuccess
/// run, 8 % of what the mock spent per request over the bare hyper server.
async fn supervised<IO>(
    state: Arc<Connection>,
    io: IO,
    stop: Option<watch::Receiver<()>>,
) -> Result<(), hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let watchdog = tokio::spawn(watchdog(state.clone(), stop));
    let mut connection = std::pin::pin!(connection(state.clone(), io));
    let mut draining = false;
    let ended = poll_fn(|cx| {
        // Registered before the state is read: a raise in between still wakes this task.
        state.signal.waker.register(cx.waker());
        match state.signal.state.load(Ordering::Acquire) {
            CLOSE => return Poll::Ready(Ok(())),
            DRAIN if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            _ => {}
        }
        connection.as_mut().poll(cx)
    })
    .await;
    watchdog.abort();
    ended
}

/// Keeps `state`'s read deadlines (closing the connection when a head is awaited too long) and
/// turns a change of `stop` into a graceful close.
async fn watchdog(state: Arc<Connection>, stop: Option<watch::Receiver<()>>) {
    let stopped = async move {
        match stop {
            // A change or a dropped sender: either way the server is stopping.
            Some(mut stop) => {
                let _ = stop.changed().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let mut watch = std::pin::pin!(state.deadlines.watch());
    tokio::select! {
        () = &mut watch => {}
        () = stopped => {
            state.signal.raise(DRAIN);
            // Bodies still being read keep their deadline while the connection drains.
            watch.await;
        }
    }
    tracing::debug!("no request head within the header timeout; closing the connection");
    state.signal.raise(CLOSE);
}

/// Serves one connection on any byte stream until it closes: the path every TCP connection
/// takes, usable in memory (fuzzing, tests) with `tokio::io::duplex`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// let mock = tasktoken::Mock::new(tasktoken::MockConfig::default()).unwrap();
/// let (mut client, server) = tokio::io::duplex(64 * 1024);
/// let served = tokio::spawn(tasktoken::mock::serve_connection(mock, server));
/// client.write_all(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
/// let mut answer = String::new();
/// client.read_to_string(&mut answer).await.unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200 OK"));
/// served.await.unwrap().unwrap();
/// # });
/// ```
pub async fn serve_connection<IO>(mock: Mock, io: IO) -> Result<(), hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    supervised(Connection::new(mock, tokio::time::Instant::now()), io, None).await
}

/// Answers a connection over the cap with a 503 and closes it. The request head is read
/// first (at most 16 KiB, at most 1 s), so that HTTP clients see an answer to their request
/// rather than an unsolicited message.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let read_head = async {
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), read_head).await;
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        stream.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        ),
    )
    .await;
}

/// Binds `address` with a listen backlog of [`LISTEN_BACKLOG`] (tokio's default of 128
/// drops bursts of connects into one-second SYN retries).
pub async fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Pending connections the kernel queues before `accept` (capped by `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A fault asked for the connection to be dropped without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
struct ResetByFault;

async fn answer(
    state: Arc<Connection>,
    req: Request<Incoming>,
) -> Result<Response<AnswerBody>, ResetByFault> {
    state.deadlines.head_received();
    match answer_request(&state.mock, &state.deadlines, req).await {
        Ok(Answer::Read(response)) => {
            state.deadlines.awaiting_head();
            Ok(response)
        }
        Ok(Answer::Unread(mut response)) => {
            // The rest of the body is never read: this answer is the connection's last, and
            // the lingering close has its own time bounds (no head deadline meanwhile).
            state.linger.arm();
            state.deadlines.busy();
            let close = HeaderValue::from_static("close");
            response.headers_mut().insert(http::header::CONNECTION, close);
            Ok(response)
        }
        Err(reset) => {
            state.deadlines.awaiting_head();
            Err(reset)
        }
    }
}

/// An answer, and whether the request body was read to its end.
enum Answer {
    /// The body was read whole; the connection may serve another request.
    Read(Response<AnswerBody>),
    /// The answer leaves the body (or its rest) unread: the connection closes after it, by
    /// lingering, so that a client still writing reads the answer instead of a reset.
    Unread(Response<AnswerBody>),
}

async fn answer_request(
    mock: &Mock,
    deadlines: &Deadlines,
    req: Request<Incoming>,
) -> Result<Answer, ResetByFault> {
    let (parts, body) = req.into_parts();
    let route = mock.route(&Head { uri: &parts.uri, headers: &parts.headers });
    let limit = route.body_limit();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = |parts: &http::request::Parts| {
        Answer::Unread(
            route.too_large(&Head { uri: &parts.uri, headers: &parts.headers }).map(plain),
        )
    };
    if declared.is_some_and(|n| n > limit as u64) {
        // Decided from the head alone, before the body is polled: hyper sends `100 Continue`
        // only when a body is first polled, so a client that sent `Expect: 100-continue`
        // gets this final answer instead (RFC 9110 §10.1.1), and one that did not is read
        // and discarded by the lingering close, after the answer.
        deadlines.busy();
        drop(body);
        return Ok(too_large(&parts));
    }
    let read = deadlines.read_body(body, limit).await;
    deadlines.busy();
    let body = match read {
        BodyRead::Complete(bytes) => bytes,
        BodyRead::TooLarge(rest) => {
            drop(rest);
            return Ok(too_large(&parts));
        }
        BodyRead::Failed => return Ok(Answer::Unread(closing(StatusCode::BAD_REQUEST))),
        BodyRead::TimedOut => return Ok(Answer::Unread(closing(StatusCode::REQUEST_TIMEOUT))),
    };
    let answered = mock.answer(route, Request::from_parts(parts, body));
    let (response, delivery) = match answered.poll {
        None => (answered.response, None),
        Some(Polled::Got(delivery)) => (answered.response, Some(delivery)),
        // Held with no read deadline running: the watchdog only watches heads and bodies.
        Some(Polled::Held(held)) => held.wait(mock).await,
    };
    let effect = answered.effect;
    if let Some(delay) = effect.delay {
        tokio::time::sleep(delay).await;
    }
    if effect.reset {
        // A task it carried goes back to its queue as the delivery drops.
        return Err(ResetByFault);
    }
    Ok(Answer::Read(response.map(|data| AnswerBody::new(data, delivery))))
}

/// A body with nothing to settle.
fn plain(data: Bytes) -> AnswerBody {
    AnswerBody::new(data, None)
}

/// An empty answer that closes the connection (the request could not be read).
fn closing(status: StatusCode) -> Response<AnswerBody> {
    let mut response = Response::new(plain(Bytes::new()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}
