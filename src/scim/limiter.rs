//! Request-rate limiting shared by every clone of a client: a GCRA rate limiter
//! (smooth, no bursts), a "not before" instant set by `429 Retry-After`, and a rate
//! adapted to the server's 429s (AIMD). No lock is ever held across an await.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
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

/// The rate the client adapts to the server's own limit (AIMD), shared by every clone
/// of a client.
///
/// Until the first `429` nothing is paced. At the first `429` the rate becomes
/// [`AdaptiveRate::BACKOFF`] × the answers the server accepted over the last second. At
/// a later one, [`AdaptiveRate::BACKOFF`] × the lower of the current rate and those
/// answers, but never less than half the current rate (the last second may have been
/// spent waiting out a `Retry-After`, which says nothing of the server's rate). Between
/// `429`s the rate grows by [`AdaptiveRate::GROWTH`] of the rate set at the last one a
/// second, and by at least one request a second, without a ceiling: a client that no
/// longer meets 429s is soon not paced at all. Requests start evenly spaced at the
/// current rate (like [`RateLimiter`]). A `429` answering a request sent before the
/// last decrease was caused by the old rate and does not lower it again: one decrease
/// per episode, not one per request in flight.
///
/// It works alongside the configured [`RateLimiter`] (the slower of the two applies)
/// and the `Retry-After` [`Hold`] (which still stops every request until it ends).
#[derive(Debug)]
pub(crate) struct AdaptiveRate {
    epoch: Instant,
    state: Mutex<Aimd>,
}

#[derive(Debug)]
struct Aimd {
    /// Requests a second allowed at `since`; `None` until the first 429.
    rate: Option<f64>,
    /// When `rate` was set (nanoseconds since the epoch).
    since: u64,
    /// Next free slot (nanoseconds since the epoch).
    tat: u64,
    /// Answers other than 429, per [`SLOT`] over the last second (a ring).
    accepted: [u32; SLOTS],
    /// The slot number (nanoseconds / SLOT) of the newest entry of `accepted`.
    newest: u64,
}

const SLOTS: usize = 10;
const SLOT: u64 = 100_000_000;

impl AdaptiveRate {
    /// What a 429 multiplies the rate by.
    pub(crate) const BACKOFF: f64 = 0.9;
    /// How much of the rate set at the last 429 is added back each second.
    pub(crate) const GROWTH: f64 = 0.02;
    /// The rate never goes below this (requests a second).
    pub(crate) const FLOOR: f64 = 1.0;

    pub(crate) fn new() -> AdaptiveRate {
        AdaptiveRate {
            epoch: Instant::now(),
            state: Mutex::new(Aimd {
                rate: None,
                since: 0,
                tat: 0,
                accepted: [0; SLOTS],
                newest: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aimd> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> u64 {
        nanos_since(self.epoch, Instant::now())
    }

    /// The current rate (requests a second), `None` while unlimited.
    pub(crate) fn rate(&self) -> Option<f64> {
        let now = self.now();
        self.lock().rate_at(now)
    }

    /// Reserves the next slot; `None` while unlimited.
    pub(crate) fn reserve(&self) -> Option<Instant> {
        let now = self.now();
        let mut s = self.lock();
        let rate = s.rate_at(now)?;
        let interval = (1e9 / rate).round().clamp(1.0, u64::MAX as f64) as u64;
        let slot = s.tat.max(now);
        s.tat = slot.saturating_add(interval);
        Some(self.epoch + Duration::from_nanos(slot))
    }

    /// Waits for the next slot (at once while unlimited).
    pub(crate) async fn acquire(&self) {
        if let Some(at) = self.reserve() {
            if at > Instant::now() {
                tokio::time::sleep_until(at).await;
            }
        }
    }

    /// The server answered a request with something other than 429.
    pub(crate) fn accepted(&self) {
        let now = self.now();
        let mut s = self.lock();
        s.advance(now);
        let i = (s.newest % SLOTS as u64) as usize;
        s.accepted[i] += 1;
    }

    /// The server answered 429 to a request sent at `sent`.
    pub(crate) fn throttled(&self, sent: Instant) {
        let now = self.now();
        let sent = nanos_since(self.epoch, sent);
        let mut s = self.lock();
        if s.rate.is_some() && sent < s.since {
            return; // sent at the rate before the last decrease
        }
        s.advance(now);
        let accepted = f64::from(s.accepted.iter().sum::<u32>());
        let base = match s.rate_at(now) {
            Some(rate) => rate.min(accepted.max(rate / 2.0)),
            None => accepted,
        };
        s.rate = Some((base * Self::BACKOFF).max(Self::FLOOR));
        s.since = now;
    }
}

impl Aimd {
    fn rate_at(&self, now: u64) -> Option<f64> {
        let rate = self.rate?;
        let secs = now.saturating_sub(self.since) as f64 / 1e9;
        Some(rate + (rate * AdaptiveRate::GROWTH).max(1.0) * secs)
    }

    /// Moves the ring to `now`, clearing the slots that fell out of the last second.
    fn advance(&mut self, now: u64) {
        let slot = now / SLOT;
        let steps = slot.saturating_sub(self.newest).min(SLOTS as u64);
        for i in 1..=steps {
            self.accepted[((self.newest + i) % SLOTS as u64) as usize] = 0;
        }
        self.newest = self.newest.max(slot);
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

    fn adaptive_with(accepted: u32) -> AdaptiveRate {
        let a = AdaptiveRate::new();
        for _ in 0..accepted {
            a.accepted();
        }
        a
    }

    #[tokio::test(start_paused = true)]
    async fn adaptive_rate_is_unlimited_until_a_429() {
        let a = adaptive_with(500);
        assert_eq!(a.rate(), None);
        assert_eq!(a.reserve(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_sets_the_rate_below_what_the_server_accepted() {
        let a = adaptive_with(200);
        let sent = Instant::now();
        tokio::time::advance(Duration::from_millis(50)).await;
        a.throttled(sent);
        assert_eq!(a.rate(), Some(180.0));
        // Requests now start 1/180 s apart.
        let first = a.reserve().unwrap();
        let second = a.reserve().unwrap();
        assert_eq!(
            (second - first).as_nanos(),
            (1e9f64 / 180.0).round() as u128
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_decrease_per_episode() {
        let a = adaptive_with(100);
        let before = Instant::now();
        tokio::time::advance(Duration::from_millis(10)).await;
        a.throttled(before);
        // The other requests in flight at the old rate: no further decrease.
        for _ in 0..30 {
            a.throttled(before);
        }
        assert_eq!(a.rate(), Some(90.0));
        // A request sent at the new rate that is refused lowers it again.
        let after = Instant::now();
        a.throttled(after);
        assert_eq!(a.rate(), Some(81.0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_grows_back_additively() {
        let a = adaptive_with(100);
        a.throttled(Instant::now());
        assert_eq!(a.rate(), Some(90.0));
        tokio::time::advance(Duration::from_secs(10)).await;
        // 2% of 90 a second.
        let r = a.rate().unwrap();
        assert!((r - 108.0).abs() < 1e-6, "{r}");
        // No ceiling: a client that meets no more 429s stops being paced.
        tokio::time::advance(Duration::from_secs(1000)).await;
        let r = a.rate().unwrap();
        assert!((r - 1908.0).abs() < 1e-6, "{r}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_low_rate_grows_by_at_least_one_a_second() {
        let a = AdaptiveRate::new();
        a.throttled(Instant::now());
        assert_eq!(a.rate(), Some(AdaptiveRate::FLOOR));
        tokio::time::advance(Duration::from_secs(60)).await;
        let r = a.rate().unwrap();
        assert!((r - 61.0).abs() < 1e-6, "{r}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_429_at_most_halves_the_rate() {
        let a = adaptive_with(200);
        a.throttled(Instant::now());
        assert_eq!(a.rate(), Some(180.0));
        // A second and a half without answers (e.g. waiting out a Retry-After), then a
        // 429: the rate is not cut to nothing.
        tokio::time::advance(Duration::from_millis(1500)).await;
        let before = a.rate().unwrap();
        a.throttled(Instant::now());
        let r = a.rate().unwrap();
        assert!(
            (r - before / 2.0 * AdaptiveRate::BACKOFF).abs() < 1e-6,
            "{r}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn accepted_answers_count_for_one_second() {
        let a = adaptive_with(100);
        tokio::time::advance(Duration::from_millis(1500)).await;
        for _ in 0..10 {
            a.accepted();
        }
        a.throttled(Instant::now());
        // Only the 10 answers of the last second count.
        assert_eq!(a.rate(), Some(9.0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_drops_below_the_floor() {
        let a = AdaptiveRate::new();
        a.throttled(Instant::now());
        assert_eq!(a.rate(), Some(AdaptiveRate::FLOOR));
        tokio::time::advance(Duration::from_millis(1)).await;
        a.throttled(Instant::now());
        assert_eq!(a.rate(), Some(AdaptiveRate::FLOOR));
    }
}
