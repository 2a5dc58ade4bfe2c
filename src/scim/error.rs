//! Errors from the SCIM client. Messages never contain the token.

use std::time::Duration;

/// Broad classes used for exit codes and for the words shown to the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    /// 401/403: the token is wrong, expired or lacks rights.
    Auth,
    /// DNS, connect, TLS, timeout, dropped connection.
    Network,
    /// The server answered, but not as expected (4xx/5xx, malformed body).
    Server,
    /// navscim refused before sending (bad configuration, empty filter value…).
    Local,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ScimError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("refused to send a filter with an empty value for {attr}")]
    EmptyFilterValue { attr: &'static str },
    #[error("authentication failed (HTTP {status}): {detail}")]
    Unauthorized { status: u16, detail: String },
    #[error("not found")]
    NotFound,
    #[error("conflict (HTTP 409): {detail}")]
    Conflict { detail: String },
    #[error("the server does not support this filter: {detail}")]
    InvalidFilter { detail: String },
    /// The server answered a filtered lookup with users that do not match the filter
    /// (it ignored the filter). Never "not found": what it holds is unknown.
    #[error("{detail}")]
    FilterIgnored { detail: String },
    #[error("HTTP {status}{}: {detail}", scim_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default())]
    Http {
        status: u16,
        scim_type: Option<String>,
        detail: String,
    },
    #[error("rate limited: still HTTP 429 after {attempts} attempts{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    RateLimited {
        attempts: u32,
        retry_after: Option<Duration>,
        /// The server's own words (`detail`, or LinkedIn's `message` and
        /// `serviceErrorCode`), scrubbed.
        detail: Option<String>,
    },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("network: {0}")]
    Network(String),
    #[error("malformed response (HTTP {status}): {detail}")]
    Malformed { status: u16, detail: String },
    #[error("refused to follow a redirect to {location}")]
    Redirect { location: String },
    #[error("cancelled")]
    Cancelled,
    /// The server's `Retry-After` is longer than the client waits (see
    /// `ClientConfig::max_retry_after`): the batch stops instead of retrying.
    #[error("the server asks to wait {} (HTTP {status} with Retry-After{}){}", human_wait(*wait), until.as_deref().map(|u| format!(": {u}")).unwrap_or_default(), detail.as_deref().map(|d| format!("; it says: {d}")).unwrap_or_default())]
    WaitTooLong {
        status: u16,
        wait: Duration,
        /// The HTTP date the server named, if it gave one.
        until: Option<String>,
        /// The server's own message, scrubbed.
        detail: Option<String>,
    },
    /// No request was sent: the batch's circuit breaker tripped (see
    /// [`crate::scim::Breaker`]); the reason quotes the server's last answer.
    #[error("stopped: {reason}")]
    Stopped { reason: String },
}

impl ScimError {
    pub fn category(&self) -> ErrorCategory {
        match self {
            ScimError::Config(_) | ScimError::EmptyFilterValue { .. } | ScimError::Cancelled => {
                ErrorCategory::Local
            }
            ScimError::Unauthorized { .. } => ErrorCategory::Auth,
            ScimError::Timeout(_) | ScimError::Tls(_) | ScimError::Network(_) => {
                ErrorCategory::Network
            }
            ScimError::NotFound
            | ScimError::Conflict { .. }
            | ScimError::InvalidFilter { .. }
            | ScimError::FilterIgnored { .. }
            | ScimError::Http { .. }
            | ScimError::RateLimited { .. }
            | ScimError::Malformed { .. }
            | ScimError::Redirect { .. }
            | ScimError::WaitTooLong { .. }
            | ScimError::Stopped { .. } => ErrorCategory::Server,
        }
    }
}

/// `90 s`, `12 min`, `3 h 20 min`, `2 days`: for "the server asks to wait …".
pub fn human_wait(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => match (s / 3600, (s % 3600) / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        _ => format!("{} days", s / 86_400),
    }
}
