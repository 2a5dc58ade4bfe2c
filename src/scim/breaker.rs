//! What stops a batch's requests early: the admin's cancellation and a circuit breaker
//! on consecutive server failures, shared by every clone of a client made with
//! [`crate::scim::ScimClient::guarded`].
//!
//! # The breaker
//!
//! A *failure* is an answer (or non-answer) that says the server cannot serve right now:
//! HTTP 429, any 5xx, a timeout, a dropped or refused connection. Any other answer ends
//! a failure streak.
//!
//! - While a streak lasts, requests go **one at a time**, each after a pause that doubles
//!   with the streak (the client's `backoff_base`, at most [`MAX_STREAK_PAUSE`]): a
//!   server that is merely throttling refills meanwhile and the next request succeeds,
//!   while one that is down (or whose daily quota is spent) costs one request per step.
//! - Failures of requests sent *before* the streak began count once together (a blip
//!   that fails everything in flight is one failure, not `concurrency` of them).
//! - After `after` failures in a streak the breaker **trips**: no further request is
//!   sent by any guarded clone; every call returns [`crate::scim::ScimError::Stopped`]
//!   with the reason, which quotes the server's own last message (`detail`, or
//!   LinkedIn's `message` and `serviceErrorCode`).
//! - A `Retry-After` longer than the client waits trips it at once ("the server asks
//!   to wait …").
//!
//! A breaker made with `after = None` never trips on a streak and never serialises;
//! only an explicit [`Breaker::trip`] (a far `Retry-After`) trips it. The apply engine
//! uses that (it has its own per-operation breaker).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// The longest pause between two requests of a failure streak.
pub const MAX_STREAK_PAUSE: Duration = Duration::from_secs(2);

/// See the module docs. Shared through an `Arc`.
#[derive(Debug)]
pub struct Breaker {
    after: Option<u32>,
    state: Mutex<State>,
    single: Semaphore,
}

#[derive(Debug, Default)]
struct State {
    /// Failures in the current streak (0: no streak).
    failures: u32,
    /// Requests sent so far (the ticket of the next one).
    sent: u64,
    /// Tickets from here on count one failure each.
    streak_from: u64,
    /// Not before this instant while in a streak.
    next_at: Option<Instant>,
    tripped: Option<String>,
}

/// Given to a request when it is sent; handed back with its outcome.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    n: u64,
    _single: Option<SemaphorePermit<'a>>,
}

impl Breaker {
    /// A breaker that trips after `after` failures in a streak (`None`: only on
    /// [`Breaker::trip`]). `after` of 0 is taken as 1.
    pub fn new(after: Option<u32>) -> Arc<Breaker> {
        Arc::new(Breaker {
            after: after.map(|a| a.max(1)),
            state: Mutex::new(State::default()),
            single: Semaphore::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why it tripped, once it has.
    pub fn tripped(&self) -> Option<String> {
        self.lock().tripped.clone()
    }

    /// Trips it (the first reason is kept).
    pub fn trip(&self, reason: impl Into<String>) {
        self.lock().tripped.get_or_insert_with(|| reason.into());
    }

    /// Failures in the current streak.
    pub fn streak(&self) -> u32 {
        self.lock().failures
    }

    /// Waits for this request's turn: at once outside a streak; one at a time, after
    /// the streak's pause, inside one. `Err` with the reason once tripped.
    pub(crate) async fn turn(&self) -> Result<Ticket<'_>, String> {
        let single = if self.after.is_some() && self.lock().failures > 0 {
            let permit = self.single.acquire().await.ok();
            let next_at = self.lock().next_at;
            if let Some(at) = next_at {
                tokio::time::sleep_until(at).await;
            }
            permit
        } else {
            None
        };
        let mut s = self.lock();
        if let Some(why) = &s.tripped {
            return Err(why.clone());
        }
        let n = s.sent;
        s.sent += 1;
        Ok(Ticket { n, _single: single })
    }

    /// The request with `ticket` was answered; `failure` is the server's words when the
    /// answer was a failure (see the module docs).
    pub(crate) fn answered(&self, ticket: Ticket<'_>, failure: Option<String>, base: Duration) {
        let mut s = self.lock();
        let Some(after) = self.after else {
            return;
        };
        match failure {
            None => {
                s.failures = 0;
                s.next_at = None;
            }
            Some(why) => {
                if s.failures == 0 {
                    s.failures = 1;
                    s.streak_from = s.sent;
                } else if ticket.n >= s.streak_from {
                    s.failures += 1;
                } else {
                    return; // sent before the streak: counted with its start
                }
                let pause = base
                    .checked_mul(1u32 << (s.failures - 1).min(20))
                    .unwrap_or(MAX_STREAK_PAUSE)
                    .min(MAX_STREAK_PAUSE);
                s.next_at = Some(Instant::now() + pause);
                if s.failures >= after && s.tripped.is_none() {
                    s.tripped = Some(format!(
                        "the server failed {} times in a row; no more requests are sent (last answer: {why})",
                        s.failures
                    ));
                }
            }
        }
        drop(s);
        drop(ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_streak_trips_after_n_and_is_serialised() {
        let b = Breaker::new(Some(3));
        let base = Duration::from_millis(100);
        let t = b.turn().await.unwrap();
        b.answered(t, Some("HTTP 429: quota".into()), base);
        let start = Instant::now();
        let t = b.turn().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        b.answered(t, Some("HTTP 429: quota".into()), base);
        let t = b.turn().await.unwrap();
        b.answered(t, Some("HTTP 429: quota".into()), base);
        let why = b.turn().await.unwrap_err();
        assert!(why.contains("3 times") && why.contains("quota"), "{why}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_ends_the_streak_and_old_requests_count_once() {
        let b = Breaker::new(Some(2));
        let base = Duration::from_millis(10);
        let old: Vec<_> = vec![b.turn().await.unwrap(), b.turn().await.unwrap()];
        for t in old {
            b.answered(t, Some("503".into()), base);
        }
        assert_eq!(b.streak(), 1);
        let t = b.turn().await.unwrap();
        b.answered(t, None, base);
        assert_eq!(b.streak(), 0);
        assert!(b.tripped().is_none());
        let never = Breaker::new(None);
        for _ in 0..10 {
            let t = never.turn().await.unwrap();
            never.answered(t, Some("500".into()), base);
        }
        assert!(never.tripped().is_none());
        never.trip("the server asks to wait 1 h");
        assert!(never.turn().await.is_err());
    }
}
