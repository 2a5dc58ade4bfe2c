//! Request-rate limiting shared by every clone of a client: a GCRA rate limiter
//! (smooth, no bursts) and a "not before" instant set by `429 Retry-After`.
//! Both are lock-free (atomics), so no lock is ever held across an await.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// tokio's clock, so that paused-time tests see the limiter advance with it.
use tokio::time::Instant;

/// Nanoseconds since `epoch`, saturating.
fn nanos_since(epoch: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX)
}

/// Generic cell rate algorithm: each request reserves the next free slot
/// (`theoretical arrival time`), slots are `1/rate` apart, and a caller sleeps until its
/// slot. Requests therefore start evenly spaced at `rate` per second at most.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    epoch: Instant,
    interval: u64,
    tat: AtomicU64,
}

impl RateLimiter {
    pub(crate) fn new(per_second: f64) -> RateLimiter {
        let interval = (1e9 / per_second).round().clamp(1.0, u64::MAX as f64) as u64;
        RateLimiter {
            epoch: Instant::now(),
            interval,
            tat: AtomicU64::new(0),
        }
    }

    /// Reserves the next slot and returns the instant it starts.
    pub(crate) fn reserve(&self) -> Instant {
        let now = nanos_since(self.epoch, Instant::now());
        let mut current = self.tat.load(Ordering::Relaxed);
        loop {
            let slot = current.max(now);
            let next = slot.saturating_add(self.interval);
            match self
                .tat
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return self.epoch + Duration::from_nanos(slot),
                Err(actual) => current = actual,
            }
        }
    }

    /// Waits for the next slot. Dropping the future forfeits the slot (it is not reused).
    pub(crate) async fn acquire(&self) {
        let at = self.reserve();
        if at > Instant::now() {
            tokio::time::sleep_until(at).await;
        }
    }
}

/// A shared "not before" instant: when the server answers 429 with `Retry-After`, no
/// request of this client starts before that moment.
#[derive(Debug)]
pub(crate) struct Hold {
    epoch: Instant,
    until: AtomicU64,
}

impl Hold {
    pub(crate) fn new() -> Hold {
        Hold {
            epoch: Instant::now(),
            until: AtomicU64::new(0),
        }
    }

    /// Holds requests back until at least `at` (never shortens an existing hold).
    pub(crate) fn extend_to(&self, at: Instant) {
        self.until
            .fetch_max(nanos_since(self.epoch, at), Ordering::AcqRel);
    }

    /// The instant requests are held until, if it is in the future.
    pub(crate) fn until(&self) -> Option<Instant> {
        let until = self.epoch + Duration::from_nanos(self.until.load(Ordering::Acquire));
        (until > Instant::now()).then_some(until)
    }

    /// Waits until no hold is in force (a hold may be extended while waiting).
    pub(crate) async fn wait(&self) {
        while let Some(until) = self.until() {
            tokio::time::sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_evenly_spaced() {
        let l = RateLimiter::new(10.0);
        let a = l.reserve();
        let b = l.reserve();
        let c = l.reserve();
        assert_eq!(b - a, Duration::from_millis(100));
        assert_eq!(c - b, Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_banked_as_a_burst() {
        let l = RateLimiter::new(1000.0);
        l.reserve();
        tokio::time::advance(Duration::from_millis(20)).await;
        let now = Instant::now();
        let a = l.reserve();
        let b = l.reserve();
        assert!(a >= now);
        assert_eq!(b - a, Duration::from_millis(1));
    }

    #[test]
    fn hold_only_grows() {
        let h = Hold::new();
        assert!(h.until().is_none());
        let far = Instant::now() + Duration::from_secs(60);
        h.extend_to(far);
        h.extend_to(Instant::now() + Duration::from_secs(1));
        let until = h.until().unwrap();
        assert!(until >= far - Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_paces_requests() {
        let l = RateLimiter::new(50.0);
        let start = tokio::time::Instant::now();
        for _ in 0..11 {
            l.acquire().await;
        }
        // 11 requests at 50/s: the last starts 10 intervals (200 ms) after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }
}
