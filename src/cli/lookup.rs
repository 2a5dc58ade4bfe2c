//! `navscim lookup FILE.csv…`: import the exports, merge them into one user list, look
//! every user up over SCIM, write the results (JSON or CSV) and a one-line summary.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use clap::{Args, ValueEnum};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::{CliError, Report};
use super::signals::Interrupts;
use super::{exit, ConnectionArgs};
use crate::app::connection::ConnectionFailure;
use crate::import::{
    import_path, parse_map_override, FileKind, Import, ImportError, ImportOptions, MappingOverride,
    NeedsMapping, ProblemKind,
};
use crate::lookup::{run_batch, LookupEvent, LookupJob, LookupOptions, Unsupported, BREAKER_AFTER};
use crate::matching::{
    identity_key, DirUser, Directory, DomainAliases, LookupKind, LookupOutcome, Presence,
};
use crate::report::{ReportFormat, ReportWriter, UserReport};
use crate::runtime::connect::{connect, ClientSetup};
use crate::sanitize::for_terminal;
use crate::scim::{Breaker, ErrorCategory, ScimError};
use crate::workspace::{OutcomeRow, SnapshotKind, SourceChanges, Workspace};

const EXIT_CODES: &str = "\
Exit codes:
  0  every user reached a final status (matched, not found, ambiguous or ignored) and
     no lookup failed
  1  some users ended in `error` (the server failed or answered in a way that cannot
     be believed, or the run was interrupted: Ctrl-C or SIGTERM once stops the
     lookups, twice stops waiting for those in flight) or in `conflict` (a SCIM user
     found by one identifier that another contradicts, two users on one SCIM user, one
     seat id for different people: resolve them before planning), or the run stopped
     early: after repeated consecutive server failures (a spent daily quota, a failure
     storm) or a Retry-After longer than navscim waits, with the server's own message;
     the results are still written, users not looked up as `error`
  2  usage or input problem: bad option, unreadable or unmappable CSV, no token
  3  authentication failure: the server refused the token (the batch stops at the
     first 401/403; users not looked up are written as `error`)
  4  network failure: the server could not be reached at the start";

const AFTER_HELP: &str = "\
Files: identity-provider exports (Okta, Entra ID, any user list) and the Sales Navigator
user export, in any mix; users are merged by email (see --domain-alias). Users in the Sales
Navigator export but in none of the identity-provider files are orphan seats.

Output: --out results.json or results.csv (by extension, or --format); without --out the
results go to stdout (JSON unless --format csv), written while the lookups run, in the
order of the merged user list. Each user has key, email, user_name, external_id, name,
status (matched | not_found | ambiguous | conflict | error | ignored), active, scim_id,
scim_user_name, scim_created, scim_external_id, matched_by, orphan, presence, is_admin,
license_status, sources [{file, line}], candidates, warnings, detail (why) and attempts
(JSON; the CSV has the main columns). The same shape as the Users pane's export; both
are inputs of navscim plan --lookup. Progress and the summary go to stderr.

--map FIELD=COLUMN,… applies to every file; --map FILE:FIELD=COLUMN,… to one file (FILE
as given on the command line, or its file name). Quote column names with spaces:
  --map 'okta.csv:email=\"Work Email\",employee_id=#7'
";

/// Where results go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Json,
    Csv,
}

#[derive(Debug, Args)]
#[command(after_help = format!("{AFTER_HELP}\n{}\n\n{EXIT_CODES}", crate::idp::cli::IDP_HELP))]
pub struct LookupArgs {
    /// CSV exports to read: identity-provider assignments and/or the Sales Navigator
    /// user export.
    #[arg(value_name = "FILE.csv", required_unless_present_any = ["refresh_stale", "sources"])]
    pub files: Vec<PathBuf>,
    /// A source of users: okta:APP or entra:APP (the app's id or label: its assigned
    /// users are read from the identity provider), or a CSV file (repeatable).
    #[arg(long = "source", value_name = "okta:APP|entra:APP|FILE.csv")]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub idp: crate::idp::cli::IdpArgs,
    /// Users looked up at once (also the client's limit of requests in flight).
    #[arg(long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=512))]
    pub concurrency: u32,
    /// Requests started per second at most (default: unlimited; 429s are retried).
    #[arg(long, value_name = "R", value_parser = super::parse_rate_limit)]
    pub rate_limit: Option<f64>,
    /// Lookups to try, in order. A SCIM id known from --ids is always tried first.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "KINDS",
        default_value = "external_id,user_name,email"
    )]
    pub precedence: Vec<String>,
    /// Column choices: FIELD=COLUMN,… for every file, or FILE:FIELD=COLUMN,… for one.
    #[arg(long, value_name = "[FILE:]FIELD=COLUMN,…")]
    pub map: Vec<String>,
    /// Email domains that are the same company, e.g. corp-example.co.uk=corp.example.
    #[arg(long, value_name = "ALIAS=CANONICAL")]
    pub domain_alias: Vec<String>,
    /// Write the results to this file (.json or .csv).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format (default: from the --out extension, else JSON).
    #[arg(long, value_enum)]
    pub format: Option<OutFormat>,
    /// Users not to look up (reported as `ignored`): emails or external ids.
    #[arg(long, value_delimiter = ',', value_name = "EMAIL")]
    pub ignore: Vec<String>,
    /// The JSON results of an earlier run: users matched then are checked first by their
    /// SCIM id (GET /Users/{id}), falling back to the precedence if the id is gone.
    #[arg(long, value_name = "RESULTS.json")]
    pub ids: Option<PathBuf>,
    /// Look up again only the workspace's users checked longer ago than --stale-after
    /// (or never), by their stored SCIM id first (one GET /Users/{id} each); no files.
    #[arg(long, conflicts_with_all = ["files", "ids"])]
    pub refresh_stale: bool,
    /// How old a result may be before --refresh-stale looks it up again, e.g. 24h,
    /// 90m, 3d (default: the workspace's setting, 24h).
    #[arg(long, value_name = "AGE", requires = "refresh_stale")]
    pub stale_after: Option<String>,
}

/// Everything settled from the arguments before any file is read.
struct Plan {
    precedence: Vec<LookupKind>,
    aliases: DomainAliases,
    format: OutFormat,
    global_map: Option<MappingOverride>,
    file_maps: Vec<(String, MappingOverride)>,
}

fn usage(msg: impl std::fmt::Display) -> i32 {
    Report::named("lookup").fail(CliError::usage(msg))
}

pub async fn run(conn: &ConnectionArgs, args: &LookupArgs) -> i32 {
    // SIGINT (Ctrl-C) and SIGTERM, from the start: the first stops the batch, the
    // second stops waiting for the lookups in flight; both write the results file.
    let mut interrupts = Interrupts::new();
    let plan = match plan(args) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };

    // ---- the workspace: outcomes are written into it as they arrive
    let mut ws = match super::workspace::open_for_writing(conn) {
        Ok(ws) => ws,
        Err(e) => return usage(e),
    };
    let decisions = match ws.load_decisions() {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    // The domain aliases in force are the workspace's settings too.
    if !args.domain_alias.is_empty() {
        let stored = ws.settings().and_then(|mut s| {
            s.domain_aliases = args.domain_alias.clone();
            ws.set_settings(&s)
        });
        if let Err(e) = stored {
            return usage(e);
        }
    }

    // ---- read and merge the files and the identity-provider sources (or, with
    // --refresh-stale, the stale users)
    let (csv_sources, idp_sources) = match crate::idp::cli::split_sources(&args.sources) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let mut imports: Vec<Import> = Vec::new();
    let mut source_changes = Vec::new();
    for path in args.files.iter().chain(&csv_sources) {
        let options = ImportOptions {
            mapping: mapping_for(&plan, path),
            ..ImportOptions::default()
        };
        match import_path(path, &options) {
            Ok(import) => {
                report_import(&import);
                match remember_source(&mut ws, path, &import, &plan.aliases) {
                    Ok(Some(changes)) => source_changes.push(changes),
                    Ok(None) => {}
                    Err(e) => return usage(e),
                }
                if import.detection.format.kind() == FileKind::Usage {
                    eprintln!(
                        "{}: a usage report adds no users; it is not used by lookup (kept in the workspace)",
                        import.file
                    );
                    continue;
                }
                imports.push(import);
            }
            Err(ImportError::NeedsMapping(nm)) => {
                eprintln!("{}", for_terminal(&needs_mapping_message(&nm, path)));
                return exit::USAGE;
            }
            Err(e) => return usage(e),
        }
    }
    for c in &source_changes {
        eprintln!("{}", c.summary());
        // Who: each user added, gone (a leaver?) and changed, as the dashboard's
        // message log lists them.
        for line in crate::app::workspace::source_change_lines(c) {
            eprintln!("  {}", for_terminal(&line));
        }
    }
    if !idp_sources.is_empty() {
        let (profile, ca_file) = match conn.resolve() {
            Ok((p, _)) => (p.name, p.ca_file),
            Err(e) => return usage(format!("configuration problem: {e}")),
        };
        let settings = match crate::idp::cli::load_settings(&profile) {
            Ok(saved) => args.idp.settings(&saved),
            Err(e) => return usage(e),
        };
        for source in &idp_sources {
            match crate::idp::cli::read_source(source, &settings, &profile, ca_file.as_deref())
                .await
            {
                Ok(listing) => {
                    eprintln!("{}", crate::idp::cli::describe(&listing));
                    imports.push(listing.to_import());
                }
                Err(e) => {
                    return Report::named("lookup")
                        .fail(CliError::new(e.exit_code(), e.to_string()))
                }
            }
        }
    }
    let mut directory = if args.refresh_stale {
        match stale_directory(&ws, args) {
            Ok(d) => d,
            Err(e) => return usage(e),
        }
    } else {
        Directory::build(&imports, &plan.aliases)
    };
    if directory.is_empty() && !args.refresh_stale {
        return usage("the files hold no users to look up");
    }
    if let Some(path) = &args.ids {
        match stored_ids(path) {
            Ok(ids) => {
                for u in &mut directory.users {
                    if let Some(id) = ids.get(&u.key) {
                        u.stored_scim_id = Some(id.clone());
                    }
                }
            }
            Err(e) => return usage(e),
        }
    }
    // Hand links made in the workspace: the linked SCIM id is checked first.
    let mut precedence = plan.precedence.clone();
    for u in &mut directory.users {
        if let Some(id) = decisions.links.get(&u.key) {
            u.stored_scim_id = Some(id.clone());
            if !precedence.contains(&LookupKind::StoredId) {
                precedence.insert(0, LookupKind::StoredId);
            }
        }
    }
    if !args.refresh_stale {
        if let Err(e) = ws.replace_users(&directory) {
            return usage(e);
        }
    }
    // Everything needed is in the directory now: free the records before the lookups.
    drop(imports);

    // ---- connection
    let (profile, _) = match conn.resolve() {
        Ok(p) => p,
        Err(e) => return usage(format!("configuration problem: {e}")),
    };
    let setup = ClientSetup {
        concurrency: Some(args.concurrency as usize),
        rate_limit: args.rate_limit,
        ..conn.client_setup(&profile)
    };
    let client = match connect(setup).await {
        Ok(c) => c,
        // Every connection problem before the first request is a usage problem here.
        Err(e) => return usage(CliError::from(e).message),
    };

    let cancel = CancellationToken::new();

    // One harmless request first: an unreachable server or a refused token ends the
    // run before any user is looked up. (It touches no user and no filter.) A server
    // that is out of quota (429 after every retry, or a far Retry-After) stops the run
    // here too: every user is written as `error` with the server's own words.
    let started = Instant::now();
    let mut preflight_stop: Option<String> = None;
    let probe = client.guarded(cancel.clone(), Some(Breaker::new(Some(BREAKER_AFTER))));
    let preflight = tokio::select! {
        r = probe.service_provider_config() => Some(r),
        _ = interrupts.recv() => None,
    };
    match preflight {
        None => preflight_stop = Some("the run was interrupted".into()),
        Some(Err(e)) => {
            let code = match e.category() {
                ErrorCategory::Auth => Some(exit::AUTH),
                ErrorCategory::Network => Some(exit::NETWORK),
                _ => None, // a server without it, or odd about it: the lookups will tell
            };
            if let Some(code) = code {
                let f = ConnectionFailure::from_scim(&e);
                let message = format!("{}: {}", f.headline, f.detail);
                return Report::named("lookup").fail(CliError::new(code, message));
            }
            if matches!(
                e,
                ScimError::RateLimited { .. }
                    | ScimError::WaitTooLong { .. }
                    | ScimError::Stopped { .. }
            ) {
                preflight_stop = Some(e.to_string());
            }
        }
        Some(Ok(_)) => {}
    }

    // ---- look everyone up
    let ignore: HashSet<String> = args
        .ignore
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .flat_map(|v| [v.to_string(), identity_key(v, &plan.aliases)])
        .collect();
    let is_ignored = |u: &DirUser| {
        ignore.contains(&u.key)
            || decisions.ignores.contains_key(&u.key)
            || u.external_id().is_some_and(|e| ignore.contains(e))
            || u.idp_id.as_deref().is_some_and(|e| ignore.contains(e))
    };
    let ignored: Vec<bool> = directory.users.iter().map(is_ignored).collect();
    // `--ignore` is the admin's decision: kept in the workspace like the dashboard's
    // `i`, so the workspace, `report` and `plan --from-workspace` agree with --out.
    // One transaction for all of them.
    let newly_ignored: Vec<&str> = directory
        .users
        .iter()
        .zip(&ignored)
        .filter(|(u, &i)| i && !decisions.ignores.contains_key(&u.key))
        .map(|(u, _)| u.key.as_str())
        .collect();
    if !newly_ignored.is_empty() {
        if let Err(e) = ws.set_ignored_all(&newly_ignored, Some("ignored with --ignore")) {
            return usage(e);
        }
    }
    let to_look_up: Vec<usize> = if preflight_stop.is_some() {
        Vec::new()
    } else {
        (0..directory.len()).filter(|&i| !ignored[i]).collect()
    };
    let progress = progress_bar(to_look_up.len() as u64);

    // Results are written while the lookups run, in the directory's order: an outcome
    // waits only until every user before it is written, so at most a few outcomes are
    // held at a time, not 100,000.
    let mut output = match Output::create(args.out.as_deref(), plan.format) {
        Ok(o) => o,
        Err(e) => return usage(e),
    };
    let directory = Arc::new(directory);
    // Jobs are made when a worker asks for one, not all up front.
    let jobs = {
        let directory = directory.clone();
        to_look_up
            .into_iter()
            .map(move |i| LookupJob::new(i, &directory.users[i]))
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = LookupOptions {
        precedence,
        concurrency: args.concurrency as usize,
        aliases: plan.aliases.clone(),
    };
    let batch = tokio::spawn(run_batch(
        client.clone(),
        jobs,
        options,
        Unsupported::default(),
        cancel.clone(),
        tx,
    ));
    let mut results = Results {
        dir: &directory,
        ignored: &ignored,
        waiting: HashMap::new(),
        next: 0,
        counts: Counts::default(),
    };
    let mut interrupted = preflight_stop.as_deref() == Some("the run was interrupted");
    let mut abandoned = false;
    let mut saved = Saved::default();
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                let mut next = Some(event);
                // Everything that has arrived goes into one workspace transaction.
                while let Some(event) = next {
                    if let LookupEvent::Finished(i, outcome) = event {
                        saved.add(&directory.users[i].key, &outcome);
                        // Held until the batch ends: a conflict (two users on one SCIM
                        // user) shows only across users, and must reach every row.
                        results.waiting.insert(i, outcome);
                        if let Some(p) = &progress { p.inc(1); }
                    }
                    next = rx.try_recv().ok();
                }
                saved.flush(&mut ws);
            },
            n = interrupts.recv() => {
                interrupted = true;
                cancel.cancel();
                if n >= 2 {
                    // Second interrupt: stop waiting for the lookups in flight; the
                    // results file is still written, with them as `error`.
                    abandoned = true;
                    break;
                }
                if let Some(p) = &progress {
                    p.set_message("interrupted: finishing the lookups in flight (again to stop at once)");
                } else {
                    eprintln!("navscim lookup: interrupted: finishing the lookups in flight (interrupt again to stop at once)");
                }
            }
        }
    }
    let summary = if abandoned {
        batch.abort();
        crate::lookup::BatchSummary::default()
    } else {
        match batch.await {
            Ok(s) => s,
            Err(e) => {
                output.abandon();
                let message = format!("internal error: {e}");
                return Report::named("lookup").fail(CliError::new(exit::FAILURE, message));
            }
        }
    };
    let stopped = summary
        .stopped
        .clone()
        .or(preflight_stop.filter(|_| !interrupted));
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let elapsed = started.elapsed();

    // ---- conflicts across users (into the workspace too), then the rest of the results
    let conflicts = results.apply_conflicts();
    for &i in &conflicts {
        if let Some(o) = results.waiting.get(&i) {
            saved.add(&directory.users[i].key, o);
        }
    }
    saved.flush(&mut ws);
    saved.written = saved.written.saturating_sub(conflicts.len());
    let why_missing = match (&summary.auth_failure, &stopped, interrupted) {
        (Some(e), _, _) => format!("not looked up: the server refused the token ({e})"),
        (None, _, true) => "interrupted: not looked up".to_string(),
        (None, Some(why), false) => format!("not looked up: stopped: {why}"),
        (None, None, false) => "not looked up".to_string(),
    };
    let written = results
        .write_rest(&mut output, &why_missing)
        .map_err(|e| output.fail(e))
        .and_then(|missing| output.finish().map(|()| missing));
    let missing = match written {
        Ok(missing) => missing,
        Err(e) => return Report::named("lookup").fail(CliError::new(exit::FAILURE, e.to_string())),
    };
    let stats = client.stats();
    let counts = results.counts;
    let line = counts.line(stats.requests, stats.retries, stats.throttled, elapsed);
    tracing::info!("lookup: {line}");
    eprintln!("navscim lookup: {line}");
    saved.flush(&mut ws);
    let kind = if args.refresh_stale {
        SnapshotKind::Refresh
    } else {
        SnapshotKind::Lookup
    };
    let recorded = match &saved.failed {
        Some(e) => Err(e.clone()),
        None => ws
            .record_run(kind, Some(client.base_url()))
            .map_err(|e| e.to_string()),
    };
    match recorded {
        Ok(_) => eprintln!(
            "navscim lookup: workspace {}: {} results saved",
            ws.path().display(),
            saved.written
        ),
        Err(e) => {
            eprintln!("navscim lookup: the workspace was not fully written: {e}");
            return exit::FAILURE;
        }
    }

    if let Some(e) = &summary.auth_failure {
        let message = format!("stopped: the server refused the token: {e}");
        return Report::named("lookup").fail(CliError::new(exit::AUTH, message));
    }
    if interrupted {
        eprintln!("navscim lookup: interrupted; {missing} users were not looked up");
        return exit::FAILURE;
    }
    if let Some(why) = &stopped {
        eprintln!(
            "navscim lookup: {}",
            for_terminal(&format!(
                "stopped early: {why}; {missing} users were not looked up (written as `error`)"
            ))
        );
        return exit::FAILURE;
    }
    if counts.conflict > 0 {
        eprintln!(
            "navscim lookup: {} users are in conflict: a SCIM user found for them is \
             contradicted by another identifier or shared with another user (see each \
             one's detail); they are never plan targets until resolved",
            counts.conflict
        );
    }
    if counts.error > 0 || counts.conflict > 0 {
        exit::FAILURE
    } else {
        exit::SUCCESS
    }
}

/// Outcomes waiting to be written into the workspace, and what was written.
#[derive(Default)]
struct Saved {
    rows: Vec<OutcomeRow>,
    written: usize,
    /// The first write error; nothing more is written into the workspace after it.
    failed: Option<String>,
}

impl Saved {
    fn add(&mut self, key: &str, outcome: &LookupOutcome) {
        if self.failed.is_none() {
            self.rows.push(OutcomeRow::new(key, Utc::now(), outcome));
        }
    }

    /// Writes what is waiting, in one transaction.
    fn flush(&mut self, ws: &mut Workspace) {
        if self.rows.is_empty() || self.failed.is_some() {
            return;
        }
        match ws.write_outcome_rows(&self.rows) {
            Ok(()) => self.written += self.rows.len(),
            Err(e) => {
                eprintln!("navscim lookup: cannot write into the workspace: {e}");
                self.failed = Some(e.to_string());
            }
        }
        self.rows.clear();
    }
}

/// Records a file in the workspace; returns what changed since it was last loaded.
fn remember_source(
    ws: &mut Workspace,
    path: &Path,
    import: &Import,
    aliases: &DomainAliases,
) -> Result<Option<SourceChanges>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let shown = std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    ws.record_source(&shown, &bytes, import, aliases, Utc::now())
        .map_err(|e| e.to_string())
}

/// `--refresh-stale`: the workspace's users checked longer ago than the threshold.
fn stale_directory(ws: &Workspace, args: &LookupArgs) -> Result<Directory, String> {
    let settings = ws.settings().map_err(|e| e.to_string())?;
    let age = match &args.stale_after {
        Some(a) => super::workspace::parse_age(a).map_err(|e| format!("--stale-after: {e}"))?,
        None => Duration::from_secs(settings.stale_after_hours * 3600),
    };
    let older_than = chrono::Duration::from_std(age).map_err(|e| format!("--stale-after: {e}"))?;
    let stale = ws
        .stale_users(older_than, Utc::now())
        .map_err(|e| e.to_string())?;
    let total = ws.users().map_err(|e| e.to_string())?.len();
    if total == 0 {
        return Err(format!(
            "the workspace {} holds no users: run navscim lookup FILE.csv… first",
            ws.path().display()
        ));
    }
    eprintln!(
        "navscim lookup: {} of {} users are stale (checked more than {} ago, or never)",
        stale.len(),
        total,
        humantime(age)
    );
    let mut directory = Directory::new();
    let known = stale.iter().any(|s| s.presence != Presence::Unknown);
    directory.has_idp = known;
    directory.has_salesnav = known;
    directory.users = stale.into_iter().map(|s| s.user).collect();
    Ok(directory)
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s.is_multiple_of(86_400) && s > 0 => format!("{} d", s / 86_400),
        _ if s.is_multiple_of(3600) && s > 0 => format!("{} h", s / 3600),
        _ if s.is_multiple_of(60) && s > 0 => format!("{} min", s / 60),
        _ => format!("{s} s"),
    }
}

fn plan(args: &LookupArgs) -> Result<Plan, String> {
    // A stored SCIM id exists only with --ids; then it is tried first.
    let mut precedence = Vec::new();
    if args.ids.is_some() || args.refresh_stale {
        precedence.push(LookupKind::StoredId);
    }
    for name in args
        .precedence
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        let kind = LookupKind::from_name(name).ok_or_else(|| {
            format!(
                "--precedence: unknown lookup {name:?} (use stored_id, external_id, user_name, email)"
            )
        })?;
        if kind == LookupKind::StoredId {
            continue;
        }
        if precedence.contains(&kind) {
            return Err(format!("--precedence: {name} is listed twice"));
        }
        precedence.push(kind);
    }
    if precedence.iter().all(|k| *k == LookupKind::StoredId) {
        return Err("--precedence: name at least one of external_id, user_name, email".into());
    }
    if let Some(r) = args.rate_limit {
        if !r.is_finite() || r <= 0.0 {
            return Err(format!(
                "--rate-limit must be a positive number of requests per second, not {r}"
            ));
        }
    }
    let aliases = DomainAliases::parse(&args.domain_alias.join(","))
        .map_err(|e| format!("--domain-alias: {e}"))?;
    let format = match (args.format, &args.out) {
        (Some(f), _) => f,
        (None, None) => OutFormat::Json,
        (None, Some(path)) => match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("json") => OutFormat::Json,
            Some("csv") => OutFormat::Csv,
            _ => {
                return Err(format!(
                    "--out {}: the file name must end in .json or .csv (or pass --format)",
                    path.display()
                ))
            }
        },
    };
    let mut global_map: Option<MappingOverride> = None;
    let mut file_maps: Vec<(String, MappingOverride)> = Vec::new();
    for spec in &args.map {
        let (file, rest) = split_file_prefix(spec);
        let parsed = parse_map_override(rest)?;
        match file {
            None => {
                let g = global_map.get_or_insert_with(MappingOverride::default);
                for (f, c) in parsed.entries {
                    g.set(f, c);
                }
            }
            Some(file) => {
                if !args.files.iter().any(|p| names_file(p, file)) {
                    return Err(format!(
                        "--map {file}:…: {file} is not one of the files given"
                    ));
                }
                file_maps.push((file.to_string(), parsed));
            }
        }
    }
    Ok(Plan {
        precedence,
        aliases,
        format,
        global_map,
        file_maps,
    })
}

/// Identity key → SCIM id of every matched user in an earlier run's JSON results.
fn stored_ids(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--ids {}: cannot read: {e}", path.display()))?;
    let records: Vec<UserReport> = serde_json::from_str(&text).map_err(|e| {
        format!(
            "--ids {}: expected the JSON results of navscim lookup: {e}",
            path.display()
        )
    })?;
    Ok(records
        .into_iter()
        .filter(|r| r.status == "matched" && !r.key.is_empty())
        .filter_map(|r| Some((r.key, r.scim_id.filter(|s| !s.is_empty())?)))
        .collect())
}

/// `file.csv:email=X` → (Some("file.csv"), "email=X"); `email=X` → (None, "email=X").
/// Field names contain no `:`, so a `:` before the first `=` always ends a file name.
fn split_file_prefix(spec: &str) -> (Option<&str>, &str) {
    match (spec.find(':'), spec.find('=')) {
        (Some(c), Some(e)) if c < e => (Some(spec[..c].trim()), &spec[c + 1..]),
        (Some(c), None) => (Some(spec[..c].trim()), &spec[c + 1..]),
        _ => (None, spec),
    }
}

fn names_file(path: &Path, name: &str) -> bool {
    path.as_os_str() == name || path.file_name().is_some_and(|f| f == name)
}

fn mapping_for(plan: &Plan, path: &Path) -> Option<MappingOverride> {
    let mut out = plan.global_map.clone();
    for (file, m) in &plan.file_maps {
        if names_file(path, file) {
            let o = out.get_or_insert_with(MappingOverride::default);
            for (f, c) in &m.entries {
                o.set(*f, c.clone());
            }
        }
    }
    out
}

/// At most this many row problems are printed per file.
const MAX_DIAGNOSTICS: usize = 50;

fn report_import(import: &Import) {
    let users = match import.detection.format.kind() {
        FileKind::Idp => import.idp_users().len(),
        FileKind::SalesNavUsers => import.salesnav_users().len(),
        FileKind::Usage => import.usage_rows().len(),
    };
    let mut line = format!(
        "{}: {}, {} rows, {} loaded",
        import.file,
        import.detection.format.label(),
        import.rows_read,
        users
    );
    if !import.errors.is_empty() {
        line.push_str(&format!(", {} skipped", import.errors.len()));
    }
    if import.duplicates_merged() > 0 {
        line.push_str(&format!(
            ", {} duplicate rows merged",
            import.duplicates_merged()
        ));
    }
    eprintln!("{}", for_terminal(&line));
    let all: Vec<String> = import
        .errors
        .iter()
        .map(|d| d.to_string())
        .chain(import.warnings.iter().map(|d| format!("{d} (warning)")))
        .collect();
    for d in all.iter().take(MAX_DIAGNOSTICS) {
        eprintln!("  {}", for_terminal(d));
    }
    if all.len() > MAX_DIAGNOSTICS {
        eprintln!(
            "  … and {} more problems in {}",
            all.len() - MAX_DIAGNOSTICS,
            import.file
        );
    }
}

/// The message for a file whose columns could not be mapped: what is missing or
/// ambiguous, the candidates, and the exact `--map` to pass.
pub fn needs_mapping_message(nm: &NeedsMapping, path: &Path) -> String {
    let mut out = format!(
        "navscim lookup: {}: cannot tell which column is which ({}).\n",
        nm.file,
        nm.format.label()
    );
    let quoted = |h: &str| format!("\"{h}\"");
    out.push_str(&format!(
        "  columns: {}\n",
        nm.headers
            .iter()
            .map(|h| quoted(h))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut example: Vec<String> = Vec::new();
    for p in &nm.problems {
        let fields: Vec<&str> = p.fields.iter().map(|f| f.name()).collect();
        let cands: Vec<&str> = p
            .candidates
            .iter()
            .filter_map(|&c| nm.headers.get(c).map(String::as_str))
            .collect();
        let cand_text = if cands.is_empty() {
            "no likely column".to_string()
        } else {
            cands
                .iter()
                .map(|c| quoted(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match p.kind {
            ProblemKind::Missing => out.push_str(&format!(
                "  no column found for {} (candidates: {cand_text})\n",
                fields.join(" or ")
            )),
            ProblemKind::Ambiguous => out.push_str(&format!(
                "  {} could be any of {cand_text}\n",
                fields.join(", ")
            )),
        }
        let column = cands
            .first()
            .copied()
            .or(nm.headers.first().map(String::as_str))
            .unwrap_or("COLUMN");
        if let Some(field) = fields.first() {
            example.push(format!("{field}={}", map_value(column)));
        }
    }
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| nm.file.clone());
    let spec = format!("{file}:{}", example.join(","));
    out.push_str(&format!(
        "Choose the columns with --map FILE:FIELD=COLUMN (quote names with spaces; #N is \
         the Nth column, FIELD=- uses none), e.g.:\n  --map {}",
        shell_quote(&spec)
    ));
    out
}

/// A column name as `parse_map_override` reads it.
fn map_value(column: &str) -> String {
    if column
        .chars()
        .all(|c| c.is_alphanumeric() || "_-.@#".contains(c))
        && !column.is_empty()
        && !column.starts_with('#')
    {
        column.to_string()
    } else {
        format!("\"{}\"", column.replace('"', "\"\""))
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.,:=@#/".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn progress_bar(len: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} users · {per_sec} · ETA {eta} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

// ---- output records --------------------------------------------------------------------

/// Writes the rows in the directory's order as outcomes arrive, and counts them.
struct Results<'a> {
    dir: &'a Directory,
    ignored: &'a [bool],
    /// Outcomes that arrived before a user ahead of them was written.
    waiting: HashMap<usize, Box<LookupOutcome>>,
    /// The next user to write.
    next: usize,
    counts: Counts,
}

impl Results<'_> {
    /// Marks the users whose identity only conflicts across users (two users on one
    /// SCIM user, one seat id naming different people); see
    /// [`crate::matching::cross_conflicts`].
    /// Marks the users that conflict across users; returns their indices.
    fn apply_conflicts(&mut self) -> Vec<usize> {
        let marks = {
            let waiting = &self.waiting;
            crate::matching::cross_conflicts(self.dir, |i| {
                waiting.get(&i).map(|o| (o.status, o.scim_id()))
            })
        };
        let mut marked = Vec::with_capacity(marks.len());
        for (i, why, not_found_too) in marks {
            if let Some(o) = self.waiting.get_mut(&i) {
                o.mark_conflict(&why, not_found_too);
                marked.push(i);
            }
        }
        marked
    }

    fn write(&mut self, output: &mut Output, row: UserReport) -> Result<(), String> {
        self.counts.add(&row);
        self.next += 1;
        output.write(&row)
    }

    /// Writes every user that can be written now.
    fn write_ready(&mut self, output: &mut Output) -> Result<(), String> {
        while let Some(u) = self.dir.users.get(self.next) {
            let row = if self.ignored[self.next] {
                UserReport::ignored(u, self.dir.presence(u), "ignored with --ignore")
            } else if let Some(o) = self.waiting.remove(&self.next) {
                UserReport::new(u, self.dir.presence(u), Some(&o), false)
            } else {
                return Ok(());
            };
            self.write(output, row)?;
        }
        Ok(())
    }

    /// After the batch: every user left, the ones never looked up with `why`.
    /// Returns how many were never looked up.
    fn write_rest(&mut self, output: &mut Output, why: &str) -> Result<usize, String> {
        let mut missing = 0;
        self.write_ready(output)?;
        while let Some(u) = self.dir.users.get(self.next) {
            let row = UserReport::not_looked_up(u, self.dir.presence(u), why);
            self.write(output, row)?;
            missing += 1;
            self.write_ready(output)?;
        }
        Ok(missing)
    }
}

/// Where the rows go: a file written next to the target and renamed into place at
/// the end (a failed run never leaves half a file), or stdout.
struct Output {
    writer: Option<ReportWriter<std::io::BufWriter<Box<dyn Write + Send>>>>,
    /// (temporary file, target) when writing to a file.
    file: Option<(PathBuf, PathBuf)>,
    /// The first write error; nothing more is written after it.
    failed: Option<String>,
}

fn cannot_write(e: &dyn std::fmt::Display) -> String {
    format!("cannot write the results: {e}")
}

impl Output {
    fn create(out: Option<&Path>, format: OutFormat) -> Result<Output, String> {
        let format = match format {
            OutFormat::Json => ReportFormat::Json,
            OutFormat::Csv => ReportFormat::Csv,
        };
        let (w, file): (Box<dyn Write + Send>, _) = match out {
            Some(path) => {
                let tmp = path.with_extension(format!(
                    "{}.tmp",
                    path.extension().and_then(|e| e.to_str()).unwrap_or("out")
                ));
                let f = std::fs::File::create(&tmp)
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                (Box::new(f), Some((tmp, path.to_path_buf())))
            }
            // Stdout may be a terminal: C1 controls and bidi overrides from a file are
            // written as \u escapes (the same JSON value).
            None => (
                Box::new(crate::sanitize::TerminalSafeWriter::new(std::io::stdout())),
                None,
            ),
        };
        let mut output = Output {
            writer: None,
            file,
            failed: None,
        };
        match ReportWriter::new(format, std::io::BufWriter::with_capacity(1 << 16, w)) {
            Ok(w) => output.writer = Some(w),
            Err(e) => {
                output.abandon();
                return Err(cannot_write(&e));
            }
        }
        Ok(output)
    }

    fn write(&mut self, row: &UserReport) -> Result<(), String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match &mut self.writer {
            Some(w) => w.write(row).map_err(|e| cannot_write(&e)),
            None => Ok(()),
        }
    }

    /// Records a write error (the first one counts) and returns it.
    fn fail(&mut self, e: String) -> String {
        self.failed.get_or_insert(e).clone()
    }

    /// Closes the output; a file is renamed into place.
    fn finish(mut self) -> Result<(), String> {
        if let Some(e) = self.failed.take() {
            self.abandon();
            return Err(e);
        }
        let result = match self.writer.take() {
            Some(w) => w
                .finish()
                .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
                .and_then(|mut w| w.flush())
                .map_err(|e| cannot_write(&e)),
            None => Ok(()),
        };
        match (result, self.file.take()) {
            (Ok(()), Some((tmp, path))) => std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("cannot write {}: {e}", path.display())
            }),
            (Ok(()), None) => Ok(()),
            (Err(e), file) => {
                if let Some((tmp, _)) = file {
                    let _ = std::fs::remove_file(&tmp);
                }
                Err(e)
            }
        }
    }

    /// Drops what was written to the temporary file.
    fn abandon(&mut self) {
        self.writer = None;
        if let Some((tmp, _)) = self.file.take() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// Totals for the summary line and the exit code.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    users: usize,
    matched: usize,
    active: usize,
    inactive: usize,
    warned: usize,
    not_found: usize,
    ambiguous: usize,
    conflict: usize,
    error: usize,
    ignored: usize,
    orphans: usize,
}

impl Counts {
    fn add(&mut self, r: &UserReport) {
        self.users += 1;
        match r.status.as_str() {
            "matched" => self.matched += 1,
            "not_found" => self.not_found += 1,
            "ambiguous" => self.ambiguous += 1,
            "conflict" => self.conflict += 1,
            "ignored" => self.ignored += 1,
            _ => self.error += 1,
        }
        // Active/inactive describe matches only (a conflict's SCIM user is not theirs).
        match r.active.filter(|_| r.status == "matched") {
            Some(true) => self.active += 1,
            Some(false) => self.inactive += 1,
            None => {}
        }
        if r.status == "matched" && !r.warnings.is_empty() {
            self.warned += 1;
        }
        if r.orphan {
            self.orphans += 1;
        }
    }

    fn line(&self, requests: u64, retries: u64, throttled: u64, elapsed: Duration) -> String {
        format!(
            "{} users: {} matched ({} active, {} inactive, {} with warnings), {} not found, \
             {} ambiguous, {} conflicts, {} errors, {} ignored; {} orphan seats; {} requests, \
             {} retries, {} throttled; {:.1} s",
            self.users,
            self.matched,
            self.active,
            self.inactive,
            self.warned,
            self.not_found,
            self.ambiguous,
            self.conflict,
            self.error,
            self.ignored,
            self.orphans,
            requests,
            retries,
            throttled,
            elapsed.as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_prefixes() {
        assert_eq!(
            split_file_prefix("idp.csv:email=Mail"),
            (Some("idp.csv"), "email=Mail")
        );
        assert_eq!(split_file_prefix("email=Mail"), (None, "email=Mail"));
        assert_eq!(
            split_file_prefix("email=\"Work: Mail\""),
            (None, "email=\"Work: Mail\"")
        );
        assert_eq!(
            split_file_prefix("dir/a b.csv:email=#2"),
            (Some("dir/a b.csv"), "email=#2")
        );
    }

    #[test]
    fn map_values_and_shell_quoting() {
        assert_eq!(map_value("Mail"), "Mail");
        assert_eq!(map_value("Work Email"), "\"Work Email\"");
        assert_eq!(map_value("a\"b"), "\"a\"\"b\"");
        assert_eq!(shell_quote("x.csv:email=Mail"), "x.csv:email=Mail");
        assert_eq!(
            shell_quote("x.csv:email=\"Work Email\""),
            "'x.csv:email=\"Work Email\"'"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        // What we print parses back.
        let m = parse_map_override("email=\"Work Email\"").unwrap();
        assert_eq!(m.entries.len(), 1);
    }
}
