//! The injectable clock that task deadlines (and later, signature timestamps) run on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
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
    Virtual { now_ms: AtomicU64 },
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
        Clock(Arc::new(Inner::Virtual { now_ms: AtomicU64::new(epoch_ms) }))
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
            Inner::Virtual { now_ms } => now_ms.load(Ordering::Acquire),
        }
    }

    /// Moves a virtual clock forward by `by`; returns the new time.
    pub fn advance(&self, by: Duration) -> Result<u64, NotVirtual> {
        match &*self.0 {
            Inner::Real { .. } => Err(NotVirtual),
            Inner::Virtual { now_ms } => {
                let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
                let prev = now_ms
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                        Some(t.saturating_add(ms))
                    })
                    .unwrap_or_else(|t| t);
                Ok(prev.saturating_add(ms))
            }
        }
    }
}

fn system_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
