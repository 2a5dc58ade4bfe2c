//! `navscim sim --okta --entra`: the identity-provider simulators beside the SCIM one.
//!
//! Each prints one stdout line after the SCIM base URL: `okta: URL` (the org URL) and
//! `entra: URL` (login base; Graph is `URL/v1.0`), and on stderr the demo credentials
//! (they are the simulators' own, not secrets of anyone's) and the ready-made flags.

use std::io::Write;
use std::time::Duration;

use super::entra::{self, EntraSimConfig};
use super::okta::{self, OktaSimConfig};
use super::{generated_people, IdpSimConfig, IdpSimHandle};

/// Identity-provider simulator flags of `navscim sim`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IdpSimArgs {
    /// Also run the Okta simulator (app "LinkedIn Sales Navigator", API token okta-demo-token).
    #[arg(long)]
    pub okta: bool,
    /// Also run the Entra ID / Microsoft Graph simulator (client secret entra-demo-secret).
    #[arg(long)]
    pub entra: bool,
    /// Identity-provider simulators: API requests allowed per second (beyond: 429).
    #[arg(long, value_name = "N")]
    pub idp_rate_limit: Option<u32>,
    /// Identity-provider simulators: largest page served.
    #[arg(long, value_name = "N")]
    pub idp_page_size: Option<usize>,
    /// Identity-provider simulators: answer the first N API requests 429.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub idp_storm: u32,
    /// Identity-provider simulators: N synthetic people instead of the demo export.
    #[arg(long, value_name = "N")]
    pub idp_generate: Option<usize>,
    /// Entra simulator: an access token is good for N Graph requests, then "expired".
    #[arg(long, value_name = "N")]
    pub entra_token_uses: Option<u64>,
}

impl IdpSimArgs {
    fn common(&self, max_page: usize) -> IdpSimConfig {
        let mut c = IdpSimConfig {
            max_page: self.idp_page_size.unwrap_or(max_page),
            rate_limit: self.idp_rate_limit,
            storm: self.idp_storm,
            latency: Duration::ZERO,
            ..IdpSimConfig::default()
        };
        if let Some(n) = self.idp_generate {
            c.people = generated_people(n);
        }
        c
    }

    /// Starts the simulators asked for, printing where they are.
    pub async fn start(&self) -> std::io::Result<Vec<IdpSimHandle>> {
        let mut handles = Vec::new();
        let mut out = std::io::stdout().lock();
        if self.okta {
            let h = okta::start(OktaSimConfig {
                common: self.common(200),
                ..OktaSimConfig::default()
            })
            .await?;
            let _ = writeln!(out, "okta: {}", h.base_url());
            eprintln!(
                "navscim sim: Okta simulator at {url} · app {:?} ({}) · token {}\n  \
                 use: --source okta:{:?} --okta-url {url} --okta-token-env VAR (VAR={})",
                okta::SALESNAV_APP_LABEL,
                okta::SALESNAV_APP_ID,
                okta::DEMO_TOKEN,
                okta::SALESNAV_APP_LABEL,
                okta::DEMO_TOKEN,
                url = h.base_url(),
            );
            handles.push(h);
        }
        if self.entra {
            let h = entra::start(EntraSimConfig {
                common: self.common(999),
                token_uses: self.entra_token_uses,
                ..EntraSimConfig::default()
            })
            .await?;
            let _ = writeln!(out, "entra: {}", h.base_url());
            eprintln!(
                "navscim sim: Entra ID simulator at {url} (Graph {url}/v1.0) · app {:?} (appId {})\n  \
                 use: --source entra:{:?} --entra-tenant {} --entra-client-id {} \
                 --entra-secret-env VAR (VAR={}) --entra-login-url {url} --entra-graph-url {url}/v1.0",
                entra::SALESNAV_DISPLAY_NAME,
                entra::SALESNAV_APP_ID,
                entra::SALESNAV_DISPLAY_NAME,
                entra::DEMO_TENANT,
                entra::DEMO_CLIENT_ID,
                entra::DEMO_SECRET,
                url = h.base_url(),
            );
            handles.push(h);
        }
        let _ = out.flush();
        Ok(handles)
    }
}
