//! The per-user result rows that navscim writes (`navscim lookup --out`, the Users
//! pane's export): one stable shape for JSON and CSV.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::import::SourceRef;
use crate::matching::{DirUser, LookupOutcome, MatchStatus, Presence};

/// One user's result. Field names are a stable interface for scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserReport {
    pub email: Option<String>,
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub name: String,
    /// `matched`, `not_found`, `ambiguous`, `error`, `ignored` (or `pending` if the run
    /// was cancelled before this user).
    pub status: String,
    pub active: Option<bool>,
    pub scim_id: Option<String>,
    /// `stored_id`, `external_id`, `user_name` or `email`.
    pub matched_by: Option<String>,
    /// In the Sales Navigator export but in no identity-provider file.
    pub orphan: bool,
    /// `both`, `orphan_seat`, `missing`, `unknown`.
    pub presence: Presence,
    pub is_admin: bool,
    pub license_status: Option<String>,
    pub sources: Vec<SourceRef>,
    /// SCIM ids of every candidate when ambiguous.
    pub candidates: Vec<String>,
    /// Why: the last error, the candidates, warnings such as an externalId mismatch.
    pub detail: String,
    /// The matched user's `meta.created` (`navscim plan` reads it for the grace period).
    #[serde(default)]
    pub scim_created: Option<String>,
}

impl UserReport {
    pub fn new(
        user: &DirUser,
        presence: Presence,
        outcome: Option<&LookupOutcome>,
        ignored: bool,
    ) -> Self {
        let status = if ignored {
            MatchStatus::Ignored
        } else {
            outcome.map(|o| o.status).unwrap_or(MatchStatus::Pending)
        };
        let scim = outcome.and_then(|o| o.user.as_ref());
        let candidates: Vec<String> = outcome
            .map(|o| o.candidates.iter().filter_map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        let mut detail = Vec::new();
        if let Some(o) = outcome {
            if let Some(e) = &o.error {
                detail.push(e.clone());
            }
            if status == MatchStatus::Ambiguous {
                detail.push(format!(
                    "{} candidates: {}",
                    candidates.len(),
                    candidates.join(", ")
                ));
            }
            detail.extend(o.warnings.iter().cloned());
        }
        UserReport {
            email: user.email.clone(),
            user_name: user.user_name.clone(),
            external_id: user.external_id().map(str::to_string),
            name: user.name(),
            status: status.name().to_string(),
            active: match status {
                MatchStatus::Matched { active } => Some(active),
                _ => None,
            },
            scim_id: scim.and_then(|u| u.id.clone()),
            matched_by: outcome
                .and_then(|o| o.matched_by)
                .map(|k| k.name().to_string()),
            orphan: presence == Presence::OrphanSeat,
            presence,
            is_admin: user.is_admin(),
            license_status: user
                .seat
                .as_ref()
                .and_then(|s| s.license_status.as_ref())
                .map(|l| l.as_str().to_string()),
            sources: user.sources.clone(),
            candidates,
            detail: detail.join("; "),
            scim_created: scim
                .and_then(|u| u.extra.get("meta"))
                .and_then(|m| m.get("created"))
                .and_then(|c| c.as_str())
                .map(str::to_string),
        }
    }
}

/// Writes `.json` (an array) or `.csv` by the path's extension.
pub fn write_reports(path: &Path, rows: &[UserReport]) -> Result<(), String> {
    let shown = path.display();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("json") => {
            let mut v = serde_json::to_vec_pretty(rows).map_err(|e| format!("{shown}: {e}"))?;
            v.push(b'\n');
            v
        }
        Some("csv") => csv_bytes(rows).map_err(|e| format!("{shown}: {e}"))?,
        _ => return Err(format!("{shown}: the file name must end in .json or .csv")),
    };
    let mut file = std::fs::File::create(path).map_err(|e| format!("{shown}: {e}"))?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("{shown}: {e}"))
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

fn csv_bytes(rows: &[UserReport]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for r in rows {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let sources: Vec<String> = r.sources.iter().map(|s| s.to_string()).collect();
        w.write_record([
            opt(&r.email),
            opt(&r.user_name),
            opt(&r.external_id),
            r.name.clone(),
            r.status.clone(),
            r.active.map(|a| a.to_string()).unwrap_or_default(),
            opt(&r.scim_id),
            opt(&r.matched_by),
            r.orphan.to_string(),
            serde_json::to_value(r.presence)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            r.is_admin.to_string(),
            opt(&r.license_status),
            sources.join(";"),
            r.candidates.join(";"),
            r.detail.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
