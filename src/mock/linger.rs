//! Lingering close: after an answer that left a request body unread, stop writing, then discard input.
//!
//! Closing a TCP socket with unread input makes the kernel send a reset, and a reset throws
//! away whatever the peer has not read yet: the answer among it. A client that writes its
//! whole body before reading (Python's `http.client`, a blocking writer) then sees a broken
//! pipe instead of the 413. HTTP servers close such a connection in two steps, and so does
//! [`Lingering`] when its [`Linger`] is armed:
//!
//! 1. shut the write half (the peer reads the answer, then end of stream);
//! 2. read and throw away what the peer still sends, until it closes, or until it has sent
//!    nothing for [`LINGER_IDLE`], or for [`LINGER_TOTAL`] in all (Apache httpd's
//!    `SECONDS_TO_LINGER` and `MAX_SECS_TO_LINGER`; nginx's `lingering_timeout` and
//!    `lingering_time` are 5 s and 30 s).
//!
//! Bounded by time, not by bytes: however large the body, memory stays one stack buffer.
//! hyper calls `poll_shutdown` on its IO once it has written the last answer of a connection
//! it closes, so the wrapper needs no cooperation from hyper. Not armed, `poll_shutdown` is
//! the inner one, unchanged.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A lingering close ends when the peer has sent nothing for this long.
pub(super) const LINGER_IDLE: Duration = Duration::from_secs(2);
/// A lingering close ends after this long in any case.
pub(super) const LINGER_TOTAL: Duration = Duration::from_secs(30);
/// Bytes read per read call while discarding (on the stack, not kept).
const DISCARD_CHUNK: usize = 16 * 1024;
/// Reads per poll before yielding to other tasks: a fast peer must not hog a worker.
const READS_PER_POLL: usize = 64;

/// Whether the connection should linger when it closes: armed by the service when it answers
/// without reading the whole body.
#[derive(Debug, Default)]
pub(super) struct Linger(AtomicBool);

impl Linger {
    /// The answer leaves input unread: close by lingering.
    pub(super) fn arm(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(super) fn armed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// An IO whose shutdown lingers when its [`Linger`] is armed; reads and writes pass through.
#[derive(Debug)]
pub(super) struct Lingering<IO> {
    io: IO,
    linger: std::sync::Arc<Linger>,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Not shut down yet.
    Open,
    /// The write half is shut; discarding input.
    Discarding {
        /// The total bound.
        until: Instant,
        /// When the last bytes arrived.
        last_read: Instant,
        /// Wakes the task at the earlier of the idle and total bounds.
        timer: Pin<Box<Sleep>>,
    },
    /// Finished lingering (or never had to).
    Closed,
}

impl<IO> Lingering<IO> {
    pub(super) fn new(io: IO, linger: std::sync::Arc<Linger>) -> Lingering<IO> {
        Lingering { io, linger, state: State::Open }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Lingering<IO> {
    /// Reads and drops input until end of stream, an error, the idle or the total bound.
    fn poll_discard(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let State::Discarding { until, last_read, timer } = &mut self.state else {
            return Poll::Ready(());
        };
        let mut storage = [MaybeUninit::<u8>::uninit(); DISCARD_CHUNK];
        for _ in 0..READS_PER_POLL {
            let mut buf = ReadBuf::uninit(&mut storage);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                // End of stream, or the peer reset: nothing more will come.
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(())) => *last_read = Instant::now(),
                Poll::Pending => loop {
                    let now = Instant::now();
                    let next = (*last_read + LINGER_IDLE).min(*until);
                    if now >= next {
                        tracing::debug!("lingering close timed out");
                        return Poll::Ready(());
                    }
                    if timer.deadline() != next {
                        timer.as_mut().reset(next);
                    }
                    match timer.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        // Fired: the bound is looked at again above.
                        Poll::Ready(()) => continue,
                    }
                },
            }
        }
        // Still reading: let other tasks run, then carry on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Lingering<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match this.state {
                State::Open => {
                    ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
                    if !this.linger.armed() {
                        this.state = State::Closed;
                        return Poll::Ready(Ok(()));
                    }
                    let now = Instant::now();
                    let until = now + LINGER_TOTAL;
                    let timer = Box::pin(tokio::time::sleep_until((now + LINGER_IDLE).min(until)));
                    this.state = State::Discarding { until, last_read: now, timer };
                }
                State::Discarding { .. } => {
                    ready!(this.poll_discard(cx));
                    this.state = State::Closed;
                }
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn pair(armed: bool) -> (tokio::io::DuplexStream, Lingering<tokio::io::DuplexStream>) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let linger = Arc::new(Linger::default());
        if armed {
            linger.arm();
        }
        (client, Lingering::new(server, linger))
    }

    #[tokio::test(start_paused = true)]
    async fn not_armed_the_shutdown_is_the_inner_one() {
        let (mut client, mut server) = pair(false);
        client.write_all(b"unread").await.unwrap();
        let started = Instant::now();
        server.shutdown().await.unwrap();
        assert_eq!(started.elapsed(), Duration::ZERO);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn armed_it_shuts_the_write_half_then_discards_until_the_peer_closes() {
        let (mut client, mut server) = pair(true);
        server.write_all(b"HTTP/1.1 413\r\n\r\n").await.unwrap();
        let lingering = tokio::spawn(async move { server.shutdown().await });
        // The answer, then end of stream: the write half is shut while the server reads on.
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"HTTP/1.1 413\r\n\r\n");
        // 10 MiB more of the body is read and thrown away, never refused.
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..160 {
            client.write_all(&chunk).await.unwrap();
        }
        assert!(!lingering.is_finished());
        drop(client);
        lingering.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_peer_is_closed_after_the_idle_bound() {
        let (client, mut server) = pair(true);
        let started = Instant::now();
        server.shutdown().await.unwrap();
        assert_eq!(started.elapsed(), LINGER_IDLE);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_never_stops_is_closed_after_the_total_bound() {
        let (mut client, mut server) = pair(true);
        let started = Instant::now();
        let lingering = tokio::spawn(async move { server.shutdown().await });
        // A byte a second: never idle for 2 s, so only the total bound ends it.
        for _ in 0..120 {
            if client.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            if lingering.is_finished() {
                break;
            }
        }
        lingering.await.unwrap().unwrap();
        let took = started.elapsed();
        assert!(took >= LINGER_TOTAL && took <= LINGER_TOTAL + Duration::from_secs(1), "{took:?}");
    }
}
