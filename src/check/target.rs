//! The endpoint under test: requests with bounded time and response size, exchanges rendered.
//!
//! Requests arrive here already signed (by [`crate::auth`], when credentials are given); the
//! target only sends them and renders what went back and forth for reports.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};

use super::outcome::Exchange;

/// Largest response body read from a target; more is a failed exchange, not unbounded memory.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A response as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Bytes,
}

impl Received {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No answer within the per-request timeout.
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    /// The response body was larger than the checker reads.
    #[error("response body larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    /// Connection refused, reset, or a malformed response.
    #[error("{0}")]
    Connection(String),
}

/// A target URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an `http://` or `https://` URL.
    #[error("target {0:?} must start with http:// or https://")]
    Scheme(String),
    /// The HTTP client could not be built (no TLS backend, say).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// An HTTP endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    base: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl Target {
    /// A target at `base` (`http://host:port`), each request limited to `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Target, TargetError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TargetError::Scheme(base));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| TargetError::Client(e.to_string()))?;
        Ok(Target { base, client, timeout })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The `host[:port]` part of the base URL, for Host headers and signatures.
    pub fn authority(&self) -> &str {
        let rest = self.base.split_once("://").map(|(_, r)| r).unwrap_or(&self.base);
        rest.split('/').next().unwrap_or(rest)
    }

    /// Sends `request` (its URI is a path and query on the target) and reads the answer.
    pub async fn send(&self, request: Request<Bytes>) -> Result<Received, TransportError> {
        self.send_within(request, self.timeout).await
    }

    /// [`Target::send`] with its own timeout (a long poll may be held for a minute).
    pub async fn send_within(
        &self,
        request: Request<Bytes>,
        timeout: Duration,
    ) -> Result<Received, TransportError> {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut builder = self.client.request(parts.method, format!("{}{}", self.base, path));
        for (name, value) in &parts.headers {
            if name != http::header::HOST {
                builder = builder.header(name, value);
            }
        }
        let exchange = async {
            let mut response = builder.body(body).send().await.map_err(connection)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(connection)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(TransportError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Received { status, headers, body: Bytes::from(body) })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout(timeout)),
        }
    }
}

fn connection(e: reqwest::Error) -> TransportError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    TransportError::Connection(text)
}

/// Renders a request and its outcome for a report.
pub fn exchange(request: &Request<Bytes>, outcome: &Result<Received, TransportError>) -> Exchange {
    let mut req = format!(
        "{} {} HTTP/1.1\n",
        request.method(),
        request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    push_headers(&mut req, request.headers());
    req.push('\n');
    req.push_str(&shorten(request.body()));
    let response = match outcome {
        Ok(r) => {
            let mut s = format!("HTTP/1.1 {}\n", r.status);
            push_headers(&mut s, &r.headers);
            s.push('\n');
            s.push_str(&shorten(&r.body));
            s
        }
        Err(e) => format!("transport error: {e}"),
    };
    Exchange { request: req, response }
}

fn push_headers(out: &mut String, headers: &HeaderMap) {
    for (name, value) in headers {
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(&String::from_utf8_lossy(value.as_bytes()));
        out.push('\n');
    }
}

/// The body as lossy text, its middle elided past 600 bytes.
fn shorten(body: &[u8]) -> String {
    const KEEP: usize = 300;
    if body.len() <= 2 * KEEP {
        return String::from_utf8_lossy(body).into_owned();
    }
    format!(
        "{}… [{} bytes elided] …{}",
        String::from_utf8_lossy(&body[..KEEP]),
        body.len() - 2 * KEEP,
        String::from_utf8_lossy(&body[body.len() - KEEP..])
    )
}
