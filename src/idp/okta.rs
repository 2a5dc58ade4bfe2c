//! Okta: the users assigned an app, over the Okta Management API.
//!
//! - Authentication: an API token (`Authorization: SSWS <token>`) or an OAuth 2.0
//!   access token of a service app (`Authorization: Bearer <token>`, scopes
//!   `okta.apps.read`, `okta.users.read`, `okta.groups.read`). The token's admin needs at least the
//!   Read-only Administrator role.
//! - The app: by id (`GET /api/v1/apps/{appId}`), else by label
//!   (`GET /api/v1/apps?q=LABEL`, exact label match, case-insensitive).
//! - The users: `GET /api/v1/apps/{appId}/users?limit=N`, page by page following the
//!   `Link: <…>; rel="next"` header (only on the org's own origin). Read per app user:
//!   `id`, `externalId`, `scope` (`USER` = direct, `GROUP` = through a group),
//!   `status`, `credentials.userName`, `profile.email`, `profile.given_name` /
//!   `firstName`, `profile.family_name` / `lastName`, `profile.displayName` / `name`,
//!   `profile.employeeNumber` / `employeeId`.
//! - Groups: the app-user listing says only `scope: GROUP`. When some users have it,
//!   the app's group assignments (`GET /api/v1/apps/{appId}/groups?expand=group`) and
//!   their members (`GET /api/v1/groups/{groupId}/users`) name the groups ("Okta, via
//!   group Sales EMEA"); a user assigned directly and through groups gets both. If the
//!   groups cannot be read (an OAuth token also needs `okta.groups.read`), the users
//!   still load "via a group" and the listing carries a warning.
//! - Rate limits: after every answer the `X-Rate-Limit-Limit` / `-Remaining` /
//!   `-Reset` headers are read; when nothing remains the client waits for the reset
//!   before the next request (pacing before a 429). A 429 (or 503) is waited out
//!   (`Retry-After`, else `X-Rate-Limit-Reset`) and retried, up to 8 times a request.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::http::{self, Pacer};
use super::{
    AppInfo, AssignedUser, IdpError, IdpEvent, Listing, Merger, Provenance, Provider, Via,
};
use crate::import::values::parse_enabled;
use crate::import::{IdpUser, SourceRef};
use crate::secret::Token;

const P: &str = "Okta";

/// The `Authorization` scheme of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OktaAuth {
    /// An API token: `Authorization: SSWS <token>`.
    #[default]
    Ssws,
    /// An OAuth 2.0 access token: `Authorization: Bearer <token>`.
    Bearer,
}

/// What the Okta client needs.
#[derive(Debug, Clone)]
pub struct OktaConfig {
    /// The org URL, e.g. `https://example.okta.com` (`/api/v1/…` is appended).
    pub org_url: String,
    pub token: Token,
    pub auth: OktaAuth,
    /// `limit` of each page of app users (Okta allows up to 500).
    pub page_size: u32,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Extra PEM CA certificates to trust (`--ca-file`).
    pub ca_file: Option<std::path::PathBuf>,
}

impl OktaConfig {
    pub fn new(org_url: impl Into<String>, token: Token, auth: OktaAuth) -> Self {
        OktaConfig {
            org_url: org_url.into(),
            token,
            auth,
            page_size: 200,
            timeout: Duration::from_secs(30),
            ca_file: None,
        }
    }
}

/// A client of one Okta org.
pub struct OktaClient {
    http: reqwest::Client,
    base: Url,
    config: OktaConfig,
    pacer: Pacer,
    throttle: http::Throttle,
}

impl OktaClient {
    pub fn new(config: OktaConfig) -> Result<Self, IdpError> {
        let mut base = Url::parse(config.org_url.trim())
            .map_err(|e| IdpError::Config(format!("Okta org URL {:?}: {e}", config.org_url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(IdpError::Config(format!(
                "Okta org URL {:?}: not an http(s) URL",
                config.org_url
            )));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        if config.token.is_empty() {
            return Err(IdpError::Config("Okta: the API token is empty".into()));
        }
        let http = http::client(P, config.timeout, config.ca_file.as_deref())?;
        Ok(OktaClient {
            http,
            base,
            config,
            pacer: Pacer::default(),
            throttle: http::Throttle::default(),
        })
    }

    fn url(&self, path_and_query: &str) -> Url {
        self.base.join(path_and_query).expect("relative API path")
    }

    /// One GET with pacing, 429/503 retries and error mapping. 404 is returned to the
    /// caller; other non-2xx answers become errors.
    async fn get(
        &self,
        url: &Url,
        what: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<reqwest::Response, IdpError> {
        let auth = match self.config.auth {
            OktaAuth::Ssws => format!("SSWS {}", self.config.token.expose()),
            OktaAuth::Bearer => format!("Bearer {}", self.config.token.expose()),
        };
        let resp = http::send_retrying(P, what, &self.throttle, on_event, || async {
            self.pacer.before_request(&self.throttle, on_event).await;
            let resp = self
                .http
                .get(url.clone())
                .header("Authorization", &auth)
                .header("Accept", "application/json")
                .send()
                .await
                .map_err(|e| http::network(P, url, e))?;
            self.pacer.observe(resp.headers(), &self.throttle);
            Ok(resp)
        })
        .await?;
        let (status, body) = match http::success_or_404(resp).await {
            Ok(resp) => return Ok(resp),
            Err(refused) => refused,
        };
        let summary = okta_error_summary(&body);
        Err(http::status_error(P, what, status, &summary, || {
            "an admin role that can read apps and users (Read-only Administrator); an OAuth \
             token also needs the okta.apps.read, okta.users.read and okta.groups.read scopes"
                .into()
        }))
    }

    /// Finds the app by id, else by exact label.
    pub async fn find_app(
        &self,
        app: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<AppInfo, IdpError> {
        let app = app.trim();
        let looks_like_id = app.len() >= 8
            && !app.contains(char::is_whitespace)
            && app.chars().all(|c| c.is_ascii_alphanumeric());
        if looks_like_id {
            let url = self.url(&format!("api/v1/apps/{}", http::seg(app)));
            let resp = self.get(&url, "GET /api/v1/apps/{appId}", on_event).await?;
            if resp.status().is_success() {
                let v: Value = http::json(P, "GET /api/v1/apps/{appId}", resp).await?;
                return app_info(&v).ok_or_else(|| IdpError::Server {
                    provider: P,
                    detail: "GET /api/v1/apps/{appId}: the app has no id".into(),
                });
            }
        }
        let mut url = self.url("api/v1/apps");
        url.query_pairs_mut()
            .append_pair("q", app)
            .append_pair("limit", "200");
        let resp = self.get(&url, "GET /api/v1/apps?q=", on_event).await?;
        if !resp.status().is_success() {
            return Err(IdpError::Server {
                provider: P,
                detail: format!("GET /api/v1/apps?q=: {}", resp.status()),
            });
        }
        let apps: Vec<Value> = http::json(P, "GET /api/v1/apps?q=", resp).await?;
        let found: Vec<AppInfo> = apps.iter().filter_map(app_info).collect();
        let exact: Vec<&AppInfo> = found
            .iter()
            .filter(|a| a.label.trim().eq_ignore_ascii_case(app))
            .collect();
        match exact.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(IdpError::AppNotFound {
                provider: P,
                app: app.to_string(),
                candidates: found
                    .iter()
                    .take(10)
                    .map(|a| format!("{} ({})", a.label, a.id))
                    .collect(),
            }),
            many => Err(IdpError::AppAmbiguous {
                provider: P,
                app: app.to_string(),
                candidates: many
                    .iter()
                    .map(|a| format!("{} ({})", a.label, a.id))
                    .collect(),
            }),
        }
    }

    /// Reads every user assigned `app` (id or label).
    pub async fn fetch(
        self,
        source: &str,
        app: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<Listing, IdpError> {
        let found = self.find_app(app, on_event).await?;
        on_event(IdpEvent::Authenticated);
        on_event(IdpEvent::AppFound(found.clone()));
        let mut url = self.url(&format!("api/v1/apps/{}/users", http::seg(&found.id)));
        url.query_pairs_mut()
            .append_pair("limit", &self.config.page_size.to_string());
        let mut merger = Merger::default();
        let (mut assignments, mut group_assignments) = (0usize, 0usize);
        {
            let mut each = |v: &Value| -> Result<(), String> {
                let user = app_user(v)?;
                assignments += 1;
                if user.provenance.iter().any(|p| p.via != Via::Direct) {
                    group_assignments += 1;
                }
                merger.add(user);
                if assignments.is_multiple_of(1000) {
                    on_event(IdpEvent::Page { assignments });
                }
                Ok(())
            };
            self.all_pages(url, "GET /api/v1/apps/{appId}/users", on_event, &mut each)
                .await?;
        }
        on_event(IdpEvent::Page { assignments });
        let mut users = merger.into_users();
        let mut warnings = Vec::new();
        if group_assignments > 0 {
            // The app-user listing says only "scope GROUP": name the groups from the
            // app's group assignments and their members. Without the right to read
            // groups the users still load, "via a group".
            match self.group_memberships(&found.id, on_event).await {
                Ok(memberships) => name_groups(&mut users, &memberships),
                Err(e) => warnings.push(format!("the assigned groups were not named: {e}")),
            }
        }
        Ok(Listing {
            provider: Provider::Okta,
            source: source.to_string(),
            app: found,
            assignments,
            group_assignments,
            users,
            stats: self.throttle.stats(),
            warnings,
        })
    }

    /// Follows `Link: rel="next"` from `url`, calling `each` on every item (a page at a
    /// time is held, not the whole list).
    async fn all_pages(
        &self,
        url: Url,
        what: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
        each: &mut (dyn FnMut(&Value) -> Result<(), String> + Send),
    ) -> Result<(), IdpError> {
        let get_page = |url: Url| async move {
            let resp = self.get(&url, what, on_event).await?;
            if !resp.status().is_success() {
                return Err(IdpError::Server {
                    provider: P,
                    detail: format!(
                        "{what}: {} (the app vanished while listing?)",
                        resp.status()
                    ),
                });
            }
            let next = http::link_next(resp.headers());
            let page: Vec<Value> = http::json(P, what, resp).await?;
            Ok((page, next))
        };
        http::follow_pages(P, &self.base, url, what, &self.throttle, get_page, each).await
    }

    /// user id -> the assigned groups (id, name) holding the user, in assignment order:
    /// `GET /api/v1/apps/{appId}/groups?expand=group`, then
    /// `GET /api/v1/groups/{groupId}/users` of each.
    async fn group_memberships(
        &self,
        app_id: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<HashMap<String, Vec<(String, String)>>, IdpError> {
        let limit = self.config.page_size.to_string();
        let mut url = self.url(&format!("api/v1/apps/{}/groups", http::seg(app_id)));
        url.query_pairs_mut()
            .append_pair("limit", &limit)
            .append_pair("expand", "group");
        let mut groups: Vec<(String, String)> = Vec::new();
        let mut each = |g: &Value| {
            if let Some(gid) = text(g, &["id"]) {
                let name =
                    text(g, &["_embedded", "group", "profile", "name"]).unwrap_or(gid.clone());
                groups.push((gid, name));
            }
            Ok(())
        };
        self.all_pages(url, "GET /api/v1/apps/{appId}/groups", on_event, &mut each)
            .await?;
        let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (gid, name) in &groups {
            let mut url = self.url(&format!("api/v1/groups/{}/users", http::seg(gid)));
            url.query_pairs_mut().append_pair("limit", &limit);
            let mut count = 0usize;
            let mut each = |m: &Value| {
                if let Some(uid) = text(m, &["id"]) {
                    count += 1;
                    out.entry(uid)
                        .or_default()
                        .push((gid.clone(), name.clone()));
                }
                Ok(())
            };
            self.all_pages(
                url,
                "GET /api/v1/groups/{groupId}/users",
                on_event,
                &mut each,
            )
            .await?;
            on_event(IdpEvent::GroupExpanded {
                group: name.clone(),
                users: count,
            });
        }
        Ok(out)
    }
}

/// Replaces "via a group" with the named groups holding each user, and adds them after
/// a direct assignment (a user assigned directly and through groups is one user).
fn name_groups(users: &mut [AssignedUser], memberships: &HashMap<String, Vec<(String, String)>>) {
    for u in users {
        let Some(groups) = memberships.get(&u.idp_id) else {
            continue;
        };
        u.provenance.retain(|p| {
            !matches!(
                p.via,
                Via::Group {
                    id: None,
                    name: None
                }
            )
        });
        for (id, name) in groups {
            let p = Provenance {
                provider: Provider::Okta,
                via: Via::Group {
                    id: Some(id.clone()),
                    name: Some(name.clone()),
                },
            };
            if !u.provenance.contains(&p) {
                u.provenance.push(p);
            }
        }
        if let Some(first) = u.provenance.first() {
            u.record.source.file = first.to_string();
        }
    }
}

fn okta_error_summary(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let code = v.get("errorCode").and_then(Value::as_str).unwrap_or("");
            let summary = v.get("errorSummary").and_then(Value::as_str)?;
            Some(format!("{code} {summary}").trim().to_string())
        })
        .unwrap_or_else(|| http::short(body))
}

fn app_info(v: &Value) -> Option<AppInfo> {
    Some(AppInfo {
        id: v.get("id")?.as_str()?.to_string(),
        label: v
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        app_id: None,
    })
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut at = v;
    for p in path {
        at = at.get(p)?;
    }
    at.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// One Okta app user as an [`AssignedUser`].
fn app_user(v: &Value) -> Result<AssignedUser, String> {
    let id = text(v, &["id"]).ok_or("an app user without an id")?;
    let first = |keys: &[&str]| keys.iter().find_map(|k| text(v, &["profile", k]));
    let status = text(v, &["status"]);
    let via = match text(v, &["scope"])
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("GROUP") => Via::Group {
            id: None,
            name: None,
        },
        _ => Via::Direct,
    };
    let provenance = Provenance {
        provider: Provider::Okta,
        via,
    };
    let record = IdpUser {
        email: first(&["email"]),
        user_name: text(v, &["credentials", "userName"]),
        external_id: Some(id.clone()),
        employee_id: first(&["employeeNumber", "employeeId"]),
        first_name: first(&["given_name", "firstName"]),
        last_name: first(&["family_name", "lastName"]),
        display_name: first(&["displayName", "name"]),
        enabled: status.as_deref().and_then(parse_enabled),
        source: SourceRef {
            file: provenance.to_string(),
            line: 0,
        },
    };
    Ok(AssignedUser {
        idp_id: id,
        record,
        status,
        aliases: Vec::new(),
        provenance: vec![provenance],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_user_fields_are_read() {
        let v: Value = serde_json::json!({
            "id": "00u1", "externalId": "x", "scope": "GROUP", "status": "SUSPENDED",
            "credentials": {"userName": "ann@corp.example"},
            "profile": {"email": "Ann@corp.example", "given_name": "Ann", "family_name": "Lee",
                        "employeeNumber": "E1"}
        });
        let u = app_user(&v).unwrap();
        assert_eq!(u.record.email.as_deref(), Some("Ann@corp.example"));
        assert_eq!(u.record.user_name.as_deref(), Some("ann@corp.example"));
        assert_eq!(u.record.employee_id.as_deref(), Some("E1"));
        assert_eq!(u.record.enabled, Some(false));
        assert_eq!(u.provenance[0].to_string(), "Okta, via a group");
    }
}
