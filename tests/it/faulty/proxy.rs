//! What the async faulty targets share: a proxy listening in front of a real `MockServer`, forwarding to it and answering.
//!
//! `activity` and `lambda` each hold their own defects and state; this module accepts the
//! connections, forwards a request upstream and writes an [`Answer`] back.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tasktoken::MockServer;

/// A faulty target: the mock behind, the proxy in front.
pub struct ProxyTarget {
    /// The mock the proxy forwards to, kept running as long as the target.
    _mock: MockServer,
    /// The proxy's address.
    pub address: SocketAddr,
}

impl ProxyTarget {
    /// `http://<proxy>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// An answer, forwarded or made.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// Listens on 127.0.0.1 (an ephemeral port) and answers every request with `answer`, in front
/// of `mock`.
pub async fn listen<F, Fut>(mock: MockServer, answer: F) -> ProxyTarget
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answered = answer(req);
                    async move { Ok::<_, Infallible>(answered.await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    ProxyTarget { _mock: mock, address }
}

/// Sends the request of `parts` with `body` to `upstream` at `path_and_query`, its headers but
/// `Host` and `Content-Length` as sent; a transport failure is a 502 naming it.
pub async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    parts: &http::request::Parts,
    path_and_query: &str,
    body: Bytes,
) -> Answer {
    let mut builder = client.request(parts.method.clone(), format!("{upstream}{path_and_query}"));
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    match builder.body(body).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            Answer { status, headers, body: r.bytes().await.unwrap_or_default() }
        }
        Err(e) => Answer {
            status: 502,
            headers: http::HeaderMap::new(),
            body: Bytes::from(e.to_string()),
        },
    }
}

/// `answer` as a response, without the framing headers hyper writes itself.
pub fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in &answer.headers {
        if name != http::header::CONTENT_LENGTH
            && name != http::header::TRANSFER_ENCODING
            && name != http::header::CONNECTION
        {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}
