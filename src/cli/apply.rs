//! `navscim apply PLAN.json`, and the machinery `navscim journal resume|undo` share
//! with it: gates, dry run, confirmation, connection, progress, summary, exit codes.
//!
//! Exit codes: 0 every operation succeeded (or nothing to do; a dry run the gates
//! would pass) · 1 some operations failed, or the batch was cancelled or stopped by
//! the circuit breaker · 2 usage error or bad plan/journal · 3 authentication failure
//! · 4 network/TLS failure · 6 refused before anything was sent (a gate: read-only,
//! threshold, protected user, DELETE; the confirmation was not given; or another
//! batch runs on the same journal).
//!
//! Ctrl-C or SIGTERM cancels: no new request and no retry starts, requests in flight
//! finish and are journaled; a second one exits at once (`journal resume` finishes).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::error::{CliError, Report};
use super::{exit, exit_code_for, ConnectionArgs};
use crate::apply::{
    self, ApplyError, ApplyEvent, Batch, BatchMeta, BatchSummary, BreakerAction, Control, Gates,
    RunOptions,
};
use crate::config;
use crate::journal::{self, BatchKind, EndStatus, FailureKind, Outcome};
use crate::plan::{OpKind, Plan, Refusal, Thresholds};
use crate::runtime::connect::{connect, ClientSetup};

/// Refused by a gate or by the confirmation: nothing was sent.
pub const REFUSED: i32 = super::exit::REFUSED;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file (written by `navscim plan` or the TUI).
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Gate, threshold and execution options of `apply`, `journal resume` and `journal undo`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Most operations this run may make (default 50).
    #[arg(long, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=10_000_000))]
    pub max_count: Option<usize>,
    /// Most operations as a share of the plan's matched users, in percent (default 20).
    #[arg(long, value_name = "PERCENT", value_parser = super::parse_percent)]
    pub max_percent: Option<f64>,
    /// More protected users (one email or SCIM id a line, `#` comments), never
    /// deprovisioned; `protected.txt` in the config directory is always read.
    #[arg(long, value_name = "FILE")]
    pub protected: Vec<PathBuf>,
    /// Allow the plan's DELETE operations (only where the server advertises DELETE).
    #[arg(long)]
    pub allow_delete: bool,
    /// Print the requests that would be sent, and whether the gates pass; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for the typed confirmation (the gates and thresholds still apply).
    #[arg(long)]
    pub yes: bool,
    /// Operations in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Stop after this many consecutive failures (circuit breaker).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker: u32,
    /// Print the summary (or the refusal) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What to run.
pub(super) enum Source {
    New {
        plan: Box<Plan>,
        plan_file: Option<String>,
        kind: BatchKind,
        undo_of: Option<String>,
        notes: Vec<String>,
        /// The server to use when no `--base-url` is given (an undo: the batch's).
        default_base_url: Option<String>,
    },
    Resume {
        path: PathBuf,
    },
}

pub async fn run(conn: &ConnectionArgs, args: &ApplyArgs) -> i32 {
    let mut plan = match load_plan(&args.plan) {
        Ok(p) => p,
        Err(e) => return usage(&args.run, e),
    };
    // The share gate's base comes from the data the plan names, not its word.
    match apply::base_from_data(&mut plan, &args.plan) {
        Ok(Some(note)) => {
            if !args.run.json {
                eprintln!("note: {}", crate::sanitize::for_terminal(&note));
            }
        }
        Ok(None) => {}
        Err(e) => return fail(args.run.json, REFUSED, &e),
    }
    execute(
        conn,
        &args.run,
        Source::New {
            plan: Box::new(plan),
            plan_file: Some(args.plan.display().to_string()),
            kind: BatchKind::Apply,
            undo_of: None,
            notes: Vec::new(),
            default_base_url: None,
        },
    )
    .await
}

pub fn load_plan(path: &Path) -> Result<Plan, String> {
    Plan::load(path)
}

pub(super) fn usage(run: &RunArgs, message: String) -> i32 {
    fail(run.json, exit::USAGE, &message)
}

fn fail(as_json: bool, code: i32, message: &str) -> i32 {
    Report::plain(as_json).fail(CliError::new(code, message))
}

fn gates(conn: &ConnectionArgs, run: &RunArgs) -> Result<Gates, String> {
    let protected = config::load_protected(&run.protected)?;
    let d = Thresholds::default();
    let thresholds = Thresholds {
        max_count: run.max_count.unwrap_or(d.max_count),
        max_percent: run.max_percent.unwrap_or(d.max_percent),
    };
    if !thresholds.max_percent.is_finite() || thresholds.max_percent < 0.0 {
        return Err(format!(
            "--max-percent must be a number of percent, not {}",
            thresholds.max_percent
        ));
    }
    Ok(Gates {
        permissions: crate::plan::Permissions {
            provisioning: conn.allow_provision,
            deprovisioning: conn.allow_deprovision,
        },
        thresholds,
        protected,
        delete_allowed: run.allow_delete,
    })
}

fn refused(run: &RunArgs, refusals: &[Refusal]) -> i32 {
    if run.json {
        println!(
            "{}",
            crate::sanitize::json_for_terminal(&format!(
                "{:#}",
                json!({ "ok": false, "refused": refusals, "sent": 0, "exit_code": REFUSED })
            ))
        );
    } else {
        eprintln!("navscim: refused, nothing was sent:");
        for r in refusals {
            eprintln!("  - {}", crate::sanitize::for_terminal(&r.to_string()));
        }
    }
    REFUSED
}

fn describe(plan: &Plan, only: Option<&[usize]>) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for (i, op) in plan.operations.iter().enumerate() {
        if only.is_none_or(|o| o.contains(&i)) {
            *counts.entry(apply::op_name(op.op)).or_insert(0) += 1;
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The heart of `apply`, `journal resume` and `journal undo`.
pub(super) async fn execute(conn: &ConnectionArgs, run: &RunArgs, source: Source) -> i32 {
    let mut gates = match gates(conn, run) {
        Ok(g) => g,
        Err(e) => return usage(run, e),
    };
    // Admins are protected by the SCIM ids the plan's own lookup results give them,
    // whatever the plan file says (it may have been edited).
    if let Source::New {
        plan,
        plan_file: Some(file),
        ..
    } = &source
    {
        match apply::admin_ids_from_data(plan, std::path::Path::new(file)) {
            Ok(ids) => ids.iter().for_each(|id| gates.protected.add_scim_id(id)),
            Err(e) => return fail(run.json, REFUSED, &e),
        }
    }
    let (profile, _) = match conn.resolve() {
        Ok(p) => p,
        Err(e) => return usage(run, e),
    };
    // The plan and which of its operations are still to do.
    let (plan, to_do, resume_log) = match &source {
        Source::New { plan, notes, .. } => {
            if !run.json {
                for n in notes {
                    eprintln!("note: {}", crate::sanitize::for_terminal(n));
                }
            }
            (
                (**plan).clone(),
                (0..plan.operations.len()).collect::<Vec<_>>(),
                None,
            )
        }
        Source::Resume { path } => match journal::read_batch(path) {
            Ok(log) => {
                let to_do: Vec<usize> = log
                    .op_states()
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.is_done())
                    .map(|(i, _)| i)
                    .collect();
                (log.header.plan.clone(), to_do, Some(log))
            }
            Err(e) => return usage(run, e.to_string()),
        },
    };
    // A resume or an undo defaults to the server the batch ran against.
    let recorded = match (&source, &resume_log) {
        (_, Some(log)) => Some(log.header.base_url.clone()),
        (
            Source::New {
                default_base_url, ..
            },
            None,
        ) => default_base_url.clone(),
        _ => None,
    };
    let base_url = match (recorded, &conn.base_url) {
        (Some(url), None) => url,
        _ => profile.base_url.clone(),
    };
    // A plan built for another server or profile is refused before anything else.
    let mut used = match super::workspace::plan_target(conn) {
        Ok(t) => t,
        Err(e) => return usage(run, e),
    };
    used.server = base_url.clone();
    if let Err(e) = plan.check_target(&used) {
        return fail(run.json, REFUSED, &e.to_string());
    }
    let verdict = gates.check(&plan);

    if run.dry_run {
        return dry_run(run, &plan, &to_do, &base_url, verdict);
    }
    if let Err(refusals) = verdict {
        return refused(run, &refusals);
    }
    if to_do.is_empty() {
        let msg = match &resume_log {
            Some(log) => format!("batch {} is complete: nothing to do", log.id()),
            None => "the plan has no operations: nothing to do".into(),
        };
        if run.json {
            println!(
                "{}",
                crate::sanitize::json_for_terminal(&format!(
                    "{:#}",
                    json!({ "ok": true, "message": msg, "exit_code": 0 })
                ))
            );
        } else {
            println!("{msg}");
        }
        return exit::SUCCESS;
    }

    // Typed confirmation.
    if !run.yes {
        let what = describe(&plan, Some(&to_do));
        if !std::io::stdin().is_terminal() {
            return fail(
                run.json,
                REFUSED,
                &format!(
                    "refusing to {what} without confirmation: no terminal to ask on; pass --yes (the gates still apply). Nothing was sent."
                ),
            );
        }
        eprint!(
            "About to {what} at {base_url} ({} operations). Type {} to go ahead: ",
            to_do.len(),
            to_do.len()
        );
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if line.trim() != to_do.len().to_string() {
            return fail(run.json, REFUSED, "not confirmed; nothing was sent");
        }
    }

    // Connect.
    let setup = ClientSetup {
        base_url: base_url.clone(),
        concurrency: Some(usize::from(run.concurrency)),
        ..conn.client_setup(&profile)
    };
    let client = match connect(setup).await {
        Ok(c) => c,
        Err(e) => return Report::plain(run.json).fail(e.into()),
    };
    // DELETE only where the server advertises it.
    if plan.operations.iter().any(|o| o.op == OpKind::Delete) && gates.delete_allowed {
        match client.test_connection().await {
            Ok(report) if report.delete_supported => {}
            Ok(_) => {
                gates.delete_allowed = false;
            }
            Err(e) => return fail(run.json, exit_code_for(e.category()), &e.to_string()),
        }
    }

    let dir = journal::default_dir();
    let batch = match source {
        Source::New {
            plan,
            plan_file,
            kind,
            undo_of,
            ..
        } => Batch::start(
            &dir,
            *plan,
            &gates,
            BatchMeta {
                kind,
                undo_of,
                plan_file,
                base_url: client.base_url().to_string(),
            },
        ),
        Source::Resume { path } => Batch::resume(&path, &gates, Some(client.base_url())),
    };
    let batch = match batch {
        Ok(b) => b,
        Err(ApplyError::Refused(r)) => return refused(run, &r),
        // By the error's kind: a batch for another server is a setting (2), another
        // batch running is refused, nothing sent (6), a journal failure (1).
        Err(e) => {
            let e = crate::error::AppError::from(e);
            return fail(run.json, e.exit_code(), &e.message);
        }
    };
    // Listening before the batch is announced: a signal from then on cancels it.
    let mut interrupts = super::signals::Interrupts::new();
    if !run.json {
        eprintln!(
            "batch {} — journal {}",
            batch.id(),
            batch.journal_path().display()
        );
    }

    let (control_tx, control_rx) = watch::channel(Control::Run);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let progress = tokio::spawn(show_progress(events_rx, batch.plan().clone()));
    // Ctrl-C or SIGTERM: cancel (no new request, no retry; requests in flight finish
    // and are journaled). A second one exits at once: every request sent has its
    // intent fsync'd, so `journal resume` re-reads those targets and finishes safely.
    let batch_id = batch.id().to_string();
    let ctrl_c = tokio::spawn(async move {
        if interrupts.recv().await >= 1 {
            eprintln!("\nnavscim: cancelling — requests in flight finish, nothing new starts (interrupt again to exit at once)");
            let _ = control_tx.send(Control::Cancel);
        }
        if interrupts.recv().await >= 2 {
            eprintln!(
                "navscim: exiting at once; the journal has every request sent: finish with navscim journal resume {batch_id}"
            );
            std::process::exit(exit::FAILURE);
        }
        // Keep the sender alive until the run ends (the task is aborted then).
        std::future::pending::<()>().await;
    });
    let options = RunOptions {
        concurrency: usize::from(run.concurrency),
        breaker_after: run.breaker,
        on_breaker: BreakerAction::Stop,
    };
    let summary = apply::run(&client, batch, &options, control_rx, events_tx).await;
    ctrl_c.abort();
    let _ = progress.await;
    record_in_workspace(conn, &summary, run.json);
    report(run, &summary)
}

/// Records the batch in the workspace: a snapshot with the seats it reclaimed, and the
/// changed users' stored outcomes. The journal stays the record of changes, so a
/// workspace that cannot be written only earns a note.
fn record_in_workspace(conn: &ConnectionArgs, summary: &BatchSummary, quiet: bool) {
    let recorded = journal::read_batch(Path::new(&summary.journal))
        .map_err(|e| e.to_string())
        .and_then(|log| {
            let mut ws = super::workspace::open_for_writing(conn)?;
            ws.record_batch(&log).map_err(|e| e.to_string())
        });
    match recorded {
        Ok(s) if !quiet => eprintln!(
            "workspace: batch recorded ({} seats reclaimed, {} restored)",
            s.seats_reclaimed, s.seats_restored
        ),
        Ok(_) => {}
        Err(e) => eprintln!("navscim: note: the batch is not recorded in the workspace: {e}"),
    }
}

fn dry_run(
    run: &RunArgs,
    plan: &Plan,
    to_do: &[usize],
    base_url: &str,
    verdict: Result<(), Vec<Refusal>>,
) -> i32 {
    let requests: Vec<_> = apply::dry_run(plan)
        .into_iter()
        .filter(|r| to_do.contains(&r.seq))
        .collect();
    let code = if verdict.is_ok() {
        exit::SUCCESS
    } else {
        REFUSED
    };
    if run.json {
        println!(
            "{}",
            crate::sanitize::json_for_terminal(&format!(
                "{:#}",
                json!({
                    "dry_run": true,
                    "base_url": base_url,
                    "requests": requests,
                    "gates_pass": verdict.is_ok(),
                    "refused": verdict.as_ref().err(),
                    "exit_code": code,
                })
            ))
        );
        return code;
    }
    println!(
        "Dry run: nothing is sent. Each user is re-read first; users already in the target state get no request."
    );
    println!("Base URL: {base_url}");
    for r in &requests {
        let op = &plan.operations[r.seq];
        println!(
            "{}",
            crate::sanitize::for_terminal(&format!(
                "{r}    # {} — {}",
                apply::target_label(op),
                op.reason
            ))
        );
    }
    println!(
        "{} requests at most ({}).",
        requests.len(),
        describe(plan, Some(to_do))
    );
    match verdict {
        Ok(()) => println!("Gates: pass."),
        Err(refusals) => {
            println!("Gates: this apply would be refused:");
            for r in refusals {
                println!("  - {}", crate::sanitize::for_terminal(&r.to_string()));
            }
        }
    }
    code
}

async fn show_progress(mut events: mpsc::UnboundedReceiver<ApplyEvent>, plan: Plan) {
    let bar = if std::io::stderr().is_terminal() {
        Some(indicatif::ProgressBar::new(0))
    } else {
        None
    };
    if let Some(b) = &bar {
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} ops · {per_sec} · eta {eta} · {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
    }
    let (mut failed, mut ok) = (0usize, 0usize);
    while let Some(ev) = events.recv().await {
        let Some(b) = &bar else { continue };
        match ev {
            ApplyEvent::Started { to_do, resumed, .. } => {
                b.set_length(to_do as u64);
                if resumed {
                    b.set_message("resuming");
                }
            }
            ApplyEvent::OpFinished { seq, report } => {
                b.inc(1);
                if report.outcome == Outcome::Failed {
                    failed += 1;
                    let op = &plan.operations[seq];
                    b.println(crate::sanitize::for_terminal(&format!(
                        "failed: {} {}: {}",
                        apply::op_name(op.op),
                        apply::target_label(op),
                        report.detail
                    )));
                } else {
                    ok += 1;
                }
                b.set_message(format!("{ok} done, {failed} failed"));
            }
            ApplyEvent::Paused { reason } => {
                b.set_message(crate::sanitize::for_terminal(&format!("paused: {reason}")))
            }
            ApplyEvent::Stopping { reason, .. } => b.set_message(crate::sanitize::for_terminal(
                &format!("stopping: {reason}"),
            )),
            ApplyEvent::Finished(_) => b.finish_and_clear(),
            _ => {}
        }
    }
}

/// The exit code of a finished run.
pub fn exit_code(s: &BatchSummary) -> i32 {
    if s.all_succeeded() {
        return exit::SUCCESS;
    }
    let kinds: Vec<_> = s.failures.iter().filter_map(|f| f.kind).collect();
    if !kinds.is_empty() && kinds.len() == s.failures.len() {
        if kinds.iter().all(|k| *k == FailureKind::Auth) {
            return exit::AUTH;
        }
        if kinds.iter().all(|k| *k == FailureKind::Network) {
            return exit::NETWORK;
        }
    }
    exit::FAILURE
}

fn report(run: &RunArgs, s: &BatchSummary) -> i32 {
    let code = exit_code(s);
    if run.json {
        let mut v = serde_json::to_value(s).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("ok".into(), json!(code == exit::SUCCESS));
            o.insert("exit_code".into(), json!(code));
        }
        println!("{}", crate::sanitize::json_for_terminal(&format!("{v:#}")));
        return code;
    }
    let secs = s.elapsed_ms as f64 / 1000.0;
    println!(
        "Batch {}: {} — {} operations: {} applied, {} already done, {} failed, {} not done ({} requests sent, {secs:.1} s).",
        s.batch,
        s.status.as_str(),
        s.total,
        s.applied,
        s.already,
        s.failed,
        s.not_started,
        s.requests_sent
    );
    if let Some(r) = &s.reason {
        println!("Stopped: {}", crate::sanitize::for_terminal(r));
    }
    for f in s.failures.iter().take(20) {
        println!(
            "  failed #{} {} {}: {}",
            f.seq,
            apply::op_name(f.op),
            crate::sanitize::for_terminal(&f.target),
            crate::sanitize::for_terminal(&f.detail)
        );
    }
    if s.failures.len() > 20 {
        println!(
            "  … and {} more (navscim journal show {})",
            s.failures.len() - 20,
            s.batch
        );
    }
    if s.status != EndStatus::Completed {
        println!(
            "Finish it with: navscim journal resume {} (same options); undo with: navscim journal undo {}",
            s.batch, s.batch
        );
    }
    code
}
