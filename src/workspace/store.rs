//! Reading and writing the workspace's tables. Every write is one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{parse_ts, ts, Snapshot, SourceIdentity, Workspace, WorkspaceError};
use crate::import::SourceRef;
use crate::import::{ColumnMapping, ReportPeriod, UsageRow};
use crate::matching::{
    DirUser, Directory, LookupKind, LookupOutcome, MatchStatus, OutcomeSummary, Presence, Seat,
};
use crate::plan::{Plan, ProtectedUsers, TargetIdentity};
use crate::report::UserReport;

/// A file loaded into the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The path as loaded (absolute when it could be resolved).
    pub path: String,
    /// `idp`, `salesnav_users` or `usage`.
    pub kind: String,
    /// The detected format's label, e.g. `Okta assignments`.
    pub format: String,
    /// SHA-256 of the file's bytes, hex ([`super::content_hash`]).
    pub content_hash: String,
    /// The column mapping used.
    pub mapping: ColumnMapping,
    pub headers: Vec<String>,
    /// Users (or usage rows) loaded from it.
    pub rows_loaded: usize,
    pub loaded_at: DateTime<Utc>,
    /// Who the file held, by identity key: what the next load is compared with.
    pub identities: Vec<SourceIdentity>,
}

/// A merged user and where they stand between the files.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub user: DirUser,
    pub presence: Presence,
    /// The summary of their latest lookup outcome, if any (read with the user, from
    /// plain columns).
    pub latest: Option<StoredSummary>,
}

/// A user's latest lookup outcome: when it was checked and what the server said (the
/// lookup kind that matched, the SCIM id and identity are in `outcome`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOutcome {
    /// The user's identity key.
    pub key: String,
    pub checked_at: DateTime<Utc>,
    pub outcome: LookupOutcome,
}

impl StoredOutcome {
    /// How the user was found (`None` unless matched).
    pub fn lookup_kind(&self) -> Option<LookupKind> {
        self.outcome.matched_by
    }

    /// The matched SCIM resource's id.
    pub fn scim_id(&self) -> Option<&str> {
        self.outcome.user.as_ref().and_then(|u| u.id.as_deref())
    }
}

/// What the dashboard keeps of a user's latest outcome: when it was checked and its
/// [`OutcomeSummary`] (from plain columns of `outcomes`, schema v3: no JSON parsed).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSummary {
    pub checked_at: DateTime<Utc>,
    /// Boxed: the dashboard keeps it as it is in its row (and a user without an outcome
    /// costs a pointer, not a summary).
    pub summary: Box<OutcomeSummary>,
}

/// A note the admin wrote about a user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub id: i64,
    pub key: String,
    pub text: String,
    pub written_at: DateTime<Utc>,
}

/// A conflict the admin resolved (e.g. which of two SCIM users is the person).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub key: String,
    /// In words or a short code, e.g. `link`, `keep`, `ignore`.
    pub resolution: String,
    pub scim_id: Option<String>,
    pub resolved_at: DateTime<Utc>,
}

/// A usage report loaded into the workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUsageReport {
    pub path: String,
    pub period: Option<ReportPeriod>,
    pub content_hash: String,
    pub loaded_at: DateTime<Utc>,
    pub rows: Vec<UsageRow>,
}

/// The settings in force. Each field is one row of the `settings` table (its JSON
/// value); a missing row is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Idle for more than this many days counts as idle (default 90).
    pub idle_days: u32,
    /// Users provisioned less than this many days ago are left alone (default 30).
    pub grace_days: u32,
    /// `ALIAS=CANONICAL` email domain pairs.
    pub domain_aliases: Vec<String>,
    /// Users never deprovisioned.
    pub protected: ProtectedUsers,
    /// Results older than this many hours are stale (default 24).
    pub stale_after_hours: u64,
    /// What one seat costs a year (any currency), for the estimated saving.
    pub seat_cost: Option<f64>,
    /// The tenant's label (a base URL is the same for every LinkedIn tenant).
    pub tenant: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idle_days: crate::usage::DEFAULT_IDLE_DAYS,
            grace_days: crate::usage::DEFAULT_GRACE_DAYS,
            domain_aliases: Vec::new(),
            protected: ProtectedUsers::default(),
            stale_after_hours: super::DEFAULT_STALE_HOURS,
            seat_cost: None,
            tenant: None,
        }
    }
}

/// The plan under review.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPlan {
    pub plan: Plan,
    /// Where it came from (a file, `navscim plan`, the Actions pane).
    pub origin: Option<String>,
    pub saved_at: DateTime<Utc>,
}

/// Everything in the workspace, read in one call ([`Workspace::load`]).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub sources: Vec<SourceRecord>,
    /// The merged users, in their order, each with the summary of their latest outcome.
    pub users: Vec<StoredUser>,
    /// Latest full outcome by identity key (empty from [`Workspace::load_summaries`]).
    pub outcomes: HashMap<String, StoredOutcome>,
    /// Hand links: identity key → SCIM id.
    pub links: BTreeMap<String, String>,
    /// Ignored users: identity key → reason.
    pub ignores: BTreeMap<String, String>,
    pub notes: Vec<Note>,
    pub conflicts: Vec<Conflict>,
    pub usage_reports: Vec<StoredUsageReport>,
    pub settings: Settings,
    pub plan: Option<StoredPlan>,
    /// Snapshots, oldest first.
    pub history: Vec<Snapshot>,
}

impl Loaded {
    /// One [`UserReport`] per user, in order: the stored outcome (if any), ignores
    /// applied. The shape `navscim lookup --out` writes and `navscim plan` reads.
    pub fn reports(&self) -> Vec<UserReport> {
        self.users
            .iter()
            .map(|u| {
                let outcome = self.outcomes.get(&u.user.key).map(|o| &o.outcome);
                let ignored = self.ignores.contains_key(&u.user.key);
                UserReport::new(&u.user, u.presence, outcome, ignored)
            })
            .collect()
    }
}

/// A per-user decision stored as one row of its own table.
#[derive(Debug, Clone, Copy)]
enum Decision {
    Link,
    Ignore,
}

impl Decision {
    /// Its table, value column and time column (fixed names, never input).
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Decision::Link => ("links", "scim_id", "linked_at"),
            Decision::Ignore => ("ignores", "reason", "ignored_at"),
        }
    }
}

/// The admin's per-user decisions that a lookup honours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decisions {
    /// Hand links: identity key → SCIM id.
    pub links: BTreeMap<String, String>,
    /// Ignored users: identity key → reason.
    pub ignores: BTreeMap<String, String>,
}

/// A user whose result is older than the stale threshold (or who was never checked),
/// with the SCIM id to try first (a hand link, else the last match) in
/// `user.stored_scim_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleUser {
    pub user: DirUser,
    pub presence: Presence,
    pub checked_at: Option<DateTime<Utc>>,
}

/// One outcome, serialised and ready to write ([`Workspace::write_outcome_rows`]): the
/// full outcome as JSON, and its [`OutcomeSummary`] in plain columns.
#[derive(Debug, Clone)]
pub struct OutcomeRow {
    key: String,
    checked_at: String,
    lookup_kind: Option<&'static str>,
    scim_id: Option<String>,
    status: &'static str,
    active: Option<bool>,
    scim_user_name: Option<String>,
    scim_external_id: Option<String>,
    /// JSON array of the SCIM user's emails, the primary first.
    scim_emails: Option<String>,
    /// `YYYY-MM-DD`.
    created: Option<String>,
    error: Option<String>,
    detail: String,
    json: String,
}

impl OutcomeRow {
    /// Serialises `outcome` for the user `key`, checked at `checked_at`.
    pub fn new(key: &str, checked_at: DateTime<Utc>, outcome: &LookupOutcome) -> OutcomeRow {
        let active = match outcome.status {
            MatchStatus::Matched { active } => Some(active),
            _ => None,
        };
        let summary = OutcomeSummary::of(outcome);
        let scim = summary.scim.as_ref();
        OutcomeRow {
            key: key.to_string(),
            checked_at: ts(checked_at),
            lookup_kind: outcome.matched_by.map(LookupKind::name),
            // The id the summary keeps (a blank id is none), so that the column and
            // the summary read back agree.
            scim_id: scim.map(|s| s.id.clone()),
            status: outcome.status.name(),
            active,
            scim_user_name: scim.and_then(|s| s.user_name.clone()),
            scim_external_id: scim.and_then(|s| s.external_id.clone()),
            scim_emails: scim
                .filter(|s| !s.emails.is_empty())
                .map(|s| to_json(&s.emails)),
            created: summary.created.map(|d| d.to_string()),
            error: summary.error,
            detail: summary.detail,
            // A LookupOutcome is plain data: serialising it cannot fail.
            json: serde_json::to_string(outcome).unwrap_or_default(),
        }
    }
}

/// The `outcomes` columns [`read_summary`] reads, from column `at` on (`checked_at`
/// first). `NULL` throughout when a user has no outcome (a `LEFT JOIN`).
const SUMMARY_COLUMNS: &str = "o.checked_at, o.status, o.active, o.lookup_kind, o.scim_id, \
     o.scim_user_name, o.scim_external_id, o.scim_emails, o.created, o.error, o.detail";

/// The [`StoredSummary`] in [`SUMMARY_COLUMNS`] from column `at` on (`None` when
/// `checked_at` is `NULL`: no outcome).
fn read_summary(c: &Cols<'_, '_>, at: usize) -> Result<Option<StoredSummary>, WorkspaceError> {
    let Some(checked) = c.opt_text(at, "outcomes.checked_at")? else {
        return Ok(None);
    };
    let checked_at = time(c.ws, "outcomes.checked_at", checked)?;
    let name = c.text(at + 1, "outcomes.status")?;
    let status = MatchStatus::from_name(name, c.get(at + 2)?)
        .ok_or_else(|| data_err(c.ws, "outcomes.status", format!("unknown status {name:?}")))?;
    let matched_by = c
        .opt_text(at + 3, "outcomes.lookup_kind")?
        .and_then(LookupKind::from_name);
    let scim = match c.opt_text(at + 4, "outcomes.scim_id")? {
        Some(id) => {
            let emails: Vec<String> = match c.opt_text(at + 7, "outcomes.scim_emails")? {
                Some(t) => from_json(c.ws, "outcomes.scim_emails", t)?,
                None => Vec::new(),
            };
            Some(TargetIdentity {
                id: id.to_string(),
                user_name: c.get(at + 5)?,
                external_id: c.get(at + 6)?,
                email: emails.first().cloned(),
                emails,
            })
        }
        None => None,
    };
    let created = match c.opt_text(at + 8, "outcomes.created")? {
        Some(d) => Some(
            d.parse()
                .map_err(|e| data_err(c.ws, "outcomes.created", format!("{d:?}: {e}")))?,
        ),
        None => None,
    };
    Ok(Some(StoredSummary {
        checked_at,
        summary: Box::new(OutcomeSummary {
            status,
            matched_by,
            scim,
            created,
            error: c.get(at + 9)?,
            detail: c.get::<Option<String>>(at + 10)?.unwrap_or_default(),
        }),
    }))
}

fn data_err(ws: &Workspace, what: &str, e: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::Data {
        path: ws.path().display().to_string(),
        what: what.to_string(),
        message: e.to_string(),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(
    ws: &Workspace,
    what: &str,
    text: &str,
) -> Result<T, WorkspaceError> {
    serde_json::from_str(text).map_err(|e| data_err(ws, what, e))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn time(ws: &Workspace, what: &str, s: &str) -> Result<DateTime<Utc>, WorkspaceError> {
    parse_ts(s).ok_or_else(|| data_err(ws, what, format!("not a time: {s:?}")))
}

/// One row being read ([`Workspace::each`]); errors name the workspace and, for stored
/// values, the column (`what`, e.g. `users.user`). Text is borrowed from SQLite, so JSON
/// is parsed without a copy.
struct Cols<'a, 'r> {
    ws: &'a Workspace,
    row: &'a rusqlite::Row<'r>,
}

impl Cols<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T, WorkspaceError> {
        self.row.get(i).map_err(|e| self.ws.err(e))
    }

    fn opt_text(&self, i: usize, what: &str) -> Result<Option<&str>, WorkspaceError> {
        let value = self.row.get_ref(i).map_err(|e| self.ws.err(e))?;
        value
            .as_str_or_null()
            .map_err(|e| data_err(self.ws, what, e))
    }

    fn text(&self, i: usize, what: &str) -> Result<&str, WorkspaceError> {
        self.opt_text(i, what)?
            .ok_or_else(|| data_err(self.ws, what, "missing"))
    }

    fn time(&self, i: usize, what: &str) -> Result<DateTime<Utc>, WorkspaceError> {
        time(self.ws, what, self.text(i, what)?)
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        i: usize,
        what: &str,
    ) -> Result<T, WorkspaceError> {
        from_json(self.ws, what, self.text(i, what)?)
    }
}

/// Every [`Presence`] with its stored name (serde's snake_case).
const PRESENCES: [(Presence, &str); 4] = [
    (Presence::Both, "both"),
    (Presence::OrphanSeat, "orphan_seat"),
    (Presence::Missing, "missing"),
    (Presence::Unknown, "unknown"),
];

fn presence_name(p: Presence) -> &'static str {
    PRESENCES
        .iter()
        .find(|(q, _)| *q == p)
        .map_or("unknown", |(_, n)| n)
}

fn presence_from_name(name: &str) -> Option<Presence> {
    PRESENCES.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
}

/// A [`DirUser`] from the `users` columns of [`Workspace::users`]'s query (column 0 is
/// the key).
fn read_user(c: &Cols<'_, '_>) -> Result<DirUser, WorkspaceError> {
    let seat = if c.get::<bool>(10)? {
        Some(Seat {
            license_status: match c.opt_text(11, "users.seat_license_status")? {
                Some(t) => Some(from_json(c.ws, "users.seat_license_status", t)?),
                None => None,
            },
            is_admin: c.get::<Option<bool>>(12)?.unwrap_or(false),
            seat_id: c.get(13)?,
            unique_user_id: c.get(14)?,
        })
    } else {
        None
    };
    let other_seats = match c.opt_text(15, "users.other_seats")? {
        Some(t) => from_json(c.ws, "users.other_seats", t)?,
        None => Vec::new(),
    };
    let mut sources = Vec::with_capacity(1);
    if let Some(file) = c.get::<Option<String>>(16)? {
        sources.push(SourceRef {
            file,
            line: c.get::<Option<i64>>(17)?.unwrap_or(0).max(0) as u64,
        });
    }
    if let Some(t) = c.opt_text(18, "users.more_sources")? {
        sources.extend(from_json::<Vec<SourceRef>>(c.ws, "users.more_sources", t)?);
    }
    Ok(DirUser {
        key: c.get(0)?,
        email: c.get(2)?,
        user_name: c.get(3)?,
        idp_id: c.get(4)?,
        first_name: c.get(5)?,
        last_name: c.get(6)?,
        display_name: c.get(7)?,
        in_idp: c.get(8)?,
        idp_enabled: c.get(9)?,
        seat,
        other_seats,
        sources,
        duplicate_rows: c.get::<i64>(19)?.clamp(0, u32::MAX as i64) as u32,
        stored_scim_id: c.get(20)?,
    })
}

/// Writes one outcome: its summary into `outcomes`, the full outcome into
/// `outcome_details` (also used by the schema v3 migration).
pub(super) fn insert_outcome(
    tx: &rusqlite::Transaction<'_>,
    r: &OutcomeRow,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO outcomes \
         (key, checked_at, lookup_kind, scim_id, status, active, scim_user_name, \
         scim_external_id, scim_emails, created, error, detail) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        r.key,
        r.checked_at,
        r.lookup_kind,
        r.scim_id,
        r.status,
        r.active,
        r.scim_user_name,
        r.scim_external_id,
        r.scim_emails,
        r.created,
        r.error,
        r.detail,
    ])?;
    tx.prepare_cached("INSERT OR REPLACE INTO outcome_details (key, outcome) VALUES (?1, ?2)")?
        .execute(params![r.key, r.json])?;
    Ok(())
}

/// Writes `u` as one `users` row (see [`read_user`] for the columns).
fn insert_user(
    stmt: &mut rusqlite::CachedStatement<'_>,
    u: &DirUser,
    position: usize,
    presence: Presence,
) -> rusqlite::Result<()> {
    let seat = u.seat.as_ref();
    let license = seat.and_then(|s| s.license_status.as_ref()).map(to_json);
    let other_seats = (!u.other_seats.is_empty()).then(|| to_json(&u.other_seats));
    let first = u.sources.first();
    let more = (u.sources.len() > 1).then(|| to_json(&u.sources[1..]));
    stmt.execute(params![
        u.key,
        position as i64,
        presence_name(presence),
        u.email,
        u.user_name,
        u.idp_id,
        u.first_name,
        u.last_name,
        u.display_name,
        u.in_idp,
        u.idp_enabled,
        seat.is_some(),
        license,
        seat.map(|s| s.is_admin),
        seat.and_then(|s| s.seat_id.as_deref()),
        seat.and_then(|s| s.unique_user_id.as_deref()),
        other_seats,
        first.map(|s| s.file.as_str()),
        first.map(|s| s.line as i64),
        more,
        u.duplicate_rows,
        u.stored_scim_id,
    ])?;
    Ok(())
}

impl Workspace {
    /// Everything in the workspace, in one read transaction.
    pub fn load(&self) -> Result<Loaded, WorkspaceError> {
        self.load_with(true)
    }

    /// What the dashboard shows on reopening, quickly: everything but the full outcomes
    /// (`outcomes` is empty; each user carries the summary of their latest outcome) and
    /// the rows of all usage reports but the latest (the others keep their periods and
    /// hashes). A full outcome is read when needed with [`Workspace::outcome`]. The
    /// latest report's rows are read on a second, read-only connection while the users
    /// are read (this thread is the workspace's only writer, so both see the same data;
    /// if that connection cannot be opened, they are read here after the users).
    pub fn load_summaries(&self) -> Result<Loaded, WorkspaceError> {
        self.load_with(false)
    }

    fn load_with(&self, full: bool) -> Result<Loaded, WorkspaceError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let mut usage_reports = self.usage_reports_listed()?;
        let latest = usage_reports
            .iter()
            .enumerate()
            .max_by_key(|(_, r)| r.loaded_at)
            .map(|(i, _)| i);
        let (users, latest_rows) = std::thread::scope(|scope| {
            let helper = match (full, latest) {
                (false, Some(i)) => {
                    let report = usage_reports[i].path.clone();
                    let path = self.path.clone();
                    Some(scope.spawn(move || {
                        let ro = Workspace::open_read_only(&path).ok()?;
                        ro.usage_rows(&report).ok()
                    }))
                }
                _ => None,
            };
            let users = self.users();
            let rows = helper.and_then(|h| h.join().ok().flatten());
            (users, rows)
        });
        match latest_rows {
            Some(rows) => usage_reports[latest.unwrap_or_default()].rows = rows,
            None => {
                for (i, report) in usage_reports.iter_mut().enumerate() {
                    if full || Some(i) == latest {
                        report.rows = self.usage_rows(&report.path)?;
                    }
                }
            }
        }
        let loaded = Loaded {
            sources: self.sources()?,
            users: users?,
            outcomes: if full {
                self.outcomes()?
            } else {
                HashMap::new()
            },
            links: self.pairs("SELECT key, scim_id FROM links")?,
            ignores: self.pairs("SELECT key, reason FROM ignores")?,
            notes: self.notes()?,
            conflicts: self.conflicts()?,
            usage_reports,
            settings: self.settings()?,
            plan: self.plan()?,
            history: self.history()?,
        };
        tx.finish().map_err(|e| self.err(e))?;
        Ok(loaded)
    }

    /// Runs `sql` with `params` and hands each row to `f`, in order. Text and JSON are
    /// read where SQLite holds them (see [`Cols`]).
    fn each(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        mut f: impl FnMut(Cols<'_, '_>) -> Result<(), WorkspaceError>,
    ) -> Result<(), WorkspaceError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params).map_err(|e| self.err(e))?;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            f(Cols { ws: self, row })?;
        }
        Ok(())
    }

    /// [`Workspace::each`] collecting one `T` per row.
    fn all<T>(
        &self,
        sql: &str,
        mut f: impl FnMut(Cols<'_, '_>) -> Result<T, WorkspaceError>,
    ) -> Result<Vec<T>, WorkspaceError> {
        let mut out = Vec::new();
        self.each(sql, [], |c| {
            out.push(f(c)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn count(&self, table: &str) -> Result<usize, WorkspaceError> {
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as usize)
            .map_err(|e| self.err(e))
    }

    pub(crate) fn sources(&self) -> Result<Vec<SourceRecord>, WorkspaceError> {
        self.all(
            "SELECT path, kind, format, content_hash, mapping, headers, rows_loaded, \
             loaded_at, identities FROM sources ORDER BY loaded_at, path",
            |c| {
                Ok(SourceRecord {
                    path: c.get(0)?,
                    kind: c.get(1)?,
                    format: c.get(2)?,
                    content_hash: c.get(3)?,
                    mapping: c.json(4, "sources.mapping")?,
                    headers: c.json(5, "sources.headers")?,
                    rows_loaded: c.get::<i64>(6)?.max(0) as usize,
                    loaded_at: c.time(7, "sources.loaded_at")?,
                    identities: c.json(8, "sources.identities")?,
                })
            },
        )
    }

    /// The merged users, in order, each with the summary of their latest outcome (plain
    /// columns since schema v3: no JSON but the rare extra seats and sources, a seat's
    /// license status and the SCIM user's emails).
    pub fn users(&self) -> Result<Vec<StoredUser>, WorkspaceError> {
        let mut out = Vec::with_capacity(self.count("users")?);
        self.each(
            &format!(
                "SELECT u.key, u.presence, u.email, u.user_name, u.idp_id, u.first_name, \
                 u.last_name, u.display_name, u.in_idp, u.idp_enabled, u.has_seat, \
                 u.seat_license_status, u.seat_is_admin, u.seat_id, u.seat_unique_user_id, \
                 u.other_seats, u.source_file, u.source_line, u.more_sources, \
                 u.duplicate_rows, u.stored_scim_id, {SUMMARY_COLUMNS} \
                 FROM users u LEFT JOIN outcomes o ON o.key = u.key ORDER BY u.position"
            ),
            [],
            |c| {
                out.push(StoredUser {
                    presence: presence_from_name(c.text(1, "users.presence")?)
                        .ok_or_else(|| data_err(self, "users.presence", "unknown presence"))?,
                    user: read_user(&c)?,
                    latest: read_summary(&c, 21)?,
                });
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The summary of each user's latest outcome, by identity key (plain columns: no
    /// JSON but the SCIM user's emails).
    pub fn summaries(&self) -> Result<HashMap<String, StoredSummary>, WorkspaceError> {
        let mut out = HashMap::with_capacity(self.count("outcomes")?);
        self.each(
            &format!("SELECT o.key, {SUMMARY_COLUMNS} FROM outcomes o"),
            [],
            |c| {
                if let Some(summary) = read_summary(&c, 1)? {
                    out.insert(c.get(0)?, summary);
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// One user's full latest outcome.
    pub fn outcome(&self, key: &str) -> Result<Option<StoredOutcome>, WorkspaceError> {
        let mut found = None;
        self.each(
            "SELECT o.checked_at, d.outcome FROM outcomes o \
             JOIN outcome_details d ON d.key = o.key WHERE o.key = ?1",
            [key],
            |c| {
                found = Some(StoredOutcome {
                    key: key.to_string(),
                    checked_at: c.time(0, "outcomes.checked_at")?,
                    outcome: c.json(1, "outcomes.outcome")?,
                });
                Ok(())
            },
        )?;
        Ok(found)
    }

    /// Latest outcome by identity key.
    pub fn outcomes(&self) -> Result<HashMap<String, StoredOutcome>, WorkspaceError> {
        let mut out = HashMap::with_capacity(self.count("outcomes")?);
        let sql = "SELECT o.key, o.checked_at, d.outcome FROM outcomes o \
                   JOIN outcome_details d ON d.key = o.key";
        self.each(sql, [], |c| {
            let key: String = c.get(0)?;
            let o = StoredOutcome {
                checked_at: c.time(1, "outcomes.checked_at")?,
                outcome: c.json(2, "outcomes.outcome")?,
                key: key.clone(),
            };
            out.insert(key, o);
            Ok(())
        })?;
        Ok(out)
    }

    fn pairs(&self, sql: &str) -> Result<BTreeMap<String, String>, WorkspaceError> {
        let mut out = BTreeMap::new();
        self.each(sql, [], |c| {
            out.insert(c.get(0)?, c.get(1)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn notes(&self) -> Result<Vec<Note>, WorkspaceError> {
        self.all(
            "SELECT id, key, text, written_at FROM notes ORDER BY id",
            |c| {
                Ok(Note {
                    id: c.get(0)?,
                    key: c.get(1)?,
                    text: c.get(2)?,
                    written_at: c.time(3, "notes.written_at")?,
                })
            },
        )
    }

    fn conflicts(&self) -> Result<Vec<Conflict>, WorkspaceError> {
        self.all(
            "SELECT key, resolution, scim_id, resolved_at FROM conflicts ORDER BY key",
            |c| {
                Ok(Conflict {
                    key: c.get(0)?,
                    resolution: c.get(1)?,
                    scim_id: c.get(2)?,
                    resolved_at: c.time(3, "conflicts.resolved_at")?,
                })
            },
        )
    }

    /// The usage reports loaded, oldest first, without their rows.
    pub(super) fn usage_reports_listed(&self) -> Result<Vec<StoredUsageReport>, WorkspaceError> {
        self.all(
            "SELECT path, period_start, period_end, content_hash, loaded_at \
             FROM usage_reports ORDER BY loaded_at, path",
            |c| {
                let date = |i| -> Result<Option<chrono::NaiveDate>, WorkspaceError> {
                    Ok(c.opt_text(i, "usage_reports.period")?
                        .and_then(|s| s.parse().ok()))
                };
                let (start, end) = (date(1)?, date(2)?);
                Ok(StoredUsageReport {
                    period: (start.is_some() || end.is_some())
                        .then_some(ReportPeriod { start, end }),
                    rows: Vec::new(),
                    loaded_at: c.time(4, "usage_reports.loaded_at")?,
                    path: c.get(0)?,
                    content_hash: c.get(3)?,
                })
            },
        )
    }

    /// The rows of the usage report loaded from `path`, in its order.
    pub(super) fn usage_rows(&self, path: &str) -> Result<Vec<UsageRow>, WorkspaceError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM usage_rows WHERE report = ?1",
                [path],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(n.max(0) as usize);
        self.each(
            "SELECT email, name, license_type, last_active, days_since_active, days_active, \
             searches, profile_views, inmails_sent, leads_saved, accounts_saved, \
             lists_created, ssi, source_file, source_line FROM usage_rows \
             WHERE report = ?1 ORDER BY n",
            [path],
            |c| {
                let count = |i| -> Result<Option<u32>, WorkspaceError> {
                    Ok(c.get::<Option<i64>>(i)?
                        .map(|v| v.clamp(0, u32::MAX as i64) as u32))
                };
                out.push(UsageRow {
                    email: c.get(0)?,
                    name: c.get(1)?,
                    license_type: c.get(2)?,
                    last_active: match c.opt_text(3, "usage_rows.last_active")? {
                        Some(d) => Some(d.parse().map_err(|e| {
                            data_err(self, "usage_rows.last_active", format!("{d:?}: {e}"))
                        })?),
                        None => None,
                    },
                    days_since_active: count(4)?,
                    days_active: count(5)?,
                    searches: count(6)?,
                    profile_views: count(7)?,
                    inmails_sent: count(8)?,
                    leads_saved: count(9)?,
                    accounts_saved: count(10)?,
                    lists_created: count(11)?,
                    ssi: c.get(12)?,
                    source: SourceRef {
                        file: c.get(13)?,
                        line: c.get::<i64>(14)?.max(0) as u64,
                    },
                });
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// The settings in force (defaults for what was never set).
    pub fn settings(&self) -> Result<Settings, WorkspaceError> {
        let mut obj = serde_json::Map::new();
        self.each("SELECT name, value FROM settings", [], |c| {
            let name: String = c.get(0)?;
            let value = c.json(1, &format!("settings.{name}"))?;
            obj.insert(name, value);
            Ok(())
        })?;
        serde_json::from_value(serde_json::Value::Object(obj))
            .map_err(|e| data_err(self, "settings", e))
    }

    fn plan(&self) -> Result<Option<StoredPlan>, WorkspaceError> {
        let mut found = None;
        self.each(
            "SELECT plan, origin, saved_at FROM plan WHERE id = 1",
            [],
            |c| {
                found = Some(StoredPlan {
                    plan: c.json(0, "plan.plan")?,
                    origin: c.get(1)?,
                    saved_at: c.time(2, "plan.saved_at")?,
                });
                Ok(())
            },
        )?;
        Ok(found)
    }

    /// The history, oldest first.
    pub fn history(&self) -> Result<Vec<Snapshot>, WorkspaceError> {
        self.all("SELECT snapshot FROM snapshots ORDER BY at, id", |c| {
            c.json(0, "snapshots.snapshot")
        })
    }

    // ---- writes ------------------------------------------------------------------------

    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, WorkspaceError> {
        self.writable()?;
        let path = self.path().to_path_buf();
        let err = |e: rusqlite::Error| super::storage(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let out = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        self.commits += 1;
        Ok(out)
    }

    /// Replaces the merged user list (one transaction). Outcomes, links and the other
    /// decisions are kept by identity key.
    pub fn replace_users(&mut self, directory: &Directory) -> Result<(), WorkspaceError> {
        self.write(|tx| {
            tx.execute("DELETE FROM users", [])?;
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO users (key, position, presence, email, user_name, \
                 idp_id, first_name, last_name, display_name, in_idp, idp_enabled, has_seat, \
                 seat_license_status, seat_is_admin, seat_id, seat_unique_user_id, other_seats, \
                 source_file, source_line, more_sources, duplicate_rows, stored_scim_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                 ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
            )?;
            for (i, u) in directory.users.iter().enumerate() {
                insert_user(&mut stmt, u, i, directory.presence(u))?;
            }
            Ok(())
        })
    }

    /// Writes outcomes (one transaction for all of them).
    pub fn write_outcomes(&mut self, outcomes: &[StoredOutcome]) -> Result<(), WorkspaceError> {
        let rows: Vec<OutcomeRow> = outcomes
            .iter()
            .map(|o| OutcomeRow::new(&o.key, o.checked_at, &o.outcome))
            .collect();
        self.write_outcome_rows(&rows)
    }

    /// Writes prepared outcome rows (one transaction for all of them).
    pub fn write_outcome_rows(&mut self, rows: &[OutcomeRow]) -> Result<(), WorkspaceError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for r in rows {
                insert_outcome(tx, r)?;
            }
            Ok(())
        })
    }

    /// Marks stored outcomes a `conflict` with these reasons (`(key, reasons)`, the
    /// reasons joined by `; ` as [`LookupOutcome::error`] holds them): the conflicts
    /// the dashboard found across users at the end of a lookup run. A key without a
    /// stored outcome is skipped. One transaction.
    pub fn mark_conflicts(&mut self, marks: &[(String, String)]) -> Result<(), WorkspaceError> {
        let mut rows = Vec::with_capacity(marks.len());
        for (key, reasons) in marks {
            let Some(mut stored) = self.outcome(key)? else {
                continue;
            };
            stored.outcome.status = MatchStatus::Conflict;
            stored.outcome.error = Some(reasons.clone());
            rows.push(OutcomeRow::new(key, stored.checked_at, &stored.outcome));
        }
        self.write_outcome_rows(&rows)
    }

    /// Links a user to a SCIM id by hand (`None`: removes the link).
    pub fn set_link(&mut self, key: &str, scim_id: Option<&str>) -> Result<(), WorkspaceError> {
        self.set_decisions(Decision::Link, &[key], scim_id)
    }

    /// Ignores a user, with the reason (`None`: no longer ignored).
    pub fn set_ignored(&mut self, key: &str, reason: Option<&str>) -> Result<(), WorkspaceError> {
        self.set_decisions(Decision::Ignore, &[key], reason)
    }

    /// Ignores (`Some(reason)`) or un-ignores all of `keys` in one transaction.
    pub fn set_ignored_all<K: AsRef<str>>(
        &mut self,
        keys: &[K],
        reason: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        self.set_decisions(Decision::Ignore, keys, reason)
    }

    /// Stores one per-user decision for each of `keys`, with the time it was made
    /// (`None`: removes it), in one transaction.
    fn set_decisions<K: AsRef<str>>(
        &mut self,
        decision: Decision,
        keys: &[K],
        value: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        let (table, column, at) = decision.columns();
        let now = ts(Utc::now());
        self.write(|tx| {
            for key in keys {
                let key = key.as_ref();
                match value {
                    Some(v) => tx.execute(
                        &format!(
                            "INSERT OR REPLACE INTO {table} (key, {column}, {at}) VALUES (?1, ?2, ?3)"
                        ),
                        params![key, v, now],
                    )?,
                    None => tx.execute(&format!("DELETE FROM {table} WHERE key = ?1"), [key])?,
                };
            }
            Ok(())
        })
    }

    /// Adds a note to a user; returns its id.
    pub fn add_note(&mut self, key: &str, text: &str) -> Result<i64, WorkspaceError> {
        let now = ts(Utc::now());
        self.write(|tx| {
            tx.execute(
                "INSERT INTO notes (key, text, written_at) VALUES (?1, ?2, ?3)",
                params![key, text, now],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Deletes a note.
    pub fn delete_note(&mut self, id: i64) -> Result<(), WorkspaceError> {
        self.write(|tx| {
            tx.execute("DELETE FROM notes WHERE id = ?1", [id])
                .map(|_| ())
        })
    }

    /// Records how a conflict was resolved (replacing an earlier resolution).
    pub fn resolve_conflict(
        &mut self,
        key: &str,
        resolution: &str,
        scim_id: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        let now = ts(Utc::now());
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO conflicts (key, resolution, scim_id, resolved_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![key, resolution, scim_id, now],
            )
            .map(|_| ())
        })
    }

    /// Stores every setting (one transaction).
    pub fn set_settings(&mut self, settings: &Settings) -> Result<(), WorkspaceError> {
        let obj = match serde_json::to_value(settings) {
            Ok(serde_json::Value::Object(o)) => o,
            _ => serde_json::Map::new(),
        };
        self.write(|tx| {
            let mut stmt =
                tx.prepare("INSERT OR REPLACE INTO settings (name, value) VALUES (?1, ?2)")?;
            for (name, value) in &obj {
                stmt.execute(params![name, value.to_string()])?;
            }
            Ok(())
        })
    }

    /// Stores the plan under review (`None`: there is none).
    pub fn save_plan(
        &mut self,
        plan: Option<&Plan>,
        origin: Option<&str>,
    ) -> Result<(), WorkspaceError> {
        let json = plan.map(to_json);
        let now = ts(Utc::now());
        self.write(|tx| {
            match &json {
                Some(p) => tx.execute(
                    "INSERT OR REPLACE INTO plan (id, plan, origin, saved_at) VALUES (1, ?1, ?2, ?3)",
                    params![p, origin, now],
                )?,
                None => tx.execute("DELETE FROM plan", [])?,
            };
            Ok(())
        })
    }

    /// Stores a usage report (replacing one loaded from the same path).
    pub fn save_usage_report(&mut self, report: &StoredUsageReport) -> Result<(), WorkspaceError> {
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
        let (start, end) = match report.period {
            Some(p) => (date(p.start), date(p.end)),
            None => (None, None),
        };
        let at = ts(report.loaded_at);
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO usage_reports \
                 (path, period_start, period_end, content_hash, loaded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![report.path, start, end, report.content_hash, at],
            )?;
            tx.execute("DELETE FROM usage_rows WHERE report = ?1", [&report.path])?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO usage_rows (report, n, email, name, license_type, last_active, \
                 days_since_active, days_active, searches, profile_views, inmails_sent, \
                 leads_saved, accounts_saved, lists_created, ssi, source_file, source_line) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                 ?16, ?17)",
            )?;
            for (n, r) in report.rows.iter().enumerate() {
                stmt.execute(params![
                    report.path,
                    n as i64,
                    r.email,
                    r.name,
                    r.license_type,
                    r.last_active.map(|d| d.to_string()),
                    r.days_since_active,
                    r.days_active,
                    r.searches,
                    r.profile_views,
                    r.inmails_sent,
                    r.leads_saved,
                    r.accounts_saved,
                    r.lists_created,
                    r.ssi,
                    r.source.file,
                    r.source.line as i64,
                ])?;
            }
            Ok(())
        })
    }

    pub(crate) fn put_source(&mut self, s: &SourceRecord) -> Result<(), WorkspaceError> {
        let (mapping, headers, ids) = (
            to_json(&s.mapping),
            to_json(&s.headers),
            to_json(&s.identities),
        );
        let at = ts(s.loaded_at);
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO sources (path, kind, format, content_hash, mapping, \
                 headers, rows_loaded, loaded_at, identities) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    s.path,
                    s.kind,
                    s.format,
                    s.content_hash,
                    mapping,
                    headers,
                    s.rows_loaded as i64,
                    at,
                    ids
                ],
            )
            .map(|_| ())
        })
    }

    pub(crate) fn put_snapshot(&mut self, s: &Snapshot) -> Result<(), WorkspaceError> {
        let json = to_json(s);
        let at = ts(s.at);
        let kind = s.kind.name();
        self.write(|tx| {
            match &s.batch {
                Some(b) => tx.execute(
                    "INSERT INTO snapshots (at, kind, batch_id, snapshot) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT(batch_id) DO UPDATE SET at = excluded.at, snapshot = excluded.snapshot",
                    params![at, kind, b, json],
                )?,
                None => tx.execute(
                    "INSERT INTO snapshots (at, kind, snapshot) VALUES (?1, ?2, ?3)",
                    params![at, kind, json],
                )?,
            };
            Ok(())
        })
    }

    /// Marks the stored outcomes of these SCIM ids active or inactive (after a batch
    /// changed them): the status column and the outcome's `status` are updated.
    pub(crate) fn set_active(&mut self, changes: &[(String, bool)]) -> Result<(), WorkspaceError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut details = tx.prepare(
                "UPDATE outcome_details SET \
                 outcome = json_set(outcome, '$.status', json_object('matched', json_object('active', json(?2))), \
                 '$.user.active', json(?2)) \
                 WHERE key IN (SELECT key FROM outcomes WHERE scim_id = ?1 AND status = 'matched')",
            )?;
            let mut summary = tx
                .prepare("UPDATE outcomes SET active = ?2 WHERE scim_id = ?1 AND status = 'matched'")?;
            for (id, active) in changes {
                let flag = if *active { "true" } else { "false" };
                details.execute(params![id, flag])?;
                summary.execute(params![id, active])?;
            }
            Ok(())
        })
    }

    /// The hand links and ignores (what a headless lookup honours).
    pub fn load_decisions(&self) -> Result<Decisions, WorkspaceError> {
        Ok(Decisions {
            links: self.pairs("SELECT key, scim_id FROM links")?,
            ignores: self.pairs("SELECT key, reason FROM ignores")?,
        })
    }

    /// Users whose result is older than `older_than` at `now`, or who were never
    /// checked, in the users' order; ignored users are left out. The SCIM id to try
    /// first (hand link, else the last match) is in `user.stored_scim_id`.
    pub fn stale_users(
        &self,
        older_than: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<StaleUser>, WorkspaceError> {
        // The summaries say when and to whom: no full outcome is parsed.
        let users = self.users()?;
        let links = self.pairs("SELECT key, scim_id FROM links")?;
        let ignores = self.pairs("SELECT key, reason FROM ignores")?;
        let cutoff = now - older_than;
        Ok(users
            .into_iter()
            .filter(|u| !ignores.contains_key(&u.user.key))
            .filter_map(|u| {
                let o = u.latest.as_ref();
                let checked_at = o.map(|o| o.checked_at);
                if checked_at.is_some_and(|t| t > cutoff) {
                    return None;
                }
                let mut user = u.user;
                let id = links
                    .get(&user.key)
                    .cloned()
                    .or_else(|| o.and_then(|o| o.summary.scim_id()).map(str::to_string));
                if id.is_some() {
                    user.stored_scim_id = id;
                }
                Some(StaleUser {
                    user,
                    presence: u.presence,
                    checked_at,
                })
            })
            .collect())
    }
}
