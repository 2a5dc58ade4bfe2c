//! Backoff with full jitter and `Retry-After` parsing.

use std::time::{Duration, SystemTime};

/// Exponential backoff with "full jitter" (a uniformly random delay between zero and
/// `min(max, base * 2^attempt)`), so that many clients — or many requests of one
/// batch — that failed together do not retry together.
pub(crate) fn full_jitter(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = exp_ceiling(base, max, attempt);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// `min(max, base * 2^attempt)` without overflow.
pub(crate) fn exp_ceiling(base: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// `Retry-After` as delta-seconds (`120`) or an HTTP date
/// (`Fri, 31 Dec 1999 23:59:59 GMT`), as the delay from `now`. A date in the past is
/// zero; anything unparseable is `None` (and the caller falls back to its backoff).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Clamp absurd values instead of overflowing; the caller caps at backoff_max.
        let secs = value
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .min(365 * 24 * 3600);
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        // Not allowed by RFC 9110, but seen in the wild ("1.5").
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(365.0 * 24.0 * 3600.0)));
        }
        return None;
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_ceiling() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for attempt in 0..40 {
            let c = exp_ceiling(base, max, attempt);
            assert!(c <= max);
            for _ in 0..50 {
                assert!(full_jitter(base, max, attempt) <= c);
            }
        }
        assert_eq!(exp_ceiling(base, max, 0), base);
        assert_eq!(exp_ceiling(base, max, 3), Duration::from_millis(800));
        assert_eq!(exp_ceiling(base, max, 10), max);
        assert_eq!(full_jitter(Duration::ZERO, max, 5), Duration::ZERO);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert!(parse_retry_after("99999999999999999999999", now).is_some());
    }
}
