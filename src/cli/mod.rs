//! Command line: parse arguments, pick the TUI or a headless command.
//!
//! Exit codes (documented in the README):
//! 0 success · 1 failure (some work did not succeed) · 2 usage or configuration error ·
//! 3 authentication failure · 4 network or TLS failure · 5 unexpected server answer ·
//! 6 refused by a safety gate (nothing sent).

pub mod apply;
mod check;
pub mod error;
pub mod journal;
mod lookup;
mod plan;
pub mod shell;
pub mod signals;
pub mod tui;
pub mod workspace;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, TokenSource, DEFAULT_TOKEN_ENV};
use crate::scim::ErrorCategory;

pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const AUTH: i32 = 3;
    pub const NETWORK: i32 = 4;
    pub const SERVER: i32 = 5;
    /// A safety gate refused the change (read-only, threshold, protected user,
    /// DELETE) or it was not confirmed: nothing was sent.
    pub const REFUSED: i32 = 6;
}

/// `--rate-limit`: requests a second, a finite number from 0.01 (one request every
/// 100 s) to 100,000.
pub fn parse_rate_limit(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of requests per second"))?;
    if v.is_finite() && (0.01..=100_000.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{s} is out of range: give requests per second from 0.01 (one every 100 s) to 100000"
        ))
    }
}

/// `--max-percent`: a share in percent, 0 to 100.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of percent"))?;
    if v.is_finite() && (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{s} is out of range: give a percentage from 0 to 100"
        ))
    }
}

/// The exit code for a SCIM error's category.
/// (The one mapping: [`crate::error::ErrorKind::exit_code`].)
pub fn exit_code_for(category: ErrorCategory) -> i32 {
    crate::error::ErrorKind::from(category).exit_code()
}

#[derive(Debug, Parser)]
#[command(
    name = "navscim",
    version,
    about = "Who holds a LinkedIn Sales Navigator seat, who uses it, and taking seats back — over SCIM 2.0",
    after_help = "Exit codes: 0 success, 1 failure (some work did not succeed), 2 usage/configuration error, 3 authentication failure, 4 network/TLS failure, 5 unexpected server answer, 6 refused by a safety gate (nothing sent)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Commands>,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dashboard: DashboardArgs,
}

/// Options of the dashboard (`navscim` without a command).
#[derive(Debug, Clone, Args, Default)]
pub struct DashboardArgs {
    /// Load this CSV export at start and look its users up (repeatable).
    #[arg(long, value_name = "FILE")]
    pub load: Vec<PathBuf>,
    /// Treat two email domains as one company, e.g. corp-example.co.uk=corp.example (repeatable).
    #[arg(long, value_name = "ALIAS=CANONICAL")]
    pub domain_alias: Vec<String>,
    /// Take the mouse: the wheel scrolls, a click chooses a tab or a row (off by
    /// default, so the terminal's own selection works; also the profile's "mouse").
    #[arg(long)]
    pub mouse: bool,
    /// Colours from this theme file instead of theme.toml in the config directory
    /// (slots and values: see the README).
    #[arg(long, value_name = "PATH")]
    pub theme: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// The dashboard against the embedded simulators (no token needed): users from the
    /// simulated Okta and Entra ID, seats and usage from the sample exports.
    Demo(DemoArgs),
    /// Run the Sales Navigator SCIM simulator alone (prints its base URL first).
    Sim(crate::sim::cli::SimArgs),
    /// Test the connection and print what the server supports.
    Check(CheckArgs),
    /// Look users from CSV exports up over SCIM; write results (JSON or CSV) and a summary.
    Lookup(lookup::LookupArgs),
    /// Build a deprovision, reactivate or provision plan (JSON) from lookup results.
    Plan(plan::PlanArgs),
    /// Execute a plan: deactivate, reactivate or create users (read-only unless allowed).
    Apply(apply::ApplyArgs),
    /// List, show, resume, undo or export the batches navscim applied.
    Journal(journal::JournalArgs),
    /// Print the inventory and its trend from the workspace (no network).
    Report(workspace::ReportArgs),
    /// Identity-provider sources (Okta, Entra ID): test the connection, the app, the count.
    Sources(crate::idp::cli::SourcesArgs),
    /// Print a shell completion script (bash, zsh or fish), generated from the options.
    Completions {
        #[arg(value_enum)]
        shell: shell::CompletionShell,
    },
    /// Print the man page, navscim(1), in roff (`navscim man > navscim.1`).
    Man,
    /// Render each pane of the real app into PNG files (for the README and reviews).
    #[command(hide = true)]
    Screenshots(ScreenshotArgs),
}

/// Connection options, the same for every command that talks to a SCIM server.
#[derive(Debug, Clone, Args, Default)]
pub struct ConnectionArgs {
    /// Saved profile to use (default: the last used one).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// SCIM base URL; `/Users` etc. are appended (default https://api.linkedin.com/scim).
    #[arg(long, global = true)]
    pub base_url: Option<String>,
    /// Read the token from this environment variable (default NAVSCIM_TOKEN).
    #[arg(long, global = true, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Read the token from this file; refused if group or others can read it.
    #[arg(long, global = true, value_name = "PATH", conflicts_with_all = ["token_env", "token_command"])]
    pub token_file: Option<PathBuf>,
    /// Run this command (via sh -c) and use what it prints, e.g. a password manager's CLI.
    #[arg(long, global = true, value_name = "CMD", conflicts_with = "token_env")]
    pub token_command: Option<String>,
    /// Extra PEM CA certificates to trust (corporate TLS inspection).
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Allow creating and reactivating users (off: read-only).
    #[arg(long, global = true)]
    pub allow_provision: bool,
    /// Allow deactivating users (off: read-only).
    #[arg(long, global = true)]
    pub allow_deprovision: bool,
    /// The workspace (SQLite file) to use; default: the profile's, in the data directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub workspace: Option<PathBuf>,
    /// A label for the tenant (stored in the workspace; plans record it).
    #[arg(long, global = true, value_name = "LABEL")]
    pub tenant: Option<String>,
    /// Seconds to wait for a connection to the server (default 10).
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=300))]
    pub connect_timeout: Option<u64>,
    /// Seconds to wait for an answer to a request; a connection test gives up after
    /// this long in all (default 30).
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
}

impl ConnectionArgs {
    /// The client setup for a resolved profile, with the timeouts chosen here.
    pub fn client_setup(&self, profile: &config::Profile) -> crate::runtime::connect::ClientSetup {
        crate::runtime::connect::ClientSetup {
            timeout: self.timeout.map(std::time::Duration::from_secs),
            connect_timeout: self.connect_timeout.map(std::time::Duration::from_secs),
            ..crate::runtime::connect::ClientSetup::from_profile(profile)
        }
    }
}

impl ConnectionArgs {
    /// The profile these options start from: the named or last used one, else defaults.
    fn base_profile(&self) -> Result<(config::Profile, bool), String> {
        let file = config::load()?;
        if let Some(name) = &self.profile {
            return match config::pick_profile(&file, Some(name)) {
                Some(p) => Ok((p, true)),
                None => Err(format!("no saved profile named {name:?}")),
            };
        }
        Ok(match config::pick_profile(&file, None) {
            Some(p) => (p, true),
            None => (config::Profile::new_default(), false),
        })
    }

    /// Base URL and token source: flags win over the profile, which wins over defaults.
    pub fn resolve(&self) -> Result<(config::Profile, bool), String> {
        let (mut profile, saved) = self.base_profile()?;
        if let Some(url) = &self.base_url {
            profile.base_url = url.clone();
        }
        if let Some(path) = &self.token_file {
            profile.token = Some(TokenSource::File(path.clone()));
        } else if let Some(cmd) = &self.token_command {
            profile.token = Some(TokenSource::Command(cmd.clone()));
        } else if let Some(var) = &self.token_env {
            profile.token = Some(TokenSource::Env(var.clone()));
        } else if profile.token.is_none() {
            profile.token = Some(TokenSource::Env(DEFAULT_TOKEN_ENV.into()));
        }
        if self.ca_file.is_some() {
            profile.ca_file = self.ca_file.clone();
        }
        if let Some(label) = self
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            profile.tenant = Some(label.to_string());
        }
        Ok((profile, saved))
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Simulated latency of every SCIM request, in milliseconds.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub latency_ms: u64,
    /// Take the mouse: the wheel scrolls, a click chooses a tab or a row (off by
    /// default, so the terminal's own selection works).
    #[arg(long)]
    pub mouse: bool,
    /// Colours from this theme file instead of theme.toml in the config directory
    /// (slots and values: see the README).
    #[arg(long, value_name = "PATH")]
    pub theme: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScreenshotArgs {
    /// Directory to write the PNG files to.
    #[arg(long, default_value = "screenshots")]
    pub out: PathBuf,
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Some(Commands::Completions { shell }) => return shell::run(Some(shell)),
        Some(Commands::Man) => return shell::run(None),
        _ => {}
    }
    let _log_guard = init_logging();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        command = cli.command_name(),
        data_dir = %config::data_dir().display(),
        "navscim started"
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("navscim: cannot start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            None => tui::run_saved_profile(&cli.connection, &cli.dashboard).await,
            Some(Commands::Demo(args)) => tui::run_demo(&cli.connection, &args).await,
            Some(Commands::Sim(args)) => crate::sim::cli::run(args).await,
            Some(Commands::Check(args)) => check::run(&cli.connection, &args).await,
            Some(Commands::Lookup(args)) => lookup::run(&cli.connection, &args).await,
            Some(Commands::Plan(args)) => plan::run(&cli.connection, &args),
            Some(Commands::Apply(args)) => apply::run(&cli.connection, &args).await,
            Some(Commands::Journal(args)) => journal::run(&cli.connection, &args).await,
            Some(Commands::Report(args)) => workspace::run_report(&cli.connection, &args),
            Some(Commands::Sources(args)) => match cli.connection.resolve() {
                Ok((profile, _)) => {
                    crate::idp::cli::run_sources(&profile.name, profile.ca_file.as_deref(), &args)
                        .await
                }
                Err(e) => error::Report::named("sources").fail(error::CliError::usage(format!(
                    "configuration problem: {e}"
                ))),
            },
            Some(Commands::Screenshots(args)) => tui::screenshots(&args).await,
            Some(Commands::Completions { shell }) => shell::run(Some(shell)),
            Some(Commands::Man) => shell::run(None),
        }
    });
    tracing::info!(exit_code = code, "navscim finished");
    code
}

impl Cli {
    /// The subcommand's name, for the log (`dashboard` without one).
    fn command_name(&self) -> &'static str {
        match &self.command {
            None => "dashboard",
            Some(Commands::Demo(_)) => "demo",
            Some(Commands::Sim(_)) => "sim",
            Some(Commands::Check(_)) => "check",
            Some(Commands::Lookup(_)) => "lookup",
            Some(Commands::Plan(_)) => "plan",
            Some(Commands::Apply(_)) => "apply",
            Some(Commands::Journal(_)) => "journal",
            Some(Commands::Report(_)) => "report",
            Some(Commands::Sources(_)) => "sources",
            Some(Commands::Screenshots(_)) => "screenshots",
            Some(Commands::Completions { .. }) => "completions",
            Some(Commands::Man) => "man",
        }
    }
}

/// Logs go to a file in the data directory (never to the terminal the TUI draws on).
/// `NAVSCIM_LOG` sets the filter (default `info`).
fn init_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = config::data_dir().join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "navscim.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("NAVSCIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        // No secret reaches the log file, whatever a line quotes.
        .with_writer(crate::secret::ScrubbingMakeWriter(writer))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
