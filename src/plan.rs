//! Plans: what navscim intends to change, why, and what it deliberately leaves alone.
//! The safety gates (permissions, thresholds, protected users) are checked here, by
//! the same code for the TUI and the headless commands.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::scim::NewUser;

mod build;
pub use build::*;

pub const PLAN_VERSION: u32 = 1;

/// The kinds of change navscim can make, and which permission each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// `POST /Users` or `PATCH active=true`.
    Provision,
    /// `PATCH active=false` (or DELETE where the server allows it).
    Deprovision,
}

/// What the admin has allowed navscim to change. Both off means read-only: no request
/// that changes anything may leave navscim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    pub provisioning: bool,
    pub deprovisioning: bool,
}

impl Permissions {
    pub fn allows(&self, kind: ChangeKind) -> bool {
        match kind {
            ChangeKind::Provision => self.provisioning,
            ChangeKind::Deprovision => self.deprovisioning,
        }
    }

    pub fn is_read_only(&self) -> bool {
        !self.provisioning && !self.deprovisioning
    }

    /// The status-bar badge.
    pub fn badge(&self) -> &'static str {
        match (self.provisioning, self.deprovisioning) {
            (false, false) => "READ-ONLY",
            (true, false) => "PROVISION",
            (false, true) => "DEPROVISION",
            (true, true) => "PROVISION+DEPROVISION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// `PATCH active=false`: how Sales Navigator takes a seat back.
    Deactivate,
    /// `PATCH active=true`.
    Reactivate,
    /// `POST /Users`.
    Create,
    /// `DELETE /Users/{id}`: only where the server advertises it and the admin chose it.
    Delete,
}

impl OpKind {
    /// The stable snake_case name (as in the plan JSON).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Deactivate => "deactivate",
            OpKind::Reactivate => "reactivate",
            OpKind::Create => "create",
            OpKind::Delete => "delete",
        }
    }

    pub fn change_kind(self) -> ChangeKind {
        match self {
            OpKind::Deactivate | OpKind::Delete => ChangeKind::Deprovision,
            OpKind::Reactivate | OpKind::Create => ChangeKind::Provision,
        }
    }

    /// The reverse operation, for undo (`None`: cannot be undone by navscim).
    pub fn inverse(self) -> Option<OpKind> {
        match self {
            OpKind::Deactivate => Some(OpKind::Reactivate),
            OpKind::Reactivate => Some(OpKind::Deactivate),
            OpKind::Create => Some(OpKind::Deactivate),
            OpKind::Delete => None,
        }
    }
}

/// Why a user is in a plan: the numbers an admin would defend the decision with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never_activated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_active: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub searches: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_views: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inmails_sent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_status: Option<String>,
    /// Where the evidence came from (file:line of the usage row, the lookup).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Who the operation is meant for: the SCIM user's identity when the plan was
    /// made. Apply re-reads the user and skips the operation as "identity changed"
    /// when the server's answer shows someone else (DESIGN.md section 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetIdentity>,
}

/// A SCIM user's identity as seen at plan time (from the lookup results).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetIdentity {
    /// The SCIM `id`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The primary email (`emails[primary eq true].value`, else the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Every email of the SCIM user (protection follows them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
}

impl TargetIdentity {
    /// The identity of a SCIM user as returned by the server (`None` without an id).
    pub fn of(user: &crate::scim::ScimUser) -> Option<TargetIdentity> {
        let id = user.id.clone().filter(|i| !i.trim().is_empty())?;
        let mut emails: Vec<String> = Vec::new();
        for e in user
            .primary_email()
            .into_iter()
            .chain(user.emails.iter().map(|e| e.value.as_str()))
        {
            if !emails.iter().any(|x| x == e) {
                emails.push(e.to_string());
            }
        }
        Some(TargetIdentity {
            id,
            user_name: Some(user.user_name.clone()).filter(|u| !u.trim().is_empty()),
            external_id: user.external_id.clone().filter(|e| !e.trim().is_empty()),
            email: user.primary_email().map(str::to_string),
            emails,
        })
    }

    /// How `user` (re-read right before a change) differs from this identity: the id,
    /// the userName, the externalId and the primary email must be the same
    /// (userName and email compared case-insensitively, trimmed). Empty when the same.
    pub fn differences(&self, user: &crate::scim::ScimUser) -> Vec<String> {
        let fold = |s: &str| crate::import::normalize_email(s);
        let mut out = Vec::new();
        match user.id.as_deref() {
            None => out.push("the answer carries no id".to_string()),
            Some(id) if id != self.id => out.push(format!("id {id:?}, not {:?}", self.id)),
            Some(_) => {}
        }
        if let Some(un) = &self.user_name {
            if fold(un) != fold(&user.user_name) {
                out.push(format!("userName {:?}, was {un:?}", user.user_name));
            }
        }
        if self.external_id.as_deref().map(str::trim)
            != user
                .external_id
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
        {
            out.push(format!(
                "externalId {:?}, was {:?}",
                user.external_id, self.external_id
            ));
        }
        if let Some(e) = &self.email {
            let now = user.primary_email().map(fold);
            if now.as_deref() != Some(fold(e).as_str()) {
                out.push(format!(
                    "primary email {:?}, was {e:?}",
                    user.primary_email().unwrap_or("")
                ));
            }
        }
        out
    }
}

/// One change to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub op: OpKind,
    /// The target; `None` only for `create`.
    pub scim_id: Option<String>,
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// In words, e.g. "idle 143 days (threshold 90)".
    pub reason: String,
    #[serde(default)]
    pub evidence: Evidence,
    /// What `create` sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_user: Option<NewUser>,
}

#[cfg(test)]
impl Operation {
    /// A test operation on the SCIM user `scim_id` (`email`), for the reason "test".
    pub(crate) fn for_test(op: OpKind, scim_id: String, email: String) -> Operation {
        Operation {
            op,
            scim_id: Some(scim_id),
            email: Some(email),
            user_name: None,
            external_id: None,
            name: String::new(),
            reason: "test".into(),
            evidence: Evidence::default(),
            new_user: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// On the admin's protected list.
    Protected,
    /// A Sales Navigator admin (from the export).
    Admin,
    /// Provisioned within the grace period.
    RecentlyProvisioned,
    /// Not matched to exactly one SCIM user.
    NotMatched,
    AlreadyInactive,
    AlreadyActive,
    /// Marked ignored by the admin.
    Ignored,
    /// Active recently enough: below the idle threshold.
    NotIdle,
    /// No usage data to judge by.
    NoUsage,
    /// Licence assigned but never activated, and the plan does not include such users
    /// (`--include-never-activated`).
    NeverActivated,
}

/// A user deliberately left out of the plan, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exclusion {
    pub email: Option<String>,
    pub scim_id: Option<String>,
    #[serde(default)]
    pub name: String,
    pub why: ExclusionReason,
    #[serde(default)]
    pub detail: String,
}

/// An input the plan was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    /// e.g. `lookup_results`, `usage_report`, `protected_list`, `tui_selection`.
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub rows: usize,
}

/// A plan file (`navscim plan … --out plan.json`), also built by the TUI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub inputs: Vec<PlanInput>,
    /// The thresholds and options used, as given (idle days, grace days, …).
    #[serde(default)]
    pub parameters: serde_json::Value,
    /// Matched users the plan was drawn from: the base of the share threshold.
    pub matched_users: usize,
    pub operations: Vec<Operation>,
    pub excluded: Vec<Exclusion>,
    /// The server and profile the plan was built for (absent in plans made before
    /// navscim recorded it). Applying it elsewhere is refused: see [`Plan::check_target`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Box<PlanTarget>>,
}

/// Which tenant a plan is for: a base URL is the same for every LinkedIn tenant, so the
/// profile (and its tenant label) tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTarget {
    /// The SCIM base URL.
    pub server: String,
    /// The profile's name.
    pub profile: String,
    /// The profile's tenant label, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl PlanTarget {
    /// "profile \"p\" (tenant \"t\") at URL", or just the URL when no profile is recorded.
    pub fn describe(&self) -> String {
        if self.profile.is_empty() {
            return self.server.clone();
        }
        match &self.tenant {
            Some(t) => format!(
                "profile {:?} (tenant {t:?}) at {}",
                self.profile, self.server
            ),
            None => format!("profile {:?} at {}", self.profile, self.server),
        }
    }
}

/// A plan built for another server or profile than the one it is applied with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this plan was built for {}, but this run uses {}: refusing to apply it here (nothing was sent); build the plan again with this profile", .built_for.describe(), .used.describe())]
pub struct WrongTenant {
    pub built_for: PlanTarget,
    pub used: PlanTarget,
}

/// A base URL compared without a trailing `/` and with the scheme and host in lower case.
pub fn same_server(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().trim_end_matches('/');
        match s.find("://") {
            Some(i) => {
                let rest = &s[i + 3..];
                let host_end = rest.find('/').unwrap_or(rest.len());
                format!(
                    "{}://{}{}",
                    s[..i].to_ascii_lowercase(),
                    rest[..host_end].to_ascii_lowercase(),
                    &rest[host_end..]
                )
            }
            None => s.to_string(),
        }
    };
    norm(a) == norm(b)
}

impl Plan {
    /// Operations per kind, by name, in a fixed order.
    pub fn op_counts(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for op in &self.operations {
            *counts.entry(op.op.name()).or_default() += 1;
        }
        counts
    }

    /// Refuses a plan built for another server or profile than `used` (plans without
    /// a recorded target pass; a target with an empty profile is checked by server and
    /// tenant only). The TUI (as [`Refusal::WrongTarget`]) and `navscim apply` both
    /// call it before a batch.
    pub fn check_target(&self, used: &PlanTarget) -> Result<(), Box<WrongTenant>> {
        let Some(built_for) = &self.target else {
            return Ok(());
        };
        let tenant_differs =
            matches!((&built_for.tenant, &used.tenant), (Some(a), Some(b)) if a != b);
        // An empty profile was not recorded (an undo of a batch whose plan named no
        // target knows only the server it ran on): the server must match.
        let profile_differs = !built_for.profile.is_empty() && built_for.profile != used.profile;
        if !same_server(&built_for.server, &used.server) || profile_differs || tenant_differs {
            return Err(Box::new(WrongTenant {
                built_for: (**built_for).clone(),
                used: used.clone(),
            }));
        }
        Ok(())
    }

    /// Writes the plan file as `navscim plan --out` does (pretty JSON and a line
    /// break, synced to disk), replacing `path`; [`Plan::load`] reads it back. The
    /// error names the file.
    pub fn write_file(&self, path: &std::path::Path) -> Result<(), String> {
        use std::io::Write;
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|e| format!("{}: {e}", path.display()))?;
        bytes.push(b'\n');
        let mut file = std::fs::File::create(path)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        file.write_all(&bytes)
            .and_then(|_| file.sync_all())
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))
    }

    /// Reads a plan file; the error names the file and what is wrong with it.
    pub fn load(path: &std::path::Path) -> Result<Plan, String> {
        Plan::read(path).map_err(String::from)
    }

    /// [`Plan::load`] with a typed error: an input error naming the file, and for a
    /// file that is not a valid plan the line and the JSON field serde names.
    pub fn read(path: &std::path::Path) -> Result<Plan, crate::error::AppError> {
        use crate::error::{AppError, InputPlace};
        let place = InputPlace {
            file: path.display().to_string(),
            ..InputPlace::default()
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            AppError::input(
                place.clone(),
                format!("cannot read the plan {}: {e}", path.display()),
            )
        })?;
        serde_json::from_str(&text).map_err(|e| {
            // serde_json names a field between backticks: "missing field `operations`"
            // (other backticks quote a value: "invalid type: integer `3`").
            let words = e.to_string();
            let field = ["missing field `", "unknown field `", "duplicate field `"]
                .iter()
                .find_map(|p| words.strip_prefix(p))
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string);
            let place = InputPlace {
                line: Some(e.line()).filter(|&l| l > 0),
                field,
                ..place
            };
            AppError::input(
                place,
                format!("{} is not a valid plan: {words}", path.display()),
            )
        })
    }
}

/// Limits on how much one apply may change (DESIGN.md section 8).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Most operations allowed (default 50).
    pub max_count: usize,
    /// Most operations as a share of the matched users, in percent (default 20).
    pub max_percent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_count: 50,
            max_percent: 20.0,
        }
    }
}

/// Why an apply is refused before anything is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "gate")]
pub enum Refusal {
    /// The plan needs a permission the admin has not given.
    NotPermitted {
        kind: ChangeKind,
        operations: usize,
    },
    TooMany {
        operations: usize,
        max_count: usize,
    },
    TooLargeShare {
        operations: usize,
        matched_users: usize,
        percent: f64,
        max_percent: f64,
    },
    /// A protected user or admin is the target of a deprovisioning operation.
    ProtectedTarget {
        email: Option<String>,
        scim_id: Option<String>,
    },
    /// DELETE without the server advertising it, or without the admin choosing it.
    DeleteNotAllowed {
        operations: usize,
    },
    /// The plan file is of another version.
    UnsupportedVersion {
        version: u32,
    },
    /// The plan was built for another server, profile or tenant than the one it would
    /// be applied with (see [`Plan::check_target`]); both are named.
    WrongTarget {
        built_for: String,
        used: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotPermitted { kind, operations } => match kind {
                ChangeKind::Provision => write!(
                    f,
                    "{operations} operations create or reactivate users, but provisioning is not allowed (tick Provisioning, or pass --allow-provision)"
                ),
                ChangeKind::Deprovision => write!(
                    f,
                    "{operations} operations deactivate users, but deprovisioning is not allowed (tick Deprovisioning, or pass --allow-deprovision)"
                ),
            },
            Refusal::TooMany {
                operations,
                max_count,
            } => write!(
                f,
                "{operations} operations exceed the limit of {max_count} (raise it for this run with --max-count)"
            ),
            Refusal::TooLargeShare {
                operations,
                matched_users,
                percent,
                max_percent,
            } => write!(
                f,
                "{operations} operations are {percent:.1}% of {matched_users} matched users, over the limit of {max_percent}% (raise it for this run with --max-percent)"
            ),
            Refusal::ProtectedTarget { email, scim_id } => write!(
                f,
                "the plan would deprovision a protected user ({})",
                email.as_deref().or(scim_id.as_deref()).unwrap_or("?")
            ),
            Refusal::DeleteNotAllowed { operations } => write!(
                f,
                "{operations} DELETE operations, but the server does not advertise DELETE or it was not chosen explicitly"
            ),
            Refusal::UnsupportedVersion { version } => write!(
                f,
                "plan version {version} is not supported (this navscim reads version {PLAN_VERSION})"
            ),
            Refusal::WrongTarget { built_for, used } => write!(
                f,
                "the plan was built for {built_for}, but this session uses {used}: point the Connection pane at the plan's server (or rebuild the plan here)"
            ),
        }
    }
}

/// The gates every apply passes, TUI and headless alike. `protected` lists emails
/// (normalised) and SCIM ids that must never be deprovisioned; `delete_allowed` is
/// true only when the server advertises DELETE and the admin chose it.
pub fn check_gates(
    plan: &Plan,
    permissions: Permissions,
    thresholds: Thresholds,
    protected: &ProtectedUsers,
    delete_allowed: bool,
) -> Result<(), Vec<Refusal>> {
    let mut refusals = Vec::new();
    if plan.version != PLAN_VERSION {
        refusals.push(Refusal::UnsupportedVersion {
            version: plan.version,
        });
    }
    for kind in [ChangeKind::Provision, ChangeKind::Deprovision] {
        let n = plan
            .operations
            .iter()
            .filter(|o| o.op.change_kind() == kind)
            .count();
        if n > 0 && !permissions.allows(kind) {
            refusals.push(Refusal::NotPermitted {
                kind,
                operations: n,
            });
        }
    }
    let n = plan.operations.len();
    if n > thresholds.max_count {
        refusals.push(Refusal::TooMany {
            operations: n,
            max_count: thresholds.max_count,
        });
    }
    if n > 0 {
        let percent = if plan.matched_users == 0 {
            100.0
        } else {
            n as f64 * 100.0 / plan.matched_users as f64
        };
        if percent > thresholds.max_percent {
            refusals.push(Refusal::TooLargeShare {
                operations: n,
                matched_users: plan.matched_users,
                percent,
                max_percent: thresholds.max_percent,
            });
        }
    }
    for op in &plan.operations {
        if op.op.change_kind() == ChangeKind::Deprovision && protected.covers(op) {
            refusals.push(Refusal::ProtectedTarget {
                email: op.email.clone(),
                scim_id: op.scim_id.clone(),
            });
        }
    }
    let deletes = plan
        .operations
        .iter()
        .filter(|o| o.op == OpKind::Delete)
        .count();
    if deletes > 0 && !delete_allowed {
        refusals.push(Refusal::DeleteNotAllowed {
            operations: deletes,
        });
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

/// Users that must never be deprovisioned: Sales Navigator admins from the export plus
/// the admin's own list (emails or SCIM ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedUsers {
    /// Normalised emails.
    pub emails: std::collections::BTreeSet<String>,
    pub scim_ids: std::collections::BTreeSet<String>,
}

impl ProtectedUsers {
    pub fn add_email(&mut self, email: &str) {
        self.emails.insert(crate::import::normalize_email(email));
    }

    pub fn add_scim_id(&mut self, id: &str) {
        self.scim_ids.insert(id.trim().to_string());
    }

    /// Reads a protected list: one email or SCIM id per line; `#` starts a comment.
    pub fn parse_list(text: &str) -> Self {
        let mut p = ProtectedUsers::default();
        for line in text.lines() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            if entry.contains('@') {
                p.add_email(entry);
            } else {
                p.add_scim_id(entry);
            }
        }
        p
    }

    /// Whether an operation reaches a protected user: by its email or userName, its
    /// SCIM id, or the SCIM user's own userName and emails recorded in the plan.
    pub fn covers(&self, op: &Operation) -> bool {
        let target = op.evidence.target.as_ref();
        [op.email.as_deref(), op.user_name.as_deref()]
            .into_iter()
            .chain(target.map(|t| t.user_name.as_deref()))
            .flatten()
            .chain(
                target
                    .into_iter()
                    .flat_map(|t| t.emails.iter().map(String::as_str)),
            )
            .any(|e| self.emails.contains(&crate::import::normalize_email(e)))
            || op
                .scim_id
                .as_deref()
                .into_iter()
                .chain(target.map(|t| t.id.as_str()))
                .any(|id| self.scim_ids.contains(id.trim()))
    }

    /// Why the SCIM user an operation is about to change (re-read right before the
    /// request) is protected: its id, its userName or one of its emails is on the list.
    pub fn protects(&self, user: &crate::scim::ScimUser) -> Option<String> {
        if let Some(id) = user
            .id
            .as_deref()
            .filter(|id| self.scim_ids.contains(id.trim()))
        {
            return Some(format!("SCIM id {id} is protected"));
        }
        for e in std::iter::once(user.user_name.as_str())
            .chain(user.emails.iter().map(|e| e.value.as_str()))
        {
            if !e.trim().is_empty() && self.emails.contains(&crate::import::normalize_email(e)) {
                return Some(format!("{e} is protected"));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpKind, email: &str) -> Operation {
        Operation::for_test(kind, format!("id-{email}"), email.into())
    }

    fn plan(ops: Vec<Operation>, matched: usize) -> Plan {
        Plan {
            version: PLAN_VERSION,
            created_at: Utc::now(),
            inputs: vec![],
            parameters: serde_json::Value::Null,
            matched_users: matched,
            operations: ops,
            excluded: vec![],
            target: None,
        }
    }

    const ALL: Permissions = Permissions {
        provisioning: true,
        deprovisioning: true,
    };

    #[test]
    fn read_only_refuses_every_change() {
        let p = plan(vec![op(OpKind::Deactivate, "a@x.io")], 100);
        let refusals = check_gates(
            &p,
            Permissions::default(),
            Thresholds::default(),
            &ProtectedUsers::default(),
            false,
        )
        .unwrap_err();
        assert!(matches!(
            refusals[..],
            [Refusal::NotPermitted {
                kind: ChangeKind::Deprovision,
                operations: 1
            }]
        ));
        // Deprovisioning does not grant provisioning.
        let p = plan(vec![op(OpKind::Reactivate, "a@x.io")], 100);
        let only_deprov = Permissions {
            provisioning: false,
            deprovisioning: true,
        };
        let protected = ProtectedUsers::default();
        assert!(check_gates(&p, only_deprov, Thresholds::default(), &protected, false).is_err());
        assert!(check_gates(&p, ALL, Thresholds::default(), &protected, false).is_ok());
    }

    #[test]
    fn thresholds_by_count_and_by_share() {
        let ops: Vec<_> = (0..51)
            .map(|i| op(OpKind::Deactivate, &format!("u{i}@x.io")))
            .collect();
        let p = plan(ops, 1000);
        let none = ProtectedUsers::default();
        let err = check_gates(&p, ALL, Thresholds::default(), &none, false).unwrap_err();
        assert!(matches!(
            err[..],
            [Refusal::TooMany {
                operations: 51,
                max_count: 50
            }]
        ));
        let raised = Thresholds {
            max_count: 60,
            ..Thresholds::default()
        };
        assert!(check_gates(&p, ALL, raised, &none, false).is_ok());

        let p = plan(vec![op(OpKind::Deactivate, "a@x.io"); 3], 10);
        let err = check_gates(&p, ALL, Thresholds::default(), &none, false).unwrap_err();
        assert!(
            matches!(err[..], [Refusal::TooLargeShare { .. }]),
            "{err:?}"
        );
        assert!(err[0].to_string().contains("30.0%"));
    }

    #[test]
    fn protected_users_are_never_deprovisioned() {
        let mut protected = ProtectedUsers::parse_list("# admins\nBoss@X.io\nid-7 # by id\n");
        protected.add_email("other@x.io");
        let p = plan(vec![op(OpKind::Deactivate, "boss@x.io")], 100);
        let err = check_gates(&p, ALL, Thresholds::default(), &protected, false).unwrap_err();
        assert!(matches!(err[..], [Refusal::ProtectedTarget { .. }]));
        // Reactivating a protected user is fine.
        let p = plan(vec![op(OpKind::Reactivate, "boss@x.io")], 100);
        assert!(check_gates(&p, ALL, Thresholds::default(), &protected, false).is_ok());
        assert!(protected.scim_ids.contains("id-7"));
    }

    #[test]
    fn delete_needs_explicit_allowance() {
        let p = plan(vec![op(OpKind::Delete, "a@x.io")], 100);
        let none = ProtectedUsers::default();
        let err = check_gates(&p, ALL, Thresholds::default(), &none, false).unwrap_err();
        assert!(matches!(
            err[..],
            [Refusal::DeleteNotAllowed { operations: 1 }]
        ));
        assert!(check_gates(&p, ALL, Thresholds::default(), &none, true).is_ok());
    }
}
