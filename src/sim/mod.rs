//! The embedded Sales Navigator SCIM simulator (DESIGN.md section 6), used by
//! `navscim demo`, `navscim sim`, the tests and the benchmarks.
//!
//! An axum server on loopback that behaves like the Sales Navigator SCIM service as
//! DESIGN.md section 2 describes it. The base URL is `http://127.0.0.1:PORT/scim`.
//!
//! # Endpoints
//!
//! | request                              | answer                                              |
//! |--------------------------------------|-----------------------------------------------------|
//! | `GET /Users?filter=…`                | ListResponse (`startIndex`/`count` paginate)        |
//! | `GET /Users` (no filter)             | 400 `tooMany` unless [`SimConfig::allow_list`]       |
//! | `GET /Users/{id}`                    | the user, or 404                                    |
//! | `POST /Users`                        | 201; 409 `uniqueness` on a duplicate userName (case-insensitive) or externalId (case-sensitive) |
//! | `PATCH /Users/{id}`                  | 200 with the user; PatchOp, see below               |
//! | `PUT /Users/{id}`                    | 200 with the user; replaces the writable attributes |
//! | `DELETE /Users/{id}`                 | 405 unless [`SimConfig::allow_delete`] (then 204)    |
//! | `GET /ServiceProviderConfig`         | patch yes, bulk/sort/etag/changePassword no, filter yes (`maxResults` 200), plus the non-standard top-level `"delete": {"supported": allow_delete}` |
//! | `GET /_sim/stats`                    | [`SimStats`] as JSON (same token)                   |
//!
//! Everything needs `Authorization: Bearer <token>` (compared in constant time);
//! otherwise 401 with a SCIM error body.
//!
//! # Filters
//!
//! By default only the lookups the Sales Navigator service offers:
//! `externalId eq "…"` (case-sensitive), `userName eq "…"` and `emails.value eq "…"`
//! (both case-insensitive). Values are RFC 7644 / JSON strings (`\"`, `\\`, `\uXXXX`…).
//! Anything else is 400 `invalidFilter`. Several users can match (a seed may hold
//! case-variant duplicate emails): that is how "ambiguous" arises.
//!
//! With [`SimConfig::allow_list`] the simulator acts as a generic RFC 7644 server:
//! listing without a filter, `eq ne co sw ew pr`, `and`, `or`, `not (…)` and
//! parentheses over `id`, `externalId`, `userName`, `emails.value`, `displayName`,
//! `name.givenName`, `name.familyName` and `active`.
//!
//! # PATCH
//!
//! `op` is case-insensitive (`add`, `replace`, `remove`). Both forms work:
//! `{"op":"replace","path":"active","value":false}` and Entra ID's
//! `{"op":"Replace","value":{"active":false}}` (booleans may be `"False"` strings).
//! Paths: `active`, `userName`, `externalId`, `displayName`, `name`, `name.givenName`,
//! `name.familyName`, `name.formatted`, `emails`, `emails[type eq "work"].value`,
//! extension URNs (`urn:…:User:attr`, stored verbatim) and other simple attribute
//! names (stored verbatim). The operations of one request apply all or nothing.
//!
//! # Licences: the extension attribute
//!
//! Every user carries the read-only extension
//! `"urn:navscim:params:scim:schemas:extension:salesnavigator:2.0:User"`
//! ([`SIM_EXTENSION_SCHEMA`]) with
//!
//! - `licenseAssigned` (bool): the user holds one of the organisation's seats;
//! - `licenseStatus`: `ACTIVE`, `PENDING` (assigned, not yet activated by the user —
//!   SCIM provisions the licence, not the activation), `INACTIVE`, `REVOKED` (taken
//!   back by deactivation), `UNASSIGNED` (active but no seat was free), or what the seed
//!   file said;
//! - `seatId`, `teamlinkExtendLicenseStatus`, `adminPermission`, `groups` when the
//!   seed file had them.
//!
//! Rules: seed users whose `sales_license_current_status` is `ACTIVE` or `PENDING`
//! (any case; empty counts as `ACTIVE`) are active and hold a licence, all others are
//! inactive without one. [`SimConfig::seats`] is the number of *free* seats on top of
//! those (`None` = unlimited). `POST` of an active user takes a free seat (`PENDING`)
//! or, when none is left, still creates the user with `UNASSIGNED` (first come, first
//! served). Deactivating (`active` true → false by PATCH or PUT) returns the seat to
//! the pool (`REVOKED`); reactivating takes one again if free. DELETE frees the seat.
//!
//! # Statistics
//!
//! `GET {base}/_sim/stats` answers
//! `{"requests":{"GET":n,"POST":n,"PATCH":n,"PUT":n,"DELETE":n},"throttled":n,"changes":{"<scim id>":n}}`.
//! `requests` counts every request that reached the simulator by method — including
//! those answered 401, 429, 5xx, dropped or malformed — but not the stats requests
//! themselves (which are also exempt from rate limiting, latency and faults).
//! `throttled` counts 429 answers. `changes` counts, per SCIM id, every
//! *successful* POST (201), PATCH (200), PUT (200) and DELETE (204) on that user, even
//! a PATCH that set a value to what it already was.
//!
//! # Knobs (fault injection)
//!
//! Each request, in order: counted; rate limit checked on arrival (token bucket of
//! `rate_limit` tokens a second, holding one second's worth); latency + jitter, from
//! the request's arrival (woken by the simulator's own timer thread, never early and
//! within a fraction of a millisecond: tokio's millisecond timer added 2-3 ms on a busy
//! machine; [`SimHandle::delay_totals`] reports what was served); a throttled request is then answered 429 — alternately a
//! SCIM error body and a LinkedIn API error body
//! (`{"message":…,"serviceErrorCode":101,"status":429}`) — with `Retry-After` in whole
//! seconds (≥ 1, when a token is back) unless disabled; then auth (401); then,
//! drawn from the seeded RNG, a dropped connection (`drop_rate`), a 500/502/503
//! (`fail_rate`; the 502 has an HTML body) or a 200 with an unparsable body
//! (`malformed_rate`). **Injected faults are decided before the request is handled: a
//! request answered with a fault had no effect.** All randomness comes from one
//! `fastrand::Rng` seeded with [`SimConfig::random_seed`], drawn in a fixed order per
//! request, so a sequential run is repeatable.
//!
//! SCIM ids are deterministic and opaque: 16 hex digits, a bijective hash of the
//! creation counter (seed users first, then generated users, then POSTs).

pub mod cli;
pub mod failsafe;
pub mod fault;
pub mod filter;
pub mod idp;
pub mod seed;
mod server;
pub mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::scim::model::ScimUser;
pub use fault::{Fault, ALL_FAULTS};

/// The schema URN of the simulator's read-only licence extension (see module docs).
pub const SIM_EXTENSION_SCHEMA: &str =
    "urn:navscim:params:scim:schemas:extension:salesnavigator:2.0:User";

/// Everything that shapes the simulator's behaviour.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
    pub token: String,
    /// Seed users as the text of a Sales Navigator user export CSV.
    pub seed_csv: Option<String>,
    /// Seed users as SCIM core User resources: the text of a JSON array (as the
    /// field cases' `users.json`). Their ids are kept; added before `seed_csv`.
    pub seed_json: Option<String>,
    /// Non-standard server behaviours to reproduce (see [`Fault`]).
    pub faults: Vec<Fault>,
    /// The page size of answers to an ignored filter ([`Fault::FilterIgnored`]);
    /// `None`: the server's maximum (200).
    pub page_size: Option<usize>,
    /// Deterministic synthetic users added after the seed.
    pub generate: usize,
    pub latency: Duration,
    pub jitter: Duration,
    /// Requests per second; excess answered 429.
    pub rate_limit: Option<f64>,
    /// Whether 429 answers carry `Retry-After`.
    pub retry_after: bool,
    /// Share (0.0–1.0) of requests answered 5xx.
    pub fail_rate: f64,
    /// Share of requests whose connection is dropped without an answer.
    pub drop_rate: f64,
    /// Share of answers with a malformed JSON body.
    pub malformed_rate: f64,
    pub allow_delete: bool,
    /// Behave like a generic RFC 7644 server: list without a filter, more filters.
    pub allow_list: bool,
    /// Licences available for new users; `None` = unlimited.
    pub seats: Option<usize>,
    /// Seed for every random choice (jitter, failures), so runs are repeatable.
    pub random_seed: u64,
    /// Quota, far Retry-After, failure storm and header-echo modes (see [`failsafe`]).
    pub failsafe: failsafe::FailsafeFaults,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "navscim-demo".into(),
            seed_csv: None,
            seed_json: None,
            faults: Vec::new(),
            page_size: None,
            generate: 0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_limit: None,
            retry_after: true,
            fail_rate: 0.0,
            drop_rate: 0.0,
            malformed_rate: 0.0,
            allow_delete: false,
            allow_list: false,
            seats: None,
            random_seed: 7643,
            failsafe: failsafe::FailsafeFaults::default(),
        }
    }
}

impl SimConfig {
    /// Checks the knobs: rates within 0..=1, a positive finite rate limit, a
    /// non-empty token without whitespace.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("fail rate", self.fail_rate),
            ("drop rate", self.drop_rate),
            ("malformed rate", self.malformed_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 1, got {v}"));
            }
        }
        if let Some(r) = self.rate_limit {
            if !r.is_finite() || r <= 0.0 {
                return Err(format!(
                    "rate limit must be a positive number of requests per second, got {r}"
                ));
            }
        }
        if self.token.is_empty() || self.token.chars().any(char::is_whitespace) {
            return Err("token must be non-empty and contain no whitespace".into());
        }
        Ok(())
    }
}

/// `GET {base}/_sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimStats {
    pub requests: std::collections::BTreeMap<String, u64>,
    pub throttled: u64,
    /// Successful state-changing requests per SCIM id.
    pub changes: std::collections::BTreeMap<String, u64>,
}

/// A running simulator. Dropping it does not stop it; call [`SimHandle::shutdown`].
pub struct SimHandle {
    base_url: String,
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    /// e.g. `http://127.0.0.1:41234/scim` — what a client uses as its base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token clients must present.
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    pub fn stats(&self) -> SimStats {
        self.shared.stats()
    }

    /// How many requests were given latency so far, and the time the simulator
    /// actually held them in all (from arrival to the end of the latency): the
    /// simulator's real latency, which the timer's resolution makes a little longer
    /// than the configured one. Benchmarks report it.
    pub fn delay_totals(&self) -> (u64, Duration) {
        self.shared.delay_totals()
    }

    /// The current state of one user in wire form (with `meta` and the licence
    /// extension), for test assertions.
    pub fn user(&self, id: &str) -> Option<ScimUser> {
        let rec = self.shared.read().get(id).cloned();
        rec.map(|r| r.to_scim(&self.base_url))
    }

    /// Every user, in creation order.
    pub fn users(&self) -> Vec<ScimUser> {
        let recs: Vec<_> = self.shared.read().all().cloned().collect();
        recs.iter().map(|r| r.to_scim(&self.base_url)).collect()
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.shared.read().len()
    }

    /// Whether a fault mode is on.
    pub fn has_fault(&self, fault: Fault) -> bool {
        self.shared.config.faults.contains(&fault)
    }

    /// Changes a user's identifiers behind navscim's back (as another admin or the
    /// IdP would), for tests of "identity changed": `None` leaves a value alone.
    pub fn rename_user(
        &self,
        id: &str,
        user_name: Option<&str>,
        external_id: Option<Option<&str>>,
    ) -> bool {
        self.shared.rename(id, user_name, external_id)
    }

    /// Free seats left; `None` = unlimited.
    pub fn seats_free(&self) -> Option<usize> {
        self.shared.read().seats_free()
    }

    /// Stops accepting connections, lets requests in flight finish (at most five
    /// seconds), then returns.
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

/// `meta.created` of every seeded or generated user.
pub const SEED_CREATED: &str = "2024-01-15T09:00:00Z";

/// Binds and starts serving on the current tokio runtime.
///
/// Errors: `InvalidInput` for bad knobs, `InvalidData` for a bad seed CSV (the message
/// names line and column), or the bind error.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    use std::io::{Error, ErrorKind};
    config
        .validate()
        .map_err(|e| Error::new(ErrorKind::InvalidInput, e))?;
    // A seat export says nothing about when a user was provisioned; seeded users are
    // dated well in the past (SEED_CREATED) so that a grace period for "recently
    // provisioned" users never hides the whole seed. Users POSTed later get the real time.
    let now = SEED_CREATED
        .parse::<chrono::DateTime<chrono::Utc>>()
        .expect("constant is RFC 3339");
    let mut store = store::Store::new(config.seats);
    store.reserve(config.generate);
    if let Some(text) = &config.seed_json {
        for u in seed::parse_json_seed(text).map_err(|e| Error::new(ErrorKind::InvalidData, e))? {
            store.add_scim(&u, now);
        }
    }
    if let Some(text) = &config.seed_csv {
        let users = seed::parse_seed(text).map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
        store.reserve(users.len());
        for u in &users {
            store.add_seed(u, now);
        }
    }
    for u in seed::generate(config.generate) {
        store.add_seed(&u, now);
    }

    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let base_url = format!("http://{addr}/scim");
    let shared = Arc::new(server::Shared::new(config, base_url.clone(), store));
    let app = axum::Router::new()
        .fallback(server::handle)
        .with_state(shared.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(SimHandle {
        base_url,
        addr,
        shared,
        stop,
        task,
    })
}

/// SplitMix64: a bijective mixer, used for opaque ids and the synthetic users.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
