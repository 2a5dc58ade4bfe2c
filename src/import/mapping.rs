//! Logical fields, header aliases, automatic column mapping, and the `--map` override.
//!
//! Headers are compared after [`normalize_header`] (lowercase, letters and digits
//! only), so `Email Address`, `email_address` and `E-mail address` are one alias.
//! Every field has a table of exact aliases with a plausibility score (100 = the
//! canonical name) and a few lower-scoring "contains" rules (`Work Email` → email).
//! For each field the best-scoring column wins; two columns with the same best score
//! are *equally plausible* and the admin is asked.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::detect::{FileKind, Format};
use super::values::normalize_header;
use super::ImportError;

/// A logical field. The names used by `--map` are [`Field::name`] (snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    // identity-provider files (and shared)
    Email,
    UserName,
    ExternalId,
    EmployeeId,
    FirstName,
    LastName,
    DisplayName,
    Enabled,
    // Sales Navigator user export
    UniqueUserId,
    SeatId,
    LicenseStatus,
    TeamlinkStatus,
    AdminPermission,
    Groups,
    // Sales Navigator usage report
    Name,
    LicenseType,
    LastActive,
    DaysSinceActive,
    DaysActive,
    Searches,
    ProfileViews,
    InmailsSent,
    LeadsSaved,
    AccountsSaved,
    ListsCreated,
    Ssi,
    PeriodStart,
    PeriodEnd,
}

type Aliases = &'static [(&'static str, u8)];

impl Field {
    pub const ALL: [Field; 28] = [
        Field::Email,
        Field::UserName,
        Field::ExternalId,
        Field::EmployeeId,
        Field::FirstName,
        Field::LastName,
        Field::DisplayName,
        Field::Enabled,
        Field::UniqueUserId,
        Field::SeatId,
        Field::LicenseStatus,
        Field::TeamlinkStatus,
        Field::AdminPermission,
        Field::Groups,
        Field::Name,
        Field::LicenseType,
        Field::LastActive,
        Field::DaysSinceActive,
        Field::DaysActive,
        Field::Searches,
        Field::ProfileViews,
        Field::InmailsSent,
        Field::LeadsSaved,
        Field::AccountsSaved,
        Field::ListsCreated,
        Field::Ssi,
        Field::PeriodStart,
        Field::PeriodEnd,
    ];

    /// The documented name used by `--map` (e.g. `email`, `external_id`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::UserName => "user_name",
            Field::ExternalId => "external_id",
            Field::EmployeeId => "employee_id",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::DisplayName => "display_name",
            Field::Enabled => "enabled",
            Field::UniqueUserId => "unique_user_id",
            Field::SeatId => "seat_id",
            Field::LicenseStatus => "license_status",
            Field::TeamlinkStatus => "teamlink_status",
            Field::AdminPermission => "admin_permission",
            Field::Groups => "groups",
            Field::Name => "name",
            Field::LicenseType => "license_type",
            Field::LastActive => "last_active",
            Field::DaysSinceActive => "days_since_active",
            Field::DaysActive => "days_active",
            Field::Searches => "searches",
            Field::ProfileViews => "profile_views",
            Field::InmailsSent => "inmails_sent",
            Field::LeadsSaved => "leads_saved",
            Field::AccountsSaved => "accounts_saved",
            Field::ListsCreated => "lists_created",
            Field::Ssi => "ssi",
            Field::PeriodStart => "period_start",
            Field::PeriodEnd => "period_end",
        }
    }

    /// A human label for dialogs.
    pub fn label(self) -> &'static str {
        match self {
            Field::Email => "Email",
            Field::UserName => "User name",
            Field::ExternalId => "External ID",
            Field::EmployeeId => "Employee ID",
            Field::FirstName => "First name",
            Field::LastName => "Last name",
            Field::DisplayName => "Display name",
            Field::Enabled => "Enabled / status",
            Field::UniqueUserId => "Unique user ID",
            Field::SeatId => "Seat ID",
            Field::LicenseStatus => "Licence status",
            Field::TeamlinkStatus => "TeamLink status",
            Field::AdminPermission => "Admin permission",
            Field::Groups => "Groups",
            Field::Name => "Name",
            Field::LicenseType => "Licence type",
            Field::LastActive => "Last active",
            Field::DaysSinceActive => "Days since last active",
            Field::DaysActive => "Days active",
            Field::Searches => "Searches",
            Field::ProfileViews => "Profile views",
            Field::InmailsSent => "InMails sent",
            Field::LeadsSaved => "Leads saved",
            Field::AccountsSaved => "Accounts saved",
            Field::ListsCreated => "Lists created",
            Field::Ssi => "SSI",
            Field::PeriodStart => "Period start",
            Field::PeriodEnd => "Period end",
        }
    }

    /// Parse a documented field name (case- and punctuation-insensitive).
    pub fn from_name(s: &str) -> Option<Field> {
        let n = normalize_header(s);
        Field::ALL
            .into_iter()
            .find(|f| normalize_header(f.name()) == n)
    }

    /// Exact aliases (normalised) with a plausibility score.
    fn aliases(self) -> Aliases {
        match self {
            Field::Email => &[
                ("email", 100),
                ("emailaddress", 100),
                ("invitedemailaddress", 100),
                ("mail", 90),
                ("primaryemail", 95),
                ("workemail", 90),
                ("businessemail", 90),
                ("useremail", 90),
                ("memberemail", 90),
                ("emailid", 85),
                ("invitedemail", 95),
                ("contactemail", 80),
            ],
            Field::UserName => &[
                ("username", 100),
                ("login", 95),
                ("userprincipalname", 95),
                ("upn", 90),
                ("loginname", 90),
                ("signinname", 85),
                ("oktausername", 90),
                ("samaccountname", 60),
            ],
            Field::ExternalId => &[
                ("externalid", 100),
                ("objectid", 90),
                ("principalid", 85),
                ("immutableid", 85),
                ("oktaid", 85),
                ("oktauserid", 85),
                ("id", 60),
                ("userid", 60),
                ("uid", 50),
            ],
            Field::EmployeeId => &[
                ("employeeid", 100),
                ("employeenumber", 100),
                ("employeeno", 95),
                ("empid", 90),
                ("empno", 90),
                ("staffid", 85),
                ("staffnumber", 85),
                ("personnelnumber", 85),
                ("workerid", 80),
                ("badgenumber", 60),
            ],
            Field::FirstName => &[
                ("firstname", 100),
                ("givenname", 100),
                ("preferredfirstname", 100),
                ("first", 80),
                ("forename", 90),
            ],
            Field::LastName => &[
                ("lastname", 100),
                ("surname", 100),
                ("familyname", 100),
                ("preferredlastname", 100),
                ("last", 80),
            ],
            Field::DisplayName => &[
                ("displayname", 100),
                ("principaldisplayname", 95),
                ("fullname", 90),
                ("name", 70),
                ("preferredname", 60),
            ],
            Field::Enabled => &[
                ("accountenabled", 100),
                ("enabled", 100),
                ("status", 80),
                ("userstatus", 90),
                ("accountstatus", 90),
                ("active", 80),
                ("blocksignin", 70),
            ],
            Field::UniqueUserId => &[("uniqueuserid", 100), ("uniqueid", 70), ("externalid", 60)],
            Field::SeatId => &[("seatid", 100), ("seat", 60), ("seatnumber", 80)],
            Field::LicenseStatus => &[
                ("saleslicensecurrentstatus", 100),
                ("saleslicensestatus", 95),
                ("licensestatus", 90),
                ("licensecurrentstatus", 90),
                ("seatstatus", 80),
                ("status", 60),
            ],
            Field::TeamlinkStatus => &[
                ("teamlinkextendlicensecurrentstatus", 100),
                ("teamlinkextendlicensestatus", 95),
                ("teamlinkextendstatus", 95),
                ("teamlinkstatus", 90),
                ("teamlinkextend", 70),
            ],
            Field::AdminPermission => &[
                ("adminpermission", 100),
                ("adminpermissions", 100),
                ("adminrole", 85),
                ("admin", 70),
                ("role", 50),
            ],
            Field::Groups => &[("groups", 100), ("group", 90), ("teams", 50)],
            Field::Name => &[
                ("name", 100),
                ("fullname", 95),
                ("membername", 95),
                ("username", 60),
                ("seatholder", 85),
                ("seatholdername", 90),
                ("displayname", 90),
                ("user", 50),
            ],
            Field::LicenseType => &[
                ("licensetype", 100),
                ("seattype", 95),
                ("saleslicensetype", 95),
                ("licensename", 85),
                ("contracttype", 60),
                ("producttype", 60),
                ("license", 70),
                ("seat", 40),
            ],
            Field::LastActive => &[
                ("lastactive", 100),
                ("lastactivedate", 100),
                ("lastactiveon", 95),
                ("lastactivity", 90),
                ("lastactivitydate", 95),
                ("lastlogin", 85),
                ("lastlogindate", 85),
                ("lastloggedin", 85),
                ("lastseen", 80),
                ("lastaccessed", 80),
                ("lastuseddate", 80),
                ("lastused", 80),
            ],
            Field::DaysSinceActive => &[
                ("dayssincelastactive", 100),
                ("dayssinceactive", 95),
                ("dayssincelastactivity", 95),
                ("dayssincelastlogin", 90),
                ("daysinactive", 85),
                ("inactivedays", 85),
                ("idledays", 85),
                ("daysidle", 85),
            ],
            Field::DaysActive => &[
                ("daysactive", 100),
                ("activedays", 95),
                ("numberofdaysactive", 95),
                ("totaldaysactive", 95),
                ("daysloggedin", 80),
            ],
            Field::Searches => &[
                ("searches", 100),
                ("searchesperformed", 100),
                ("numberofsearches", 95),
                ("totalsearches", 95),
                ("searchcount", 90),
                ("searchesrun", 90),
            ],
            Field::ProfileViews => &[
                ("profileviews", 100),
                ("profilesviewed", 100),
                ("profileviewsperformed", 95),
                ("numberofprofileviews", 95),
                ("viewedprofiles", 90),
            ],
            Field::InmailsSent => &[
                ("inmailssent", 100),
                ("inmailsent", 100),
                ("inmails", 90),
                ("inmailmessagessent", 95),
                ("numberofinmailssent", 95),
                ("messagessent", 60),
            ],
            Field::LeadsSaved => &[
                ("leadssaved", 100),
                ("savedleads", 100),
                ("leadsaved", 95),
                ("numberofleadssaved", 95),
                ("leads", 70),
            ],
            Field::AccountsSaved => &[
                ("accountssaved", 100),
                ("savedaccounts", 100),
                ("accountsaved", 95),
                ("numberofaccountssaved", 95),
                ("accounts", 70),
            ],
            Field::ListsCreated => &[
                ("listscreated", 100),
                ("listcreated", 95),
                ("leadlistscreated", 90),
                ("customlistscreated", 90),
                ("numberoflistscreated", 95),
                ("lists", 70),
            ],
            Field::Ssi => &[
                ("ssi", 100),
                ("socialsellingindex", 100),
                ("ssiscore", 100),
                ("currentssi", 95),
                ("averagessi", 90),
            ],
            Field::PeriodStart => &[
                ("periodstart", 100),
                ("reportperiodstart", 100),
                ("reportstart", 95),
                ("reportstartdate", 95),
                ("startdate", 85),
                ("fromdate", 80),
                ("from", 60),
            ],
            Field::PeriodEnd => &[
                ("periodend", 100),
                ("reportperiodend", 100),
                ("reportend", 95),
                ("reportenddate", 95),
                ("enddate", 85),
                ("todate", 80),
                ("reportdate", 75),
                ("asofdate", 75),
                ("to", 60),
            ],
        }
    }

    /// Lower-scoring rules: the normalised header contains the needle (and none of
    /// the exclusions).
    fn contains_rules(self) -> &'static [(&'static str, &'static [&'static str], u8)] {
        match self {
            Field::Email => &[(
                "email",
                &[
                    "manager",
                    "secondary",
                    "alternate",
                    "other",
                    "second",
                    "verified",
                ],
                30,
            )],
            Field::EmployeeId => &[("employee", &["type", "name", "manager"], 30)],
            Field::LastActive => &[("lastactiv", &["days"], 40)],
            Field::DaysSinceActive => &[("dayssince", &[], 40)],
            Field::Searches => &[("search", &["saved"], 30)],
            Field::ProfileViews => &[("profileview", &[], 40)],
            Field::InmailsSent => &[("inmail", &["accept", "repl", "response", "credit"], 40)],
            Field::Ssi => &[("ssi", &[], 30)],
            _ => &[],
        }
    }

    /// How plausible a (normalised) header is for this field: 0 = not at all.
    pub fn alias_score(self, normalized: &str) -> u8 {
        if normalized.is_empty() {
            return 0;
        }
        if let Some((_, s)) = self.aliases().iter().find(|(a, _)| *a == normalized) {
            return *s;
        }
        self.contains_rules()
            .iter()
            .filter(|(needle, excl, _)| {
                normalized.contains(needle) && !excl.iter().any(|e| normalized.contains(e))
            })
            .map(|(_, _, s)| *s)
            .max()
            .unwrap_or(0)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FileKind {
    /// The fields this kind of file can carry.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            FileKind::Idp => &[
                Email,
                UserName,
                ExternalId,
                EmployeeId,
                FirstName,
                LastName,
                DisplayName,
                Enabled,
            ],
            FileKind::SalesNavUsers => &[
                Email,
                FirstName,
                LastName,
                UniqueUserId,
                SeatId,
                LicenseStatus,
                TeamlinkStatus,
                AdminPermission,
                Groups,
            ],
            FileKind::Usage => &[
                Email,
                Name,
                FirstName,
                LastName,
                LicenseType,
                LastActive,
                DaysSinceActive,
                DaysActive,
                Searches,
                ProfileViews,
                InmailsSent,
                LeadsSaved,
                AccountsSaved,
                ListsCreated,
                Ssi,
                PeriodStart,
                PeriodEnd,
            ],
        }
    }

    /// Groups of fields of which at least one must be mapped.
    pub fn required(self) -> &'static [&'static [Field]] {
        use Field::*;
        match self {
            FileKind::Idp => &[&[Email, UserName, ExternalId, EmployeeId]],
            FileKind::SalesNavUsers => &[&[Email, UniqueUserId]],
            FileKind::Usage => &[&[Email, Name]],
        }
    }
}

/// Logical field → column index (0-based) in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    columns: BTreeMap<Field, usize>,
}

impl ColumnMapping {
    pub fn get(&self, field: Field) -> Option<usize> {
        self.columns.get(&field).copied()
    }

    pub fn set(&mut self, field: Field, column: usize) {
        self.columns.insert(field, column);
    }

    pub fn remove(&mut self, field: Field) {
        self.columns.remove(&field);
    }

    pub fn iter(&self) -> impl Iterator<Item = (Field, usize)> + '_ {
        self.columns.iter().map(|(f, c)| (*f, *c))
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    fn field_of_column(&self, column: usize) -> Option<Field> {
        self.columns
            .iter()
            .find(|(_, c)| **c == column)
            .map(|(f, _)| *f)
    }

    /// Render as a `--map` string, e.g. `email="Work Email",external_id=EmployeeNumber`.
    pub fn to_override_string(&self, headers: &[String]) -> String {
        self.iter()
            .map(|(f, c)| {
                let h = headers.get(c).map(String::as_str).unwrap_or("");
                format!("{}={}", f.name(), quote_if_needed(h))
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn quote_if_needed(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// How an override names a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnRef {
    /// A header as written (matched exactly, else after normalisation).
    Header(String),
    /// 1-based column number, written `#3`.
    Number(usize),
    /// `field=` or `field=-`: do not use any column for this field.
    Ignore,
}

/// An explicit mapping, as given by `--map` or the column-mapping dialog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingOverride {
    pub entries: Vec<(Field, ColumnRef)>,
}

impl MappingOverride {
    pub fn set(&mut self, field: Field, column: ColumnRef) {
        self.entries.retain(|(f, _)| *f != field);
        self.entries.push((field, column));
    }
}

/// Parse `email="Work Email",external_id=EmployeeNumber,groups=#9,display_name=-`.
///
/// Values may be double-quoted (`""` or `\"` inside for a quote); unquoted values
/// run to the next comma and are trimmed. Field names are [`Field::name`]s.
pub fn parse_map_override(s: &str) -> Result<MappingOverride, String> {
    let mut out = MappingOverride::default();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ',' {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        let key = key.trim();
        if i >= chars.len() || chars[i] != '=' {
            return Err(format!(
                "--map: expected field=column, found \"{key}\" (fields: {})",
                field_list()
            ));
        }
        let field = Field::from_name(key)
            .ok_or_else(|| format!("--map: unknown field \"{key}\" (fields: {})", field_list()))?;
        i += 1; // '='
        skip_ws(&mut i);
        let value = if i < chars.len() && chars[i] == '"' {
            i += 1;
            let mut v = String::new();
            loop {
                if i >= chars.len() {
                    return Err(format!("--map: unclosed quote in the value for {field}"));
                }
                match chars[i] {
                    '"' if chars.get(i + 1) == Some(&'"') => {
                        v.push('"');
                        i += 2;
                    }
                    '\\' if chars.get(i + 1) == Some(&'"') => {
                        v.push('"');
                        i += 2;
                    }
                    '"' => {
                        i += 1;
                        break;
                    }
                    c => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            skip_ws(&mut i);
            if i < chars.len() && chars[i] != ',' {
                return Err(format!(
                    "--map: unexpected text after the quoted value for {field}"
                ));
            }
            ColumnRef::Header(v)
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ',' {
                i += 1;
            }
            let v: String = chars[start..i].iter().collect();
            let v = v.trim();
            if v.is_empty() || v == "-" {
                ColumnRef::Ignore
            } else if let Some(n) = v.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
                if n == 0 {
                    return Err(format!("--map: column numbers start at 1 ({field}=#0)"));
                }
                ColumnRef::Number(n)
            } else {
                ColumnRef::Header(v.to_string())
            }
        };
        out.set(field, value);
        if i < chars.len() && chars[i] == ',' {
            i += 1;
        }
    }
    if out.entries.is_empty() {
        return Err("--map: empty mapping".into());
    }
    Ok(out)
}

fn field_list() -> String {
    Field::ALL.map(|f| f.name()).join(", ")
}

/// Why the mapping needs the admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemKind {
    /// None of the listed fields has a column; at least one is required.
    Missing,
    /// Several columns are equally plausible for the field.
    Ambiguous,
}

/// One decision for the column-mapping dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingProblem {
    pub kind: ProblemKind,
    /// `Missing`: choose a column for at least one of these. `Ambiguous`: one field.
    pub fields: Vec<Field>,
    /// Column indices to offer, most plausible first.
    pub candidates: Vec<usize>,
}

/// The structured "needs mapping" result: what to ask, and what was decided so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeedsMapping {
    pub file: String,
    pub format: Format,
    pub headers: Vec<String>,
    /// The automatic choices for the fields that were decided.
    pub proposed: ColumnMapping,
    pub problems: Vec<MappingProblem>,
}

impl fmt::Display for NeedsMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: cannot map the columns automatically", self.file)?;
        for p in &self.problems {
            let fields = p.fields.iter().map(|f| f.name()).collect::<Vec<_>>();
            let cands = p
                .candidates
                .iter()
                .filter_map(|&c| self.headers.get(c))
                .map(|h| format!("\"{h}\""))
                .collect::<Vec<_>>()
                .join(", ");
            match p.kind {
                ProblemKind::Missing => write!(
                    f,
                    "; no column for {} (candidates: {cands})",
                    fields.join(" or ")
                )?,
                ProblemKind::Ambiguous => {
                    write!(f, "; {} could be any of {cands}", fields.join(", "))?
                }
            }
        }
        write!(f, "; choose with --map, e.g. --map email=\"Work Email\"")
    }
}

/// Decide the column for every field of `format`'s kind, applying `ovr` first.
pub fn resolve_mapping(
    file: &str,
    format: Format,
    headers: &[String],
    ovr: Option<&MappingOverride>,
) -> Result<ColumnMapping, ImportError> {
    let kind = format.kind();
    let fields = kind.fields();
    let normalized: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let mut mapping = ColumnMapping::default();
    let mut fixed: Vec<Field> = Vec::new();

    if let Some(ovr) = ovr {
        for (field, col) in &ovr.entries {
            fixed.push(*field);
            let idx = match col {
                ColumnRef::Ignore => continue,
                ColumnRef::Number(n) => {
                    if *n > headers.len() {
                        return Err(ImportError::BadOverride {
                            file: file.to_string(),
                            message: format!(
                                "--map {field}=#{n}: the file has only {} columns",
                                headers.len()
                            ),
                        });
                    }
                    n - 1
                }
                ColumnRef::Header(h) => {
                    let exact: Vec<usize> =
                        (0..headers.len()).filter(|&i| headers[i] == *h).collect();
                    let idx = if exact.len() == 1 {
                        Some(exact[0])
                    } else {
                        let n = normalize_header(h);
                        let norm: Vec<usize> =
                            (0..headers.len()).filter(|&i| normalized[i] == n).collect();
                        if exact.len() > 1 || norm.len() > 1 {
                            return Err(ImportError::BadOverride {
                                file: file.to_string(),
                                message: format!(
                                    "--map {field}=\"{h}\": several columns have that header; \
                                     use a column number like {field}=#{}",
                                    norm.first().or(exact.first()).map_or(1, |i| i + 1)
                                ),
                            });
                        }
                        norm.first().copied()
                    };
                    match idx {
                        Some(i) => i,
                        None => {
                            return Err(ImportError::BadOverride {
                                file: file.to_string(),
                                message: format!(
                                    "--map {field}=\"{h}\": no such column (columns: {})",
                                    headers
                                        .iter()
                                        .map(|h| format!("\"{h}\""))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            })
                        }
                    }
                }
            };
            mapping.set(*field, idx);
        }
    }

    // Automatic choices: strongest matches claim their columns first.
    let mut problems = Vec::new();
    let claimed = |m: &ColumnMapping, c: usize| m.field_of_column(c).is_some();
    let mut order: Vec<(u8, Field)> = fields
        .iter()
        .filter(|f| !fixed.contains(f))
        .map(|&f| {
            let best = normalized
                .iter()
                .map(|n| f.alias_score(n))
                .max()
                .unwrap_or(0);
            (best, f)
        })
        .filter(|(b, _)| *b > 0)
        .collect();
    order.sort_by_key(|o| std::cmp::Reverse(o.0));
    for (_, field) in order {
        let scored: Vec<(u8, usize)> = (0..headers.len())
            .filter(|&c| !claimed(&mapping, c))
            .map(|c| (field.alias_score(&normalized[c]), c))
            .filter(|(s, _)| *s > 0)
            .collect();
        let Some(best) = scored.iter().map(|(s, _)| *s).max() else {
            continue;
        };
        let top: Vec<usize> = scored
            .iter()
            .filter(|(s, _)| *s == best)
            .map(|(_, c)| *c)
            .collect();
        if top.len() == 1 {
            mapping.set(field, top[0]);
        } else {
            problems.push(MappingProblem {
                kind: ProblemKind::Ambiguous,
                fields: vec![field],
                candidates: top,
            });
        }
    }

    for group in kind.required() {
        let satisfied = group.iter().any(|f| mapping.get(*f).is_some());
        let pending = problems
            .iter()
            .any(|p| p.fields.iter().any(|f| group.contains(f)));
        if !satisfied && !pending {
            // Offer unclaimed columns, the most plausible for the group first.
            let mut cands: Vec<(u8, usize)> = (0..headers.len())
                .filter(|&c| !claimed(&mapping, c))
                .map(|c| {
                    let s = group
                        .iter()
                        .map(|f| f.alias_score(&normalized[c]))
                        .max()
                        .unwrap_or(0);
                    (s, c)
                })
                .collect();
            cands.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            problems.push(MappingProblem {
                kind: ProblemKind::Missing,
                fields: group.to_vec(),
                candidates: cands.into_iter().map(|(_, c)| c).collect(),
            });
        }
    }

    if problems.is_empty() {
        Ok(mapping)
    } else {
        Err(ImportError::NeedsMapping(NeedsMapping {
            file: file.to_string(),
            format,
            headers: headers.to_vec(),
            proposed: mapping,
            problems,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_parser() {
        let o = parse_map_override(
            r#"email="Work Email", external_id=EmployeeNumber,groups=#9,display_name=-,name="a ""q"" b""#,
        )
        .unwrap();
        assert_eq!(
            o.entries,
            vec![
                (Field::Email, ColumnRef::Header("Work Email".into())),
                (
                    Field::ExternalId,
                    ColumnRef::Header("EmployeeNumber".into())
                ),
                (Field::Groups, ColumnRef::Number(9)),
                (Field::DisplayName, ColumnRef::Ignore),
                (Field::Name, ColumnRef::Header("a \"q\" b".into())),
            ]
        );
        assert!(parse_map_override("mail=x")
            .unwrap_err()
            .contains("unknown field \"mail\""));
        assert!(parse_map_override("email").is_err());
        assert!(parse_map_override("email=\"x").is_err());
        assert!(parse_map_override("").is_err());
        assert_eq!(
            parse_map_override("External-ID = id").unwrap().entries,
            vec![(Field::ExternalId, ColumnRef::Header("id".into()))]
        );
    }

    #[test]
    fn field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
    }
}
