//! Microsoft Entra ID: the users assigned an enterprise app, over Microsoft Graph.
//!
//! - Authentication: OAuth 2.0 client credentials. `POST
//!   {login}/{tenant}/oauth2/v2.0/token` with `client_id`, `client_secret`,
//!   `scope=https://graph.microsoft.com/.default`; the token is renewed before it
//!   expires (when less than a fifth of its lifetime, at most 5 minutes, is left) and
//!   once more when Graph answers 401 `InvalidAuthenticationToken` mid-listing.
//! - Least-privilege Graph **application** permissions (admin consent needed):
//!   `Application.Read.All` (find the service principal, list `appRoleAssignedTo`),
//!   `User.Read.All` (read the assigned users), `GroupMember.Read.All` (expand
//!   assigned groups through their transitive members).
//! - The app: its service principal by app (client) id
//!   (`GET /servicePrincipals?$filter=appId eq '…'`) or by display name
//!   (`$filter=displayName eq '…'`).
//! - The assignments: `GET /servicePrincipals/{id}/appRoleAssignedTo`, following
//!   `@odata.nextLink` (only on Graph's own origin). Users assigned directly are read
//!   15 at a time with `GET /users?$filter=id in (…)&$select=…`; an assigned group is
//!   expanded with `GET /groups/{id}/transitiveMembers/microsoft.graph.user?$select=…`
//!   (nested groups included; the user is "via" the assigned group).
//! - `$select`: `id, userPrincipalName, mail, employeeId, displayName, givenName,
//!   surname, accountEnabled, otherMails, proxyAddresses`.
//! - 429 and 503 are waited out (`Retry-After`) and retried, up to 8 times a request.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use url::Url;

use super::http;
use super::{
    AppInfo, AssignedUser, IdpError, IdpEvent, Listing, Merger, Provenance, Provider, Via,
};
use crate::import::{IdpUser, SourceRef};
use crate::secret::Token;

const P: &str = "Entra ID";

/// The Graph application permissions navscim needs (least privilege), for `--help`,
/// `sources test` and errors.
pub const GRAPH_PERMISSIONS: &str =
    "Application.Read.All, User.Read.All, GroupMember.Read.All (application permissions, admin consent)";

/// The `$select` of every user read.
pub const USER_SELECT: &str = "id,userPrincipalName,mail,employeeId,displayName,givenName,surname,accountEnabled,otherMails,proxyAddresses";

/// Times one request renews a refused (expired) token before its 401 is an error.
const MAX_RENEWALS: u32 = 3;

/// Groups expanded at once (each a paged listing of its transitive members). A 429
/// from Graph holds every one of them for its `Retry-After`.
pub const GROUP_CONCURRENCY: usize = 4;

/// Ids per `id in (…)` filter (Graph's limit for `in` is 15 values).
const IDS_PER_REQUEST: usize = 15;

/// What the Entra client needs.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    /// Directory (tenant) id or a verified domain.
    pub tenant: String,
    /// Application (client) id of the app registration navscim signs in as.
    pub client_id: String,
    pub client_secret: Token,
    /// Token endpoint base, default `https://login.microsoftonline.com`.
    pub login_url: String,
    /// Graph base, default `https://graph.microsoft.com/v1.0`.
    pub graph_url: String,
    /// `$top` of each page (Graph allows up to 999).
    pub page_size: u32,
    pub timeout: Duration,
    /// Extra PEM CA certificates to trust (`--ca-file`).
    pub ca_file: Option<std::path::PathBuf>,
}

/// Default token endpoint base.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Default Graph base.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";

impl EntraConfig {
    pub fn new(tenant: impl Into<String>, client_id: impl Into<String>, secret: Token) -> Self {
        EntraConfig {
            tenant: tenant.into(),
            client_id: client_id.into(),
            client_secret: secret,
            login_url: DEFAULT_LOGIN_URL.into(),
            graph_url: DEFAULT_GRAPH_URL.into(),
            page_size: 999,
            timeout: Duration::from_secs(30),
            ca_file: None,
        }
    }
}

struct AccessToken {
    value: Token,
    renew_at: Instant,
}

/// A client of one tenant's Graph.
pub struct EntraClient {
    http: reqwest::Client,
    graph: Url,
    token_url: Url,
    config: EntraConfig,
    /// The current access token; locked while one is requested, so requests running
    /// at once wait for the one renewal instead of each asking for a token.
    token: tokio::sync::Mutex<Option<AccessToken>>,
    throttle: http::Throttle,
}

fn base_url(what: &str, s: &str) -> Result<Url, IdpError> {
    let mut u = Url::parse(s.trim()).map_err(|e| IdpError::Config(format!("{what} {s:?}: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(IdpError::Config(format!(
            "{what} {s:?}: not an http(s) URL"
        )));
    }
    if !u.path().ends_with('/') {
        u.set_path(&format!("{}/", u.path()));
    }
    Ok(u)
}

impl EntraClient {
    pub fn new(config: EntraConfig) -> Result<Self, IdpError> {
        for (what, v) in [("tenant", &config.tenant), ("client id", &config.client_id)] {
            if v.trim().is_empty() || v.contains(['/', '?', '#']) {
                return Err(IdpError::Config(format!(
                    "Entra ID: the {what} {v:?} is not valid"
                )));
            }
        }
        if config.client_secret.is_empty() {
            return Err(IdpError::Config(
                "Entra ID: the client secret is empty".into(),
            ));
        }
        let graph = base_url("Graph URL", &config.graph_url)?;
        let token_url = base_url("login URL", &config.login_url)?
            .join(&format!("{}/oauth2/v2.0/token", config.tenant.trim()))
            .map_err(|e| IdpError::Config(format!("Entra ID token URL: {e}")))?;
        let http = http::client(P, config.timeout, config.ca_file.as_deref())?;
        Ok(EntraClient {
            http,
            graph,
            token_url,
            config,
            token: tokio::sync::Mutex::new(None),
            throttle: http::Throttle::default(),
        })
    }

    /// A valid access token: the current one, or a new one when it is near expiry or
    /// when `refused` (a token Graph answered 401 to) is still the current one.
    async fn access_token(
        &self,
        refused: Option<&Token>,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<Token, IdpError> {
        let mut current = self.token.lock().await;
        if let Some(t) = current.as_ref() {
            let refused = refused.is_some_and(|r| r.expose() == t.value.expose());
            if !refused && Instant::now() < t.renew_at {
                return Ok(t.value.clone());
            }
        }
        let renewing = current.is_some();
        self.throttle.count(|s| s.requests += 1);
        let resp = self
            .http
            .post(self.token_url.clone())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.config.client_id.trim()),
                ("client_secret", self.config.client_secret.expose()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .map_err(|e| http::network(P, &self.token_url, e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = http::body_excerpt(resp).await;
            let (code, desc) = serde_json::from_str::<Value>(&body)
                .map(|v| {
                    (
                        v.get("error")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        v.get("error_description")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .unwrap_or_else(|_| (String::new(), http::short(&body)));
            let desc = http::short(&desc);
            let detail = format!("token request: {status} {code} {desc}")
                .trim()
                .to_string();
            return Err(if status.is_client_error() {
                IdpError::Auth {
                    provider: P,
                    detail,
                }
            } else {
                IdpError::Server {
                    provider: P,
                    detail,
                }
            });
        }
        let v: Value = http::json(P, "token request", resp).await?;
        let value = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(IdpError::Server {
                provider: P,
                detail: "token request: no access_token in the answer".into(),
            })?;
        let lifetime = v
            .get("expires_in")
            .and_then(|e| e.as_u64().or_else(|| e.as_str()?.parse().ok()))
            .unwrap_or(3599);
        let lifetime = Duration::from_secs(lifetime);
        let margin = (lifetime / 5).min(Duration::from_secs(300));
        let token = Token::new(value);
        *current = Some(AccessToken {
            value: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        self.throttle.count(|s| s.tokens_obtained += 1);
        if renewing {
            on_event(IdpEvent::TokenRenewed);
        }
        Ok(token)
    }

    /// One Graph GET with the token, 401-renewal, 429/503 retries and error mapping.
    /// 404 is returned to the caller. `needed` names the permission a 403 lacks.
    async fn get(
        &self,
        url: &Url,
        what: &str,
        needed: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<reqwest::Response, IdpError> {
        let mut refused: Option<Token> = None;
        // A token can expire while requests run at once: each 401 renews it (once for
        // all of them, see `access_token`) and sends the request again, a few times.
        let mut renewals = 0;
        loop {
            let token = self.access_token(refused.as_ref(), on_event).await?;
            let resp = http::send_retrying(P, what, &self.throttle, on_event, || async {
                self.http
                    .get(url.clone())
                    .bearer_auth(token.expose())
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .map_err(|e| http::network(P, url, e))
            })
            .await?;
            let (status, body) = match http::success_or_404(resp).await {
                Ok(resp) => return Ok(resp),
                Err(refused) => refused,
            };
            let summary = graph_error(&body);
            if status == reqwest::StatusCode::UNAUTHORIZED && renewals < MAX_RENEWALS {
                // Expired (or revoked) mid-listing: a fresh token, then the same request.
                renewals += 1;
                refused = Some(token);
                continue;
            }
            return Err(http::status_error(P, what, status, &summary, || {
                format!("the Graph application permission {needed}")
            }));
        }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut u = self.graph.join(path).expect("relative Graph path");
        if !query.is_empty() {
            let mut q = u.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        u
    }

    /// Finds the service principal by app (client) id or display name.
    pub async fn find_app(
        &self,
        app: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<AppInfo, IdpError> {
        let app = app.trim();
        let quoted = app.replace('\'', "''");
        let filter = if is_guid(app) {
            format!("appId eq '{quoted}'")
        } else {
            format!("displayName eq '{quoted}'")
        };
        let url = self.url(
            "servicePrincipals",
            &[("$filter", &filter), ("$select", "id,appId,displayName")],
        );
        let what = "GET /servicePrincipals?$filter=";
        let resp = self
            .get(&url, what, "Application.Read.All", on_event)
            .await?;
        if !resp.status().is_success() {
            return Err(IdpError::Server {
                provider: P,
                detail: format!("{what}: {}", resp.status()),
            });
        }
        let v: Value = http::json(P, what, resp).await?;
        let found: Vec<AppInfo> = v
            .get("value")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(sp_info).collect())
            .unwrap_or_default();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(IdpError::AppNotFound {
                provider: P,
                app: app.to_string(),
                candidates: Vec::new(),
            }),
            many => Err(IdpError::AppAmbiguous {
                provider: P,
                app: app.to_string(),
                candidates: many
                    .iter()
                    .map(|a| format!("{} (appId {})", a.label, a.app_id.as_deref().unwrap_or("?")))
                    .collect(),
            }),
        }
    }

    /// Follows `@odata.nextLink` from `first`, calling `each` on every item.
    async fn pages(
        &self,
        first: Url,
        what: &str,
        needed: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
        each: &mut (dyn FnMut(&Value) -> Result<(), String> + Send),
    ) -> Result<(), IdpError> {
        let get_page = |url: Url| async move {
            let resp = self.get(&url, what, needed, on_event).await?;
            if !resp.status().is_success() {
                return Err(IdpError::Server {
                    provider: P,
                    detail: format!("{what}: {}", resp.status()),
                });
            }
            let mut v: Value = http::json(P, what, resp).await?;
            let next = v
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
            match v.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => Ok((items, next)),
                _ => Err(IdpError::Server {
                    provider: P,
                    detail: format!("{what}: the answer has no \"value\" array"),
                }),
            }
        };
        http::follow_pages(P, &self.graph, first, what, &self.throttle, get_page, each).await
    }

    /// The users of group `gid` (nested groups included), each "via" the group.
    async fn group_users(
        &self,
        gid: &str,
        name: Option<&str>,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<Vec<AssignedUser>, IdpError> {
        let top = self.config.page_size.to_string();
        let url = self.url(
            &format!(
                "groups/{}/transitiveMembers/microsoft.graph.user",
                http::seg(gid)
            ),
            &[("$select", USER_SELECT), ("$top", &top)],
        );
        let via = Via::Group {
            id: Some(gid.to_string()),
            name: Some(name.unwrap_or(gid).to_string()),
        };
        let mut users = Vec::new();
        let mut each = |u: &Value| -> Result<(), String> {
            users.push(graph_user(u, via.clone())?);
            Ok(())
        };
        self.pages(
            url,
            "GET /groups/{id}/transitiveMembers/microsoft.graph.user",
            "GroupMember.Read.All",
            on_event,
            &mut each,
        )
        .await?;
        on_event(IdpEvent::GroupExpanded {
            group: name.unwrap_or(gid).to_string(),
            users: users.len(),
        });
        Ok(users)
    }

    /// Reads every user assigned the app (service principal by app id or display name).
    pub async fn fetch(
        self,
        source: &str,
        app: &str,
        on_event: &(dyn Fn(IdpEvent) + Send + Sync),
    ) -> Result<Listing, IdpError> {
        self.access_token(None, on_event).await?;
        on_event(IdpEvent::Authenticated);
        let found = self.find_app(app, on_event).await?;
        on_event(IdpEvent::AppFound(found.clone()));

        // ---- the assignments
        let mut direct: Vec<String> = Vec::new();
        let mut groups: Vec<(String, Option<String>)> = Vec::new();
        let mut others = 0usize;
        let mut assignments = 0usize;
        let top = self.config.page_size.to_string();
        let first = self.url(
            &format!(
                "servicePrincipals/{}/appRoleAssignedTo",
                http::seg(&found.id)
            ),
            &[("$top", &top)],
        );
        {
            let mut each = |a: &Value| -> Result<(), String> {
                let id = text(a, "principalId").ok_or("an assignment without principalId")?;
                assignments += 1;
                match text(a, "principalType").as_deref() {
                    Some("User") => {
                        if !direct.contains(&id) {
                            direct.push(id)
                        }
                    }
                    Some("Group") => {
                        if !groups.iter().any(|(g, _)| *g == id) {
                            groups.push((id, text(a, "principalDisplayName")));
                        }
                    }
                    _ => others += 1,
                }
                if assignments.is_multiple_of(1000) {
                    on_event(IdpEvent::Page { assignments });
                }
                Ok(())
            };
            self.pages(
                first,
                "GET /servicePrincipals/{id}/appRoleAssignedTo",
                "Application.Read.All",
                on_event,
                &mut each,
            )
            .await?;
        }
        on_event(IdpEvent::Page { assignments });

        let mut merger = Merger::default();
        // ---- users assigned directly, 15 a request
        for chunk in direct.chunks(IDS_PER_REQUEST) {
            let ids: Vec<String> = chunk
                .iter()
                .map(|i| format!("'{}'", i.replace('\'', "''")))
                .collect();
            let filter = format!("id in ({})", ids.join(","));
            let url = self.url("users", &[("$filter", &filter), ("$select", USER_SELECT)]);
            let mut each = |u: &Value| -> Result<(), String> {
                merger.add(graph_user(u, Via::Direct)?);
                Ok(())
            };
            self.pages(
                url,
                "GET /users?$filter=id in (…)",
                "User.Read.All",
                on_event,
                &mut each,
            )
            .await?;
        }
        // ---- groups, through their transitive members: several at once (a tenant
        // assigns the app to many groups), merged in assignment order
        let group_assignments = groups.len();
        type Expansion<'a> = std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Vec<AssignedUser>, IdpError>> + Send + 'a>,
        >;
        let mut pending: Vec<Expansion<'_>> = Vec::with_capacity(groups.len());
        for (gid, name) in &groups {
            pending.push(Box::pin(self.group_users(gid, name.as_deref(), on_event)));
        }
        let expansions = futures::stream::iter(pending)
            .buffered(GROUP_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        for users in expansions {
            for user in users? {
                merger.add(user);
            }
        }
        let _ = others; // service principals assigned the app hold no seat
        Ok(Listing {
            provider: Provider::Entra,
            source: source.to_string(),
            app: found,
            assignments,
            group_assignments,
            users: merger.into_users(),
            stats: self.throttle.stats(),
            warnings: Vec::new(),
        })
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn graph_error(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            let code = e.get("code").and_then(Value::as_str).unwrap_or("");
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
            Some(format!("{code} {msg}").trim().to_string())
        })
        .unwrap_or_else(|| http::short(body))
}

fn sp_info(v: &Value) -> Option<AppInfo> {
    Some(AppInfo {
        id: text(v, "id")?,
        label: text(v, "displayName").unwrap_or_default(),
        app_id: text(v, "appId"),
    })
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A Graph user (with [`USER_SELECT`]) as an [`AssignedUser`].
fn graph_user(v: &Value, via: Via) -> Result<AssignedUser, String> {
    let id = text(v, "id").ok_or("a user without an id")?;
    let mail = text(v, "mail");
    let enabled = v.get("accountEnabled").and_then(Value::as_bool);
    let mut aliases: Vec<String> = Vec::new();
    let list = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    for a in list("otherMails")
        .into_iter()
        .chain(
            list("proxyAddresses")
                .into_iter()
                .map(|p| match p.split_once(':') {
                    Some((scheme, addr)) if scheme.eq_ignore_ascii_case("smtp") => addr.to_string(),
                    _ => p,
                }),
        )
    {
        let a = a.trim().to_string();
        let same_as_mail = mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(&a));
        if !a.is_empty() && !same_as_mail && !aliases.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
            aliases.push(a);
        }
    }
    let provenance = Provenance {
        provider: Provider::Entra,
        via,
    };
    Ok(AssignedUser {
        record: IdpUser {
            email: mail,
            user_name: text(v, "userPrincipalName"),
            external_id: Some(id.clone()),
            employee_id: text(v, "employeeId"),
            first_name: text(v, "givenName"),
            last_name: text(v, "surname"),
            display_name: text(v, "displayName"),
            enabled,
            source: SourceRef {
                file: provenance.to_string(),
                line: 0,
            },
        },
        idp_id: id,
        status: enabled.map(|e| if e { "enabled" } else { "disabled" }.to_string()),
        aliases,
        provenance: vec![provenance],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_is_recognised() {
        assert!(is_guid("2f3e1b6a-0000-4c11-9c5b-14bfdc948c79"));
        assert!(!is_guid("Sales Navigator"));
    }

    #[test]
    fn graph_user_reads_aliases_and_disabled() {
        let v = serde_json::json!({
            "id": "u1", "userPrincipalName": "ann@corp.example", "mail": "ann@corp.example",
            "accountEnabled": false, "employeeId": "E1",
            "otherMails": ["ann@old.example"],
            "proxyAddresses": ["SMTP:ann@corp.example", "smtp:a.lee@corp.example"]
        });
        let u = graph_user(&v, Via::Direct).unwrap();
        assert_eq!(u.record.enabled, Some(false));
        assert_eq!(u.aliases, ["ann@old.example", "a.lee@corp.example"]);
        assert_eq!(u.status.as_deref(), Some("disabled"));
    }
}
