//! Identity-provider source benchmark (issue 12): reading 100,000 assignments from the
//! Okta and Entra ID simulators, bounded by their rate limits. Plain timing, no harness:
//!
//!     cargo bench --bench idp              # both (about half a minute)
//!     cargo bench --bench idp -- okta      # one of them
//!
//! For each provider: requests, elapsed time, achieved requests/s against the
//! simulator's limit (the share of the limit reached), 429s, and memory: the process's
//! resident set before the listing (simulator and its 100,000 people included) and its
//! peak (VmHWM) after it. Client and simulator share the process.

use std::time::Instant;

use navscim::idp::entra::EntraConfig;
use navscim::idp::okta::{OktaAuth, OktaConfig};
use navscim::idp::{fetch, Connection, IdpEvent};
use navscim::secret::Token;
use navscim::sim::idp::entra::{self as entra_sim, EntraSimConfig};
use navscim::sim::idp::okta::{self as okta_sim, OktaSimConfig};
use navscim::sim::idp::{generated_people, IdpSimConfig};

const PEOPLE: usize = 100_000;
const APP: &str = "LinkedIn Sales Navigator";

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn report(name: &str, limit: u32, listing: &navscim::idp::Listing, secs: f64, rss_before: u64) {
    let s = &listing.stats;
    let rate = s.requests as f64 / secs;
    println!(
        "{name}: {} assignments -> {} users; {} requests in {secs:.2} s = {rate:.1} req/s \
         against a limit of {limit}/s ({:.0} % of the limit); {} x 429, {} paced waits; \
         announced-limit share used {}; RSS before {} MB, peak {} MB; load {}",
        listing.assignments,
        listing.users.len(),
        s.requests,
        100.0 * rate / limit as f64,
        s.throttled,
        s.paced,
        s.limit_share
            .map(|v| format!("{:.0} %", v * 100.0))
            .unwrap_or_else(|| "-".into()),
        rss_before / 1024,
        status_kb("VmHWM:") / 1024,
        load(),
    );
}

async fn okta() {
    let limit = 50;
    let sim = okta_sim::start(OktaSimConfig {
        common: IdpSimConfig {
            people: generated_people(PEOPLE),
            max_page: 200,
            rate_limit: Some(limit),
            ..IdpSimConfig::default()
        },
        ..OktaSimConfig::default()
    })
    .await
    .unwrap();
    let rss = status_kb("VmRSS:");
    let mut c = OktaConfig::new(
        sim.base_url(),
        Token::new(okta_sim::DEMO_TOKEN),
        OktaAuth::Ssws,
    );
    c.page_size = 200;
    let started = Instant::now();
    let listing = fetch(&Connection::Okta(c), "okta", APP, &|_: IdpEvent| {})
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(listing.users.len(), PEOPLE);
    report("okta", limit, &listing, secs, rss);
    sim.shutdown().await;
}

async fn entra() {
    let limit = 200;
    let sim = entra_sim::start(EntraSimConfig {
        common: IdpSimConfig {
            people: generated_people(PEOPLE),
            max_page: 999,
            rate_limit: Some(limit),
            ..IdpSimConfig::default()
        },
        ..EntraSimConfig::default()
    })
    .await
    .unwrap();
    let rss = status_kb("VmRSS:");
    let mut c = EntraConfig::new(
        entra_sim::DEMO_TENANT,
        entra_sim::DEMO_CLIENT_ID,
        Token::new(entra_sim::DEMO_SECRET),
    );
    c.login_url = sim.base_url().to_string();
    c.graph_url = format!("{}/v1.0", sim.base_url());
    let started = Instant::now();
    let listing = fetch(&Connection::Entra(c), "entra", APP, &|_: IdpEvent| {})
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(listing.users.len(), PEOPLE);
    report("entra", limit, &listing, secs, rss);
    sim.shutdown().await;
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |n: &str| args.is_empty() || args.iter().any(|a| a == n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if want("okta") {
            okta().await;
        }
        if want("entra") {
            entra().await;
        }
    });
}
