//! The one client factory: resolve the token (which may read a file or run a command,
//! so off the async runtime) and build the SCIM client. Every headless command and
//! the dashboard's effects connect through [`connect`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::app::connection::ConnectionFailure;
use crate::app::ConnectionSpec;
use crate::config::{self, TokenError, TokenSource};
use crate::scim::{ClientConfig, ScimClient, ScimError};

/// What a client is built from. The token is named by its source, never held here.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSetup {
    /// The SCIM base URL; `/Users` etc. are appended.
    pub base_url: String,
    pub token: TokenSource,
    /// Names the stored token when `token` is [`TokenSource::Stored`].
    pub profile: String,
    /// Extra PEM CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// Requests in flight at once; `None`: the client's default.
    pub concurrency: Option<usize>,
    /// Requests started per second at most; `None`: unlimited.
    pub rate_limit: Option<f64>,
    /// How long to wait for an answer to one request, and for a whole connection
    /// test; `None`: [`DEFAULT_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// How long to wait for a connection; `None`: the client's default (10 s).
    pub connect_timeout: Option<Duration>,
}

/// The request timeout when none is chosen (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl ClientSetup {
    /// The request timeout in force.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }
}

impl ClientSetup {
    /// From a resolved profile (flags over the saved profile over the defaults).
    pub fn from_profile(profile: &config::Profile) -> Self {
        ClientSetup {
            base_url: profile.base_url.clone(),
            token: profile
                .token
                .clone()
                .unwrap_or_else(|| TokenSource::Env(config::DEFAULT_TOKEN_ENV.into())),
            profile: profile.name.clone(),
            ca_file: profile.ca_file.clone(),
            concurrency: None,
            rate_limit: None,
            timeout: None,
            connect_timeout: None,
        }
    }

    /// From the dashboard's connection spec.
    pub fn from_spec(spec: &ConnectionSpec) -> Self {
        ClientSetup {
            base_url: spec.base_url.clone(),
            token: spec.token.clone(),
            profile: spec.profile.clone(),
            ca_file: None,
            concurrency: None,
            rate_limit: None,
            timeout: None,
            connect_timeout: None,
        }
    }
}

/// Why no client could be made. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The token could not be read from its source (the source is named).
    #[error("{0}")]
    Token(#[from] TokenError),
    /// The task reading the token died (a bug).
    #[error("reading the token failed: {0}")]
    TokenTask(String),
    /// The client could not be set up (base URL, CA file, a token with bad bytes).
    #[error("{0}")]
    Client(#[from] ScimError),
}

impl ConnectError {
    /// The error in the admin's words: what happened and what to do.
    pub fn failure(&self) -> ConnectionFailure {
        match self {
            ConnectError::Token(e) => ConnectionFailure::from_token(e),
            ConnectError::TokenTask(_) => ConnectionFailure {
                headline: "No token".into(),
                detail: self.to_string(),
            },
            ConnectError::Client(e) => ConnectionFailure::from_scim(e),
        }
    }
}

/// Resolves the token and builds the client.
pub async fn connect(setup: ClientSetup) -> Result<ScimClient, ConnectError> {
    let (source, profile) = (setup.token.clone(), setup.profile.clone());
    let token = super::executor::blocking(move || config::resolve_token(&source, &profile))
        .await
        .map_err(|e| ConnectError::TokenTask(e.to_string()))??;
    let mut config = ClientConfig::new(setup.base_url.clone(), token);
    config.ca_file = setup.ca_file.clone();
    if let Some(n) = setup.concurrency {
        config.concurrency = n;
    }
    config.rate_limit = setup.rate_limit;
    config.timeout = setup.timeout();
    if let Some(t) = setup.connect_timeout {
        config.connect_timeout = t;
    }
    let client = ScimClient::new(config)?;
    tracing::info!(
        base_url = %setup.base_url,
        token_from = token_source_kind(&setup.token),
        "SCIM client ready"
    );
    Ok(client)
}

/// A connection test that gives up after `budget` in all (retries included), so a
/// server that accepts connections and never answers cannot keep the admin waiting
/// longer than the timeout they chose. Returns the test's result and how long it took.
pub async fn test_within(
    client: &ScimClient,
    budget: Duration,
) -> (Result<crate::scim::ConnectionReport, ScimError>, Duration) {
    let started = Instant::now();
    let result = match tokio::time::timeout(budget, client.test_connection()).await {
        Ok(result) => result,
        Err(_) => Err(ScimError::Timeout(budget)),
    };
    (result, started.elapsed())
}

/// Where the token came from, for the log (the kind only).
fn token_source_kind(source: &TokenSource) -> &'static str {
    match source {
        TokenSource::Env(_) => "environment variable",
        TokenSource::File(_) => "file",
        TokenSource::Command(_) => "command",
        TokenSource::Pasted(_) => "pasted",
        TokenSource::Stored => "stored",
    }
}
