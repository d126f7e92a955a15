//! The HTTP adapter: serves a [`Mock`] with hyper on a socket, bounding what it reads, and stops cleanly.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Effect, Mock, MockConfig};

/// How long a client may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
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
        let listener = TcpListener::bind(address).await?;
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
    let graceful = GracefulShutdown::new();
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
        let _ = stream.set_nodelay(true);
        let mock = mock.clone();
        let service = service_fn(move |req| answer(mock.clone(), req));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

/// A fault asked for the connection to be dropped without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
struct ResetByFault;

async fn answer(mock: Mock, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, ResetByFault> {
    let (parts, body) = req.into_parts();
    let limit = mock.body_limit(parts.uri.path(), &parts.headers);
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        // Decided from the head alone: the oversized body is never read.
        return Ok(mock.too_large(parts.uri.path(), &parts.headers).map(Full::new));
    }
    let read = tokio::time::timeout(mock.body_read_timeout(), Limited::new(body, limit).collect());
    let body = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Ok(mock.too_large(parts.uri.path(), &parts.headers).map(Full::new));
        }
        Ok(Err(_)) => return Ok(closing(StatusCode::BAD_REQUEST)),
        Err(_) => return Ok(closing(StatusCode::REQUEST_TIMEOUT)),
    };
    let response = mock.handle(Request::from_parts(parts, body));
    if let Some(effect) = response.extensions().get::<Effect>().copied() {
        if let Some(delay) = effect.delay {
            tokio::time::sleep(delay).await;
        }
        if effect.reset {
            return Err(ResetByFault);
        }
    }
    Ok(response.map(Full::new))
}

/// An empty answer that closes the connection (the request could not be read).
fn closing(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}
