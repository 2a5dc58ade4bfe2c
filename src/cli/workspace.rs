//! The workspace on the command line: which one a command uses (`--workspace`,
//! default the profile's), the tenant stamped on plans, and `navscim report`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{exit, ConnectionArgs};
use crate::plan::PlanTarget;
use crate::workspace::{self, render_report, ReportFormat, Workspace, WorkspaceError};

impl ConnectionArgs {
    /// The workspace this command uses: `--workspace`, else the profile's
    /// ([`workspace::default_path`]).
    pub fn workspace_path(&self) -> Result<PathBuf, String> {
        if let Some(p) = &self.workspace {
            return Ok(p.clone());
        }
        let (profile, _) = self.resolve()?;
        Ok(workspace::default_path(&profile.name))
    }
}

/// Opens the command's workspace for writing (taking its lock) and stores `--tenant`
/// when given. The error is the message to print.
pub fn open_for_writing(conn: &ConnectionArgs) -> Result<Workspace, String> {
    let path = conn.workspace_path()?;
    let mut ws = Workspace::open(&path).map_err(|e| headless_open_error(&e))?;
    if let Some(label) = conn
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let mut settings = ws.settings().map_err(|e| e.to_string())?;
        if settings.tenant.as_deref() != Some(label) {
            settings.tenant = Some(label.to_string());
            ws.set_settings(&settings).map_err(|e| e.to_string())?;
        }
    }
    Ok(ws)
}

/// What a headless command says when the workspace could not be opened. A damaged
/// file, or one from a newer navscim, was moved aside: the command does not go on with
/// a new workspace (the dashboard does), so it says what the next one does instead of
/// "a new workspace will be started".
fn headless_open_error(e: &WorkspaceError) -> String {
    const NEXT: &str = "the next command that writes to the workspace starts a new one there";
    match e {
        WorkspaceError::Corrupt {
            path,
            reason,
            kept_as,
        } => format!("workspace {path} is damaged ({reason}); it was kept as {kept_as}; {NEXT}"),
        WorkspaceError::Newer {
            path,
            found,
            supported,
            kept_as: Some(kept_as),
        } => format!(
            "workspace {path} was written by a newer navscim (schema version {found}; this \
             navscim knows up to {supported}); it was kept as {kept_as} for that navscim; {NEXT}"
        ),
        other => other.to_string(),
    }
}

/// The tenant a plan built now is for: the resolved base URL and profile, and the
/// tenant label (`--tenant`, else the workspace's, when it can be read).
pub fn plan_target(conn: &ConnectionArgs) -> Result<PlanTarget, String> {
    let (profile, _) = conn.resolve()?;
    // `--tenant` (already in the resolved profile), the profile's, else the workspace's.
    let tenant = match profile.tenant.clone() {
        Some(t) => Some(t),
        None => conn
            .workspace_path()
            .ok()
            .filter(|p| p.exists())
            .and_then(|p| Workspace::open_read_only(&p).ok())
            .and_then(|ws| ws.settings().ok())
            .and_then(|s| s.tenant),
    };
    Ok(PlanTarget {
        server: profile.base_url,
        profile: profile.name,
        tenant,
    })
}

/// `navscim demo`'s workspace: `--workspace PATH` when given, else a new one in a
/// directory of this process under the temporary directory (returned too, to remove
/// at exit), so the demo never touches the admin's workspaces. The dashboard opens it.
pub fn demo_workspace(conn: &ConnectionArgs) -> (PathBuf, Option<PathBuf>) {
    if let Some(path) = &conn.workspace {
        return (path.clone(), None);
    }
    let dir = std::env::temp_dir().join(format!("navscim-demo-workspace-{}", std::process::id()));
    (dir.join("demo.sqlite"), Some(dir))
}

/// `navscim report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Json,
    Csv,
    Markdown,
}

const REPORT_HELP: &str = "\
Reads the workspace read-only: no token, no network, no lock (--save-seat-cost also
stores the seat cost in it, and then needs the workspace free). JSON: {workspace, tenant, generated_at,
oldest_check, current: {users, by_status, active, inactive, orphan_seats, idle},
seats_reclaimed, seats_restored, seat_cost, estimated_yearly_saving, history: [one
snapshot per lookup run and per batch: at, kind (lookup | refresh | batch), batch,
server, the same counts, seats_reclaimed, seats_restored]}. CSV: one row per snapshot
and a last `current` row. Markdown: the inventory, the trend and the saving.

The estimated yearly saving is seat cost × (seats reclaimed − seats restored).";

#[derive(Debug, Args)]
#[command(after_help = REPORT_HELP)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: FormatArg,
    /// What one seat costs a year (any currency): turns reclaimed seats into an
    /// estimated yearly saving (default: the one stored in the workspace).
    #[arg(long, value_name = "AMOUNT")]
    pub seat_cost: Option<f64>,
    /// Store --seat-cost in the workspace for later reports.
    #[arg(long, requires = "seat_cost")]
    pub save_seat_cost: bool,
}

/// `navscim report`.
pub fn run_report(conn: &ConnectionArgs, args: &ReportArgs) -> i32 {
    let fail = |code: i32, msg: &dyn std::fmt::Display| {
        eprintln!("navscim report: {msg}");
        code
    };
    if let Some(c) = args.seat_cost {
        if !c.is_finite() || c < 0.0 {
            return fail(
                exit::USAGE,
                &format!("--seat-cost must be a positive amount, not {c}"),
            );
        }
    }
    let path = match conn.workspace_path() {
        Ok(p) => p,
        Err(e) => return fail(exit::USAGE, &e),
    };
    if !path.exists() {
        return fail(
            exit::USAGE,
            &WorkspaceError::Missing(path.display().to_string()),
        );
    }
    // Only --save-seat-cost writes; otherwise a read-only view, without the lock, so a
    // dashboard or lookup starting meanwhile is never turned away by a report.
    let ws = if args.save_seat_cost {
        open_for_writing(conn).map_err(|e| e.to_string())
    } else {
        match Workspace::open_read_only(&path) {
            // An older schema is upgraded once by a writing open (when free).
            Err(WorkspaceError::Storage { message, .. }) if message.contains("needs upgrading") => {
                Workspace::open_shared(&path).map_err(|e| e.to_string())
            }
            other => other.map_err(|e| e.to_string()),
        }
    };
    let mut ws = match ws {
        Ok(ws) => ws,
        Err(e) => return fail(exit::USAGE, &e),
    };
    if args.save_seat_cost {
        let saved = ws.settings().and_then(|mut s| {
            s.seat_cost = args.seat_cost;
            ws.set_settings(&s)
        });
        if let Err(e) = saved {
            return fail(exit::FAILURE, &e);
        }
    }
    let inventory = match ws.inventory(args.seat_cost) {
        Ok(i) => i,
        Err(e) => return fail(exit::FAILURE, &e),
    };
    let format = match args.format {
        FormatArg::Json => ReportFormat::Json,
        FormatArg::Csv => ReportFormat::Csv,
        FormatArg::Markdown => ReportFormat::Markdown,
    };
    print!("{}", render_report(&inventory, format));
    exit::SUCCESS
}

pub use crate::workspace::parse_age;

#[cfg(test)]
mod tests {
    use super::{demo_workspace, parse_age, ConnectionArgs};

    #[test]
    fn the_demo_uses_a_temporary_workspace_unless_one_is_named() {
        let (path, temp) = demo_workspace(&ConnectionArgs::default());
        let temp = temp.expect("a temporary directory to remove at exit");
        assert!(path.starts_with(&temp));
        assert!(temp.starts_with(std::env::temp_dir()));

        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("mine.sqlite");
        let conn = ConnectionArgs {
            workspace: Some(named.clone()),
            ..ConnectionArgs::default()
        };
        let (path, temp) = demo_workspace(&conn);
        assert_eq!((path, temp), (named, None));
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("24h").unwrap().as_secs(), 86_400);
        assert_eq!(parse_age("90m").unwrap().as_secs(), 5_400);
        assert_eq!(parse_age("2d").unwrap().as_secs(), 172_800);
        assert_eq!(parse_age("5").unwrap().as_secs(), 18_000);
        assert!(parse_age("3w").is_err());
        assert!(parse_age("h").is_err());
    }
}
