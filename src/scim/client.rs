//! The HTTP client: bearer auth, timeouts, retries with backoff and jitter,
//! a shared concurrency limit and a request-rate limiter, no redirects.
// INTERFACE STUB — filled in by the SCIM client work. Signatures are what the
// rest of navscim codes against; change them only together with the callers.

use std::path::PathBuf;
use std::time::Duration;

use super::{Filter, NewUser, ScimError, ScimUser, ServiceProviderConfig};
use crate::secret::Token;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://api.linkedin.com/scim`; `/Users` etc. are appended.
    pub base_url: String,
    pub token: Token,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Requests in flight at once, shared by every caller of this client.
    pub concurrency: usize,
    /// Requests started per second at most; `None` = unlimited.
    pub rate_limit: Option<f64>,
    /// Retries after the first attempt on 429, 5xx, timeouts and dropped connections.
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Extra PEM CA file (corporate TLS inspection). `HTTPS_PROXY` is read from the environment.
    pub ca_file: Option<PathBuf>,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, token: Token) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            concurrency: 8,
            rate_limit: None,
            max_retries: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            ca_file: None,
        }
    }
}

/// How the connection test proved the token works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeMethod {
    ServiceProviderConfig,
    /// `/ServiceProviderConfig` is absent (404): a filtered lookup for a value that cannot exist.
    FilteredLookup,
}

/// Result of "Test connection" / `navscim check`.
#[derive(Debug, Clone)]
pub struct ConnectionReport {
    pub latency: Duration,
    pub probe: ProbeMethod,
    pub service_provider_config: Option<ServiceProviderConfig>,
    pub filter_supported: bool,
    pub patch_supported: bool,
    /// Only where the server advertises it; Sales Navigator does not.
    pub delete_supported: bool,
}

/// Counters for progress lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
}

/// Cheap to clone; clones share the connection pool, limits and counters.
#[derive(Clone)]
pub struct ScimClient {}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScimClient")
    }
}

impl ScimClient {
    pub fn new(config: ClientConfig) -> Result<Self, ScimError> {
        let _ = config;
        todo!("SCIM client work")
    }

    pub fn base_url(&self) -> &str {
        todo!("SCIM client work")
    }

    pub fn stats(&self) -> ClientStats {
        todo!("SCIM client work")
    }

    /// `GET /ServiceProviderConfig`; `Ok(None)` when the server has none (404).
    pub async fn service_provider_config(
        &self,
    ) -> Result<Option<ServiceProviderConfig>, ScimError> {
        todo!("SCIM client work")
    }

    /// Proves the token and filter support without touching any user.
    pub async fn test_connection(&self) -> Result<ConnectionReport, ScimError> {
        todo!("SCIM client work")
    }

    /// `GET /Users/{id}`; `Ok(None)` on 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<ScimUser>, ScimError> {
        let _ = id;
        todo!("SCIM client work")
    }

    /// `GET /Users?filter=…`; every resource the server returned.
    pub async fn find_users(&self, filter: &Filter) -> Result<Vec<ScimUser>, ScimError> {
        let _ = filter;
        todo!("SCIM client work")
    }

    /// `POST /Users`.
    pub async fn create_user(&self, user: &NewUser) -> Result<ScimUser, ScimError> {
        let _ = user;
        todo!("SCIM client work")
    }

    /// `PATCH /Users/{id}` replace `active`. `Err(NotFound)` on 404; `Ok(None)` when the
    /// server answered 204 without a body.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<Option<ScimUser>, ScimError> {
        let _ = (id, active);
        todo!("SCIM client work")
    }

    /// `DELETE /Users/{id}`. Callers gate this on `ConnectionReport::delete_supported`
    /// and an explicit choice by the admin.
    pub async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        let _ = id;
        todo!("SCIM client work")
    }
}
