//! HTTP plumbing shared by the Okta and Entra clients: waiting out 429/503
//! (`Retry-After`, Okta `X-Rate-Limit-Reset`), pacing on Okta's announced limit before
//! a 429, and refusing next links that leave the provider's origin.

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

/// Tracks the announced rate limit (Okta `X-Rate-Limit-Limit/-Remaining/-Reset`).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    /// Seconds since the epoch when the current window ends, if the limit is spent.
    spent_until: Option<u64>,
}

impl Pacer {
    /// Reads the rate-limit headers of an answer; records the share of the limit used.
    pub(crate) fn observe(&mut self, headers: &HeaderMap, stats: &mut IdpStats) {
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
            stats.limit_share = Some(stats.limit_share.unwrap_or(0.0).max(share));
        }
        self.spent_until = match (remaining, num("x-rate-limit-reset")) {
            (0, Some(reset)) => Some(reset),
            _ => None,
        };
    }

    /// Waits until the window resets if the announced limit is spent.
    pub(crate) async fn before_request(
        &mut self,
        stats: &mut IdpStats,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) {
        if let Some(reset) = self.spent_until.take() {
            let wait = until_epoch(reset);
            if !wait.is_zero() {
                stats.paced += 1;
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

    #[test]
    fn retry_after_seconds_win() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_wait(&h, 0), Duration::from_secs(2));
        assert_eq!(retry_wait(&HeaderMap::new(), 1), Duration::from_secs(1));
    }
}
