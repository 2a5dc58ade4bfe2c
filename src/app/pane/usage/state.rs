//! The Usage pane's state: the usage report joined to the users, the idle model's
//! answers, and the pane's own view (filter, sort, cursor, marks).
//!
//! The table lists the report's rows (one a seat), each joined to the directory user it
//! belongs to (or to nobody, with the reason). The join and each row's activity are
//! computed once, when the report, the users or the as-of date change; figures that
//! depend on lookup results (what a plan would do) are refreshed when lookups finish
//! or the pane is shown, never per keystroke or frame.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::app::effect::ImportSource;
use crate::app::keys::Context;
use crate::app::table::TableState;
use crate::app::text_field::TextField;
use crate::import::{Diagnostic, Import, NeedsDateOrder, ReportPeriod, UsageRow};
use crate::matching::{Directory, DomainAliases};
use crate::usage::{self, Activity, IdleSummary, UsageJoin, IDLE_PRESETS};

/// The usage report loaded (one at a time; loading another replaces it).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    pub file: String,
    pub rows: Vec<UsageRow>,
    /// The report period: from the file, or as the admin typed it.
    pub period: Option<ReportPeriod>,
    /// Whether `period` came from the file (else the admin typed it, or none is known).
    pub period_from_file: bool,
    /// The slash-date order used, if the file had slash dates.
    pub date_order: Option<crate::import::DateOrder>,
    pub rows_read: usize,
    pub duplicates_merged: usize,
    /// Rows that could not be read and warnings (file:line: column: what).
    pub problems: Vec<Diagnostic>,
}

impl UsageReport {
    pub fn from_import(import: &Import) -> Self {
        let mut problems = import.errors.clone();
        problems.extend(import.warnings.iter().cloned());
        UsageReport {
            file: import.file.clone(),
            rows: import.usage_rows().to_vec(),
            period: import.report_period,
            period_from_file: import.report_period.is_some_and(|p| p.end.is_some()),
            date_order: import.date_order,
            rows_read: import.rows_read,
            duplicates_merged: import.duplicates_merged(),
            problems,
        }
    }
}

/// Quick filters by activity (cycled with `f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivityFilter {
    #[default]
    All,
    /// Idle for more than the threshold.
    Idle,
    NeverActivated,
    /// Active within the threshold.
    Active,
    /// The report cannot tell whether idle beyond the threshold.
    Unknown,
    /// Rows that joined no user.
    NoUser,
}

impl ActivityFilter {
    pub const CYCLE: [ActivityFilter; 6] = [
        ActivityFilter::All,
        ActivityFilter::Idle,
        ActivityFilter::NeverActivated,
        ActivityFilter::Active,
        ActivityFilter::Unknown,
        ActivityFilter::NoUser,
    ];

    /// The words naming it on the command line (`:usage idle`), first the main one;
    /// rows that joined no user are `unmatched` (or `no-user`).
    pub fn keywords(self) -> &'static [&'static str] {
        match self {
            ActivityFilter::All => &["all"],
            ActivityFilter::Idle => &["idle"],
            ActivityFilter::NeverActivated => &["never"],
            ActivityFilter::Active => &["active"],
            ActivityFilter::Unknown => &["unknown"],
            ActivityFilter::NoUser => &["unmatched", "no-user"],
        }
    }

    pub fn label(self, threshold: u32) -> String {
        match self {
            ActivityFilter::All => "all".into(),
            ActivityFilter::Idle => format!("idle > {threshold} d"),
            ActivityFilter::NeverActivated => "never activated".into(),
            ActivityFilter::Active => format!("active ≤ {threshold} d"),
            ActivityFilter::Unknown => "unknown".into(),
            ActivityFilter::NoUser => "no user".into(),
        }
    }

    fn next(self) -> Self {
        crate::app::table::next_in(&Self::CYCLE, self)
    }

    fn admits(self, activity: Option<&Activity>, user: Option<usize>, threshold: u32) -> bool {
        match self {
            ActivityFilter::All => true,
            ActivityFilter::NoUser => user.is_none(),
            ActivityFilter::Idle => activity.is_some_and(|a| is_idle(a, threshold)),
            ActivityFilter::NeverActivated => activity.is_some_and(Activity::is_never_activated),
            ActivityFilter::Active => {
                activity.is_some_and(|a| a.idle_beyond(threshold) == Some(false))
            }
            ActivityFilter::Unknown => activity
                .is_some_and(|a| !a.is_never_activated() && a.idle_beyond(threshold).is_none()),
        }
    }
}

/// Idle for more than `threshold` days (never-activated users are counted apart).
pub fn is_idle(activity: &Activity, threshold: u32) -> bool {
    !activity.is_never_activated() && activity.idle_beyond(threshold) == Some(true)
}

/// Sortable columns (cycled with `s`, reversed with `S`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSort {
    /// File order.
    Source,
    /// Most idle first (never activated before everyone).
    IdleDays,
    Name,
    Email,
    DaysActive,
    Searches,
}

impl UsageSort {
    pub const CYCLE: [UsageSort; 6] = [
        UsageSort::Source,
        UsageSort::IdleDays,
        UsageSort::Name,
        UsageSort::Email,
        UsageSort::DaysActive,
        UsageSort::Searches,
    ];

    pub fn label(self) -> &'static str {
        match self {
            UsageSort::Source => "file order",
            UsageSort::IdleDays => "idle days",
            UsageSort::Name => "name",
            UsageSort::Email => "email",
            UsageSort::DaysActive => "days active",
            UsageSort::Searches => "searches",
        }
    }

    /// Counts sort largest first unless reversed; text sorts A to Z.
    pub fn largest_first(self) -> bool {
        matches!(
            self,
            UsageSort::IdleDays | UsageSort::DaysActive | UsageSort::Searches
        )
    }
}

/// A one-line prompt over the Usage pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsagePromptKind {
    /// A custom idle threshold (days).
    Threshold,
    /// The grace period for recently provisioned users (days).
    Grace,
    /// The report period, when the report does not state it.
    Period,
    /// Load a usage report from this path.
    LoadFile,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UsagePrompt {
    pub kind: UsagePromptKind,
    pub input: TextField,
}

impl UsagePrompt {
    pub fn title(&self, state: &UsageState) -> String {
        match self.kind {
            UsagePromptKind::Threshold => {
                "Idle threshold: more than how many days? (presets: t cycles 30/60/90)".into()
            }
            UsagePromptKind::Grace => {
                "Grace period: leave alone users provisioned less than how many days ago?".into()
            }
            UsagePromptKind::Period => format!(
                "The report states no period: its end date (YYYY-MM-DD, or START..END){}",
                match state.today {
                    Some(d) => format!("; Esc measures to today, {d}"),
                    None => String::new(),
                }
            ),
            UsagePromptKind::LoadFile => "Load the Sales Navigator usage report (CSV)".into(),
        }
    }
}

/// A usage report whose slash dates nothing in the file orders: the admin chooses.
#[derive(Debug, Clone, PartialEq)]
pub struct DateOrderQuestion {
    pub source: ImportSource,
    pub needs: NeedsDateOrder,
}

/// The figures of the summary, over the rows joined to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageSummary {
    pub rows: usize,
    pub joined_rows: usize,
    pub joined_users: usize,
    pub unmatched_rows: usize,
    /// Buckets, never activated, idle over the threshold, undated.
    pub idle: IdleSummary,
    /// Rows active within each of [`IDLE_PRESETS`] days.
    pub active_within: [usize; 3],
    /// Rows the report cannot judge at the threshold (activity without a date).
    pub unknown: usize,
}

/// What `navscim plan deprovision` would do with every user now (same planning code),
/// as of the latest refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanPreview {
    pub operations: usize,
    /// Exclusions by reason (plan JSON names), in the plan's order.
    pub excluded: Vec<(&'static str, usize)>,
    /// Lookups were still running: the figures will change.
    pub provisional: bool,
    /// Users within the grace period (`recently_provisioned`).
    pub in_grace: usize,
}

#[derive(Debug, Clone)]
pub struct UsageState {
    pub report: Option<UsageReport>,
    /// The date idle days are measured to and where it came from
    /// ([`crate::usage::default_as_of`]); `None` until known.
    pub as_of: Option<(NaiveDate, String)>,
    /// Today, once the runtime told (only needed when the report states no period).
    pub today: Option<NaiveDate>,
    /// Idle for more than this many days (presets 30/60/90, default 90).
    pub threshold: u32,
    /// Users provisioned less than this many days ago are left alone (default 30).
    pub grace_days: u32,
    /// `join.links[i]` belongs to directory user `i`.
    pub join: UsageJoin,
    /// The directory user each usage row joined, if any.
    pub row_user: Vec<Option<usize>>,
    /// Each row's activity as of `as_of` (empty until it is known).
    pub activity: Vec<Activity>,
    pub summary: UsageSummary,
    pub preview: Option<PlanPreview>,
    /// The users' data the preview was computed from (`UsersState::changes`, and
    /// whether lookups were running).
    pub preview_of: Option<(u64, bool)>,
    /// The preview must be computed again (its inputs changed) before the pane is
    /// next shown: the reducer computes it at the end of the action that shows the
    /// pane, or of any action while the pane is shown ([`crate::app::pane::usage::reducer::settle`]),
    /// never while another pane is on screen.
    pub preview_due: bool,
    /// Lower-cased name and email per row: what `/` searches.
    haystacks: Vec<String>,
    /// The table of usage rows (items are row indices in the report).
    pub table: TableState<UsageSort>,
    pub activity_filter: ActivityFilter,
    pub details_open: bool,
    pub details_scroll: u16,
    pub prompt: Option<UsagePrompt>,
    pub date_order: Option<DateOrderQuestion>,
}

impl Default for UsageState {
    fn default() -> Self {
        UsageState {
            report: None,
            as_of: None,
            today: None,
            threshold: usage::DEFAULT_IDLE_DAYS,
            grace_days: usage::DEFAULT_GRACE_DAYS,
            join: UsageJoin::default(),
            row_user: Vec::new(),
            activity: Vec::new(),
            summary: UsageSummary::default(),
            preview: None,
            haystacks: Vec::new(),
            table: TableState::default(),
            activity_filter: ActivityFilter::All,
            details_open: false,
            details_scroll: 0,
            prompt: None,
            date_order: None,
            preview_of: None,
            preview_due: false,
        }
    }
}

impl UsageState {
    /// The key context of the pane (overlays aside).
    pub fn context(&self) -> Context {
        if self.date_order.is_some() {
            Context::UsageDateOrder
        } else if self.prompt.is_some() || self.table.filter_editing {
            Context::UsageText
        } else if self.details_open {
            Context::Details
        } else {
            Context::Usage
        }
    }

    /// The text field typed into in [`Context::UsageText`].
    pub fn text_field(&mut self) -> Option<&mut TextField> {
        match &mut self.prompt {
            Some(prompt) => Some(&mut prompt.input),
            None if self.table.filter_editing => Some(&mut self.table.filter),
            None => None,
        }
    }

    pub fn rows(&self) -> &[UsageRow] {
        self.report
            .as_ref()
            .map(|r| r.rows.as_slice())
            .unwrap_or(&[])
    }

    pub fn period(&self) -> Option<&ReportPeriod> {
        self.report.as_ref().and_then(|r| r.period.as_ref())
    }

    pub fn cursor_row(&self) -> Option<usize> {
        self.table.cursor_item()
    }

    /// Marked rows, else the cursor row: what an action applies to.
    pub fn targets(&self) -> Vec<usize> {
        self.table.targets()
    }

    pub fn hidden_marks(&self) -> usize {
        self.table.hidden_marks()
    }

    /// A row's activity, once the as-of date is known.
    pub fn activity_of(&self, row: usize) -> Option<&Activity> {
        self.activity.get(row)
    }

    /// Joins the report to the directory again (users or report changed), then
    /// recomputes activities, the summary and the view. O(users + rows).
    pub fn rejoin(&mut self, directory: &Directory, aliases: &DomainAliases) {
        // The users are read in place (`JoinKeys for DirUser`, the same keys as
        // `JoinTarget::from_dir_user`): no copy of every user's strings.
        let join = usage::join_usage(&directory.users, self.rows(), aliases);
        self.join = join;
        let rows = self
            .report
            .as_ref()
            .map(|r| r.rows.as_slice())
            .unwrap_or(&[]);
        let mut row_user = vec![None; rows.len()];
        for (user, link) in self.join.links.iter().enumerate() {
            for &r in link.iter().flat_map(|l| l.rows.iter()) {
                if let Some(slot) = row_user.get_mut(r) {
                    *slot = Some(user);
                }
            }
        }
        self.row_user = row_user;
        self.haystacks = rows
            .iter()
            .map(|r| {
                let (name, email) = (
                    r.name.as_deref().unwrap_or(""),
                    r.email.as_deref().unwrap_or(""),
                );
                let mut s = String::with_capacity(name.len() + email.len() + 1);
                crate::app::table::push_lowercase(&mut s, name);
                s.push('\u{1f}');
                crate::app::table::push_lowercase(&mut s, email);
                s
            })
            .collect();
        self.recompute();
    }

    /// Activities as of the as-of date, then the summary and the view. O(rows).
    pub fn recompute(&mut self) {
        self.activity = match self.as_of {
            Some((as_of, _)) => {
                let period = self.period().copied();
                self.rows()
                    .iter()
                    .map(|r| usage::activity(r, period.as_ref(), as_of))
                    .collect()
            }
            None => Vec::new(),
        };
        self.resummarize();
        self.refresh_view();
    }

    /// The summary at the current threshold. O(rows).
    pub fn resummarize(&mut self) {
        let joined: Vec<usize> = (0..self.row_user.len())
            .filter(|&r| self.row_user[r].is_some())
            .collect();
        let acts = || joined.iter().filter_map(|&r| self.activity.get(r));
        let mut active_within = [0; 3];
        for a in acts() {
            for (i, p) in IDLE_PRESETS.iter().enumerate() {
                if a.idle_beyond(*p) == Some(false) {
                    active_within[i] += 1;
                }
            }
        }
        let threshold = self.threshold;
        self.summary = UsageSummary {
            rows: self.rows().len(),
            joined_rows: self.join.joined_rows(),
            joined_users: self.join.links.iter().flatten().count(),
            unmatched_rows: self.join.unmatched.len(),
            idle: usage::summarize(acts().map(|a| Some(*a)), threshold),
            active_within,
            unknown: acts()
                .filter(|a| !a.is_never_activated() && a.idle_beyond(threshold).is_none())
                .count(),
        };
    }

    /// Recomputes `view` from the filters and sort, keeping the cursor on its row.
    pub fn refresh_view(&mut self) {
        let keep = self.cursor_row();
        let needle = self.table.needle();
        let rows = self.rows();
        let mut view: Vec<usize> = (0..rows.len())
            .filter(|&r| {
                self.activity_filter.admits(
                    self.activity.get(r),
                    self.row_user.get(r).copied().flatten(),
                    self.threshold,
                )
            })
            .filter(|&r| needle.is_empty() || self.haystacks[r].contains(&needle))
            .collect();
        if let Some((column, descending)) = self.table.sort {
            let activity = &self.activity;
            match column {
                UsageSort::Source => {}
                UsageSort::IdleDays => {
                    // Most idle first; never activated before all, unknown last.
                    view.sort_by_cached_key(|&r| {
                        std::cmp::Reverse(match activity.get(r) {
                            Some(Activity::NeverActivated) => i64::MAX,
                            Some(a) => a.idle_days().unwrap_or(-1),
                            None => -1,
                        })
                    })
                }
                UsageSort::Name => view.sort_by_cached_key(|&r| {
                    rows[r].name.clone().unwrap_or_default().to_lowercase()
                }),
                UsageSort::Email => view.sort_by_cached_key(|&r| {
                    rows[r].email.clone().unwrap_or_default().to_lowercase()
                }),
                UsageSort::DaysActive => {
                    view.sort_by_cached_key(|&r| std::cmp::Reverse(rows[r].days_active))
                }
                UsageSort::Searches => {
                    view.sort_by_cached_key(|&r| std::cmp::Reverse(rows[r].searches))
                }
            }
            if descending {
                view.reverse();
            }
        }
        self.table.set_view(view, keep);
        let rows = self.rows();
        self.table.content_widths = crate::app::table::measure(&self.table.view, |r| {
            let row = &rows[r];
            let width = |text: Option<&str>| crate::app::table::text_width(text.unwrap_or(""));
            [
                width(row.email.as_deref()),
                width(row.name.as_deref()),
                width(row.license_type.as_deref()),
                // The line number's digits, without formatting it.
                row.source.line.checked_ilog10().map_or(1, |d| d as u16 + 1),
            ]
        });
    }

    /// Marks every shown row joined to a user that the predicate picks (a row that
    /// joined nobody has no seat navscim could take back); returns how many were added.
    pub fn mark_shown_where(&mut self, pick: impl Fn(&Activity) -> bool) -> usize {
        let before = self.table.marks.len();
        for &r in &self.table.view {
            let joined = self.row_user.get(r).is_some_and(Option::is_some);
            if joined && self.activity.get(r).is_some_and(&pick) {
                self.table.marks.insert(r);
            }
        }
        self.table.marks.len() - before
    }

    /// Directory users of the marked rows (rows that joined nobody are left out).
    pub fn marked_users(&self) -> (BTreeSet<usize>, usize) {
        let mut users = BTreeSet::new();
        let mut no_user = 0;
        for &r in &self.table.marks {
            match self.row_user.get(r).copied().flatten() {
                Some(u) => {
                    users.insert(u);
                }
                None => no_user += 1,
            }
        }
        (users, no_user)
    }
}

/// The Usage table's columns sized from the whole view (what varies in length from
/// row to row), in the order of `TableState::content_widths`. The others are numbers
/// and dates their minimum widths hold; the last (the user a row joined) takes what
/// is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageColumn {
    Email,
    Name,
    Licence,
    Line,
}

impl crate::app::table::FilteredPane for UsageState {
    type Sort = UsageSort;
    const SORTS: &'static [UsageSort] = &UsageSort::CYCLE;
    fn table_mut(&mut self) -> &mut TableState<UsageSort> {
        &mut self.table
    }
    fn refresh_view(&mut self) {
        UsageState::refresh_view(self);
    }
    fn cycle_filter(&mut self) {
        self.activity_filter = self.activity_filter.next();
    }
    fn set_filter(&mut self, index: usize) {
        self.activity_filter = ActivityFilter::CYCLE
            .get(index)
            .copied()
            .unwrap_or_default();
    }
    fn reset_filter(&mut self) {
        self.activity_filter = Default::default();
    }
}
