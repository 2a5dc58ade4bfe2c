//! Recognising a file's format from its headers, with a confidence and a reason.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::mapping::Field;
use super::values::normalize_header;

/// Which records a file yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Identity-provider users → [`super::IdpUser`].
    Idp,
    /// Sales Navigator user export → [`super::SalesNavUser`].
    SalesNavUsers,
    /// Sales Navigator usage report → [`super::UsageRow`].
    Usage,
}

/// A recognised format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Okta app assignments / user export.
    Okta,
    /// Entra ID "users and groups" / users download (API or portal headers).
    EntraId,
    /// Any other list of users with an email, user name, external or employee id.
    GenericIdp,
    /// Sales Navigator admin "Download users via CSV".
    SalesNavUsers,
    /// Sales Navigator usage report.
    SalesNavUsage,
    /// Nothing recognisable; treated as a generic user list (mapping needed).
    Unknown,
}

impl Format {
    pub fn kind(self) -> FileKind {
        match self {
            Format::Okta | Format::EntraId | Format::GenericIdp | Format::Unknown => FileKind::Idp,
            Format::SalesNavUsers => FileKind::SalesNavUsers,
            Format::SalesNavUsage => FileKind::Usage,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Okta => "Okta app assignments",
            Format::EntraId => "Entra ID users",
            Format::GenericIdp => "user list",
            Format::SalesNavUsers => "Sales Navigator user export",
            Format::SalesNavUsage => "Sales Navigator usage report",
            Format::Unknown => "unrecognised file",
        }
    }

    /// Parse `okta`, `entra`, `generic`, `salesnav-users`, `usage` (for `--format`).
    pub fn from_name(s: &str) -> Option<Format> {
        match normalize_header(s).as_str() {
            "okta" => Some(Format::Okta),
            "entra" | "entraid" | "azuread" | "aad" | "azure" => Some(Format::EntraId),
            "generic" | "genericidp" | "idp" => Some(Format::GenericIdp),
            "salesnavusers" | "salesnav" | "users" | "salesnavigatorusers" => {
                Some(Format::SalesNavUsers)
            }
            "usage" | "salesnavusage" | "usagereport" => Some(Format::SalesNavUsage),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The verdict: a format, how sure (0.0–1.0), and why (for the UI and `--verbose`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub format: Format,
    pub confidence: f32,
    pub reason: String,
}

const SALESNAV_SIGNS: &[&str] = &[
    "invitedemailaddress",
    "preferredfirstname",
    "preferredlastname",
    "uniqueuserid",
    "seatid",
    "saleslicensecurrentstatus",
    "teamlinkextendlicensecurrentstatus",
    "adminpermission",
];

const ENTRA_SIGNS: &[(&str, u32)] = &[
    ("userprincipalname", 3),
    ("objectid", 3),
    ("accountenabled", 3),
    ("usertype", 2),
    ("creationtype", 2),
    ("directorysynced", 2),
    ("onpremisessyncenabled", 2),
    ("mailnickname", 2),
    ("usagelocation", 2),
    ("identityissuer", 2),
    ("invitationstate", 2),
    ("givenname", 1),
    ("surname", 1),
    ("mail", 1),
    ("blocksignin", 2),
    ("objecttype", 2),
    ("principalid", 3),
    ("principaltype", 2),
    ("principaldisplayname", 2),
    ("approleid", 2),
];

const OKTA_SIGNS: &[(&str, u32)] = &[
    ("login", 3),
    ("oktaid", 3),
    ("oktauserid", 3),
    ("oktausername", 3),
    ("primaryemail", 2),
    ("secondemail", 2),
    ("secondaryemail", 1),
    ("statuschanged", 2),
    ("passwordchanged", 2),
    ("lastlogin", 1),
    ("activated", 1),
    ("employeenumber", 2),
    ("username", 1),
    ("status", 1),
    ("firstname", 1),
    ("lastname", 1),
];

fn names(found: &[&str]) -> String {
    found.join(", ")
}

/// Whether `headers` are those of a per-user file navscim wrote itself (the Users
/// pane's export, `navscim lookup --out x.csv`: [`crate::report::CSV_HEADER`]).
pub fn is_own_export(headers: &[String]) -> bool {
    let norm: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    [
        "email",
        "username",
        "externalid",
        "scimid",
        "matchedby",
        "presence",
    ]
    .iter()
    .all(|sign| norm.iter().any(|h| h == sign))
}

/// Recognise the format from the header cells.
pub fn detect(headers: &[String]) -> Detection {
    if is_own_export(headers) {
        // A list of users like any IdP's: its identifiers are read, its lookup
        // results are not believed (they are looked up again).
        return Detection {
            format: Format::GenericIdp,
            confidence: 0.99,
            reason: "navscim's own export (email, user_name, external_id, name)".into(),
        };
    }
    let norm: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let has = |n: &str| norm.iter().any(|h| h == n);
    let shown = |n: &str| -> String {
        norm.iter()
            .position(|h| h == n)
            .map(|i| headers[i].clone())
            .unwrap_or_default()
    };

    // (b) Sales Navigator user export.
    let sn: Vec<&str> = SALESNAV_SIGNS.iter().copied().filter(|s| has(s)).collect();
    if sn.len() >= 2 {
        let shown: Vec<String> = sn.iter().map(|s| shown(s)).collect();
        return Detection {
            format: Format::SalesNavUsers,
            confidence: (0.6 + 0.05 * sn.len() as f32).min(0.99),
            reason: format!("Sales Navigator user export columns: {}", shown.join(", ")),
        };
    }

    // (c) Usage report: activity metrics.
    let metrics = [
        Field::DaysActive,
        Field::Searches,
        Field::ProfileViews,
        Field::InmailsSent,
        Field::LeadsSaved,
        Field::AccountsSaved,
        Field::ListsCreated,
        Field::Ssi,
        Field::LastActive,
        Field::DaysSinceActive,
    ];
    let mut usage_found: Vec<String> = Vec::new();
    for f in metrics {
        if let Some(i) = norm.iter().position(|h| f.alias_score(h) >= 80) {
            usage_found.push(headers[i].clone());
        }
    }
    if usage_found.len() >= 2 {
        return Detection {
            format: Format::SalesNavUsage,
            confidence: (0.5 + 0.07 * usage_found.len() as f32).min(0.99),
            reason: format!("usage metric columns: {}", usage_found.join(", ")),
        };
    }

    // (a) Identity providers.
    let score = |signs: &[(&str, u32)]| -> (u32, Vec<String>) {
        let found: Vec<&str> = signs
            .iter()
            .filter(|(s, _)| has(s))
            .map(|(s, _)| *s)
            .collect();
        let total = signs.iter().filter(|(s, _)| has(s)).map(|(_, w)| *w).sum();
        (total, found.iter().map(|s| shown(s)).collect())
    };
    let (entra, entra_found) = score(ENTRA_SIGNS);
    let (okta, okta_found) = score(OKTA_SIGNS);
    let entra_strong =
        has("userprincipalname") || has("objectid") || has("accountenabled") || has("principalid");
    if entra >= 4 && entra > okta && entra_strong {
        return Detection {
            format: Format::EntraId,
            confidence: (0.5 + 0.06 * entra as f32).min(0.97),
            reason: format!(
                "Entra ID columns: {}",
                names(&entra_found.iter().map(String::as_str).collect::<Vec<_>>())
            ),
        };
    }
    if okta >= 4 && okta >= entra {
        return Detection {
            format: Format::Okta,
            confidence: (0.45 + 0.06 * okta as f32).min(0.95),
            reason: format!(
                "Okta columns: {}",
                names(&okta_found.iter().map(String::as_str).collect::<Vec<_>>())
            ),
        };
    }

    let ids = [
        Field::Email,
        Field::UserName,
        Field::ExternalId,
        Field::EmployeeId,
    ];
    let mut id_found = Vec::new();
    for f in ids {
        if let Some(i) = norm.iter().position(|h| f.alias_score(h) >= 50) {
            id_found.push(format!("{} ({})", headers[i], f.name()));
        }
    }
    if !id_found.is_empty() {
        return Detection {
            format: Format::GenericIdp,
            confidence: (0.4 + 0.1 * id_found.len() as f32).min(0.8),
            reason: format!("user identifier columns: {}", id_found.join(", ")),
        };
    }
    Detection {
        format: Format::Unknown,
        confidence: 0.0,
        reason: "no known column headers".into(),
    }
}
