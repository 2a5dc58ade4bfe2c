//! The Users pane's state and its part of the reducer: loaded files, the merged user
//! list, live lookup status, the filtered/sorted view, marks and triage.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::import::{Diagnostic, Import, ImportError};
use crate::matching::{
    DirUser, Directory, DomainAliases, LookupKind, LookupOutcome, MatchStatus, OutcomeSummary,
    Presence,
};
use crate::scim::ScimUser;

use crate::app::keys::Context;
use crate::app::notice::{error, info, warn, Notice};
use crate::app::table::TableState;
use crate::app::text_field::TextField;

/// Quick filters by status (cycled with `f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    Unmatched,
    Matched,
    Inactive,
    NotFound,
    Ambiguous,
    /// Found, but an identifier contradicts it, or shared with another source user.
    Conflict,
    Error,
    Orphan,
    Ignored,
}

impl StatusFilter {
    pub const CYCLE: [StatusFilter; 10] = [
        StatusFilter::All,
        StatusFilter::Unmatched,
        StatusFilter::Matched,
        StatusFilter::Inactive,
        StatusFilter::NotFound,
        StatusFilter::Ambiguous,
        StatusFilter::Conflict,
        StatusFilter::Error,
        StatusFilter::Orphan,
        StatusFilter::Ignored,
    ];

    /// The words naming it on the command line (`:users unmatched`), first the main one.
    pub fn keywords(self) -> &'static [&'static str] {
        match self {
            StatusFilter::All => &["all"],
            StatusFilter::Unmatched => &["unmatched"],
            StatusFilter::Matched => &["matched"],
            StatusFilter::Inactive => &["inactive"],
            StatusFilter::NotFound => &["not-found"],
            StatusFilter::Ambiguous => &["ambiguous"],
            StatusFilter::Conflict => &["conflict"],
            StatusFilter::Error => &["error"],
            StatusFilter::Orphan => &["orphan"],
            StatusFilter::Ignored => &["ignored"],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Unmatched => "unmatched",
            StatusFilter::Matched => "matched",
            StatusFilter::Inactive => "inactive",
            StatusFilter::NotFound => "not found",
            StatusFilter::Ambiguous => "ambiguous",
            StatusFilter::Conflict => "conflict",
            StatusFilter::Error => "error",
            StatusFilter::Orphan => "orphan seats",
            StatusFilter::Ignored => "ignored",
        }
    }

    fn next(self) -> Self {
        crate::app::table::next_in(&Self::CYCLE, self)
    }

    fn admits(self, row: &UserRow, presence: Presence) -> bool {
        let status = row.status();
        match self {
            StatusFilter::All => true,
            StatusFilter::Unmatched => matches!(
                status,
                MatchStatus::NotFound
                    | MatchStatus::Ambiguous
                    | MatchStatus::Conflict
                    | MatchStatus::Error
            ),
            StatusFilter::Matched => matches!(status, MatchStatus::Matched { .. }),
            StatusFilter::Inactive => status == MatchStatus::Matched { active: false },
            StatusFilter::NotFound => status == MatchStatus::NotFound,
            StatusFilter::Ambiguous => status == MatchStatus::Ambiguous,
            StatusFilter::Conflict => status == MatchStatus::Conflict,
            StatusFilter::Error => status == MatchStatus::Error,
            StatusFilter::Orphan => presence == Presence::OrphanSeat,
            StatusFilter::Ignored => status == MatchStatus::Ignored,
        }
    }
}

/// Sortable columns (cycled with `s`, reversed with `S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// File order.
    Source,
    Status,
    Name,
    Email,
    ExternalId,
}

impl SortColumn {
    pub const CYCLE: [SortColumn; 5] = [
        SortColumn::Source,
        SortColumn::Status,
        SortColumn::Name,
        SortColumn::Email,
        SortColumn::ExternalId,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Source => "file order",
            SortColumn::Status => "status",
            SortColumn::Name => "name",
            SortColumn::Email => "email",
            SortColumn::ExternalId => "externalId",
        }
    }
}

/// What navscim knows about one user beyond the exports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRow {
    /// In a lookup batch, not started yet.
    pub queued: bool,
    /// A lookup request for this user is in flight.
    pub looking_up: bool,
    /// The latest outcome, as the table, plans and joins read it.
    pub outcome: Option<Box<OutcomeSummary>>,
    /// The latest full outcome (attempts, candidates, the SCIM resource as returned),
    /// kept only while no writable workspace holds it (no workspace, or a read-only
    /// one); otherwise the details read it from the workspace
    /// ([`crate::app::workspace::outcome_arrived`]).
    pub full: Option<Box<LookupOutcome>>,
    pub ignored: bool,
    /// Linked by hand to a SCIM id (verified by GET).
    pub linked: bool,
    /// When `outcome` was answered (this session, or read from the workspace): what
    /// "checked 3 d ago" and the stale refresh measure.
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl UserRow {
    pub fn status(&self) -> MatchStatus {
        if self.ignored {
            MatchStatus::Ignored
        } else if self.looking_up {
            MatchStatus::LookingUp
        } else if self.queued {
            MatchStatus::Pending
        } else {
            self.outcome
                .as_ref()
                .map(|o| o.status)
                .unwrap_or(MatchStatus::Pending)
        }
    }

    pub fn scim_id(&self) -> Option<&str> {
        self.outcome.as_ref().and_then(|o| o.scim_id())
    }

    /// Marks the outcome a conflict (see [`LookupOutcome::mark_conflict`]), in the
    /// summary and in the full outcome if kept. Returns whether it changed anything.
    pub fn mark_conflict(&mut self, why: &str, also_not_found: bool) -> bool {
        if let Some(full) = self.full.as_mut() {
            full.mark_conflict(why, also_not_found);
        }
        self.outcome
            .as_mut()
            .is_some_and(|o| o.mark_conflict(why, also_not_found))
    }
}

/// The full outcome the details view shows when this session does not hold it: read
/// from the workspace ([`crate::app::workspace::read_details`]). Keyed by the user's
/// identity key, so an answer for another user is never shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum StoredDetails {
    #[default]
    None,
    /// Asked of the workspace.
    Reading(String),
    /// The workspace's answer: the stored outcome (none: nothing stored).
    Read(String, Option<Box<LookupOutcome>>),
    /// The read failed: why.
    Failed(String, String),
}

impl StoredDetails {
    /// Whether this is about the user `key`.
    pub fn is_for(&self, key: &str) -> bool {
        match self {
            StoredDetails::None => false,
            StoredDetails::Reading(k) | StoredDetails::Read(k, _) | StoredDetails::Failed(k, _) => {
                k == key
            }
        }
    }
}

/// A file the admin loaded, with what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFile {
    pub name: String,
    /// What the file holds (`None`: not known, e.g. restored from an older workspace).
    pub kind: Option<crate::import::FileKind>,
    pub format: String,
    pub rows: usize,
    pub new_users: usize,
    pub duplicates_merged: usize,
    pub problems: Vec<Diagnostic>,
}

/// Live progress of the current lookup batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LookupProgress {
    pub batch: u64,
    pub total: usize,
    pub done: usize,
    pub running: bool,
    pub cancelling: bool,
    /// Runtime clock at the first lookup of this run.
    pub started_at: Option<Duration>,
    /// Time since the run started, as of the latest result.
    pub elapsed: Duration,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    /// Lookups the engine started in this run (so `started - done` are in flight).
    pub started: usize,
    /// When the latest lookup started or answered (or the run began): how long the
    /// run has been waiting on the server.
    pub last_event: Option<chrono::DateTime<chrono::Utc>>,
}

impl LookupProgress {
    /// Users finished per second so far.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        }
    }

    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rate();
        (self.running && rate > 0.0).then(|| {
            Duration::from_secs_f64((self.total - self.done.min(self.total)) as f64 / rate)
        })
    }
}

/// A one-line prompt over the Users pane.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptKind {
    /// Re-look up the targets by this identifier kind and the typed value.
    Relookup(LookupKind),
    /// Link the cursor user to the typed SCIM id.
    Link,
    /// Load a CSV file from this path.
    LoadFile,
    /// A note about the cursor user (kept in the workspace).
    Note { index: usize },
    /// Refresh results older than the typed age (e.g. 24h, 3d): by stored SCIM id
    /// first, then the usual lookups.
    RefreshStale,
    /// A hand link to a SCIM user whose identity contradicts the cursor user's, or
    /// that another user already holds: shown side by side with why; typing `yes`
    /// links anyway (the admin's explicit decision), anything else cancels.
    ConfirmLink {
        index: usize,
        user: Box<ScimUser>,
        why: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: TextField,
}

impl Prompt {
    pub fn title(&self) -> String {
        match &self.kind {
            PromptKind::Relookup(kind) => format!(
                "Look up by {} (Tab: other identifier; empty: the user's own value)",
                kind.label()
            ),
            PromptKind::Link => "Link to SCIM id (verified with GET /Users/{id})".into(),
            PromptKind::LoadFile => "Load CSV file".into(),
            PromptKind::Note { .. } => "Note about this user (kept in the workspace)".into(),
            PromptKind::RefreshStale => {
                "Refresh results older than (e.g. 24h, 3d; by stored SCIM id first)".into()
            }
            PromptKind::ConfirmLink { user, .. } => format!(
                "Link anyway to SCIM id {}? Type yes and Enter (Esc cancels)",
                user.id.as_deref().unwrap_or("?")
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct UsersState {
    pub directory: Directory,
    pub rows: Vec<UserRow>,
    pub files: Vec<LoadedFile>,
    /// Lower-cased name, email, ids per user: what the `/` filter searches.
    pub haystacks: Vec<String>,
    /// Each user's cell widths, as [`UsersState::cell_widths`] gives them (parallel to
    /// `rows`): rebuilt when users come or go, kept by [`UsersState::update_row`], so
    /// a filter keystroke sizes the columns from these instead of building every
    /// row's texts again.
    pub widths: Vec<[u16; UserColumn::ALL.len()]>,
    /// The table of directory users (items are directory indices).
    pub table: TableState<SortColumn>,
    pub status_filter: StatusFilter,
    pub progress: LookupProgress,
    /// Lookup batches whose final answer has not come yet.
    pub running_batches: BTreeSet<u64>,
    /// Bumped by every change to a row or to the directory: other panes that derive
    /// from the users (the Usage preview) recompute only when it moved.
    pub changes: u64,
    /// Batches started by another pane (re-reading a batch's targets): their end does
    /// not replace that pane's notice.
    pub quiet_batches: BTreeSet<u64>,
    pub details_open: bool,
    pub details_scroll: u16,
    /// The full outcome of the user whose details are shown, read from the workspace.
    pub stored_details: StoredDetails,
    /// The loaded files and every problem found in them (`p`); scrolls like details.
    pub files_open: bool,
    pub prompt: Option<Prompt>,
    pub aliases: DomainAliases,
    /// Files the importer could not import at all (shown on the empty pane).
    pub unmapped: Vec<ImportError>,
    /// A file waiting for the admin to say which column holds what.
    pub mapping: Option<MappingDialog>,
    /// The admin's notes by identity key, oldest first: `(written at, text)`.
    pub notes: std::collections::BTreeMap<String, Vec<(chrono::DateTime<chrono::Utc>, String)>>,
    /// The sources list (`o`): files loaded, identity-provider connections.
    pub sources: super::sources::SourcesState,
    // Figures the pane shows every frame, kept up to date by the reducer so a frame
    // costs the same with 100,000 users as with 1,000.
    counts: HashMap<MatchStatus, usize>,
    orphans: usize,
}

/// The column-mapping dialog: one row per field navscim could not decide.
#[derive(Debug, Clone)]
pub struct MappingDialog {
    pub source: crate::app::effect::ImportSource,
    pub lookup_after: bool,
    pub needs: crate::import::NeedsMapping,
    /// Each undecided field and the column chosen for it (`None`: no column).
    pub choices: Vec<(crate::import::Field, Option<usize>)>,
    pub focus: usize,
}

impl UsersState {
    /// The key context of the pane: its dialogs first, then the filter, details, table.
    pub fn context(&self) -> Context {
        if self.mapping.is_some() {
            Context::Mapping
        } else if self.sources.open {
            self.sources.context()
        } else if self.prompt.is_some() {
            Context::Prompt
        } else if self.table.filter_editing {
            Context::UsersFilter
        } else if self.details_open || self.files_open {
            Context::Details
        } else {
            Context::Users
        }
    }

    pub fn cursor_user(&self) -> Option<usize> {
        self.table.cursor_item()
    }

    /// Marked users, else the cursor user: what an action applies to.
    pub fn targets(&self) -> Vec<usize> {
        self.table.targets()
    }

    /// Marked users the current view hides.
    pub fn hidden_marks(&self) -> usize {
        self.table.hidden_marks()
    }

    /// Changes one user's row, keeping the per-status counts and the column widths
    /// right.
    pub fn update_row(&mut self, index: usize, change: impl FnOnce(&mut UserRow)) {
        let Some(row) = self.rows.get_mut(index) else {
            return;
        };
        let before = row.status();
        change(row);
        self.changes += 1;
        let after = row.status();
        if before != after {
            if let Some(n) = self.counts.get_mut(&before) {
                *n = n.saturating_sub(1);
            }
            *self.counts.entry(after).or_default() += 1;
        }
        let widths = self.cell_widths(index);
        self.table.grow(&widths);
        if let Some(cached) = self.widths.get_mut(index) {
            *cached = widths;
        }
    }

    /// Every user's cell widths again (users came or went, or a file changed who has a
    /// seat); [`UsersState::add_imports`] and [`UsersState::restore`] call it.
    pub fn measure_all(&mut self) {
        self.widths = (0..self.directory.len())
            .map(|i| self.cell_widths(i))
            .collect();
    }

    pub fn presence(&self, index: usize) -> Presence {
        self.directory.presence(&self.directory.users[index])
    }

    /// Count of users per status label, for the progress line.
    /// The users not done: never looked up and not queued in a running batch
    /// (pending), or in error. Ignored users are left alone. Row indices.
    pub fn remaining(&self) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&i| {
                let row = &self.rows[i];
                !row.queued && matches!(row.status(), MatchStatus::Pending | MatchStatus::Error)
            })
            .collect()
    }

    pub fn status_counts(&self) -> Vec<(MatchStatus, usize)> {
        let counts = &self.counts;
        let order = [
            MatchStatus::Matched { active: true },
            MatchStatus::Matched { active: false },
            MatchStatus::NotFound,
            MatchStatus::Ambiguous,
            MatchStatus::Conflict,
            MatchStatus::Error,
            MatchStatus::Ignored,
            MatchStatus::LookingUp,
            MatchStatus::Pending,
        ];
        order
            .into_iter()
            .filter_map(|s| counts.get(&s).filter(|n| **n > 0).map(|n| (s, *n)))
            .collect()
    }

    pub fn orphan_count(&self) -> usize {
        self.orphans
    }

    /// Adds imported files to the directory. Returns the new users' indices.
    pub fn add_imports(&mut self, imports: Vec<Result<Import, ImportError>>) -> Vec<usize> {
        let before = self.directory.len();
        for result in imports {
            match result {
                Ok(import) => {
                    let withdrawn = self.withdraw_earlier_version(&import);
                    let new_users = self.directory.add_import(&import, &self.aliases);
                    self.remove_left(withdrawn);
                    let mut problems = import.errors.clone();
                    problems.extend(import.warnings.iter().cloned());
                    self.files.push(LoadedFile {
                        name: import.file.clone(),
                        kind: Some(import.detection.format.kind()),
                        format: import.detection.format.label().to_string(),
                        rows: import.rows_read,
                        new_users,
                        duplicates_merged: import.duplicates_merged(),
                        problems,
                    });
                }
                Err(e) => self.unmapped.push(e),
            }
        }
        self.changes += 1;
        let added = self.directory.len() - self.rows.len();
        self.rows
            .resize_with(self.directory.len(), UserRow::default);
        *self.counts.entry(MatchStatus::Pending).or_default() += added;
        // A new file can turn a user into (or out of) an orphan seat: count again.
        self.orphans = (0..self.directory.len())
            .filter(|i| self.presence(*i) == Presence::OrphanSeat)
            .count();
        // Users seen again in a later file may have gained details: rebuild all.
        self.haystacks = self.directory.users.iter().map(haystack).collect();
        self.measure_all();
        self.refresh_view();
        (before..self.directory.len()).collect()
    }

    /// A file loaded again (the same name as a file the users came from): what its
    /// earlier version brought is withdrawn first ([`Directory::withdraw_file`]), so that
    /// the users it no longer lists become orphan seats or leave, and changed
    /// identifiers are taken from the new version. Returns the users left with no
    /// source: [`UsersState::remove_left`] removes those the new version does not list.
    fn withdraw_earlier_version(&mut self, import: &Import) -> Vec<usize> {
        let file = import.file.as_str();
        let kind = import.detection.format.kind();
        if kind == crate::import::FileKind::Usage
            || !self
                .directory
                .users
                .iter()
                .any(|u| u.sources.iter().any(|s| s.file == file))
        {
            return Vec::new();
        }
        let files = &self.files;
        let kind_of = |name: &str| {
            // The same file, named as given or by the absolute path the workspace
            // keeps.
            let under = |long: &str, short: &str| {
                long.strip_suffix(short)
                    .is_some_and(|dir| dir.ends_with('/'))
            };
            let same =
                |f: &&LoadedFile| f.name == name || under(&f.name, name) || under(name, &f.name);
            files
                .iter()
                .find(same)
                .and_then(|f| f.kind)
                .or_else(|| idp_listing(name).then_some(crate::import::FileKind::Idp))
        };
        self.directory.withdraw_file(file, kind, kind_of)
    }

    /// Removes, with their rows, the users of `withdrawn` (existing users, ascending)
    /// that no file names any more after the new version was added: they left. Not while
    /// lookups run (their jobs name rows by index): they stay, with no source, until
    /// the next load. A user the new version lists again keeps their row (outcome,
    /// decisions, when checked).
    fn remove_left(&mut self, withdrawn: Vec<usize>) {
        let gone: Vec<usize> = withdrawn
            .into_iter()
            .filter(|&i| self.directory.users[i].sources.is_empty())
            .collect();
        if gone.is_empty() || !self.running_batches.is_empty() {
            return;
        }
        let keep = |at: &mut usize| {
            *at += 1;
            gone.binary_search(&(*at - 1)).is_err()
        };
        let mut at = 0;
        self.directory.users.retain(|_| keep(&mut at));
        self.directory.reindex();
        let mut at = 0;
        self.rows.retain(|_| keep(&mut at));
        // Marks and the details name users by index: both start afresh.
        self.table.clear_marks();
        self.details_open = false;
        self.prompt = None;
        self.counts.clear();
        for row in &self.rows {
            *self.counts.entry(row.status()).or_default() += 1;
        }
    }

    /// Replaces the users with what the workspace held: the merged users, one row each
    /// (outcome, when checked, ignored, linked) and the files they came from. The
    /// per-status counts, orphans and search text are rebuilt.
    pub fn restore(&mut self, directory: Directory, rows: Vec<UserRow>, files: Vec<LoadedFile>) {
        self.directory = directory;
        self.rows = rows;
        self.rows
            .resize_with(self.directory.len(), UserRow::default);
        self.files = files;
        self.counts.clear();
        for row in &self.rows {
            *self.counts.entry(row.status()).or_default() += 1;
        }
        self.orphans = (0..self.directory.len())
            .filter(|i| self.presence(*i) == Presence::OrphanSeat)
            .count();
        self.haystacks = self.directory.users.iter().map(haystack).collect();
        self.measure_all();
        self.changes += 1;
        self.refresh_view();
    }

    /// Recomputes `view` from the filters and sort, keeping the cursor on its user.
    pub fn refresh_view(&mut self) {
        let keep = self.cursor_user();
        let needle = self.table.needle();
        let mut view: Vec<usize> = (0..self.directory.len())
            .filter(|&i| self.status_filter.admits(&self.rows[i], self.presence(i)))
            .filter(|&i| needle.is_empty() || self.haystacks[i].contains(&needle))
            .collect();
        if let Some((column, descending)) = self.table.sort {
            let users = &self.directory.users;
            let rows = &self.rows;
            let key = |i: &usize| -> String {
                match column {
                    SortColumn::Source => String::new(),
                    SortColumn::Status => status_rank(rows[*i].status()).to_string(),
                    SortColumn::Name => users[*i].name().to_lowercase(),
                    SortColumn::Email => users[*i].email.clone().unwrap_or_default().to_lowercase(),
                    SortColumn::ExternalId => users[*i].external_id().unwrap_or("").to_string(),
                }
            };
            // A stable sort on a cached key keeps file order among equals.
            view.sort_by_cached_key(key);
            if descending {
                view.reverse();
            }
        }
        self.table.set_view(view, keep);
        let widths = &self.widths;
        self.table.content_widths = crate::app::table::measure(&self.table.view, |i| {
            widths.get(i).copied().unwrap_or_default()
        });
    }

    /// The text of user `index`'s cell in `column` of the table, as shown.
    pub fn cell(&self, index: usize, column: UserColumn) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        let user = &self.directory.users[index];
        let row = &self.rows[index];
        let presence = self.presence(index);
        match column {
            UserColumn::Status => {
                let status = row.status();
                if presence == Presence::OrphanSeat && !status.is_final() {
                    Cow::Borrowed("orphan")
                } else {
                    Cow::Borrowed(status.label())
                }
            }
            UserColumn::Name => Cow::Owned(user.name()),
            UserColumn::Email => Cow::Borrowed(user.email.as_deref().unwrap_or("")),
            UserColumn::ExternalId => Cow::Borrowed(user.external_id().unwrap_or("")),
            UserColumn::Seat => match presence {
                Presence::OrphanSeat => Cow::Borrowed("orphan"),
                Presence::Missing => Cow::Borrowed("no seat"),
                _ => Cow::Owned(
                    user.seat
                        .as_ref()
                        .and_then(|s| s.license_status.as_ref())
                        .map(|l| l.as_str().to_lowercase())
                        .unwrap_or_default(),
                ),
            },
            UserColumn::ScimId => Cow::Borrowed(row.scim_id().unwrap_or("")),
            UserColumn::Src => Cow::Owned(user.sources.len().to_string()),
            UserColumn::Detail => {
                let detail = self.detail(index);
                let note = match presence {
                    Presence::OrphanSeat => "orphan seat (in no IdP file)",
                    Presence::Missing => "no seat in the Sales Navigator export",
                    _ => "",
                };
                match (note.is_empty(), detail.is_empty()) {
                    (true, _) => Cow::Borrowed(detail),
                    (false, true) => Cow::Borrowed(note),
                    (false, false) => Cow::Owned(format!("{note}; {detail}")),
                }
            }
        }
    }

    /// User `index`'s full latest outcome, if this session holds it or the workspace's
    /// answer for them is in.
    pub fn full_outcome(&self, index: usize) -> Option<&LookupOutcome> {
        let row = self.rows.get(index)?;
        if let Some(full) = row.full.as_deref() {
            return Some(full);
        }
        match &self.stored_details {
            StoredDetails::Read(key, Some(o)) if *key == self.directory.users.get(index)?.key => {
                Some(o)
            }
            _ => None,
        }
    }

    /// The widths of user `index`'s cells, in [`UserColumn::ALL`]'s order.
    pub fn cell_widths(&self, index: usize) -> [u16; UserColumn::ALL.len()] {
        UserColumn::ALL.map(|column| crate::app::table::text_width(&self.cell(index, column)))
    }

    /// The text of the one-line summary of a finished user, for the table's detail column.
    pub fn detail(&self, index: usize) -> &str {
        self.rows[index]
            .outcome
            .as_ref()
            .map(|o| o.detail.as_str())
            .unwrap_or("")
    }
}

/// The Users table's columns whose text comes from the user (the mark column aside),
/// in the order of [`TableState::content_widths`](crate::app::table::TableState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserColumn {
    Status,
    Name,
    Email,
    ExternalId,
    Seat,
    ScimId,
    Src,
    Detail,
}

impl UserColumn {
    pub const ALL: [UserColumn; 8] = [
        UserColumn::Status,
        UserColumn::Name,
        UserColumn::Email,
        UserColumn::ExternalId,
        UserColumn::Seat,
        UserColumn::ScimId,
        UserColumn::Src,
        UserColumn::Detail,
    ];
}

fn haystack(user: &DirUser) -> String {
    let parts = [
        user.email.as_deref(),
        user.user_name.as_deref(),
        user.external_id(),
        user.idp_id.as_deref(),
        user.stored_scim_id.as_deref(),
    ];
    let name = user.name();
    let mut s = String::with_capacity(
        name.len() + parts.iter().flatten().map(|p| p.len() + 1).sum::<usize>(),
    );
    crate::app::table::push_lowercase(&mut s, &name);
    for part in parts.into_iter().flatten() {
        s.push('\u{1f}');
        crate::app::table::push_lowercase(&mut s, part);
    }
    s
}

/// Whether a source names an identity provider's listing read over its API (its "file"
/// is how the assignment reaches the user, e.g. `Okta, via group Sales`).
pub fn idp_listing(file: &str) -> bool {
    [
        "Okta app assignment",
        "Okta, via ",
        "Entra ID app assignment",
        "Entra ID, via ",
    ]
    .iter()
    .any(|p| file.starts_with(p))
}

/// Problems first when sorting by status.
fn status_rank(status: MatchStatus) -> u8 {
    match status {
        MatchStatus::Error | MatchStatus::Conflict => 0,
        MatchStatus::Ambiguous => 1,
        MatchStatus::NotFound => 2,
        MatchStatus::Matched { active: false } => 3,
        MatchStatus::Matched { active: true } => 4,
        MatchStatus::LookingUp => 5,
        MatchStatus::Pending => 6,
        MatchStatus::Ignored => 7,
    }
}

/// What one load of files added to the Users pane, for the notice line. When the same
/// load brought usage reports, the Usage pane completes the notice with its part.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSummary {
    /// Why each file that could not be loaded failed.
    pub failures: Vec<String>,
    /// `name (format, N rows)` of each file loaded into the directory.
    pub files: Vec<String>,
    /// Row problems in those files (`p` lists them).
    pub problems: usize,
    /// Users the directory gained.
    pub new_users: usize,
}

impl LoadSummary {
    /// The notice for the load; `usage` is the Usage pane's notice for reports in it.
    pub fn notice(&self, usage: Option<Notice>) -> Notice {
        let names = self.files.join(", ");
        let new_users = self.new_users;
        match (self.failures.first(), self.problems, usage) {
            (Some(first), _, _) if self.failures.len() == 1 => error(first.clone()),
            // Every file that could not be loaded is named, not only the first.
            (Some(_), _, _) => error(format!(
                "{} files could not be loaded: {}",
                self.failures.len(),
                self.failures.join(" · ")
            )),
            (None, _, Some(usage)) if self.files.is_empty() => usage,
            // The counts first: the status line at 80 columns shows them; the
            // file names follow (the message log, M, has the whole line).
            (None, 0, Some(usage)) => Notice {
                level: usage.level,
                text: format!("{new_users} new users · {} · from {names}", usage.text),
            },
            (None, 0, _) => info(format!("{new_users} new users loaded from {names}")),
            (None, n, _) => warn(format!(
                "{new_users} new users, {n} problems (p lists them) · loaded from {names}"
            )),
        }
    }
}

impl crate::app::table::FilteredPane for UsersState {
    type Sort = SortColumn;
    const SORTS: &'static [SortColumn] = &SortColumn::CYCLE;
    fn table_mut(&mut self) -> &mut TableState<SortColumn> {
        &mut self.table
    }
    fn refresh_view(&mut self) {
        UsersState::refresh_view(self);
    }
    fn cycle_filter(&mut self) {
        self.status_filter = self.status_filter.next();
    }
    fn set_filter(&mut self, index: usize) {
        self.status_filter = StatusFilter::CYCLE.get(index).copied().unwrap_or_default();
    }
    fn reset_filter(&mut self) {
        self.status_filter = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{import_str, ImportOptions};

    const SALESNAV: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
        ann@corp.example,Ann,A,U1,S1,ACTIVE,,NONE,\n\
        bob@corp.example,Bob,B,U2,S2,ACTIVE,,NONE,\n";

    fn okta(rows: &[&str]) -> Import {
        let text = format!("Username,Email,First Name,Last Name\n{}", rows.concat());
        import_str("okta.csv", &text, &ImportOptions::default()).unwrap()
    }

    fn index(users: &UsersState, key: &str) -> Option<usize> {
        users.directory.users.iter().position(|u| u.key == key)
    }

    /// Loading a changed identity-provider file again: the leaver who still holds a
    /// seat becomes an orphan seat, a changed user name is taken from the new version,
    /// a user no file names any more leaves (with their row), and the earlier rows are
    /// not kept next to the new ones.
    #[test]
    fn a_file_loaded_again_replaces_what_its_earlier_version_brought() {
        let mut users = UsersState::default();
        let salesnav = import_str("salesnav.csv", SALESNAV, &ImportOptions::default()).unwrap();
        users.add_imports(vec![
            Ok(okta(&[
                "ann,ann@corp.example,Ann,A\n",
                "bob,bob@corp.example,Bob,B\n",
                "cat,cat@corp.example,Cat,C\n",
            ])),
            Ok(salesnav),
        ]);
        assert_eq!(users.directory.len(), 3);
        let bob = index(&users, "bob@corp.example").unwrap();
        assert_eq!(users.presence(bob), Presence::Both);

        // Everyone was looked up.
        let looked_up = OutcomeSummary {
            status: MatchStatus::NotFound,
            matched_by: None,
            scim: None,
            created: None,
            error: None,
            detail: "tried email".into(),
        };
        for row in &mut users.rows {
            row.outcome = Some(Box::new(looked_up.clone()));
        }

        // bob left; cat is gone from every file; ann's user name changed.
        users.files.retain(|f| f.name != "okta.csv");
        users.add_imports(vec![Ok(okta(&["ann.new,ann@corp.example,Ann,A\n"]))]);
        assert_eq!(users.directory.len(), 2, "cat left");
        assert_eq!(users.rows.len(), 2);
        assert!(index(&users, "cat@corp.example").is_none());
        let bob = index(&users, "bob@corp.example").unwrap();
        assert_eq!(users.presence(bob), Presence::OrphanSeat);
        assert_eq!(users.orphans, 1);
        let ann = &users.directory.users[index(&users, "ann@corp.example").unwrap()];
        assert_eq!(ann.user_name.as_deref(), Some("ann.new"));
        let okta_rows = ann.sources.iter().filter(|s| s.file == "okta.csv").count();
        assert_eq!(okta_rows, 1, "{:?}", ann.sources);
        assert!(
            users.rows.iter().all(|r| r.outcome.is_some()),
            "the users listed again keep their rows"
        );

        // The export loaded again as it was (as every start does): nobody changes.
        let salesnav = import_str("salesnav.csv", SALESNAV, &ImportOptions::default()).unwrap();
        users.files.retain(|f| f.name != "salesnav.csv");
        users.add_imports(vec![Ok(salesnav)]);
        assert_eq!(users.directory.len(), 2);
        assert!(users.rows.iter().all(|r| r.outcome.is_some()));
        let bob = index(&users, "bob@corp.example").unwrap();
        assert_eq!(users.presence(bob), Presence::OrphanSeat);
    }
}
