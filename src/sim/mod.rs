//! The embedded Sales Navigator SCIM simulator (DESIGN.md section 6), used by
//! `navscim demo`, `navscim sim`, the tests and the benchmarks.
// INTERFACE STUB — filled in by the simulator work.

pub mod cli;

use std::net::SocketAddr;
use std::time::Duration;

/// Everything that shapes the simulator's behaviour.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `127.0.0.1:0` picks a free port.
    pub addr: SocketAddr,
    pub token: String,
    /// Seed users as the text of a Sales Navigator user export CSV.
    pub seed_csv: Option<String>,
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
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "navscim-demo".into(),
            seed_csv: None,
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
        }
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
pub struct SimHandle {}

impl SimHandle {
    /// e.g. `http://127.0.0.1:41234/scim` — what a client uses as its base URL.
    pub fn base_url(&self) -> &str {
        todo!("simulator work")
    }

    pub fn stats(&self) -> SimStats {
        todo!("simulator work")
    }

    pub async fn shutdown(self) {
        todo!("simulator work")
    }
}

/// Binds and starts serving on the current tokio runtime.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    let _ = config;
    todo!("simulator work")
}
