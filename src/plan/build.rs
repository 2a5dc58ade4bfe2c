//! Building plans: deprovision (idle and never-activated seats), reactivate and
//! provision (users the admin selects). One implementation for the Actions pane and
//! `navscim plan`; no clock and no I/O here — the date to judge by and the creation
//! time are parameters.
//!
//! The users a plan is drawn from are [`PlanCandidate`]s, made either from lookup
//! result rows ([`crate::report::UserReport`], through [`PlanCandidate::from_report`]
//! and [`read_lookup_results`]) or from the Users pane's state
//! ([`PlanCandidate::from_directory`]).
//!
//! **Deprovision** ([`build_deprovision_plan`]): each candidate gets the first reason
//! that applies, in this order:
//!
//! 1. on the protected list → `protected`
//! 2. a Sales Navigator admin (from the export) → `admin`
//! 3. marked ignored → `ignored`
//! 4. not matched to exactly one SCIM user (not found, ambiguous, error, pending) →
//!    `not_matched`
//! 5. matched but already inactive → `already_inactive`
//! 6. provisioned within the grace period → `recently_provisioned`. The evidence is the
//!    date the SCIM resource was created (`meta.created`): from the lookup outcome in
//!    the TUI, from a `scim_created` field in lookup results (date or RFC 3339 time).
//!    The usage report carries no licence-assigned date. Without a creation date the
//!    rule cannot apply; the plan's parameters say how many candidates had one.
//! 7. no usage row joined → `no_usage`
//! 8. never activated, unless included (`--include-never-activated`) → `never_activated`
//! 9. not idle for more than the threshold, or the report cannot tell →
//!    `not_idle`. These are the bulk of the users, so they are **counted** in
//!    `parameters.counts.not_idle`, not listed, unless `list_not_idle` is set; users
//!    whose idleness the report cannot establish are always listed.
//!
//! Everyone else becomes a `deactivate` operation with the reason in words and the
//! usage figures as evidence. Operations are ordered most idle first (never-activated
//! users first of all), then by email; exclusions by reason, then email.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    Evidence, Exclusion, ExclusionReason, OpKind, Operation, Plan, PlanInput, TargetIdentity,
};
use super::{ProtectedUsers, PLAN_VERSION};
use crate::import::{normalize_email, ReportPeriod, SourceRef, UsageRow};
use crate::matching::{identity_key, DirUser, DomainAliases, MatchStatus, OutcomeSummary};
use crate::report::UserReport;
use crate::scim::{NewUser, ScimUser};
use crate::usage::{self, Activity, JoinTarget, UsageJoin};

/// One user a plan may be drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanCandidate {
    pub email: Option<String>,
    pub user_name: Option<String>,
    /// The identity provider's id (what a created user's `externalId` becomes).
    pub external_id: Option<String>,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: MatchStatus,
    pub scim_id: Option<String>,
    pub is_admin: bool,
    pub license_status: Option<String>,
    /// When the SCIM user was created (`meta.created`), for the grace period.
    pub provisioned_on: Option<NaiveDate>,
    /// Where the user came from (export file:line).
    pub sources: Vec<SourceRef>,
    /// The SCIM user the lookup resolved this user to (matched or in conflict): what
    /// an operation records as its target and re-verifies, and what protection
    /// follows (DESIGN.md section 8).
    #[serde(default)]
    pub scim: Option<TargetIdentity>,
}

impl PlanCandidate {
    /// From a lookup result row (`navscim lookup --out`, the Users pane's export, or
    /// either read back by [`read_lookup_results`]). The creation date comes from
    /// `scim_created` (a date or an RFC 3339 time).
    pub fn from_report(r: &UserReport) -> Result<Self, String> {
        let provisioned_on = match r.scim_created.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(parse_date_or_time(s).ok_or_else(|| {
                format!("scim_created {s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time")
            })?),
            None => None,
        };
        Ok(PlanCandidate {
            email: r.email.clone(),
            user_name: r.user_name.clone(),
            external_id: r.external_id.clone(),
            name: r.name.clone(),
            first_name: None,
            last_name: None,
            status: parse_status(&r.status, r.active)?,
            scim_id: r.scim_id.clone(),
            is_admin: r.is_admin,
            license_status: r.license_status.clone(),
            provisioned_on,
            sources: r.sources.clone(),
            scim: r
                .scim_id
                .clone()
                .filter(|i| !i.trim().is_empty())
                .map(|id| TargetIdentity {
                    id,
                    user_name: r.scim_user_name.clone().filter(|u| !u.trim().is_empty()),
                    external_id: r.scim_external_id.clone().filter(|e| !e.trim().is_empty()),
                    email: r.scim_emails.first().cloned(),
                    emails: r.scim_emails.clone(),
                }),
        })
    }

    /// From the Users pane: a directory user and what is kept of their lookup outcome
    /// (the creation date is the matched SCIM resource's `meta.created`).
    pub fn from_directory(user: &DirUser, outcome: Option<&OutcomeSummary>, ignored: bool) -> Self {
        let status = if ignored {
            MatchStatus::Ignored
        } else {
            outcome.map(|o| o.status).unwrap_or(MatchStatus::Pending)
        };
        let scim = outcome.and_then(|o| o.scim.as_ref());
        PlanCandidate {
            email: user.email.clone(),
            user_name: user.user_name.clone(),
            external_id: user.external_id().map(Into::into),
            name: user.name(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            status,
            scim_id: scim.map(|s| s.id.clone()),
            is_admin: user.is_admin(),
            license_status: user.license_status().map(str::to_string),
            provisioned_on: scim.and(outcome.and_then(|o| o.created)),
            sources: user.sources.clone(),
            scim: scim.cloned(),
        }
    }

    /// The identities usage rows join by.
    pub fn join_target(&self) -> JoinTarget {
        let name = match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            _ => Some(self.name.clone()),
        };
        JoinTarget::new(
            self.email.as_deref(),
            self.user_name.as_deref(),
            name.as_deref(),
        )
    }

    /// Normalised identity keys (email and email-like user name, aliases applied).
    pub fn keys(&self, aliases: &DomainAliases) -> Vec<String> {
        let mut keys: Vec<String> = [self.email.as_deref(), self.user_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|e| e.contains('@'))
            .map(|e| identity_key(e, aliases))
            .collect();
        keys.dedup();
        keys
    }

    fn exclusion(&self, why: ExclusionReason, detail: impl Into<String>) -> Exclusion {
        Exclusion {
            email: self.email.clone().or_else(|| self.user_name.clone()),
            scim_id: self.scim_id.clone(),
            name: self.name.clone(),
            why,
            detail: detail.into(),
        }
    }

    fn operation(&self, op: OpKind, reason: String, mut evidence: Evidence) -> Operation {
        evidence.target = self
            .scim
            .clone()
            .filter(|t| Some(t.id.as_str()) == self.scim_id.as_deref());
        Operation {
            op,
            scim_id: self.scim_id.clone(),
            email: self.email.clone().or_else(|| self.user_name.clone()),
            user_name: self.user_name.clone(),
            external_id: self.external_id.clone(),
            name: self.name.clone(),
            reason,
            evidence,
            new_user: None,
        }
    }

    /// What `POST /Users` sends for this user (`None` without a user name or email).
    pub fn new_user(&self) -> Option<NewUser> {
        let user_name = self
            .user_name
            .clone()
            .or_else(|| self.email.clone())
            .filter(|u| !u.trim().is_empty())?;
        let (given, family) = match (&self.first_name, &self.last_name) {
            (None, None) => split_name(&self.name),
            (f, l) => (f.clone(), l.clone()),
        };
        Some(NewUser {
            user_name: user_name.trim().to_string(),
            external_id: self.external_id.clone().filter(|e| !e.trim().is_empty()),
            given_name: given,
            family_name: family,
            email: self.email.clone().filter(|e| e.contains('@')),
        })
    }
}

/// "Ann Lee" → (Ann, Lee); "Ann van der Berg" → (Ann, van der Berg); an email or a
/// blank name gives nothing.
fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let name = name.trim();
    if name.is_empty() || name.contains('@') {
        return (None, None);
    }
    match name.split_once(char::is_whitespace) {
        Some((f, l)) => (Some(f.to_string()), Some(l.trim().to_string())),
        None => (Some(name.to_string()), None),
    }
}

/// Parses a lookup result's `status` (and `active`; RFC 7643: absent means active).
pub fn parse_status(status: &str, active: Option<bool>) -> Result<MatchStatus, String> {
    MatchStatus::from_name(status.trim(), active).ok_or_else(|| {
        format!(
            "unknown status {:?} (expected matched, not_found, ambiguous, conflict, error, ignored or pending)",
            status.trim()
        )
    })
}

/// The creation date of a SCIM resource (`meta.created`), if it states one.
pub fn scim_created(user: &ScimUser) -> Option<NaiveDate> {
    let created = user.extra.get("meta")?.get("created")?.as_str()?;
    parse_date_or_time(created)
}

/// `YYYY-MM-DD` or an RFC 3339 time (its UTC date).
pub fn parse_date_or_time(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    s.parse::<NaiveDate>().ok().or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc).date_naive())
    })
}

/// Reads lookup results: a JSON array of [`UserReport`] rows, as `navscim lookup --out
/// results.json` and the Users pane's export write them. Errors name the file and the
/// user.
pub fn read_lookup_results(file: &str, text: &str) -> Result<Vec<PlanCandidate>, String> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        format!(
            "{file}:{}: not lookup results (a JSON array of users, as `navscim lookup --out results.json` writes): {e}",
            e.line()
        )
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, value) in rows.into_iter().enumerate() {
        let row: UserReport =
            serde_json::from_value(value).map_err(|e| format!("{file}: user #{} : {e}", i + 1))?;
        let who = row
            .email
            .as_deref()
            .or(row.user_name.as_deref())
            .unwrap_or(&row.name);
        out.push(
            PlanCandidate::from_report(&row)
                .map_err(|e| format!("{file}: user #{} ({who}): {e}", i + 1))?,
        );
    }
    Ok(out)
}

/// The usage report and its join to the candidates (`join.links[i]` is candidate `i`).
#[derive(Debug, Clone, Copy)]
pub struct UsageData<'a> {
    pub rows: &'a [UsageRow],
    pub period: Option<&'a ReportPeriod>,
    pub join: &'a UsageJoin,
}

/// Joins usage rows to candidates (see [`crate::usage::join_usage`]).
pub fn join_candidates(
    candidates: &[PlanCandidate],
    rows: &[UsageRow],
    aliases: &DomainAliases,
) -> UsageJoin {
    let targets: Vec<JoinTarget> = candidates.iter().map(PlanCandidate::join_target).collect();
    usage::join_usage(&targets, rows, aliases)
}

/// The options of a deprovision plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeprovisionParams {
    /// Idle for more than this many days (presets 30/60/90, default 90).
    pub idle_days: u32,
    /// Users provisioned less than this many days ago are left alone (default 30).
    pub grace_days: u32,
    /// Deactivate never-activated users too.
    pub include_never_activated: bool,
    /// List the users below the threshold in `excluded` (else only counted).
    pub list_not_idle: bool,
}

impl Default for DeprovisionParams {
    fn default() -> Self {
        DeprovisionParams {
            idle_days: usage::DEFAULT_IDLE_DAYS,
            grace_days: usage::DEFAULT_GRACE_DAYS,
            include_never_activated: false,
            list_not_idle: false,
        }
    }
}

/// When and from what a plan is made.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanContext {
    /// The date idle days and the grace period are measured to.
    pub as_of: NaiveDate,
    /// Where `as_of` came from, in words (see [`crate::usage::default_as_of`]).
    pub as_of_source: String,
    /// The plan's `created_at`.
    pub created_at: DateTime<Utc>,
    pub inputs: Vec<PlanInput>,
}

fn exclusion_order(why: ExclusionReason) -> u8 {
    match why {
        ExclusionReason::Protected => 0,
        ExclusionReason::Admin => 1,
        ExclusionReason::Ignored => 2,
        ExclusionReason::NotMatched => 3,
        ExclusionReason::AlreadyInactive => 4,
        ExclusionReason::AlreadyActive => 5,
        ExclusionReason::RecentlyProvisioned => 6,
        ExclusionReason::NoUsage => 7,
        ExclusionReason::NeverActivated => 8,
        ExclusionReason::NotIdle => 9,
    }
}

/// The stable snake_case name of an exclusion reason (as in the plan JSON).
pub fn exclusion_name(why: ExclusionReason) -> &'static str {
    match why {
        ExclusionReason::Protected => "protected",
        ExclusionReason::Admin => "admin",
        ExclusionReason::RecentlyProvisioned => "recently_provisioned",
        ExclusionReason::NotMatched => "not_matched",
        ExclusionReason::AlreadyInactive => "already_inactive",
        ExclusionReason::AlreadyActive => "already_active",
        ExclusionReason::Ignored => "ignored",
        ExclusionReason::NotIdle => "not_idle",
        ExclusionReason::NoUsage => "no_usage",
        ExclusionReason::NeverActivated => "never_activated",
    }
}

/// Every exclusion reason, in the order plans list them.
pub const EXCLUSION_REASONS: [ExclusionReason; 10] = [
    ExclusionReason::Protected,
    ExclusionReason::Admin,
    ExclusionReason::Ignored,
    ExclusionReason::NotMatched,
    ExclusionReason::AlreadyInactive,
    ExclusionReason::AlreadyActive,
    ExclusionReason::RecentlyProvisioned,
    ExclusionReason::NoUsage,
    ExclusionReason::NeverActivated,
    ExclusionReason::NotIdle,
];

fn not_matched_detail(status: MatchStatus) -> String {
    match status {
        MatchStatus::NotFound => "not found over SCIM".into(),
        MatchStatus::Ambiguous => "several SCIM users match".into(),
        MatchStatus::Conflict => {
            "conflict: the SCIM user found is contradicted by another identifier, or shared \
             with another user (resolve it first: link by hand or ignore)"
                .into()
        }
        MatchStatus::Error => "the lookup failed".into(),
        MatchStatus::Pending | MatchStatus::LookingUp => "not looked up".into(),
        other => other.label().to_string(),
    }
}

/// The protected emails as sorted identity keys (aliases applied), for binary search.
fn protected_keys(protected: &ProtectedUsers, aliases: &DomainAliases) -> Vec<String> {
    let mut keys: Vec<String> = protected
        .emails
        .iter()
        .map(|e| identity_key(e, aliases))
        .collect();
    keys.sort();
    keys
}

/// Whether `c` is on the protected list: by SCIM id, or by any of its emails and user
/// names (normalised, or as identity keys with the domain aliases applied). Each value
/// is normalised once; with an empty list nothing is computed.
fn is_protected(
    c: &PlanCandidate,
    protected: &ProtectedUsers,
    protected_keys: &[String],
    aliases: &DomainAliases,
) -> bool {
    let scim = c.scim.as_ref();
    if !protected.scim_ids.is_empty()
        && c.scim_id
            .as_deref()
            .into_iter()
            .chain(scim.map(|t| t.id.as_str()))
            .any(|id| protected.scim_ids.contains(id.trim()))
    {
        return true;
    }
    if protected.emails.is_empty() {
        // `protected_keys` are made from the emails: empty too.
        return false;
    }
    // The candidate's own identity keys (`PlanCandidate::keys`: email and email-like
    // user name) are among the identity keys checked here.
    [c.email.as_deref(), c.user_name.as_deref()]
        .into_iter()
        .chain(scim.map(|t| t.user_name.as_deref()))
        .flatten()
        .chain(
            scim.into_iter()
                .flat_map(|t| t.emails.iter().map(String::as_str)),
        )
        .any(|e| {
            let normal = normalize_email(e);
            protected.emails.contains(&normal)
                || (e.contains('@')
                    && protected_keys
                        .binary_search(&aliases.canonical_owned(normal))
                        .is_ok())
        })
}

/// The users a plan is drawn from, read one at a time: a slice of [`PlanCandidate`]s,
/// or a source that makes each candidate when asked (the Users pane's rows), so that
/// counting what a plan would do over 100,000 users never holds them all at once.
pub trait CandidateSource {
    /// How many candidates (indices `0..count()`).
    fn count(&self) -> usize;
    /// Candidate `i` (`i < count()`).
    fn candidate(&self, i: usize) -> Cow<'_, PlanCandidate>;
    /// Whether candidate `i` is a Sales Navigator admin; must equal
    /// `candidate(i).is_admin` (a source may answer without making the candidate).
    fn is_admin(&self, i: usize) -> bool {
        self.candidate(i).is_admin
    }
}

impl CandidateSource for [PlanCandidate] {
    fn count(&self) -> usize {
        self.len()
    }
    fn candidate(&self, i: usize) -> Cow<'_, PlanCandidate> {
        Cow::Borrowed(&self[i])
    }
}

/// Protection follows the SCIM user, not the row (DESIGN.md section 8): the SCIM ids
/// that any row of a protected user or a Sales Navigator admin resolves to (matched
/// or in conflict), each with the row that protects it. Another row reaching the same
/// SCIM user (an IdP row with an older email, say) is protected through it.
#[derive(Debug, Default)]
struct ProtectedScim {
    /// SCIM id → who protects it (email, "admin"/"protected").
    ids: HashMap<String, (ExclusionReason, String)>,
    /// Per candidate: on the protected list ([`is_protected`], decided once per plan).
    listed: Vec<bool>,
}

impl ProtectedScim {
    fn new<S: CandidateSource + ?Sized>(
        candidates: &S,
        protected: &ProtectedUsers,
        protected_keys: &[String],
        aliases: &DomainAliases,
    ) -> Self {
        let mut ids = HashMap::new();
        let no_list = protected.emails.is_empty() && protected.scim_ids.is_empty();
        let mut listed = vec![false; candidates.count()];
        for (i, on_list) in listed.iter_mut().enumerate() {
            // Without a protected list only admins protect: no need to make the others.
            if no_list && !candidates.is_admin(i) {
                continue;
            }
            let c = candidates.candidate(i);
            *on_list = is_protected(&c, protected, protected_keys, aliases);
            let why = if *on_list {
                ExclusionReason::Protected
            } else if c.is_admin {
                ExclusionReason::Admin
            } else {
                continue;
            };
            let who = c
                .email
                .clone()
                .or_else(|| c.user_name.clone())
                .unwrap_or_else(|| c.name.clone());
            for id in c
                .scim_id
                .iter()
                .chain(c.scim.as_ref().map(|t| &t.id))
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
            {
                ids.entry(id).or_insert((why, who.clone()));
            }
        }
        ProtectedScim { ids, listed }
    }

    /// Whether `c` reaches a SCIM user protected through another row.
    fn reaches(&self, c: &PlanCandidate) -> Option<(ExclusionReason, String)> {
        if self.ids.is_empty() {
            return None;
        }
        c.scim_id
            .iter()
            .chain(c.scim.as_ref().map(|t| &t.id))
            .find_map(|id| self.ids.get(id.trim()))
            .map(|(why, who)| {
                let what = match why {
                    ExclusionReason::Admin => "a Sales Navigator admin",
                    _ => "a protected user",
                };
                (
                    *why,
                    format!(
                        "the SCIM user {} is {what} ({who}): protection follows the SCIM user, \
                         not the row",
                        c.scim_id.as_deref().unwrap_or("?")
                    ),
                )
            })
    }
}

/// Builds the deprovision plan: deactivate idle (and, if chosen, never-activated)
/// seats, leaving out everyone the rules in the module documentation exclude.
/// `usage` is `None` when no usage report is loaded (then nobody can be judged idle).
pub fn build_deprovision_plan(
    candidates: &[PlanCandidate],
    usage: Option<UsageData<'_>>,
    params: &DeprovisionParams,
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
    ctx: PlanContext,
) -> Plan {
    deprovision_plan(candidates, None, usage, params, protected, aliases, ctx)
}

/// [`build_deprovision_plan`] for the users the admin marked (indices into
/// `candidates`, e.g. the Usage pane's marks): the same rules, applied to the marked
/// users only. The others are neither operations nor exclusions, but still count as
/// matched users for the share threshold.
pub fn build_deprovision_plan_for_marked(
    candidates: &[PlanCandidate],
    marked: &std::collections::BTreeSet<usize>,
    usage: Option<UsageData<'_>>,
    params: &DeprovisionParams,
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
    ctx: PlanContext,
) -> Plan {
    deprovision_plan(
        candidates,
        Some(marked),
        usage,
        params,
        protected,
        aliases,
        ctx,
    )
}

/// What [`build_deprovision_plan`] would decide, counted: how many operations and how
/// many exclusions by reason, without making the plan (no operation, exclusion or
/// detail text is made). The same decisions, in the same code
/// (`decide_deprovision`): `excluded` equals the plan's `parameters.counts.excluded`
/// and `operations` its number of operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeprovisionTally {
    /// Candidates read.
    pub candidates: usize,
    /// Users the plan would deactivate.
    pub operations: usize,
    /// Exclusions by reason, by [`exclusion_name`] (users below the threshold
    /// included, as `not_idle`).
    pub excluded: BTreeMap<&'static str, usize>,
}

impl DeprovisionTally {
    /// The exclusions by reason in the plan's order ([`EXCLUSION_REASONS`]), reasons
    /// with none left out: as a plan's `parameters.counts.excluded` lists them.
    pub fn excluded_in_order(&self) -> Vec<(&'static str, usize)> {
        EXCLUSION_REASONS
            .iter()
            .map(|w| exclusion_name(*w))
            .filter_map(|name| self.excluded.get(name).map(|n| (name, *n)))
            .collect()
    }
}

/// [`build_deprovision_plan`]'s counts (see [`DeprovisionTally`]) over candidates read
/// one at a time, as of `as_of`.
pub fn tally_deprovision<S: CandidateSource + ?Sized>(
    candidates: &S,
    usage: Option<UsageData<'_>>,
    params: &DeprovisionParams,
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
    as_of: NaiveDate,
) -> DeprovisionTally {
    let decided = decide_deprovision(
        candidates,
        None,
        usage,
        params,
        protected,
        aliases,
        as_of,
        &mut CountOnly,
    );
    DeprovisionTally {
        candidates: candidates.count(),
        operations: decided.operations,
        excluded: decided.counts,
    }
}

/// Where [`decide_deprovision`] puts its decisions: the plan's lists, or nowhere (the
/// counts are kept by `decide_deprovision` itself). Texts come as closures, made only
/// when kept.
trait DeprovisionSink {
    fn exclude(&mut self, c: &PlanCandidate, why: ExclusionReason, detail: impl FnOnce() -> String);
    /// A user below the threshold (already counted): listed only if the plan lists them.
    fn not_idle(&mut self, c: &PlanCandidate, detail: impl FnOnce() -> String);
    fn operation(&mut self, sort_key: i64, op: impl FnOnce() -> Operation);
    /// The activity of a matched user, for the plan's activity summary.
    fn matched_activity(&mut self, act: Option<Activity>);
}

/// Keeps nothing: [`tally_deprovision`].
struct CountOnly;

impl DeprovisionSink for CountOnly {
    fn exclude(&mut self, _: &PlanCandidate, _: ExclusionReason, _: impl FnOnce() -> String) {}
    fn not_idle(&mut self, _: &PlanCandidate, _: impl FnOnce() -> String) {}
    fn operation(&mut self, _: i64, _: impl FnOnce() -> Operation) {}
    fn matched_activity(&mut self, _: Option<Activity>) {}
}

/// The plan's lists.
struct PlanLists {
    list_not_idle: bool,
    ops: Vec<(i64, Operation)>,
    excluded: Vec<Exclusion>,
    activities: Vec<Option<Activity>>,
}

impl DeprovisionSink for PlanLists {
    fn exclude(
        &mut self,
        c: &PlanCandidate,
        why: ExclusionReason,
        detail: impl FnOnce() -> String,
    ) {
        self.excluded.push(c.exclusion(why, detail()));
    }
    fn not_idle(&mut self, c: &PlanCandidate, detail: impl FnOnce() -> String) {
        if self.list_not_idle {
            self.excluded
                .push(c.exclusion(ExclusionReason::NotIdle, detail()));
        }
    }
    fn operation(&mut self, sort_key: i64, op: impl FnOnce() -> Operation) {
        self.ops.push((sort_key, op()));
    }
    fn matched_activity(&mut self, act: Option<Activity>) {
        self.activities.push(act);
    }
}

/// What [`decide_deprovision`] counted.
#[derive(Debug, Default)]
struct Decided {
    counts: BTreeMap<&'static str, usize>,
    operations: usize,
    never_activated_seen: usize,
    with_created: usize,
    considered: usize,
    /// Candidates matched to a SCIM user (marked or not).
    matched_users: usize,
}

/// Each candidate (the marked ones, if `marked`) gets the first reason of the module
/// documentation's rules that applies, or an operation; one implementation for the
/// plan and its counts.
#[allow(clippy::too_many_arguments)]
fn decide_deprovision<S: CandidateSource + ?Sized, K: DeprovisionSink>(
    candidates: &S,
    marked: Option<&std::collections::BTreeSet<usize>>,
    usage: Option<UsageData<'_>>,
    params: &DeprovisionParams,
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
    as_of: NaiveDate,
    sink: &mut K,
) -> Decided {
    let protected_keys = protected_keys(protected, aliases);
    let protected_scim = ProtectedScim::new(candidates, protected, &protected_keys, aliases);
    let mut d = Decided::default();
    for i in 0..candidates.count() {
        let c = candidates.candidate(i);
        let c: &PlanCandidate = &c;
        let matched = matches!(c.status, MatchStatus::Matched { .. });
        if matched {
            d.matched_users += 1;
        }
        if marked.is_some_and(|m| !m.contains(&i)) {
            continue;
        }
        d.considered += 1;
        if c.provisioned_on.is_some() {
            d.with_created += 1;
        }
        let link = usage.and_then(|u| u.join.link(i));
        let act = match (usage, link) {
            (Some(u), Some(l)) => usage::link_activity(l, u.rows, u.period, as_of),
            _ => None,
        };
        if matched {
            sink.matched_activity(act);
        }
        let counts = &mut d.counts;
        let mut exclude = |why: ExclusionReason, detail: &dyn Fn() -> String| {
            *counts.entry(exclusion_name(why)).or_default() += 1;
            sink.exclude(c, why, detail);
        };
        if protected_scim.listed[i] {
            exclude(ExclusionReason::Protected, &|| {
                "on the protected list".into()
            });
            continue;
        }
        if c.is_admin {
            exclude(ExclusionReason::Admin, &|| {
                "a Sales Navigator admin (from the user export)".into()
            });
            continue;
        }
        if let Some((why, detail)) = protected_scim.reaches(c) {
            exclude(why, &|| detail.clone());
            continue;
        }
        let active = match c.status {
            MatchStatus::Ignored => {
                exclude(ExclusionReason::Ignored, &|| "marked ignored".into());
                continue;
            }
            MatchStatus::Matched { active } => active,
            other => {
                exclude(ExclusionReason::NotMatched, &|| not_matched_detail(other));
                continue;
            }
        };
        if !active {
            exclude(ExclusionReason::AlreadyInactive, &|| {
                "the SCIM user is already inactive".into()
            });
            continue;
        }
        if let Some(detail) = usage::within_grace(c.provisioned_on, as_of, params.grace_days) {
            exclude(ExclusionReason::RecentlyProvisioned, &|| detail.clone());
            continue;
        }
        let (Some(u), Some(link), Some(act)) = (usage, link, act) else {
            exclude(ExclusionReason::NoUsage, &|| {
                if usage.is_none() {
                    "no usage report loaded"
                } else if c.license_status.as_deref() == Some("PENDING") {
                    "no row in the usage report (licence pending)"
                } else {
                    "no row in the usage report"
                }
                .into()
            });
            continue;
        };
        let sort_key;
        match act {
            Activity::NeverActivated => {
                d.never_activated_seen += 1;
                if !params.include_never_activated {
                    exclude(ExclusionReason::NeverActivated, &|| {
                        format!(
                            "{} (not included: use --include-never-activated)",
                            act.describe()
                        )
                    });
                    continue;
                }
                sort_key = i64::MAX;
            }
            _ => match act.idle_beyond(params.idle_days) {
                Some(true) => {
                    sort_key = act.idle_days().unwrap_or(0);
                }
                Some(false) => {
                    *d.counts
                        .entry(exclusion_name(ExclusionReason::NotIdle))
                        .or_default() += 1;
                    sink.not_idle(c, || {
                        format!("{} (threshold {})", act.describe(), params.idle_days)
                    });
                    continue;
                }
                None => {
                    exclude(ExclusionReason::NotIdle, &|| {
                        format!(
                            "{}: cannot tell whether idle for more than {} days",
                            act.describe(),
                            params.idle_days
                        )
                    });
                    continue;
                }
            },
        }
        d.operations += 1;
        sink.operation(sort_key, || {
            deactivate_operation(c, &act, link, u, as_of, params.idle_days)
        });
    }
    d
}

/// The `deactivate` operation of a user idle beyond the threshold (or never activated
/// and included), with the usage figures as evidence.
fn deactivate_operation(
    c: &PlanCandidate,
    act: &Activity,
    link: &usage::UsageLink,
    u: UsageData<'_>,
    as_of: NaiveDate,
    idle_days: u32,
) -> Operation {
    let reason = match act {
        Activity::NeverActivated => act.describe(),
        _ => idle_reason(act, idle_days),
    };
    let row = usage::deciding_row(link, u.rows, u.period, as_of);
    let mut evidence = Evidence {
        target: None,
        idle_days: act.idle_days(),
        last_active: row.and_then(|r| r.last_active),
        never_activated: Some(act.is_never_activated()),
        days_active: row.and_then(|r| r.days_active),
        searches: row.and_then(|r| r.searches),
        profile_views: row.and_then(|r| r.profile_views),
        inmails_sent: row.and_then(|r| r.inmails_sent),
        license_status: c.license_status.clone(),
        sources: Vec::new(),
    };
    for &r in &link.rows {
        if let Some(row) = u.rows.get(r) {
            let by = match link.by {
                usage::JoinedBy::Email => "",
                usage::JoinedBy::Name => " (joined by name)",
            };
            evidence.sources.push(format!("usage {}{by}", row.source));
        }
    }
    evidence
        .sources
        .extend(c.sources.iter().map(|s| format!("user {s}")));
    c.operation(OpKind::Deactivate, reason, evidence)
}

fn deprovision_plan(
    candidates: &[PlanCandidate],
    marked: Option<&std::collections::BTreeSet<usize>>,
    usage: Option<UsageData<'_>>,
    params: &DeprovisionParams,
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
    ctx: PlanContext,
) -> Plan {
    let as_of = ctx.as_of;
    let mut lists = PlanLists {
        list_not_idle: params.list_not_idle,
        ops: Vec::new(),
        excluded: Vec::new(),
        activities: Vec::new(),
    };
    let Decided {
        counts,
        operations: _,
        never_activated_seen,
        with_created,
        considered,
        matched_users,
    } = decide_deprovision(
        candidates, marked, usage, params, protected, aliases, as_of, &mut lists,
    );
    let PlanLists {
        mut ops,
        mut excluded,
        activities,
        ..
    } = lists;

    ops.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| x.email.cmp(&y.email)));
    sort_exclusions(&mut excluded);
    let summary = usage::summarize(activities, params.idle_days);
    let mut by_reason = serde_json::Map::new();
    for why in EXCLUSION_REASONS {
        if let Some(n) = counts.get(exclusion_name(why)) {
            by_reason.insert(exclusion_name(why).into(), (*n).into());
        }
    }
    let counts_json = json!({
        "candidates": candidates.len(),
        "matched_users": matched_users,
        "operations": ops.len(),
        "never_activated": never_activated_seen,
        "excluded": by_reason,
        "not_idle_listed": params.list_not_idle,
    });
    let usage_json = usage.map(|u| {
        json!({
            "rows": u.rows.len(),
            "period": u.period,
            "joined_users_by_email": u.join.joined_by(usage::JoinedBy::Email),
            "joined_users_by_name": u.join.joined_by(usage::JoinedBy::Name),
            "joined_rows": u.join.joined_rows(),
            "unmatched_rows": u.join.unmatched,
            "matched_users_activity": summary_json(&summary),
        })
    });
    let parameters = json!({
        "kind": "deprovision",
        "as_of": as_of,
        "as_of_source": ctx.as_of_source,
        "idle_days": params.idle_days,
        "idle_rule": format!("idle for more than {} days as of {as_of}", params.idle_days),
        "grace_days": params.grace_days,
        "include_never_activated": params.include_never_activated,
        "list_not_idle": params.list_not_idle,
        "marked_users": marked.map(|m| m.len()),
        "protected_entries": protected.emails.len() + protected.scim_ids.len(),
        "recently_provisioned_evidence": format!(
            "SCIM meta.created: known for {with_created} of {considered} users"
        ),
        "counts": counts_json,
        "usage": usage_json,
    });
    Plan {
        version: PLAN_VERSION,
        created_at: ctx.created_at,
        inputs: ctx.inputs,
        parameters,
        matched_users,
        operations: ops.into_iter().map(|(_, o)| o).collect(),
        excluded,
        target: None,
    }
}

fn summary_json(s: &usage::IdleSummary) -> serde_json::Value {
    let buckets: serde_json::Map<String, serde_json::Value> = s
        .buckets
        .iter()
        .enumerate()
        .map(|(i, n)| (usage::IdleSummary::bucket_label(i), (*n).into()))
        .collect();
    let presets: serde_json::Map<String, serde_json::Value> = usage::IDLE_PRESETS
        .iter()
        .zip(s.idle_over_presets)
        .map(|(p, n)| (p.to_string(), n.into()))
        .collect();
    json!({
        "with_usage": s.with_usage,
        "never_activated": s.never_activated,
        "undated": s.undated,
        "idle_days": buckets,
        "idle_more_than": presets,
    })
}

/// E.g. "idle 143 days (threshold 90), last active 2025-01-08".
fn idle_reason(act: &Activity, threshold: u32) -> String {
    match *act {
        Activity::Idle {
            days,
            last_active: Some(d),
            ..
        } => format!("idle {days} days (threshold {threshold}), last active {d}"),
        Activity::Idle {
            days,
            at_least: true,
            ..
        } => format!(
            "idle at least {days} days (threshold {threshold}): no active day in the report period"
        ),
        Activity::Idle { days, .. } => format!("idle {days} days (threshold {threshold})"),
        other => other.describe(),
    }
}

fn matched_count(candidates: &[PlanCandidate]) -> usize {
    candidates
        .iter()
        .filter(|c| matches!(c.status, MatchStatus::Matched { .. }))
        .count()
}

fn sort_exclusions(excluded: &mut [Exclusion]) {
    excluded.sort_by(|a, b| {
        exclusion_order(a.why)
            .cmp(&exclusion_order(b.why))
            .then_with(|| a.email.cmp(&b.email))
            .then_with(|| a.scim_id.cmp(&b.scim_id))
    });
}

/// One entry of a selection file, resolved against the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// Index into the candidates.
    Candidate(usize),
    /// Selected, but in none of the lookup results.
    Unknown { email: String, source: SourceRef },
}

/// An email the admin selected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionEntry {
    pub email: String,
    pub source: SourceRef,
}

const SELECT_COLUMNS: [&str; 6] = [
    "email",
    "emailaddress",
    "invitedemailaddress",
    "mail",
    "username",
    "userprincipalname",
];

fn header_key(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads a selection file: one email per line (`#` starts a comment), or a CSV whose
/// header has an email column (`email`, `Email Address`, `invited_email_address`,
/// `mail`, `userName`, `userPrincipalName`; the first such column wins). Errors name
/// the file and line.
pub fn parse_selection(file: &str, text: &str) -> Result<Vec<SelectionEntry>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .find(|d| first.as_bytes().contains(d));
    let is_csv = delimiter.is_some() || (!first.contains('@') && !first.is_empty());
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if !is_csv {
        for (n, line) in text.lines().enumerate() {
            let line_no = n as u64 + 1;
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            match selection_entry(file, line_no, entry, None) {
                Ok(e) => out.push(e),
                Err(e) => errors.push(e),
            }
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter.unwrap_or(b','))
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let headers = match rdr.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(vec![format!("{file}:1: {e}")]),
        };
        let keys: Vec<String> = headers.iter().map(header_key).collect();
        let Some(col) = SELECT_COLUMNS
            .iter()
            .find_map(|want| keys.iter().position(|k| k == want))
        else {
            return Err(vec![format!(
                "{file}:1: no email column (expected one of: email, email address, invited_email_address, mail, userName, userPrincipalName; or one email per line)"
            )]);
        };
        let column = headers.get(col).unwrap_or("").to_string();
        for rec in rdr.records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    errors.push(format!("{file}:{line}: {e}"));
                    continue;
                }
            };
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let value = rec.get(col).unwrap_or("").trim();
            if value.is_empty() && rec.iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            match selection_entry(file, line, value, Some(&column)) {
                Ok(e) => out.push(e),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The selection entry of `value` at `file:line`, or the error naming it when it is not
/// an email address (`column`: the CSV column it stands in).
fn selection_entry(
    file: &str,
    line: u64,
    value: &str,
    column: Option<&str>,
) -> Result<SelectionEntry, String> {
    if !crate::import::is_valid_email(value) {
        let column = column.map_or(String::new(), |c| format!("column \"{c}\": "));
        return Err(format!(
            "{file}:{line}: {column}{value:?} is not an email address"
        ));
    }
    Ok(SelectionEntry {
        email: value.to_string(),
        source: SourceRef {
            file: file.to_string(),
            line,
        },
    })
}

/// Resolves selected emails to candidates by normalised identity (aliases applied);
/// each candidate once, in selection order.
pub fn resolve_selection(
    candidates: &[PlanCandidate],
    entries: &[SelectionEntry],
    aliases: &DomainAliases,
) -> Vec<Selected> {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        for k in c.keys(aliases) {
            by_key.entry(k).or_insert(i);
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for e in entries {
        match by_key.get(&identity_key(&e.email, aliases)) {
            Some(&i) => {
                if seen.insert(i) {
                    out.push(Selected::Candidate(i));
                }
            }
            None => out.push(Selected::Unknown {
                email: e.email.clone(),
                source: e.source.clone(),
            }),
        }
    }
    out
}

fn unknown_exclusion(email: &str, source: &SourceRef) -> Exclusion {
    Exclusion {
        email: Some(email.to_string()),
        scim_id: None,
        name: String::new(),
        why: ExclusionReason::NotMatched,
        detail: format!("selected at {source}, but not in the lookup results"),
    }
}

fn selection_plan(
    kind: &str,
    candidates: &[PlanCandidate],
    selected: &[Selected],
    ctx: PlanContext,
    decide: impl Fn(&PlanCandidate) -> Result<Operation, Exclusion>,
) -> Plan {
    let mut operations = Vec::new();
    let mut excluded = Vec::new();
    for s in selected {
        match s {
            Selected::Candidate(i) => match candidates.get(*i).map(&decide) {
                Some(Ok(op)) => operations.push(op),
                Some(Err(ex)) => excluded.push(ex),
                None => {}
            },
            Selected::Unknown { email, source } => excluded.push(unknown_exclusion(email, source)),
        }
    }
    sort_exclusions(&mut excluded);
    let mut by_reason = serde_json::Map::new();
    for why in EXCLUSION_REASONS {
        let n = excluded.iter().filter(|e| e.why == why).count();
        if n > 0 {
            by_reason.insert(exclusion_name(why).into(), n.into());
        }
    }
    let counts = json!({
        "selected": selected.len(),
        "operations": operations.len(),
        "excluded": by_reason,
    });
    Plan {
        version: PLAN_VERSION,
        created_at: ctx.created_at,
        inputs: ctx.inputs,
        parameters: json!({ "kind": kind, "counts": counts }),
        matched_users: matched_count(candidates),
        operations,
        excluded,
        target: None,
    }
}

/// Reactivate (`PATCH active=true`) the selected users that are matched and inactive.
/// Active users are excluded as `already_active`, unmatched ones as `not_matched`.
pub fn build_reactivate_plan(
    candidates: &[PlanCandidate],
    selected: &[Selected],
    ctx: PlanContext,
) -> Plan {
    selection_plan("reactivate", candidates, selected, ctx, |c| {
        active_change(c, OpKind::Reactivate)
    })
}

/// A selected user as a deactivation (matched and active) or a reactivation (matched
/// and inactive), else why not: already in the target state, no SCIM id, ignored, not
/// matched.
fn active_change(c: &PlanCandidate, kind: OpKind) -> Result<Operation, Exclusion> {
    let reactivate = kind == OpKind::Reactivate;
    let (reason, already, already_detail) = if reactivate {
        (
            "selected for reactivation; the SCIM user is inactive",
            ExclusionReason::AlreadyActive,
            "the SCIM user is already active",
        )
    } else {
        (
            "selected for deactivation",
            ExclusionReason::AlreadyInactive,
            "the SCIM user is already inactive",
        )
    };
    match c.status {
        // Reactivation wants an inactive user, deactivation an active one.
        MatchStatus::Matched { active } if active == reactivate => {
            Err(c.exclusion(already, already_detail))
        }
        MatchStatus::Matched { .. } if c.scim_id.is_some() => Ok(c.operation(
            kind,
            reason.into(),
            Evidence {
                license_status: c.license_status.clone(),
                sources: c.sources.iter().map(|s| format!("user {s}")).collect(),
                ..Evidence::default()
            },
        )),
        MatchStatus::Matched { .. } => Err(c.exclusion(
            ExclusionReason::NotMatched,
            "matched, but the lookup results carry no SCIM id",
        )),
        MatchStatus::Ignored => Err(c.exclusion(ExclusionReason::Ignored, "marked ignored")),
        MatchStatus::NotFound if reactivate => Err(c.exclusion(
            ExclusionReason::NotMatched,
            "not found over SCIM: use `navscim plan provision` to create the user",
        )),
        other => Err(c.exclusion(ExclusionReason::NotMatched, not_matched_detail(other))),
    }
}

/// Deactivate (`PATCH active=false`) the selected users that are matched and active,
/// e.g. orphan seats the admin marked on the Users pane. Sales Navigator admins and
/// protected users are excluded here, before the gates would refuse the whole plan.
pub fn build_deactivate_plan(
    candidates: &[PlanCandidate],
    selected: &[Selected],
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
    ctx: PlanContext,
) -> Plan {
    let protected_keys = protected_keys(protected, aliases);
    let protected_scim = ProtectedScim::new(candidates, protected, &protected_keys, aliases);
    selection_plan("deactivate", candidates, selected, ctx, |c| {
        if is_protected(c, protected, &protected_keys, aliases) {
            return Err(c.exclusion(ExclusionReason::Protected, "on the protected list"));
        }
        if c.is_admin {
            return Err(c.exclusion(
                ExclusionReason::Admin,
                "a Sales Navigator admin (admin_permission in the export)",
            ));
        }
        if let Some((why, detail)) = protected_scim.reaches(c) {
            return Err(c.exclusion(why, detail));
        }
        active_change(c, OpKind::Deactivate)
    })
}

/// Create (`POST /Users`) the selected users that were not found over SCIM, from the
/// identity provider's data. Users that exist are excluded (`already_active`, or
/// `already_inactive` with a hint to reactivate); ambiguous or failed lookups as
/// `not_matched` (navscim cannot tell whether they exist).
pub fn build_provision_plan(
    candidates: &[PlanCandidate],
    selected: &[Selected],
    ctx: PlanContext,
) -> Plan {
    selection_plan("provision", candidates, selected, ctx, |c| match c.status {
        MatchStatus::NotFound => match c.new_user() {
            Some(new_user) => {
                let mut op = c.operation(
                    OpKind::Create,
                    "selected for provisioning; not found over SCIM".into(),
                    Evidence {
                        sources: c.sources.iter().map(|s| format!("user {s}")).collect(),
                        ..Evidence::default()
                    },
                );
                op.scim_id = None;
                op.user_name = Some(new_user.user_name.clone());
                op.new_user = Some(new_user);
                Ok(op)
            }
            None => Err(c.exclusion(
                ExclusionReason::NotMatched,
                "no user name or email to create the user with",
            )),
        },
        MatchStatus::Matched { active: true } => Err(c.exclusion(
            ExclusionReason::AlreadyActive,
            "already exists and is active",
        )),
        MatchStatus::Matched { active: false } => Err(c.exclusion(
            ExclusionReason::AlreadyInactive,
            "already exists (inactive): use `navscim plan reactivate`",
        )),
        MatchStatus::Ignored => Err(c.exclusion(ExclusionReason::Ignored, "marked ignored")),
        other => Err(c.exclusion(
            ExclusionReason::NotMatched,
            format!(
                "{}: cannot tell whether the user exists",
                not_matched_detail(other)
            ),
        )),
    })
}

/// Fills in first and last names (and the IdP's id) from the identity provider's
/// directory, for creating users: candidates are matched by identity key.
pub fn enrich_from_directory(
    candidates: &mut [PlanCandidate],
    directory: &crate::matching::Directory,
    aliases: &DomainAliases,
) {
    for c in candidates.iter_mut() {
        let found = c
            .keys(aliases)
            .iter()
            .find_map(|k| directory.index_of(k))
            .and_then(|i| directory.users.get(i));
        let Some(u) = found else { continue };
        if c.first_name.is_none() {
            c.first_name = u.first_name.clone();
        }
        if c.last_name.is_none() {
            c.last_name = u.last_name.clone();
        }
        if c.user_name.is_none() {
            c.user_name = u.user_name.clone();
        }
        if c.external_id.is_none() {
            c.external_id = u.idp_id.clone();
        }
        if c.email.is_none() {
            c.email = u.email.clone();
        }
    }
}
