//! Runs effects as tokio tasks and sends their results back as actions.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use futures::FutureExt;

use tokio::sync::mpsc::UnboundedSender;

use crate::app::state::{ConnectionFailure, ConnectionSummary};
use crate::app::{Action, ConnectionSpec, Effect};
use crate::config;
use crate::scim::{ClientConfig, ConnectionReport, ProbeMethod, ScimClient};

/// Settings that apply to every connection this session makes.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub ca_file: Option<PathBuf>,
}

/// Spawns effects. Every effect answers with exactly one action — even if its task
/// panics — so a headless driver can count answers to know when work has settled.
#[derive(Clone)]
pub struct Executor {
    tx: UnboundedSender<Action>,
    settings: Settings,
}

impl Executor {
    pub fn new(tx: UnboundedSender<Action>, settings: Settings) -> Self {
        Executor { tx, settings }
    }

    pub fn spawn(&self, effect: Effect) {
        let tx = self.tx.clone();
        let settings = self.settings.clone();
        tokio::spawn(async move {
            let what = effect.name();
            let action = match AssertUnwindSafe(run(effect, &settings))
                .catch_unwind()
                .await
            {
                Ok(action) => action,
                Err(_) => Action::EffectFailed(format!("{what} failed unexpectedly (see the log)")),
            };
            let _ = tx.send(action);
        });
    }
}

async fn run(effect: Effect, settings: &Settings) -> Action {
    match effect {
        Effect::TestConnection { seq, spec } => Action::ConnectionTested {
            seq,
            result: test_connection(spec, settings).await,
        },
        Effect::SaveProfile { profile, token } => {
            let result =
                tokio::task::spawn_blocking(move || config::save_profile(&profile, token.as_ref()))
                    .await
                    .unwrap_or_else(|e| Err(format!("saving failed: {e}")));
            Action::ProfileSaved { result }
        }
    }
}

/// Resolves the token, builds a client and tests it. Shared words with `navscim check`.
pub async fn test_connection(
    spec: ConnectionSpec,
    settings: &Settings,
) -> Result<ConnectionSummary, ConnectionFailure> {
    let client = connect(&spec, settings).await?;
    let report = client
        .test_connection()
        .await
        .map_err(|e| ConnectionFailure::from_scim(&e))?;
    Ok(summarize(&report))
}

/// A client for `spec`, with the token resolved (which may run a command: off the runtime).
pub async fn connect(
    spec: &ConnectionSpec,
    settings: &Settings,
) -> Result<ScimClient, ConnectionFailure> {
    let (source, profile) = (spec.token.clone(), spec.profile.clone());
    let token = tokio::task::spawn_blocking(move || config::resolve_token(&source, &profile))
        .await
        .map_err(|e| ConnectionFailure {
            headline: "No token".into(),
            detail: format!("reading the token failed: {e}"),
        })?
        .map_err(|e| ConnectionFailure::from_token(&e))?;
    let mut config = ClientConfig::new(spec.base_url.clone(), token);
    config.ca_file = settings.ca_file.clone();
    ScimClient::new(config).map_err(|e| ConnectionFailure::from_scim(&e))
}

pub fn summarize(report: &ConnectionReport) -> ConnectionSummary {
    let spc = report.service_provider_config.as_ref();
    ConnectionSummary {
        latency: report.latency,
        probe: match report.probe {
            ProbeMethod::ServiceProviderConfig => "ServiceProviderConfig".into(),
            ProbeMethod::FilteredLookup => "a filtered lookup".into(),
        },
        filter: report.filter_supported,
        patch: report.patch_supported,
        delete: report.delete_supported,
        bulk: spc.map(|c| c.bulk.supported).unwrap_or(false),
    }
}
