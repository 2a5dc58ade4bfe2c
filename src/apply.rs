//! The apply engine, shared by the TUI and the headless commands (`navscim apply`,
//! `navscim journal resume|undo`): gates, dry run, and a concurrent, journaled,
//! pausable runner with a circuit breaker.
//!
//! # Use
//!
//! ```text
//! gates.check(&plan)?                          // nothing is sent when refused
//! let batch = Batch::start(&dir, plan, &gates, meta)?   // journal header written
//!     or   Batch::resume(&path, &gates, base_url)?      // re-checks the gates
//! let summary = run(&client, batch, &options, control_rx, events_tx).await;
//! ```
//!
//! # Exactly once
//!
//! For every operation the runner first re-reads the target (`GET /Users/{id}`, or a
//! `userName eq` lookup for a create). Already in the target state: recorded as
//! `already`, no request. Otherwise an `intent` line (with what the re-read saw) is
//! written and fsync'd, the request is sent, and a `result` line is fsync'd. After a
//! crash, an operation with an intent but no result is re-read again: if it is now in
//! the target state and the intent saw it in the other state, the interrupted request
//! landed (`applied`, confirmed by re-read); otherwise the request is sent again. A
//! deactivation that meets 404 counts as done.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::batch_lock::{LockError, TargetLock};
use crate::journal::{
    self, BatchHeader, BatchKind, BatchLog, End, EndStatus, Entry, FailureKind, GatesRecord,
    Intent, JournalError, Observed, OpResult, OpState, Outcome, Writer,
};
use crate::plan::{
    check_gates, ExclusionReason, OpKind, Operation, Permissions, Plan, PlanInput, ProtectedUsers,
    Refusal, Thresholds, PLAN_VERSION,
};
use crate::scim::{
    Breaker, ErrorCategory, Filter, FilterAttr, NewUser, PatchOp, ScimClient, ScimError, ScimUser,
};

/// Everything an apply must pass before a request leaves navscim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gates {
    pub permissions: Permissions,
    pub thresholds: Thresholds,
    /// The admin's protected list (plus admins from the export). Users the plan itself
    /// excluded as protected or admin are added by [`Gates::check`].
    pub protected: ProtectedUsers,
    /// True only when the server advertises DELETE and the admin chose it.
    pub delete_allowed: bool,
}

impl Gates {
    /// Read-only, default thresholds, nobody protected, no DELETE.
    pub fn read_only() -> Self {
        Gates::default()
    }

    /// [`check_gates`] with the plan's own protected/admin exclusions added to the
    /// protected users, so a hand-edited plan cannot sneak an admin back in.
    pub fn check(&self, plan: &Plan) -> Result<(), Vec<Refusal>> {
        let protected = self.protected_for(plan);
        check_gates(
            plan,
            self.permissions,
            self.thresholds,
            &protected,
            self.delete_allowed,
        )
    }

    fn protected_for(&self, plan: &Plan) -> ProtectedUsers {
        let mut p = self.protected.clone();
        for ex in &plan.excluded {
            if matches!(ex.why, ExclusionReason::Protected | ExclusionReason::Admin) {
                if let Some(e) = &ex.email {
                    p.add_email(e);
                }
                if let Some(id) = &ex.scim_id {
                    p.add_scim_id(id);
                }
            }
        }
        p
    }

    fn record(&self, plan: &Plan) -> GatesRecord {
        let p = self.protected_for(plan);
        GatesRecord {
            permissions: self.permissions,
            thresholds: self.thresholds,
            delete_allowed: self.delete_allowed,
            protected_users: p.emails.len() + p.scim_ids.len(),
        }
    }
}

/// The lookup results a plan names (its `lookup_results` inputs), each read as plan
/// candidates with the file it came from. A recorded path is tried as written, then
/// beside the plan file. `Err`: a named file cannot be found or read (refuse: the gates
/// use that data, not the plan's word).
fn named_lookup_results(
    plan: &Plan,
    plan_path: &Path,
) -> Result<Vec<(String, Vec<crate::plan::PlanCandidate>)>, String> {
    let mut out = Vec::new();
    for input in plan.inputs.iter().filter(|i| i.kind == "lookup_results") {
        let recorded = std::path::PathBuf::from(&input.path);
        let beside = plan_path
            .parent()
            .map(|d| d.join(recorded.file_name().unwrap_or_default()));
        let path = std::iter::once(recorded.clone())
            .chain(beside)
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "refused, nothing was sent: the plan's share of matched users cannot be checked: its lookup results {} cannot be read (the share gate uses that data, not the plan's matched_users); run from the directory the plan was made in, or put the results beside the plan",
                    input.path
                )
            })?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "refused, nothing was sent: cannot read the plan's lookup results {}: {e}",
                path.display()
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let candidates = crate::plan::read_lookup_results(&path.display().to_string(), text)
            .map_err(|e| format!("refused, nothing was sent: the plan's lookup results: {e}"))?;
        out.push((path.display().to_string(), candidates));
    }
    Ok(out)
}

/// How many users the lookup results a plan names hold as matched, and the last file
/// read (`None`: the plan names no lookup results).
pub fn matched_from_data(plan: &Plan, plan_path: &Path) -> Result<Option<(usize, String)>, String> {
    let mut found: Option<(usize, String)> = None;
    for (file, candidates) in named_lookup_results(plan, plan_path)? {
        let matched = candidates
            .iter()
            .filter(|c| matches!(c.status, crate::matching::MatchStatus::Matched { .. }))
            .count();
        let total = found.as_ref().map_or(0, |f| f.0) + matched;
        found = Some((total, file));
    }
    Ok(found)
}

/// The SCIM ids that the lookup results a plan names resolve Sales Navigator admins to
/// (any of an admin's rows; DESIGN §8: protection follows the SCIM user). `navscim apply`
/// adds them to the protected users, so a plan edited to drop an admin's exclusion still
/// cannot deprovision the admin.
pub fn admin_ids_from_data(plan: &Plan, plan_path: &Path) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for (_, candidates) in named_lookup_results(plan, plan_path)? {
        ids.extend(
            candidates
                .iter()
                .filter(|c| c.is_admin)
                .filter_map(|c| c.scim_id.clone()),
        );
    }
    Ok(ids)
}

/// Sets `plan.matched_users` (the share gate's base) from the lookup results the plan
/// names ([`matched_from_data`]) when they disagree, and says so (`Ok(Some(note))`).
/// Used by `navscim apply` and by the TUI when it opens a plan file: an edited
/// `matched_users` never widens the gate. `Err`: the data cannot be read (refuse).
pub fn base_from_data(plan: &mut Plan, plan_path: &Path) -> Result<Option<String>, String> {
    match matched_from_data(plan, plan_path)? {
        Some((counted, file)) if counted != plan.matched_users => {
            let note = format!(
                "the plan says {} matched users, but its lookup results {file} hold {counted}: the share gate uses {counted}",
                plan.matched_users
            );
            plan.matched_users = counted;
            Ok(Some(note))
        }
        _ => Ok(None),
    }
}

/// One request a dry run shows (exactly what would be sent, if the re-read finds the
/// user not yet in the target state).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRequest {
    pub seq: usize,
    pub method: &'static str,
    /// Relative to the base URL, e.g. `/Users/2819c223`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl fmt::Display for PlannedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(b) = &self.body {
            write!(f, " {b}")?;
        }
        Ok(())
    }
}

const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn user_path(id: &str) -> String {
    format!("/Users/{}", utf8_percent_encode(id, SEGMENT))
}

/// What `create` sends for an operation: its `new_user`, else one made of its
/// userName / email / externalId.
pub fn new_user_for(op: &Operation) -> Option<NewUser> {
    if let Some(u) = &op.new_user {
        return Some(u.clone());
    }
    let user_name = op
        .user_name
        .clone()
        .or_else(|| op.email.clone())
        .filter(|s| !s.trim().is_empty())?;
    Some(NewUser {
        user_name,
        external_id: op.external_id.clone(),
        given_name: None,
        family_name: None,
        email: op.email.clone(),
    })
}

/// The state-changing requests a plan would send, in order. Sends nothing.
pub fn dry_run(plan: &Plan) -> Vec<PlannedRequest> {
    plan.operations
        .iter()
        .enumerate()
        .map(|(seq, op)| {
            let id = op.scim_id.as_deref().unwrap_or("<missing SCIM id>");
            let patch = |active: bool| serde_json::to_value(PatchOp::set_active(active)).ok();
            match op.op {
                OpKind::Deactivate => PlannedRequest {
                    seq,
                    method: "PATCH",
                    path: user_path(id),
                    body: patch(false),
                },
                OpKind::Reactivate => PlannedRequest {
                    seq,
                    method: "PATCH",
                    path: user_path(id),
                    body: patch(true),
                },
                OpKind::Delete => PlannedRequest {
                    seq,
                    method: "DELETE",
                    path: user_path(id),
                    body: None,
                },
                OpKind::Create => PlannedRequest {
                    seq,
                    method: "POST",
                    path: "/Users".into(),
                    body: new_user_for(op).map(|u| u.to_resource()),
                },
            }
        })
        .collect()
}

/// A short label for an operation's target: email, else userName, else SCIM id.
pub fn target_label(op: &Operation) -> String {
    op.email
        .clone()
        .or_else(|| op.user_name.clone())
        .or_else(|| op.scim_id.clone())
        .or_else(|| op.new_user.as_ref().map(|u| u.user_name.clone()))
        .unwrap_or_else(|| "?".into())
}

pub fn op_name(kind: OpKind) -> &'static str {
    kind.name()
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("refused: {}", .0.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; "))]
    Refused(Vec<Refusal>),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Another batch runs against the same server (see [`crate::batch_lock`]).
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("batch {batch} was run against {recorded}, not {given}: resume it with --base-url {recorded}")]
    WrongServer {
        batch: String,
        recorded: String,
        given: String,
    },
}

/// Who/what a new batch is, for its journal header.
#[derive(Debug, Clone)]
pub struct BatchMeta {
    pub kind: BatchKind,
    pub undo_of: Option<String>,
    pub plan_file: Option<String>,
    pub base_url: String,
}

/// A batch ready to run: its journal is open (and locked) and its state replayed.
#[derive(Debug)]
pub struct Batch {
    /// One batch per server at a time: held until the run ends.
    lock: TargetLock,
    writer: Writer,
    header: BatchHeader,
    states: Vec<OpState>,
    resumed: bool,
    /// Who must never be deprovisioned: the gates' list plus the plan's own
    /// protected/admin exclusions. Checked again against each SCIM user as re-read
    /// right before its request.
    protected: ProtectedUsers,
}

impl Batch {
    /// Checks the gates and that the plan was built for this server (its recorded
    /// target, if any: the one check every front end shares; profile and tenant are
    /// checked by the front ends, which know them), then writes the batch header.
    /// Nothing is sent.
    pub fn start(
        dir: &Path,
        plan: Plan,
        gates: &Gates,
        meta: BatchMeta,
    ) -> Result<Batch, ApplyError> {
        gates.check(&plan).map_err(ApplyError::Refused)?;
        if let Some(built_for) = plan.target.as_deref() {
            if !crate::plan::same_server(&built_for.server, &meta.base_url) {
                return Err(ApplyError::Refused(vec![Refusal::WrongTarget {
                    built_for: built_for.describe(),
                    used: meta.base_url.clone(),
                }]));
            }
        }
        // Before the journal file exists: a refused batch leaves no file behind.
        let lock = TargetLock::acquire(dir)?;
        let mut header = BatchHeader {
            v: journal::JOURNAL_VERSION,
            batch: String::new(),
            at: Utc::now(),
            kind: meta.kind,
            undo_of: meta.undo_of,
            plan_file: meta.plan_file,
            base_url: meta.base_url,
            operator: journal::operator(),
            navscim_version: env!("CARGO_PKG_VERSION").into(),
            gates: gates.record(&plan),
            plan,
        };
        let protected = gates.protected_for(&header.plan);
        let writer = Writer::create(dir, &mut header)?;
        let states = vec![OpState::NotStarted; header.plan.operations.len()];
        Ok(Batch {
            lock,
            writer,
            header,
            states,
            resumed: false,
            protected,
        })
    }

    /// Opens an unfinished batch to finish it: takes its lock, re-checks the gates
    /// against its plan as given now, and refuses another server than the one it ran
    /// against (`base_url` `None`: no check).
    pub fn resume(path: &Path, gates: &Gates, base_url: Option<&str>) -> Result<Batch, ApplyError> {
        // One batch per journal at a time (before the batch's own lock, so that a
        // refusal names whichever batch runs).
        let dir = path.parent().unwrap_or(Path::new("."));
        let lock = TargetLock::acquire(dir)?;
        let (writer, log) = Writer::open(path)?;
        if let Some(given) = base_url {
            let norm = |s: &str| s.trim_end_matches('/').to_string();
            if norm(given) != norm(&log.header.base_url) {
                return Err(ApplyError::WrongServer {
                    batch: log.header.batch.clone(),
                    recorded: log.header.base_url.clone(),
                    given: given.into(),
                });
            }
        }
        gates.check(&log.header.plan).map_err(ApplyError::Refused)?;
        let states = log.op_states();
        let protected = gates.protected_for(&log.header.plan);
        Ok(Batch {
            lock,
            writer,
            header: log.header,
            states,
            resumed: true,
            protected,
        })
    }

    pub fn id(&self) -> &str {
        &self.header.batch
    }

    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    pub fn plan(&self) -> &Plan {
        &self.header.plan
    }

    pub fn journal_path(&self) -> &Path {
        self.writer.path()
    }

    /// Operations not yet done (not started, in doubt, or failed before).
    pub fn to_do(&self) -> usize {
        self.states.iter().filter(|s| !s.is_done()).count()
    }

    pub fn in_doubt(&self) -> usize {
        self.states
            .iter()
            .filter(|s| matches!(s, OpState::InDoubt { .. }))
            .count()
    }
}

/// Sent by the TUI (or Ctrl-C) to steer a running batch. Pause and Cancel let the
/// requests in flight finish and start nothing new. After a circuit-breaker pause,
/// send `Run` (again) to continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Run,
    Pause,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerAction {
    /// TUI: pause and let the admin decide.
    Pause,
    /// Headless: stop and report.
    Stop,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Operations in flight at once.
    pub concurrency: usize,
    /// Consecutive failures that trip the circuit breaker (an authentication failure
    /// trips it at once).
    pub breaker_after: u32,
    pub on_breaker: BreakerAction,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 8,
            breaker_after: 5,
            on_breaker: BreakerAction::Stop,
        }
    }
}

/// What happened to one operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpReport {
    pub outcome: Outcome,
    pub detail: String,
    pub request_sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PauseReason {
    Requested,
    CircuitBreaker { failures: u32, last_error: String },
}

impl fmt::Display for PauseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PauseReason::Requested => f.write_str("paused by the admin"),
            PauseReason::CircuitBreaker {
                failures,
                last_error,
            } => write!(
                f,
                "circuit breaker: {failures} consecutive failures (last: {last_error})"
            ),
        }
    }
}

/// Progress, for the TUI's reducer and the headless progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyEvent {
    Started {
        batch: String,
        total: usize,
        /// Done in earlier runs of this batch (resume).
        done_before: usize,
        to_do: usize,
        resumed: bool,
    },
    OpStarted {
        seq: usize,
    },
    OpFinished {
        seq: usize,
        report: OpReport,
    },
    Paused {
        reason: PauseReason,
    },
    Resumed,
    /// No new operation starts; those in flight finish.
    Stopping {
        status: EndStatus,
        reason: String,
    },
    Finished(BatchSummary),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedOp {
    pub seq: usize,
    pub op: OpKind,
    pub target: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<FailureKind>,
}

/// The end of a run, over the whole batch (including earlier runs of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchSummary {
    pub batch: String,
    pub journal: String,
    pub total: usize,
    pub applied: usize,
    pub already: usize,
    pub failed: usize,
    /// Not done: never started, or in doubt (cancelled, stopped).
    pub not_started: usize,
    pub status: EndStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub failures: Vec<FailedOp>,
    /// State-changing requests sent in this run.
    pub requests_sent: usize,
    pub elapsed_ms: u64,
}

impl BatchSummary {
    pub fn all_succeeded(&self) -> bool {
        self.status == EndStatus::Completed
    }
}

fn failure_kind(e: &ScimError) -> FailureKind {
    match e.category() {
        ErrorCategory::Auth => FailureKind::Auth,
        ErrorCategory::Network => FailureKind::Network,
        ErrorCategory::Server => FailureKind::Server,
        ErrorCategory::Local => FailureKind::Local,
    }
}

/// Runs (or continues) a batch until every operation is done, or it is cancelled or
/// stopped. Events go to `events` (a closed receiver is fine). Never panics on
/// server or journal errors: they end up in the summary.
pub async fn run(
    client: &ScimClient,
    batch: Batch,
    options: &RunOptions,
    mut control: watch::Receiver<Control>,
    events: mpsc::UnboundedSender<ApplyEvent>,
) -> BatchSummary {
    let started = Instant::now();
    let Batch {
        lock,
        writer,
        header,
        mut states,
        resumed,
        protected,
    } = batch;
    let protected = Arc::new(protected);
    // Held until the end line is written (dropped when this function returns).
    let _lock = lock;
    // Cancelling interrupts the client's waits (rate, Retry-After, retries: no retry
    // starts after it); requests already sent finish and are journaled. A Retry-After
    // longer than the client waits trips the breaker: the batch stops.
    let stop_requests = tokio_util::sync::CancellationToken::new();
    let _cancel_on_exit = stop_requests.clone().drop_guard();
    let breaker = Breaker::new(None);
    let client = &client.guarded(stop_requests.clone(), Some(breaker.clone()));
    let writer = Arc::new(writer);
    let ops: Arc<Vec<Operation>> = Arc::new(header.plan.operations.clone());
    let total = ops.len();
    let mut queue: VecDeque<usize> = (0..total).filter(|&i| !states[i].is_done()).collect();
    let emit = |e: ApplyEvent| {
        let _ = events.send(e);
    };
    emit(ApplyEvent::Started {
        batch: header.batch.clone(),
        total,
        done_before: total - queue.len(),
        to_do: queue.len(),
        resumed,
    });
    let mut stop: Option<(EndStatus, String)> = None;
    if resumed {
        let in_doubt = states
            .iter()
            .filter(|s| matches!(s, OpState::InDoubt { .. }))
            .count();
        let text = format!(
            "resumed by {}: {} operations to do, {in_doubt} of them in doubt (re-read before any request)",
            journal::operator(),
            queue.len()
        );
        if let Err(e) = append(&writer, Entry::Note(note(text))).await {
            stop = Some((EndStatus::JournalError, e.to_string()));
        }
    }

    let concurrency = options.concurrency.max(1);
    let breaker_after = options.breaker_after.max(1);
    let mut set = tokio::task::JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut user_paused = false;
    let mut breaker_paused = false;
    let mut control_open = true;
    let mut consecutive = 0u32;
    let mut requests_sent = 0usize;
    match *control.borrow_and_update() {
        Control::Run => {}
        Control::Pause => {
            user_paused = true;
            emit(ApplyEvent::Paused {
                reason: PauseReason::Requested,
            });
        }
        Control::Cancel => {
            stop.get_or_insert((EndStatus::Cancelled, "cancelled by the admin".into()));
            stop_requests.cancel();
        }
    }

    loop {
        while stop.is_none() && !user_paused && !breaker_paused && set.len() < concurrency {
            let Some(seq) = queue.pop_front() else { break };
            let prior = states[seq].clone();
            let (client, writer, ops) = (client.clone(), writer.clone(), ops.clone());
            let protected = protected.clone();
            emit(ApplyEvent::OpStarted { seq });
            let handle = set.spawn(async move {
                let op = &ops[seq];
                execute(&client, &writer, seq, op, &prior, &protected).await
            });
            running.insert(handle.id(), seq);
        }
        if set.is_empty() && (queue.is_empty() || stop.is_some()) {
            break;
        }
        if set.is_empty() && !control_open {
            // Paused, and nobody is left to resume it.
            let status = if breaker_paused {
                EndStatus::CircuitBreaker
            } else {
                EndStatus::Cancelled
            };
            stop = Some((status, "paused, and the controller went away".into()));
            break;
        }
        tokio::select! {
            Some(joined) = set.join_next_with_id(), if !set.is_empty() => {
                let (id, report) = match joined {
                    Ok((id, (report, result))) => {
                        let seq = running.remove(&id).unwrap_or(usize::MAX);
                        if let Some(seq_state) = states.get_mut(seq) {
                            if let Some((result, intent)) = result {
                                *seq_state = OpState::Finished { result, intent };
                            }
                        }
                        (seq, report)
                    }
                    Err(e) => {
                        let seq = running.remove(&e.id()).unwrap_or(usize::MAX);
                        stop.get_or_insert((EndStatus::JournalError, format!("internal error in operation {seq}: {e}")));
                        continue;
                    }
                };
                let seq = id;
                // A re-read that confirmed an earlier run's request sent nothing now.
                if report.request_sent && !report.detail.contains(LANDED) {
                    requests_sent += 1;
                }
                if let Some(why) = breaker.tripped() {
                    if stop.is_none() {
                        emit(ApplyEvent::Stopping { status: EndStatus::CircuitBreaker, reason: why.clone() });
                        let _ = append(&writer, Entry::Note(note(why.clone()))).await;
                        stop = Some((EndStatus::CircuitBreaker, why));
                    }
                }
                let failed = report.outcome == Outcome::Failed;
                let failure = report.failure;
                let detail = report.detail.clone();
                emit(ApplyEvent::OpFinished { seq, report });
                if failure == Some(FailureKind::Journal) {
                    if stop.is_none() {
                        let reason = format!("the journal could not be written ({detail}): stopped so that no operation can happen twice");
                        emit(ApplyEvent::Stopping { status: EndStatus::JournalError, reason: reason.clone() });
                        stop = Some((EndStatus::JournalError, reason));
                    }
                    continue;
                }
                if !failed {
                    consecutive = 0;
                    continue;
                }
                consecutive += 1;
                let auth = failure == Some(FailureKind::Auth);
                if (consecutive >= breaker_after || auth) && stop.is_none() && !breaker_paused {
                    let reason = PauseReason::CircuitBreaker { failures: consecutive, last_error: detail };
                    let _ = append(&writer, Entry::Note(note(reason.to_string()))).await;
                    match options.on_breaker {
                        BreakerAction::Stop => {
                            emit(ApplyEvent::Stopping { status: EndStatus::CircuitBreaker, reason: reason.to_string() });
                            stop = Some((EndStatus::CircuitBreaker, reason.to_string()));
                        }
                        BreakerAction::Pause => {
                            breaker_paused = true;
                            consecutive = 0;
                            emit(ApplyEvent::Paused { reason });
                        }
                    }
                }
            }
            changed = control.changed(), if control_open => {
                if changed.is_err() {
                    control_open = false;
                    continue;
                }
                let c = *control.borrow_and_update();
                match c {
                    Control::Run => {
                        if user_paused || breaker_paused {
                            user_paused = false;
                            breaker_paused = false;
                            let _ = append(&writer, Entry::Note(note("resumed by the admin"))).await;
                            emit(ApplyEvent::Resumed);
                        }
                    }
                    Control::Pause => {
                        if !user_paused {
                            user_paused = true;
                            let _ = append(&writer, Entry::Note(note("paused by the admin"))).await;
                            emit(ApplyEvent::Paused { reason: PauseReason::Requested });
                        }
                    }
                    Control::Cancel => {
                        stop_requests.cancel();
                        if stop.is_none() {
                            let reason = "cancelled by the admin".to_string();
                            emit(ApplyEvent::Stopping { status: EndStatus::Cancelled, reason: reason.clone() });
                            stop = Some((EndStatus::Cancelled, reason));
                        }
                    }
                }
            }
            else => break,
        }
    }

    // Summary over the whole batch.
    let mut s = BatchSummary {
        batch: header.batch.clone(),
        journal: writer.path().display().to_string(),
        total,
        applied: 0,
        already: 0,
        failed: 0,
        not_started: 0,
        status: EndStatus::Completed,
        reason: None,
        failures: Vec::new(),
        requests_sent,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    for (seq, st) in states.iter().enumerate() {
        match st.outcome() {
            Some(Outcome::Applied) => s.applied += 1,
            Some(Outcome::Already) => s.already += 1,
            Some(Outcome::Failed) => {
                s.failed += 1;
                if let OpState::Finished { result, .. } = st {
                    s.failures.push(FailedOp {
                        seq,
                        op: ops[seq].op,
                        target: target_label(&ops[seq]),
                        detail: result.detail.clone(),
                        kind: result.failure,
                    });
                }
            }
            None => s.not_started += 1,
        }
    }
    let (status, reason) = match stop {
        Some((st, r)) => (st, Some(r)),
        None if s.failed == 0 && s.not_started == 0 => (EndStatus::Completed, None),
        None => (EndStatus::Failed, None),
    };
    s.status = status;
    s.reason = reason;
    let end = Entry::End(End {
        at: Utc::now(),
        status: s.status,
        applied: s.applied,
        already: s.already,
        failed: s.failed,
        not_started: s.not_started,
        reason: s.reason.clone(),
    });
    if let Err(e) = append(&writer, end).await {
        s.status = EndStatus::JournalError;
        s.reason = Some(format!("could not write the end of the batch: {e}"));
    }
    emit(ApplyEvent::Finished(s.clone()));
    s
}

fn note(text: impl Into<String>) -> journal::Note {
    journal::Note {
        at: Utc::now(),
        text: text.into(),
    }
}

async fn append(writer: &Arc<Writer>, entry: Entry) -> Result<(), JournalError> {
    let w = writer.clone();
    match tokio::task::spawn_blocking(move || w.append(&entry)).await {
        Ok(r) => r,
        Err(e) => Err(JournalError::Invalid {
            path: writer.path().display().to_string(),
            detail: format!("journal writer failed: {e}"),
        }),
    }
}

type Finished = Option<(OpResult, Option<Intent>)>;

/// One operation: re-read, intent, request, result. Returns the report and, when the
/// result line was written, what the journal now says.
async fn execute(
    client: &ScimClient,
    writer: &Arc<Writer>,
    seq: usize,
    op: &Operation,
    prior: &OpState,
    protected: &ProtectedUsers,
) -> (OpReport, Finished) {
    let (prior_before, attempt) = match prior {
        OpState::InDoubt { intent } => (Some(intent.before), intent.attempt + 1),
        // A failed attempt whose request may have landed (timeout, dropped answer).
        OpState::Finished {
            intent: Some(i),
            result,
        } if result.outcome == Outcome::Failed => (Some(i.before), i.attempt + 1),
        OpState::Finished {
            intent: Some(i), ..
        } => (None, i.attempt + 1),
        _ => (None, 1),
    };
    let mut ctx = Exec {
        writer,
        seq,
        op,
        attempt,
        intent: None,
        protected,
    };
    let report = match op.op {
        OpKind::Deactivate | OpKind::Reactivate => {
            ctx.set_active(client, op.op == OpKind::Reactivate, prior_before)
                .await
        }
        OpKind::Delete => ctx.delete(client, prior_before).await,
        OpKind::Create => ctx.create(client, prior_before).await,
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // The intent could not be written: nothing was sent.
            return (
                OpReport {
                    outcome: Outcome::Failed,
                    detail: e.to_string(),
                    request_sent: false,
                    failure: Some(FailureKind::Journal),
                    scim_id: None,
                },
                None,
            );
        }
    };
    if report.detail == CANCELLED_DETAIL {
        // Not done: no result line (an intent, if written, makes it "in doubt").
        return (report, None);
    }
    let result = OpResult {
        seq,
        at: Utc::now(),
        outcome: report.outcome,
        detail: report.detail.clone(),
        request_sent: report.request_sent,
        failure: report.failure,
        scim_id: report.scim_id.clone(),
    };
    match append(writer, Entry::Result(result.clone())).await {
        Ok(()) => (report, Some((result, ctx.intent))),
        Err(e) => (
            OpReport {
                detail: format!(
                    "{} — but the result could not be journaled: {e}",
                    report.detail
                ),
                failure: Some(FailureKind::Journal),
                ..report
            },
            None,
        ),
    }
}

struct Exec<'a> {
    writer: &'a Arc<Writer>,
    seq: usize,
    op: &'a Operation,
    attempt: u32,
    intent: Option<Intent>,
    protected: &'a ProtectedUsers,
}

/// The detail of an operation skipped because the SCIM user re-read right before the
/// request is not the one the plan meant.
pub const IDENTITY_CHANGED: &str = "identity changed";

/// Whether `user` (re-read for `id` right before a change) is still who `op` means.
///
/// With the identity the plan recorded ([`crate::plan::Evidence::target`]): the same
/// id, userName, externalId and primary email. Without one (an older or hand-made
/// plan): the id, and the operation's own identifiers must not contradict the user
/// (its email or userName among the user's userName/emails when both carry emails,
/// its externalId equal when both carry one).
fn identity_check(op: &Operation, id: &str, user: &ScimUser) -> Result<(), String> {
    let mut why = match &op.evidence.target {
        Some(t) if t.id == id => t.differences(user),
        Some(t) => vec![format!(
            "the plan's recorded target is {:?}, but the operation addresses {id:?}",
            t.id
        )],
        None => {
            let mut why = Vec::new();
            match user.id.as_deref() {
                None => why.push("the answer carries no id".to_string()),
                Some(got) if got != id => why.push(format!("id {got:?}, not {id:?}")),
                Some(_) => {}
            }
            let fold = crate::import::normalize_email;
            let ours: Vec<String> = [op.email.as_deref(), op.user_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|e| e.contains('@'))
                .map(fold)
                .collect();
            let theirs: Vec<String> = std::iter::once(user.user_name.as_str())
                .chain(user.emails.iter().map(|e| e.value.as_str()))
                .filter(|e| e.contains('@'))
                .map(fold)
                .collect();
            if !ours.is_empty() && !theirs.is_empty() && !ours.iter().any(|o| theirs.contains(o)) {
                why.push(format!(
                    "userName/emails {} are not the plan's {}",
                    theirs.join(", "),
                    ours.join(", ")
                ));
            }
            if let (Some(a), Some(b)) = (
                op.external_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty()),
                user.external_id
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty()),
            ) {
                if a != b {
                    why.push(format!("externalId {b:?}, not the plan's {a:?}"));
                }
            }
            why
        }
    };
    if why.is_empty() {
        Ok(())
    } else {
        why.dedup();
        Err(format!(
            "{IDENTITY_CHANGED}: the SCIM user {id} is not who the plan meant ({}); no request sent",
            why.join("; ")
        ))
    }
}

/// In the detail of an operation whose request was sent by an earlier, interrupted run
/// and found landed by the re-read: no request is sent now, and the run's
/// `requests_sent` does not count it.
const LANDED: &str = "the interrupted request had landed";

fn done(outcome: Outcome, detail: impl Into<String>, request_sent: bool) -> OpReport {
    OpReport {
        outcome,
        detail: detail.into(),
        request_sent,
        failure: None,
        scim_id: None,
    }
}

/// The detail of an operation the admin's cancellation interrupted before (or
/// between) its requests: it is not done, and no result line is written, so a resume
/// re-reads its target first.
pub const CANCELLED_DETAIL: &str =
    "cancelled before its request was sent (or retried): not done; a resume re-reads the user first";

fn failed(e: &ScimError, context: &str, request_sent: bool) -> OpReport {
    if matches!(e, ScimError::Cancelled) {
        return OpReport {
            outcome: Outcome::Failed,
            detail: CANCELLED_DETAIL.into(),
            request_sent: false,
            failure: None,
            scim_id: None,
        };
    }
    OpReport {
        outcome: Outcome::Failed,
        detail: format!("{context}: {e}"),
        request_sent,
        failure: Some(failure_kind(e)),
        scim_id: None,
    }
}

fn failed_local(kind: FailureKind, detail: impl Into<String>) -> OpReport {
    OpReport {
        outcome: Outcome::Failed,
        detail: detail.into(),
        request_sent: false,
        failure: Some(kind),
        scim_id: None,
    }
}

/// Could a failed request have been processed anyway?
fn maybe_processed(e: &ScimError) -> bool {
    matches!(
        e,
        ScimError::Timeout(_)
            | ScimError::Network(_)
            | ScimError::Malformed { .. }
            | ScimError::Http {
                status: 500..=599,
                ..
            }
    )
}

impl Exec<'_> {
    async fn write_intent(
        &mut self,
        scim_id: Option<String>,
        user_name: Option<String>,
        before: Observed,
    ) -> Result<(), JournalError> {
        let intent = Intent {
            seq: self.seq,
            at: Utc::now(),
            op: self.op.op,
            scim_id,
            user_name,
            attempt: self.attempt,
            before,
        };
        append(self.writer, Entry::Intent(intent.clone())).await?;
        self.intent = Some(intent);
        Ok(())
    }

    /// The plan's SCIM id and the user as the server has it right now (`None`: not
    /// found), read just before a change; or the failed report saying why not.
    async fn reread(
        &self,
        client: &ScimClient,
        context: &str,
    ) -> Result<(String, Option<crate::scim::model::ScimUser>), OpReport> {
        let Some(id) = self.scim_id().map(str::to_string) else {
            return Err(failed_local(
                FailureKind::Local,
                "no SCIM id in the plan for this operation",
            ));
        };
        match client.get_user(&id).await {
            Ok(current) => Ok((id, current)),
            Err(e) => Err(failed(&e, context, false)),
        }
    }

    /// The intent to change an existing user, with the state it was just read in.
    async fn write_intent_existing(
        &mut self,
        id: &str,
        user: &crate::scim::model::ScimUser,
    ) -> Result<(), JournalError> {
        self.write_intent(
            Some(id.to_string()),
            Some(user.user_name.clone()).filter(|s| !s.is_empty()),
            Observed {
                exists: true,
                active: Some(user.is_active()),
            },
        )
        .await
    }

    fn scim_id(&self) -> Option<&str> {
        self.op.scim_id.as_deref().filter(|s| !s.trim().is_empty())
    }

    async fn set_active(
        &mut self,
        client: &ScimClient,
        target: bool,
        prior: Option<Observed>,
    ) -> Result<OpReport, JournalError> {
        let word = if target { "active" } else { "inactive" };
        let (id, current) = match self
            .reread(client, "re-reading the user before the change")
            .await
        {
            Ok(read) => read,
            Err(report) => return Ok(report),
        };
        let user = match current {
            None if !target => {
                return Ok(done(
                    Outcome::Already,
                    "not found (404): nothing to deactivate, counts as done",
                    false,
                ))
            }
            None => {
                return Ok(failed_local(
                    FailureKind::Server,
                    "the user no longer exists (404)",
                ))
            }
            Some(u) => u,
        };
        if let Err(why) = identity_check(self.op, &id, &user) {
            return Ok(failed_local(FailureKind::Local, why));
        }
        if !target {
            if let Some(why) = self.protected.protects(&user) {
                return Ok(failed_local(
                    FailureKind::Local,
                    format!("protected: {why}; never deactivated, no request sent"),
                ));
            }
        }
        if user.is_active() == target {
            if prior.is_some_and(|b| b.exists && b.active == Some(!target)) {
                // An interrupted request landed before the crash.
                self.intent = None;
                return Ok(done(
                    Outcome::Applied,
                    format!("{word} ({LANDED}; confirmed by re-reading)"),
                    true,
                ));
            }
            return Ok(done(
                Outcome::Already,
                format!("already {word}: no request sent"),
                false,
            ));
        }
        self.write_intent_existing(&id, &user).await?;
        let r = client.set_active(&id, target).await;
        journal::crash_point();
        let doing = if target {
            "reactivating"
        } else {
            "deactivating"
        };
        let done_word = if target { "reactivated" } else { "deactivated" };
        // `applied` only when the server's state shows it: an answer that does not
        // (204 without a body, a body in the old state, a 404 right after the 200
        // re-read) is followed by another read.
        let answered = match r {
            Ok(Some(u)) if u.is_active() == target && u.id.as_deref() == Some(id.as_str()) => {
                return Ok(done(Outcome::Applied, done_word, true))
            }
            Ok(Some(_)) => "the answer did not show the change",
            Ok(None) => "the server answered without a body (204)",
            Err(ScimError::NotFound) => "the server answered 404, right after finding the user",
            Err(e) => return Ok(failed(&e, doing, true)),
        };
        Ok(match client.get_user(&id).await {
            Ok(Some(u)) if u.is_active() == target => done(
                Outcome::Applied,
                format!("{done_word} ({answered}; confirmed by re-reading)"),
                true,
            ),
            Ok(Some(_)) => OpReport {
                outcome: Outcome::Failed,
                detail: format!(
                    "not {done_word}: {answered}, and re-reading shows the user still {}",
                    if target { "inactive" } else { "active" }
                ),
                request_sent: true,
                failure: Some(FailureKind::Server),
                scim_id: None,
            },
            Ok(None) if !target => done(
                Outcome::Already,
                format!("{answered}; re-reading finds no such user (404): gone, counts as done"),
                true,
            ),
            Ok(None) => OpReport {
                request_sent: true,
                ..failed_local(
                    FailureKind::Server,
                    format!("not reactivated: {answered}, and the user no longer exists (404)"),
                )
            },
            Err(e) => failed(
                &e,
                &format!("{doing}: {answered}; re-reading to confirm failed"),
                true,
            ),
        })
    }

    async fn delete(
        &mut self,
        client: &ScimClient,
        prior: Option<Observed>,
    ) -> Result<OpReport, JournalError> {
        let (id, current) = match self
            .reread(client, "re-reading the user before deleting")
            .await
        {
            Ok(read) => read,
            Err(report) => return Ok(report),
        };
        if let Some(user) = &current {
            if let Err(why) = identity_check(self.op, &id, user) {
                return Ok(failed_local(FailureKind::Local, why));
            }
            if let Some(why) = self.protected.protects(user) {
                return Ok(failed_local(
                    FailureKind::Local,
                    format!("protected: {why}; never deleted, no request sent"),
                ));
            }
        }
        let Some(user) = current else {
            if prior.is_some_and(|b| b.exists) {
                return Ok(done(
                    Outcome::Applied,
                    format!("deleted ({LANDED}; confirmed by re-reading)"),
                    true,
                ));
            }
            return Ok(done(
                Outcome::Already,
                "not found (404): already gone",
                false,
            ));
        };
        self.write_intent_existing(&id, &user).await?;
        let r = client.delete_user(&id).await;
        journal::crash_point();
        Ok(match r {
            Ok(()) => done(Outcome::Applied, "deleted", true),
            Err(ScimError::NotFound) => match client.get_user(&id).await {
                Ok(None) => done(
                    Outcome::Already,
                    "not found (404) on delete, and re-reading finds no such user: counts as done",
                    true,
                ),
                Ok(Some(_)) => OpReport {
                    request_sent: true,
                    ..failed_local(
                        FailureKind::Server,
                        "not deleted: the server answered 404, but re-reading still finds the user",
                    )
                },
                Err(e) => failed(&e, "deleting: 404, then re-reading failed", true),
            },
            Err(e) => failed(&e, "deleting", true),
        })
    }

    async fn create(
        &mut self,
        client: &ScimClient,
        prior: Option<Observed>,
    ) -> Result<OpReport, JournalError> {
        let Some(new_user) = new_user_for(self.op) else {
            return Ok(failed_local(
                FailureKind::Local,
                "create without a userName or email in the plan",
            ));
        };
        let filter = match Filter::eq(FilterAttr::UserName, &new_user.user_name) {
            Ok(f) => f,
            Err(e) => return Ok(failed(&e, "looking up the user before creating", false)),
        };
        let lookup = |client: &ScimClient| {
            let filter = filter.clone();
            let client = client.clone();
            let name = new_user.user_name.to_lowercase();
            async move {
                client.find_users(&filter).await.map(|users| {
                    users
                        .into_iter()
                        .filter(|u| u.user_name.to_lowercase() == name)
                        .collect::<Vec<_>>()
                })
            }
        };
        let found = match lookup(client).await {
            Ok(f) => f,
            Err(e) => {
                return Ok(failed(
                    &e,
                    "looking up the user by userName before creating",
                    false,
                ))
            }
        };
        match &found[..] {
            [] => {}
            [u] if u.is_active() => {
                let mut r = if prior.is_some_and(|b| !b.exists) {
                    self.intent = None;
                    done(
                        Outcome::Applied,
                        format!("created ({LANDED}; confirmed by looking up the userName)"),
                        true,
                    )
                } else {
                    done(
                        Outcome::Already,
                        "a user with this userName exists already: no request sent",
                        false,
                    )
                };
                r.scim_id = u.id.clone();
                return Ok(r);
            }
            [u] => {
                return Ok(OpReport {
                    scim_id: u.id.clone(),
                    ..failed_local(
                        FailureKind::Server,
                        "a user with this userName exists but is inactive: reactivate it instead",
                    )
                })
            }
            _ => {
                return Ok(failed_local(
                    FailureKind::Server,
                    format!(
                        "{} users have this userName: not creating another",
                        found.len()
                    ),
                ))
            }
        }
        self.write_intent(
            None,
            Some(new_user.user_name.clone()),
            Observed {
                exists: false,
                active: None,
            },
        )
        .await?;
        let r = client.create_user(&new_user).await;
        journal::crash_point();
        Ok(match r {
            Ok(u) => OpReport {
                scim_id: u.id.clone(),
                ..done(Outcome::Applied, "created", true)
            },
            Err(e) if maybe_processed(&e) => {
                // The POST may have landed: look before anyone sends it again.
                match lookup(client).await {
                    Ok(users) if users.len() == 1 => OpReport {
                        scim_id: users[0].id.clone(),
                        ..done(
                            Outcome::Applied,
                            format!(
                                "created (the answer was lost — {e} — but the user exists now)"
                            ),
                            true,
                        )
                    },
                    _ => failed(
                        &e,
                        "creating (it may have landed: a resume looks the userName up first)",
                        true,
                    ),
                }
            }
            Err(e) => failed(&e, "creating", true),
        })
    }
}

/// The reverse plan of a batch: reactivate what it deactivated, deactivate what it
/// created or reactivated. Only operations the batch actually changed (`applied`) are
/// reversed; the notes say what is left out and why. Run it through the same gates.
pub fn undo_plan(log: &BatchLog) -> (Plan, Vec<String>) {
    let mut notes = Vec::new();
    let mut operations = Vec::new();
    let mut unchanged = 0;
    for (seq, st) in log.op_states().iter().enumerate() {
        let op = &log.header.plan.operations[seq];
        let OpState::Finished { result, .. } = st else {
            if !st.is_done() {
                notes.push(format!(
                    "#{seq} {} {}: not done, nothing to undo",
                    op_name(op.op),
                    target_label(op)
                ));
            }
            continue;
        };
        match result.outcome {
            Outcome::Applied => {}
            Outcome::Already => {
                unchanged += 1;
                continue;
            }
            Outcome::Failed => {
                notes.push(format!(
                    "#{seq} {} {}: failed, nothing to undo",
                    op_name(op.op),
                    target_label(op)
                ));
                continue;
            }
        }
        let Some(inverse) = op.op.inverse() else {
            notes.push(format!(
                "#{seq} {} {}: cannot be undone",
                op_name(op.op),
                target_label(op)
            ));
            continue;
        };
        let scim_id = result.scim_id.clone().or_else(|| op.scim_id.clone());
        if scim_id.is_none() {
            notes.push(format!(
                "#{seq} {} {}: SCIM id unknown, cannot undo",
                op_name(op.op),
                target_label(op)
            ));
            continue;
        }
        let user_name = op
            .user_name
            .clone()
            .or_else(|| op.new_user.as_ref().map(|u| u.user_name.clone()));
        operations.push(Operation {
            op: inverse,
            scim_id,
            email: op
                .email
                .clone()
                .or_else(|| op.new_user.as_ref().and_then(|u| u.email.clone())),
            user_name,
            external_id: op.external_id.clone(),
            name: op.name.clone(),
            reason: format!(
                "undo of batch {} #{seq} ({}: {})",
                log.id(),
                op_name(op.op),
                op.reason
            ),
            evidence: op.evidence.clone(),
            new_user: None,
        });
    }
    if unchanged > 0 {
        notes.push(format!(
            "{unchanged} operations found the user already in the target state and changed nothing: not reversed"
        ));
    }
    let plan = Plan {
        version: PLAN_VERSION,
        created_at: Utc::now(),
        inputs: vec![PlanInput {
            kind: "journal_batch".into(),
            path: log.path.display().to_string(),
            rows: log.header.plan.operations.len(),
        }],
        parameters: serde_json::json!({ "undo_of": log.id() }),
        matched_users: log.header.plan.matched_users,
        operations,
        excluded: log.header.plan.excluded.clone(),
        // The reverse goes to the server the batch changed, and nowhere else.
        target: log.header.plan.target.clone().or_else(|| {
            Some(Box::new(crate::plan::PlanTarget {
                server: log.header.base_url.clone(),
                profile: String::new(),
                tenant: None,
            }))
        }),
    };
    (plan, notes)
}
