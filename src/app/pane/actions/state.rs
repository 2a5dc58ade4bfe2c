//! The Actions pane's state: the plan under review, the confirmation dialog, and the
//! batch being applied.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::app::keys::Context;
use crate::app::table::TableState;
use crate::app::text_field::TextField;
use crate::apply::{self, BatchSummary, PlannedRequest};
use crate::plan::{
    ExclusionReason, OpKind, Plan, ProtectedUsers, Refusal, Thresholds, EXCLUSION_REASONS,
};

/// Where a plan came from (shown above it, recorded in the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOrigin {
    /// Marked rows of the Users pane.
    Users,
    /// Marked idle / never-activated users of the Usage pane.
    Usage,
    /// A plan file loaded from disk.
    File(String),
    /// The reverse of a journaled batch.
    Undo { batch: String },
    /// The plan that was under review when navscim last ran, kept in the workspace
    /// (with where it came from then). Checked by the gates like any other.
    Workspace(String),
    /// An unfinished batch from the journal, to be finished.
    Resume {
        batch: String,
        path: std::path::PathBuf,
        /// The server the batch ran against: it is finished there or not at all.
        base_url: String,
        /// Operations already done in earlier runs (by index in the plan).
        done: Vec<bool>,
    },
}

impl PlanOrigin {
    pub fn describe(&self) -> String {
        match self {
            PlanOrigin::Users => "marked on the Users pane".into(),
            PlanOrigin::Usage => "marked on the Usage pane".into(),
            PlanOrigin::File(path) => format!("from {path}"),
            PlanOrigin::Undo { batch } => format!("undo of batch {batch}"),
            PlanOrigin::Resume { batch, .. } => format!("unfinished batch {batch}"),
            PlanOrigin::Workspace(was) => format!("kept in the workspace ({was})"),
        }
    }
}

/// What the table under the plan's header lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanView {
    #[default]
    Operations,
    Excluded,
    /// The dry run: exactly the requests the batch would send.
    Requests,
}

impl PlanView {
    pub fn next(self) -> Self {
        match self {
            PlanView::Operations => PlanView::Excluded,
            PlanView::Excluded => PlanView::Requests,
            PlanView::Requests => PlanView::Operations,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            PlanView::Operations => "Operations",
            PlanView::Excluded => "Excluded",
            PlanView::Requests => "Requests (dry run)",
        }
    }
}

/// A plan handed to the pane for review.
#[derive(Debug, Clone)]
pub struct PlanReview {
    pub plan: Plan,
    pub origin: PlanOrigin,
    /// Marked users the pane's filter hid when the plan was made (they are in the plan).
    pub hidden_marked: usize,
    /// The dry run, computed once.
    pub requests: Vec<PlannedRequest>,
    /// Things to tell the admin about the plan (e.g. what an undo cannot reverse).
    pub notes: Vec<String>,
    /// Operations per kind, counted once (the plan does not change under review).
    pub op_counts: BTreeMap<&'static str, usize>,
    /// Excluded users per reason, in the plan's order, counted once.
    pub excluded_by_reason: Vec<(ExclusionReason, usize)>,
    /// SCIM ids that the lookup results a plan file names give Sales Navigator admins
    /// ([`crate::apply::admin_ids_from_data`]); the gates protect them whatever the
    /// file says. Empty for plans built in the dashboard (its own users are used).
    pub admin_ids: Vec<String>,
}

impl PlanReview {
    pub fn new(plan: Plan, origin: PlanOrigin, hidden_marked: usize, notes: Vec<String>) -> Self {
        let requests = apply::dry_run(&plan);
        let op_counts = plan.op_counts();
        let excluded_by_reason = EXCLUSION_REASONS
            .iter()
            .map(|&why| (why, plan.excluded.iter().filter(|e| e.why == why).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        PlanReview {
            plan,
            origin,
            hidden_marked,
            requests,
            notes,
            op_counts,
            excluded_by_reason,
            admin_ids: Vec::new(),
        }
    }

    /// Operations still to send (a resumed batch has some done already).
    pub fn to_do(&self) -> usize {
        match &self.origin {
            PlanOrigin::Resume { done, .. } => done.iter().filter(|d| !**d).count(),
            _ => self.plan.operations.len(),
        }
    }

    pub fn rows(&self, view: PlanView) -> usize {
        match view {
            PlanView::Operations => self.plan.operations.len(),
            PlanView::Excluded => self.plan.excluded.len(),
            PlanView::Requests => self.requests.len(),
        }
    }

    pub fn has_kind(&self, kind: OpKind) -> bool {
        self.plan.operations.iter().any(|o| o.op == kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfirmFocus {
    /// The default: Enter on an open dialog cancels.
    #[default]
    Cancel,
    Apply,
}

/// "Apply this plan?": counts, the number to type, focus on Cancel.
#[derive(Debug, Clone, Default)]
pub struct ConfirmDialog {
    pub typed: TextField,
    pub focus: ConfirmFocus,
    /// Why the last Enter did not apply (wrong count typed).
    pub error: Option<String>,
}

/// The state of one operation of the running (or last) batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OpStatus {
    #[default]
    Pending,
    Running,
    Applied,
    /// Already in the target state: no request was needed.
    Already,
    Failed(String),
    /// Done in an earlier run of this batch.
    DoneBefore,
}

impl OpStatus {
    /// Done: applied, found already in the target state, or done in an earlier run.
    /// Failed operations are still to do.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            OpStatus::Applied | OpStatus::Already | OpStatus::DoneBefore
        )
    }

    pub fn label(&self) -> &'static str {
        match self {
            OpStatus::Pending => "pending",
            OpStatus::Running => "running",
            OpStatus::Applied => "applied",
            OpStatus::Already => "already",
            OpStatus::Failed(_) => "FAILED",
            OpStatus::DoneBefore => "done",
        }
    }
}

/// The batch being applied (or the last one, once finished).
#[derive(Debug, Clone, Default)]
pub struct BatchProgress {
    /// Known once the journal header is written.
    pub id: Option<String>,
    pub statuses: Vec<OpStatus>,
    pub applied: usize,
    pub already: usize,
    pub failed: usize,
    pub done_before: usize,
    pub in_flight: usize,
    /// When the batch started and the last operation finished (runtime clock).
    pub started_at: Option<Duration>,
    pub last_at: Option<Duration>,
    /// Why the batch is paused (the admin, or the circuit breaker).
    pub paused: Option<String>,
    /// Asked to pause, not yet confirmed by the runner.
    pub pause_requested: bool,
    /// Stopping (cancelled or stopped): nothing new starts, requests in flight finish.
    pub stopping: Option<String>,
    pub summary: Option<BatchSummary>,
    /// The Users pane's rows the batch targets, looked up again when it ends.
    pub targets: Vec<usize>,
}

impl BatchProgress {
    pub fn new(total: usize) -> Self {
        BatchProgress {
            statuses: vec![OpStatus::Pending; total],
            ..Default::default()
        }
    }

    pub fn running(&self) -> bool {
        self.summary.is_none()
    }

    pub fn total(&self) -> usize {
        self.statuses.len()
    }

    /// Finished in this run, plus done before.
    pub fn done(&self) -> usize {
        self.applied + self.already + self.failed + self.done_before
    }

    /// Operations finished per second in this run.
    pub fn rate(&self) -> Option<f64> {
        let (start, last) = (self.started_at?, self.last_at?);
        let secs = last.saturating_sub(start).as_secs_f64();
        let n = self.applied + self.already + self.failed;
        (secs > 0.0 && n > 0).then(|| n as f64 / secs)
    }

    /// Time left at the current rate.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate()?;
        let left = self.total().saturating_sub(self.done());
        Some(Duration::from_secs_f64(left as f64 / rate))
    }
}

#[derive(Debug, Clone, Default)]
pub struct ActionsState {
    pub review: Option<PlanReview>,
    pub view: PlanView,
    /// The cursor and scroll offset over the rows of `view` (nothing is filtered or
    /// marked here: the plan is reviewed whole).
    pub table: TableState<()>,
    /// Enter: the details of the operation (or exclusion) under the cursor.
    pub details_open: bool,
    pub confirm: Option<ConfirmDialog>,
    /// `o`: the path of a plan file to open.
    pub prompt: Option<TextField>,
    /// The limits for the plan under review: the defaults, until `+` raises them to fit it.
    pub thresholds: Thresholds,
    /// The admin's protected list (`protected.txt` in the config directory). Sales
    /// Navigator admins from the loaded exports are added when the gates are checked.
    pub protected: ProtectedUsers,
    /// What the gates said about the plan under review (empty: passes, or not checked).
    pub refusals: Vec<Refusal>,
    pub batch: Option<BatchProgress>,
    /// Batches a crash or kill left unfinished, offered for resuming.
    pub unfinished: Vec<UnfinishedBatch>,
    /// The last batch that finished in this session (what `u` undoes).
    pub last_batch: Option<String>,
    /// The admin chose to quit while a batch ran: quit once it has stopped.
    pub quit_when_stopped: bool,
    /// Bumped whenever the plan under review is replaced or discarded (the workspace
    /// keeps the plan under review; see [`crate::app::workspace::persist_changes`]).
    pub plan_seq: u64,
}

impl ActionsState {
    /// The key context of the pane (overlays aside).
    pub fn context(&self) -> Context {
        if self.confirm.is_some() || self.prompt.is_some() {
            Context::ActionsText
        } else if self.details_open {
            Context::Details
        } else {
            Context::Actions
        }
    }

    /// The text field typed into in [`Context::ActionsText`].
    pub fn text_field(&mut self) -> Option<&mut TextField> {
        if let Some(confirm) = self.confirm.as_mut() {
            return Some(&mut confirm.typed);
        }
        self.prompt.as_mut()
    }

    pub fn batch_running(&self) -> bool {
        self.batch.as_ref().is_some_and(BatchProgress::running)
    }

    /// Rows in the current view.
    pub fn rows(&self) -> usize {
        self.review.as_ref().map_or(0, |r| r.rows(self.view))
    }
}

/// A plan read from a file or built from the journal (undo), with what to tell the admin.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub plan: crate::plan::Plan,
    pub origin: PlanOrigin,
    /// e.g. operations an undo cannot reverse.
    pub notes: Vec<String>,
    /// SCIM ids of Sales Navigator admins according to the lookup results the plan
    /// file names ([`crate::apply::admin_ids_from_data`]); the gates protect them, so
    /// a plan edited to drop an admin's exclusion is refused. Empty for an undo.
    pub admin_ids: Vec<String>,
}

/// A batch in the journal that did not finish, offered for resuming.
#[derive(Debug, Clone, PartialEq)]
pub struct UnfinishedBatch {
    pub id: String,
    pub path: PathBuf,
    pub base_url: String,
    pub started: chrono::DateTime<chrono::Utc>,
    pub total: usize,
    pub counts: crate::journal::Counts,
    /// "interrupted" (crash, kill) or how it stopped.
    pub status: String,
    pub plan: Box<crate::plan::Plan>,
    /// Which operations are done already (by index in the plan).
    pub done: Vec<bool>,
}

impl UnfinishedBatch {
    /// A journaled batch as offered for resuming: its plan, where it ran, and which
    /// operations are done (from the journal's replay). Pure: the caller read the file.
    pub fn from_log(log: crate::journal::BatchLog) -> Self {
        UnfinishedBatch {
            id: log.id().to_string(),
            base_url: log.header.base_url.clone(),
            started: log.header.at,
            total: log.header.plan.operations.len(),
            counts: log.counts(),
            status: log.status().label(),
            done: log.op_states().iter().map(|s| s.is_done()).collect(),
            plan: Box::new(log.header.plan),
            path: log.path,
        }
    }

    /// Operations done (applied, or found already in the target state); failed ones
    /// are still to do.
    pub fn done_count(&self) -> usize {
        self.done.iter().filter(|d| **d).count()
    }
}
