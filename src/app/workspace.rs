//! The dashboard's memory: the profile's workspace ([`crate::workspace`]), as the
//! reducer sees it. Pure: the reducer decides what to read and write; the runtime's
//! workspace writer ([`crate::runtime::executor`]) does it, in order, one transaction
//! per [`WorkspaceOp`], and answers with [`crate::app::Action::WorkspaceLoaded`] /
//! [`crate::app::Action::WorkspaceWritten`].
//!
//! - At start ([`crate::app::Action::OpenWorkspace`]) the workspace at `state.workspace_path` is
//!   opened and read in one effect; its users, latest outcomes (with when they were
//!   checked), decisions, usage report, settings and plan under review fill the panes
//!   before any request is sent ([`loaded`]). Files asked for on the command line wait
//!   for it, so only users new since last time are looked up.
//! - Everything the admin decides is written when it is decided (links, ignores,
//!   notes, conflicts resolved, thresholds, the plan under review, sources loaded).
//! - Lookup outcomes are kept in [`WorkspaceState::unsaved`] as they arrive and handed
//!   over many at a time ([`OUTCOMES_PER_WRITE`], every tick, and at the end of a run,
//!   which also records a snapshot): `kill -9` loses at most the outcomes not handed
//!   over yet.
//! - A second navscim gets a read-only view and says so; nothing is written then. A
//!   damaged or newer workspace is moved aside by the engine, the problem is shown,
//!   and the dashboard runs on a new one.
//!
//! The workspace is a cache of what the server said, never a reason to change a user:
//! a plan restored from it is checked by the same gates at apply as any other.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::effect::{Effect, ExportJob, ImportSource};
use super::event::Outbox;
use super::notice::{error, failed, info, warn, Level, Notice};
use super::pane::actions::state::PlanOrigin;
use super::pane::users::state::{LoadedFile, StoredDetails, UserRow};
use super::state::State;
use crate::error::{AppError, ErrorKind};
use crate::import::Import;
use crate::matching::{Directory, DomainAliases, LookupOutcome, MatchStatus, Presence};
use crate::plan::Plan;
use crate::workspace::{Loaded, Settings, SnapshotKind, SourceChanges, StoredOutcome};

/// Outcomes handed to the writer in one transaction at most (also flushed every tick
/// while lookups run, and at the end of a run).
pub const OUTCOMES_PER_WRITE: usize = 500;

/// What the dashboard knows about its workspace.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceState {
    /// Asked to open and not answered yet: loads wait for it.
    pub opening: bool,
    /// Open for writing: decisions and outcomes are written.
    pub writable: bool,
    /// Why the workspace is a read-only view (another navscim holds it); nothing is
    /// written then.
    pub read_only: Option<String>,
    /// Why the workspace could not be used as it was (damaged, newer, unreadable):
    /// shown on screen; the dashboard runs without its memory.
    pub problem: Option<String>,
    /// The settings in force, as stored (the panes hold the live values; a change is
    /// written when one differs, see [`persist_changes`]).
    pub settings: Settings,
    /// Lookup outcomes not handed to the writer yet.
    pub unsaved: Vec<StoredOutcome>,
    /// Loads asked for while the workspace was opening: `(sources, lookup_after)`.
    pub deferred: Vec<(Vec<ImportSource>, bool)>,
    /// The current lookup run refreshes stale results (its snapshot says so).
    pub refreshing: bool,
    /// The plan under review last written (`ActionsState::plan_seq`).
    pub saved_plan_seq: u64,
    /// Writes that failed this session (the first one is shown).
    pub failed_writes: usize,
}

impl WorkspaceState {
    /// The one-word state for the title bar: `None` when writable (or no workspace).
    pub fn badge(&self) -> Option<&'static str> {
        if self.read_only.is_some() {
            Some("workspace read-only")
        } else if self.problem.is_some() && !self.writable {
            Some("no workspace")
        } else {
            None
        }
    }
}

/// One write (or the opening read) the workspace writer does, in the order asked.
#[derive(Debug, Clone)]
pub enum WorkspaceOp {
    /// Open the workspace at `path` (writing if its lock is free, else read-only; a
    /// damaged or newer file is moved aside and a new one started) and read it all.
    /// Answers [`crate::app::Action::WorkspaceLoaded`].
    Open {
        path: PathBuf,
    },
    /// Replace the merged users (after a load).
    ReplaceUsers(Box<Directory>),
    /// Record a file just loaded (its bytes are read again for the content hash; an
    /// embedded file's text is used as is); the answer carries what changed since the
    /// same path was loaded last.
    RecordSource {
        source: ImportSource,
        import: Box<Import>,
        aliases: DomainAliases,
        at: DateTime<Utc>,
    },
    /// Lookup outcomes, many per transaction.
    WriteOutcomes(Vec<StoredOutcome>),
    /// A hand link (`None`: removed).
    SetLink {
        key: String,
        scim_id: Option<String>,
    },
    /// Ignore (`Some(reason)`) or un-ignore these users.
    SetIgnored {
        keys: Vec<String>,
        reason: Option<String>,
    },
    AddNote {
        key: String,
        text: String,
    },
    ResolveConflict {
        key: String,
        resolution: String,
        scim_id: Option<String>,
    },
    SetSettings(Box<Settings>),
    /// The plan under review (`None`: none).
    SavePlan {
        plan: Option<Box<Plan>>,
        origin: Option<String>,
    },
    /// A snapshot after a lookup run or refresh.
    RecordRun {
        kind: SnapshotKind,
        server: String,
    },
    /// A snapshot after a batch (read back from the journal by its id).
    RecordBatch {
        batch: String,
    },
    /// Mark stored outcomes a conflict, `(key, reasons)`: the conflicts found across
    /// users at the end of a lookup run.
    MarkConflicts(Vec<(String, String)>),
    /// Read one user's full outcome for the details view (also on a read-only view).
    /// Answers [`crate::app::Action::OutcomeRead`].
    ReadOutcome {
        key: String,
    },
    /// Export the Users view, completing the rows of which only a summary is in
    /// memory from the stored outcomes first (also on a read-only view). Answers as
    /// [`Effect::Export`] does.
    ExportUsers {
        job: Box<ExportJob>,
        complete: Vec<CompleteRow>,
    },
}

/// A row of a Users export to complete from the stored outcome
/// ([`WorkspaceOp::ExportUsers`]).
#[derive(Debug, Clone)]
pub struct CompleteRow {
    /// Its place among the export's rows.
    pub at: usize,
    pub user: Box<crate::matching::DirUser>,
    pub presence: Presence,
    pub ignored: bool,
}

impl WorkspaceOp {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            WorkspaceOp::Open { .. } => "opening the workspace",
            WorkspaceOp::ReplaceUsers(_) => "saving the users",
            WorkspaceOp::RecordSource { .. } => "recording the file",
            WorkspaceOp::WriteOutcomes(_) => "saving lookup results",
            WorkspaceOp::SetLink { .. } => "saving the link",
            WorkspaceOp::SetIgnored { .. } => "saving the ignore",
            WorkspaceOp::AddNote { .. } => "saving the note",
            WorkspaceOp::ResolveConflict { .. } => "saving the resolution",
            WorkspaceOp::SetSettings(_) => "saving the settings",
            WorkspaceOp::SavePlan { .. } => "saving the plan under review",
            WorkspaceOp::RecordRun { .. } => "recording the lookup run",
            WorkspaceOp::RecordBatch { .. } => "recording the batch",
            WorkspaceOp::MarkConflicts(_) => "saving the conflicts",
            WorkspaceOp::ReadOutcome { .. } => "reading the full result",
            WorkspaceOp::ExportUsers { .. } => "exporting the users",
        }
    }
}

/// What the workspace writer read at start.
#[derive(Debug, Clone)]
pub struct Opened {
    pub path: PathBuf,
    /// Everything in the workspace.
    pub loaded: Box<Loaded>,
    /// `Some(why)` for a read-only view.
    pub read_only: Option<String>,
    /// A problem met on the way (the damaged or newer file moved aside).
    pub problem: Option<String>,
}

/// Hands `op` to the writer when the workspace is open for writing.
pub fn write(state: &State, out: &mut Outbox, op: WorkspaceOp) {
    if state.workspace.writable {
        out.push(Effect::Workspace(op));
    }
}

/// Hands a read (or an export) to the writer when a workspace is open, writable or
/// read-only. Returns whether it did.
pub fn read(state: &State, out: &mut Outbox, op: WorkspaceOp) -> bool {
    let open = state.workspace.writable || state.workspace.read_only.is_some();
    if open {
        out.push(Effect::Workspace(op));
    }
    open
}

/// The details of user `index` are shown: unless this session holds their full outcome,
/// it is read from the workspace (after the outcomes not written yet, so the read sees
/// them) and shown when [`crate::app::Action::OutcomeRead`] brings it.
pub fn read_details(state: &mut State, index: usize, out: &mut Outbox) {
    let users = &state.users;
    let (Some(row), Some(user)) = (users.rows.get(index), users.directory.users.get(index)) else {
        return;
    };
    if row.full.is_some() || row.outcome.is_none() {
        return;
    }
    if users.stored_details.is_for(&user.key) {
        return;
    }
    let key = user.key.clone();
    flush(state, out);
    if read(state, out, WorkspaceOp::ReadOutcome { key: key.clone() }) {
        state.users.stored_details = StoredDetails::Reading(key);
    }
}

/// [`crate::app::Action::OutcomeRead`]: the full outcome for the details view.
pub fn outcome_read(
    state: &mut State,
    key: String,
    result: Result<Option<Box<StoredOutcome>>, AppError>,
) {
    if !state.users.stored_details.is_for(&key) {
        return;
    }
    state.users.stored_details = match result {
        Ok(found) => StoredDetails::Read(key, found.map(|s| Box::new(s.outcome))),
        Err(e) => StoredDetails::Failed(key, e.message),
    };
}

/// [`crate::app::Action::OpenWorkspace`]: opens `state.workspace_path`, if there is one.
pub fn open(state: &mut State, out: &mut Outbox) -> bool {
    let Some(path) = state.workspace_path.clone() else {
        return false;
    };
    state.workspace.opening = true;
    out.push(Effect::Workspace(WorkspaceOp::Open { path }));
    false
}

/// [`crate::app::Action::LoadFiles`]: imports now, or once the workspace is read (so that only
/// users new since last time are looked up).
pub fn load_files(
    state: &mut State,
    sources: Vec<ImportSource>,
    lookup_after: bool,
    out: &mut Outbox,
) -> bool {
    if state.workspace.opening {
        state.workspace.deferred.push((sources, lookup_after));
    } else {
        out.push(Effect::import_files(sources, lookup_after));
    }
    false
}

/// [`crate::app::Action::WorkspaceLoaded`]: fills the panes from the workspace, then runs the
/// loads that waited for it. Nothing is looked up here.
pub fn loaded(state: &mut State, result: Result<Box<Opened>, AppError>, out: &mut Outbox) {
    state.workspace.opening = false;
    match result {
        Ok(opened) => {
            let opened = *opened;
            state.workspace_path = Some(opened.path.clone());
            state.history.read = false;
            state.workspace.read_only = opened.read_only.clone();
            state.workspace.writable = opened.read_only.is_none();
            state.workspace.problem = opened.problem.clone();
            restore(state, *opened.loaded, out);
            let users = state.users.directory.len();
            let checked = state
                .users
                .rows
                .iter()
                .filter(|r| r.checked_at.is_some())
                .count();
            let shown = opened.path.display();
            let notice = match (&opened.problem, &opened.read_only) {
                (Some(p), _) => error(p.clone()),
                (None, Some(why)) => warn(format!(
                    "Workspace {shown} is open read-only ({why}): nothing you do here is saved"
                )),
                (None, None) if users > 0 => info(format!(
                    "Workspace {shown}: {users} users, {checked} results (oldest checked {}); nothing was looked up",
                    oldest_age(state).unwrap_or_else(|| "never".into())
                )),
                (None, None) => info(format!("Workspace {shown} (new)")),
            };
            // A warning already shown (an unfinished batch found at start) stays on the
            // status line; the workspace's news goes to the log.
            match &state.notice {
                Some(shown) if notice.level == Level::Info && shown.level != Level::Info => {
                    push_log(state, notice)
                }
                _ => state.notice = Some(notice),
            }
        }
        Err(e) => {
            state.workspace.writable = false;
            state.workspace.problem = Some(e.message.clone());
            state.notice = Some(error(format!(
                "{e} · the dashboard runs without its memory this time"
            )));
        }
    }
    for (sources, lookup_after) in std::mem::take(&mut state.workspace.deferred) {
        out.push(Effect::import_files(sources, lookup_after));
    }
}

/// The age of the oldest result, e.g. `3 d ago`.
fn oldest_age(state: &State) -> Option<String> {
    let oldest = state.users.rows.iter().filter_map(|r| r.checked_at).min()?;
    Some(age(state.now, oldest))
}

/// How long ago `then` was at `now`, in words: `just now`, `5 min ago`, `3 h ago`,
/// `3 d ago`.
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// Puts what the workspace holds into the panes.
fn restore(state: &mut State, loaded: Loaded, out: &mut Outbox) {
    let now = out.now;
    let Loaded {
        sources,
        users,
        outcomes: _,
        links,
        ignores,
        notes,
        conflicts: _,
        usage_reports,
        settings,
        plan,
        history: _,
    } = loaded;
    // Settings: the command line's domain aliases win (and are written back).
    if state.users.aliases.is_empty() {
        for spec in &settings.domain_aliases {
            if let Ok(parsed) = DomainAliases::parse(spec) {
                state.users.aliases.extend(&parsed);
            }
        }
    }
    state.usage.threshold = settings.idle_days;
    state.usage.grace_days = settings.grace_days;
    let protected = &mut state.actions.protected;
    protected
        .emails
        .extend(settings.protected.emails.iter().cloned());
    protected
        .scim_ids
        .extend(settings.protected.scim_ids.iter().cloned());
    if state.tenant.is_none() {
        state.tenant = settings.tenant.clone();
    }
    let stored_settings = settings.clone();
    state.workspace.settings = settings;

    // Users, their latest outcomes and the admin's decisions.
    if !users.is_empty() {
        let mut directory = Directory::new();
        directory.has_idp = sources.iter().any(|s| s.kind == "idp")
            || users.iter().any(|u| u.presence != Presence::Unknown);
        directory.has_salesnav = sources.iter().any(|s| s.kind == "salesnav_users")
            || users.iter().any(|u| u.presence != Presence::Unknown);
        let mut rows = Vec::with_capacity(users.len());
        directory.users.reserve_exact(users.len());
        for stored in users {
            let mut user = stored.user;
            if let Some(id) = links.get(&user.key) {
                user.stored_scim_id = Some(id.clone());
            }
            let latest = stored.latest;
            rows.push(UserRow {
                checked_at: latest.as_ref().map(|l| l.checked_at),
                outcome: latest.map(|l| l.summary),
                ignored: ignores.contains_key(&user.key),
                linked: links.contains_key(&user.key),
                ..UserRow::default()
            });
            directory.users.push(user);
        }
        directory.reindex();
        let files = sources
            .iter()
            .filter(|s| s.kind != "usage")
            .map(|s| LoadedFile {
                name: s.path.clone(),
                kind: match s.kind.as_str() {
                    "idp" => Some(crate::import::FileKind::Idp),
                    "salesnav_users" => Some(crate::import::FileKind::SalesNavUsers),
                    _ => None,
                },
                format: s.format.clone(),
                rows: s.rows_loaded,
                new_users: 0,
                duplicates_merged: 0,
                problems: Vec::new(),
            })
            .collect();
        state.users.restore(directory, rows, files);
    }
    let mut by_key: BTreeMap<String, Vec<(DateTime<Utc>, String)>> = BTreeMap::new();
    for note in notes {
        by_key
            .entry(note.key)
            .or_default()
            .push((note.written_at, note.text));
    }
    state.users.notes = by_key;

    // The latest usage report.
    if let Some(report) = usage_reports.into_iter().max_by_key(|r| r.loaded_at) {
        super::pane::usage::reducer::restore_report(state, report, now);
    }

    // The plan under review, checked at apply like any other. Its share-gate base is
    // never wider than the matched users restored here.
    if let Some(stored) = plan {
        let mut plan = stored.plan;
        let matched = state
            .users
            .rows
            .iter()
            .filter(|r| matches!(r.status(), MatchStatus::Matched { .. }))
            .count();
        let mut notes = Vec::new();
        if matched < plan.matched_users {
            notes.push(format!(
                "the plan says {} matched users, but the workspace holds {matched}: the share gate uses {matched}",
                plan.matched_users
            ));
            plan.matched_users = matched;
        }
        let tab = state.tab;
        let origin = PlanOrigin::Workspace(stored.origin.unwrap_or_else(|| "the workspace".into()));
        super::pane::actions::reducer::receive_plan_with(state, plan, origin, 0, notes);
        // Restoring is not switching panes.
        state.tab = tab;
    }
    state.workspace.saved_plan_seq = state.actions.plan_seq;
    // What the panes hold now is what the workspace holds: the command line's domain
    // aliases, protected list and tenant are written back.
    sync_settings(state);
    if state.workspace.settings != stored_settings {
        let settings = state.workspace.settings.clone();
        write(state, out, WorkspaceOp::SetSettings(Box::new(settings)));
    }
}

/// The settings as the panes hold them now.
fn live_settings(state: &State) -> Settings {
    let mut s = state.workspace.settings.clone();
    s.idle_days = state.usage.threshold;
    s.grace_days = state.usage.grace_days;
    s.domain_aliases = state.users.aliases.specs();
    s.protected = state.actions.protected.clone();
    if state.tenant.is_some() {
        s.tenant = state.tenant.clone();
    }
    s
}

fn sync_settings(state: &mut State) {
    state.workspace.settings = live_settings(state);
}

/// After every action: writes the settings and the plan under review if the panes
/// changed them. Cheap: a few comparisons.
pub fn persist_changes(state: &mut State, out: &mut Outbox) {
    if !state.workspace.writable {
        return;
    }
    if state.should_quit {
        // Leaving: the results kept so far are written before the writer closes.
        flush(state, out);
    }
    let ws = &state.workspace.settings;
    if ws.idle_days != state.usage.threshold || ws.grace_days != state.usage.grace_days {
        let settings = live_settings(state);
        state.workspace.settings = settings.clone();
        write(state, out, WorkspaceOp::SetSettings(Box::new(settings)));
    }
    if state.workspace.saved_plan_seq != state.actions.plan_seq {
        state.workspace.saved_plan_seq = state.actions.plan_seq;
        let (plan, origin) = match &state.actions.review {
            Some(review) => (
                Some(Box::new(review.plan.clone())),
                Some(match &review.origin {
                    // Saved again as it was, not as "kept … (kept …)".
                    PlanOrigin::Workspace(was) => was.clone(),
                    origin => origin.describe(),
                }),
            ),
            None => (None, None),
        };
        write(state, out, WorkspaceOp::SavePlan { plan, origin });
    }
}

/// Sets the stale threshold (hours) and writes it.
pub fn set_stale_hours(state: &mut State, hours: u64, out: &mut Outbox) {
    if state.workspace.settings.stale_after_hours == hours {
        return;
    }
    state.workspace.settings.stale_after_hours = hours;
    let settings = live_settings(state);
    write(state, out, WorkspaceOp::SetSettings(Box::new(settings)));
}

/// A lookup answered for the user at `index` (its row already shows the summary): the
/// row is stamped, and the full outcome is kept for the next write, or, when no
/// writable workspace will hold it, in the row itself (the details show it from
/// there). Rows keep only summaries otherwise: 100,000 full outcomes are about
/// 250 MB, their summaries about 30 MB (issue 11).
pub fn outcome_arrived(
    state: &mut State,
    index: usize,
    outcome: Box<LookupOutcome>,
    out: &mut Outbox,
) {
    let now = out.now;
    let users = &mut state.users;
    let (Some(row), Some(user)) = (users.rows.get_mut(index), users.directory.users.get(index))
    else {
        return;
    };
    row.checked_at = Some(now);
    if users.stored_details.is_for(&user.key) {
        users.stored_details = StoredDetails::None;
    }
    if !state.workspace.writable {
        row.full = Some(outcome);
        return;
    }
    state.workspace.unsaved.push(StoredOutcome {
        key: user.key.clone(),
        checked_at: now,
        outcome: *outcome,
    });
    if state.workspace.unsaved.len() >= OUTCOMES_PER_WRITE {
        flush(state, out);
    }
}

/// Writes the user's new outcome at once (a hand link).
pub fn save_outcome(
    state: &mut State,
    index: usize,
    outcome: Box<LookupOutcome>,
    out: &mut Outbox,
) {
    outcome_arrived(state, index, outcome, out);
    flush(state, out);
}

/// Hands the outcomes kept so far to the writer (one transaction).
pub fn flush(state: &mut State, out: &mut Outbox) {
    if state.workspace.unsaved.is_empty() {
        return;
    }
    let outcomes = std::mem::take(&mut state.workspace.unsaved);
    write(state, out, WorkspaceOp::WriteOutcomes(outcomes));
}

/// A lookup batch ended: the rest of its outcomes (and users a cross-user conflict
/// changed) are written, and when no batch is left running, a snapshot of the run.
pub fn lookups_done(state: &mut State, out: &mut Outbox) {
    if !state.workspace.writable {
        return;
    }
    if state.users.running_batches.is_empty() {
        // Conflicts across users are marked at the end of a run: the stored outcomes
        // (written first) are marked too.
        flush(state, out);
        let conflicts: Vec<(String, String)> = state
            .users
            .rows
            .iter()
            .zip(&state.users.directory.users)
            .filter(|(r, _)| r.status() == MatchStatus::Conflict)
            .filter_map(|(r, u)| Some((u.key.clone(), r.outcome.as_ref()?.error.clone()?)))
            .collect();
        if !conflicts.is_empty() {
            write(state, out, WorkspaceOp::MarkConflicts(conflicts));
        }
        let kind = if std::mem::take(&mut state.workspace.refreshing) {
            SnapshotKind::Refresh
        } else {
            SnapshotKind::Lookup
        };
        let server = state.connection.base_url.value.trim().to_string();
        state.history.read = false;
        write(state, out, WorkspaceOp::RecordRun { kind, server });
    } else {
        flush(state, out);
    }
}

/// Records what a file load brought (each file, then the merged users).
pub fn record_source(state: &State, out: &mut Outbox, source: &ImportSource, import: &Import) {
    if !state.workspace.writable {
        return;
    }
    write(
        state,
        out,
        WorkspaceOp::RecordSource {
            source: source.clone(),
            import: Box::new(import.clone()),
            aliases: state.users.aliases.clone(),
            at: out.now,
        },
    );
}

/// The merged users changed (a load): written whole.
pub fn save_users(state: &State, out: &mut Outbox) {
    write(
        state,
        out,
        WorkspaceOp::ReplaceUsers(Box::new(state.users.directory.clone())),
    );
}

/// [`crate::app::Action::WorkspaceWritten`]: a failed write is said (once per kind of failure in
/// the notice, every time in the log); a file loaded again says what changed.
pub fn written(
    state: &mut State,
    what: &'static str,
    result: Result<Option<SourceChanges>, AppError>,
) -> bool {
    match result {
        Ok(None) => false,
        Ok(Some(changes)) => {
            let notice = source_changes_notice(&changes);
            for line in source_change_lines(&changes) {
                push_log(state, info(line));
            }
            state.notice = Some(notice);
            true
        }
        // The workspace was taken from this session (another navscim holds it, or it
        // became a read-only view): read-only from now on, said once, no more writes.
        Err(e) if e.kind == ErrorKind::WorkspaceLocked => {
            state.workspace.failed_writes += 1;
            state.workspace.writable = false;
            state.workspace.read_only = Some(e.message.clone());
            state.notice = Some(failed(&format!("Workspace: {what} not saved"), &e));
            true
        }
        Err(e) => {
            state.workspace.failed_writes += 1;
            state.notice = Some(error(format!(
                "Workspace: {what} failed: {e} (what you see is not saved)"
            )));
            true
        }
    }
}

fn push_log(state: &mut State, notice: Notice) {
    if state.messages.len() == super::state::MESSAGE_LOG_LEN {
        state.messages.pop_front();
    }
    state.messages.push_back((state.now, notice));
}

/// "users.csv changed since it was last loaded: 2 added, 1 gone (leavers), 1 changed
/// identifiers (M lists them)".
pub fn source_changes_notice(c: &SourceChanges) -> Notice {
    let name = std::path::Path::new(&c.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| c.path.clone());
    let level = if c.gone.is_empty() { info } else { warn };
    level(format!(
        "{name} changed since it was last loaded: {} added, {} gone (leavers), {} changed identifiers (M lists them)",
        c.added.len(),
        c.gone.len(),
        c.changed.len()
    ))
}

/// One line per user added, gone or changed, for the message log.
pub fn source_change_lines(c: &SourceChanges) -> Vec<String> {
    let mut lines = Vec::new();
    for key in &c.added {
        lines.push(format!("{}: added {key}", c.path));
    }
    for key in &c.gone {
        lines.push(format!("{}: gone (leaver?) {key}", c.path));
    }
    for ch in &c.changed {
        lines.push(format!(
            "{}: {} changed {}: {} → {}",
            c.path,
            ch.key,
            ch.field,
            ch.before.as_deref().unwrap_or("(none)"),
            ch.after.as_deref().unwrap_or("(none)")
        ));
    }
    lines
}

/// The rows whose result is older than the stale threshold at `now` (never-checked
/// users are what `e` looks up), not ignored and not already queued.
pub fn stale_rows(state: &State, now: DateTime<Utc>) -> Vec<usize> {
    let hours = state.workspace.settings.stale_after_hours;
    let cutoff = now - chrono::Duration::hours(i64::try_from(hours).unwrap_or(i64::MAX / 7200));
    state
        .users
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.ignored && !r.queued && !r.looking_up)
        .filter(|(_, r)| r.checked_at.is_some_and(|t| t <= cutoff))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::connection::ConnectionState;
    use crate::app::keys::Command;
    use crate::app::testing::reduce;
    use crate::app::Action;
    use crate::import::{import_str, ImportOptions};
    use crate::matching::LookupOutcome;
    use crate::matching::OutcomeSummary;
    use crate::workspace::{StoredSummary, StoredUser};

    const CSV: &str = "Username,Email,First Name,Last Name\n\
        ann,ann@corp.example,Ann,A\n\
        bob,bob@corp.example,Bob,B\n\
        cat,cat@corp.example,Cat,C\n";

    fn state() -> State {
        let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
        s.workspace_path = Some("/nonexistent/ws.sqlite".into());
        s
    }

    fn not_found() -> LookupOutcome {
        LookupOutcome {
            status: MatchStatus::NotFound,
            matched_by: None,
            user: None,
            candidates: Vec::new(),
            attempts: Vec::new(),
            error: None,
            warnings: Vec::new(),
        }
    }

    fn opened(loaded: Loaded, read_only: Option<&str>) -> Action {
        Action::WorkspaceLoaded {
            result: Ok(Box::new(Opened {
                path: "/nonexistent/ws.sqlite".into(),
                loaded: Box::new(loaded),
                read_only: read_only.map(str::to_string),
                problem: None,
            })),
        }
    }

    fn stored() -> Loaded {
        let import = import_str("okta.csv", CSV, &ImportOptions::default()).unwrap();
        let dir = Directory::build(&[import], &DomainAliases::default());
        let then = crate::app::testing::now() - chrono::Duration::days(3);
        let mut loaded = Loaded {
            users: dir
                .users
                .iter()
                .map(|u| StoredUser {
                    user: u.clone(),
                    presence: Presence::Unknown,
                    latest: (u.key == "ann@corp.example").then(|| StoredSummary {
                        checked_at: then,
                        summary: Box::new(OutcomeSummary::of(&not_found())),
                    }),
                })
                .collect(),
            ..Loaded::default()
        };
        loaded
            .ignores
            .insert("bob@corp.example".into(), "left".into());
        loaded.settings.idle_days = 45;
        loaded
    }

    /// The end of lookup batch `batch`, nothing cancelled.
    fn batch_done(batch: u64) -> Action {
        Action::LookupBatchDone {
            batch,
            cancelled: 0,
            error: None,
        }
    }

    /// A state whose workspace was opened and held [`stored`].
    fn reopened() -> State {
        let mut s = state();
        reduce(&mut s, Action::OpenWorkspace);
        reduce(&mut s, opened(stored(), None));
        s
    }

    fn workspace_ops(effects: &[Effect]) -> Vec<&WorkspaceOp> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Workspace(op) => Some(op),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn opening_asks_the_writer_and_loads_wait_for_it() {
        let mut s = state();
        let effects = reduce(&mut s, Action::OpenWorkspace);
        assert!(matches!(
            workspace_ops(&effects)[..],
            [WorkspaceOp::Open { .. }]
        ));
        let source = ImportSource::Embedded {
            name: "okta.csv",
            text: CSV,
        };
        let effects = reduce(
            &mut s,
            Action::LoadFiles {
                sources: vec![source],
                lookup_after: true,
            },
        );
        assert!(effects.is_empty(), "{effects:?}");
        let effects = reduce(&mut s, opened(Loaded::default(), None));
        assert!(
            matches!(effects[..], [Effect::ImportFiles { .. }]),
            "{effects:?}"
        );
    }

    #[test]
    fn the_workspace_fills_the_panes_and_nothing_is_looked_up() {
        let mut s = state();
        reduce(&mut s, Action::OpenWorkspace);
        let effects = reduce(&mut s, opened(stored(), None));
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::LookupUsers { .. })),
            "{effects:?}"
        );
        assert_eq!(s.users.directory.len(), 3);
        assert_eq!(s.users.rows[0].status(), MatchStatus::NotFound);
        assert_eq!(
            s.users.rows[0].checked_at,
            Some(crate::app::testing::now() - chrono::Duration::days(3))
        );
        assert!(s.users.rows[1].ignored);
        assert_eq!(s.users.rows[2].status(), MatchStatus::Pending);
        assert_eq!(s.usage.threshold, 45);
        assert!(s.workspace.writable);
        let notice = s.notice.clone().unwrap().text;
        assert!(
            notice.contains("3 users, 1 results (oldest checked 3 d ago)"),
            "{notice}"
        );
    }

    #[test]
    fn outcomes_are_written_many_at_a_time_and_the_run_recorded() {
        let mut s = reopened();
        reduce(&mut s, Action::Command(Command::GoTab(1)));
        let effects = reduce(&mut s, Action::Command(Command::LookupRemaining));
        let Some(Effect::LookupUsers { batch, jobs, .. }) = effects
            .iter()
            .find(|e| matches!(e, Effect::LookupUsers { .. }))
        else {
            panic!("{effects:?}")
        };
        let (batch, indices): (u64, Vec<usize>) = (*batch, jobs.iter().map(|j| j.index).collect());
        assert_eq!(indices, vec![2], "not the ignored, not the checked");
        let at = std::time::Duration::ZERO;
        let effects = reduce(
            &mut s,
            Action::LookupFinished {
                batch,
                index: 2,
                outcome: Box::new(not_found()),
                at,
                stats: Default::default(),
            },
        );
        assert!(
            workspace_ops(&effects).is_empty(),
            "kept for the next write"
        );
        assert_eq!(s.workspace.unsaved.len(), 1);
        let effects = reduce(&mut s, batch_done(batch));
        match &workspace_ops(&effects)[..] {
            [WorkspaceOp::WriteOutcomes(o), WorkspaceOp::RecordRun { kind, .. }] => {
                assert_eq!(o.len(), 1);
                assert_eq!(o[0].key, "cat@corp.example");
                assert_eq!(*kind, SnapshotKind::Lookup);
            }
            other => panic!("{other:?}"),
        }
        assert!(s.workspace.unsaved.is_empty());
    }

    /// A file the reopened workspace lists, loaded again by the same path: one entry
    /// in the Users pane's sources list, updated, not a second one.
    /// The unfinished batch found at start stays on the status line when the workspace
    /// opens after it; the workspace's news is in the log.
    #[test]
    fn a_warning_shown_at_start_is_not_replaced_by_the_workspace_news() {
        let mut s = state();
        reduce(&mut s, Action::OpenWorkspace);
        s.notice = Some(warn("Unfinished batch (3 operations): R resumes it".into()));
        reduce(&mut s, opened(stored(), None));
        assert!(s
            .notice
            .as_ref()
            .unwrap()
            .text
            .starts_with("Unfinished batch"));
        assert!(s
            .messages
            .iter()
            .any(|(_, n)| n.text.contains("3 users, 1 results")));
    }

    /// The lookup of user 2 (cat) answered in a reopened state.
    fn cat_answered(s: &mut State) -> Vec<Effect> {
        reduce(s, Action::Command(Command::GoTab(1)));
        let effects = reduce(s, Action::Command(Command::LookupRemaining));
        let batch = effects
            .iter()
            .find_map(|e| match e {
                Effect::LookupUsers { batch, .. } => Some(*batch),
                _ => None,
            })
            .expect("a lookup");
        let mut outcome = not_found();
        outcome.warnings.push("the only warning".into());
        reduce(
            s,
            Action::LookupFinished {
                batch,
                index: 2,
                outcome: Box::new(outcome),
                at: std::time::Duration::ZERO,
                stats: Default::default(),
            },
        )
    }

    /// Issue 11's memory target: with a writable workspace, a row keeps the summary of
    /// its outcome and the full outcome goes to the writer; without one (read-only
    /// here), the row keeps it, since nothing else will.
    #[test]
    fn rows_keep_summaries_and_the_workspace_the_full_outcome() {
        let mut s = reopened();
        cat_answered(&mut s);
        let row = &s.users.rows[2];
        assert!(row.full.is_none(), "the writer has it");
        assert_eq!(row.outcome.as_ref().unwrap().detail, "the only warning");
        assert_eq!(s.workspace.unsaved.len(), 1);
        assert_eq!(
            s.workspace.unsaved[0].outcome.warnings,
            ["the only warning"]
        );
        // The restored rows hold summaries only.
        assert!(s.users.rows[0].full.is_none());
        assert_eq!(s.users.rows[0].status(), MatchStatus::NotFound);

        let mut s = state();
        reduce(&mut s, Action::OpenWorkspace);
        reduce(&mut s, opened(stored(), Some("in use by another navscim")));
        cat_answered(&mut s);
        let full = s.users.rows[2].full.as_ref().expect("kept in the row");
        assert_eq!(full.warnings, ["the only warning"]);
        assert!(s.workspace.unsaved.is_empty());
    }

    /// A user's details need the full outcome: it is read from the workspace after the
    /// outcomes not written yet, and only the answer for that user is shown.
    #[test]
    fn details_read_the_full_outcome_from_the_workspace_after_the_unsaved_ones() {
        let mut s = reopened();
        cat_answered(&mut s);
        reduce(&mut s, Action::Command(Command::ClearFilters));
        s.users.table.cursor = s.users.table.view.iter().position(|&i| i == 0).unwrap();
        let effects = reduce(&mut s, Action::Command(Command::Details));
        match &workspace_ops(&effects)[..] {
            [WorkspaceOp::WriteOutcomes(o), WorkspaceOp::ReadOutcome { key }] => {
                assert_eq!(o[0].key, "cat@corp.example");
                assert_eq!(key, "ann@corp.example");
            }
            other => panic!("{other:?}"),
        }
        assert!(s.users.full_outcome(0).is_none(), "not read yet");
        let text = crate::runtime::render_to_buffer(&s, 100, 30);
        let text: String = text.content().iter().map(|c| c.symbol()).collect();
        assert!(text.contains("Reading the full result"), "{text}");
        let answer = |key: &str| Action::OutcomeRead {
            key: key.into(),
            result: Ok(Some(Box::new(StoredOutcome {
                key: key.into(),
                checked_at: crate::app::testing::now(),
                outcome: not_found(),
            }))),
        };
        reduce(&mut s, answer("bob@corp.example"));
        assert!(s.users.full_outcome(0).is_none(), "another user's answer");
        reduce(&mut s, answer("ann@corp.example"));
        assert_eq!(s.users.full_outcome(0), Some(&not_found()));
        // Shown again: nothing asked twice.
        reduce(&mut s, Action::Command(Command::Close));
        let effects = reduce(&mut s, Action::Command(Command::Details));
        assert!(workspace_ops(&effects).is_empty(), "{effects:?}");
    }

    /// Conflicts found across users at the end of a run are marked in the workspace
    /// too (after the run's outcomes are written).
    #[test]
    fn conflicts_found_at_the_end_of_a_run_are_marked_in_the_workspace() {
        let mut s = reopened();
        let effects = reduce(&mut s, Action::Command(Command::GoTab(1)));
        drop(effects);
        let effects = reduce(&mut s, Action::Command(Command::LookupRemaining));
        let batch = effects
            .iter()
            .find_map(|e| match e {
                Effect::LookupUsers { batch, .. } => Some(*batch),
                _ => None,
            })
            .unwrap();
        s.users.rows[0].mark_conflict("same SCIM user as cat", true);
        let effects = reduce(&mut s, batch_done(batch));
        let ops = workspace_ops(&effects);
        let marks = ops
            .iter()
            .find_map(|op| match op {
                WorkspaceOp::MarkConflicts(m) => Some(m.clone()),
                _ => None,
            })
            .expect("marked");
        assert_eq!(
            marks,
            [(
                "ann@corp.example".to_string(),
                "same SCIM user as cat".to_string()
            )]
        );
    }

    #[test]
    fn a_file_loaded_again_after_a_restart_is_listed_once() {
        let path = "/data/okta.csv";
        let mut loaded = stored();
        loaded.sources.push(crate::workspace::SourceRecord {
            path: path.into(),
            kind: "idp".into(),
            format: "Okta assignments".into(),
            content_hash: String::new(),
            mapping: Default::default(),
            headers: Vec::new(),
            rows_loaded: 3,
            loaded_at: crate::app::testing::now(),
            identities: Vec::new(),
        });
        let mut s = state();
        reduce(&mut s, Action::OpenWorkspace);
        reduce(&mut s, opened(loaded, None));
        assert_eq!(s.users.files.len(), 1);
        let csv = format!("{CSV}dan,dan@corp.example,Dan,D\n");
        let import = import_str(path, &csv, &ImportOptions::default());
        reduce(
            &mut s,
            Action::FilesImported {
                results: vec![(ImportSource::Path(path.into()), import)],
                lookup_after: false,
            },
        );
        let names: Vec<&str> = s.users.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [path]);
        assert_eq!(s.users.files[0].rows, 4, "the entry is the new load's");
    }

    #[test]
    fn decisions_are_written_when_made() {
        let mut s = reopened();
        reduce(&mut s, Action::Command(Command::GoTab(1)));
        let effects = reduce(&mut s, Action::Command(Command::Ignore));
        assert!(matches!(
            &workspace_ops(&effects)[..],
            [WorkspaceOp::SetIgnored { keys, reason: Some(_) }] if keys == &["ann@corp.example"]
        ));
        reduce(&mut s, Action::Command(Command::Note));
        for c in "call her".chars() {
            reduce(
                &mut s,
                Action::Key(ratatui::crossterm::event::KeyEvent::from(
                    ratatui::crossterm::event::KeyCode::Char(c),
                )),
            );
        }
        let effects = reduce(&mut s, Action::Command(Command::EditCommit));
        assert!(matches!(
            &workspace_ops(&effects)[..],
            [WorkspaceOp::AddNote { key, text }] if key == "ann@corp.example" && text == "call her"
        ));
        assert_eq!(s.users.notes["ann@corp.example"][0].1, "call her");
        // A threshold changed on the Usage pane is written with the other settings.
        reduce(&mut s, Action::Command(Command::GoTab(2)));
        let effects = reduce(&mut s, Action::Command(Command::CycleThreshold));
        assert!(matches!(
            &workspace_ops(&effects)[..],
            [WorkspaceOp::SetSettings(settings)] if settings.idle_days == s.usage.threshold
        ));
    }

    #[test]
    fn a_read_only_workspace_is_never_written() {
        let mut s = state();
        reduce(&mut s, Action::OpenWorkspace);
        reduce(
            &mut s,
            opened(stored(), Some("in use by another navscim, process 7")),
        );
        assert_eq!(s.workspace.badge(), Some("workspace read-only"));
        reduce(&mut s, Action::Command(Command::GoTab(1)));
        for command in [Command::Ignore, Command::LookupRemaining] {
            let effects = reduce(&mut s, Action::Command(command));
            assert!(workspace_ops(&effects).is_empty(), "{effects:?}");
        }
        let batch = s.users.progress.batch;
        let effects = reduce(&mut s, batch_done(batch));
        assert!(workspace_ops(&effects).is_empty(), "{effects:?}");
    }

    #[test]
    fn stale_rows_are_those_checked_before_the_threshold() {
        let mut s = reopened();
        let now = crate::app::testing::now();
        assert_eq!(
            stale_rows(&s, now),
            vec![0],
            "not ignored, not never checked"
        );
        s.workspace.settings.stale_after_hours = 24 * 4;
        assert!(stale_rows(&s, now).is_empty());
    }

    #[test]
    fn ages_read_as_words() {
        let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now, now - chrono::Duration::minutes(5)), "5 min ago");
        assert_eq!(age(now, now - chrono::Duration::hours(3)), "3 h ago");
        assert_eq!(age(now, now - chrono::Duration::days(3)), "3 d ago");
    }
}
