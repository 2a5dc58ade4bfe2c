//! Records built from a mapped [`Table`], with one [`Diagnostic`] per bad value.
//!
//! A row with any bad value is left out (and every bad value in it is reported);
//! all other rows load. Rows with the same normalised identity are merged into the
//! first one and counted in [`DuplicateGroup`]s (a warning is added when the merged
//! rows differ in other columns). Identity: IdP rows = normalised email, user name,
//! external id and employee id together; Sales Navigator rows = seat id (else the
//! unique id and email); usage rows = normalised email (else name), merged only when
//! every value is equal too, because two seats whose emails differ only by case are
//! distinct.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::dates::{self, parse_date, slash_evidence, DateOrder, NeedsDateOrder, SlashEvidence};
use super::detect::{Detection, FileKind};
use super::mapping::{ColumnMapping, Field};
use super::reader::{Row, Table};
use super::values::{
    is_blank, is_valid_email, normalize_email, normalize_header, parse_count, parse_decimal,
    parse_enabled, split_groups,
};
use super::{Diagnostic, Import, ImportError, ImportOptions, SourceRef};

/// A user from an identity provider's export (Okta, Entra ID, generic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpUser {
    /// As written (trimmed); compare with [`super::normalize_email`].
    pub email: Option<String>,
    /// Okta `Username`/`login`, Entra `userPrincipalName`.
    pub user_name: Option<String>,
    /// An IdP-side immutable id (`externalId`, Entra `objectId`/`id`, Okta id).
    pub external_id: Option<String>,
    /// `employeeId` / `Employee Number`: what Sales Navigator usually holds as
    /// `unique_user_id` / SCIM `externalId`.
    pub employee_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    /// From `accountEnabled` / `Status` (see [`super::values::parse_enabled`]);
    /// `None` when the file has no such column or the value is not recognised.
    pub enabled: Option<bool>,
    pub source: SourceRef,
}

/// `sales_license_current_status` / `teamlink_extend_license_current_status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    Active,
    /// Invited / assigned, not yet accepted.
    Pending,
    Inactive,
    Revoked,
    /// Any other value, upper-cased as written.
    Other(String),
}

impl LicenseStatus {
    /// `None` for blank cells.
    pub fn parse(s: &str) -> Option<LicenseStatus> {
        if is_blank(s) {
            return None;
        }
        for (name, st) in [
            ("ACTIVE", LicenseStatus::Active),
            ("PENDING", LicenseStatus::Pending),
            ("INACTIVE", LicenseStatus::Inactive),
            ("REVOKED", LicenseStatus::Revoked),
        ] {
            if s.trim().eq_ignore_ascii_case(name) {
                return Some(st);
            }
        }
        Some(match normalize_header(s).as_str() {
            "active" | "activated" | "assigned" => LicenseStatus::Active,
            "pending" | "invited" | "pendingactivation" | "notactivated" => LicenseStatus::Pending,
            "inactive" | "deactivated" | "disabled" | "suspended" => LicenseStatus::Inactive,
            "revoked" | "removed" | "unassigned" => LicenseStatus::Revoked,
            _ => LicenseStatus::Other(s.trim().to_uppercase()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            LicenseStatus::Active => "ACTIVE",
            LicenseStatus::Pending => "PENDING",
            LicenseStatus::Inactive => "INACTIVE",
            LicenseStatus::Revoked => "REVOKED",
            LicenseStatus::Other(s) => s,
        }
    }
}

/// A row of the Sales Navigator user export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesNavUser {
    /// `invited_email_address`, as written (trimmed).
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// What the IdP sent as `externalId` (often the employee id).
    pub unique_user_id: Option<String>,
    pub seat_id: Option<String>,
    pub license_status: Option<LicenseStatus>,
    pub teamlink_status: Option<LicenseStatus>,
    /// `admin_permission` as written.
    pub admin_permission: Option<String>,
    /// Any non-blank `admin_permission` except `none`, `no`, `false`, `0`, and
    /// user-ish values (`user`, `member`, `standard`, `seat holder`, `regular`) is
    /// an admin. So `USER_ADMIN` is an admin; `USER` is not.
    pub is_admin: bool,
    pub groups: Vec<String>,
    pub source: SourceRef,
}

/// Whether an `admin_permission` value makes the user an admin (see
/// [`SalesNavUser::is_admin`]).
pub fn is_admin_permission(s: &str) -> bool {
    if is_blank(s) {
        return false;
    }
    !matches!(
        normalize_header(s).as_str(),
        "none"
            | "no"
            | "false"
            | "0"
            | "user"
            | "users"
            | "member"
            | "standard"
            | "standarduser"
            | "seatholder"
            | "regular"
            | "regularuser"
            | "notadmin"
            | "nonadmin"
    )
}

/// A row of the Sales Navigator usage report. Metrics are `None` when blank (users
/// who never activated have no activity at all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    pub email: Option<String>,
    /// `Name`, or first and last name joined.
    pub name: Option<String>,
    pub license_type: Option<String>,
    pub last_active: Option<NaiveDate>,
    pub days_since_active: Option<u32>,
    pub days_active: Option<u32>,
    pub searches: Option<u32>,
    pub profile_views: Option<u32>,
    pub inmails_sent: Option<u32>,
    pub leads_saved: Option<u32>,
    pub accounts_saved: Option<u32>,
    pub lists_created: Option<u32>,
    pub ssi: Option<f64>,
    pub source: SourceRef,
}

impl UsageRow {
    /// Days idle as of `as_of`: from `last_active` if known, else the report's
    /// `days_since_active`; `None` when neither is known (e.g. never activated).
    pub fn idle_days(&self, as_of: NaiveDate) -> Option<i64> {
        match self.last_active {
            Some(d) => Some((as_of - d).num_days().max(0)),
            None => self.days_since_active.map(i64::from),
        }
    }

    /// No activity recorded at all: no last-active date and every metric blank or 0.
    pub fn never_active(&self) -> bool {
        self.last_active.is_none()
            && self.days_since_active.is_none()
            && [
                self.days_active,
                self.searches,
                self.profile_views,
                self.inmails_sent,
                self.leads_saved,
                self.accounts_saved,
                self.lists_created,
            ]
            .iter()
            .all(|m| m.unwrap_or(0) == 0)
    }
}

/// The report period of a usage report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPeriod {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

/// Rows merged into the first row with the same identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    /// The normalised identity, e.g. `email:jane.doe@x.example`.
    pub key: String,
    pub kept: SourceRef,
    /// Physical lines of the rows merged into `kept`.
    pub merged_lines: Vec<u64>,
}

/// The records of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ImportData {
    Idp(Vec<IdpUser>),
    SalesNav(Vec<SalesNavUser>),
    Usage(Vec<UsageRow>),
}

impl ImportData {
    pub fn len(&self) -> usize {
        match self {
            ImportData::Idp(v) => v.len(),
            ImportData::SalesNav(v) => v.len(),
            ImportData::Usage(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Access to one row's cells by field, collecting diagnostics.
struct Cells<'a> {
    file: &'a str,
    headers: &'a [String],
    mapping: &'a ColumnMapping,
    row: &'a Row,
    errors: Vec<Diagnostic>,
    /// Invisible characters removed from this row's cells (warnings), once per cell.
    cleaned: std::cell::RefCell<Vec<Diagnostic>>,
}

impl<'a> Cells<'a> {
    fn new(file: &'a str, headers: &'a [String], mapping: &'a ColumnMapping, row: &'a Row) -> Self {
        Cells {
            file,
            headers,
            mapping,
            row,
            errors: Vec::new(),
            cleaned: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The warnings about invisible characters removed from this row's cells.
    fn take_cleaned(&self) -> Vec<Diagnostic> {
        self.cleaned.take()
    }

    fn raw(&self, f: Field) -> Option<&'a str> {
        let c = self.mapping.get(f)?;
        self.row.fields.get(c)
    }

    fn header(&self, f: Field) -> &'a str {
        self.mapping
            .get(f)
            .and_then(|c| self.headers.get(c))
            .map_or("", String::as_str)
    }

    /// Trimmed text without invisible characters (see [`super::invisible`]; each
    /// removal is a warning naming file, line, column and character); blank → None.
    /// A value longer than [`MAX_VALUE_CHARS`] is an error at its file:line:column
    /// ("too long"), not a value.
    fn text(&mut self, f: Field) -> Option<String> {
        let raw = self.raw(f)?;
        let identifier = matches!(
            f,
            Field::Email
                | Field::UserName
                | Field::ExternalId
                | Field::EmployeeId
                | Field::UniqueUserId
                | Field::SeatId
        );
        let (cleaned, removed) = super::invisible::clean(raw, identifier);
        if !removed.is_empty() {
            let field = self.mapping.get(f).map(|c| c + 1).unwrap_or(0);
            let what: Vec<String> = removed
                .iter()
                .map(|(at, c)| format!("{} at character {at}", super::invisible::describe(*c)))
                .collect();
            // Debug form, cut like `show`: the removed characters stay visible as escapes.
            let mut before = format!("{:?}", raw.chars().take(60).collect::<String>());
            if raw.chars().count() > 60 {
                before.push('…');
            }
            self.cleaned.borrow_mut().push(Diagnostic::at_cell(
                self.file,
                self.row.line,
                self.header(f),
                format!(
                    "removed {} of {before} (field {field}): now {}",
                    what.join(", "),
                    show(cleaned.trim())
                ),
            ));
        }
        let v = cleaned.trim();
        if is_blank(v) {
            return None;
        }
        let n = v.chars().count();
        let max = if f == Field::Email {
            MAX_EMAIL_CHARS
        } else {
            MAX_VALUE_CHARS
        };
        if n > max {
            self.error(
                f,
                format!("{} is too long ({n} characters; at most {max})", show(v)),
            );
            return None;
        }
        Some(v.to_string())
    }

    fn error(&mut self, f: Field, msg: String) {
        let header = self.header(f).to_string();
        self.errors
            .push(Diagnostic::at_cell(self.file, self.row.line, &header, msg));
    }

    fn email(&mut self, f: Field) -> Option<String> {
        let v = self.text(f)?;
        if is_valid_email(&v) {
            Some(v)
        } else {
            self.error(f, format!("{} is not an email address", show(&v)));
            None
        }
    }

    fn count(&mut self, f: Field) -> Option<u32> {
        self.parsed(f, parse_count, |_| "a whole number".to_string())
    }

    fn decimal(&mut self, f: Field) -> Option<f64> {
        self.parsed(f, parse_decimal, |_| "a number".to_string())
    }

    fn date(&mut self, f: Field, order: Option<DateOrder>) -> Option<NaiveDate> {
        self.parsed(f, |raw| parse_date(raw, order), |e| e.expected)
    }

    /// The cell parsed by `parse` (blank → `None`); a value it refuses is an error at
    /// the cell: "`value` is not `expected(error)`".
    fn parsed<T, E>(
        &mut self,
        f: Field,
        parse: impl FnOnce(&str) -> Result<Option<T>, E>,
        expected: impl FnOnce(E) -> String,
    ) -> Option<T> {
        let raw = self.raw(f)?;
        match parse(raw) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("{} is not {}", show(raw.trim()), expected(e));
                self.error(f, msg);
                None
            }
        }
    }

    /// Ends the row: its invisible-character warnings go to `warnings`; a row with no
    /// identifier (`missing`, the message, when it has none and no other error) or with
    /// errors moves them to `errors` and is not kept (`false`).
    fn settle(
        &mut self,
        missing: Option<&str>,
        warnings: &mut Vec<Diagnostic>,
        errors: &mut Vec<Diagnostic>,
    ) -> bool {
        if let (true, Some(msg)) = (self.errors.is_empty(), missing) {
            self.errors
                .push(Diagnostic::at_line(self.file, self.row.line, msg));
        }
        warnings.extend(self.take_cleaned());
        if self.errors.is_empty() {
            return true;
        }
        errors.append(&mut self.errors);
        false
    }
}

/// The longest email address (RFC 5321: a path of at most 256 octets, so an address of
/// at most 254 characters).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest value of any other field: no name or id comes near it, and a longer one
/// would only make a request URL no server accepts.
pub const MAX_VALUE_CHARS: usize = 1024;

/// A cell value quoted for messages (long values shortened).
fn show(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if v.chars().count() > 60 {
        s.push('…');
    }
    format!("\"{}\"", s.replace('\n', "\\n"))
}

struct Dedup {
    file: String,
    first: HashMap<String, usize>,
    groups: BTreeMap<usize, DuplicateGroup>,
}

impl Dedup {
    /// `rows`: the table's rows (each keeps one key at most), so the key map is made
    /// once at its size.
    fn new(file: &str, rows: usize) -> Self {
        Dedup {
            file: file.to_string(),
            first: HashMap::with_capacity(rows),
            groups: BTreeMap::new(),
        }
    }

    /// Keeps `u` in `out`, unless a record with the same `key` was kept before: the
    /// row is then merged into that one, with a warning when `differ(u, kept)` says
    /// other columns differ.
    fn keep<T: Record>(
        &mut self,
        out: &mut Vec<T>,
        u: T,
        key: String,
        differ: impl Fn(&T, &T) -> bool,
        warnings: &mut Vec<Diagnostic>,
    ) {
        let line = u.source().line;
        let Some(k) = self.first.get(&key).copied() else {
            self.first.insert(key, out.len());
            out.push(u);
            return;
        };
        let kept = out[k].source().clone();
        if differ(&u, &out[k]) {
            warnings.push(Diagnostic::at_line(
                &self.file,
                line,
                format!(
                    "duplicate of line {} with different values in other columns; kept line {}",
                    kept.line, kept.line
                ),
            ));
        }
        self.merge(key, k, kept, line);
    }

    fn merge(&mut self, key: String, kept_idx: usize, kept: SourceRef, line: u64) {
        self.groups
            .entry(kept_idx)
            .or_insert_with(|| DuplicateGroup {
                key,
                kept,
                merged_lines: Vec::new(),
            })
            .merged_lines
            .push(line);
    }
}

/// Collect unrecognised status values, reported once per column.
#[derive(Default)]
struct Unrecognised {
    /// The status column the values are from; `None`: no such column in this kind.
    field: Option<Field>,
    values: BTreeMap<String, usize>,
}

pub(super) fn build(
    table: Table,
    detection: Detection,
    mapping: ColumnMapping,
    opts: &ImportOptions,
) -> Result<Import, ImportError> {
    let file = table.file.clone();
    let mut errors = table.errors.clone();
    let mut warnings = table.warnings.clone();
    let mut dedup = Dedup::new(&table.file, table.rows.len());
    let mut unknown = Unrecognised::default();
    let rows_read = table.rows.len() + table.errors.len();
    let mut report_period = None;
    let mut date_order = None;
    let cells = |row| Cells::new(&file, &table.headers, &mapping, row);
    let src = |row: &Row| SourceRef {
        file: file.clone(),
        line: row.line,
    };

    let data = match detection.format.kind() {
        FileKind::Idp => {
            let mut out: Vec<IdpUser> = Vec::with_capacity(table.rows.len());
            unknown.field = Some(Field::Enabled);
            let block_sign_in = mapping
                .get(Field::Enabled)
                .is_some_and(|c| normalize_header(&table.headers[c]) == "blocksignin");
            for row in &table.rows {
                let mut c = cells(row);
                let email = c.email(Field::Email);
                let enabled = c
                    .text(Field::Enabled)
                    .and_then(|v| match parse_enabled(&v) {
                        Some(b) => Some(b != block_sign_in),
                        None => {
                            *unknown.values.entry(v).or_default() += 1;
                            None
                        }
                    });
                let u = IdpUser {
                    email,
                    user_name: c.text(Field::UserName),
                    external_id: c.text(Field::ExternalId),
                    employee_id: c.text(Field::EmployeeId),
                    first_name: c.text(Field::FirstName),
                    last_name: c.text(Field::LastName),
                    display_name: c.text(Field::DisplayName),
                    enabled,
                    source: src(row),
                };
                let missing = (u.email.is_none()
                    && u.user_name.is_none()
                    && u.external_id.is_none()
                    && u.employee_id.is_none())
                .then_some("no email, user name, external id or employee id");
                if !c.settle(missing, &mut warnings, &mut errors) {
                    continue;
                }
                let key = format!(
                    "email:{}|user:{}|ext:{}|emp:{}",
                    u.email.as_deref().map(normalize_email).unwrap_or_default(),
                    u.user_name
                        .as_deref()
                        .map(normalize_email)
                        .unwrap_or_default(),
                    u.external_id.as_deref().unwrap_or(""),
                    u.employee_id.as_deref().unwrap_or(""),
                );
                let differ = |u: &IdpUser, kept: &IdpUser| {
                    IdpUser {
                        source: kept.source.clone(),
                        email: u.email.as_deref().map(normalize_email),
                        user_name: u.user_name.as_deref().map(normalize_email),
                        ..u.clone()
                    } != IdpUser {
                        email: kept.email.as_deref().map(normalize_email),
                        user_name: kept.user_name.as_deref().map(normalize_email),
                        ..kept.clone()
                    }
                };
                dedup.keep(&mut out, u, key, differ, &mut warnings);
            }
            ImportData::Idp(out)
        }
        FileKind::SalesNavUsers => {
            let mut seat_people: HashMap<String, (String, u64)> =
                HashMap::with_capacity(table.rows.len());
            let mut out: Vec<SalesNavUser> = Vec::with_capacity(table.rows.len());
            unknown.field = Some(Field::LicenseStatus);
            for row in &table.rows {
                let mut c = cells(row);
                let email = c.email(Field::Email);
                let admin_permission = c.text(Field::AdminPermission);
                let license_status = c
                    .text(Field::LicenseStatus)
                    .and_then(|v| LicenseStatus::parse(&v));
                if let Some(LicenseStatus::Other(v)) = &license_status {
                    *unknown.values.entry(v.clone()).or_default() += 1;
                }
                let u = SalesNavUser {
                    email,
                    first_name: c.text(Field::FirstName),
                    last_name: c.text(Field::LastName),
                    unique_user_id: c.text(Field::UniqueUserId),
                    seat_id: c.text(Field::SeatId),
                    license_status,
                    teamlink_status: c
                        .text(Field::TeamlinkStatus)
                        .and_then(|v| LicenseStatus::parse(&v)),
                    is_admin: admin_permission.as_deref().is_some_and(is_admin_permission),
                    admin_permission,
                    groups: c.raw(Field::Groups).map(split_groups).unwrap_or_default(),
                    source: src(row),
                };
                let missing = (u.email.is_none() && u.unique_user_id.is_none())
                    .then_some("no email or unique user id");
                if !c.settle(missing, &mut warnings, &mut errors) {
                    continue;
                }
                // Identity is the seat and who it names: two seats whose emails
                // differ only by case are both kept (the matcher reports them as
                // ambiguous); one seat id on rows of different people keeps both
                // people (the matcher flags them as a conflict), never drops one.
                if let Some(sid) = &u.seat_id {
                    let email = u.email.as_deref().map(normalize_email).unwrap_or_default();
                    match seat_people.get(sid) {
                        Some((other, line)) if *other != email => {
                            warnings.push(Diagnostic::at_cell(
                                &file,
                                row.line,
                                c.header(Field::SeatId),
                                format!(
                                    "seat id {} also names {} at line {line}: both kept, \
                                     flagged as a conflict",
                                    show(sid),
                                    show(other)
                                ),
                            ));
                        }
                        Some(_) => {}
                        None => {
                            seat_people.insert(sid.clone(), (email, row.line));
                        }
                    }
                }
                let key = match &u.seat_id {
                    Some(s) => format!(
                        "seat:{s}|email:{}",
                        u.email.as_deref().map(normalize_email).unwrap_or_default()
                    ),
                    None => format!(
                        "uid:{}|email:{}",
                        u.unique_user_id.as_deref().unwrap_or(""),
                        u.email.as_deref().unwrap_or("")
                    ),
                };
                let differ = |u: &SalesNavUser, kept: &SalesNavUser| {
                    SalesNavUser {
                        source: kept.source.clone(),
                        ..u.clone()
                    } != *kept
                };
                dedup.keep(&mut out, u, key, differ, &mut warnings);
            }
            ImportData::SalesNav(out)
        }
        FileKind::Usage => {
            let date_fields: Vec<Field> = [Field::LastActive, Field::PeriodStart, Field::PeriodEnd]
                .into_iter()
                .filter(|f| mapping.get(*f).is_some())
                .collect();
            let order = resolve_date_order(&table, &mapping, &date_fields, opts.date_order)?;
            date_order = order;
            let mut out: Vec<UsageRow> = Vec::with_capacity(table.rows.len());
            let (mut pstart, mut pend): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
            for row in &table.rows {
                let mut c = cells(row);
                let email = c.email(Field::Email);
                let name = c.text(Field::Name).or_else(|| {
                    let joined = [c.text(Field::FirstName), c.text(Field::LastName)]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    (!joined.is_empty()).then_some(joined)
                });
                let last_active = c.date(Field::LastActive, order);
                let ps = c.date(Field::PeriodStart, order);
                let pe = c.date(Field::PeriodEnd, order);
                let u = UsageRow {
                    email,
                    name,
                    license_type: c.text(Field::LicenseType),
                    last_active,
                    days_since_active: c.count(Field::DaysSinceActive),
                    days_active: c.count(Field::DaysActive),
                    searches: c.count(Field::Searches),
                    profile_views: c.count(Field::ProfileViews),
                    inmails_sent: c.count(Field::InmailsSent),
                    leads_saved: c.count(Field::LeadsSaved),
                    accounts_saved: c.count(Field::AccountsSaved),
                    lists_created: c.count(Field::ListsCreated),
                    ssi: c.decimal(Field::Ssi),
                    source: src(row),
                };
                let missing = (u.email.is_none() && u.name.is_none()).then_some("no email or name");
                if !c.settle(missing, &mut warnings, &mut errors) {
                    continue;
                }
                if let Some(d) = ps {
                    pstart = Some(pstart.map_or(d, |p| p.min(d)));
                }
                if let Some(d) = pe {
                    pend = Some(pend.map_or(d, |p| p.max(d)));
                }
                let (key, what) = match (&u.email, &u.name) {
                    (Some(e), _) => (format!("email:{}", normalize_email(e)), "email"),
                    (None, Some(n)) => (format!("name:{}", n.to_lowercase()), "name"),
                    (None, None) => (format!("line:{}", row.line), "line"),
                };
                // Usage rows are per seat: two seats whose emails differ only by case
                // both appear. Only rows that are identical as well are merged.
                match dedup.first.get(&key).copied() {
                    Some(k)
                        if UsageRow {
                            source: out[k].source.clone(),
                            ..u.clone()
                        } == out[k] =>
                    {
                        dedup.merge(key, k, out[k].source.clone(), row.line);
                        continue;
                    }
                    Some(k) => warnings.push(Diagnostic::at_line(
                        &file,
                        row.line,
                        format!(
                            "same {what} as line {} but different values; both rows kept",
                            out[k].source.line
                        ),
                    )),
                    None => {
                        dedup.first.insert(key, out.len());
                    }
                }
                out.push(u);
            }
            if pstart.is_some() || pend.is_some() {
                report_period = Some(ReportPeriod {
                    start: pstart,
                    end: pend,
                });
            } else {
                report_period = preamble_period(&file, &table.preamble, order, &mut warnings);
            }
            ImportData::Usage(out)
        }
    };
    report_unknown(&file, &table.headers, &mapping, unknown, &mut warnings);
    errors.sort_by_key(|d| d.line);
    Ok(Import {
        file,
        detection,
        headers: table.headers,
        mapping,
        encoding: table.encoding,
        delimiter: table.delimiter,
        data,
        errors,
        warnings,
        duplicates: dedup.groups.into_values().collect(),
        rows_read,
        report_period,
        date_order,
    })
}

/// A record read from a row, with where it was read.
trait Record {
    fn source(&self) -> &SourceRef;
}

impl Record for IdpUser {
    fn source(&self) -> &SourceRef {
        &self.source
    }
}

impl Record for SalesNavUser {
    fn source(&self) -> &SourceRef {
        &self.source
    }
}

fn report_unknown(
    file: &str,
    headers: &[String],
    mapping: &ColumnMapping,
    unknown: Unrecognised,
    warnings: &mut Vec<Diagnostic>,
) {
    let Some(field) = unknown.field else { return };
    if unknown.values.is_empty() {
        return;
    }
    let header = mapping
        .get(field)
        .and_then(|c| headers.get(c))
        .cloned()
        .unwrap_or_default();
    let list = unknown
        .values
        .iter()
        .take(10)
        .map(|(v, n)| format!("{} ({n} rows)", show(v)))
        .collect::<Vec<_>>()
        .join(", ");
    warnings.push(Diagnostic {
        file: file.to_string(),
        line: None,
        column: Some(header),
        message: format!("unrecognised values, treated as unknown: {list}"),
    });
}

/// Decide the slash-date order from every date cell in the file (see [`dates`]).
fn resolve_date_order(
    table: &Table,
    mapping: &ColumnMapping,
    date_fields: &[Field],
    explicit: Option<DateOrder>,
) -> Result<Option<DateOrder>, ImportError> {
    let mut day_first: Option<(u64, String)> = None;
    let mut month_first: Option<(u64, String)> = None;
    let mut ambiguous: Vec<(u64, String)> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    for &f in date_fields {
        let Some(c) = mapping.get(f) else { continue };
        let mut col_has_slash = false;
        for row in &table.rows {
            let Some(v) = row.fields.get(c) else { continue };
            let ev = slash_evidence(v);
            if ev != SlashEvidence::NotSlash {
                col_has_slash = true;
            }
            let v = v.trim().to_string();
            match ev {
                SlashEvidence::DayFirst => {
                    day_first.get_or_insert((row.line, v));
                }
                SlashEvidence::MonthFirst => {
                    month_first.get_or_insert((row.line, v));
                }
                SlashEvidence::Ambiguous if ambiguous.len() < 3 => ambiguous.push((row.line, v)),
                _ => {}
            }
        }
        if col_has_slash {
            columns.push(table.headers[c].clone());
        }
    }
    if explicit.is_some() {
        return Ok(explicit);
    }
    match (day_first, month_first) {
        (Some(_), None) => Ok(Some(DateOrder::DayFirst)),
        (None, Some(_)) => Ok(Some(DateOrder::MonthFirst)),
        (Some(d), Some(m)) => Err(ImportError::NeedsDateOrder(NeedsDateOrder {
            file: table.file.clone(),
            columns,
            samples: vec![d, m],
            conflicting: true,
        })),
        (None, None) if !ambiguous.is_empty() => Err(ImportError::NeedsDateOrder(NeedsDateOrder {
            file: table.file.clone(),
            columns,
            samples: ambiguous,
            conflicting: false,
        })),
        // Only `04/04/2025`-style values (or none): either order reads them the same.
        (None, None) => Ok(None),
    }
}

/// `Report period: 2025-03-01 to 2025-05-31`, or `Start date: …` / `End date: …` lines.
fn preamble_period(
    file: &str,
    preamble: &[(u64, String)],
    order: Option<DateOrder>,
    warnings: &mut Vec<Diagnostic>,
) -> Option<ReportPeriod> {
    let tokens = || {
        preamble.iter().flat_map(|(n, l)| {
            l.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .map(move |t| (*n, t))
        })
    };
    // The preamble's own slash dates may decide the order when the data cannot.
    let order = order.or_else(|| {
        let ev: Vec<SlashEvidence> = tokens().map(|(_, t)| slash_evidence(t)).collect();
        let day = ev.contains(&SlashEvidence::DayFirst);
        let month = ev.contains(&SlashEvidence::MonthFirst);
        match (day, month) {
            (true, false) => Some(DateOrder::DayFirst),
            (false, true) => Some(DateOrder::MonthFirst),
            _ => None,
        }
    });
    if order.is_none() {
        if let Some((n, t)) = tokens().find(|(_, t)| slash_evidence(t) == SlashEvidence::Ambiguous)
        {
            warnings.push(Diagnostic::at_line(
                file,
                n,
                format!(
                    "report period date \"{t}\" could be DD/MM/YYYY or MM/DD/YYYY; \
                     it is ignored unless the order is given (--date-order dmy|mdy)"
                ),
            ));
        }
    }
    let mut start = None;
    let mut end = None;
    for (n, line) in preamble {
        // A date-shaped token that is no date (`9999-99-99`) is said, not ignored.
        for t in line.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
            let t = t.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            let shaped = t.len() >= 8
                && t.chars()
                    .all(|c| c.is_ascii_digit() || c == '-' || c == '/' || c == '.')
                && t.chars().filter(|c| !c.is_ascii_digit()).count() == 2;
            let no_date = [DateOrder::DayFirst, DateOrder::MonthFirst]
                .into_iter()
                .all(|o| dates::dates_in_text(t, Some(o)).is_empty());
            if shaped && no_date {
                warnings.push(Diagnostic::at_line(
                    file,
                    *n,
                    format!(
                        "report period: \"{}\" is not a date; that date of the period is not used",
                        crate::sanitize::escape_value(t)
                    ),
                ));
            }
        }
        let found = dates::dates_in_text(line, order);
        let lower = line.to_lowercase();
        match found.as_slice() {
            [] => {}
            [a, b, ..] => {
                if a > b {
                    warnings.push(Diagnostic::at_line(
                        file,
                        *n,
                        format!("report period is reversed ({a} to {b}); read as {b} to {a}"),
                    ));
                }
                start = start.or(Some(*a.min(b)));
                end = end.or(Some(*a.max(b)));
            }
            [d] => {
                if lower.contains("start") || lower.contains("from") {
                    start = start.or(Some(*d));
                } else {
                    end = end.or(Some(*d));
                }
            }
        }
    }
    (start.is_some() || end.is_some()).then_some(ReportPeriod { start, end })
}
