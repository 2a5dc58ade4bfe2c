//! History: one [`Snapshot`] per lookup run and per batch, and the report
//! (`navscim report`) printed from it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Workspace, WorkspaceError};
use crate::journal::{BatchLog, OpState, Outcome};
use crate::matching::{DirUser, DomainAliases};
use crate::plan::OpKind;
use crate::usage::{self, JoinTarget};

/// What a snapshot was taken after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// A lookup run over every user.
    Lookup,
    /// A refresh of the stale users.
    Refresh,
    /// A batch of changes (apply, resume, undo).
    Batch,
}

impl SnapshotKind {
    pub fn name(self) -> &'static str {
        match self {
            SnapshotKind::Lookup => "lookup",
            SnapshotKind::Refresh => "refresh",
            SnapshotKind::Batch => "batch",
        }
    }
}

/// Idle seats by the idle threshold in force, from the latest usage report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleCount {
    pub threshold_days: u32,
    /// Users idle for more than `threshold_days` days.
    pub idle: usize,
    /// Users the report lists as never activated.
    pub never_activated: usize,
    /// Users the report has a row for.
    pub with_usage: usize,
}

/// The inventory at one moment: counts over the merged users and their latest outcomes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub users: usize,
    /// Users by status name (`matched`, `not_found`, `ambiguous`, `error`, `ignored`,
    /// `pending`, …); ignores override the outcome.
    pub by_status: BTreeMap<String, usize>,
    /// Matched users active / inactive on the server.
    pub active: usize,
    pub inactive: usize,
    /// In the Sales Navigator export but in no identity-provider file.
    pub orphan_seats: usize,
    /// `None` without a usage report.
    #[serde(default)]
    pub idle: Option<IdleCount>,
}

impl Counts {
    fn status(&self, name: &str) -> usize {
        self.by_status.get(name).copied().unwrap_or(0)
    }
}

/// One point of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub at: DateTime<Utc>,
    pub kind: SnapshotKind,
    /// The batch's journal id (batches only).
    #[serde(default)]
    pub batch: Option<String>,
    /// The SCIM base URL the run or batch talked to.
    #[serde(default)]
    pub server: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    /// Seats taken back by this batch (deactivations and deletions navscim applied).
    #[serde(default)]
    pub seats_reclaimed: usize,
    /// Seats given (back) by this batch (reactivations and creations applied).
    #[serde(default)]
    pub seats_restored: usize,
}

/// Seats reclaimed and restored by a batch, and the SCIM ids whose `active` it set.
pub fn batch_snapshot_counts(log: &BatchLog) -> (usize, usize, Vec<(String, bool)>) {
    let (mut reclaimed, mut restored, mut changes) = (0, 0, Vec::new());
    for (op, state) in log.header.plan.operations.iter().zip(log.op_states()) {
        let OpState::Finished { result, .. } = &state else {
            continue;
        };
        if !result.outcome.is_success() {
            continue;
        }
        let applied = result.outcome == Outcome::Applied;
        match op.op {
            OpKind::Deactivate | OpKind::Delete => {
                reclaimed += usize::from(applied);
                if let Some(id) = &op.scim_id {
                    changes.push((id.clone(), false));
                }
            }
            OpKind::Reactivate => {
                restored += usize::from(applied);
                if let Some(id) = &op.scim_id {
                    changes.push((id.clone(), true));
                }
            }
            OpKind::Create => restored += usize::from(applied),
        }
    }
    (reclaimed, restored, changes)
}

impl Workspace {
    /// The inventory now, from the stored users, outcomes, ignores and the latest usage
    /// report (idle by the idle threshold in force).
    pub fn counts(&self) -> Result<Counts, WorkspaceError> {
        let mut counts = Counts::default();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT CASE WHEN i.key IS NOT NULL THEN 'ignored' \
                 ELSE coalesce(o.status, 'pending') END, o.active, u.presence \
                 FROM users u LEFT JOIN outcomes o ON o.key = u.key \
                 LEFT JOIN ignores i ON i.key = u.key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<bool>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (status, active, presence) = row.map_err(|e| self.err(e))?;
            counts.users += 1;
            if status == "matched" {
                match active {
                    Some(true) => counts.active += 1,
                    Some(false) => counts.inactive += 1,
                    None => {}
                }
            }
            *counts.by_status.entry(status).or_default() += 1;
            if presence == "orphan_seat" {
                counts.orphan_seats += 1;
            }
        }
        counts.idle = self.idle_count()?;
        Ok(counts)
    }

    fn idle_count(&self) -> Result<Option<IdleCount>, WorkspaceError> {
        let has_usage: i64 = self
            .conn
            .query_row("SELECT count(*) FROM usage_reports", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if has_usage == 0 {
            return Ok(None);
        }
        let settings = self.settings()?;
        let Some(mut report) = self.usage_reports_listed()?.into_iter().last() else {
            return Ok(None);
        };
        report.rows = self.usage_rows(&report.path)?;
        // A user whose account the server says is inactive holds no seat to reclaim:
        // not idle, whatever the report says (so the trend shows seats reclaimed).
        let users: Vec<DirUser> = self
            .users()?
            .into_iter()
            .filter(|u| {
                !u.latest.as_ref().is_some_and(|l| {
                    l.summary.status == crate::matching::MatchStatus::Matched { active: false }
                })
            })
            .map(|u| u.user)
            .collect();
        let aliases = DomainAliases::parse(&settings.domain_aliases.join(",")).unwrap_or_default();
        let targets: Vec<JoinTarget> = users.iter().map(JoinTarget::from_dir_user).collect();
        let join = usage::join_usage(&targets, &report.rows, &aliases);
        let (as_of, _) =
            usage::default_as_of(None, report.period.as_ref(), Utc::now().date_naive());
        let mut idle = IdleCount {
            threshold_days: settings.idle_days,
            idle: 0,
            never_activated: 0,
            with_usage: 0,
        };
        for i in 0..users.len() {
            let Some(link) = join.link(i) else { continue };
            let Some(a) = usage::link_activity(link, &report.rows, report.period.as_ref(), as_of)
            else {
                continue;
            };
            idle.with_usage += 1;
            if a.is_never_activated() {
                idle.never_activated += 1;
            } else if a.idle_beyond(settings.idle_days) == Some(true) {
                idle.idle += 1;
            }
        }
        Ok(Some(idle))
    }

    /// Records a snapshot of the inventory now, after a lookup run or refresh.
    pub fn record_run(
        &mut self,
        kind: SnapshotKind,
        server: Option<&str>,
    ) -> Result<Snapshot, WorkspaceError> {
        self.writable()?;
        let snapshot = Snapshot {
            at: Utc::now(),
            kind,
            batch: None,
            server: server.map(str::to_string),
            counts: self.counts()?,
            seats_reclaimed: 0,
            seats_restored: 0,
        };
        self.put_snapshot(&snapshot)?;
        Ok(snapshot)
    }

    /// Records a batch (after apply, resume or undo): the stored outcomes of the users
    /// it changed are marked active / inactive, and its snapshot (one per batch; a
    /// resume replaces it) holds the inventory and the seats it reclaimed.
    pub fn record_batch(&mut self, log: &BatchLog) -> Result<Snapshot, WorkspaceError> {
        self.writable()?;
        let (reclaimed, restored, changes) = batch_snapshot_counts(log);
        self.set_active(&changes)?;
        let snapshot = Snapshot {
            at: Utc::now(),
            kind: SnapshotKind::Batch,
            batch: Some(log.id().to_string()),
            server: Some(log.header.base_url.clone()),
            counts: self.counts()?,
            seats_reclaimed: reclaimed,
            seats_restored: restored,
        };
        self.put_snapshot(&snapshot)?;
        Ok(snapshot)
    }

    /// What `navscim report` prints: the inventory now and the history.
    /// `seat_cost` overrides the stored one.
    pub fn inventory(&self, seat_cost: Option<f64>) -> Result<Inventory, WorkspaceError> {
        let settings = self.settings()?;
        let history = self.history()?;
        let reclaimed: usize = history.iter().map(|s| s.seats_reclaimed).sum();
        let restored: usize = history.iter().map(|s| s.seats_restored).sum();
        let seat_cost = seat_cost.or(settings.seat_cost);
        let net = reclaimed as f64 - restored as f64;
        let oldest_check: Option<String> = self
            .conn
            .query_row("SELECT min(checked_at) FROM outcomes", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(Inventory {
            workspace: self.path().display().to_string(),
            tenant: settings.tenant,
            generated_at: Utc::now(),
            oldest_check: oldest_check.and_then(|s| super::parse_ts(&s)),
            current: self.counts()?,
            seats_reclaimed: reclaimed,
            seats_restored: restored,
            seat_cost,
            estimated_yearly_saving: seat_cost.map(|c| (c * net * 100.0).round() / 100.0),
            history,
        })
    }
}

/// The inventory and its trend (`navscim report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    pub workspace: String,
    pub tenant: Option<String>,
    pub generated_at: DateTime<Utc>,
    /// When the oldest stored result was checked.
    pub oldest_check: Option<DateTime<Utc>>,
    /// The counts now.
    pub current: Counts,
    /// Over the whole history.
    pub seats_reclaimed: usize,
    pub seats_restored: usize,
    /// What one seat costs a year, when known.
    pub seat_cost: Option<f64>,
    /// `seat_cost` × (seats reclaimed − seats restored).
    pub estimated_yearly_saving: Option<f64>,
    /// One snapshot per lookup run and batch, oldest first.
    pub history: Vec<Snapshot>,
}

/// `navscim report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
    Markdown,
}

const STATUSES: [&str; 6] = [
    "matched",
    "not_found",
    "ambiguous",
    "error",
    "ignored",
    "pending",
];

fn idle_cells(idle: Option<IdleCount>) -> (String, String) {
    match idle {
        Some(i) => (i.threshold_days.to_string(), i.idle.to_string()),
        None => (String::new(), String::new()),
    }
}

fn csv_row(
    out: &mut String,
    at: DateTime<Utc>,
    kind: &str,
    batch: &str,
    c: &Counts,
    reclaimed: usize,
    restored: usize,
) {
    let (threshold, idle) = idle_cells(c.idle);
    let mut cells = vec![at.to_rfc3339(), kind.to_string(), batch.to_string()];
    cells.push(c.users.to_string());
    cells.extend(STATUSES.iter().map(|s| c.status(s).to_string()));
    cells.extend([
        c.active.to_string(),
        c.inactive.to_string(),
        c.orphan_seats.to_string(),
        threshold,
        idle,
        reclaimed.to_string(),
        restored.to_string(),
    ]);
    let _ = writeln!(out, "{}", cells.join(","));
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// Renders the report. JSON: the [`Inventory`] (`current`, `history`, …). CSV: one
/// row per snapshot, then a `current` row. Markdown: the inventory, the trend table
/// and the saving.
pub fn render_report(inv: &Inventory, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(inv).unwrap_or_default();
            s.push('\n');
            s
        }
        ReportFormat::Csv => {
            let mut out = String::from("at,kind,batch,users,");
            out.push_str(&STATUSES.join(","));
            out.push_str(
                ",active,inactive,orphan_seats,idle_threshold_days,idle,seats_reclaimed,seats_restored\n",
            );
            for s in &inv.history {
                let batch = s.batch.as_deref().unwrap_or("");
                let kind = s.kind.name();
                csv_row(
                    &mut out,
                    s.at,
                    kind,
                    batch,
                    &s.counts,
                    s.seats_reclaimed,
                    s.seats_restored,
                );
            }
            csv_row(
                &mut out,
                inv.generated_at,
                "current",
                "",
                &inv.current,
                0,
                0,
            );
            out
        }
        ReportFormat::Markdown => markdown(inv),
    }
}

fn markdown(inv: &Inventory) -> String {
    let mut out = String::new();
    let title = inv.tenant.as_deref().unwrap_or("navscim workspace");
    let _ = writeln!(out, "# Sales Navigator seats — {title}\n");
    let _ = writeln!(
        out,
        "Workspace `{}`, report of {}.",
        inv.workspace,
        inv.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(t) = inv.oldest_check {
        let _ = writeln!(
            out,
            "Results are what the server said when checked; the oldest is from {}.",
            t.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let c = &inv.current;
    let (threshold, idle) = idle_cells(c.idle);
    let idle_head = if threshold.is_empty() {
        "idle".to_string()
    } else {
        format!("idle > {threshold} d")
    };
    let _ = writeln!(out, "\n## Inventory\n");
    let _ = writeln!(
        out,
        "| users | matched | active | inactive | not found | ambiguous | errors | ignored | pending | orphan seats | {idle_head} |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        c.users,
        c.status("matched"),
        c.active,
        c.inactive,
        c.status("not_found"),
        c.status("ambiguous"),
        c.status("error"),
        c.status("ignored"),
        c.status("pending"),
        c.orphan_seats,
        if idle.is_empty() { "–".into() } else { idle }
    );
    let _ = writeln!(out, "\n## Trend\n");
    if inv.history.is_empty() {
        let _ = writeln!(out, "No lookup run or batch recorded yet.");
    } else {
        let _ = writeln!(
            out,
            "| when | what | users | matched | active | inactive | not found | orphan seats | idle | seats reclaimed |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for s in &inv.history {
            let what = match &s.batch {
                Some(b) => format!("batch {b}"),
                None => format!("{} run", s.kind.name()),
            };
            let (_, idle) = idle_cells(s.counts.idle);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                s.at.format("%Y-%m-%d %H:%M"),
                what,
                s.counts.users,
                s.counts.status("matched"),
                s.counts.active,
                s.counts.inactive,
                s.counts.status("not_found"),
                s.counts.orphan_seats,
                if idle.is_empty() { "–".into() } else { idle },
                s.seats_reclaimed
            );
        }
    }
    let _ = writeln!(
        out,
        "\n**Seats reclaimed:** {} ({} restored).",
        inv.seats_reclaimed, inv.seats_restored
    );
    if let (Some(cost), Some(saving)) = (inv.seat_cost, inv.estimated_yearly_saving) {
        let _ = writeln!(
            out,
            "**Estimated yearly saving:** {} (at {} a seat a year).",
            money(saving),
            money(cost)
        );
    }
    out
}
