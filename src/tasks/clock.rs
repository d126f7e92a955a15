//! The injectable clock that task deadlines (and later, signature timestamps) run on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A clock in milliseconds since the Unix epoch: real time, or a virtual clock that only
/// moves when told to.
///
/// ```
/// use std::time::Duration;
/// use tasktoken::Clock;
///
/// let clock = Clock::virtual_at(1_000);
/// clock.advance(Duration::from_secs(2)).unwrap();
/// assert_eq!(clock.now_ms(), 3_000);
/// assert!(Clock::real().advance(Duration::from_secs(1)).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
enum Inner {
    Real { wall_at_start: u64, start: Instant },
    Virtual { now_ms: AtomicU64, waiting: Mutex<Vec<Waker>> },
}

/// Returned when a real clock is asked to advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock is real time; start the mock with a virtual clock to advance it")]
pub struct NotVirtual;

impl Clock {
    /// Real time: wall-clock at start, then monotonic.
    pub fn real() -> Clock {
        Clock(Arc::new(Inner::Real { wall_at_start: system_now_ms(), start: Instant::now() }))
    }

    /// A virtual clock starting at the current wall-clock time.
    pub fn virtual_now() -> Clock {
        Clock::virtual_at(system_now_ms())
    }

    /// A virtual clock starting at `epoch_ms` milliseconds since the Unix epoch.
    pub fn virtual_at(epoch_ms: u64) -> Clock {
        Clock(Arc::new(Inner::Virtual {
            now_ms: AtomicU64::new(epoch_ms),
            waiting: Mutex::new(Vec::new()),
        }))
    }

    /// Whether this clock is virtual.
    pub fn is_virtual(&self) -> bool {
        matches!(*self.0, Inner::Virtual { .. })
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match &*self.0 {
            Inner::Real { wall_at_start, start } => {
                wall_at_start.saturating_add(start.elapsed().as_millis() as u64)
            }
            Inner::Virtual { now_ms, .. } => now_ms.load(Ordering::Acquire),
        }
    }

    /// Completes once a virtual clock reads at least `epoch_ms`; on a real clock it never
    /// completes (wait on a timer instead). Advancing the clock wakes every waiter, which
    /// looks again.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let clock = tasktoken::Clock::virtual_at(0);
    /// let waiting = tokio::spawn({
    ///     let clock = clock.clone();
    ///     async move { clock.reached(5_000).await }
    /// });
    /// clock.advance(Duration::from_secs(5)).unwrap();
    /// waiting.await.unwrap();
    /// # });
    /// ```
    pub fn reached(&self, epoch_ms: u64) -> Reached {
        Reached { clock: self.clone(), at_ms: epoch_ms }
    }

    /// Moves a virtual clock forward by `by`; returns the new time.
    pub fn advance(&self, by: Duration) -> Result<u64, NotVirtual> {
        match &*self.0 {
            Inner::Real { .. } => Err(NotVirtual),
            Inner::Virtual { now_ms, waiting } => {
                let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
                let prev = now_ms
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                        Some(t.saturating_add(ms))
                    })
                    .unwrap_or_else(|t| t);
                let woken = std::mem::take(&mut *lock(waiting));
                woken.into_iter().for_each(Waker::wake);
                Ok(prev.saturating_add(ms))
            }
        }
    }
}

/// The future of [`Clock::reached`].
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct Reached {
    clock: Clock,
    at_ms: u64,
}

impl Future for Reached {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Inner::Virtual { now_ms, waiting } = &*self.clock.0 else { return Poll::Pending };
        if now_ms.load(Ordering::Acquire) >= self.at_ms {
            return Poll::Ready(());
        }
        // Registered before looking again, so an advance between the two is not missed.
        let mut waiting = lock(waiting);
        if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
            waiting.push(cx.waker().clone());
        }
        drop(waiting);
        if now_ms.load(Ordering::Acquire) >= self.at_ms {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn lock(waiting: &Mutex<Vec<Waker>>) -> std::sync::MutexGuard<'_, Vec<Waker>> {
    // A list of wakers cannot be left inconsistent by a panic.
    waiting.lock().unwrap_or_else(|e| e.into_inner())
}

fn system_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
