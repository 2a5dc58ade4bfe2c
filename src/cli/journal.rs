//! `navscim journal list | show | resume | undo | export`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::apply::{execute, usage, RunArgs, Source};
use super::{exit, ConnectionArgs};
use crate::apply::{self, undo_plan};
use crate::journal::{self, BatchKind, BatchLog, BatchStatus};

#[derive(Debug, Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    pub command: JournalCommand,
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// List the batches in the journal, oldest first.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one batch: its plan, gates, and what happened to each operation.
    Show {
        /// Batch id, a unique prefix of it, or `last`.
        batch: String,
        #[arg(long)]
        json: bool,
    },
    /// Finish an interrupted batch (default: the only interrupted one). Each unfinished
    /// target is re-read first, so no operation happens twice.
    Resume {
        /// Batch id, a unique prefix of it, or `last`.
        batch: Option<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Reverse a batch: reactivate what it deactivated, deactivate what it created or
    /// reactivated. A new batch, subject to the same gates.
    Undo {
        batch: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Write a batch as CSV, one row per operation, for an audit trail.
    Export {
        batch: String,
        /// Output file (`-`: stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

pub async fn run(conn: &ConnectionArgs, args: &JournalArgs) -> i32 {
    let dir = journal::default_dir();
    match &args.command {
        JournalCommand::List { json } => list(&dir, *json),
        JournalCommand::Show { batch, json } => match open(&dir, batch) {
            Ok(log) => show(&log, *json),
            Err(e) => err(e),
        },
        JournalCommand::Export { batch, out } => match open(&dir, batch) {
            Ok(log) => export(&log, out),
            Err(e) => err(e),
        },
        JournalCommand::Resume { batch, run } => {
            let path = match batch {
                Some(b) => match journal::find(&dir, b) {
                    Ok(p) => p,
                    Err(e) => return usage(run, e.to_string()),
                },
                None => {
                    // "Nothing to resume" only when every batch file could be read: an
                    // unreadable one (no header, empty, the directory is a file…) may
                    // be the interrupted batch.
                    let (logs, errors) = journal::list(&dir);
                    if let Some(unreadable) = unreadable_journal(&dir, &errors) {
                        return super::error::Report::plain(run.json)
                            .fail(super::error::CliError::new(exit::FAILURE, unreadable));
                    }
                    let mut unfinished: Vec<BatchLog> = logs
                        .into_iter()
                        .filter(|l| {
                            l.status() == BatchStatus::Interrupted && !journal::is_locked(&l.path)
                        })
                        .collect();
                    match unfinished.len() {
                        0 => {
                            if run.json {
                                println!(
                                    "{}",
                                    crate::sanitize::json_for_terminal(&format!(
                                        "{:#}",
                                        json!({"ok": true, "message": "no interrupted batch", "exit_code": 0})
                                    ))
                                );
                            } else {
                                println!("No interrupted batch to resume.");
                            }
                            return exit::SUCCESS;
                        }
                        1 => unfinished.remove(0).path,
                        _ => {
                            let ids: Vec<_> =
                                unfinished.iter().map(|l| l.id().to_string()).collect();
                            return usage(
                                run,
                                format!(
                                    "several interrupted batches ({}): name the one to resume",
                                    ids.join(", ")
                                ),
                            );
                        }
                    }
                }
            };
            if journal::is_locked(&path) {
                return usage(
                    run,
                    format!("{} is being run by another navscim process", path.display()),
                );
            }
            execute(conn, run, Source::Resume { path }).await
        }
        JournalCommand::Undo { batch, run } => {
            let log = match open(&dir, batch) {
                Ok(l) => l,
                Err(e) => return usage(run, e),
            };
            // An undo goes to the server the batch ran against, as a resume does.
            if let Some(given) = &conn.base_url {
                let norm = |s: &str| s.trim().trim_end_matches('/').to_string();
                if norm(given) != norm(&log.header.base_url) {
                    return usage(
                        run,
                        format!(
                            "batch {} was run against {}, not {}: undo it with --base-url {} (or without --base-url)",
                            log.id(),
                            log.header.base_url,
                            given,
                            log.header.base_url
                        ),
                    );
                }
            }
            if matches!(log.status(), BatchStatus::Interrupted) && !run.dry_run {
                return usage(
                    run,
                    format!(
                        "batch {} was interrupted: resume it first (navscim journal resume {}), then undo it",
                        log.id(),
                        log.id()
                    ),
                );
            }
            let (plan, notes) = undo_plan(&log);
            execute(
                conn,
                run,
                Source::New {
                    plan: Box::new(plan),
                    plan_file: None,
                    kind: BatchKind::Undo,
                    undo_of: Some(log.id().to_string()),
                    notes,
                    default_base_url: Some(log.header.base_url.clone()),
                },
            )
            .await
        }
    }
}

/// The message for a journal that cannot be fully read, naming each unreadable file.
fn unreadable_journal(dir: &std::path::Path, errors: &[journal::JournalError]) -> Option<String> {
    if errors.is_empty() {
        return None;
    }
    let names: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    Some(format!(
        "cannot tell whether a batch is unfinished: the journal in {} cannot be read: {}. Fix or move the file(s) named, or name the batch to resume",
        dir.display(),
        names.join("; ")
    ))
}

fn err(message: String) -> i32 {
    super::error::Report::plain(false).fail(super::error::CliError::usage(message))
}

fn open(dir: &std::path::Path, batch: &str) -> Result<BatchLog, String> {
    let path = journal::find(dir, batch).map_err(|e| e.to_string())?;
    journal::read_batch(&path).map_err(|e| e.to_string())
}

fn list(dir: &std::path::Path, as_json: bool) -> i32 {
    let (logs, errors) = journal::list(dir);
    if as_json {
        let rows: Vec<_> = logs
            .iter()
            .map(|l| {
                json!({
                    "batch": l.id(),
                    "kind": l.header.kind.as_str(),
                    "undo_of": l.header.undo_of,
                    "started_at": l.header.at,
                    "operator": l.header.operator,
                    "base_url": l.header.base_url,
                    "status": l.status_word(),
                    "operations": l.header.plan.operations.len(),
                    "counts": l.counts(),
                    "notes": l.notes,
                })
            })
            .collect();
        let errs: Vec<_> = errors.iter().map(|e| e.to_string()).collect();
        println!(
            "{}",
            crate::sanitize::json_for_terminal(&format!(
                "{:#}",
                json!({ "journal": dir, "batches": rows, "errors": errs })
            ))
        );
    } else if logs.is_empty() && errors.is_empty() {
        println!("No batches in {}.", dir.display());
    } else {
        println!(
            "{:<24} {:<6} {:<20} {:<28} {:>5} {:>7} {:>7} {:>6} {:>7}",
            "BATCH",
            "KIND",
            "STARTED (UTC)",
            "STATUS",
            "OPS",
            "APPLIED",
            "ALREADY",
            "FAILED",
            "NOTDONE"
        );
        for l in &logs {
            let c = l.counts();
            println!(
                "{:<24} {:<6} {:<20} {:<28} {:>5} {:>7} {:>7} {:>6} {:>7}",
                l.id(),
                l.header.kind.as_str(),
                l.header.at.format("%Y-%m-%d %H:%M:%S"),
                l.status_word(),
                l.header.plan.operations.len(),
                c.applied,
                c.already,
                c.failed,
                c.in_doubt + c.not_started
            );
        }
        for e in &errors {
            eprintln!("navscim: {}", crate::sanitize::for_terminal(&e.to_string()));
        }
    }
    if errors.is_empty() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    }
}

fn show(log: &BatchLog, as_json: bool) -> i32 {
    let h = &log.header;
    let states = log.op_states();
    let attempts = log.attempts();
    if as_json {
        let ops: Vec<_> = h
            .plan
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let (state, detail) = states[i].word();
                json!({
                    "seq": i,
                    "op": op.op,
                    "target": apply::target_label(op),
                    "scim_id": op.scim_id,
                    "reason": op.reason,
                    "state": state,
                    "detail": detail,
                    "attempts": attempts[i],
                })
            })
            .collect();
        println!(
            "{}",
            crate::sanitize::json_for_terminal(&format!(
                "{:#}",
                json!({
                    "batch": h.batch,
                    "kind": h.kind.as_str(),
                    "undo_of": h.undo_of,
                    "started_at": h.at,
                    "operator": h.operator,
                    "base_url": h.base_url,
                    "plan_file": h.plan_file,
                    "gates": h.gates,
                    "status": log.status_word(),
                    "counts": log.counts(),
                    "notes": log.notes,
                    "operations": ops,
                })
            ))
        );
        return exit::SUCCESS;
    }
    println!("Batch {} ({})", h.batch, h.kind.as_str());
    if let Some(u) = &h.undo_of {
        println!("Undo of: {u}");
    }
    println!("Started: {} by {}", h.at.to_rfc3339(), h.operator);
    println!("Server:  {}", h.base_url);
    if let Some(p) = &h.plan_file {
        println!("Plan:    {}", crate::sanitize::for_terminal(p));
    }
    println!(
        "Gates:   {} · max {} operations / {}% of {} matched · {} protected · DELETE {}",
        h.gates.permissions.badge(),
        h.gates.thresholds.max_count,
        h.gates.thresholds.max_percent,
        h.plan.matched_users,
        h.gates.protected_users,
        if h.gates.delete_allowed {
            "allowed"
        } else {
            "not allowed"
        }
    );
    let c = log.counts();
    println!(
        "Status:  {} — {} applied, {} already, {} failed, {} in doubt, {} not started",
        log.status_word(),
        c.applied,
        c.already,
        c.failed,
        c.in_doubt,
        c.not_started
    );
    for n in &log.notes {
        println!("Note:    {}", crate::sanitize::for_terminal(n));
    }
    for e in &log.entries {
        if let journal::Entry::Note(n) = e {
            println!(
                "Log:     {} {}",
                n.at.format("%H:%M:%S"),
                crate::sanitize::for_terminal(&n.text)
            );
        }
    }
    for (i, op) in h.plan.operations.iter().enumerate() {
        let (state, detail) = states[i].word();
        println!(
            "#{i:<4} {:<10} {:<40} {:<11} {}",
            apply::op_name(op.op),
            crate::sanitize::for_terminal(&apply::target_label(op)),
            state,
            crate::sanitize::for_terminal(&detail)
        );
    }
    exit::SUCCESS
}

fn export(log: &BatchLog, out: &PathBuf) -> i32 {
    let result = if out.as_os_str() == "-" {
        journal::export_csv(log, std::io::stdout().lock())
    } else {
        match std::fs::File::create(out) {
            Ok(f) => journal::export_csv(log, std::io::BufWriter::new(f)),
            Err(e) => return err(format!("cannot write {}: {e}", out.display())),
        }
    };
    match result {
        Ok(()) => {
            if out.as_os_str() != "-" {
                eprintln!(
                    "Wrote {} operations of batch {} to {}.",
                    log.header.plan.operations.len(),
                    log.id(),
                    out.display()
                );
            }
            exit::SUCCESS
        }
        Err(e) => err(format!("cannot write {}: {e}", out.display())),
    }
}
