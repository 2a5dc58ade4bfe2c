//! Who navscim knows about, and what it found out over SCIM.
//!
//! The [`Directory`] merges the loaded exports (identity-provider assignments, the Sales
//! Navigator user export) into one list keyed by normalised identity, remembering every
//! file and line each user came from. The lookup engine ([`crate::lookup`]) fills in a
//! [`LookupOutcome`] per user. TUI and headless commands share both.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::import::{FileKind, Import, LicenseStatus, SourceRef};
use crate::scim::{FilterAttr, ScimUser};

/// Domains that are the same company, e.g. `corp-example.co.uk` = `corp.example`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainAliases {
    /// alias domain (lower case) -> canonical domain (lower case)
    map: HashMap<String, String>,
}

impl DomainAliases {
    /// Parses `alias=canonical[,alias=canonical…]`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut aliases = DomainAliases::default();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (alias, canonical) = pair
                .split_once('=')
                .ok_or_else(|| format!("domain alias {pair:?}: expected alias=canonical"))?;
            let (alias, canonical) = (alias.trim(), canonical.trim());
            if alias.is_empty() || canonical.is_empty() || alias.contains('@') {
                return Err(format!("domain alias {pair:?}: expected alias=canonical"));
            }
            aliases.add(alias, canonical);
        }
        Ok(aliases)
    }

    /// Adds every alias of `other`.
    pub fn extend(&mut self, other: &DomainAliases) {
        self.map
            .extend(other.map.iter().map(|(a, c)| (a.clone(), c.clone())));
    }

    /// Whether no alias is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every alias as `alias=canonical`, sorted: what [`DomainAliases::parse`] reads
    /// back (how the workspace stores them).
    pub fn specs(&self) -> Vec<String> {
        let mut specs: Vec<String> = self.map.iter().map(|(a, c)| format!("{a}={c}")).collect();
        specs.sort();
        specs
    }

    pub fn add(&mut self, alias: &str, canonical: &str) {
        self.map
            .insert(alias.trim().to_lowercase(), canonical.trim().to_lowercase());
    }

    /// [`DomainAliases::canonical`] of an owned email, reusing it when no alias applies
    /// (no second allocation per key on the 100,000-user paths).
    pub fn canonical_owned(&self, email: String) -> String {
        if self.map.is_empty() {
            return email;
        }
        match email.rsplit_once('@') {
            Some((_, domain)) if self.map.contains_key(domain) => self.canonical(&email),
            _ => email,
        }
    }

    /// The canonical form of a normalised email.
    pub fn canonical(&self, email: &str) -> String {
        match email.rsplit_once('@') {
            Some((local, domain)) => match self.map.get(domain) {
                Some(canonical) => format!("{local}@{canonical}"),
                None => email.to_string(),
            },
            None => email.to_string(),
        }
    }
}

/// The identity key of an email: trimmed, lower-cased, domain aliases applied.
pub fn identity_key(email: &str, aliases: &DomainAliases) -> String {
    aliases.canonical_owned(crate::import::normalize_email(email))
}

/// What the Sales Navigator export says about a user's seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub license_status: Option<LicenseStatus>,
    pub is_admin: bool,
    pub seat_id: Option<String>,
    /// `unique_user_id`: what the IdP sent as `externalId`.
    pub unique_user_id: Option<String>,
}

/// Where a user was seen, given which kinds of file were loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// In an identity-provider file and the Sales Navigator export.
    Both,
    /// In the Sales Navigator export but in none of the identity-provider files: an
    /// orphan seat, likely a leaver.
    OrphanSeat,
    /// In an identity-provider file but not in the loaded Sales Navigator export.
    Missing,
    /// Only one kind of file is loaded, so nothing can be said.
    Unknown,
}

/// One person, merged from every file that mentions them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirUser {
    /// Normalised identity (see [`identity_key`]); `id:<value>` when a row had no email.
    pub key: String,
    pub email: Option<String>,
    /// The IdP's user name (Okta login, Entra UPN), if any.
    pub user_name: Option<String>,
    /// The IdP's identifier for the user: employee id, else its external/object id.
    pub idp_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub in_idp: bool,
    /// Enabled in the IdP (`None` when the file does not say).
    pub idp_enabled: Option<bool>,
    pub seat: Option<Seat>,
    /// Further seats of the same identity (e.g. two invites whose emails differ only by
    /// case). With more than one seat the identity is ambiguous: see [`DirUser::external_id`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_seats: Vec<Seat>,
    /// Every file and line this user came from.
    pub sources: Vec<SourceRef>,
    /// Rows merged into this user beyond the first.
    pub duplicate_rows: u32,
    /// A SCIM id known before any lookup (linked by hand, or from earlier results).
    pub stored_scim_id: Option<String>,
}

impl DirUser {
    /// "First Last", else the display name, else the email.
    pub fn name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(n), None) | (None, Some(n)) => n.clone(),
            (None, None) => self
                .display_name
                .clone()
                .or_else(|| self.email.clone())
                .unwrap_or_default(),
        }
    }

    /// The value to search `externalId` for: what Sales Navigator holds if known
    /// (its `unique_user_id`), else the IdP's id.
    ///
    /// With several seats for one identity, no single seat's id speaks for the person:
    /// only the IdP's id is used, so the lookup falls through to userName/email and
    /// finds every seat (ambiguous) instead of silently picking the first.
    pub fn external_id(&self) -> Option<&str> {
        let seat_id = if self.other_seats.is_empty() {
            self.seat.as_ref().and_then(|s| s.unique_user_id.as_deref())
        } else {
            None
        };
        seat_id
            .or(self.idp_id.as_deref())
            .filter(|v| !v.trim().is_empty())
    }

    /// The value to search `userName` for: the IdP's user name, else the email.
    pub fn user_name_value(&self) -> Option<&str> {
        self.user_name
            .as_deref()
            .or(self.email.as_deref())
            .filter(|v| !v.trim().is_empty())
    }

    pub fn email_value(&self) -> Option<&str> {
        self.email.as_deref().filter(|v| !v.trim().is_empty())
    }

    /// The value for one kind of lookup; `None` means that lookup is skipped.
    pub fn lookup_value(&self, kind: LookupKind) -> Option<&str> {
        match kind {
            LookupKind::StoredId => self.stored_scim_id.as_deref(),
            LookupKind::ExternalId => self.external_id(),
            LookupKind::UserName => self.user_name_value(),
            LookupKind::Email => self.email_value(),
        }
    }

    /// Records that `source` (a file's row) holds this user, with the rows merged into
    /// it (`duplicates`: merged-row counts by line). A row already recorded (the same
    /// file loaded again, e.g. the sources read again at every start of a dashboard on
    /// a workspace) is not recorded twice: the list grew by one copy per start.
    fn add_source(&mut self, source: &SourceRef, duplicates: &HashMap<u64, u32>) {
        if self.sources.contains(source) {
            return;
        }
        self.sources.push(source.clone());
        self.duplicate_rows += duplicates.get(&source.line).copied().unwrap_or(0);
    }

    /// Whether the user is protected from deprovisioning by the export (a Sales
    /// Navigator admin).
    pub fn is_admin(&self) -> bool {
        self.seat
            .iter()
            .chain(&self.other_seats)
            .any(|s| s.is_admin)
    }

    /// The seat's licence status as the Sales Navigator export wrote it (e.g.
    /// `Active`, `Pending`), if the user has a seat row.
    pub fn license_status(&self) -> Option<&str> {
        self.seat
            .as_ref()
            .and_then(|s| s.license_status.as_ref())
            .map(|l| l.as_str())
    }
}

/// The merged user list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    pub users: Vec<DirUser>,
    /// Whether any identity-provider file / Sales Navigator export was loaded.
    pub has_idp: bool,
    pub has_salesnav: bool,
    #[serde(skip)]
    by_key: HashMap<String, usize>,
}

impl Directory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges every imported file, in order.
    pub fn build(imports: &[Import], aliases: &DomainAliases) -> Self {
        let mut directory = Directory::new();
        for import in imports {
            directory.add_import(import, aliases);
        }
        directory
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    pub fn presence(&self, user: &DirUser) -> Presence {
        match (self.has_idp, self.has_salesnav) {
            (true, true) => match (user.in_idp, user.seat.is_some()) {
                (true, true) => Presence::Both,
                (false, true) => Presence::OrphanSeat,
                _ => Presence::Missing,
            },
            _ => Presence::Unknown,
        }
    }

    /// Adds one file's users; returns how many new users it brought.
    pub fn add_import(&mut self, import: &Import, aliases: &DomainAliases) -> usize {
        let before = self.users.len();
        let duplicates: HashMap<u64, u32> = import
            .duplicates
            .iter()
            .map(|d| (d.kept.line, d.merged_lines.len() as u32))
            .collect();
        match import.detection.format.kind() {
            FileKind::Idp => {
                self.has_idp = true;
                self.reserve(import.idp_users().len());
                for row in import.idp_users() {
                    let email = row.email.clone().or_else(|| {
                        // Entra UPNs and Okta logins are usually emails.
                        row.user_name.clone().filter(|u| u.contains('@'))
                    });
                    let idp_id = row.employee_id.clone().or(row.external_id.clone());
                    let Some(key) = key_for(email.as_deref(), idp_id.as_deref(), aliases) else {
                        continue;
                    };
                    let at = self.entry(key);
                    let user = &mut self.users[at];
                    user.in_idp = true;
                    fill(&mut user.email, email);
                    fill(&mut user.user_name, row.user_name.clone());
                    fill(&mut user.idp_id, idp_id);
                    fill(&mut user.first_name, row.first_name.clone());
                    fill(&mut user.last_name, row.last_name.clone());
                    fill(&mut user.display_name, row.display_name.clone());
                    if user.idp_enabled.is_none() {
                        user.idp_enabled = row.enabled;
                    }
                    user.add_source(&row.source, &duplicates);
                }
            }
            FileKind::SalesNavUsers => {
                self.has_salesnav = true;
                self.reserve(import.salesnav_users().len());
                for row in import.salesnav_users() {
                    let Some(key) =
                        key_for(row.email.as_deref(), row.unique_user_id.as_deref(), aliases)
                    else {
                        continue;
                    };
                    let at = self.entry(key);
                    let user = &mut self.users[at];
                    fill(&mut user.email, row.email.clone());
                    fill(&mut user.first_name, row.first_name.clone());
                    fill(&mut user.last_name, row.last_name.clone());
                    let seat = Seat {
                        license_status: row.license_status.clone(),
                        is_admin: row.is_admin,
                        seat_id: row.seat_id.clone(),
                        unique_user_id: row.unique_user_id.clone(),
                    };
                    match &user.seat {
                        None => user.seat = Some(seat),
                        Some(first) if *first != seat => user.other_seats.push(seat),
                        Some(_) => {}
                    }
                    user.add_source(&row.source, &duplicates);
                }
            }
            // Usage reports join to users later (Usage pane); they add no users.
            FileKind::Usage => {}
        }
        self.users.len() - before
    }

    /// Withdraws what the file `file` (of kind `kind`) brought, before a new version of
    /// it is added: its rows leave each user's sources; a user no other file of that
    /// kind names loses what only that kind gives (an identity-provider file: being in
    /// the IdP, the user name, the IdP id and the enabled flag, so that a changed
    /// identifier is taken from the new version; a Sales Navigator export: the seats).
    /// `kind_of(file)` names the kind of another file (`None`: unknown, counted as
    /// either kind, so nothing is withdrawn on a guess). Returns the users left with no
    /// source (ascending): the caller removes those the new version does not list.
    pub fn withdraw_file(
        &mut self,
        file: &str,
        kind: FileKind,
        kind_of: impl Fn(&str) -> Option<FileKind>,
    ) -> Vec<usize> {
        let mut left = Vec::new();
        for (i, user) in self.users.iter_mut().enumerate() {
            if !user.sources.iter().any(|s| s.file == file) {
                continue;
            }
            user.sources.retain(|s| s.file != file);
            let still = |k: FileKind| {
                user.sources
                    .iter()
                    .any(|s| kind_of(&s.file).is_none_or(|other| other == k))
            };
            match kind {
                FileKind::Idp if !still(FileKind::Idp) => {
                    user.in_idp = false;
                    user.user_name = None;
                    user.idp_id = None;
                    user.idp_enabled = None;
                    user.display_name = None;
                }
                FileKind::SalesNavUsers if !still(FileKind::SalesNavUsers) => {
                    user.seat = None;
                    user.other_seats.clear();
                }
                _ => {}
            }
            if user.sources.is_empty() {
                left.push(i);
            }
        }
        left
    }

    /// Room for `rows` more users (a file's rows: at most that many are new), so that
    /// a 100,000-row file does not grow the list and the key index step by step.
    fn reserve(&mut self, rows: usize) {
        self.users.reserve(rows);
        self.by_key.reserve(rows);
    }

    fn entry(&mut self, key: String) -> usize {
        if let Some(&at) = self.by_key.get(&key) {
            return at;
        }
        let at = self.users.len();
        self.users.push(DirUser {
            key: key.clone(),
            email: None,
            user_name: None,
            idp_id: None,
            first_name: None,
            last_name: None,
            display_name: None,
            in_idp: false,
            idp_enabled: None,
            seat: None,
            other_seats: Vec::new(),
            sources: Vec::new(),
            duplicate_rows: 0,
            stored_scim_id: None,
        });
        self.by_key.insert(key, at);
        at
    }

    /// Rebuilds the key index (after deserialising).
    pub fn reindex(&mut self) {
        self.by_key = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.key.clone(), i))
            .collect();
    }
}

fn key_for(email: Option<&str>, id: Option<&str>, aliases: &DomainAliases) -> Option<String> {
    match (email.filter(|e| !e.trim().is_empty()), id) {
        (Some(email), _) => Some(identity_key(email, aliases)),
        (None, Some(id)) if !id.trim().is_empty() => Some(format!("id:{}", id.trim())),
        _ => None,
    }
}

/// Keeps the first non-empty value seen.
fn fill(slot: &mut Option<String>, value: Option<String>) {
    if slot.as_deref().is_none_or(|s| s.trim().is_empty()) {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            *slot = Some(v);
        }
    }
}

/// The ways navscim looks a user up, in the default precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKind {
    /// `GET /Users/{id}` with a SCIM id known beforehand.
    StoredId,
    ExternalId,
    UserName,
    Email,
}

impl LookupKind {
    pub const DEFAULT_PRECEDENCE: [LookupKind; 4] = [
        LookupKind::StoredId,
        LookupKind::ExternalId,
        LookupKind::UserName,
        LookupKind::Email,
    ];

    pub fn label(self) -> &'static str {
        match self {
            LookupKind::StoredId => "stored id",
            LookupKind::ExternalId => "externalId",
            LookupKind::UserName => "userName",
            LookupKind::Email => "emails.value",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LookupKind::StoredId => "stored_id",
            LookupKind::ExternalId => "external_id",
            LookupKind::UserName => "user_name",
            LookupKind::Email => "email",
        }
    }

    pub fn from_name(s: &str) -> Option<LookupKind> {
        LookupKind::DEFAULT_PRECEDENCE
            .into_iter()
            .find(|k| k.name() == s.trim() || k.label().eq_ignore_ascii_case(s.trim()))
    }

    /// The filter attribute, for the filtered kinds.
    pub fn filter_attr(self) -> Option<FilterAttr> {
        match self {
            LookupKind::StoredId => None,
            LookupKind::ExternalId => Some(FilterAttr::ExternalId),
            LookupKind::UserName => Some(FilterAttr::UserName),
            LookupKind::Email => Some(FilterAttr::Email),
        }
    }
}

/// Where a user stands. `Pending` and `LookingUp` are transient; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    Pending,
    LookingUp,
    /// Exactly one exact hit.
    Matched {
        active: bool,
    },
    NotFound,
    /// Several exact hits: every candidate is kept.
    Ambiguous,
    /// A SCIM user was found, but an identifier contradicts it (another userName or
    /// email, another externalId), or another source user resolved to the same SCIM
    /// user, or one seat id names different people. Both identities are shown side by
    /// side with why ([`LookupOutcome::error`]); never a plan target until the admin
    /// resolves it (link by hand, ignore).
    Conflict,
    Error,
    Ignored,
}

impl MatchStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, MatchStatus::Pending | MatchStatus::LookingUp)
    }

    /// The stable name used in JSON/CSV output.
    pub fn name(self) -> &'static str {
        match self {
            MatchStatus::Pending => "pending",
            MatchStatus::LookingUp => "looking_up",
            MatchStatus::Matched { .. } => "matched",
            MatchStatus::NotFound => "not_found",
            MatchStatus::Ambiguous => "ambiguous",
            MatchStatus::Conflict => "conflict",
            MatchStatus::Error => "error",
            MatchStatus::Ignored => "ignored",
        }
    }

    /// The status named `name` ([`MatchStatus::name`]); `active` completes `matched`
    /// (absent: active, as RFC 7643 reads a missing `active`).
    pub fn from_name(name: &str, active: Option<bool>) -> Option<MatchStatus> {
        Some(match name {
            "pending" => MatchStatus::Pending,
            "looking_up" => MatchStatus::LookingUp,
            "matched" => MatchStatus::Matched {
                active: active.unwrap_or(true),
            },
            "not_found" => MatchStatus::NotFound,
            "ambiguous" => MatchStatus::Ambiguous,
            "conflict" => MatchStatus::Conflict,
            "error" => MatchStatus::Error,
            "ignored" => MatchStatus::Ignored,
            _ => return None,
        })
    }

    /// Short words for the table.
    pub fn label(self) -> &'static str {
        match self {
            MatchStatus::Pending => "pending",
            MatchStatus::LookingUp => "looking up",
            MatchStatus::Matched { active: true } => "active",
            MatchStatus::Matched { active: false } => "inactive",
            MatchStatus::NotFound => "not found",
            MatchStatus::Ambiguous => "ambiguous",
            MatchStatus::Conflict => "conflict",
            MatchStatus::Error => "error",
            MatchStatus::Ignored => "ignored",
        }
    }
}

/// What one lookup request returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum AttemptResult {
    /// Exact hits (after navscim's own exact comparison).
    Hits(usize),
    NotFound,
    /// The server rejected this kind of lookup as unsupported.
    Unsupported(String),
    Error(String),
    /// Not sent: the value is empty, or the kind was already found unsupported.
    Skipped(String),
}

/// One lookup tried for a user, for the details view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub kind: LookupKind,
    pub value: String,
    /// The request as sent, e.g. `GET /Users?filter=userName eq "a@b.c"` (never the token).
    pub request: String,
    pub result: AttemptResult,
    /// Requests sent for this attempt, retries included.
    pub requests: u32,
}

/// The result of looking one user up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupOutcome {
    pub status: MatchStatus,
    pub matched_by: Option<LookupKind>,
    /// The matched SCIM resource; for a `conflict`, the SCIM user the source user was
    /// resolved to (or that an identifier found), shown next to the source identity.
    pub user: Option<ScimUser>,
    /// Every candidate when ambiguous.
    pub candidates: Vec<ScimUser>,
    pub attempts: Vec<Attempt>,
    /// The last error, when the status is `Error`; why, when it is `Conflict`
    /// (reasons joined by `; `).
    pub error: Option<String>,
    /// E.g. the externalId differs from the identity provider's.
    pub warnings: Vec<String>,
}

impl LookupOutcome {
    pub fn scim_id(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u.id.as_deref())
    }

    /// Turns a match (or a not-found, for `also_not_found`) into a `conflict`, adding
    /// `why` once. Other statuses are left alone. Returns whether it changed anything.
    pub fn mark_conflict(&mut self, why: &str, also_not_found: bool) -> bool {
        mark_conflict(&mut self.status, &mut self.error, why, also_not_found)
    }
}

/// [`LookupOutcome::mark_conflict`] on a status and its error (the reasons, joined by
/// `; `), shared with [`OutcomeSummary::mark_conflict`].
fn mark_conflict(
    status: &mut MatchStatus,
    error: &mut Option<String>,
    why: &str,
    also_not_found: bool,
) -> bool {
    let eligible = match *status {
        MatchStatus::Matched { .. } | MatchStatus::Conflict => true,
        MatchStatus::NotFound => also_not_found,
        _ => false,
    };
    if !eligible {
        return false;
    }
    let already = error
        .as_deref()
        .is_some_and(|e| e.split("; ").any(|r| r == why));
    if already && *status == MatchStatus::Conflict {
        return false;
    }
    *status = MatchStatus::Conflict;
    if !already {
        *error = Some(match error.take().filter(|e| !e.is_empty()) {
            Some(e) => format!("{e}; {why}"),
            None => why.to_string(),
        });
    }
    true
}

/// What the dashboard keeps in memory of a user's latest lookup outcome: what the
/// Users table, the plans (status, SCIM identity, `meta.created` for the grace period),
/// the usage join and the cross-user conflict checks read. The rest (the SCIM
/// resource's other attributes, each attempt's request, the candidates) stays in the
/// workspace and is read when the user's details are shown: about 0.3 KB a user
/// instead of 2.5 KB (issue 11's reopen target). Stored in plain columns of the
/// workspace's `outcomes` table (schema v3), so reopening parses no JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeSummary {
    pub status: MatchStatus,
    /// How the user was found (matched users).
    pub matched_by: Option<LookupKind>,
    /// The SCIM user matched (for a `conflict`, the one the user was resolved to): the
    /// identity a plan records and apply re-verifies. `None` without a SCIM id.
    pub scim: Option<crate::plan::TargetIdentity>,
    /// The SCIM user's `meta.created` date (RFC 7643 section 3.1).
    pub created: Option<chrono::NaiveDate>,
    /// The last error (`error`), or why (`conflict`, reasons joined by `; `).
    pub error: Option<String>,
    /// The Users table's one-line explanation ([`OutcomeSummary::detail_of`]).
    pub detail: String,
}

impl OutcomeSummary {
    /// The summary of a full outcome.
    pub fn of(outcome: &LookupOutcome) -> OutcomeSummary {
        let user = outcome.user.as_ref();
        OutcomeSummary {
            status: outcome.status,
            matched_by: outcome.matched_by,
            scim: user.and_then(crate::plan::TargetIdentity::of),
            created: user.and_then(crate::plan::scim_created),
            error: outcome.error.clone(),
            detail: Self::detail_of(outcome),
        }
    }

    /// The matched SCIM user's id.
    pub fn scim_id(&self) -> Option<&str> {
        self.scim.as_ref().map(|s| s.id.as_str())
    }

    /// As [`LookupOutcome::mark_conflict`]; the detail follows.
    pub fn mark_conflict(&mut self, why: &str, also_not_found: bool) -> bool {
        let changed = mark_conflict(&mut self.status, &mut self.error, why, also_not_found);
        if changed {
            self.detail = conflict_detail(self.error.as_deref());
        }
        changed
    }

    /// The one-line explanation of an outcome: its first warning (but for a conflict),
    /// how a match was found, the number of candidates, the error, or what a not-found
    /// lookup tried.
    pub fn detail_of(outcome: &LookupOutcome) -> String {
        if let Some(w) = outcome
            .warnings
            .first()
            .filter(|_| outcome.status != MatchStatus::Conflict)
        {
            return w.clone();
        }
        match outcome.status {
            MatchStatus::Matched { .. } => outcome
                .matched_by
                .map(|k| format!("by {}", k.label()))
                .unwrap_or_default(),
            MatchStatus::Ambiguous => format!("{} candidates", outcome.candidates.len()),
            MatchStatus::Error => outcome.error.clone().unwrap_or_default(),
            MatchStatus::Conflict => conflict_detail(outcome.error.as_deref()),
            MatchStatus::NotFound => {
                let tried: Vec<&str> = outcome
                    .attempts
                    .iter()
                    .filter(|a| !matches!(a.result, AttemptResult::Skipped(_)))
                    .map(|a| a.kind.label())
                    .collect();
                format!("tried {}", tried.join(", "))
            }
            _ => String::new(),
        }
    }
}

fn conflict_detail(error: Option<&str>) -> String {
    format!("conflict: {}", error.unwrap_or("identities disagree"))
}

/// The email-like identifiers of a source user (email, and a user name that is an
/// email), as identity keys (normalised, domain aliases applied).
fn source_email_keys(user: &DirUser, aliases: &DomainAliases) -> Vec<String> {
    let mut keys: Vec<String> = [user.email.as_deref(), user.user_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|e| e.contains('@'))
        .map(|e| identity_key(e, aliases))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The email-like identifiers of a SCIM user (userName if an email, every
/// `emails.value`), as identity keys.
pub fn scim_email_keys(scim: &ScimUser, aliases: &DomainAliases) -> Vec<String> {
    let mut keys: Vec<String> = std::iter::once(scim.user_name.as_str())
        .chain(scim.emails.iter().map(|e| e.value.as_str()))
        .filter(|e| e.contains('@'))
        .map(|e| identity_key(e, aliases))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Why `scim` cannot be `user`: each identifier both carry must agree (DESIGN.md
/// section 8, "a match is a claim to verify"). Empty when nothing contradicts.
///
/// - Emails: the source's email and email-like user name against the SCIM userName
///   and `emails.value`, as identity keys (trimmed, invisible characters removed,
///   lower-cased, domain aliases applied). They agree when the two sets share one
///   value (an Entra UPN may differ from the mail address); when both sides carry
///   some and none is shared, the SCIM user is someone else.
/// - externalId: the source's ([`DirUser::external_id`]: the Sales Navigator seat's
///   `unique_user_id`, else the identity provider's id) against the SCIM `externalId`,
///   exactly (trimmed). A loss of leading zeros (`00123` → `123`, what Excel does) is
///   named as such, and is still a contradiction: `123` may be a colleague's id.
pub fn contradictions(user: &DirUser, scim: &ScimUser, aliases: &DomainAliases) -> Vec<String> {
    let mut why = Vec::new();
    let ours = source_email_keys(user, aliases);
    let theirs = scim_email_keys(scim, aliases);
    if !ours.is_empty() && !theirs.is_empty() && !ours.iter().any(|k| theirs.contains(k)) {
        why.push(format!(
            "the SCIM user's userName/emails ({}) are not the export's ({})",
            theirs.join(", "),
            ours.join(", ")
        ));
    }
    if let (Some(ext), Some(scim_ext)) = (
        user.external_id().map(str::trim).filter(|e| !e.is_empty()),
        scim.external_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty()),
    ) {
        if ext != scim_ext {
            let zeros = ext.trim_start_matches('0') == scim_ext.trim_start_matches('0');
            why.push(format!(
                "the SCIM user's externalId {scim_ext:?} is not the export's {ext:?}{}",
                if zeros {
                    " (leading zeros lost, e.g. by Excel?)"
                } else {
                    ""
                }
            ));
        }
    }
    why
}

/// Conflicts that show only across users (DESIGN.md section 8):
///
/// - two or more source users resolved to one SCIM user (matched, or already in
///   conflict with a SCIM user): each is a conflict, "same SCIM user as …";
/// - one Sales Navigator seat id on rows of different people: each is a conflict,
///   "seat id … also names …".
///
/// `outcome_of(i)` gives the status and SCIM id of `directory.users[i]`'s outcome, if
/// looked up. Returns,
/// per user index, the reasons to add with [`LookupOutcome::mark_conflict`] (seat
/// conflicts apply to not-found users too: the second bool).
pub fn cross_conflicts<'a>(
    directory: &Directory,
    outcome_of: impl Fn(usize) -> Option<(MatchStatus, Option<&'a str>)>,
) -> Vec<(usize, String, bool)> {
    let mut out = Vec::new();
    let label = |i: usize| {
        let u = &directory.users[i];
        let who = u
            .email
            .clone()
            .or_else(|| u.user_name.clone())
            .unwrap_or_else(|| u.key.clone());
        match u.sources.first() {
            Some(s) => format!("{who} ({s})"),
            None => who,
        }
    };
    let mut by_scim: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in 0..directory.users.len() {
        let Some((status, scim_id)) = outcome_of(i) else {
            continue;
        };
        if !matches!(status, MatchStatus::Matched { .. } | MatchStatus::Conflict) {
            continue;
        }
        if let Some(id) = scim_id {
            by_scim.entry(id).or_default().push(i);
        }
    }
    // Each user of a group of two or more gets a reason naming the others.
    let mut flag_groups =
        |groups: &HashMap<&str, Vec<usize>>, reason: &dyn Fn(&str, &str) -> String, seat: bool| {
            for (key, users) in groups {
                if users.len() < 2 {
                    continue;
                }
                for &i in users {
                    let others: Vec<String> = users
                        .iter()
                        .filter(|&&j| j != i)
                        .map(|&j| label(j))
                        .collect();
                    out.push((i, reason(key, &others.join(", ")), seat));
                }
            }
        };
    flag_groups(
        &by_scim,
        &|id, others| format!("same SCIM user {id:?} as {others}"),
        false,
    );
    let mut by_seat: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, u) in directory.users.iter().enumerate() {
        for seat in u.seat.iter().chain(&u.other_seats) {
            if let Some(sid) = seat
                .seat_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                let v = by_seat.entry(sid).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
        }
    }
    flag_groups(
        &by_seat,
        &|sid, others| format!("seat id {sid:?} also names {others}"),
        true,
    );
    out.sort();
    out
}

/// The warning when the matched user's externalId differs from the IdP's id: Sales
/// Navigator and LinkedIn Learning must share unique identifiers.
pub fn external_id_warning(user: &DirUser, scim: &ScimUser) -> Option<String> {
    let idp = user.idp_id.as_deref()?.trim();
    let scim_ext = scim.external_id.as_deref().unwrap_or("").trim();
    if idp.is_empty() || idp == scim_ext {
        return None;
    }
    Some(if scim_ext.is_empty() {
        format!("SCIM user has no externalId; the identity provider's id is {idp:?}")
    } else {
        format!(
            "externalId {scim_ext:?} differs from the identity provider's id {idp:?} \
             (Sales Navigator and LinkedIn Learning must use the same identifiers)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{import_str, ImportOptions};

    fn import(name: &str, text: &str) -> Import {
        import_str(name, text, &ImportOptions::default()).unwrap()
    }

    const SN: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
        Ann.Lee@corp.example,Ann,Lee,E1,S1,ACTIVE,,NONE,\n\
        bob@corp-example.co.uk,Bob,Ray,E2,S2,ACTIVE,,FULL_ADMIN,\n\
        gone@corp.example,Gone,Away,E9,S9,ACTIVE,,NONE,\n";
    const IDP: &str = "Username,Email,First Name,Last Name,Employee Number\n\
        ann.lee@corp.example,ann.lee@corp.example,Ann,Lee,E1\n\
        bob@corp.example,bob@corp.example,Bob,Ray,E2\n\
        new@corp.example,new@corp.example,New,Hire,E7\n";

    #[test]
    fn merges_by_normalised_email_with_domain_aliases() {
        let aliases = DomainAliases::parse("corp-example.co.uk=corp.example").unwrap();
        let dir = Directory::build(&[import("idp.csv", IDP), import("sn.csv", SN)], &aliases);
        assert_eq!(dir.len(), 4, "{:#?}", dir.users);
        let ann = &dir.users[dir.index_of("ann.lee@corp.example").unwrap()];
        assert_eq!(dir.presence(ann), Presence::Both);
        assert_eq!(ann.sources.len(), 2);
        assert_eq!(ann.sources[0].file, "idp.csv");
        assert_eq!(
            ann.sources[1],
            SourceRef {
                file: "sn.csv".into(),
                line: 2
            }
        );
        let bob = &dir.users[dir.index_of("bob@corp.example").unwrap()];
        assert_eq!(dir.presence(bob), Presence::Both, "alias domain merged");
        assert!(bob.is_admin());
        let gone = &dir.users[dir.index_of("gone@corp.example").unwrap()];
        assert_eq!(dir.presence(gone), Presence::OrphanSeat);
        let new = &dir.users[dir.index_of("new@corp.example").unwrap()];
        assert_eq!(dir.presence(new), Presence::Missing);
    }

    /// The same files merged again (the dashboard reads its sources again at every
    /// start on a workspace) add no second copy of each row: `navscim demo
    /// --workspace` showed every source row three times after three starts.
    #[test]
    fn a_file_merged_again_adds_no_second_copy_of_its_rows() {
        let aliases = DomainAliases::default();
        let dup = format!("{IDP}bob@corp.example,bob@corp.example,Bob,Ray,E2\n");
        let files = [import("idp.csv", &dup), import("sn.csv", SN)];
        let mut dir = Directory::build(&files, &aliases);
        let once = dir.clone();
        for file in &files {
            assert_eq!(dir.add_import(file, &aliases), 0, "no new user");
        }
        let bob = &dir.users[dir.index_of("bob@corp.example").unwrap()];
        assert_eq!(bob.duplicate_rows, 1, "{bob:#?}");
        assert_eq!(dir.users, once.users);
    }

    #[test]
    fn without_aliases_other_domains_stay_apart() {
        let dir = Directory::build(
            &[import("idp.csv", IDP), import("sn.csv", SN)],
            &DomainAliases::default(),
        );
        assert_eq!(dir.len(), 5);
    }

    #[test]
    fn presence_is_unknown_with_one_kind_of_file() {
        let dir = Directory::build(&[import("sn.csv", SN)], &DomainAliases::default());
        assert!(dir
            .users
            .iter()
            .all(|u| dir.presence(u) == Presence::Unknown));
    }

    #[test]
    fn lookup_values_prefer_what_sales_navigator_holds() {
        let dir = Directory::build(
            &[import("idp.csv", IDP), import("sn.csv", SN)],
            &DomainAliases::default(),
        );
        let ann = &dir.users[dir.index_of("ann.lee@corp.example").unwrap()];
        assert_eq!(ann.lookup_value(LookupKind::ExternalId), Some("E1"));
        assert_eq!(
            ann.lookup_value(LookupKind::UserName),
            Some("ann.lee@corp.example")
        );
        assert_eq!(ann.lookup_value(LookupKind::StoredId), None);
    }

    #[test]
    fn two_seats_for_one_identity_do_not_pick_one_by_id() {
        let sn = format!("{SN}ann.lee@corp.example,Ann,Lee,E1-B,S7,ACTIVE,,NONE,\n");
        let dir = Directory::build(
            &[import("idp.csv", IDP), import("sn.csv", &sn)],
            &DomainAliases::default(),
        );
        let ann = &dir.users[dir.index_of("ann.lee@corp.example").unwrap()];
        assert_eq!(ann.other_seats.len(), 1);
        // The IdP's employee number is still a fine key; the seats' ids are not.
        assert_eq!(ann.external_id(), None.or(ann.idp_id.as_deref()));
        assert_eq!(ann.sources.len(), 3);
    }

    #[test]
    fn bad_alias_spec_is_explained() {
        assert!(DomainAliases::parse("nodomain")
            .unwrap_err()
            .contains("alias=canonical"));
        assert!(DomainAliases::parse("").unwrap().map.is_empty());
    }
}
