//! The HTTP client: bearer auth, timeouts, retries with backoff and jitter,
//! a shared concurrency limit and a request-rate limiter, no redirects.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::breaker::Breaker;
use super::limiter::{AdaptiveRate, Hold, RateLimiter};
use super::model::{ErrorBody, PatchOp, UserList};
use super::retry::{full_jitter, parse_retry_after};
use super::{Filter, FilterAttr, NewUser, ScimError, ScimUser, ServiceProviderConfig};
use crate::secret::{self, Token};

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
    /// The longest `Retry-After` (seconds or an HTTP date) this client waits for: a
    /// longer one ends the request with [`ScimError::WaitTooLong`] ("the server asks to
    /// wait …") instead of retrying every `backoff_max`.
    pub max_retry_after: Duration,
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
            max_retry_after: Duration::from_secs(120),
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
    /// Set when the filter probe proved that the server does not honour filters: a
    /// value that cannot exist came back with users (it ignored the filter). Lookups
    /// against such a server are errors, never "not found".
    pub filter_problem: Option<String>,
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
pub struct ScimClient {
    inner: Arc<Inner>,
    /// What stops this clone's requests early (see [`ScimClient::guarded`]).
    guard: Guard,
}

/// A batch's cancellation and circuit breaker, carried by the clones it uses.
#[derive(Clone, Default)]
struct Guard {
    cancel: Option<CancellationToken>,
    breaker: Option<Arc<Breaker>>,
}

struct Inner {
    http: reqwest::Client,
    /// Validated, without a trailing `/`.
    base: String,
    token: Token,
    /// `Bearer …`, marked sensitive so that no `Debug` of a header map shows it.
    auth: HeaderValue,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    max_retry_after: Duration,
    permits: Semaphore,
    limiter: Option<RateLimiter>,
    hold: Hold,
    adaptive: AdaptiveRate,
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    /// Set once an answer showed that the server ignores the filter sent: every later
    /// filtered lookup on this connection is an error without a request.
    filter_ignored: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base_url", &self.inner.base)
            .finish_non_exhaustive()
    }
}

const USER_AGENT: &str = concat!("navscim/", env!("CARGO_PKG_VERSION"));
const ACCEPT_VALUE: &str = "application/scim+json, application/json";
const SCIM_JSON: &str = "application/scim+json";
/// Bodies larger than this are not read to the end (no SCIM answer navscim asks for
/// comes near it).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// How much of an unexpected body an error message quotes.
const SNIPPET_CHARS: usize = 160;

/// A path segment: everything but RFC 3986 unreserved characters is percent-encoded,
/// so an id can never add a path segment, a query or a fragment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A query value: the same strict set (a space is `%20`, never `+`, which some
/// servers would keep as a literal plus sign).
const QUERY_VALUE: &AsciiSet = SEGMENT;

/// What the retry loop returns: the final answer, whatever its status.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl ScimClient {
    pub fn new(config: ClientConfig) -> Result<Self, ScimError> {
        let base = validate_base_url(&config.base_url)?;
        if config.token.is_empty() {
            return Err(ScimError::Config("the SCIM token is empty".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose().trim()))
            .map_err(|_| {
            ScimError::Config(
                "the SCIM token contains characters that cannot be sent in an HTTP header \
                     (a line break or a non-ASCII character?)"
                    .into(),
            )
        })?;
        auth.set_sensitive(true);
        if config.concurrency == 0 {
            return Err(ScimError::Config("concurrency must be at least 1".into()));
        }
        let limiter = match config.rate_limit {
            None => None,
            Some(r) if r.is_finite() && r > 0.0 => Some(RateLimiter::new(r)),
            Some(r) => {
                return Err(ScimError::Config(format!(
                    "rate limit must be a positive number of requests per second, not {r}"
                )))
            }
        };

        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_VALUE));
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            // The token must never go to another address: a 3xx is returned as is and
            // becomes `ScimError::Redirect`.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.concurrency.max(1))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .https_only(false);
        // Proxies: reqwest 0.12 reads HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY
        // (and lowercase forms) when the client is built, unless `.no_proxy()` is
        // called; we rely on that (see tests/scim_proxy.rs).
        if let Some(path) = &config.ca_file {
            for cert in load_ca_file(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| {
            let what = error_chain(&e.without_url());
            match &config.ca_file {
                Some(path) => ScimError::Config(format!(
                    "could not set up HTTPS with the CA file {}: {what}",
                    path.display()
                )),
                None => ScimError::Config(format!("could not set up the HTTP client: {what}")),
            }
        })?;

        Ok(ScimClient {
            inner: Arc::new(Inner {
                http,
                base,
                token: config.token,
                auth,
                timeout: config.timeout,
                connect_timeout: config.connect_timeout,
                max_retries: config.max_retries,
                backoff_base: config.backoff_base,
                backoff_max: config.backoff_max,
                max_retry_after: config.max_retry_after,
                permits: Semaphore::new(config.concurrency),
                limiter,
                hold: Hold::new(),
                adaptive: AdaptiveRate::new(),
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                filter_ignored: std::sync::Mutex::new(None),
            }),
            guard: Guard::default(),
        })
    }

    /// A clone whose requests stop when `cancel` is cancelled or `breaker` trips
    /// (sharing the pool, limits and counters):
    ///
    /// - a request waiting for its turn (concurrency, rate, `Retry-After` hold) or for a
    ///   retry returns [`ScimError::Cancelled`] at once when `cancel` fires; no retry
    ///   starts after it; a request already sent is let finish (its answer is returned);
    /// - once `breaker` has tripped nothing more is sent: [`ScimError::Stopped`].
    pub fn guarded(&self, cancel: CancellationToken, breaker: Option<Arc<Breaker>>) -> ScimClient {
        ScimClient {
            inner: self.inner.clone(),
            guard: Guard {
                cancel: Some(cancel),
                breaker,
            },
        }
    }

    /// Why this clone's breaker tripped, if it has one and it has.
    pub fn stopped(&self) -> Option<String> {
        self.guard.breaker.as_ref().and_then(|b| b.tripped())
    }

    fn cancelled(&self) -> bool {
        self.guard.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }

    /// Runs `fut` unless (or until) the guard's cancellation fires.
    async fn or_cancel<T>(&self, fut: impl std::future::Future<Output = T>) -> Option<T> {
        match &self.guard.cancel {
            None => Some(fut.await),
            Some(c) => tokio::select! {
                biased;
                _ = c.cancelled() => None,
                v = fut => Some(v),
            },
        }
    }

    /// The base URL as used: validated, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
            throttled: self.inner.throttled.load(Ordering::Relaxed),
        }
    }

    /// The request rate this client adapted to after the server's 429s (requests a
    /// second; `None` until the first 429): AIMD, see `scim::limiter`.
    pub fn adaptive_rate(&self) -> Option<f64> {
        self.inner.adaptive.rate()
    }

    /// Until when requests are held back by a `429 Retry-After`, if they are.
    pub fn held_until(&self) -> Option<std::time::Instant> {
        self.inner.hold.until().map(Instant::into_std)
    }

    /// `GET /ServiceProviderConfig`; `Ok(None)` when the server has none (404).
    pub async fn service_provider_config(
        &self,
    ) -> Result<Option<ServiceProviderConfig>, ScimError> {
        Ok(self
            .service_provider_config_raw()
            .await?
            .map(|(spc, _)| spc))
    }

    /// The parsed config and the raw JSON (for non-standard keys such as `delete`).
    async fn service_provider_config_raw(
        &self,
    ) -> Result<Option<(ServiceProviderConfig, serde_json::Value)>, ScimError> {
        let url = format!("{}/ServiceProviderConfig", self.inner.base);
        let reply = self.send(Method::GET, url, None).await?;
        match reply.status.as_u16() {
            200..=299 => {
                let raw: serde_json::Value =
                    self.parse(&reply, "a ServiceProviderConfig object")?;
                if !raw.is_object() {
                    return Err(self.malformed(&reply, "expected a ServiceProviderConfig object"));
                }
                let spc: ServiceProviderConfig = serde_json::from_value(raw.clone())
                    .map_err(|e| self.malformed(&reply, &format!("ServiceProviderConfig: {e}")))?;
                Ok(Some((spc, raw)))
            }
            404 => Ok(None),
            _ => Err(self.error(&reply, false)),
        }
    }

    /// Proves the token and filter support without touching any user.
    ///
    /// Times `GET /ServiceProviderConfig`. Because RFC 7644 lets servers serve that
    /// document without authentication, a filtered lookup for a value that cannot
    /// exist follows in every case: it proves the token and tells whether filtering
    /// works. Where `/ServiceProviderConfig` is absent (404) that lookup is the probe.
    pub async fn test_connection(&self) -> Result<ConnectionReport, ScimError> {
        let started = Instant::now();
        let spc = self.service_provider_config_raw().await?;
        let spc_latency = started.elapsed();

        let started = Instant::now();
        let (filter_supported, filter_problem) = self.probe_filter().await?;
        let lookup_latency = started.elapsed();

        Ok(match spc {
            Some((spc, raw)) => ConnectionReport {
                latency: spc_latency,
                probe: ProbeMethod::ServiceProviderConfig,
                filter_supported,
                patch_supported: spc.patch.supported,
                delete_supported: ServiceProviderConfig::advertises_delete(&raw),
                service_provider_config: Some(spc),
                filter_problem,
            },
            None => ConnectionReport {
                latency: lookup_latency,
                probe: ProbeMethod::FilteredLookup,
                filter_supported,
                // Without a ServiceProviderConfig there is nothing to read; Sales
                // Navigator documents PATCH (deactivation) and no DELETE.
                patch_supported: true,
                delete_supported: false,
                service_provider_config: None,
                filter_problem,
            },
        })
    }

    /// A lookup that cannot match anyone: `externalId` (the attribute Sales Navigator
    /// documents as filterable), then `userName`. `Ok((false, _))` when the server
    /// rejects both filters; errors (401, wrong base URL…) are returned. The second
    /// value is set when the answer proves the filter is not honoured (users came
    /// back for a value that cannot exist); that is remembered for the connection.
    async fn probe_filter(&self) -> Result<(bool, Option<String>), ScimError> {
        let nonce = format!("{:016x}", fastrand::u64(..));
        let probes = [
            (
                FilterAttr::ExternalId,
                format!("navscim-connection-test-{nonce}"),
            ),
            (
                FilterAttr::UserName,
                format!("navscim-connection-test-{nonce}@invalid.example"),
            ),
        ];
        for (attr, value) in probes {
            let filter = Filter::eq(attr, &value)?;
            match self.find_users_checked(&filter, true).await {
                Ok(users) if users.is_empty() => {
                    if let Some(known) = self.filter_ignored() {
                        return Ok((true, Some(known)));
                    }
                    return Ok((true, None));
                }
                Ok(users) => {
                    let why = format!(
                        "`{}` (a value that cannot exist) returned {} users: the server \
                         ignores filters",
                        filter.expression(),
                        users.len()
                    );
                    self.remember_filter_ignored(&why);
                    return Ok((true, Some(why)));
                }
                Err(ScimError::FilterIgnored { detail }) => return Ok((true, Some(detail))),
                Err(ScimError::InvalidFilter { .. }) => continue,
                Err(ScimError::NotFound) => {
                    return Err(ScimError::Http {
                        status: 404,
                        scim_type: None,
                        detail: format!(
                            "{}/Users does not exist: check the base URL",
                            self.inner.base
                        ),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok((false, None))
    }

    /// Why this connection's server is known to ignore filters, if it is.
    pub fn filter_ignored(&self) -> Option<String> {
        self.inner
            .filter_ignored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn remember_filter_ignored(&self, why: &str) {
        let mut known = self
            .inner
            .filter_ignored
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if known.is_none() {
            *known = Some(why.to_string());
        }
    }

    /// `GET /Users/{id}`; `Ok(None)` on 404. The answer is read leniently (see
    /// [`ScimUser::from_json`]); it is the caller's job to check that it carries the
    /// id asked for ([`crate::lookup`] and [`crate::apply`] do).
    pub async fn get_user(&self, id: &str) -> Result<Option<ScimUser>, ScimError> {
        let url = self.user_url(id)?;
        let reply = self.send(Method::GET, url, None).await?;
        match reply.status.as_u16() {
            200..=299 => Ok(Some(self.parse_user(&reply, "a SCIM User")?)),
            404 => Ok(None),
            _ => Err(self.error(&reply, false)),
        }
    }

    /// `GET /Users?filter=…`; every resource the server returned (the first page; an
    /// `eq` lookup never needs more). A 404 is `Err(NotFound)`: servers answer an
    /// empty search with an empty list, so a 404 usually means a wrong base URL.
    ///
    /// The answer is checked before it is believed:
    /// - member names are read in any case (RFC 7643 section 2.1);
    /// - `totalResults` larger than the resources sent is an error ("the server
    ///   counted N, sent M"): an `eq` lookup never needs a second page, so a count
    ///   without the users means the answer cannot be trusted to say "not found";
    /// - a returned user whose attribute does not even contain the value filtered for
    ///   (case-insensitively; a lenient server's loose hits pass, and only exact hits
    ///   count later) means the server ignored the filter: [`ScimError::FilterIgnored`],
    ///   remembered for the connection so that every later filtered lookup fails the
    ///   same way;
    /// - a resource that cannot be read is an error naming the attribute.
    pub async fn find_users(&self, filter: &Filter) -> Result<Vec<ScimUser>, ScimError> {
        self.find_users_checked(filter, false).await
    }

    async fn find_users_checked(
        &self,
        filter: &Filter,
        probing: bool,
    ) -> Result<Vec<ScimUser>, ScimError> {
        if !probing {
            if let Some(known) = self.filter_ignored() {
                return Err(ScimError::FilterIgnored {
                    detail: format!(
                        "`{}` not sent: this server ignores filters ({known})",
                        filter.expression()
                    ),
                });
            }
        }
        let url = format!(
            "{}/Users?filter={}",
            self.inner.base,
            utf8_percent_encode(&filter.expression(), QUERY_VALUE)
        );
        let reply = self.send(Method::GET, url, None).await?;
        match reply.status.as_u16() {
            200..=299 => {
                let raw: serde_json::Value = self.parse(&reply, "a SCIM ListResponse")?;
                let list = UserList::from_json(raw).map_err(|e| self.malformed(&reply, &e))?;
                let mut users = Vec::with_capacity(list.resources.len());
                for (i, r) in list.resources.into_iter().enumerate() {
                    match r {
                        Ok(u) => users.push(u),
                        Err(e) => {
                            return Err(ScimError::Malformed {
                                status: reply.status.as_u16(),
                                detail: self.scrub(&format!(
                                    "expected a SCIM ListResponse: unexpected JSON in user #{} \
                                     ({e})",
                                    i + 1
                                )),
                            })
                        }
                    }
                }
                if probing {
                    return Ok(users);
                }
                if let Some(bad) = users.iter().find(|u| !satisfies(filter, u)) {
                    let why = format!(
                        "the server ignored the filter `{}`: it returned {} (userName {:?}), \
                         who does not match it{}",
                        filter.expression(),
                        match list.total_results {
                            Some(t) => format!("{} of {t} users", users.len()),
                            None => format!("{} users", users.len()),
                        },
                        bad.user_name,
                        bad.id
                            .as_deref()
                            .map(|id| format!(", id {id}"))
                            .unwrap_or_default()
                    );
                    self.remember_filter_ignored(&why);
                    return Err(ScimError::FilterIgnored { detail: why });
                }
                if let Some(total) = list.total_results {
                    if total > users.len() as u64 {
                        return Err(ScimError::Malformed {
                            status: reply.status.as_u16(),
                            detail: format!(
                                "the server counted {total} users for `{}`, sent {}",
                                filter.expression(),
                                users.len()
                            ),
                        });
                    }
                }
                Ok(users)
            }
            _ => Err(self.error(&reply, true)),
        }
    }

    /// `POST /Users`.
    pub async fn create_user(&self, user: &NewUser) -> Result<ScimUser, ScimError> {
        let url = format!("{}/Users", self.inner.base);
        let body = serde_json::to_vec(&user.to_resource())
            .map_err(|e| ScimError::Config(format!("could not encode the new user: {e}")))?;
        let reply = self.send(Method::POST, url, Some(body)).await?;
        match reply.status.as_u16() {
            200..=299 => self.parse_user(&reply, "the created SCIM User"),
            _ => Err(self.error(&reply, false)),
        }
    }

    /// `PATCH /Users/{id}` replace `active`. `Err(NotFound)` on 404; `Ok(None)` when the
    /// server answered 204 without a body.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<Option<ScimUser>, ScimError> {
        let url = self.user_url(id)?;
        let body = serde_json::to_vec(&PatchOp::set_active(active))
            .map_err(|e| ScimError::Config(format!("could not encode the patch: {e}")))?;
        let reply = self.send(Method::PATCH, url, Some(body)).await?;
        match reply.status.as_u16() {
            204 => Ok(None),
            200..=299 if reply.body.iter().all(u8::is_ascii_whitespace) => Ok(None),
            200..=299 => Ok(Some(self.parse_user(&reply, "the patched SCIM User")?)),
            _ => Err(self.error(&reply, false)),
        }
    }

    /// `DELETE /Users/{id}`. Callers gate this on `ConnectionReport::delete_supported`
    /// and an explicit choice by the admin.
    pub async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        let url = self.user_url(id)?;
        let reply = self.send(Method::DELETE, url, None).await?;
        match reply.status.as_u16() {
            200..=299 => Ok(()),
            _ => Err(self.error(&reply, false)),
        }
    }

    fn user_url(&self, id: &str) -> Result<String, ScimError> {
        // An empty id would address the collection (a listing or a mass operation),
        // and `.`/`..` would be resolved away by URL normalisation.
        if id.trim().is_empty() || id == "." || id == ".." {
            return Err(ScimError::Config(format!(
                "refused to address a user by the SCIM id {id:?}"
            )));
        }
        Ok(format!(
            "{}/Users/{}",
            self.inner.base,
            utf8_percent_encode(id, SEGMENT)
        ))
    }

    /// Sends one logical request, retrying as the policy allows, and returns the final
    /// answer whatever its status (a 429 after the last retry is `RateLimited`).
    ///
    /// Retry policy:
    /// - GET, PATCH (replace `active` is idempotent), PUT and DELETE are retried on 429,
    ///   500/502/503/504, timeouts and network errors.
    /// - POST creates a user, and a retry after the server may have acted would either
    ///   create a second account (and take a second licence) or come back as a 409
    ///   that hides the success. So POST is retried only when the request provably was
    ///   not processed: the connection could not be established (nothing was sent), or
    ///   the server answered 429 (RFC 6585: not processed) or 503 (not available, the
    ///   request was not acted on). A timeout, a dropped connection, 500/502/504 are
    ///   returned to the caller, whose journal re-reads the user's state before any
    ///   second attempt.
    async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ScimError> {
        let inner = &*self.inner;
        let post = method == Method::POST;
        let mut attempt: u32 = 0;
        loop {
            let outcome = self.attempt(&method, &url, body.as_deref()).await;
            let last = attempt >= inner.max_retries;
            if let Ok(reply) = &outcome {
                if matches!(reply.status.as_u16(), 429 | 503) {
                    if let Some(e) = self.wait_too_long(reply) {
                        if let Some(b) = &self.guard.breaker {
                            b.trip(e.to_string());
                        }
                        return Err(e);
                    }
                }
            }
            let delay = match outcome {
                Ok(reply) => match reply.status.as_u16() {
                    429 => {
                        // Counted, and the shared hold set, in `attempt`.
                        let retry_after = retry_after(&reply.headers);
                        if last {
                            let detail = match self.error(&reply, false) {
                                ScimError::Http { detail, .. } => {
                                    Some(detail).filter(|d| d != "Too Many Requests")
                                }
                                _ => None,
                            };
                            return Err(ScimError::RateLimited {
                                attempts: attempt + 1,
                                retry_after,
                                detail,
                            });
                        }
                        self.delay_after(attempt, retry_after)
                    }
                    503 if !last => self.delay_after(attempt, retry_after(&reply.headers)),
                    500 | 502 | 504 if !last && !post => self.backoff(attempt),
                    _ => return Ok(reply),
                },
                Err(failure) => {
                    let retryable = match failure.kind {
                        FailureKind::NotSent => true,
                        FailureKind::MaybeSent => !post,
                        FailureKind::Fatal => false,
                    };
                    if last || !retryable {
                        return Err(failure.error);
                    }
                    tracing::debug!(error = %failure.error, attempt, "SCIM request failed");
                    self.backoff(attempt)
                }
            };
            tracing::debug!(
                method = %method,
                path = %path_for_log(&url),
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying SCIM request"
            );
            // Cancelled, or stopped by the breaker: no retry starts.
            if self.cancelled() {
                return Err(ScimError::Cancelled);
            }
            if let Some(reason) = self.stopped() {
                return Err(ScimError::Stopped { reason });
            }
            inner.retries.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
            if self.or_cancel(tokio::time::sleep(delay)).await.is_none() {
                return Err(ScimError::Cancelled);
            }
        }
    }

    /// [`ScimError::WaitTooLong`] when a 429/503 asks for a longer wait than
    /// `max_retry_after`.
    fn wait_too_long(&self, reply: &Reply) -> Option<ScimError> {
        let raw = reply
            .headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .to_string();
        let wait = parse_retry_after(&raw, SystemTime::now())?;
        if wait <= self.inner.max_retry_after {
            return None;
        }
        let text = self.scrub(&String::from_utf8_lossy(&reply.body));
        let detail = ErrorBody::parse(text.as_bytes()).and_then(|b| b.text());
        Some(ScimError::WaitTooLong {
            status: reply.status.as_u16(),
            wait,
            until: httpdate::parse_http_date(&raw)
                .is_ok()
                .then(|| self.scrub(&snippet(raw.as_bytes()))),
            detail: detail.map(|d| snippet(d.as_bytes())),
        })
    }

    /// Retry-After when the server gave one (capped at `backoff_max`), else backoff.
    fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(ra) => ra.min(self.inner.backoff_max),
            None => self.backoff(attempt),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        full_jitter(self.inner.backoff_base, self.inner.backoff_max, attempt)
    }

    /// One HTTP exchange under the shared limits.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<Reply, Failure> {
        let inner = &*self.inner;
        let cancelled = || Failure {
            kind: FailureKind::Fatal,
            error: ScimError::Cancelled,
        };
        let stopped = |reason: String| Failure {
            kind: FailureKind::Fatal,
            error: ScimError::Stopped { reason },
        };
        if self.cancelled() {
            return Err(cancelled());
        }
        // A breaker in a failure streak lets one request through at a time.
        let ticket = match &self.guard.breaker {
            None => None,
            Some(b) => match self.or_cancel(b.turn()).await {
                None => return Err(cancelled()),
                Some(Err(reason)) => return Err(stopped(reason)),
                Some(Ok(t)) => Some(t),
            },
        };
        let waits = async {
            // The semaphore is never closed, so acquire cannot fail.
            let permit = inner.permits.acquire().await.ok();
            inner.hold.wait().await;
            if let Some(limiter) = &inner.limiter {
                limiter.acquire().await;
            }
            inner.adaptive.acquire().await;
            // A 429 may have set a hold while this request waited for its slot.
            inner.hold.wait().await;
            permit
        };
        let Some(_permit) = self.or_cancel(waits).await else {
            return Err(cancelled());
        };
        if let Some(reason) = self.stopped() {
            return Err(stopped(reason));
        }
        let base = inner.backoff_base;
        let result = self.exchange(method, url, body).await;
        if let (Some(b), Some(ticket)) = (&self.guard.breaker, ticket) {
            let failure = match &result {
                Ok(reply) if reply.status.as_u16() == 429 || reply.status.is_server_error() => {
                    Some(self.error(reply, false).to_string())
                }
                Ok(_) => None,
                Err(f) => match f.error {
                    ScimError::Timeout(_) | ScimError::Network(_) => Some(f.error.to_string()),
                    _ => None,
                },
            };
            b.answered(ticket, failure, base);
        }
        result
    }

    /// The HTTP exchange itself (after the waits of [`Self::attempt`]).
    async fn exchange(
        &self,
        method: &Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<Reply, Failure> {
        let inner = &*self.inner;

        let mut request = inner
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, inner.auth.clone());
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))
                .body(body.to_vec());
        }
        inner.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut response = request
            .send()
            .await
            .map_err(|e| self.failure(e, url, true))?;
        let status = response.status();
        // Taken, not cloned: the body reader needs nothing from them.
        let headers = std::mem::take(response.headers_mut());
        let body = read_body(response).await.map_err(|e| match e {
            BodyError::Transport(e) => self.failure(e, url, false),
            BodyError::TooLarge => Failure {
                kind: FailureKind::Fatal,
                error: ScimError::Malformed {
                    status: status.as_u16(),
                    detail: format!("the body is larger than {} MiB", MAX_BODY >> 20),
                },
            },
        })?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            inner.adaptive.throttled(started);
            inner.throttled.fetch_add(1, Ordering::Relaxed);
            if let Some(ra) = retry_after(&headers) {
                // Hold back every request of this client, not only this one. Set
                // before the permit is released, so no queued request slips through.
                inner
                    .hold
                    .extend_to(Instant::now() + ra.min(inner.backoff_max));
            }
        } else {
            inner.adaptive.accepted();
        }
        tracing::debug!(
            method = %method,
            path = %path_for_log(url),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "SCIM request"
        );
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Classifies a transport error. `sending` is true while the request was being
    /// sent and the response head awaited, false while the body was read.
    fn failure(&self, e: reqwest::Error, url: &str, sending: bool) -> Failure {
        let inner = &*self.inner;
        let e = e.without_url();
        let chain = format!("{}: {}", authority(url), self.scrub(&error_chain(&e)));
        let tls = looks_like_tls(&chain);
        if e.is_connect() && tls {
            return Failure {
                kind: FailureKind::Fatal,
                error: ScimError::Tls(chain),
            };
        }
        if e.is_timeout() {
            let connect = e.is_connect();
            return Failure {
                kind: if connect {
                    FailureKind::NotSent
                } else {
                    FailureKind::MaybeSent
                },
                error: ScimError::Timeout(if connect {
                    inner.connect_timeout
                } else {
                    inner.timeout
                }),
            };
        }
        if e.is_builder() {
            return Failure {
                kind: FailureKind::Fatal,
                error: ScimError::Config(chain),
            };
        }
        Failure {
            kind: if e.is_connect() && sending {
                FailureKind::NotSent
            } else {
                FailureKind::MaybeSent
            },
            error: ScimError::Network(chain),
        }
    }

    /// Parses a 2xx body as `T`, or says briefly what was wrong with it.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        reply: &Reply,
        expected: &str,
    ) -> Result<T, ScimError> {
        serde_json::from_slice(&reply.body).map_err(|e| {
            let why = if reply.body.iter().all(u8::is_ascii_whitespace) {
                "the body is empty".to_string()
            } else if e.is_eof() {
                format!("the JSON ends early ({e})")
            } else if e.is_syntax() {
                let ct = content_type(&reply.headers);
                if looks_like_html(&reply.body) {
                    let ct = if ct.is_empty() {
                        "no Content-Type".to_string()
                    } else {
                        ct
                    };
                    format!("an HTML page, not JSON (Content-Type: {ct})")
                } else if ct.contains("json") || ct.is_empty() {
                    format!("not valid JSON ({e})")
                } else {
                    format!("not JSON but {ct} ({e})")
                }
            } else {
                format!("unexpected JSON ({e})")
            };
            self.malformed(reply, &format!("expected {expected}: {why}"))
        })
    }

    /// Parses a 2xx body as a User, leniently ([`ScimUser::from_json`]); the error
    /// names the attribute, never a JSON column.
    fn parse_user(&self, reply: &Reply, expected: &str) -> Result<ScimUser, ScimError> {
        let raw: serde_json::Value = self.parse(reply, expected)?;
        ScimUser::from_json(raw).map_err(|e| ScimError::Malformed {
            status: reply.status.as_u16(),
            detail: self.scrub(&format!("expected {expected}: unexpected JSON ({e})")),
        })
    }

    fn malformed(&self, reply: &Reply, why: &str) -> ScimError {
        // The whole body is scrubbed before it is cut: a secret straddling the cut
        // would otherwise leave its first characters in the snippet.
        let body = self.scrub(&String::from_utf8_lossy(&reply.body));
        let snippet = snippet(body.as_bytes());
        let detail = if snippet.is_empty() {
            why.to_string()
        } else {
            format!("{why}; body: {snippet}")
        };
        ScimError::Malformed {
            status: reply.status.as_u16(),
            detail: self.scrub(&detail),
        }
    }

    /// Maps a non-2xx answer to an error. `filtered`: the request carried a filter, so
    /// a 501, or a 400 that talks about the filter, means "filter not supported".
    fn error(&self, reply: &Reply, filtered: bool) -> ScimError {
        let status = reply.status.as_u16();
        // Scrubbed whole before anything is parsed or cut (see `malformed`).
        let text = self.scrub(&String::from_utf8_lossy(&reply.body));
        let body = ErrorBody::parse(text.as_bytes());
        let scim_type = body
            .as_ref()
            .and_then(|b| b.scim_type.clone())
            .map(|t| self.scrub(&t));
        let detail = body
            .as_ref()
            .and_then(ErrorBody::text)
            .map(|d| snippet(d.as_bytes()))
            .or_else(|| {
                let s = snippet(text.as_bytes());
                (!s.is_empty() && !looks_like_html(text.as_bytes())).then_some(s)
            })
            .map(|d| self.scrub(&d));
        let reason = || {
            reply
                .status
                .canonical_reason()
                .unwrap_or("unexpected status")
                .to_string()
        };
        match status {
            300..=399 => ScimError::Redirect {
                location: reply
                    .headers
                    .get(LOCATION)
                    .map(|l| {
                        snippet(
                            self.scrub(&String::from_utf8_lossy(l.as_bytes()))
                                .as_bytes(),
                        )
                    })
                    .unwrap_or_else(|| "(no Location header)".into()),
            },
            401 => ScimError::Unauthorized {
                status,
                detail: detail.unwrap_or_else(|| {
                    "the server did not accept the token (expired, revoked, or for another \
                     configuration?)"
                        .into()
                }),
            },
            403 => ScimError::Unauthorized {
                status,
                detail: detail.unwrap_or_else(|| "the token is not allowed to do this".into()),
            },
            404 => ScimError::NotFound,
            409 => ScimError::Conflict {
                detail: detail.unwrap_or_else(|| "the user already exists".into()),
            },
            400 if scim_type.as_deref() == Some("invalidFilter") => ScimError::InvalidFilter {
                detail: detail.unwrap_or_else(|| "invalidFilter".into()),
            },
            400 if filtered
                && detail
                    .as_deref()
                    .is_some_and(|d| d.to_ascii_lowercase().contains("filter")) =>
            {
                ScimError::InvalidFilter {
                    detail: detail.unwrap_or_default(),
                }
            }
            501 if filtered => ScimError::InvalidFilter {
                detail: detail.unwrap_or_else(|| "filtering is not implemented".into()),
            },
            _ => ScimError::Http {
                status,
                scim_type,
                detail: detail.unwrap_or_else(reason),
            },
        }
    }

    /// Removes the token from text that came from elsewhere (a server that echoes the
    /// Authorization header in an error, a library message).
    fn scrub(&self, text: &str) -> String {
        scrub_token(text, &self.inner.token)
    }
}

/// Whether a returned user has anything to do with the value filtered for: the
/// attribute contains it, case-insensitively. A loose server (`eq` treated as `co`, or
/// case-insensitive) still honours the filter, and navscim's own exact comparison
/// keeps only the exact hits; a user whose attribute does not even contain the value
/// proves that the filter was ignored.
fn satisfies(filter: &Filter, user: &ScimUser) -> bool {
    let want = filter.value().trim().to_lowercase();
    let same = |v: &str| v.trim().to_lowercase().contains(&want);
    match filter.attr() {
        FilterAttr::ExternalId => user.external_id.as_deref().is_some_and(same),
        FilterAttr::UserName => same(&user.user_name),
        FilterAttr::Email => user.emails.iter().any(|e| same(&e.value)),
    }
}

/// Every secret navscim holds (the registry of [`crate::secret`]) and this client's
/// token, in every encoding, removed from `text`.
fn scrub_token(text: &str, token: &Token) -> String {
    secret::scrub_also(text, token.expose())
}

enum FailureKind {
    /// The request never left (connection refused, DNS, connect timeout): safe to retry.
    NotSent,
    /// The server may have received it (reset, timeout, dropped mid-answer).
    MaybeSent,
    /// Retrying cannot help (TLS, a bad request).
    Fatal,
}

struct Failure {
    kind: FailureKind,
    error: ScimError,
}

enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let expected = response.content_length().unwrap_or(0).min(MAX_BODY as u64) as usize;
    let mut body = Vec::with_capacity(expected);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn looks_like_html(body: &[u8]) -> bool {
    let start: String = String::from_utf8_lossy(&body[..body.len().min(64)])
        .trim_start()
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// The first characters of a body, on one line, for an error message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_CHARS * 4)]);
    let mut out = String::new();
    let mut chars = 0;
    let mut last_space = false;
    for c in text.trim().chars() {
        if chars == SNIPPET_CHARS {
            out.push('…');
            return out;
        }
        let c = if c.is_control() || c.is_whitespace() || crate::sanitize::is_unsafe(c) {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
        chars += 1;
    }
    if body.len() > SNIPPET_CHARS * 4 && !out.ends_with('…') {
        out.push('…');
    }
    out
}

/// `reqwest` error and its sources, joined: "error sending request: client error
/// (Connect): tcp connect error: Connection refused (os error 111)".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn looks_like_tls(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "handshake",
        "unknownissuer",
        "invalid peer",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// `host:port` of a URL, for network error messages.
fn authority(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// The URL path without the query (which carries e-mail addresses) for debug logs.
fn path_for_log(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Validates the base URL and returns it without trailing slashes.
fn validate_base_url(raw: &str) -> Result<String, ScimError> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(ScimError::Config(
            "the SCIM base URL is empty (e.g. https://api.linkedin.com/scim)".into(),
        ));
    }
    let url = url::Url::parse(trimmed).map_err(|e| {
        ScimError::Config(format!(
            "the SCIM base URL {trimmed:?} is not a valid URL ({e}); expected something \
             like https://api.linkedin.com/scim"
        ))
    })?;
    match url.scheme() {
        "https" | "http" => {}
        other => {
            return Err(ScimError::Config(format!(
                "the SCIM base URL must start with https:// (or http:// for a local \
                 test server), not {other}:"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ScimError::Config(format!(
            "the SCIM base URL {trimmed:?} has no host name"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ScimError::Config(
            "the SCIM base URL must not contain a user name or password; the token is \
             given separately"
                .into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ScimError::Config(format!(
            "the SCIM base URL {trimmed:?} must not have a query (?…) or fragment (#…)"
        )));
    }
    Ok(trimmed.to_string())
}

/// Reads the extra CA file: one or more PEM certificates (shared with the
/// identity-provider clients, [`crate::idp`]).
pub(crate) fn load_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, ScimError> {
    let pem = std::fs::read(path).map_err(|e| {
        ScimError::Config(format!("cannot read the CA file {}: {e}", path.display()))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        ScimError::Config(format!(
            "the CA file {} is not valid PEM: {}",
            path.display(),
            error_chain(&e)
        ))
    })?;
    if certs.is_empty() {
        return Err(ScimError::Config(format!(
            "the CA file {} contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> ScimClient {
        ScimClient::new(ClientConfig::new(base, Token::new("tok-secret-123"))).unwrap()
    }

    #[test]
    fn base_url_is_trimmed_and_validated() {
        assert_eq!(
            client("https://api.linkedin.com/scim/").base_url(),
            "https://api.linkedin.com/scim"
        );
        assert_eq!(
            client(" http://127.0.0.1:8080/scim// ").base_url(),
            "http://127.0.0.1:8080/scim"
        );
        for bad in [
            "",
            "   ",
            "api.linkedin.com/scim",
            "ftp://x/scim",
            "https://user:pw@x/scim",
            "https://x/scim?a=b",
            "file:///etc/passwd",
        ] {
            let err = ScimClient::new(ClientConfig::new(bad, Token::new("t0k3n"))).expect_err(bad);
            assert!(matches!(err, ScimError::Config(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn bad_tokens_and_limits_are_refused_without_echo() {
        let err =
            ScimClient::new(ClientConfig::new("https://x/scim", Token::new("  "))).unwrap_err();
        assert!(matches!(err, ScimError::Config(_)));
        let err = ScimClient::new(ClientConfig::new(
            "https://x/scim",
            Token::new("abc\ndef-secret"),
        ))
        .unwrap_err();
        assert!(!err.to_string().contains("def-secret"));
        assert!(!format!("{err:?}").contains("def-secret"));
        let mut c = ClientConfig::new("https://x/scim", Token::new("t0k3n"));
        c.concurrency = 0;
        assert!(ScimClient::new(c).is_err());
        let mut c = ClientConfig::new("https://x/scim", Token::new("t0k3n"));
        c.rate_limit = Some(0.0);
        assert!(ScimClient::new(c).is_err());
    }

    #[test]
    fn user_urls_encode_the_id() {
        let c = client("https://x/scim/");
        assert_eq!(
            c.user_url("abc-123").unwrap(),
            "https://x/scim/Users/abc-123"
        );
        assert_eq!(
            c.user_url("a/b?c#d %").unwrap(),
            "https://x/scim/Users/a%2Fb%3Fc%23d%20%25"
        );
        assert_eq!(
            c.user_url("urn:li:user:1").unwrap(),
            "https://x/scim/Users/urn%3Ali%3Auser%3A1"
        );
        for bad in ["", " ", ".", ".."] {
            assert!(c.user_url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_no_token() {
        let c = client("https://x/scim");
        let d = format!("{c:?}");
        assert!(d.contains("https://x/scim"));
        assert!(!d.contains("tok-secret-123"));
        let cfg = ClientConfig::new("https://x/scim", Token::new("tok-secret-123"));
        assert!(!format!("{cfg:?}").contains("tok-secret-123"));
    }

    #[test]
    fn snippets_are_short_and_single_line() {
        assert_eq!(snippet(b"  hello\n\n world  "), "hello world");
        let long = "x".repeat(10_000);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(&[0xff, 0xfe, b'a']), "\u{fffd}\u{fffd}a");
    }

    #[test]
    fn scrub_removes_the_token() {
        let t = Token::new("tok-secret-123");
        assert_eq!(
            scrub_token("Authorization: Bearer tok-secret-123 rejected", &t),
            "Authorization: Bearer *** rejected"
        );
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("navscim-ca-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let bad_der = dir.join("bad-der.pem");
        std::fs::write(
            &bad_der,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for path in [&missing, &garbage, &bad_der] {
            let mut c = ClientConfig::new("https://x/scim", Token::new("t0k3n"));
            c.ca_file = Some(path.clone());
            let err = ScimClient::new(c).unwrap_err();
            assert!(matches!(err, ScimError::Config(_)), "{err:?}");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
