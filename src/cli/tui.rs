//! The dashboard commands: `navscim` (saved profile), `navscim demo`, and the
//! screenshot renderer that drives the same app headless.

use std::time::Duration;

use super::{exit, ConnectionArgs, DashboardArgs, DemoArgs, ScreenshotArgs};
use crate::app::connection::{ConnectionState, TokenSourceKind};
use crate::app::keys::Command;
use crate::app::state::State;
use crate::app::text_field::TextField;
use crate::app::users::sources::SourcesState;
use crate::app::{Action, ImportSource};
use crate::config::TokenSource;
use crate::runtime::colors::ColorSupport;
use crate::runtime::{self, Driver, Settings};
use crate::secret::Token;
use crate::sim::{self, SimConfig};

/// The simulator's demo token: not a secret, it only opens the embedded simulator.
const DEMO_TOKEN: &str = "navscim-demo";

/// No colour at all: `NO_COLOR`, or a terminal that shows none (`TERM=dumb`).
fn no_color() -> bool {
    !ColorSupport::from_env().has_color()
}

/// The state a fresh session starts from, with the command line's permissions.
fn initial_connection(conn: &ConnectionArgs) -> Result<ConnectionState, String> {
    let (profile, _saved) = conn.resolve()?;
    let mut state = ConnectionState::new(profile.name.clone(), profile.base_url.clone());
    match profile.token {
        Some(TokenSource::Env(var)) => {
            state.source_kind = TokenSourceKind::Env;
            state.env_var = TextField::new(var);
        }
        Some(TokenSource::File(path)) => {
            state.source_kind = TokenSourceKind::File;
            state.file_path = TextField::new(path.display().to_string());
        }
        Some(TokenSource::Command(cmd)) => {
            state.source_kind = TokenSourceKind::Command;
            state.command = TextField::new(cmd);
        }
        Some(TokenSource::Stored) => {
            // Read once at start; shown masked as a pasted token that is stored.
            match crate::config::resolve_token(&TokenSource::Stored, &profile.name) {
                Ok(token) => state.pasted = token,
                Err(e) => tracing::warn!("stored token unavailable: {e}"),
            }
            state.source_kind = TokenSourceKind::Paste;
            state.store_token = true;
        }
        Some(TokenSource::Pasted(_)) | None => state.source_kind = TokenSourceKind::Paste,
    }
    state.permissions.provisioning = conn.allow_provision;
    state.permissions.deprovisioning = conn.allow_deprovision;
    Ok(state)
}

/// A usage or configuration problem before the dashboard starts.
fn usage(message: impl std::fmt::Display) -> i32 {
    super::error::Report::plain(false).fail(super::error::CliError::usage(message))
}

pub async fn run_saved_profile(conn: &ConnectionArgs, dashboard: &DashboardArgs) -> i32 {
    let connection = match initial_connection(conn) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let mut aliases = crate::matching::DomainAliases::default();
    for spec in &dashboard.domain_alias {
        match crate::matching::DomainAliases::parse(spec) {
            Ok(parsed) => aliases.extend(&parsed),
            Err(e) => return usage(format!("--domain-alias {e}")),
        }
    }
    let mut state = State::new(connection, no_color());
    match crate::theme::load(dashboard.theme.as_deref(), &crate::config::config_dir()) {
        Ok(palette) => state.palette = palette,
        Err(e) => return usage(e),
    }
    state.users.aliases = aliases;
    // The profile's identity-provider connections (issue 12): read at start with the
    // files given, like `navscim lookup --source`.
    let profile = state.connection.profile.clone();
    match crate::idp::cli::load_settings(&profile) {
        Ok(saved) => {
            state.users.sources = SourcesState::from_settings(&profile, saved, true);
        }
        Err(e) => return usage(e),
    }
    match crate::config::load_protected(&[]) {
        Ok(protected) => state.actions.protected = protected,
        Err(e) => return usage(e),
    }
    // The profile's workspace (or --workspace): read before anything is looked up.
    match conn.workspace_path() {
        Ok(path) => state.workspace_path = Some(path),
        Err(e) => return usage(e),
    }
    state.tenant = conn.resolve().ok().and_then(|(p, _)| p.tenant);
    // Offer batches a crash or kill left unfinished.
    let mut initial = vec![Action::OpenWorkspace, Action::CheckJournal];
    let files: Vec<ImportSource> = dashboard
        .load
        .iter()
        .cloned()
        .map(ImportSource::Path)
        .collect();
    if !state.users.sources.connections.is_empty() {
        initial.push(Action::ReadSources { files });
    } else if !files.is_empty() {
        initial.push(Action::LoadFiles {
            sources: files,
            lookup_after: true,
        });
    }
    let settings = Settings {
        ca_file: conn.ca_file.clone(),
        clipboard: true,
        colors: ColorSupport::from_env(),
        timeout: conn.timeout.map(Duration::from_secs),
        connect_timeout: conn.connect_timeout.map(Duration::from_secs),
        mouse: dashboard.mouse || conn.resolve().is_ok_and(|(p, _)| p.mouse),
        ..Settings::default()
    };
    finish(runtime::run_tui(state, settings, initial).await)
}

/// The simulator configuration of `navscim demo`, seeded from the embedded fixtures.
pub fn demo_sim_config(latency: Duration) -> SimConfig {
    SimConfig {
        token: DEMO_TOKEN.into(),
        seed_csv: Some(crate::import::demo::SALESNAV_USERS_CSV.to_string()),
        latency,
        jitter: latency / 2,
        ..SimConfig::default()
    }
}

/// What the demo does first: test the connection, read the users assigned the app in
/// the simulated Okta and Entra ID (the sources list's connections, see
/// [`demo_sources`]) with the Sales Navigator export and the usage report, in one
/// load, and look every user up, so a newcomer sees the table fill in live. Without
/// any identity-provider connection (the simulators did not start) the demo Okta
/// export (CSV) stands in for them.
pub fn demo_actions(state: &State) -> Vec<Action> {
    use crate::import::demo;
    let mut files = Vec::new();
    if state.users.sources.connections.is_empty() {
        files.push(ImportSource::Embedded {
            name: demo::IDP_OKTA_NAME,
            text: demo::IDP_OKTA_CSV,
        });
    }
    files.push(ImportSource::Embedded {
        name: demo::SALESNAV_USERS_NAME,
        text: demo::SALESNAV_USERS_CSV,
    });
    files.push(ImportSource::Embedded {
        name: demo::USAGE_NAME,
        text: demo::USAGE_CSV,
    });
    vec![
        Action::Command(Command::TestConnection),
        Action::ReadSources { files },
    ]
}

/// The demo's sources list: the app "LinkedIn Sales Navigator" in the embedded Okta
/// and Entra ID simulators that started, with their demo credentials (which open only
/// those simulators; held for the session, never saved).
pub fn demo_sources(sims: &crate::sim::idp::DemoSims) -> SourcesState {
    use crate::idp::cli::{EntraSettings, IdpSettings, OktaSettings};
    use crate::sim::idp::{entra, okta};
    let mut settings = IdpSettings::default();
    if let Some(h) = &sims.okta {
        settings.okta = Some(OktaSettings {
            org_url: h.base_url().to_string(),
            token: TokenSource::Pasted(Token::new(okta::DEMO_TOKEN)),
            bearer: false,
        });
        settings
            .sources
            .push(format!("okta:{}", okta::SALESNAV_APP_LABEL));
    }
    if let Some(h) = &sims.entra {
        settings.entra = Some(EntraSettings {
            tenant: entra::DEMO_TENANT.into(),
            client_id: entra::DEMO_CLIENT_ID.into(),
            secret: TokenSource::Pasted(Token::new(entra::DEMO_SECRET)),
            login_url: Some(h.base_url().to_string()),
            graph_url: Some(format!("{}/v1.0", h.base_url())),
        });
        settings
            .sources
            .push(format!("entra:{}", entra::SALESNAV_DISPLAY_NAME));
    }
    SourcesState::from_settings("demo", settings, false)
}

/// The dashboard's state when pointed at a demo simulator at `base_url`.
pub fn demo_state(base_url: &str, conn: &ConnectionArgs) -> State {
    let mut connection = ConnectionState::new("demo", base_url);
    connection.demo = true;
    connection.source_kind = TokenSourceKind::Paste;
    connection.pasted = Token::new(DEMO_TOKEN);
    connection.permissions.provisioning = conn.allow_provision;
    connection.permissions.deprovisioning = conn.allow_deprovision;
    State::new(connection, no_color())
}

pub async fn run_demo(conn: &ConnectionArgs, args: &DemoArgs) -> i32 {
    let sim = match sim::start(demo_sim_config(Duration::from_millis(args.latency_ms))).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("navscim: cannot start the embedded simulator: {e}");
            return exit::FAILURE;
        }
    };
    // The identity-provider simulators (issue 12): the Users pane's sources.
    let idp_sims = crate::sim::idp::start_demo().await;
    let mut state = demo_state(sim.base_url(), conn);
    match crate::theme::load(args.theme.as_deref(), &crate::config::config_dir()) {
        Ok(palette) => state.palette = palette,
        Err(e) => {
            idp_sims.shutdown().await;
            sim.shutdown().await;
            return usage(e);
        }
    }
    state.users.sources = demo_sources(&idp_sims);
    // The demo's batches change only the embedded simulator, which is gone at exit:
    // journal them apart from the admin's real journal, and clean up after.
    let journal_dir = demo_journal_dir();
    let settings = Settings {
        clipboard: true,
        colors: ColorSupport::from_env(),
        journal_dir: Some(journal_dir.clone()),
        mouse: args.mouse,
        ..Settings::default()
    };
    // The demo's workspace: a temporary one (removed at exit) unless --workspace names
    // one; the dashboard opens it, reads it and writes to it.
    let (workspace, temp_workspace) = super::workspace::demo_workspace(conn);
    state.workspace_path = Some(workspace);
    state.tenant = conn.tenant.clone();
    let mut initial = vec![Action::OpenWorkspace];
    initial.extend(demo_actions(&state));
    let result = runtime::run_tui(state, settings, initial).await;
    idp_sims.shutdown().await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&journal_dir);
    if let Some(dir) = temp_workspace {
        let _ = std::fs::remove_dir_all(dir);
    }
    finish(result)
}

/// A journal directory of this demo process only.
fn demo_journal_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("navscim-demo-journal-{}", std::process::id()))
}

fn finish(result: std::io::Result<()>) -> i32 {
    match result {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("navscim: terminal error: {e}");
            exit::FAILURE
        }
    }
}

/// Drives the real app (reducer, effects, simulator) headless and writes each pane.
pub async fn screenshots(args: &ScreenshotArgs) -> i32 {
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("navscim: {}: {e}", args.out.display());
        return exit::USAGE;
    }
    let sim = match sim::start(demo_sim_config(Duration::ZERO)).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("navscim: cannot start the embedded simulator: {e}");
            return exit::FAILURE;
        }
    };
    let idp_sims = crate::sim::idp::start_demo().await;
    let mut state = demo_state(sim.base_url(), &ConnectionArgs::default());
    state.users.sources = demo_sources(&idp_sims);
    state.no_color = false;
    let (w, h) = (120, 32);
    let journal_dir = demo_journal_dir();
    let settings = Settings {
        journal_dir: Some(journal_dir.clone()),
        ..Settings::default()
    };
    let mut driver = Driver::new(state, settings);
    driver.dispatch(Action::Resize(w, h));
    for action in demo_actions(&driver.state) {
        driver.dispatch(action);
    }
    let mut written = Vec::new();
    let mut shot = |driver: &Driver, name: &str| {
        let path = args.out.join(format!("{name}.png"));
        match crate::ui::screenshot::write_png(&driver.render(w, h), &path) {
            Ok(()) => written.push(path),
            Err(e) => eprintln!("navscim: {}: {e}", path.display()),
        }
    };
    // Mid-lookup: the table filling in live.
    driver.dispatch(Action::Command(Command::GoTab(1)));
    while driver.step().await {
        let p = &driver.state.users.progress;
        if p.running && p.done * 5 >= p.total * 2 {
            break;
        }
    }
    shot(&driver, "users-lookup");
    driver.settle().await;
    // Triage: the unmatched users, then one user's details.
    driver.dispatch(Action::Command(Command::CycleStatusFilter));
    driver.dispatch(Action::Command(Command::Down));
    driver.dispatch(Action::Command(Command::Mark));
    shot(&driver, "users-triage");
    while driver.state.users.status_filter != crate::app::users::StatusFilter::Ambiguous {
        driver.dispatch(Action::Command(Command::CycleStatusFilter));
    }
    driver.dispatch(Action::Command(Command::Details));
    shot(&driver, "users-details");
    driver.dispatch(Action::Command(Command::Close));
    driver.dispatch(Action::Command(Command::GoTab(0)));
    shot(&driver, "connection");
    driver.dispatch(Action::Command(Command::Help));
    shot(&driver, "help");
    driver.dispatch(Action::Command(Command::Close));
    // Usage: the idle users marked, most idle first.
    driver.dispatch(Action::Command(Command::GoTab(2)));
    driver.dispatch(Action::Command(Command::CycleStatusFilter));
    driver.dispatch(Action::Command(Command::Sort));
    driver.dispatch(Action::Command(Command::MarkIdle));
    driver.dispatch(Action::Command(Command::Top));
    driver.dispatch(Action::Command(Command::Down));
    driver.dispatch(Action::Command(Command::Down));
    shot(&driver, "usage");
    // Actions: the marked idle users as a deactivation plan, with evidence; over the
    // default limit of 50, so the gates say what to do.
    driver.dispatch(Action::Command(Command::SendToActions));
    driver.settle().await;
    shot(&driver, "actions-plan");
    // Tick Deprovisioning the way an admin does, then x and the typed count.
    driver.dispatch(Action::Command(Command::GoTab(0)));
    for _ in 0..10 {
        if driver.state.connection.focus == crate::app::connection::ConnField::Deprovisioning {
            break;
        }
        driver.dispatch(Action::Command(Command::Down));
    }
    driver.dispatch(Action::Command(Command::Toggle));
    driver.dispatch(Action::Command(Command::GoTab(3)));
    driver.dispatch(Action::Command(Command::RaiseLimits));
    driver.dispatch(Action::Command(Command::ApplyPlan));
    let count = driver
        .state
        .actions
        .review
        .as_ref()
        .map_or(0, |r| r.to_do())
        .to_string();
    for c in count.chars() {
        driver.dispatch(Action::Key(ratatui::crossterm::event::KeyEvent::new(
            ratatui::crossterm::event::KeyCode::Char(c),
            ratatui::crossterm::event::KeyModifiers::NONE,
        )));
    }
    driver.dispatch(Action::Command(Command::SwitchFocus));
    shot(&driver, "actions-confirm");
    driver.dispatch(Action::Command(Command::EditCommit));
    while driver.step().await {
        let half = driver
            .state
            .actions
            .batch
            .as_ref()
            .is_some_and(|b| b.done() * 2 >= b.total());
        if half {
            break;
        }
    }
    shot(&driver, "actions-progress");
    driver.settle().await;
    sim.shutdown().await;
    idp_sims.shutdown().await;
    let _ = std::fs::remove_dir_all(&journal_dir);
    for path in &written {
        println!("{}", path.display());
    }
    if written.len() == 9 {
        exit::SUCCESS
    } else {
        exit::FAILURE
    }
}
