//! Command-line options of identity-provider sources, shared by `navscim lookup
//! --source …` and `navscim sources test`, and the saved source settings.
//!
//! Settings are saved per profile in `sources.json` in the config directory
//! ([`crate::config::config_dir`]) **by reference only**: org URL, tenant, client id
//! and where the secret comes from (environment variable, file or command), never the
//! secret itself.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

use super::entra::{EntraConfig, DEFAULT_GRAPH_URL, DEFAULT_LOGIN_URL, GRAPH_PERMISSIONS};
use super::okta::{OktaAuth, OktaConfig};
use super::{fetch, Connection, IdpError, IdpEvent, Listing, Provider, Source};
use crate::config::{self, TokenSource};
use crate::secret::Token;

/// Environment variable the Okta token is read from by default.
pub const DEFAULT_OKTA_TOKEN_ENV: &str = "NAVSCIM_OKTA_TOKEN";
/// Environment variable the Entra client secret is read from by default.
pub const DEFAULT_ENTRA_SECRET_ENV: &str = "NAVSCIM_ENTRA_SECRET";

/// Help shown after the options of commands that read identity providers.
pub const IDP_HELP: &str = "\
Identity-provider sources (--source okta:APP, --source entra:APP; APP = the app's id or label):
  Okta: --okta-url https://ORG.okta.com and an API token (SSWS) from --okta-token-env
    (default NAVSCIM_OKTA_TOKEN), --okta-token-file or --okta-token-command; with
    --okta-bearer the token is an OAuth 2.0 access token (scopes okta.apps.read,
    okta.users.read, okta.groups.read). The token's admin needs the Read-only Administrator role.
  Entra ID: --entra-tenant, --entra-client-id and the client secret from
    --entra-secret-env (default NAVSCIM_ENTRA_SECRET), --entra-secret-file or
    --entra-secret-command. Microsoft Graph application permissions needed (least
    privilege, admin consent): Application.Read.All (find the app's service principal and
    list appRoleAssignedTo), User.Read.All (read the assigned users), GroupMember.Read.All
    (expand assigned groups, nested groups included). Not needed: AppRoleAssignment.ReadWrite.All
    (writes assignments), Directory.Read.All (broader).
  Secrets are never stored: `navscim sources test --save` keeps the URLs, ids and where
  the secret comes from in the profile (the dashboard's sources list, o on the Users
  pane, reads and writes the same). --ca-file applies to the identity providers too.";

/// Connection options of the identity providers.
#[derive(Debug, Clone, Default, Args)]
pub struct IdpArgs {
    /// Okta org URL, e.g. https://example.okta.com.
    #[arg(long, value_name = "URL")]
    pub okta_url: Option<String>,
    /// Read the Okta API token from this environment variable (default NAVSCIM_OKTA_TOKEN).
    #[arg(long, value_name = "VAR")]
    pub okta_token_env: Option<String>,
    /// Read the Okta API token from this file (mode 0600).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["okta_token_env", "okta_token_command"])]
    pub okta_token_file: Option<PathBuf>,
    /// Run this command (sh -c) and use what it prints as the Okta token.
    #[arg(long, value_name = "CMD", conflicts_with = "okta_token_env")]
    pub okta_token_command: Option<String>,
    /// The Okta token is an OAuth 2.0 access token (Authorization: Bearer), not an API
    /// token (Authorization: SSWS).
    #[arg(long)]
    pub okta_bearer: bool,
    /// Entra ID directory (tenant) id or domain.
    #[arg(long, value_name = "TENANT")]
    pub entra_tenant: Option<String>,
    /// Application (client) id of the app registration navscim signs in as. It needs the
    /// Graph application permissions Application.Read.All, User.Read.All and
    /// GroupMember.Read.All.
    #[arg(long, value_name = "ID")]
    pub entra_client_id: Option<String>,
    /// Read the Entra client secret from this environment variable (default
    /// NAVSCIM_ENTRA_SECRET).
    #[arg(long, value_name = "VAR")]
    pub entra_secret_env: Option<String>,
    /// Read the Entra client secret from this file (mode 0600).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["entra_secret_env", "entra_secret_command"])]
    pub entra_secret_file: Option<PathBuf>,
    /// Run this command (sh -c) and use what it prints as the Entra client secret.
    #[arg(long, value_name = "CMD", conflicts_with = "entra_secret_env")]
    pub entra_secret_command: Option<String>,
    /// Token endpoint base (default https://login.microsoftonline.com; tests: the simulator).
    #[arg(long, value_name = "URL", hide_short_help = true)]
    pub entra_login_url: Option<String>,
    /// Microsoft Graph base (default https://graph.microsoft.com/v1.0; tests: the simulator).
    #[arg(long, value_name = "URL", hide_short_help = true)]
    pub entra_graph_url: Option<String>,
}

/// Saved Okta settings (no secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OktaSettings {
    pub org_url: String,
    pub token: TokenSource,
    #[serde(default)]
    pub bearer: bool,
}

/// Saved Entra ID settings (no secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntraSettings {
    pub tenant: String,
    pub client_id: String,
    pub secret: TokenSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
}

/// A profile's identity-provider settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdpSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta: Option<OktaSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra: Option<EntraSettings>,
    /// The sources last tested or used (`okta:APP`, `entra:APP`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

fn settings_path() -> PathBuf {
    config::config_dir().join("sources.json")
}

/// The saved settings of `profile` (empty when none).
pub fn load_settings(profile: &str) -> Result<IdpSettings, String> {
    let path = settings_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let all: BTreeMap<String, IdpSettings> = serde_json::from_str(&text)
                .map_err(|e| format!("{}: line {}: {e}", path.display(), e.line()))?;
            Ok(all.get(profile).cloned().unwrap_or_default())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IdpSettings::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Saves `settings` for `profile` (mode 0600). A pasted secret is refused.
pub fn save_settings(profile: &str, settings: &IdpSettings) -> Result<PathBuf, String> {
    let pasted = |t: &TokenSource| matches!(t, TokenSource::Pasted(_));
    if settings.okta.as_ref().is_some_and(|o| pasted(&o.token))
        || settings.entra.as_ref().is_some_and(|e| pasted(&e.secret))
    {
        return Err("a pasted secret is never saved".into());
    }
    let path = settings_path();
    let mut all: BTreeMap<String, IdpSettings> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(_) => BTreeMap::new(),
    };
    all.insert(profile.to_string(), settings.clone());
    let text = serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

impl IdpArgs {
    /// The settings these flags give on top of `saved`.
    pub fn settings(&self, saved: &IdpSettings) -> IdpSettings {
        let mut s = saved.clone();
        let okta_token = if let Some(p) = &self.okta_token_file {
            Some(TokenSource::File(p.clone()))
        } else if let Some(c) = &self.okta_token_command {
            Some(TokenSource::Command(c.clone()))
        } else {
            self.okta_token_env.clone().map(TokenSource::Env)
        };
        if self.okta_url.is_some() || okta_token.is_some() || self.okta_bearer {
            let base = s.okta.take();
            s.okta = Some(OktaSettings {
                org_url: self
                    .okta_url
                    .clone()
                    .or(base.as_ref().map(|b| b.org_url.clone()))
                    .unwrap_or_default(),
                token: okta_token
                    .or(base.as_ref().map(|b| b.token.clone()))
                    .unwrap_or(TokenSource::Env(DEFAULT_OKTA_TOKEN_ENV.into())),
                bearer: self.okta_bearer || base.is_some_and(|b| b.bearer),
            });
        }
        let secret = if let Some(p) = &self.entra_secret_file {
            Some(TokenSource::File(p.clone()))
        } else if let Some(c) = &self.entra_secret_command {
            Some(TokenSource::Command(c.clone()))
        } else {
            self.entra_secret_env.clone().map(TokenSource::Env)
        };
        if self.entra_tenant.is_some()
            || self.entra_client_id.is_some()
            || secret.is_some()
            || self.entra_login_url.is_some()
            || self.entra_graph_url.is_some()
        {
            let base = s.entra.take();
            let pick = |flag: &Option<String>, saved: Option<&String>| {
                flag.clone().or(saved.cloned()).unwrap_or_default()
            };
            s.entra = Some(EntraSettings {
                tenant: pick(&self.entra_tenant, base.as_ref().map(|b| &b.tenant)),
                client_id: pick(&self.entra_client_id, base.as_ref().map(|b| &b.client_id)),
                secret: secret
                    .or(base.as_ref().map(|b| b.secret.clone()))
                    .unwrap_or(TokenSource::Env(DEFAULT_ENTRA_SECRET_ENV.into())),
                login_url: self
                    .entra_login_url
                    .clone()
                    .or(base.as_ref().and_then(|b| b.login_url.clone())),
                graph_url: self
                    .entra_graph_url
                    .clone()
                    .or(base.as_ref().and_then(|b| b.graph_url.clone())),
            });
        }
        s
    }
}

async fn read_secret(source: &TokenSource, profile: &str, what: &str) -> Result<Token, IdpError> {
    let (source, profile) = (source.clone(), profile.to_string());
    let shown = source.describe();
    match tokio::task::spawn_blocking(move || config::resolve_token(&source, &profile)).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(IdpError::Config(format!("{what}: {e}"))),
        Err(e) => Err(IdpError::Config(format!("{what} from {shown}: {e}"))),
    }
}

/// The connection to `provider` from `settings`, with its secret read; `ca_file`:
/// extra PEM CA certificates to trust (`--ca-file`).
pub async fn connect(
    provider: Provider,
    settings: &IdpSettings,
    profile: &str,
    ca_file: Option<&Path>,
) -> Result<Connection, IdpError> {
    match provider {
        Provider::Okta => {
            let s = settings.okta.as_ref().ok_or_else(|| {
                IdpError::Config(
                    "Okta: no org URL: give --okta-url (and the token's source)".into(),
                )
            })?;
            if s.org_url.trim().is_empty() {
                return Err(IdpError::Config("Okta: no org URL: give --okta-url".into()));
            }
            let token = read_secret(&s.token, profile, "Okta API token").await?;
            let auth = if s.bearer {
                OktaAuth::Bearer
            } else {
                OktaAuth::Ssws
            };
            let mut c = OktaConfig::new(&s.org_url, token, auth);
            c.ca_file = ca_file.map(Path::to_path_buf);
            Ok(Connection::Okta(c))
        }
        Provider::Entra => {
            let s = settings.entra.as_ref().ok_or_else(|| {
                IdpError::Config(
                    "Entra ID: give --entra-tenant, --entra-client-id and the secret's source"
                        .into(),
                )
            })?;
            for (flag, v) in [
                ("--entra-tenant", &s.tenant),
                ("--entra-client-id", &s.client_id),
            ] {
                if v.trim().is_empty() {
                    return Err(IdpError::Config(format!("Entra ID: {flag} is missing")));
                }
            }
            let secret = read_secret(&s.secret, profile, "Entra client secret").await?;
            let mut c = EntraConfig::new(&s.tenant, &s.client_id, secret);
            c.login_url = s.login_url.clone().unwrap_or(DEFAULT_LOGIN_URL.into());
            c.graph_url = s.graph_url.clone().unwrap_or(DEFAULT_GRAPH_URL.into());
            c.ca_file = ca_file.map(Path::to_path_buf);
            Ok(Connection::Entra(c))
        }
    }
}

/// Splits `--source` values into CSV paths and identity-provider sources.
pub fn split_sources(values: &[String]) -> Result<(Vec<PathBuf>, Vec<Source>), String> {
    let (mut csv, mut idp) = (Vec::new(), Vec::new());
    for v in values {
        match Source::parse(v)? {
            Source::Csv(p) => csv.push(p),
            s => idp.push(s),
        }
    }
    Ok((csv, idp))
}

/// One identity-provider source with everything needed to read it: what a
/// `--source okta:APP` resolves to, and what the dashboard's sources list holds and
/// its effects carry. Secrets by reference only (the settings name where the secret
/// comes from; a `Debug` shows no secret).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub provider: Provider,
    /// The app's id or label / display name.
    pub app: String,
    /// The provider's settings (org URL or tenant, client id, the secret's source).
    pub settings: IdpSettings,
    /// Names a token stored with the profile, if that is the secret's source.
    pub profile: String,
    /// Extra PEM CA certificates to trust (`--ca-file`).
    pub ca_file: Option<PathBuf>,
}

impl SourceSpec {
    /// `okta:APP` / `entra:APP`: the source as `--source` writes it (the listing's name).
    pub fn label(&self) -> String {
        format!("{}:{}", self.provider.prefix(), self.app)
    }
}

/// Reads one source: signs in (the secret read from its source), finds the app and
/// lists its assigned users, reporting progress to `on_event`. The one reader of
/// `navscim lookup --source`, `navscim sources test` and the dashboard's sources list.
pub async fn read(
    spec: &SourceSpec,
    on_event: &(dyn Fn(IdpEvent) + Send + Sync),
) -> Result<Listing, IdpError> {
    let connection = connect(
        spec.provider,
        &spec.settings,
        &spec.profile,
        spec.ca_file.as_deref(),
    )
    .await?;
    fetch(&connection, &spec.label(), &spec.app, on_event).await
}

/// Reads one identity-provider source, printing waits and token renewals to stderr.
pub async fn read_source(
    source: &Source,
    settings: &IdpSettings,
    profile: &str,
    ca_file: Option<&Path>,
) -> Result<Listing, IdpError> {
    let Source::Idp { provider, app } = source else {
        return Err(IdpError::Config(format!(
            "{source} is not an identity provider"
        )));
    };
    let spec = SourceSpec {
        provider: *provider,
        app: app.clone(),
        settings: settings.clone(),
        profile: profile.to_string(),
        ca_file: ca_file.map(Path::to_path_buf),
    };
    let label = source.to_string();
    let on_event = move |e: IdpEvent| match e {
        IdpEvent::Waiting { seconds, why } if seconds >= 1.0 => {
            eprintln!("{label}: waiting {seconds:.1} s ({why})")
        }
        IdpEvent::TokenRenewed => eprintln!("{label}: access token renewed"),
        _ => {}
    };
    read(&spec, &on_event).await
}

/// What a passed test of `source` says, a line each (without the source's name):
/// credentials, permissions, the app found, how many assignments and users. Printed
/// by `navscim sources test`, shown by the dashboard's sources list.
pub fn test_report(listing: &Listing) -> Vec<String> {
    let s = &listing.stats;
    let needed = match listing.provider {
        Provider::Entra => GRAPH_PERMISSIONS,
        Provider::Okta => "apps and app users readable",
    };
    let mut lines = vec![
        "credentials accepted".to_string(),
        format!("permissions: every request the listing needed was allowed (needs {needed})"),
        format!(
            "app {:?} found (id {}{})",
            listing.app.label,
            listing.app.id,
            listing
                .app
                .app_id
                .as_deref()
                .map(|a| format!(", appId {a}"))
                .unwrap_or_default()
        ),
        format!(
            "{} assignments ({} through groups) → {} users; {} requests, {} throttled",
            listing.assignments,
            listing.group_assignments,
            listing.users.len(),
            s.requests,
            s.throttled
        ),
    ];
    lines.extend(listing.warnings.iter().map(|w| format!("warning: {w}")));
    lines
}

/// One line about a listing (and one per warning), for stderr.
pub fn describe(listing: &Listing) -> String {
    let mut text = summary(listing);
    for w in &listing.warnings {
        text.push_str(&format!("\n{}: warning: {w}", listing.source));
    }
    text
}

fn summary(listing: &Listing) -> String {
    let disabled = listing
        .users
        .iter()
        .filter(|u| u.record.enabled == Some(false))
        .count();
    let s = &listing.stats;
    format!(
        "{}: app {:?} ({}) found; {} assignments ({} through groups) → {} users, {} disabled in {}; {} requests, {} throttled, {} paced",
        listing.source,
        listing.app.label,
        listing.app.id,
        listing.assignments,
        listing.group_assignments,
        listing.users.len(),
        disabled,
        listing.provider.label(),
        s.requests,
        s.throttled,
        s.paced,
    )
}

/// `navscim sources …`.
#[derive(Debug, Args)]
#[command(after_help = format!("{IDP_HELP}\n\n{SOURCES_EXIT}"))]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub command: SourcesCommand,
}

const SOURCES_EXIT: &str = "\
Exit codes: 0 every source answered and its app was found · 2 missing settings or secret,
the app not found · 3 credentials refused or a Graph permission / Okta role missing ·
4 network failure · 5 unexpected answer.";

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Sign in to each source, find its app and count its assignments (nothing is changed).
    Test(SourcesTestArgs),
}

#[derive(Debug, Args)]
pub struct SourcesTestArgs {
    /// Sources to test: okta:APP, entra:APP (default: the profile's saved sources).
    #[arg(long = "source", value_name = "okta:APP|entra:APP")]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub idp: IdpArgs,
    /// Save the settings (never the secrets) and the sources in the profile when every
    /// source passed.
    #[arg(long)]
    pub save: bool,
}

/// Runs `navscim sources test`; returns the exit code. `ca_file`: `--ca-file`.
pub async fn run_sources(profile: &str, ca_file: Option<&Path>, args: &SourcesArgs) -> i32 {
    let SourcesCommand::Test(args) = &args.command;
    let saved = match load_settings(profile) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("navscim sources: {e}");
            return 2;
        }
    };
    let mut settings = args.idp.settings(&saved);
    let values = if args.sources.is_empty() {
        saved.sources.clone()
    } else {
        args.sources.clone()
    };
    let (csv, sources) = match split_sources(&values) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("navscim sources: {e}");
            return 2;
        }
    };
    if !csv.is_empty() || sources.is_empty() {
        eprintln!(
            "navscim sources test: give --source okta:APP or --source entra:APP (files need no test)"
        );
        return 2;
    }
    let mut worst = 0;
    for source in &sources {
        match read_source(source, &settings, profile, ca_file).await {
            Ok(listing) => {
                for line in test_report(&listing) {
                    println!("{source}: {line}");
                }
            }
            Err(e) => {
                println!("{source}: FAILED: {e}");
                let code = e.exit_code();
                // The most serious failure decides: auth (3) > network (4) > server (5) > usage (2).
                let rank = |c: i32| match c {
                    3 => 4,
                    4 => 3,
                    5 => 2,
                    2 => 1,
                    _ => 0,
                };
                if rank(code) > rank(worst) {
                    worst = code;
                }
            }
        }
    }
    if args.save && worst == 0 {
        settings.sources = values;
        match save_settings(profile, &settings) {
            Ok(p) => eprintln!("navscim sources: saved in {} (no secrets)", p.display()),
            Err(e) => {
                eprintln!("navscim sources: {e}");
                return 2;
            }
        }
    }
    worst
}
