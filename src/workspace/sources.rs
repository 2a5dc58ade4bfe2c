//! Sources loaded, and what changed when the same file is loaded again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{content_hash, SourceRecord, Workspace, WorkspaceError};
use crate::import::{FileKind, Import};
use crate::matching::{Directory, DomainAliases};

/// Who one file held: a user's identity key and identifiers, as that file gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIdentity {
    pub key: String,
    #[serde(default)]
    pub email: Option<String>,
    /// The IdP's user name (Okta login, Entra UPN).
    #[serde(default)]
    pub user_name: Option<String>,
    /// The IdP's id (employee id, else its external/object id).
    #[serde(default)]
    pub idp_id: Option<String>,
    /// The Sales Navigator export's unique user id.
    #[serde(default)]
    pub seat_id: Option<String>,
}

/// One identifier of a user that differs between two loads of the same file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentifierChange {
    pub key: String,
    /// `email`, `user_name`, `idp_id` or `seat_id`.
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What changed in a file since it was last loaded (same path, other content).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SourceChanges {
    pub path: String,
    /// When it was loaded before.
    pub previous_load: Option<DateTime<Utc>>,
    /// Identity keys new in the file.
    pub added: Vec<String>,
    /// Identity keys no longer in the file (leavers, for an identity-provider export).
    pub gone: Vec<String>,
    pub changed: Vec<IdentifierChange>,
}

impl SourceChanges {
    /// `path: 3 users added, 1 gone, 2 with changed identifiers (since …)`.
    pub fn summary(&self) -> String {
        let since = self
            .previous_load
            .map(|t| format!(" since {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        format!(
            "{}: changed{since}: {} users added, {} gone, {} with changed identifiers",
            self.path,
            self.added.len(),
            self.gone.len(),
            self.changed.len()
        )
    }

    /// Compares two loads of one file by identity key.
    pub fn between(path: &str, before: &[SourceIdentity], after: &[SourceIdentity]) -> Self {
        let old: BTreeMap<&str, &SourceIdentity> =
            before.iter().map(|s| (s.key.as_str(), s)).collect();
        let new: BTreeMap<&str, &SourceIdentity> =
            after.iter().map(|s| (s.key.as_str(), s)).collect();
        let mut changes = SourceChanges {
            path: path.to_string(),
            ..SourceChanges::default()
        };
        for (key, n) in &new {
            match old.get(key) {
                None => changes.added.push(key.to_string()),
                Some(o) => {
                    let fields: [(&'static str, &Option<String>, &Option<String>); 4] = [
                        ("email", &o.email, &n.email),
                        ("user_name", &o.user_name, &n.user_name),
                        ("idp_id", &o.idp_id, &n.idp_id),
                        ("seat_id", &o.seat_id, &n.seat_id),
                    ];
                    for (field, b, a) in fields {
                        if b != a {
                            changes.changed.push(IdentifierChange {
                                key: key.to_string(),
                                field,
                                before: b.clone(),
                                after: a.clone(),
                            });
                        }
                    }
                }
            }
        }
        changes.gone = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| k.to_string())
            .collect();
        changes
    }
}

/// Who an imported file holds, merged by identity key as the user list merges them.
pub fn source_identities(import: &Import, aliases: &DomainAliases) -> Vec<SourceIdentity> {
    if import.detection.format.kind() == FileKind::Usage {
        return Vec::new();
    }
    let dir = Directory::build(std::slice::from_ref(import), aliases);
    dir.users
        .into_iter()
        .map(|u| SourceIdentity {
            seat_id: u.seat.as_ref().and_then(|s| s.unique_user_id.clone()),
            key: u.key,
            email: u.email,
            user_name: u.user_name,
            idp_id: u.idp_id,
        })
        .collect()
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Idp => "idp",
        FileKind::SalesNavUsers => "salesnav_users",
        FileKind::Usage => "usage",
    }
}

impl Workspace {
    /// Records a file just loaded from `path` (its bytes were `bytes`). When the same
    /// path was loaded before with other content, returns what changed (users added,
    /// gone, identifiers changed); `None` for a new path or the same content.
    pub fn record_source(
        &mut self,
        path: &str,
        bytes: &[u8],
        import: &Import,
        aliases: &DomainAliases,
        now: DateTime<Utc>,
    ) -> Result<Option<SourceChanges>, WorkspaceError> {
        let kind = import.detection.format.kind();
        let identities = source_identities(import, aliases);
        let rows_loaded = match kind {
            FileKind::Idp => import.idp_users().len(),
            FileKind::SalesNavUsers => import.salesnav_users().len(),
            FileKind::Usage => import.usage_rows().len(),
        };
        let record = SourceRecord {
            path: path.to_string(),
            kind: kind_name(kind).to_string(),
            format: import.detection.format.label().to_string(),
            content_hash: content_hash(bytes),
            mapping: import.mapping.clone(),
            headers: import.headers.clone(),
            rows_loaded,
            loaded_at: now,
            identities,
        };
        let previous = self.sources()?.into_iter().find(|s| s.path == path);
        let changes = previous
            .filter(|p| p.content_hash != record.content_hash)
            .map(|p| {
                let mut c = SourceChanges::between(path, &p.identities, &record.identities);
                c.previous_load = Some(p.loaded_at);
                c
            });
        self.put_source(&record)?;
        if kind == FileKind::Usage {
            self.save_usage_report(&super::StoredUsageReport {
                path: path.to_string(),
                period: import.report_period,
                content_hash: record.content_hash.clone(),
                loaded_at: now,
                rows: import.usage_rows().to_vec(),
            })?;
        }
        Ok(changes)
    }
}
