//! `navscim plan deprovision | reactivate | provision`: build a plan from lookup results
//! (and a usage report, or a selection of users) and write it as JSON for
//! `navscim apply`. Nothing is sent to any server; the planning code is the Actions
//! pane's ([`crate::plan`]).

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};

use super::{exit, ConnectionArgs};
use crate::import::{import_path, parse_map_override, DateOrder, FileKind, Import, ImportOptions};
use crate::matching::{Directory, DomainAliases};
use crate::plan::{
    build_deactivate_plan, build_deprovision_plan, build_provision_plan, build_reactivate_plan,
    check_gates, enrich_from_directory, exclusion_name, join_candidates, parse_selection,
    read_lookup_results, resolve_selection, DeprovisionParams, OpKind, Permissions, Plan,
    PlanCandidate, PlanContext, PlanInput, ProtectedUsers, Thresholds, UsageData,
    EXCLUSION_REASONS,
};
use crate::usage::{self, DEFAULT_GRACE_DAYS, DEFAULT_IDLE_DAYS};

const AFTER_HELP: &str = "\
The plan is JSON: version, created_at, inputs (kind, path, rows), parameters (thresholds,
the as-of date, counts, usage-join figures and the usage rows that joined nobody),
matched_users, operations (op, scim_id, email, reason, evidence) and excluded (email,
scim_id, why, detail). Nothing is sent to any server: `navscim apply PLAN.json` does
that, after the permission and threshold checks previewed here.

Exit codes:
  0  the plan was written (it may be empty)
  1  the plan could not be written
  2  usage or input problem: bad option, unreadable lookup results, usage report,
     protected list or selection file (messages name the file and line)";

const DEPROVISION_HELP: &str = "\
Which users are deactivated: matched, active SCIM users idle for more than --idle-days
(presets 30/60/90; default 90) as of the as-of date. Idle days count from the usage
report's last-active date (else its days-since-active). Never-activated users (a licence,
no activity at all) only with --include-never-activated.

Left out, each with why: protected (--protect lists), admin (Sales Navigator admins from
the export), ignored, not_matched (not found, ambiguous, error), already_inactive,
recently_provisioned (SCIM user created less than --grace-days before the as-of date;
the date comes from a `scim_created` field in the lookup results, where present),
no_usage (no usage row), never_activated, not_idle. Users below the threshold are only
counted (parameters.counts.excluded.not_idle) unless --list-not-idle.

As-of date: --as-of, else the end of the usage report's period when the report states
it (idle days are then what the report proves), else today.

Usage rows are joined by email (domain aliases applied), else by exact full name when
unique; rows that join nobody are listed on stdout and in parameters.usage.unmatched_rows.";

#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub kind: PlanKind,
}

#[derive(Debug, Subcommand)]
pub enum PlanKind {
    /// Deactivate idle (and optionally never-activated) seats.
    #[command(after_help = format!("{DEPROVISION_HELP}\n\n{AFTER_HELP}"))]
    Deprovision(DeprovisionArgs),
    /// Reactivate selected users that are matched and inactive.
    #[command(after_help = format!("{SELECT_HELP}\n\n{AFTER_HELP}"))]
    Reactivate(ReactivateArgs),
    /// Create selected users that were not found over SCIM (from the IdP export).
    #[command(after_help = format!("{SELECT_HELP}\n\n{AFTER_HELP}"))]
    Provision(ProvisionArgs),
    /// Deactivate selected users that are matched and active (leavers, orphan seats);
    /// what the Users pane's D does.
    #[command(after_help = format!("{SELECT_HELP}\n\n{AFTER_HELP}"))]
    Deactivate(DeactivateArgs),
}

const SELECT_HELP: &str = "\
--select FILE: one email per line (`#` starts a comment), or a CSV with an email column
(email, email address, invited_email_address, mail, userName or userPrincipalName).
Selected users are matched to the lookup results by email (domain aliases applied);
selected emails not in the results are listed as not_matched.";

/// Options every plan kind shares.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Lookup results: the JSON written by `navscim lookup --out results.json`.
    #[arg(
        long,
        value_name = "results.json",
        required_unless_present = "from_workspace",
        conflicts_with = "from_workspace"
    )]
    pub lookup: Option<PathBuf>,
    /// Read the users and their latest lookup outcomes from the workspace (see
    /// --workspace) instead of a results file.
    #[arg(long)]
    pub from_workspace: bool,
    /// Write the plan to this file (JSON).
    #[arg(long, value_name = "plan.json")]
    pub out: PathBuf,
    /// Email domains that are the same company, e.g. corp-example.co.uk=corp.example.
    #[arg(long, value_name = "ALIAS=CANONICAL")]
    pub domain_alias: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeprovisionArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The usage report exported from Sales Navigator.
    #[arg(long, value_name = "usage.csv")]
    pub usage: Option<PathBuf>,
    /// Idle for more than N days (presets 30, 60, 90; any number works).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_IDLE_DAYS,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub idle_days: u32,
    /// Leave alone users provisioned less than N days before the as-of date.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GRACE_DAYS,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub grace_days: u32,
    /// Also deactivate users who never activated their licence.
    #[arg(long)]
    pub include_never_activated: bool,
    /// Users never to deactivate: one email or SCIM id per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub protect: Vec<PathBuf>,
    /// The date idle days are measured to (default: the usage report's period end, else today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// List users below the idle threshold in `excluded` (default: only count them).
    #[arg(long)]
    pub list_not_idle: bool,
    /// Usage report column choices, e.g. --map last_active="Last Login".
    #[arg(long, value_name = "FIELD=COLUMN,…")]
    pub map: Option<String>,
    /// Order of ambiguous slash dates in the usage report: dmy or mdy.
    #[arg(long, value_name = "dmy|mdy")]
    pub date_order: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReactivateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The users to reactivate: emails, one per line, or a CSV with an email column.
    #[arg(long, value_name = "FILE")]
    pub select: PathBuf,
}

#[derive(Debug, Args)]
pub struct DeactivateArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The users to deactivate: emails, one per line, or a CSV with an email column.
    #[arg(long, value_name = "FILE")]
    pub select: PathBuf,
    /// Users never to deactivate: one email or SCIM id per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    pub protect: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The identity provider's export (names and ids for the users to create).
    #[arg(long, value_name = "FILE.csv")]
    pub idp: PathBuf,
    /// The users to create: emails, one per line, or a CSV with an email column.
    #[arg(long, value_name = "FILE")]
    pub select: PathBuf,
}

fn bad_input(msg: impl std::fmt::Display) -> i32 {
    super::error::Report::named("plan").fail(super::error::CliError::usage(msg))
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|e| format!("{}: not UTF-8 text: {e}", path.display()))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_string())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn aliases(common: &CommonArgs) -> Result<DomainAliases, String> {
    DomainAliases::parse(&common.domain_alias.join(","))
}

fn load_lookup(
    conn: &ConnectionArgs,
    common: &CommonArgs,
) -> Result<(Vec<PlanCandidate>, PlanInput), String> {
    let Some(path) = &common.lookup else {
        return load_from_workspace(conn);
    };
    if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return Err(format!(
            "{}: lookup results must be JSON (write them with `navscim lookup --out results.json`)",
            shown(path)
        ));
    }
    let text = read_text(path)?;
    let candidates = read_lookup_results(&shown(path), &text)?;
    let input = PlanInput {
        kind: "lookup_results".into(),
        path: shown(path),
        rows: candidates.len(),
    };
    Ok((candidates, input))
}

pub fn run(conn: &ConnectionArgs, args: &PlanArgs) -> i32 {
    let today = Utc::now().date_naive();
    match &args.kind {
        PlanKind::Deprovision(a) => deprovision(conn, a, today),
        PlanKind::Reactivate(a) => {
            select_plan(conn, &a.common, &a.select, Select::Reactivate, today)
        }
        PlanKind::Provision(a) => {
            select_plan(conn, &a.common, &a.select, Select::Provision(&a.idp), today)
        }
        PlanKind::Deactivate(a) => select_plan(
            conn,
            &a.common,
            &a.select,
            Select::Deactivate(&a.protect),
            today,
        ),
    }
}

fn import_usage(a: &DeprovisionArgs, path: &Path) -> Result<Import, String> {
    let mapping = match &a.map {
        Some(m) => Some(parse_map_override(m).map_err(|e| format!("--map: {e}"))?),
        None => None,
    };
    let date_order = match &a.date_order {
        Some(s) => Some(
            DateOrder::from_name(s)
                .ok_or_else(|| format!("--date-order {s:?}: expected dmy or mdy"))?,
        ),
        None => None,
    };
    let options = ImportOptions {
        format: None,
        mapping,
        date_order,
    };
    let import = import_path(path, &options).map_err(|e| e.to_string())?;
    if import.detection.format.kind() != FileKind::Usage {
        return Err(format!(
            "{}: not a usage report (recognised as {}: {}); pass the usage report exported from Sales Navigator",
            import.file,
            import.detection.format.label(),
            import.detection.reason
        ));
    }
    Ok(import)
}

fn deprovision(conn: &ConnectionArgs, a: &DeprovisionArgs, today: NaiveDate) -> i32 {
    let aliases = match aliases(&a.common) {
        Ok(x) => x,
        Err(e) => return bad_input(format!("--domain-alias: {e}")),
    };
    let (candidates, lookup_input) = match load_lookup(conn, &a.common) {
        Ok(x) => x,
        Err(e) => return bad_input(e),
    };
    let mut inputs = vec![lookup_input];

    let protected = match read_protected(&a.protect, &mut inputs) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };

    let usage_import = match &a.usage {
        Some(path) => match import_usage(a, path) {
            Ok(i) => Some(i),
            Err(e) => return bad_input(e),
        },
        None => None,
    };
    if let Some(u) = &usage_import {
        for d in &u.errors {
            eprintln!(
                "navscim plan: {d} (row skipped: its user gets no usage and is not deactivated)"
            );
        }
        for d in &u.warnings {
            eprintln!("navscim plan: {d} (warning)");
        }
        inputs.push(PlanInput {
            kind: "usage_report".into(),
            path: a.usage.as_deref().map(shown).unwrap_or_default(),
            rows: u.usage_rows().len(),
        });
    }
    let period = usage_import.as_ref().and_then(|u| u.report_period.as_ref());
    let (as_of, as_of_source) = usage::default_as_of(a.as_of, period, today);
    let join = usage_import
        .as_ref()
        .map(|u| join_candidates(&candidates, u.usage_rows(), &aliases));
    let usage_data = match (&usage_import, &join) {
        (Some(u), Some(j)) => Some(UsageData {
            rows: u.usage_rows(),
            period,
            join: j,
        }),
        _ => None,
    };
    let params = DeprovisionParams {
        idle_days: a.idle_days,
        grace_days: a.grace_days,
        include_never_activated: a.include_never_activated,
        list_not_idle: a.list_not_idle,
    };
    let ctx = PlanContext {
        as_of,
        as_of_source: as_of_source.into(),
        created_at: Utc::now(),
        inputs,
    };
    let mut plan =
        build_deprovision_plan(&candidates, usage_data, &params, &protected, &aliases, ctx);
    if let (Some(u), Some(obj)) = (&usage_import, plan.parameters.as_object_mut()) {
        if !u.errors.is_empty() {
            let errors: Vec<String> = u.errors.iter().map(|d| d.to_string()).collect();
            obj.insert("usage_row_errors".into(), errors.into());
        }
    }
    if let Err(e) = write_plan(conn, &a.common.out, &plan) {
        eprintln!("navscim plan: {e}");
        return exit::FAILURE;
    }

    // ---- summary
    let mut out = String::new();
    out.push_str(&format!(
        "Deprovision plan: {} users to deactivate (of {} matched users)\n",
        plan.operations.len(),
        plan.matched_users
    ));
    out.push_str(&format!(
        "  as of {as_of} ({as_of_source}); idle: more than {} days; grace: {} days; never-activated users {}\n",
        a.idle_days,
        a.grace_days,
        if a.include_never_activated { "included" } else { "not included" }
    ));
    if usage_import.is_none() {
        out.push_str("  no usage report (--usage): nobody can be judged idle\n");
    }
    out.push_str(&excluded_line(&plan));
    if let (Some(u), Some(j)) = (&usage_import, &join) {
        out.push_str(&format!(
            "  usage report: {} rows, {} joined to users ({} by email, {} by name), {} joined nobody\n",
            u.usage_rows().len(),
            j.joined_rows(),
            j.joined_by(usage::JoinedBy::Email),
            j.joined_by(usage::JoinedBy::Name),
            j.unmatched.len()
        ));
        for m in &j.unmatched {
            out.push_str(&format!(
                "    {}: {} — {}\n",
                m.source,
                m.email.as_deref().or(m.name.as_deref()).unwrap_or("?"),
                m.why
            ));
        }
        if !u.errors.is_empty() {
            out.push_str(&format!(
                "  {} usage rows could not be read (see above); their users are not deactivated\n",
                u.errors.len()
            ));
        }
    }
    out.push_str(&gates_line(&plan, &protected, &candidates));
    out.push_str(&format!("Wrote {}\n", a.common.out.display()));
    print!("{out}");
    exit::SUCCESS
}

/// Reads `--protect` lists, recording each as an input of the plan.
fn read_protected(
    paths: &[PathBuf],
    inputs: &mut Vec<PlanInput>,
) -> Result<ProtectedUsers, String> {
    let mut protected = ProtectedUsers::default();
    for path in paths {
        let list = ProtectedUsers::parse_list(&read_text(path)?);
        inputs.push(PlanInput {
            kind: "protected_list".into(),
            path: shown(path),
            rows: list.emails.len() + list.scim_ids.len(),
        });
        protected.emails.extend(list.emails);
        protected.scim_ids.extend(list.scim_ids);
    }
    Ok(protected)
}

/// What a selection plan does with the selected users.
enum Select<'a> {
    Reactivate,
    /// Create them, with names and ids from this identity-provider export.
    Provision(&'a PathBuf),
    /// Deactivate them, never those on these protected lists.
    Deactivate(&'a [PathBuf]),
}

fn select_plan(
    conn: &ConnectionArgs,
    common: &CommonArgs,
    select: &Path,
    kind: Select<'_>,
    today: NaiveDate,
) -> i32 {
    let idp = match kind {
        Select::Provision(path) => Some(path),
        _ => None,
    };
    let aliases = match aliases(common) {
        Ok(x) => x,
        Err(e) => return bad_input(format!("--domain-alias: {e}")),
    };
    let (mut candidates, lookup_input) = match load_lookup(conn, common) {
        Ok(x) => x,
        Err(e) => return bad_input(e),
    };
    let mut inputs = vec![lookup_input];
    if let Some(path) = idp {
        let import = match import_path(path, &ImportOptions::default()) {
            Ok(i) => i,
            Err(e) => return bad_input(e),
        };
        if import.detection.format.kind() != FileKind::Idp {
            return bad_input(format!(
                "{}: not an identity-provider export (recognised as {})",
                import.file,
                import.detection.format.label()
            ));
        }
        for d in &import.errors {
            eprintln!("navscim plan: {d} (row skipped)");
        }
        inputs.push(PlanInput {
            kind: "idp_export".into(),
            path: shown(path),
            rows: import.idp_users().len(),
        });
        let directory = Directory::build(std::slice::from_ref(&import), &aliases);
        enrich_from_directory(&mut candidates, &directory, &aliases);
    }
    let text = match read_text(select) {
        Ok(t) => t,
        Err(e) => return bad_input(e),
    };
    let entries = match parse_selection(&shown(select), &text) {
        Ok(e) => e,
        Err(errors) => {
            for e in &errors {
                eprintln!(
                    "navscim plan: {}",
                    crate::sanitize::for_terminal(&e.to_string())
                );
            }
            return exit::USAGE;
        }
    };
    if entries.is_empty() {
        return bad_input(format!("{}: no users selected", shown(select)));
    }
    inputs.push(PlanInput {
        kind: "selection".into(),
        path: shown(select),
        rows: entries.len(),
    });
    let selected = resolve_selection(&candidates, &entries, &aliases);
    let ctx = PlanContext {
        as_of: today,
        as_of_source: "today".into(),
        created_at: Utc::now(),
        inputs,
    };
    let mut protected = ProtectedUsers::default();
    let (plan, title, verb) = match kind {
        Select::Provision(_) => (
            build_provision_plan(&candidates, &selected, ctx),
            "Provision",
            "to create",
        ),
        Select::Reactivate => (
            build_reactivate_plan(&candidates, &selected, ctx),
            "Reactivate",
            "to reactivate",
        ),
        Select::Deactivate(paths) => {
            let mut ctx = ctx;
            protected = match read_protected(paths, &mut ctx.inputs) {
                Ok(p) => p,
                Err(e) => return bad_input(e),
            };
            (
                build_deactivate_plan(&candidates, &selected, &protected, &aliases, ctx),
                "Deactivate",
                "to deactivate",
            )
        }
    };
    if let Err(e) = write_plan(conn, &common.out, &plan) {
        eprintln!("navscim plan: {e}");
        return exit::FAILURE;
    }
    let mut out = format!(
        "{title} plan: {} users {verb} ({} selected)\n",
        plan.operations.len(),
        entries.len()
    );
    out.push_str(&excluded_line(&plan));
    out.push_str(&gates_line(&plan, &protected, &candidates));
    out.push_str(&format!("Wrote {}\n", common.out.display()));
    print!("{out}");
    exit::SUCCESS
}

/// "  excluded: admin 7, not matched 45, …" (counts include unlisted not-idle users).
fn excluded_line(plan: &Plan) -> String {
    let counts = &plan.parameters["counts"]["excluded"];
    let parts: Vec<String> = EXCLUSION_REASONS
        .iter()
        .filter_map(|&why| {
            let name = exclusion_name(why);
            let n = counts[name].as_u64()?;
            let listed = plan.excluded.iter().filter(|e| e.why == why).count() as u64;
            Some(if listed == n {
                format!("{} {n}", name.replace('_', " "))
            } else {
                format!("{} {n} ({listed} listed)", name.replace('_', " "))
            })
        })
        .collect();
    if parts.is_empty() {
        "  excluded: none\n".into()
    } else {
        format!("  excluded: {}\n", parts.join(", "))
    }
}

/// The thresholds `apply` checks, previewed with every permission granted.
fn gates_line(plan: &Plan, protected: &ProtectedUsers, candidates: &[PlanCandidate]) -> String {
    let t = Thresholds::default();
    let n = plan.operations.len();
    let kinds: Vec<String> = [
        OpKind::Deactivate,
        OpKind::Reactivate,
        OpKind::Create,
        OpKind::Delete,
    ]
    .iter()
    .filter_map(|k| {
        let c = plan.operations.iter().filter(|o| o.op == *k).count();
        (c > 0).then(|| {
            format!(
                "{} {c}",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )
        })
    })
    .collect();
    let share = if plan.matched_users == 0 {
        if n == 0 {
            0.0
        } else {
            100.0
        }
    } else {
        n as f64 * 100.0 / plan.matched_users as f64
    };
    let mut guard = protected.clone();
    for c in candidates.iter().filter(|c| c.is_admin) {
        if let Some(e) = &c.email {
            guard.add_email(e);
        }
    }
    let all = Permissions {
        provisioning: true,
        deprovisioning: true,
    };
    let mut s = format!(
        "  operations: {}\n  thresholds apply checks: {n} operations vs limit {}; {share:.1}% of {} matched users vs limit {}%\n",
        if kinds.is_empty() { "none".into() } else { kinds.join(", ") },
        t.max_count,
        plan.matched_users,
        t.max_percent
    );
    match check_gates(plan, all, t, &guard, false) {
        Ok(()) => s.push_str(
            "  apply would pass the thresholds (it still needs the --allow-provision/--allow-deprovision permission and a confirmation)\n",
        ),
        Err(refusals) => {
            s.push_str("  apply would refuse this plan with the default thresholds:\n");
            for r in refusals {
                s.push_str(&format!("    - {r}\n"));
            }
        }
    }
    s
}

/// Users and outcomes from the workspace (`--from-workspace`), as lookup results.
fn load_from_workspace(conn: &ConnectionArgs) -> Result<(Vec<PlanCandidate>, PlanInput), String> {
    let path = conn.workspace_path()?;
    if !path.exists() {
        return Err(
            crate::workspace::WorkspaceError::Missing(path.display().to_string()).to_string(),
        );
    }
    let ws = crate::workspace::Workspace::open_shared(&path).map_err(|e| e.to_string())?;
    let loaded = ws.load().map_err(|e| e.to_string())?;
    let shown = path.display().to_string();
    let mut candidates = Vec::with_capacity(loaded.users.len());
    for (i, r) in loaded.reports().iter().enumerate() {
        let c = PlanCandidate::from_report(r)
            .map_err(|e| format!("{shown}: user {} ({}): {e}", i + 1, r.key))?;
        candidates.push(c);
    }
    let input = PlanInput {
        kind: "workspace".into(),
        path: shown,
        rows: candidates.len(),
    };
    Ok((candidates, input))
}

/// Writes the plan, stamped with the tenant it is for, and keeps it in the workspace
/// as the plan under review (when the workspace is free; a note otherwise).
fn write_plan(conn: &ConnectionArgs, path: &Path, plan: &Plan) -> Result<(), String> {
    let mut plan = plan.clone();
    plan.target = Some(Box::new(super::workspace::plan_target(conn)?));
    match super::workspace::open_for_writing(conn) {
        Ok(mut ws) => {
            if let Err(e) = ws.save_plan(Some(&plan), Some(&path.display().to_string())) {
                eprintln!("navscim plan: note: {e}");
            }
        }
        Err(e) => eprintln!("navscim plan: note: the plan is not kept in the workspace: {e}"),
    }
    plan.write_file(path)
}
