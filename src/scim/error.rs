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
    #[error("rate limited: still HTTP 429 after {attempts} attempts")]
    RateLimited {
        attempts: u32,
        retry_after: Option<Duration>,
    },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("network: {0}")]
    Network(String),
    #[error("malformed response (HTTP {status}): {detail}")]
    Malformed { status: u16, detail: String },
    #[error(
        "refused to follow a redirect to {location} (the token is never sent to another address)"
    )]
    Redirect { location: String },
    #[error("cancelled")]
    Cancelled,
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
            | ScimError::Redirect { .. } => ErrorCategory::Server,
        }
    }
}
