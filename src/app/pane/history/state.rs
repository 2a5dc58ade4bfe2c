//! The History pane's state: every batch of the journal on disk (newest first), the
//! one shown in detail, and the workspace's snapshots for the trend chart.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::app::keys::Context;
use crate::app::pane::actions::state::UnfinishedBatch;
use crate::app::table::TableState;
use crate::journal::{BatchKind, BatchLog, BatchStatus, Counts, EndStatus, Entry};
use crate::plan::OpKind;
use crate::workspace::Snapshot;

/// How a batch ended, as the journal says (the list's "outcome" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every operation done.
    Complete,
    /// No `end` line and no navscim holds it: a crash or kill stopped it.
    Interrupted,
    /// No `end` line, and a running navscim holds its lock (it is running now).
    Running,
    /// Ended with operations not done: cancelled, failed, circuit breaker, journal error.
    Stopped(EndStatus),
}

impl BatchOutcome {
    /// From the journal's status and whether another process holds the batch's lock.
    pub fn new(status: BatchStatus, locked: bool) -> Self {
        match status {
            BatchStatus::Completed => BatchOutcome::Complete,
            BatchStatus::Interrupted if locked => BatchOutcome::Running,
            BatchStatus::Interrupted => BatchOutcome::Interrupted,
            BatchStatus::Stopped(end) => BatchOutcome::Stopped(end),
        }
    }

    /// One word for the list: `complete`, `interrupted`, `running`, `cancelled`,
    /// `failed`, `breaker` (the circuit breaker stopped it), `journal error`.
    pub fn word(self) -> &'static str {
        match self {
            BatchOutcome::Complete => "complete",
            BatchOutcome::Interrupted => "interrupted",
            BatchOutcome::Running => "running",
            BatchOutcome::Stopped(EndStatus::Completed) => "stopped",
            BatchOutcome::Stopped(EndStatus::Cancelled) => "cancelled",
            BatchOutcome::Stopped(EndStatus::Failed) => "failed",
            BatchOutcome::Stopped(EndStatus::CircuitBreaker) => "breaker",
            BatchOutcome::Stopped(EndStatus::JournalError) => "journal error",
        }
    }

    /// Whether `r` can finish it: not complete, and no navscim is running it.
    pub fn resumable(self) -> bool {
        matches!(self, BatchOutcome::Interrupted | BatchOutcome::Stopped(_))
    }
}

/// One operation of a journaled batch and what happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalOp {
    pub op: OpKind,
    /// Who it targets: email, user name or SCIM id ([`crate::apply::target_label`]).
    pub target: String,
    /// [`crate::journal::OpState::word`]: `applied`, `already`, `failed`, `in_doubt`,
    /// `not_started`.
    pub state: &'static str,
    /// The result's detail (the server's answer, why it failed).
    pub detail: String,
    /// Intents written for it (1 for a first attempt; more after a failure or resume).
    pub attempts: u32,
}

/// Lines above the notes and operations when a batch is shown whole: started, ended,
/// server, tenant, plan, result, a blank line and the operations' header.
pub const DETAIL_HEADER_LINES: usize = 8;

/// One batch of the journal, as the History pane lists and shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalBatch {
    pub id: String,
    pub kind: BatchKind,
    /// The batch an undo reverses.
    pub undo_of: Option<String>,
    /// When the batch started (its header's time, UTC).
    pub started: DateTime<Utc>,
    /// When its last run stopped (the last `end` line), if one did.
    pub ended: Option<DateTime<Utc>>,
    /// `user@host` that ran it.
    pub operator: String,
    /// The SCIM base URL it ran against.
    pub base_url: String,
    /// The profile and tenant label its plan was built for, when the plan recorded them.
    pub profile: Option<String>,
    pub tenant: Option<String>,
    /// The plan file it came from, if any.
    pub plan_file: Option<String>,
    pub outcome: BatchOutcome,
    /// Operations by where they stand (from the journal's replay).
    pub counts: Counts,
    pub ops: Vec<JournalOp>,
    /// What the journal noted: problems reading it, pauses, repairs.
    pub notes: Vec<String>,
    /// The batch as the Actions pane resumes it (not complete, not running).
    pub resumable: Option<UnfinishedBatch>,
}

impl JournalBatch {
    /// From a batch read back from the journal; `locked`: another navscim holds it
    /// (it is running). Pure: the caller read the file and the lock.
    pub fn from_log(log: BatchLog, locked: bool) -> Self {
        let h = &log.header;
        let outcome = BatchOutcome::new(log.status(), locked);
        let attempts = log.attempts();
        let ops = h
            .plan
            .operations
            .iter()
            .zip(log.op_states())
            .zip(attempts)
            .map(|((op, state), attempts)| {
                let (word, detail) = state.word();
                JournalOp {
                    op: op.op,
                    target: shown(&crate::apply::target_label(op)),
                    state: word,
                    detail: shown(&detail),
                    attempts,
                }
            })
            .collect();
        let mut notes: Vec<String> = log.notes.iter().map(|n| shown(n)).collect();
        for e in &log.entries {
            if let Entry::Note(n) = e {
                notes.push(format!("{} {}", n.at.format("%H:%M:%S"), shown(&n.text)));
            }
        }
        if let Some(reason) = log.last_end().and_then(|e| e.reason.as_deref()) {
            notes.push(format!("stopped: {}", shown(reason)));
        }
        let target = h.plan.target.as_deref();
        JournalBatch {
            id: h.batch.clone(),
            kind: h.kind,
            undo_of: h.undo_of.clone(),
            started: h.at,
            ended: log.last_end().map(|e| e.at),
            operator: shown(&h.operator),
            base_url: shown(&h.base_url),
            profile: target.map(|t| shown(&t.profile)),
            tenant: target.and_then(|t| t.tenant.as_deref().map(shown)),
            plan_file: h.plan_file.as_deref().map(shown),
            outcome,
            counts: log.counts(),
            ops,
            notes,
            resumable: outcome.resumable().then(|| UnfinishedBatch::from_log(log)),
        }
    }

    /// Operations that succeeded: applied, or found already in the target state.
    pub fn ok(&self) -> usize {
        self.counts.applied + self.counts.already
    }

    /// Operations not done: never started, or interrupted with the answer unknown.
    pub fn not_done(&self) -> usize {
        self.counts.not_started + self.counts.in_doubt
    }

    /// Lines of the batch shown whole ([`DETAIL_HEADER_LINES`], a line a note, a line
    /// an operation): what its scrolling is bounded by.
    pub fn detail_lines(&self) -> usize {
        DETAIL_HEADER_LINES + self.notes.len() + self.ops.len()
    }

    /// The tenant (or, without a label, the profile) its plan was built for.
    pub fn tenant_or_profile(&self) -> Option<&str> {
        self.tenant.as_deref().or(self.profile.as_deref())
    }
}

/// A value from the journal as the screen may show it: secrets scrubbed, control
/// characters escaped, on one line (it may come from a server or a file).
fn shown(text: &str) -> String {
    crate::sanitize::escape_value(&crate::secret::scrub(text))
}

/// What reading the journal directory found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JournalListing {
    /// The directory read (`Settings.journal_dir`, or the platform's default).
    pub dir: PathBuf,
    /// Every batch that could be read, newest first.
    pub batches: Vec<JournalBatch>,
    /// Files that could not be read, each named with why.
    pub errors: Vec<String>,
}

/// The journal list as loaded.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum JournalView {
    /// Not read yet (the pane was never shown).
    #[default]
    NotLoaded,
    Loading,
    Loaded(JournalListing),
    /// The directory could not be read at all.
    Failed(String),
}

/// The trend chart's data as loaded.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TrendView {
    #[default]
    NotLoaded,
    /// The session has no workspace (`state.workspace_path` is `None`).
    NoWorkspace,
    Loading,
    /// The workspace's snapshots, oldest first (empty: none recorded yet, or no
    /// workspace file at the path yet).
    Loaded {
        path: PathBuf,
        snapshots: Vec<Snapshot>,
    },
    /// The workspace could not be read (damaged, newer, …): the message names it.
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    pub journal: JournalView,
    /// The cursor over the batches (newest first; no filter or marks).
    pub table: TableState<()>,
    /// Enter: the batch under the cursor is shown with its operations.
    pub details_open: bool,
    /// Scroll of the details, in lines.
    pub details_scroll: u16,
    pub trend: TrendView,
    /// Numbers the latest reads, so an older answer never replaces a newer one.
    pub seq: u64,
    /// The journal and the snapshots were read and nothing has changed them since:
    /// showing the pane again reads nothing. Cleared when a batch finishes, an undo or
    /// a resume starts, a run snapshot is recorded, a workspace opens, or on `r`.
    pub read: bool,
}

impl HistoryState {
    /// The key context of the pane (overlays aside).
    pub fn context(&self) -> Context {
        if self.details_open {
            Context::Details
        } else {
            Context::History
        }
    }

    /// The batches listed (none until the journal is read).
    pub fn batches(&self) -> &[JournalBatch] {
        match &self.journal {
            JournalView::Loaded(listing) => &listing.batches,
            _ => &[],
        }
    }

    /// The batch under the cursor.
    pub fn selected(&self) -> Option<&JournalBatch> {
        self.batches().get(self.table.cursor)
    }
}
