//! The per-user result row navscim writes and reads: [`UserReport`] is what
//! `navscim lookup --out` writes (JSON or CSV), what the Users pane exports, and what
//! `navscim plan --lookup` reads back (through [`crate::plan::PlanCandidate::from_report`]).
//! One type, one JSON shape, one CSV shape.
//!
//! Reading is lenient: every field but `status` may be absent, and `candidates` may be
//! SCIM ids (as the Users pane wrote them before this type was shared) or objects.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::import::SourceRef;
use crate::matching::{
    AttemptResult, DirUser, LookupKind, LookupOutcome, MatchStatus, OutcomeSummary, Presence,
};
use crate::scim::ScimUser;

/// One user's result. Field names and order are a stable interface for scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserReport {
    /// The normalised identity the user was merged by.
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    /// The value searched for (none of the seats' ids when there are several).
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// `matched`, `not_found`, `ambiguous`, `error`, `ignored` (or `pending` in a Users
    /// export made before the lookups finished).
    pub status: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub scim_id: Option<String>,
    #[serde(default)]
    pub scim_user_name: Option<String>,
    /// The matched user's `meta.created` (`navscim plan` reads it for the grace period).
    #[serde(default)]
    pub scim_created: Option<String>,
    #[serde(default)]
    pub scim_external_id: Option<String>,
    /// The SCIM user's emails (`emails.value`, the primary first): with `scim_id`,
    /// `scim_user_name` and `scim_external_id`, the identity a plan records and apply
    /// re-verifies, and what protection follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scim_emails: Vec<String>,
    /// `stored_id`, `external_id`, `user_name` or `email`.
    #[serde(default)]
    pub matched_by: Option<String>,
    /// In the Sales Navigator export but in no identity-provider file.
    #[serde(default)]
    pub orphan: bool,
    /// `both`, `orphan_seat`, `missing`, `unknown`.
    #[serde(default = "unknown_presence")]
    pub presence: Presence,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub license_status: Option<String>,
    /// Every export row the user came from.
    #[serde(default)]
    pub sources: Vec<SourceRef>,
    /// Every candidate when ambiguous.
    #[serde(default, deserialize_with = "candidates")]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why, in words: how the user matched, what was searched, the last error, the
    /// candidates, the warnings.
    #[serde(default)]
    pub detail: String,
    /// Every lookup tried, in order.
    #[serde(default)]
    pub attempts: Vec<AttemptReport>,
}

/// A SCIM user that matched an ambiguous lookup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

/// One lookup tried for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptReport {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub request: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub requests: u32,
}

fn unknown_presence() -> Presence {
    Presence::Unknown
}

fn yes() -> bool {
    true
}

/// `candidates`: objects, or bare SCIM ids (older Users-pane exports).
fn candidates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Candidate>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneCandidate {
        Id(String),
        Full(Candidate),
    }
    let v: Option<Vec<OneCandidate>> = Option::deserialize(d)?;
    Ok(v.unwrap_or_default()
        .into_iter()
        .map(|c| match c {
            OneCandidate::Id(id) => Candidate {
                id: Some(id),
                user_name: String::new(),
                external_id: None,
                active: true,
            },
            OneCandidate::Full(c) => c,
        })
        .collect())
}

fn candidate(c: &ScimUser) -> Candidate {
    Candidate {
        id: c.id.clone(),
        user_name: c.user_name.clone(),
        external_id: c.external_id.clone(),
        active: c.is_active(),
    }
}

/// A SCIM resource's `meta.created`, as written.
pub fn meta_created(user: &ScimUser) -> Option<&str> {
    user.extra
        .get("meta")
        .and_then(|m| m.get("created"))
        .and_then(|c| c.as_str())
}

impl UserReport {
    /// The row for a directory user: `outcome` is the lookup's (none: not looked up,
    /// `pending`); `ignored` overrides the status (the outcome's findings are kept).
    pub fn new(
        user: &DirUser,
        presence: Presence,
        outcome: Option<&LookupOutcome>,
        ignored: bool,
    ) -> Self {
        let mut r = UserReport {
            key: user.key.clone(),
            email: user.email.clone(),
            user_name: user.user_name.clone(),
            external_id: user.external_id().map(str::to_string),
            name: user.name(),
            status: MatchStatus::Pending.name().to_string(),
            active: None,
            scim_id: None,
            scim_user_name: None,
            scim_created: None,
            scim_external_id: None,
            scim_emails: Vec::new(),
            matched_by: None,
            orphan: presence == Presence::OrphanSeat,
            presence,
            is_admin: user.is_admin(),
            license_status: user.license_status().map(str::to_string),
            sources: user.sources.clone(),
            candidates: Vec::new(),
            warnings: Vec::new(),
            detail: String::new(),
            attempts: Vec::new(),
        };
        if !user.other_seats.is_empty() {
            let ids: Vec<&str> = user
                .seat
                .iter()
                .chain(&user.other_seats)
                .filter_map(|s| s.unique_user_id.as_deref())
                .collect();
            r.warnings.push(format!(
                "the Sales Navigator export lists {} seats for this person (unique ids {})",
                1 + user.other_seats.len(),
                ids.join(", ")
            ));
        }
        let mut detail = match outcome {
            Some(o) => r.fill(o),
            None => String::new(),
        };
        if ignored {
            r.status = MatchStatus::Ignored.name().to_string();
            detail = if detail.is_empty() {
                "ignored".to_string()
            } else {
                format!("ignored; {detail}")
            };
        } else if outcome.is_none() {
            detail = "not looked up yet".to_string();
        }
        if !r.warnings.is_empty() {
            detail.push_str("; ");
            detail.push_str(&r.warnings.join("; "));
        }
        r.detail = detail;
        r
    }

    /// The row for a user of whose outcome only the summary is in memory (the dashboard
    /// keeps the full outcome in the workspace): everything but the attempts, the
    /// candidates and the outcome's warnings, with the summary's detail. An export
    /// replaces it with [`UserReport::new`] from the stored outcome when it can be read.
    pub fn from_summary(
        user: &DirUser,
        presence: Presence,
        summary: &OutcomeSummary,
        ignored: bool,
    ) -> Self {
        let mut r = UserReport::new(user, presence, None, ignored);
        if !ignored {
            r.status = summary.status.name().to_string();
        }
        if let MatchStatus::Matched { active } = summary.status {
            r.active = Some(active);
        }
        r.matched_by = summary.matched_by.map(|k| k.name().to_string());
        if let Some(scim) = &summary.scim {
            r.scim_id = Some(scim.id.clone());
            r.scim_user_name = scim.user_name.clone();
            r.scim_external_id = scim.external_id.clone();
            r.scim_emails = scim.emails.clone();
        }
        r.scim_created = summary.created.map(|d| d.to_string());
        r.detail = if ignored {
            format!("ignored; {}", summary.detail)
        } else {
            summary.detail.clone()
        };
        if !r.warnings.is_empty() {
            r.detail.push_str("; ");
            r.detail.push_str(&r.warnings.join("; "));
        }
        r
    }

    /// The row for a user whose lookup never ran (the run was interrupted or the token
    /// refused): `error`, with the reason.
    pub fn not_looked_up(user: &DirUser, presence: Presence, why: &str) -> Self {
        let mut r = UserReport::new(user, presence, None, false);
        r.status = MatchStatus::Error.name().to_string();
        r.detail = why.to_string();
        r
    }

    /// The row for a user left out on purpose (`navscim lookup --ignore`).
    pub fn ignored(user: &DirUser, presence: Presence, why: &str) -> Self {
        let mut r = UserReport::new(user, presence, None, true);
        r.detail = why.to_string();
        r
    }

    /// Copies what the lookup found; returns the detail (without the warnings).
    fn fill(&mut self, o: &LookupOutcome) -> String {
        self.status = o.status.name().to_string();
        self.matched_by = o.matched_by.map(|k| k.name().to_string());
        self.warnings.extend(o.warnings.iter().cloned());
        self.attempts = o
            .attempts
            .iter()
            .map(|a| AttemptReport {
                kind: a.kind.name().to_string(),
                request: a.request.clone(),
                result: match &a.result {
                    AttemptResult::Hits(n) => format!("{n} exact hits"),
                    AttemptResult::NotFound => "not found".into(),
                    AttemptResult::Unsupported(d) => format!("unsupported: {d}"),
                    AttemptResult::Error(e) => format!("error: {e}"),
                    AttemptResult::Skipped(why) => format!("skipped: {why}"),
                },
                requests: a.requests,
            })
            .collect();
        self.candidates = o.candidates.iter().map(candidate).collect();
        if let Some(m) = &o.user {
            self.active = Some(m.is_active());
            self.scim_id = m.id.clone();
            self.scim_user_name = Some(m.user_name.clone());
            self.scim_external_id = m.external_id.clone();
            self.scim_emails = m
                .primary_email()
                .into_iter()
                .chain(m.emails.iter().map(|e| e.value.as_str()))
                .map(str::to_string)
                .fold(Vec::new(), |mut v, e| {
                    if !v.contains(&e) {
                        v.push(e);
                    }
                    v
                });
            self.scim_created = meta_created(m).map(str::to_string);
        }
        let tried = || {
            o.attempts
                .iter()
                .filter(|a| !a.request.is_empty())
                .map(|a| format!("{} {:?}", a.kind.label(), a.value))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut detail = match o.status {
            MatchStatus::Matched { active } => format!(
                "matched by {} ({})",
                o.matched_by.map(LookupKind::label).unwrap_or("?"),
                if active { "active" } else { "inactive" }
            ),
            MatchStatus::Ambiguous => format!(
                "{} SCIM users match {}: {}",
                o.candidates.len(),
                o.attempts
                    .last()
                    .map(|a| format!("{} {:?}", a.kind.label(), a.value))
                    .unwrap_or_default(),
                o.candidates
                    .iter()
                    .map(|c| format!("{} ({})", c.id.as_deref().unwrap_or("?"), c.user_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            MatchStatus::NotFound => format!("not found by {}", tried()),
            MatchStatus::Error => o.error.clone().unwrap_or_else(|| "error".into()),
            MatchStatus::Conflict => format!(
                "conflict: {}",
                o.error.as_deref().unwrap_or("the identities disagree")
            ),
            other => other.label().to_string(),
        };
        let unsupported: Vec<&str> = o
            .attempts
            .iter()
            .filter(|a| matches!(a.result, AttemptResult::Unsupported(_)))
            .map(|a| a.kind.label())
            .collect();
        if !unsupported.is_empty() {
            detail.push_str(&format!(
                "; the server does not support {} lookups",
                unsupported.join(", ")
            ));
        }
        detail
    }

    /// The row as CSV fields, in [`CSV_HEADER`] order.
    pub fn csv_record(&self) -> [String; 15] {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let presence = match self.presence {
            Presence::Both => "both",
            Presence::OrphanSeat => "orphan_seat",
            Presence::Missing => "missing",
            Presence::Unknown => "unknown",
        };
        [
            opt(&self.email),
            opt(&self.user_name),
            opt(&self.external_id),
            self.name.clone(),
            self.status.clone(),
            self.active.map(|a| a.to_string()).unwrap_or_default(),
            opt(&self.scim_id),
            opt(&self.matched_by),
            self.orphan.to_string(),
            presence.to_string(),
            self.is_admin.to_string(),
            opt(&self.license_status),
            self.sources
                .iter()
                .map(SourceRef::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            self.candidates
                .iter()
                .filter_map(|c| c.id.clone())
                .collect::<Vec<_>>()
                .join("; "),
            self.detail.clone(),
        ]
    }
}

/// The columns of every per-user CSV navscim writes (`navscim lookup`, the Users export).
pub const CSV_HEADER: [&str; 15] = [
    "email",
    "user_name",
    "external_id",
    "name",
    "status",
    "active",
    "scim_id",
    "matched_by",
    "orphan",
    "presence",
    "is_admin",
    "license_status",
    "sources",
    "candidates",
    "detail",
];

/// Result file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// A JSON array of [`UserReport`] objects, pretty-printed.
    Json,
    /// [`CSV_HEADER`] and one row per user.
    Csv,
}

impl ReportFormat {
    /// By the file name's extension (`.json`, `.csv`, any case).
    pub fn from_path(path: &Path) -> Option<ReportFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Some(ReportFormat::Json),
            Some("csv") => Some(ReportFormat::Csv),
            _ => None,
        }
    }
}

/// Writes rows one at a time, so a caller never holds them all: a JSON array exactly
/// as `serde_json::to_writer_pretty` writes a `Vec<UserReport>`, or CSV.
pub struct ReportWriter<W: Write> {
    sink: Sink<W>,
    rows: usize,
}

enum Sink<W: Write> {
    Json { out: W, buf: Vec<u8> },
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> ReportWriter<W> {
    pub fn new(format: ReportFormat, out: W) -> io::Result<Self> {
        let sink = match format {
            ReportFormat::Json => Sink::Json {
                out,
                buf: Vec::new(),
            },
            ReportFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(CSV_HEADER).map_err(io::Error::other)?;
                Sink::Csv(Box::new(w))
            }
        };
        Ok(ReportWriter { sink, rows: 0 })
    }

    pub fn write(&mut self, row: &UserReport) -> io::Result<()> {
        match &mut self.sink {
            Sink::Json { out, buf } => {
                buf.clear();
                serde_json::to_writer_pretty(&mut *buf, row)?;
                out.write_all(if self.rows == 0 { b"[\n  " } else { b",\n  " })?;
                // Nested one level: every line of the object moves two spaces in (a JSON
                // string never holds a raw line break).
                for (i, line) in buf.split(|&b| b == b'\n').enumerate() {
                    if i > 0 {
                        out.write_all(b"\n  ")?;
                    }
                    out.write_all(line)?;
                }
            }
            Sink::Csv(w) => w.write_record(row.csv_record()).map_err(io::Error::other)?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Ends the array (JSON), flushes, and gives the writer back.
    pub fn finish(self) -> io::Result<W> {
        match self.sink {
            Sink::Json { mut out, .. } => {
                out.write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
                Ok(out)
            }
            Sink::Csv(w) => (*w).into_inner().map_err(|e| e.into_error()),
        }
    }
}

/// Writes `.json` (an array) or `.csv` by the path's extension.
pub fn write_reports(path: &Path, rows: &[UserReport]) -> Result<(), String> {
    let shown = path.display();
    let format = ReportFormat::from_path(path)
        .ok_or_else(|| format!("{shown}: the file name must end in .json or .csv"))?;
    let file = std::fs::File::create(path).map_err(|e| format!("{shown}: {e}"))?;
    let write = || -> io::Result<()> {
        let mut w = ReportWriter::new(format, io::BufWriter::new(file))?;
        for r in rows {
            w.write(r)?;
        }
        let file = w.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    };
    write().map_err(|e| format!("{shown}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(email: &str) -> UserReport {
        serde_json::from_value(serde_json::json!({"email": email, "status": "matched"})).unwrap()
    }

    #[test]
    fn streamed_json_is_the_pretty_array() {
        let rows = [row("a@x.io"), row("b\n\"c\"@x.io")];
        for n in 0..=rows.len() {
            let mut w = ReportWriter::new(ReportFormat::Json, Vec::new()).unwrap();
            for r in &rows[..n] {
                w.write(r).unwrap();
            }
            let mut want = serde_json::to_vec_pretty(&rows[..n]).unwrap();
            want.push(b'\n');
            assert_eq!(
                String::from_utf8(w.finish().unwrap()).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn old_exports_with_candidate_ids_still_read() {
        let r: UserReport = serde_json::from_str(
            r#"{"email":"a@x.io","status":"ambiguous","candidates":["s1","s2"],"presence":"both"}"#,
        )
        .unwrap();
        let ids: Vec<_> = r.candidates.iter().map(|c| c.id.as_deref()).collect();
        assert_eq!(ids, [Some("s1"), Some("s2")]);
        assert_eq!(r.presence, Presence::Both);
        let r: UserReport =
            serde_json::from_str(r#"{"status":"not_found","candidates":null}"#).unwrap();
        assert!(r.candidates.is_empty());
        assert_eq!(r.presence, Presence::Unknown);
    }

    #[test]
    fn written_files_read_back_and_feed_plans() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = vec![row("a@x.io"), row("b@x.io")];
        rows[1].status = "not_found".into();
        rows[0].scim_created = Some("2024-01-15T09:00:00Z".into());
        let json = dir.path().join("users.JSON");
        write_reports(&json, &rows).unwrap();
        let text = std::fs::read_to_string(&json).unwrap();
        let back: Vec<UserReport> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, rows);
        let plan = crate::plan::read_lookup_results("users.JSON", &text).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].provisioned_on.unwrap().to_string(), "2024-01-15");
        let csv = dir.path().join("users.csv");
        write_reports(&csv, &rows).unwrap();
        assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 3);
        let err = write_reports(&dir.path().join("users.txt"), &rows).unwrap_err();
        assert!(
            err.ends_with("the file name must end in .json or .csv"),
            "{err}"
        );
    }

    #[test]
    fn csv_rows_follow_the_header() {
        let mut w = ReportWriter::new(ReportFormat::Csv, Vec::new()).unwrap();
        w.write(&row("a@x.io")).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
        assert!(lines.next().unwrap().starts_with("a@x.io,,,,matched,"));
    }
}
