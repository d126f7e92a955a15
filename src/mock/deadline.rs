//! Read deadlines of one connection, kept by one timer per connection.
//!
//! A request on a keep-alive connection only stamps the time it changes phase (a clock read,
//! no timer); a single [`Deadlines::watch`] future per connection sleeps until the earliest
//! deadline that could have passed (at most the body timeout, since a body may start at any
//! moment) and re-arms itself only when it wakes. hyper's own
//! `header_read_timeout` creates, registers and cancels a timer for every request, which
//! cost several percent of the mock's throughput.
//!
//! * waiting for a request head (a new connection, or after an answer) for longer than the
//!   header timeout closes the connection, as an idle or slow-head timeout;
//! * reading a body for longer than the body timeout wakes the reader, which answers 408;
//! * handling a request has no deadline.

use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as _, Incoming};
use tokio::time::Instant;

/// Waiting for a request head since the stamped time.
const HEAD: u64 = 0;
/// Reading a request body since the stamped time.
const BODY: u64 = 1;
/// Handling a request: no deadline.
const BUSY: u64 = 2;
/// Reading a body whose deadline passed.
const EXPIRED: u64 = 3;
const PHASE_BITS: u32 = 2;
const PHASE_MASK: u64 = (1 << PHASE_BITS) - 1;

/// The phase of one connection and when it began, shared by its service and its watchdog.
#[derive(Debug)]
pub(super) struct Deadlines {
    start: Instant,
    header: Duration,
    body: Duration,
    /// Phase in the low bits, milliseconds since `start` above them.
    state: AtomicU64,
    /// The body reader to wake when its deadline passes.
    reader: Mutex<Option<Waker>>,
}

impl Deadlines {
    /// A connection that opened at `start`: waiting for its first head since then.
    pub(super) fn new(start: Instant, header: Duration, body: Duration) -> Deadlines {
        Deadlines {
            start,
            // A zero timeout would make a deadline equal its own stamp; 1 ms is the resolution.
            header: header.max(Duration::from_millis(1)),
            body: body.max(Duration::from_millis(1)),
            state: AtomicU64::new(HEAD),
            reader: Mutex::new(None),
        }
    }

    fn millis_now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX >> PHASE_BITS)
    }

    fn stamp(&self, phase: u64) {
        self.state.store((self.millis_now() << PHASE_BITS) | phase, Ordering::Release);
    }

    /// A body is being waited for from now on: its deadline runs.
    pub(super) fn reading_body(&self) {
        self.stamp(BODY);
    }

    /// A head is in. No deadline runs until its body has to be waited for ([`Deadlines::read_body`]
    /// stamps that moment): a body that came with its head, as most do, costs no clock read.
    pub(super) fn head_received(&self) {
        self.busy();
    }

    /// The body is in (or abandoned): no deadline while the request is handled, so no time is
    /// stamped (the watchdog reads none in this phase).
    pub(super) fn busy(&self) {
        self.state.store(BUSY, Ordering::Release);
    }

    /// The answer is out: the next head is awaited from now on.
    pub(super) fn awaiting_head(&self) {
        self.stamp(HEAD);
    }

    fn body_expired(&self) -> bool {
        self.state.load(Ordering::Acquire) & PHASE_MASK == EXPIRED
    }

    /// Runs for the life of the connection; returns when a head has been awaited for longer
    /// than the header timeout, and the connection should be closed.
    pub(super) async fn watch(&self) {
        // The connection starts awaiting its first head. A body may start at any moment and
        // must be looked at within its timeout: no sleep is longer than that.
        let sleep = tokio::time::sleep(self.header.min(self.body));
        tokio::pin!(sleep);
        loop {
            sleep.as_mut().await;
            let state = self.state.load(Ordering::Acquire);
            let since = self.start + Duration::from_millis(state >> PHASE_BITS);
            let now = Instant::now();
            let next = match state & PHASE_MASK {
                HEAD if now >= since + self.header => return,
                HEAD => since + self.header,
                BODY if now >= since + self.body => {
                    // Only this phase stamp expires: a request that began meanwhile has
                    // another stamp and keeps its own deadline.
                    let expired = (state & !PHASE_MASK) | EXPIRED;
                    if self
                        .state
                        .compare_exchange(state, expired, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take();
                        if let Some(reader) = reader {
                            reader.wake();
                        }
                    }
                    now + self.header
                }
                BODY => since + self.body,
                // Handling, or an expired body being answered: look again later.
                _ => now + self.header,
            };
            sleep.as_mut().reset(next.min(now + self.body));
        }
    }

    /// Reads a body of at most `limit` bytes before the body deadline, which starts the first
    /// time the body has to be waited for. A body that arrives in one frame is kept as it is,
    /// without a copy.
    pub(super) async fn read_body(&self, mut body: Incoming, limit: usize) -> BodyRead {
        // The body so far: its one frame as it came, until a second frame makes a copy.
        let mut single = Bytes::new();
        let mut joined: Option<bytes::BytesMut> = None;
        let mut waited = false;
        loop {
            let frame = poll_fn(|cx| {
                if self.body_expired() {
                    return Poll::Ready(Err(()));
                }
                match std::pin::Pin::new(&mut body).poll_frame(cx) {
                    Poll::Ready(frame) => Poll::Ready(Ok(frame)),
                    Poll::Pending => {
                        if !waited {
                            waited = true;
                            self.reading_body();
                        }
                        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
                        match reader.as_ref() {
                            Some(w) if w.will_wake(cx.waker()) => {}
                            _ => *reader = Some(cx.waker().clone()),
                        }
                        drop(reader);
                        // The watchdog may have expired the body between the two looks.
                        if self.body_expired() {
                            Poll::Ready(Err(()))
                        } else {
                            Poll::Pending
                        }
                    }
                }
            })
            .await;
            let data = match frame {
                Err(()) => return BodyRead::TimedOut,
                Ok(None) => return BodyRead::Complete(joined.map_or(single, |b| b.freeze())),
                Ok(Some(Err(_))) => return BodyRead::Failed,
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_trailers) => continue,
                },
            };
            let held = joined.as_ref().map_or(single.len(), |b| b.len());
            if held + data.len() > limit {
                return BodyRead::TooLarge(body);
            }
            match &mut joined {
                Some(buf) => buf.extend_from_slice(&data),
                None if single.is_empty() => single = data,
                None => {
                    // The whole body's size when it was declared; else (chunked) the most it
                    // may hold, so that the buffer never doubles past the limit (a chunked body
                    // over the limit then costs the limit, not twice it). Untouched capacity is
                    // not resident.
                    let hint = body.size_hint().upper().unwrap_or(limit as u64).min(limit as u64);
                    let mut buf = bytes::BytesMut::with_capacity((held + hint as usize).min(limit));
                    buf.extend_from_slice(&single);
                    buf.extend_from_slice(&data);
                    joined = Some(buf);
                }
            }
        }
    }
}

/// How reading a body ended.
pub(super) enum BodyRead {
    /// All of it, within the limit.
    Complete(Bytes),
    /// Over the limit; the rest is still unread.
    TooLarge(Incoming),
    /// The client broke the framing or went away.
    Failed,
    /// The client did not finish in time.
    TimedOut,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_awaited_head_expires_after_the_header_timeout() {
        let deadlines =
            Deadlines::new(Instant::now(), Duration::from_secs(5), Duration::from_secs(1));
        let started = Instant::now();
        deadlines.watch().await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn each_answer_restarts_the_head_deadline() {
        let deadlines = std::sync::Arc::new(Deadlines::new(
            Instant::now(),
            Duration::from_secs(5),
            Duration::from_secs(1),
        ));
        let started = Instant::now();
        let busy = deadlines.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                busy.reading_body();
                busy.busy();
                busy.awaiting_head();
            }
        });
        deadlines.watch().await;
        // Answers at 4, 8 and 12 s; the head awaited since 12 s expires at 17 s.
        assert_eq!(started.elapsed(), Duration::from_secs(17));
    }

    #[tokio::test(start_paused = true)]
    async fn handling_has_no_deadline() {
        let deadlines = std::sync::Arc::new(Deadlines::new(
            Instant::now(),
            Duration::from_secs(5),
            Duration::from_secs(1),
        ));
        deadlines.busy();
        let watching = deadlines.clone();
        let watch = tokio::spawn(async move { watching.watch().await });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!watch.is_finished());
        deadlines.awaiting_head();
        let at = Instant::now();
        watch.await.unwrap();
        assert!(at.elapsed() <= Duration::from_secs(5));
        assert!(at.elapsed() >= Duration::from_secs(4));
    }
}
