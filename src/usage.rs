//! Usage: the Sales Navigator usage report joined to the users navscim knows, and the
//! idle model (idle days, never activated, grace period for new users).
//!
//! SCIM returns no usage, so whose seat to take back is decided from the usage report
//! exported from Sales Navigator ([`crate::import`] reads it into [`UsageRow`]s). Pure
//! code, shared by the Usage pane and `navscim plan`; "today" is always a parameter.
//!
//! **Join** ([`join_usage`]): a usage row joins a user by normalised email (trimmed,
//! lower case, domain aliases applied; the user's email and, when it is an email, their
//! IdP user name). A row whose email is blank or matches nobody falls back to the full
//! name — exact apart from case and repeated spaces — when exactly one user (not
//! already joined by email) and exactly one such row carry it. Every row that joins
//! nobody is listed in [`UsageJoin::unmatched`] with the reason; none is dropped.
//! A user may be joined by several rows (the export held several seats for them):
//! their activity is the most recent of those rows ([`Activity::most_active`]), the
//! cautious choice when deciding to take a seat back.
//!
//! **Idle model** ([`activity`]): a row with no last-active date, no days-since-active
//! and every metric blank or 0 is **never activated** (SCIM assigns the licence; the
//! user must activate it). Otherwise idle days are counted from the last-active date
//! (else the report's own days-since-active) to the as-of date. A row with days
//! active = 0 but no date is idle for at least the whole report period; a row with
//! activity in the period but no date is idle for at most the days since the period
//! started. A user is **idle** at threshold N when idle for **more than** N days.
//!
//! **As-of date** ([`default_as_of`]): `--as-of` if given, else the end of the usage
//! report's period when the report states it (idle days are then what the report can
//! prove, never more), else today.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::import::{ReportPeriod, SourceRef, UsageRow};
use crate::matching::{identity_key, DirUser, DomainAliases};

/// Idle thresholds offered as presets (days).
pub const IDLE_PRESETS: [u32; 3] = [30, 60, 90];
/// The default idle threshold (days).
pub const DEFAULT_IDLE_DAYS: u32 = 90;
/// Users provisioned less than this many days ago are left alone (default).
pub const DEFAULT_GRACE_DAYS: u32 = 30;

/// One user's identities that a usage row may join by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinTarget {
    /// Emails (as written): the user's email and an email-like user name.
    pub emails: Vec<String>,
    /// The full name, if the user has a real one (not an email standing in for it).
    pub name: Option<String>,
}

impl JoinTarget {
    pub fn new(email: Option<&str>, user_name: Option<&str>, name: Option<&str>) -> Self {
        let mut emails = Vec::new();
        for e in [email, user_name].into_iter().flatten() {
            let e = e.trim();
            if e.contains('@') && !emails.iter().any(|x: &String| x.eq_ignore_ascii_case(e)) {
                emails.push(e.to_string());
            }
        }
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.contains('@'))
            .map(str::to_string);
        JoinTarget { emails, name }
    }

    /// From the Users pane's directory.
    pub fn from_dir_user(user: &DirUser) -> Self {
        let name = match (&user.first_name, &user.last_name) {
            (None, None) => user.display_name.clone(),
            _ => Some(user.name()),
        };
        JoinTarget::new(
            user.email.as_deref(),
            user.user_name.as_deref(),
            name.as_deref(),
        )
    }
}

/// What [`join_usage`] reads of a user: the emails and the full name to join by. Read
/// in place (a [`JoinTarget`] holds its own copies; the Users pane's [`DirUser`]s are
/// read without copying 100,000 users' strings first).
pub trait JoinKeys {
    /// The emails to join by, as written: the user's email and an email-like user
    /// name, trimmed, each once (ignoring ASCII case).
    fn join_emails(&self) -> impl Iterator<Item = &str>;
    /// The full name, if the user has a real one (trimmed; not an email standing in for
    /// it). Only asked of users no email joined.
    fn join_name(&self) -> Option<std::borrow::Cow<'_, str>>;
}

impl JoinKeys for JoinTarget {
    fn join_emails(&self) -> impl Iterator<Item = &str> {
        self.emails.iter().map(String::as_str)
    }
    fn join_name(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.name.as_deref().map(std::borrow::Cow::Borrowed)
    }
}

/// As [`JoinTarget::from_dir_user`] makes it, without the copies.
impl JoinKeys for DirUser {
    fn join_emails(&self) -> impl Iterator<Item = &str> {
        let email = self.email.as_deref().map(str::trim);
        let user_name = self
            .user_name
            .as_deref()
            .map(str::trim)
            .filter(|u| !email.is_some_and(|e| e.contains('@') && e.eq_ignore_ascii_case(u)));
        [email, user_name]
            .into_iter()
            .flatten()
            .filter(|e| e.contains('@'))
    }
    fn join_name(&self) -> Option<std::borrow::Cow<'_, str>> {
        let name = match (&self.first_name, &self.last_name) {
            (None, None) => std::borrow::Cow::Borrowed(self.display_name.as_deref()?),
            _ => std::borrow::Cow::Owned(self.name()),
        };
        if name.trim().is_empty() || name.contains('@') {
            return None;
        }
        Some(match name {
            std::borrow::Cow::Borrowed(n) => std::borrow::Cow::Borrowed(n.trim()),
            std::borrow::Cow::Owned(n) => std::borrow::Cow::Owned(n.trim().to_string()),
        })
    }
}

/// The users an identity key belongs to, in [`join_usage`] (one, as a rule: no list
/// per key).
enum Holders {
    One(usize),
    /// Two or more, in the order first seen.
    Many(Vec<usize>),
}

impl Holders {
    fn add(&mut self, i: usize) {
        match self {
            Holders::One(j) if *j == i => {}
            Holders::One(j) => *self = Holders::Many(vec![*j, i]),
            Holders::Many(list) => {
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }
    }
}

/// How a usage row was joined to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinedBy {
    Email,
    /// Exact full name, unique on both sides.
    Name,
}

/// The usage rows joined to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLink {
    /// Indices into the usage rows, in file order (usually one).
    pub rows: Vec<usize>,
    pub by: JoinedBy,
}

/// A usage row that joined nobody, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedUsage {
    /// Index into the usage rows.
    pub row: usize,
    pub email: Option<String>,
    pub name: Option<String>,
    pub source: SourceRef,
    pub why: String,
}

/// The result of [`join_usage`]: `links[i]` belongs to `targets[i]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageJoin {
    pub links: Vec<Option<UsageLink>>,
    pub unmatched: Vec<UnmatchedUsage>,
}

impl UsageJoin {
    pub fn link(&self, target: usize) -> Option<&UsageLink> {
        self.links.get(target).and_then(Option::as_ref)
    }

    /// Users joined by email / by name.
    pub fn joined_by(&self, by: JoinedBy) -> usize {
        self.links.iter().flatten().filter(|l| l.by == by).count()
    }

    /// Usage rows joined to some user.
    pub fn joined_rows(&self) -> usize {
        self.links.iter().flatten().map(|l| l.rows.len()).sum()
    }
}

/// Full names compare ignoring case and repeated or surrounding spaces.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Joins usage rows to users: by normalised email (with domain aliases), else by exact
/// full name when unique. See the module documentation for the rules.
pub fn join_usage<T: JoinKeys>(
    targets: &[T],
    rows: &[UsageRow],
    aliases: &DomainAliases,
) -> UsageJoin {
    let mut by_email: HashMap<String, Holders> = HashMap::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        for e in t.join_emails() {
            match by_email.entry(identity_key(e, aliases)) {
                std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().add(i),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Holders::One(i));
                }
            }
        }
    }
    let mut links: Vec<Option<UsageLink>> = vec![None; targets.len()];
    let mut unmatched = Vec::new();
    // Rows left for the name fallback, with the reason should that fail too.
    let mut leftover: Vec<(usize, String)> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let email = row
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let Some(email) = email else {
            leftover.push((r, "no email in the usage row".into()));
            continue;
        };
        match by_email.get(&identity_key(email, aliases)) {
            Some(Holders::One(t)) => match &mut links[*t] {
                Some(link) => link.rows.push(r),
                slot => {
                    *slot = Some(UsageLink {
                        rows: vec![r],
                        by: JoinedBy::Email,
                    })
                }
            },
            Some(Holders::Many(several)) => unmatched.push(unmatched_row(
                r,
                row,
                format!("the email matches {} users", several.len()),
            )),
            None => leftover.push((r, "no user with this email".into())),
        }
    }

    // Name fallback: unique among users not joined by email, and among leftover rows.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        if links[i].is_none() {
            if let Some(n) = t.join_name() {
                by_name.entry(name_key(&n)).or_default().push(i);
            }
        }
    }
    let mut rows_by_name: HashMap<String, usize> = HashMap::new();
    for (r, _) in &leftover {
        if let Some(n) = rows[*r].name.as_deref().filter(|n| !n.trim().is_empty()) {
            *rows_by_name.entry(name_key(n)).or_default() += 1;
        }
    }
    for (r, why) in leftover {
        let row = &rows[r];
        let Some(name) = row.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            unmatched.push(unmatched_row(r, row, format!("{why}, and no name")));
            continue;
        };
        let key = name_key(name);
        let users = by_name.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let same_name_rows = rows_by_name.get(&key).copied().unwrap_or(0);
        match users {
            [t] if same_name_rows == 1 => {
                links[*t] = Some(UsageLink {
                    rows: vec![r],
                    by: JoinedBy::Name,
                });
            }
            [] => unmatched.push(unmatched_row(
                r,
                row,
                format!("{why}, and no user named {name:?}"),
            )),
            [_] => unmatched.push(unmatched_row(
                r,
                row,
                format!("{why}, and {same_name_rows} usage rows are named {name:?}"),
            )),
            several => unmatched.push(unmatched_row(
                r,
                row,
                format!("{why}, and {} users are named {name:?}", several.len()),
            )),
        }
    }
    unmatched.sort_by_key(|u| u.row);
    UsageJoin { links, unmatched }
}

fn unmatched_row(r: usize, row: &UsageRow, why: String) -> UnmatchedUsage {
    UnmatchedUsage {
        row: r,
        email: row.email.clone(),
        name: row.name.clone(),
        source: row.source.clone(),
        why,
    }
}

/// What the usage report says about one user's activity, as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Activity {
    /// Licence assigned, no activity at all in the report.
    NeverActivated,
    /// Idle for `days` days (`at_least`: only a lower bound is known, from days
    /// active = 0 over the report period).
    Idle {
        days: i64,
        last_active: Option<NaiveDate>,
        at_least: bool,
    },
    /// Active during the report period, but no date says when: idle for at most
    /// `at_most` days (unknown without the period's start).
    Undated { at_most: Option<i64> },
}

/// The activity a usage row shows as of `as_of` (see the module documentation).
pub fn activity(row: &UsageRow, period: Option<&ReportPeriod>, as_of: NaiveDate) -> Activity {
    if row.never_active() {
        return Activity::NeverActivated;
    }
    if let Some(days) = row.idle_days(as_of) {
        return Activity::Idle {
            days,
            last_active: row.last_active,
            at_least: false,
        };
    }
    let since_start = period
        .and_then(|p| p.start)
        .map(|start| (as_of - start).num_days().max(0));
    match (row.days_active, since_start) {
        // No activity on any day of the period: idle since before it began.
        (Some(0), Some(days)) => Activity::Idle {
            days: days + 1,
            last_active: None,
            at_least: true,
        },
        _ => Activity::Undated {
            at_most: since_start,
        },
    }
}

impl Activity {
    /// Whether idle for more than `threshold` days; `None` when the report cannot
    /// tell (and for never-activated users, which are judged separately).
    pub fn idle_beyond(&self, threshold: u32) -> Option<bool> {
        let t = i64::from(threshold);
        match *self {
            Activity::NeverActivated => None,
            Activity::Idle {
                days,
                at_least: false,
                ..
            } => Some(days > t),
            Activity::Idle { days, .. } => (days > t).then_some(true),
            Activity::Undated { at_most } => match at_most {
                Some(m) if m <= t => Some(false),
                _ => None,
            },
        }
    }

    /// Idle days when known exactly or as a lower bound.
    pub fn idle_days(&self) -> Option<i64> {
        match *self {
            Activity::Idle { days, .. } => Some(days),
            _ => None,
        }
    }

    pub fn is_never_activated(&self) -> bool {
        matches!(self, Activity::NeverActivated)
    }

    /// Of two rows for the same user, the one showing more recent activity.
    pub fn most_active(self, other: Activity) -> Activity {
        fn rank(a: &Activity) -> (u8, i64) {
            match *a {
                Activity::NeverActivated => (0, 0),
                Activity::Idle { days, .. } => (1, -days),
                Activity::Undated { at_most } => (1, -at_most.unwrap_or(0)),
            }
        }
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }

    /// In words, e.g. "idle 143 days (last active 2025-01-08)".
    pub fn describe(&self) -> String {
        match *self {
            Activity::NeverActivated => {
                "never activated: licence assigned, no activity in the report period".into()
            }
            Activity::Idle {
                days,
                last_active: Some(d),
                ..
            } => format!("idle {days} days (last active {d})"),
            Activity::Idle {
                days,
                at_least: true,
                ..
            } => format!("idle at least {days} days (no active day in the report period)"),
            Activity::Idle { days, .. } => format!("idle {days} days"),
            Activity::Undated { at_most: Some(m) } => {
                format!("active in the report period (idle at most {m} days), no last-active date")
            }
            Activity::Undated { at_most: None } => {
                "active in the report period, no last-active date".into()
            }
        }
    }
}

/// A user's activity over every usage row joined to them (the most recent wins).
pub fn link_activity(
    link: &UsageLink,
    rows: &[UsageRow],
    period: Option<&ReportPeriod>,
    as_of: NaiveDate,
) -> Option<Activity> {
    link.rows
        .iter()
        .filter_map(|&r| rows.get(r))
        .map(|row| activity(row, period, as_of))
        .reduce(Activity::most_active)
}

/// The row whose activity [`link_activity`] reports (for evidence).
pub fn deciding_row<'a>(
    link: &UsageLink,
    rows: &'a [UsageRow],
    period: Option<&ReportPeriod>,
    as_of: NaiveDate,
) -> Option<&'a UsageRow> {
    let best = link_activity(link, rows, period, as_of)?;
    link.rows
        .iter()
        .filter_map(|&r| rows.get(r))
        .find(|row| activity(row, period, as_of) == best)
}

/// The date to measure idle days to: `--as-of` if given, else the end of the report
/// period if the report states it, else today. Returns the date and where it came from.
pub fn default_as_of(
    explicit: Option<NaiveDate>,
    period: Option<&ReportPeriod>,
    today: NaiveDate,
) -> (NaiveDate, &'static str) {
    if let Some(d) = explicit {
        return (d, "given with --as-of");
    }
    match period.and_then(|p| p.end) {
        Some(end) => (end, "end of the usage report period"),
        None => (today, "today (the usage report states no period)"),
    }
}

/// Whether a user provisioned on `provisioned_on` is still within the grace period as
/// of `as_of`: provisioned less than `grace_days` days before it, or after it (the
/// report cannot show their usage yet). Returns the detail in words.
pub fn within_grace(
    provisioned_on: Option<NaiveDate>,
    as_of: NaiveDate,
    grace_days: u32,
) -> Option<String> {
    let on = provisioned_on?;
    let age = (as_of - on).num_days();
    if age < 0 {
        Some(format!(
            "provisioned {on}, after the usage data's date {as_of}"
        ))
    } else if age < i64::from(grace_days) {
        Some(format!(
            "provisioned {on}, {age} days before {as_of} (grace period {grace_days} days)"
        ))
    } else {
        None
    }
}

/// Idle-day buckets for the Usage pane's chart (upper bounds inclusive; the last is open).
pub const IDLE_BUCKETS: [(i64, Option<i64>); 5] = [
    (0, Some(30)),
    (31, Some(60)),
    (61, Some(90)),
    (91, Some(180)),
    (181, None),
];

/// Counts for the Usage pane and the plan summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleSummary {
    /// Users with a usage row.
    pub with_usage: usize,
    pub never_activated: usize,
    /// Users with a known idle-day count, per [`IDLE_BUCKETS`].
    pub buckets: [usize; 5],
    /// Users idle for more than each of [`IDLE_PRESETS`] days.
    pub idle_over_presets: [usize; 3],
    /// Users idle for more than the chosen threshold.
    pub idle_over_threshold: usize,
    /// Activity without a date to measure it by.
    pub undated: usize,
}

impl IdleSummary {
    pub fn bucket_label(i: usize) -> String {
        match IDLE_BUCKETS.get(i) {
            Some((lo, Some(hi))) => format!("{lo}-{hi}"),
            Some((lo, None)) => format!("{lo}+"),
            None => String::new(),
        }
    }
}

/// Summarises the activity of a set of users (`None`: no usage row).
pub fn summarize<I>(activities: I, threshold: u32) -> IdleSummary
where
    I: IntoIterator<Item = Option<Activity>>,
{
    let mut s = IdleSummary::default();
    for a in activities.into_iter().flatten() {
        s.with_usage += 1;
        match a {
            Activity::NeverActivated => s.never_activated += 1,
            Activity::Undated { .. } => s.undated += 1,
            Activity::Idle { days, .. } => {
                if let Some(i) = IDLE_BUCKETS
                    .iter()
                    .position(|(lo, hi)| days >= *lo && hi.is_none_or(|h| days <= h))
                {
                    s.buckets[i] += 1;
                }
            }
        }
        for (i, p) in IDLE_PRESETS.iter().enumerate() {
            if a.idle_beyond(*p) == Some(true) {
                s.idle_over_presets[i] += 1;
            }
        }
        if a.idle_beyond(threshold) == Some(true) {
            s.idle_over_threshold += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn row(email: Option<&str>, name: Option<&str>, line: u64) -> UsageRow {
        UsageRow {
            email: email.map(Into::into),
            name: name.map(Into::into),
            license_type: None,
            last_active: None,
            days_since_active: None,
            days_active: None,
            searches: None,
            profile_views: None,
            inmails_sent: None,
            leads_saved: None,
            accounts_saved: None,
            lists_created: None,
            ssi: None,
            source: SourceRef {
                file: "usage.csv".into(),
                line,
            },
        }
    }

    #[test]
    fn joins_by_email_with_aliases_then_by_unique_name() {
        let targets = vec![
            JoinTarget::new(Some("Ann@Corp.example"), None, Some("Ann Lee")),
            JoinTarget::new(Some("bob@corp.example"), None, Some("Bob  Ray")),
            JoinTarget::new(Some("cy@corp.example"), None, Some("Cy Twin")),
            JoinTarget::new(Some("cy2@corp.example"), None, Some("Cy Twin")),
        ];
        let rows = vec![
            row(Some(" ann@corp-example.co.uk "), Some("Ann Lee"), 2),
            row(None, Some("bob ray"), 3),
            row(Some("gone@corp.example"), Some("Gone Away"), 4),
            row(None, Some("Cy Twin"), 5),
            row(None, None, 6),
        ];
        let aliases = DomainAliases::parse("corp-example.co.uk=corp.example").unwrap();
        let j = join_usage(&targets, &rows, &aliases);
        assert_eq!(
            j.link(0),
            Some(&UsageLink {
                rows: vec![0],
                by: JoinedBy::Email
            })
        );
        assert_eq!(
            j.link(1),
            Some(&UsageLink {
                rows: vec![1],
                by: JoinedBy::Name
            })
        );
        assert_eq!(j.link(2), None);
        let why: Vec<(u64, &str)> = j
            .unmatched
            .iter()
            .map(|u| (u.source.line, u.why.as_str()))
            .collect();
        assert_eq!(
            why,
            vec![
                (
                    4,
                    "no user with this email, and no user named \"Gone Away\""
                ),
                (
                    5,
                    "no email in the usage row, and 2 users are named \"Cy Twin\""
                ),
                (6, "no email in the usage row, and no name"),
            ]
        );
        assert_eq!(j.joined_rows() + j.unmatched.len(), rows.len());
    }

    fn dir_user(
        email: Option<&str>,
        user_name: Option<&str>,
        first_last: (Option<&str>, Option<&str>),
        display: Option<&str>,
    ) -> DirUser {
        DirUser {
            key: email.unwrap_or("id:x").to_lowercase(),
            email: email.map(Into::into),
            user_name: user_name.map(Into::into),
            idp_id: None,
            first_name: first_last.0.map(Into::into),
            last_name: first_last.1.map(Into::into),
            display_name: display.map(Into::into),
            in_idp: true,
            idp_enabled: None,
            seat: None,
            other_seats: Vec::new(),
            sources: Vec::new(),
            duplicate_rows: 0,
            stored_scim_id: None,
        }
    }

    /// The Users pane joins its directory users in place (`JoinKeys for DirUser`): the
    /// same join as through `JoinTarget::from_dir_user`, case by case.
    #[test]
    fn directory_users_join_as_their_join_targets_do() {
        let users = vec![
            dir_user(
                Some(" Ann@Corp.example "),
                None,
                (Some("Ann"), Some("Lee")),
                None,
            ),
            dir_user(
                Some("bob@corp.example"),
                Some("BOB@corp.example"),
                (None, None),
                Some(" Bob Ray "),
            ),
            dir_user(None, Some("cy@corp.example"), (Some("Cy"), None), None),
            dir_user(
                Some("dee@x.io"),
                Some("dee.park"),
                (None, None),
                Some("dee@x.io"),
            ),
            dir_user(None, Some("eve@corp.example"), (None, Some(" Eve ")), None),
            dir_user(Some("fay@x.io"), Some("fay2@x.io"), (None, None), None),
            dir_user(None, None, (Some(" "), Some("")), Some("Gus Low")),
            dir_user(
                Some("hal@x.io"),
                Some("hal@x.io"),
                (Some("Hal"), Some("Ito")),
                None,
            ),
            dir_user(Some("ida-no-at"), None, (None, None), Some("Ida Moe")),
        ];
        let rows = vec![
            row(Some("ann@corp-example.co.uk"), Some("Ann Lee"), 2),
            row(None, Some("bob ray"), 3),
            row(Some("cy@corp.example"), None, 4),
            row(None, Some("Cy"), 5),
            row(None, Some("Eve"), 6),
            row(Some("fay2@x.io"), None, 7),
            row(None, Some("gus low"), 8),
            row(None, Some("Hal Ito"), 9),
            row(Some("HAL@x.io"), None, 10),
            row(None, Some("Ida Moe"), 11),
            row(Some("nobody@x.io"), Some("dee@x.io"), 12),
        ];
        let aliases = DomainAliases::parse("corp-example.co.uk=corp.example").unwrap();
        let targets: Vec<JoinTarget> = users.iter().map(JoinTarget::from_dir_user).collect();
        for (u, t) in users.iter().zip(&targets) {
            assert_eq!(
                u.join_emails().collect::<Vec<_>>(),
                t.join_emails().collect::<Vec<_>>()
            );
            assert_eq!(u.join_name(), t.join_name());
        }
        let in_place = join_usage(&users, &rows, &aliases);
        assert_eq!(in_place, join_usage(&targets, &rows, &aliases));
        assert_eq!(
            in_place.joined_by(JoinedBy::Name),
            3,
            "Bob, Eve, Ida: {in_place:#?}"
        );
    }

    #[test]
    fn name_fallback_needs_a_unique_row_and_an_unjoined_user() {
        let targets = vec![JoinTarget::new(Some("ann@x.io"), None, Some("Ann Lee"))];
        // Ann is joined by email: a second row only named "Ann Lee" does not join her.
        let rows = vec![
            row(Some("ann@x.io"), None, 2),
            row(None, Some("Ann Lee"), 3),
        ];
        let j = join_usage(&targets, &rows, &DomainAliases::default());
        assert_eq!(j.link(0).unwrap().rows, vec![0]);
        assert_eq!(j.unmatched.len(), 1);
        // Two rows with the same name: neither joins.
        let rows = vec![row(None, Some("Ann Lee"), 2), row(None, Some("ann lee"), 3)];
        let j = join_usage(&targets, &rows, &DomainAliases::default());
        assert_eq!(j.link(0), None);
        assert!(j.unmatched[0].why.contains("2 usage rows are named"));
        // An email name never stands in for a real name.
        assert_eq!(
            JoinTarget::new(Some("a@x.io"), Some("A@X.io"), Some("a@x.io")),
            JoinTarget {
                emails: vec!["a@x.io".into()],
                name: None
            }
        );
    }

    #[test]
    fn several_rows_for_one_user_use_the_most_recent() {
        let targets = vec![JoinTarget::new(Some("ann@x.io"), None, None)];
        let mut a = row(Some("Ann@x.io"), None, 2);
        a.last_active = Some(d("2025-01-01"));
        a.days_active = Some(3);
        let mut b = row(Some("ann@x.io"), None, 3);
        b.last_active = Some(d("2025-05-01"));
        b.days_active = Some(9);
        let rows = vec![a, b];
        let j = join_usage(&targets, &rows, &DomainAliases::default());
        let link = j.link(0).unwrap();
        assert_eq!(link.rows, vec![0, 1]);
        let as_of = d("2025-05-31");
        assert_eq!(
            link_activity(link, &rows, None, as_of).unwrap().idle_days(),
            Some(30)
        );
        assert_eq!(
            deciding_row(link, &rows, None, as_of).unwrap().source.line,
            3
        );
    }

    #[test]
    fn idle_model_with_a_fixed_today() {
        let as_of = d("2025-05-31");
        let period = ReportPeriod {
            start: Some(d("2025-03-01")),
            end: Some(as_of),
        };
        let mut r = row(Some("a@x.io"), None, 2);
        assert_eq!(activity(&r, Some(&period), as_of), Activity::NeverActivated);
        r.days_active = Some(0);
        r.searches = Some(0);
        assert_eq!(activity(&r, Some(&period), as_of), Activity::NeverActivated);

        r.last_active = Some(d("2025-03-02"));
        let a = activity(&r, Some(&period), as_of);
        assert_eq!(a.idle_days(), Some(90));
        assert_eq!(a.idle_beyond(90), Some(false), "more than N days");
        assert_eq!(a.idle_beyond(89), Some(true));
        assert_eq!(a.describe(), "idle 90 days (last active 2025-03-02)");

        // Days active 0 with activity elsewhere and no date: idle the whole period.
        r.last_active = None;
        r.profile_views = Some(4);
        let a = activity(&r, Some(&period), as_of);
        assert_eq!(
            a,
            Activity::Idle {
                days: 92,
                last_active: None,
                at_least: true
            }
        );
        assert_eq!(a.idle_beyond(90), Some(true));
        assert_eq!(
            a.idle_beyond(120),
            None,
            "a lower bound cannot prove not idle"
        );

        // Active days but no date: idle at most since the period started.
        r.days_active = Some(5);
        let a = activity(&r, Some(&period), as_of);
        assert_eq!(a, Activity::Undated { at_most: Some(91) });
        assert_eq!(a.idle_beyond(90), None);
        assert_eq!(a.idle_beyond(91), Some(false));
        assert_eq!(activity(&r, None, as_of).idle_beyond(90), None);

        // The report's own days-since-active when there is no date.
        r.days_since_active = Some(40);
        assert_eq!(activity(&r, None, as_of).idle_days(), Some(40));
    }

    #[test]
    fn grace_period_and_as_of() {
        let as_of = d("2025-05-31");
        assert!(within_grace(Some(d("2025-05-02")), as_of, 30).is_some());
        assert!(within_grace(Some(d("2025-05-01")), as_of, 30).is_none());
        assert!(within_grace(Some(d("2025-06-02")), as_of, 30)
            .unwrap()
            .contains("after"));
        assert!(within_grace(None, as_of, 30).is_none());
        assert!(within_grace(Some(as_of), as_of, 0).is_none());

        let today = d("2026-01-10");
        let p = ReportPeriod {
            start: None,
            end: Some(as_of),
        };
        assert_eq!(default_as_of(None, Some(&p), today).0, as_of);
        assert_eq!(default_as_of(None, None, today).0, today);
        assert_eq!(default_as_of(Some(today), Some(&p), today).0, today);
    }

    #[test]
    fn summary_buckets_and_presets() {
        let idle = |days| {
            Some(Activity::Idle {
                days,
                last_active: None,
                at_least: false,
            })
        };
        let s = summarize(
            vec![
                idle(0),
                idle(30),
                idle(31),
                idle(61),
                idle(91),
                idle(400),
                Some(Activity::NeverActivated),
                None,
            ],
            45,
        );
        assert_eq!(s.with_usage, 7);
        assert_eq!(s.buckets, [2, 1, 1, 1, 1]);
        assert_eq!(s.idle_over_presets, [4, 3, 2]);
        assert_eq!(s.idle_over_threshold, 3);
        assert_eq!(s.never_activated, 1);
        assert_eq!(IdleSummary::bucket_label(4), "181+");
    }
}

/// One row of the Usage pane's export (`:export FILE` on the Usage pane): the usage
/// report's row as read, its activity as of the pane's as-of date, and the user it
/// joined. Written as CSV by [`write_usage_csv`], one row per report row in view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageExportRow {
    pub email: String,
    pub name: String,
    /// Days idle as of `as_of` (a lower bound when `activity` says "at least"); empty
    /// when unknown or never activated.
    pub idle_days: Option<i64>,
    /// [`Activity::describe`], e.g. "idle 143 days (last active 2025-01-08)".
    pub activity: String,
    /// Idle for more than `threshold_days` (`yes`/`no`), `never` for a licence never
    /// activated, empty when the report cannot tell.
    pub idle_over_threshold: String,
    pub threshold_days: u32,
    /// The date idle days are counted to (YYYY-MM-DD).
    pub as_of: String,
    pub last_active: Option<NaiveDate>,
    pub days_active: Option<u32>,
    pub searches: Option<u32>,
    pub profile_views: Option<u32>,
    pub inmails_sent: Option<u32>,
    pub leads_saved: Option<u32>,
    pub accounts_saved: Option<u32>,
    pub lists_created: Option<u32>,
    pub ssi: Option<f64>,
    pub license_type: String,
    /// The joined user's email (or key); empty when the row joined nobody.
    pub user: String,
    /// The joined user's lookup status ([`crate::matching::MatchStatus::name`]), or
    /// `no_user`.
    pub user_status: String,
    /// Where the row came from: file and line.
    pub source_file: String,
    pub source_line: u64,
}

impl UsageExportRow {
    /// The export row of `row`, whose activity is `activity` (if known) as of
    /// `as_of` at `threshold` days; `user` is the joined user's (email, status name).
    pub fn new(
        row: &UsageRow,
        activity: Option<&Activity>,
        threshold: u32,
        as_of: Option<NaiveDate>,
        user: Option<(String, &'static str)>,
    ) -> Self {
        let over = match activity {
            Some(a) if a.is_never_activated() => "never",
            Some(a) => match a.idle_beyond(threshold) {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            },
            None => "",
        };
        let (user, user_status) = match user {
            Some((u, status)) => (u, status.to_string()),
            None => (String::new(), "no_user".to_string()),
        };
        UsageExportRow {
            email: row.email.clone().unwrap_or_default(),
            name: row.name.clone().unwrap_or_default(),
            idle_days: activity.and_then(Activity::idle_days),
            activity: activity.map(Activity::describe).unwrap_or_default(),
            idle_over_threshold: over.into(),
            threshold_days: threshold,
            as_of: as_of.map(|d| d.to_string()).unwrap_or_default(),
            last_active: row.last_active,
            days_active: row.days_active,
            searches: row.searches,
            profile_views: row.profile_views,
            inmails_sent: row.inmails_sent,
            leads_saved: row.leads_saved,
            accounts_saved: row.accounts_saved,
            lists_created: row.lists_created,
            ssi: row.ssi,
            license_type: row.license_type.clone().unwrap_or_default(),
            user,
            user_status,
            source_file: row.source.file.clone(),
            source_line: row.source.line,
        }
    }
}

/// Writes `rows` to `path` as CSV (a header, then one line a row), replacing it and
/// syncing it to disk. The error names the file.
pub fn write_usage_csv(path: &std::path::Path, rows: &[UsageExportRow]) -> Result<(), String> {
    let shown = path.display();
    let write = || -> Result<(), Box<dyn std::error::Error>> {
        let file = std::fs::File::create(path)?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
        for row in rows {
            w.serialize(row)?;
        }
        if rows.is_empty() {
            // serde writes the header with the first row: an empty view still has one.
            w.write_record(USAGE_EXPORT_HEADER)?;
        }
        let file = w.into_inner()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    };
    write().map_err(|e| format!("{shown}: {e}"))
}

/// The Usage export's CSV header, in [`UsageExportRow`]'s field order.
pub const USAGE_EXPORT_HEADER: [&str; 21] = [
    "email",
    "name",
    "idle_days",
    "activity",
    "idle_over_threshold",
    "threshold_days",
    "as_of",
    "last_active",
    "days_active",
    "searches",
    "profile_views",
    "inmails_sent",
    "leads_saved",
    "accounts_saved",
    "lists_created",
    "ssi",
    "license_type",
    "user",
    "user_status",
    "source_file",
    "source_line",
];
