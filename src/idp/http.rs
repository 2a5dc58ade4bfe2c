//! HTTP plumbing shared by the Okta and Entra clients: waiting out 429/503
//! (`Retry-After`, Okta `X-Rate-Limit-Reset`), pacing on Okta's announced limit before
//! a 429, and refusing next links that leave the provider's origin.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use url::Url;

use super::{IdpError, IdpEvent, IdpStats};

/// The HTTP client of an identity provider: `timeout` per request, no redirects
/// (the token is never sent elsewhere), and the extra PEM CA certificates of
/// `ca_file` trusted (`--ca-file`, the same file and reader as the SCIM client's).
pub(crate) fn client(
    provider: &'static str,
    timeout: Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, IdpError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let certs = crate::scim::client::load_ca_file(path)
            .map_err(|e| IdpError::Config(format!("{provider}: {e}")))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| {
        IdpError::Config(match ca_file {
            Some(path) => format!(
                "{provider}: could not set up HTTPS with the CA file {}: {e}",
                path.display()
            ),
            None => format!("{provider}: HTTP client: {e}"),
        })
    })
}

/// 429/503 answers waited out per request before giving up.
pub(crate) const MAX_RETRIES: u32 = 8;
/// The longest single wait (a larger `Retry-After` is capped at this).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

/// What every request of one client shares, whichever task sends it (Entra ID
/// expands groups several at a time): the listing's counters, and the instant before
/// which no request starts because a 429/503 (its `Retry-After`) or the announced
/// limit asked every request to wait, not only the one that was answered so.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    stats: Mutex<IdpStats>,
    hold: Mutex<Option<tokio::time::Instant>>,
}

impl Throttle {
    /// The counters so far.
    pub(crate) fn stats(&self) -> IdpStats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// Changes the counters.
    pub(crate) fn count(&self, change: impl FnOnce(&mut IdpStats)) {
        change(&mut self.stats.lock().expect("stats lock"));
    }

    /// No request starts before `wait` from now (a later hold already set stays).
    fn hold_for(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut hold = self.hold.lock().expect("hold lock");
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }

    /// Waits until the hold, if any, has passed.
    async fn wait_hold(&self) {
        let until = *self.hold.lock().expect("hold lock");
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }
}

/// Sends one request (`send` builds and sends it again for each try) until it is not
/// throttled: waits out the client's hold, counts the request, and on a 429/503 holds
/// every request of the client for the wait the answer asks for ([`retry_wait`]),
/// tells `on_event`, and tries again, up to [`MAX_RETRIES`] times. Other answers are
/// returned as they are.
pub(crate) async fn send_retrying<F, Fut>(
    provider: &'static str,
    what: &str,
    throttle: &Throttle,
    on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    mut send: F,
) -> Result<Response, IdpError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Response, IdpError>>,
{
    let mut attempt = 0;
    loop {
        throttle.wait_hold().await;
        throttle.count(|s| s.requests += 1);
        let resp = send().await?;
        let status = resp.status();
        if !is_throttle(status) {
            return Ok(resp);
        }
        throttle.count(|s| s.throttled += 1);
        if attempt >= MAX_RETRIES {
            return Err(IdpError::Server {
                provider,
                detail: format!("{what}: still {status} after {attempt} retries"),
            });
        }
        let wait = retry_wait(resp.headers(), attempt);
        throttle.hold_for(wait);
        on_event(IdpEvent::Waiting {
            seconds: wait.as_secs_f64(),
            why: format!("{what}: {status}"),
        });
        attempt += 1;
    }
}

/// One page of a listing: its items and the link to the next page, if any.
pub(crate) type Page = (Vec<serde_json::Value>, Option<String>);

/// Reads a paged listing from `first`: `get_page` reads one page (Okta: a JSON array
/// and the `Link: rel="next"` header; Graph: `value` and `@odata.nextLink`), `each`
/// takes every item (a page at a time is held, not the whole list). A next link is
/// followed only on `origin`'s scheme, host and port ([`checked_next`]); an empty
/// page ends the listing even with a next link (a broken server would loop for ever).
pub(crate) async fn follow_pages<G, Fut>(
    provider: &'static str,
    origin: &Url,
    first: Url,
    what: &str,
    throttle: &Throttle,
    mut get_page: G,
    each: &mut (dyn FnMut(&serde_json::Value) -> Result<(), String> + Send),
) -> Result<(), IdpError>
where
    G: FnMut(Url) -> Fut,
    Fut: std::future::Future<Output = Result<Page, IdpError>>,
{
    let mut url = first;
    loop {
        let (items, next) = get_page(url).await?;
        throttle.count(|s| s.pages += 1);
        for item in &items {
            each(item).map_err(|detail| IdpError::Server {
                provider,
                detail: format!("{what}: {detail}"),
            })?;
        }
        match next {
            Some(next) if !items.is_empty() => url = checked_next(provider, origin, &next)?,
            _ => return Ok(()),
        }
    }
}

/// Tracks the announced rate limit (Okta `X-Rate-Limit-Limit/-Remaining/-Reset`).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    /// Seconds since the epoch when the current window ends, if the limit is spent.
    spent_until: Mutex<Option<u64>>,
}

impl Pacer {
    /// Reads the rate-limit headers of an answer; records the share of the limit used.
    pub(crate) fn observe(&self, headers: &HeaderMap, throttle: &Throttle) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let (Some(limit), Some(remaining)) =
            (num("x-rate-limit-limit"), num("x-rate-limit-remaining"))
        else {
            return;
        };
        if limit > 0 {
            let share = (limit.saturating_sub(remaining)) as f64 / limit as f64;
            throttle.count(|s| s.limit_share = Some(s.limit_share.unwrap_or(0.0).max(share)));
        }
        *self.spent_until.lock().expect("pacer lock") = match (remaining, num("x-rate-limit-reset"))
        {
            (0, Some(reset)) => Some(reset),
            _ => None,
        };
    }

    /// Waits until the window resets if the announced limit is spent.
    pub(crate) async fn before_request(
        &self,
        throttle: &Throttle,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) {
        let reset = self.spent_until.lock().expect("pacer lock").take();
        if let Some(reset) = reset {
            let wait = until_epoch(reset);
            if !wait.is_zero() {
                throttle.count(|s| s.paced += 1);
                on_event(IdpEvent::Waiting {
                    seconds: wait.as_secs_f64(),
                    why: "the announced rate limit is spent until the window resets".into(),
                });
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// How long until `epoch_secs` (plus a small margin for clock skew), capped.
fn until_epoch(epoch_secs: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let at = Duration::from_secs(epoch_secs) + Duration::from_millis(50);
    at.saturating_sub(now).min(MAX_WAIT)
}

/// The wait a 429/503 asks for: `Retry-After` (seconds or an HTTP date), else Okta's
/// `X-Rate-Limit-Reset`, else exponential backoff from 0.5 s.
pub(crate) fn retry_wait(headers: &HeaderMap, attempt: u32) -> Duration {
    if let Some(v) = headers.get("retry-after").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Duration::from_secs_f64(secs).min(MAX_WAIT);
            }
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return at
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .min(MAX_WAIT);
        }
    }
    if let Some(reset) = headers
        .get("x-rate-limit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return until_epoch(reset);
    }
    (Duration::from_millis(500) * 2u32.saturating_pow(attempt.min(6))).min(MAX_WAIT)
}

/// Whether an answer asks to be retried later.
pub(crate) fn is_throttle(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// A next link, checked to stay on `origin`'s scheme, host and port: the token is
/// never sent anywhere else.
pub(crate) fn checked_next(
    provider: &'static str,
    origin: &Url,
    next: &str,
) -> Result<Url, IdpError> {
    let url = origin.join(next).map_err(|e| IdpError::Server {
        provider,
        detail: format!("next-page link {next:?} is not a URL: {e}"),
    })?;
    if url.scheme() != origin.scheme()
        || url.host_str() != origin.host_str()
        || url.port_or_known_default() != origin.port_or_known_default()
    {
        return Err(IdpError::Server {
            provider,
            detail: format!(
                "next-page link points to {} instead of {}; not followed",
                url.origin().ascii_serialization(),
                origin.origin().ascii_serialization()
            ),
        });
    }
    Ok(url)
}

/// The `rel="next"` target of an RFC 8288 `Link` header (Okta paging).
pub(crate) fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("link") {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            if is_next {
                let t = target.trim_start_matches('<').trim_end_matches('>');
                return Some(t.to_string());
            }
        }
    }
    None
}

/// A network error as an [`IdpError`] (the URL without its query: no secrets there,
/// but keeps messages short).
pub(crate) fn network(provider: &'static str, url: &Url, e: reqwest::Error) -> IdpError {
    let mut shown = url.clone();
    shown.set_query(None);
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    IdpError::Network {
        provider,
        url: shown.to_string(),
        detail,
    }
}

/// The error of a non-2xx answer other than a throttle: 401 refused credentials, 403
/// a missing permission (`needed` names what grants it), anything else unexpected.
/// `summary` is the provider's error text, already shortened.
pub(crate) fn status_error(
    provider: &'static str,
    what: &str,
    status: StatusCode,
    summary: &str,
    needed: impl FnOnce() -> String,
) -> IdpError {
    match status.as_u16() {
        401 => IdpError::Auth {
            provider,
            detail: format!("{what}: 401 {summary}"),
        },
        403 => IdpError::Forbidden {
            provider,
            detail: format!("{what}: 403 {summary}"),
            needed: needed(),
        },
        _ => IdpError::Server {
            provider,
            detail: format!("{what}: {status} {summary}"),
        },
    }
}

/// Reads a JSON body, naming the request on failure.
pub(crate) async fn json<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    what: &str,
    resp: Response,
) -> Result<T, IdpError> {
    let bytes = resp.bytes().await.map_err(|e| IdpError::Server {
        provider,
        detail: format!("{what}: the answer could not be read: {e}"),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| IdpError::Server {
        provider,
        detail: format!("{what}: the answer is not the expected JSON: {e}"),
    })
}

/// `resp` when it is a success or a 404 (the caller's to read); otherwise its status
/// with the start of its body, for the provider's error mapping.
pub(crate) async fn success_or_404(resp: Response) -> Result<Response, (StatusCode, String)> {
    let status = resp.status();
    if status.is_success() || status == StatusCode::NOT_FOUND {
        return Ok(resp);
    }
    Err((status, body_excerpt(resp).await))
}

/// The first 8,000 characters of an error body (enough for a JSON error object; shown
/// only through [`short`]).
pub(crate) async fn body_excerpt(resp: Response) -> String {
    let text = resp.text().await.unwrap_or_default();
    let t: String = text.chars().take(8000).collect();
    t.trim().to_string()
}

/// At most 300 characters of `text`, for a message.
pub(crate) fn short(text: &str) -> String {
    if text.chars().count() <= 300 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(300).collect::<String>())
    }
}

/// Percent-encodes one path segment (ids: letters, digits, `-._~` stay as they are).
pub(crate) fn seg(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn link_header_next_is_found() {
        let mut h = HeaderMap::new();
        h.append(
            "link",
            HeaderValue::from_static(
                "<https://x.okta.com/api/v1/apps/1/users?limit=2>; rel=\"self\"",
            ),
        );
        h.append(
            "link",
            HeaderValue::from_static(
                "<https://x.okta.com/api/v1/apps/1/users?after=abc&limit=2>; rel=\"next\"",
            ),
        );
        assert_eq!(
            link_next(&h).as_deref(),
            Some("https://x.okta.com/api/v1/apps/1/users?after=abc&limit=2")
        );
    }

    #[test]
    fn next_link_to_another_host_is_refused() {
        let origin = Url::parse("http://127.0.0.1:9000/api/v1/apps").unwrap();
        assert!(checked_next("Okta", &origin, "http://127.0.0.1:9000/api/v1/x?after=1").is_ok());
        assert!(checked_next("Okta", &origin, "http://evil.example/api/v1/x").is_err());
        assert!(checked_next("Okta", &origin, "http://127.0.0.1:9001/api/v1/x").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_set_by_one_request_delays_every_request_of_the_client() {
        let throttle = Throttle::default();
        let start = tokio::time::Instant::now();
        throttle.hold_for(Duration::from_secs(3));
        // A shorter hold asked later does not shorten it.
        throttle.hold_for(Duration::from_secs(1));
        let (a, b) = tokio::join!(throttle.wait_hold(), throttle.wait_hold());
        let _ = (a, b);
        assert!(start.elapsed() >= Duration::from_secs(3));
        // Passed: no more waiting.
        let again = tokio::time::Instant::now();
        throttle.wait_hold().await;
        assert_eq!(again.elapsed(), Duration::ZERO);
    }

    #[test]
    fn retry_after_seconds_win() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_wait(&h, 0), Duration::from_secs(2));
        assert_eq!(retry_wait(&HeaderMap::new(), 1), Duration::from_secs(1));
    }
}
