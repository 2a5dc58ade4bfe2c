//! Identity-provider simulators: Okta ([`okta`]) and Microsoft Entra ID / Graph
//! ([`entra`]), axum servers on loopback like the SCIM simulator.
//!
//! Both are seeded by default from the demo Okta export (`fixtures/demo/idp_okta.csv`,
//! [`crate::import::demo::IDP_OKTA_CSV`]), so the same people are assigned the app in
//! the identity provider and hold seats in the SCIM simulator seeded from the Sales
//! Navigator export. [`IdpSimConfig::generate`] adds synthetic people (benchmarks).
//!
//! Shared knobs ([`IdpSimConfig`]): largest page, a request limit per window (Okta
//! announces it in `X-Rate-Limit-*` headers; both answer 429 beyond it), a "storm" of
//! 429s on the first N API requests, wrong credentials (any other token or secret),
//! and for Entra ID access tokens that expire after N Graph requests.

pub mod cli;
pub mod entra;
pub mod okta;

pub use cli::IdpSimArgs;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::import::{import_str, ImportOptions};

/// One person of the simulated directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPerson {
    /// Login / userPrincipalName.
    pub user_name: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub employee_id: Option<String>,
    /// Okta status as the export says (`ACTIVE`, `SUSPENDED`, `DEPROVISIONED`…).
    pub status: String,
    /// Entra `accountEnabled`: false for `SUSPENDED` / `DEPROVISIONED`.
    pub enabled: bool,
}

/// The demo people: every row of the demo Okta export.
pub fn demo_people() -> Vec<SimPerson> {
    let import = import_str(
        crate::import::demo::IDP_OKTA_NAME,
        crate::import::demo::IDP_OKTA_CSV,
        &ImportOptions::default(),
    )
    .expect("the embedded demo export imports");
    let statuses: Vec<String> = crate::import::demo::IDP_OKTA_CSV
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap_or("ACTIVE").trim().to_string())
        .collect();
    import
        .idp_users()
        .iter()
        .map(|u| {
            // The export's line numbers are 1-based with the header on line 1.
            let status = statuses
                .get(u.source.line.saturating_sub(2) as usize)
                .cloned()
                .unwrap_or_else(|| "ACTIVE".into());
            SimPerson {
                user_name: u.user_name.clone().or(u.email.clone()).unwrap_or_default(),
                email: u.email.clone(),
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                display_name: u.display_name.clone(),
                employee_id: u.employee_id.clone(),
                enabled: u.enabled.unwrap_or(true),
                status,
            }
        })
        .collect()
}

/// `n` synthetic people (`user000001@sim.example`…), all active.
pub fn generated_people(n: usize) -> Vec<SimPerson> {
    (1..=n)
        .map(|i| SimPerson {
            user_name: format!("user{i:06}@sim.example"),
            email: Some(format!("user{i:06}@sim.example")),
            first_name: Some("User".into()),
            last_name: Some(format!("{i:06}")),
            display_name: Some(format!("User {i:06}")),
            employee_id: Some(format!("G{i:06}")),
            status: "ACTIVE".into(),
            enabled: true,
        })
        .collect()
}

/// Knobs shared by both simulators.
#[derive(Debug, Clone)]
pub struct IdpSimConfig {
    /// Address to listen on (port 0 picks a free port).
    pub addr: SocketAddr,
    /// The people; default [`demo_people`].
    pub people: Vec<SimPerson>,
    /// Largest page served (Okta `limit`, Graph `$top` are capped to it).
    pub max_page: usize,
    /// API requests allowed per window; beyond it 429 (token requests not counted).
    pub rate_limit: Option<u32>,
    /// Length of a rate-limit window in seconds (windows start at multiples of it).
    pub window_secs: u64,
    /// The first N API requests are answered 429 (a "storm").
    pub storm: u32,
    /// Delay of every answer.
    pub latency: Duration,
}

impl Default for IdpSimConfig {
    fn default() -> Self {
        IdpSimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            people: demo_people(),
            max_page: 200,
            rate_limit: None,
            window_secs: 1,
            storm: 0,
            latency: Duration::ZERO,
        }
    }
}

/// Counters of a simulator, read by tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdpSimStats {
    /// Every request, including those answered 401/429 and token requests.
    pub requests: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Access tokens issued (Entra).
    pub tokens_issued: u64,
    /// 401 answers.
    pub unauthorized: u64,
    /// Most API requests accepted in one window.
    pub max_in_window: u64,
    /// Most requests being answered at the same time (a client that sends requests
    /// at once shows more than 1 when answers take time: `latency`).
    pub max_in_flight: u64,
}

/// Rate limiting and counters shared by both simulators.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    requests: AtomicU64,
    throttled: AtomicU64,
    tokens_issued: AtomicU64,
    unauthorized: AtomicU64,
    storm_seen: AtomicU64,
    window: Mutex<(u64, u64, u64)>, // (window index, used, max used in a window)
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// A request being answered (see [`Limiter::enter`]); counted until dropped.
pub(crate) struct InFlight<'a>(&'a Limiter);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the limiter decided for one API request.
pub(crate) struct Admission {
    pub allowed: bool,
    pub limit: Option<u32>,
    pub remaining: u64,
    /// Epoch seconds when the window ends.
    pub reset: u64,
    /// Seconds to wait (for Retry-After), at least 0.
    pub retry_after: u64,
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Limiter {
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request as being answered until the guard is dropped.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }

    pub(crate) fn count_unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_token(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    /// Admits one API request (after authentication).
    pub(crate) fn admit(&self, config: &IdpSimConfig) -> Admission {
        let now = now_secs();
        let win = config.window_secs.max(1);
        let reset = (now / win + 1) * win;
        if self.storm_seen.fetch_add(1, Ordering::Relaxed) < config.storm as u64 {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return Admission {
                allowed: false,
                limit: config.rate_limit,
                remaining: 0,
                // A storm is not the window: its reset is now.
                reset: now,
                retry_after: 0,
            };
        }
        let Some(limit) = config.rate_limit else {
            return Admission {
                allowed: true,
                limit: None,
                remaining: 0,
                reset,
                retry_after: 0,
            };
        };
        let mut w = self.window.lock().expect("limiter lock");
        let index = now / win;
        if w.0 != index {
            *w = (index, 0, w.2);
        }
        if w.1 >= limit as u64 {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return Admission {
                allowed: false,
                limit: Some(limit),
                remaining: 0,
                reset,
                retry_after: reset.saturating_sub(now).max(1),
            };
        }
        w.1 += 1;
        w.2 = w.2.max(w.1);
        Admission {
            allowed: true,
            limit: Some(limit),
            remaining: limit as u64 - w.1,
            reset,
            retry_after: 0,
        }
    }

    pub(crate) fn stats(&self) -> IdpSimStats {
        IdpSimStats {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            tokens_issued: self.tokens_issued.load(Ordering::Relaxed),
            unauthorized: self.unauthorized.load(Ordering::Relaxed),
            max_in_window: self.window.lock().map(|w| w.2).unwrap_or(0),
            max_in_flight: self.max_in_flight.load(Ordering::Relaxed),
        }
    }
}

/// A running simulator.
pub struct IdpSimHandle {
    base_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    limiter: Arc<Limiter>,
}

impl IdpSimHandle {
    /// `http://127.0.0.1:PORT`: the Okta org URL, or the base of Entra's login and
    /// Graph URLs (see [`entra::EntraSim`]).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn stats(&self) -> IdpSimStats {
        self.limiter.stats()
    }

    /// Stops the server (waits up to 5 s for requests in flight).
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Binds `addr` and serves `router` until the handle is shut down; `base_url` (the
/// simulator's shared state, which builds its links from it) is set to where it listens.
pub(crate) async fn serve(
    addr: SocketAddr,
    router: axum::Router,
    limiter: Arc<Limiter>,
    base_url: &std::sync::OnceLock<String>,
) -> std::io::Result<IdpSimHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}");
    let _ = base_url.set(url.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(IdpSimHandle {
        base_url: url,
        stop,
        task,
        limiter,
    })
}

/// The demo's identity-provider simulators (`navscim demo`); a simulator that could
/// not start is `None` (logged; the demo runs without it).
pub struct DemoSims {
    pub okta: Option<IdpSimHandle>,
    pub entra: Option<IdpSimHandle>,
}

impl DemoSims {
    /// Stops both.
    pub async fn shutdown(self) {
        for h in [self.okta, self.entra].into_iter().flatten() {
            h.shutdown().await;
        }
    }
}

/// Starts the demo Okta and Entra ID simulators (`navscim demo`) and logs where they
/// are and the ready-made `--source` flags.
pub async fn start_demo() -> DemoSims {
    let okta = match okta::start(okta::OktaSimConfig::default()).await {
        Ok(h) => {
            tracing::info!(
                url = h.base_url(),
                app = okta::SALESNAV_APP_LABEL,
                "demo Okta simulator: --source okta:{:?} --okta-url {}",
                okta::SALESNAV_APP_LABEL,
                h.base_url()
            );
            Some(h)
        }
        Err(e) => {
            tracing::warn!("demo Okta simulator did not start: {e}");
            None
        }
    };
    let entra = match entra::start(entra::EntraSimConfig::default()).await {
        Ok(h) => {
            tracing::info!(
                url = h.base_url(),
                app = entra::SALESNAV_DISPLAY_NAME,
                "demo Entra ID simulator: --source entra:{:?} --entra-tenant {} --entra-client-id {} --entra-login-url {} --entra-graph-url {}/v1.0",
                entra::SALESNAV_DISPLAY_NAME,
                entra::DEMO_TENANT,
                entra::DEMO_CLIENT_ID,
                h.base_url(),
                h.base_url()
            );
            Some(h)
        }
        Err(e) => {
            tracing::warn!("demo Entra ID simulator did not start: {e}");
            None
        }
    };
    DemoSims { okta, entra }
}

/// Constant-time comparison of a presented secret.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request path, percent-decoded, without a trailing slash.
pub(crate) fn decoded_path(uri: &axum::http::Uri) -> String {
    percent_encoding::percent_decode_str(uri.path().trim_end_matches('/'))
        .decode_utf8_lossy()
        .into_owned()
}

/// Query parameters of a request, decoded.
pub(crate) fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// A page request's window from its query: the page size (`size_key`, default
/// `default_size`, clamped to 1..=`max_page`) and the offset (`offset_key`, default 0).
/// Unparsable values fall back to the defaults, as the real services do.
pub(crate) fn page_window(
    pairs: &[(String, String)],
    size_key: &str,
    default_size: usize,
    offset_key: &str,
    max_page: usize,
) -> (usize, usize) {
    let size = param(pairs, size_key)
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(default_size)
        .clamp(1, max_page.max(1));
    let offset = param(pairs, offset_key)
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    (size, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_people_carry_statuses_of_the_export() {
        let people = demo_people();
        assert_eq!(people.len(), 1010);
        assert_eq!(people.iter().filter(|p| !p.enabled).count(), 10);
        assert!(people.iter().any(|p| p.status == "SUSPENDED" && !p.enabled));
    }
}
