//! Sources of users: CSV files and identity-provider connections (issue 12).
//!
//! A [`Source`] is a CSV export or an identity provider's app assignments read over its
//! API ([`okta`], [`entra`]). Users read from an identity provider become the same
//! [`IdpUser`] records the CSV importers produce, packed into an [`Import`] by
//! [`Listing::to_import`], so the merged user list ([`crate::matching::Directory`]), the
//! lookups and the identity corroboration treat them exactly like users from a file.
//!
//! Each user carries its [`Provenance`]: "Okta app assignment", "Entra ID, via group
//! Sales EMEA". A user assigned directly and through one or more groups is **one**
//! [`AssignedUser`] with several provenances (keyed by the provider's user id).
//!
//! # Use from the TUI runtime
//!
//! [`fetch`] is an `async fn` that returns the whole [`Listing`] and reports
//! [`IdpEvent`]s to a callback while it runs (a runtime wraps an `mpsc` sender in the
//! callback and turns the events into actions). Secrets are [`Token`]s: they are never in
//! a `Debug`, an error or an event; every error text is also scrubbed of them.

pub mod cli;
pub mod entra;
mod http;
pub mod okta;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::import::{
    ColumnMapping, Detection, Encoding, Format, IdpUser, Import, ImportData, SourceRef,
};
use crate::secret::Token;

/// Which identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Okta,
    /// Microsoft Entra ID (formerly Azure AD), read over Microsoft Graph.
    Entra,
}

impl Provider {
    /// "Okta" / "Entra ID".
    pub fn label(self) -> &'static str {
        match self {
            Provider::Okta => "Okta",
            Provider::Entra => "Entra ID",
        }
    }

    /// The prefix of a `--source` value: `okta` / `entra`.
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::Okta => "okta",
            Provider::Entra => "entra",
        }
    }
}

/// Where users come from: a CSV export, or an identity provider's assignments of one
/// app (`APP` is the app's id or its label / display name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Csv(PathBuf),
    Idp { provider: Provider, app: String },
}

impl Source {
    /// Parses a `--source` value: `okta:APP`, `entra:APP`, `csv:PATH` or a path.
    pub fn parse(s: &str) -> Result<Source, String> {
        let idp = |provider: Provider, app: &str| {
            let app = app.trim();
            if app.is_empty() {
                Err(format!(
                    "source {s:?}: name the app after \"{}:\" (its id or label)",
                    provider.prefix()
                ))
            } else {
                Ok(Source::Idp {
                    provider,
                    app: app.to_string(),
                })
            }
        };
        if let Some(app) = s.strip_prefix("okta:") {
            return idp(Provider::Okta, app);
        }
        if let Some(app) = s.strip_prefix("entra:") {
            return idp(Provider::Entra, app);
        }
        let path = s.strip_prefix("csv:").unwrap_or(s);
        if path.trim().is_empty() {
            return Err("an empty source".into());
        }
        Ok(Source::Csv(PathBuf::from(path)))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Csv(p) => write!(f, "{}", p.display()),
            Source::Idp { provider, app } => write!(f, "{}:{app}", provider.prefix()),
        }
    }
}

/// How a user came to be assigned the app.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Via {
    /// Assigned to the user directly.
    Direct,
    /// Through a group assignment. Okta's app-user listing says only that the scope is
    /// `GROUP`, not which group: `name` is then `None`. Entra ID names the assigned
    /// group (a user in a nested group is "via" the group that holds the assignment).
    Group {
        id: Option<String>,
        name: Option<String>,
    },
}

/// Where one assignment of a user came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub provider: Provider,
    pub via: Via,
}

impl fmt::Display for Provenance {
    /// "Okta app assignment", "Okta, via a group", "Entra ID app assignment",
    /// "Entra ID, via group Sales EMEA".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.provider.label();
        match &self.via {
            Via::Direct => write!(f, "{p} app assignment"),
            Via::Group { name: Some(n), .. } => write!(f, "{p}, via group {n}"),
            Via::Group { name: None, .. } => write!(f, "{p}, via a group"),
        }
    }
}

/// One user assigned the app, merged over every assignment that reaches them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedUser {
    /// The provider's user id (Okta `id`, Entra object `id`): the merge key.
    pub idp_id: String,
    /// The record the CSV importers would produce. Its `source` is the first
    /// provenance; [`Listing::to_import`] adds one row per provenance.
    pub record: IdpUser,
    /// The status as the provider says it (Okta app-user `status` such as `ACTIVE`,
    /// `PROVISIONED`, `DEPROVISIONED`; Entra `accountEnabled` as `enabled`/`disabled`).
    pub status: Option<String>,
    /// Further addresses the provider knows (Entra `otherMails`, `proxyAddresses`
    /// without their `smtp:` prefix). Shown, not used for matching.
    pub aliases: Vec<String>,
    /// Every assignment that reaches this user, without repeats, in the order found.
    pub provenance: Vec<Provenance>,
}

/// The app found in the identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// Okta app id (`0oa…`); Entra service principal object id.
    pub id: String,
    /// Okta `label`; Entra `displayName`.
    pub label: String,
    /// Entra `appId` (the application/client id); `None` for Okta.
    pub app_id: Option<String>,
}

/// Counters of one listing; `limit_share` is the highest share of an announced rate
/// limit used in one window (Okta `X-Rate-Limit-*` headers), 0–1, `None` when the
/// provider announced no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdpStats {
    pub requests: u64,
    /// 429 / 503 answers received (each was waited out and retried).
    pub throttled: u64,
    /// Times the client paused before a request because the announced limit was spent.
    pub paced: u64,
    /// Access tokens obtained (Entra: the first one plus renewals).
    pub tokens_obtained: u64,
    pub pages: u64,
    pub limit_share: Option<f64>,
}

/// Everything read from one identity-provider source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub provider: Provider,
    /// The source as written (`okta:Sales Navigator`).
    pub source: String,
    pub app: AppInfo,
    /// Assignments read (user and group assignments, before expanding groups).
    pub assignments: usize,
    /// Group assignments among them.
    pub group_assignments: usize,
    /// The merged users, in the order first found.
    pub users: Vec<AssignedUser>,
    pub stats: IdpStats,
    /// What did not stop the listing but is worth telling (e.g. Okta groups that could
    /// not be named).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Listing {
    /// The users as an identity-provider [`Import`]: one [`IdpUser`] row per
    /// provenance of each user (the directory merges them into one user with every
    /// provenance in its sources). A row's [`SourceRef`] is
    /// `{file: "Entra ID, via group Sales EMEA", line: N}` where N is the user's
    /// position in this listing (1-based).
    pub fn to_import(&self) -> Import {
        let mut rows = Vec::with_capacity(self.users.len());
        for (i, u) in self.users.iter().enumerate() {
            for p in &u.provenance {
                let mut row = u.record.clone();
                row.source = SourceRef {
                    file: p.to_string(),
                    line: i as u64 + 1,
                };
                rows.push(row);
            }
        }
        let format = match self.provider {
            Provider::Okta => Format::Okta,
            Provider::Entra => Format::EntraId,
        };
        Import {
            file: self.source.clone(),
            detection: Detection {
                format,
                confidence: 1.0,
                reason: format!("read from the {} API", self.provider.label()),
            },
            headers: Vec::new(),
            mapping: ColumnMapping::default(),
            encoding: Encoding::Utf8,
            delimiter: b',',
            rows_read: rows.len(),
            data: ImportData::Idp(rows),
            errors: Vec::new(),
            warnings: Vec::new(),
            duplicates: Vec::new(),
            report_period: None,
            date_order: None,
        }
    }
}

/// Merges assignments into users keyed by the provider's user id.
#[derive(Debug, Default)]
pub struct Merger {
    users: Vec<AssignedUser>,
    by_id: HashMap<String, usize>,
}

impl Merger {
    /// Adds one assignment of `user`; a user seen before gains the provenance only
    /// (once), and fields it lacked.
    pub fn add(&mut self, user: AssignedUser) {
        match self.by_id.get(&user.idp_id) {
            Some(&at) => {
                let known = &mut self.users[at];
                for p in user.provenance {
                    if !known.provenance.contains(&p) {
                        known.provenance.push(p);
                    }
                }
                let (k, r) = (&mut known.record, user.record);
                fill(&mut k.email, r.email);
                fill(&mut k.user_name, r.user_name);
                fill(&mut k.employee_id, r.employee_id);
                fill(&mut k.first_name, r.first_name);
                fill(&mut k.last_name, r.last_name);
                fill(&mut k.display_name, r.display_name);
                if k.enabled.is_none() {
                    k.enabled = r.enabled;
                }
            }
            None => {
                self.by_id.insert(user.idp_id.clone(), self.users.len());
                self.users.push(user);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn into_users(self) -> Vec<AssignedUser> {
        self.users
    }
}

fn fill(slot: &mut Option<String>, value: Option<String>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// Progress of a [`fetch`], for a progress line or the TUI.
#[derive(Debug, Clone, PartialEq)]
pub enum IdpEvent {
    /// Credentials accepted (Entra: a Graph token was issued).
    Authenticated,
    AppFound(AppInfo),
    /// Another page of assignments read; `assignments` so far.
    Page {
        assignments: usize,
    },
    /// A group's members were read.
    GroupExpanded {
        group: String,
        users: usize,
    },
    /// Waiting before the next request: the announced limit is spent, or a 429/503.
    Waiting {
        seconds: f64,
        why: String,
    },
    /// The access token was renewed (before expiry, or after the server said it expired).
    TokenRenewed,
}

/// Why a listing failed. Texts never hold a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IdpError {
    /// The credentials were refused (401, `invalid_client`, Okta `E0000011`).
    #[error("{provider}: the credentials were refused: {detail}")]
    Auth {
        provider: &'static str,
        detail: String,
    },
    /// Authenticated, but not allowed to read something (403): `needed` names the
    /// permission or admin role that grants it.
    #[error("{provider}: not allowed: {detail} (needs {needed})")]
    Forbidden {
        provider: &'static str,
        detail: String,
        needed: String,
    },
    /// No app with that id or label.
    #[error("{provider}: no app {app:?} found{}", candidates_text(.candidates))]
    AppNotFound {
        provider: &'static str,
        app: String,
        candidates: Vec<String>,
    },
    /// More than one app has that label: name it by id.
    #[error("{provider}: {app:?} names more than one app; use its id: {}", .candidates.join(", "))]
    AppAmbiguous {
        provider: &'static str,
        app: String,
        candidates: Vec<String>,
    },
    #[error("{provider}: cannot reach {url}: {detail}")]
    Network {
        provider: &'static str,
        url: String,
        detail: String,
    },
    /// An answer that cannot be believed or used (bad JSON, a next link to another
    /// host, 5xx after retries, still throttled after retries).
    #[error("{provider}: unexpected answer: {detail}")]
    Server {
        provider: &'static str,
        detail: String,
    },
    /// Missing or unreadable settings (no org URL, no token…).
    #[error("{0}")]
    Config(String),
}

fn candidates_text(c: &[String]) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!("; apps whose name is close: {}", c.join(", "))
    }
}

impl IdpError {
    /// The exit code (see [`crate::cli::exit`]): 3 refused credentials or missing
    /// permission, 4 network, 5 unexpected answer, 2 settings or app not found.
    pub fn exit_code(&self) -> i32 {
        // The one mapping of kinds to exit codes (shared with the dashboard).
        crate::error::AppError::from(self.clone()).exit_code()
    }

    /// The same error with every occurrence of the secrets replaced by `***`.
    pub(crate) fn scrubbed(self, secrets: &[&Token]) -> IdpError {
        let s = |t: String| scrub(&t, secrets);
        match self {
            IdpError::Auth { provider, detail } => IdpError::Auth {
                provider,
                detail: s(detail),
            },
            IdpError::Forbidden {
                provider,
                detail,
                needed,
            } => IdpError::Forbidden {
                provider,
                detail: s(detail),
                needed,
            },
            IdpError::Network {
                provider,
                url,
                detail,
            } => IdpError::Network {
                provider,
                url: s(url),
                detail: s(detail),
            },
            IdpError::Server { provider, detail } => IdpError::Server {
                provider,
                detail: s(detail),
            },
            IdpError::Config(t) => IdpError::Config(s(t)),
            other => other,
        }
    }
}

/// `text` with every non-trivial secret replaced by `***`.
pub fn scrub(text: &str, secrets: &[&Token]) -> String {
    // Every `Token` is in the process-wide registry already; `secrets` are scrubbed
    // again in case one was made some other way. Every encoding, every cut (crate::secret).
    secrets.iter().fold(crate::secret::scrub(text), |out, t| {
        crate::secret::scrub_also(&out, t.expose())
    })
}

/// Connection settings of one identity provider, with its secret already read.
#[derive(Debug, Clone)]
pub enum Connection {
    Okta(okta::OktaConfig),
    Entra(entra::EntraConfig),
}

impl Connection {
    pub fn provider(&self) -> Provider {
        match self {
            Connection::Okta(_) => Provider::Okta,
            Connection::Entra(_) => Provider::Entra,
        }
    }
}

/// Reads the users assigned `app` (id or label) over `connection`, reporting progress
/// to `on_event`. `source` is the source as the admin wrote it (kept in the listing).
pub async fn fetch(
    connection: &Connection,
    source: &str,
    app: &str,
    on_event: &(dyn Fn(IdpEvent) + Send + Sync),
) -> Result<Listing, IdpError> {
    match connection {
        Connection::Okta(c) => okta::OktaClient::new(c.clone())?
            .fetch(source, app, on_event)
            .await
            .map_err(|e| e.scrubbed(&[&c.token])),
        Connection::Entra(c) => entra::EntraClient::new(c.clone())?
            .fetch(source, app, on_event)
            .await
            .map_err(|e| e.scrubbed(&[&c.client_secret])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, email: &str, via: Via) -> AssignedUser {
        AssignedUser {
            idp_id: id.into(),
            record: IdpUser {
                email: Some(email.into()),
                user_name: None,
                external_id: Some(id.into()),
                employee_id: None,
                first_name: None,
                last_name: None,
                display_name: None,
                enabled: Some(true),
                source: SourceRef {
                    file: String::new(),
                    line: 0,
                },
            },
            status: None,
            aliases: vec![],
            provenance: vec![Provenance {
                provider: Provider::Entra,
                via,
            }],
        }
    }

    #[test]
    fn sources_parse() {
        assert_eq!(
            Source::parse("okta:Sales Navigator").unwrap(),
            Source::Idp {
                provider: Provider::Okta,
                app: "Sales Navigator".into()
            }
        );
        assert_eq!(
            Source::parse("a.csv").unwrap(),
            Source::Csv(PathBuf::from("a.csv"))
        );
        assert!(Source::parse("entra:").is_err());
    }

    #[test]
    fn direct_and_group_assignments_are_one_user_with_both_provenances() {
        let mut m = Merger::default();
        m.add(user("u1", "a@x.example", Via::Direct));
        let emea = Via::Group {
            id: Some("g1".into()),
            name: Some("Sales EMEA".into()),
        };
        m.add(user("u1", "a@x.example", emea.clone()));
        m.add(user("u1", "a@x.example", emea));
        m.add(user("u2", "b@x.example", Via::Direct));
        let users = m.into_users();
        assert_eq!(users.len(), 2);
        let shown: Vec<String> = users[0].provenance.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            ["Entra ID app assignment", "Entra ID, via group Sales EMEA"]
        );
    }

    #[test]
    fn scrub_replaces_secrets() {
        let t = Token::new("s3cr3t-value");
        assert_eq!(scrub("bad s3cr3t-value here", &[&t]), "bad *** here");
    }
}
