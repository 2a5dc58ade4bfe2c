//! The Microsoft Entra ID simulator: the OAuth 2.0 token endpoint and the Graph
//! endpoints navscim reads. Login base = the handle's base URL; Graph base =
//! `{base}/v1.0`.
//!
//! | request | answer |
//! |---------|--------|
//! | `POST /{tenant}/oauth2/v2.0/token` (client credentials) | `{access_token, expires_in, token_type}`; 400 `invalid_request` AADSTS90002 for another tenant, 400 `unauthorized_client` AADSTS700016 for another client id, 401 `invalid_client` AADSTS7000215 for a wrong secret |
//! | `GET /v1.0/servicePrincipals?$filter=appId eq '…'` or `displayName eq '…'` | `{value:[…]}` |
//! | `GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo?$top=` | assignments, `@odata.nextLink` paging |
//! | `GET /v1.0/users?$filter=id in ('…',…)&$select=` | those users, only the selected properties |
//! | `GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user?$select=&$top=` | the group's users, nested groups included |
//!
//! Graph requests need `Authorization: Bearer <token>` of a token this simulator
//! issued; a token used more than [`EntraSimConfig::token_uses`] times answers 401
//! `InvalidAuthenticationToken` ("expired"). A permission in
//! [`EntraSimConfig::denied`] makes its endpoints answer 403
//! `Authorization_RequestDenied`. Throttled requests get 429 with `Retry-After`.
//!
//! # The directory
//!
//! Groups: **Sales EMEA** (assigned; holds the nested group **Sales DACH**, not
//! assigned itself), **Sales NA** (assigned), **All Sellers** (assigned). Person `i`:
//!
//! - `i % 4 == 0`: assigned directly only;
//! - `i % 8 == 1`: member of Sales EMEA; `i % 8 == 5`: of Sales DACH (nested);
//! - `i % 4 == 2`: member of Sales NA, and `i % 8 == 2` also assigned directly;
//! - `i % 4 == 3`: member of All Sellers, and `i % 8 == 3` also of Sales NA
//!   (overlapping groups).
//!
//! A service principal (a daemon app) is also assigned the app: it is no user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{param, query_pairs, same_secret, IdpSimConfig, IdpSimHandle, Limiter, SimPerson};

/// The demo tenant id.
pub const DEMO_TENANT: &str = "00000000-0000-4000-8000-00000000d3m0";
/// The demo client (application) id of navscim's app registration.
pub const DEMO_CLIENT_ID: &str = "11111111-2222-4333-8444-555555555555";
/// The demo client secret.
pub const DEMO_SECRET: &str = "entra-demo-secret";
/// The Sales Navigator enterprise app's appId.
pub const SALESNAV_APP_ID: &str = "9c1b3f2e-7d4a-4b8e-a1c2-53a1e5a0e0d1";
/// Its service principal's object id.
pub const SALESNAV_SP_ID: &str = "5e5e5e5e-0000-4000-8000-000000000001";
/// Its display name.
pub const SALESNAV_DISPLAY_NAME: &str = "LinkedIn Sales Navigator";

/// Group ids and names.
pub const GROUP_EMEA: (&str, &str) = ("6a000000-0000-4000-8000-000000000001", "Sales EMEA");
pub const GROUP_DACH: (&str, &str) = ("6a000000-0000-4000-8000-000000000002", "Sales DACH");
pub const GROUP_NA: (&str, &str) = ("6a000000-0000-4000-8000-000000000003", "Sales NA");
pub const GROUP_ALL: (&str, &str) = ("6a000000-0000-4000-8000-000000000004", "All Sellers");

/// Entra simulator settings.
#[derive(Debug, Clone)]
pub struct EntraSimConfig {
    pub common: IdpSimConfig,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens, in seconds.
    pub token_lifetime: u64,
    /// Graph requests one token is good for; after that 401 (expired). `None`: unlimited.
    pub token_uses: Option<u64>,
    /// Permissions the app registration lacks (e.g. `GroupMember.Read.All`).
    pub denied: Vec<String>,
}

impl Default for EntraSimConfig {
    fn default() -> Self {
        EntraSimConfig {
            common: IdpSimConfig {
                max_page: 999,
                ..IdpSimConfig::default()
            },
            tenant: DEMO_TENANT.into(),
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: DEMO_SECRET.into(),
            token_lifetime: 3599,
            token_uses: None,
            denied: Vec::new(),
        }
    }
}

/// Assignment rows: (principalType, principalId, principalDisplayName).
type Assignments = Vec<(&'static str, String, String)>;
/// group id -> direct person members, and nested group ids.
type Members = HashMap<&'static str, (Vec<usize>, Vec<&'static str>)>;

struct Shared {
    config: EntraSimConfig,
    base_url: std::sync::OnceLock<String>,
    limiter: Arc<Limiter>,
    /// token -> uses so far
    tokens: Mutex<HashMap<String, u64>>,
    assignments: Assignments,
    members: Members,
    by_id: HashMap<String, usize>,
}

/// The object id of person `i`.
pub fn user_id(i: usize) -> String {
    format!("a0000000-0000-4000-8000-{:012x}", i + 1)
}

fn directory(people: &[SimPerson]) -> (Assignments, Members) {
    let mut assignments = Vec::new();
    let mut members: Members = HashMap::new();
    for g in [GROUP_EMEA, GROUP_DACH, GROUP_NA, GROUP_ALL] {
        members.insert(g.0, (Vec::new(), Vec::new()));
    }
    members
        .get_mut(GROUP_EMEA.0)
        .expect("group")
        .1
        .push(GROUP_DACH.0);
    for g in [GROUP_EMEA, GROUP_NA, GROUP_ALL] {
        assignments.push(("Group", g.0.to_string(), g.1.to_string()));
    }
    assignments.push((
        "ServicePrincipal",
        "5e5e5e5e-0000-4000-8000-0000000000aa".into(),
        "Seat report daemon".into(),
    ));
    for (i, p) in people.iter().enumerate() {
        let name = p
            .display_name
            .clone()
            .unwrap_or_else(|| p.user_name.clone());
        let mut member = |g: &'static str| members.get_mut(g).expect("group").0.push(i);
        match i % 8 {
            0 | 4 => assignments.push(("User", user_id(i), name)),
            1 => member(GROUP_EMEA.0),
            5 => member(GROUP_DACH.0),
            2 => {
                member(GROUP_NA.0);
                assignments.push(("User", user_id(i), name));
            }
            6 => member(GROUP_NA.0),
            3 => {
                member(GROUP_ALL.0);
                member(GROUP_NA.0);
            }
            _ => member(GROUP_ALL.0),
        }
    }
    (assignments, members)
}

/// Starts the Entra simulator. Login base = the handle's base URL, Graph base =
/// `{base}/v1.0`.
pub async fn start(config: EntraSimConfig) -> std::io::Result<IdpSimHandle> {
    let limiter = Arc::new(Limiter::default());
    let (assignments, members) = directory(&config.common.people);
    let by_id = (0..config.common.people.len())
        .map(|i| (user_id(i), i))
        .collect();
    let shared = Arc::new(Shared {
        config: config.clone(),
        base_url: std::sync::OnceLock::new(),
        limiter: limiter.clone(),
        tokens: Mutex::new(HashMap::new()),
        assignments,
        members,
        by_id,
    });
    let router = axum::Router::new()
        .fallback(handle)
        .with_state(shared.clone());
    super::serve(config.common.addr, router, limiter, &shared.base_url).await
}

fn respond(status: StatusCode, v: &Value) -> Response {
    let mut b = Response::builder()
        .status(status)
        .header("Content-Type", "application/json");
    if status == StatusCode::TOO_MANY_REQUESTS {
        let secs = v
            .pointer("/error/retryAfter")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        b = b.header("Retry-After", secs.to_string());
    }
    b.body(Body::from(v.to_string())).expect("response")
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    respond(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    respond(
        status,
        &json!({"error": error, "error_description": description, "error_codes": [],
                "trace_id": "sim", "correlation_id": "sim"}),
    )
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    s.limiter.count_request();
    let _answering = s.limiter.enter();
    if !s.config.common.latency.is_zero() {
        tokio::time::sleep(s.config.common.latency).await;
    }
    let path = super::decoded_path(req.uri());
    if req.method() == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        let tenant = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        return token(&s, &tenant, &body);
    }
    // ---- Graph: the bearer token
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    {
        let mut tokens = s.tokens.lock().expect("tokens lock");
        let valid = match tokens.get_mut(&presented) {
            Some(uses) => {
                *uses += 1;
                s.config.token_uses.is_none_or(|max| *uses <= max)
            }
            None => false,
        };
        if !valid {
            s.limiter.count_unauthorized();
            let msg = if tokens.contains_key(&presented) {
                "Lifetime validation failed, the token is expired."
            } else {
                "Access token validation failure. Invalid audience."
            };
            return graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", msg);
        }
    }
    let admission = s.limiter.admit(&s.config.common);
    if !admission.allowed {
        return respond(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"error": {"code": "TooManyRequests",
                              "message": "Too many requests.",
                              "retryAfter": admission.retry_after}}),
        );
    }
    if req.method() != Method::GET {
        return graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "method",
        );
    }
    route(&s, &path, &query_pairs(req.uri()))
}

fn token(s: &Shared, tenant: &str, body: &[u8]) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let c = &s.config;
    if tenant != c.tenant {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The grant type is not supported.",
        );
    }
    let client = form.get("client_id").cloned().unwrap_or_default();
    if client != c.client_id {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            &format!("AADSTS700016: Application with identifier '{client}' was not found in the directory."),
        );
    }
    let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
    if !same_secret(secret, &c.client_secret) {
        s.limiter.count_unauthorized();
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    if form.get("scope").map(String::as_str) != Some("https://graph.microsoft.com/.default") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        );
    }
    s.limiter.count_token();
    let value = format!("sim-graph-{:016x}", fastrand::u64(..));
    s.tokens
        .lock()
        .expect("tokens lock")
        .insert(value.clone(), 0);
    respond(
        StatusCode::OK,
        &json!({"token_type": "Bearer", "expires_in": c.token_lifetime,
                "ext_expires_in": c.token_lifetime, "access_token": value}),
    )
}

fn denied(s: &Shared, permission: &str) -> Option<Response> {
    s.config
        .denied
        .iter()
        .any(|d| d.eq_ignore_ascii_case(permission))
        .then(|| {
            graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        })
}

/// `appId eq 'x'` → ("appId", "x").
fn eq_filter(f: &str) -> Option<(&str, String)> {
    let (attr, rest) = f.trim().split_once(" eq ")?;
    let v = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    Some((attr.trim(), v.replace("''", "'")))
}

/// `id in ('a','b')` → ["a", "b"].
fn in_filter(f: &str) -> Option<Vec<String>> {
    let rest = f.trim().strip_prefix("id in (")?.strip_suffix(')')?;
    Some(
        rest.split(',')
            .map(|v| v.trim().trim_matches('\'').replace("''", "'"))
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn page_params(s: &Shared, pairs: &[(String, String)]) -> (usize, usize) {
    super::page_window(pairs, "$top", 100, "$skiptoken", s.config.common.max_page)
}

fn paged(
    s: &Shared,
    path: &str,
    pairs: &[(String, String)],
    items: Vec<Value>,
    total: usize,
    top: usize,
    skip: usize,
) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/v1.0/$metadata",
            s.base_url.get().cloned().unwrap_or_default()
        )),
    );
    body.insert("value".into(), Value::Array(items));
    if skip + top < total {
        let mut next = url::Url::parse(&format!(
            "{}{path}",
            s.base_url.get().cloned().unwrap_or_default()
        ))
        .expect("own URL");
        {
            let mut q = next.query_pairs_mut();
            for (k, v) in pairs.iter().filter(|(k, _)| k != "$skiptoken") {
                q.append_pair(k, v);
            }
            q.append_pair("$skiptoken", &(skip + top).to_string());
        }
        body.insert("@odata.nextLink".into(), json!(next.to_string()));
    }
    respond(StatusCode::OK, &Value::Object(body))
}

fn user_json(i: usize, p: &SimPerson, select: Option<&str>) -> Value {
    let mut all = Map::new();
    all.insert("id".into(), json!(user_id(i)));
    all.insert("userPrincipalName".into(), json!(p.user_name));
    all.insert("mail".into(), json!(p.email));
    all.insert("employeeId".into(), json!(p.employee_id));
    all.insert("displayName".into(), json!(p.display_name));
    all.insert("givenName".into(), json!(p.first_name));
    all.insert("surname".into(), json!(p.last_name));
    all.insert("accountEnabled".into(), json!(p.enabled));
    let alias = p
        .email
        .as_deref()
        .and_then(|e| e.split_once('@'))
        .map(|(l, d)| format!("{l}@mail.{d}"));
    all.insert("otherMails".into(), json!(Vec::<String>::new()));
    let mut proxies: Vec<String> = p.email.iter().map(|e| format!("SMTP:{e}")).collect();
    proxies.extend(alias.map(|a| format!("smtp:{a}")));
    all.insert("proxyAddresses".into(), json!(proxies));
    all.insert("jobTitle".into(), json!("Account Executive"));
    let Some(select) = select else {
        return Value::Object(all);
    };
    let wanted: Vec<&str> = select.split(',').map(str::trim).collect();
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    for (k, v) in all {
        if k == "id" || wanted.iter().any(|w| w.eq_ignore_ascii_case(&k)) {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

fn transitive(s: &Shared, group: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen_groups = vec![];
    let mut stack = vec![group.to_string()];
    while let Some(g) = stack.pop() {
        if seen_groups.contains(&g) {
            continue;
        }
        seen_groups.push(g.clone());
        if let Some((people, nested)) = s.members.get(g.as_str()) {
            out.extend(people.iter().copied());
            stack.extend(nested.iter().map(|n| n.to_string()));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn route(s: &Shared, path: &str, pairs: &[(String, String)]) -> Response {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let people = &s.config.common.people;
    match segs.as_slice() {
        ["v1.0", "servicePrincipals"] => {
            if let Some(r) = denied(s, "Application.Read.All") {
                return r;
            }
            let Some((attr, value)) = param(pairs, "$filter").and_then(eq_filter) else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported query.",
                );
            };
            let matches = match attr {
                "appId" => value.eq_ignore_ascii_case(SALESNAV_APP_ID),
                "displayName" => value == SALESNAV_DISPLAY_NAME,
                _ => {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        "Request_UnsupportedQuery",
                        "Unsupported query.",
                    )
                }
            };
            let value: Vec<Value> = if matches {
                vec![json!({"id": SALESNAV_SP_ID, "appId": SALESNAV_APP_ID,
                            "displayName": SALESNAV_DISPLAY_NAME})]
            } else {
                vec![]
            };
            respond(StatusCode::OK, &json!({"value": value}))
        }
        ["v1.0", "servicePrincipals", id, "appRoleAssignedTo"] => {
            if let Some(r) = denied(s, "Application.Read.All") {
                return r;
            }
            if *id != SALESNAV_SP_ID {
                return graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound",
                    &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."));
            }
            let (top, skip) = page_params(s, pairs);
            let total = s.assignments.len();
            let items = s
                .assignments
                .iter()
                .enumerate()
                .skip(skip)
                .take(top)
                .map(|(n, (kind, pid, name))| {
                    json!({
                    "id": format!("asg{n}"), "appRoleId": "00000000-0000-0000-0000-000000000000",
                    "principalType": kind, "principalId": pid, "principalDisplayName": name,
                    "resourceId": SALESNAV_SP_ID, "resourceDisplayName": SALESNAV_DISPLAY_NAME,
                    "createdDateTime": "2024-01-15T09:00:00Z"})
                })
                .collect();
            paged(s, path, pairs, items, total, top, skip)
        }
        ["v1.0", "users"] => {
            if let Some(r) = denied(s, "User.Read.All") {
                return r;
            }
            let Some(ids) = param(pairs, "$filter").and_then(in_filter) else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported query.",
                );
            };
            if ids.len() > 15 {
                return graph_error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery",
                    "Too many child clauses specified in search filter expression containing 'OR' operators: 16. Max allowed: 15.");
            }
            let select = param(pairs, "$select");
            let value: Vec<Value> = ids
                .iter()
                .filter_map(|id| s.by_id.get(id))
                .map(|&i| user_json(i, &people[i], select))
                .collect();
            respond(StatusCode::OK, &json!({"value": value}))
        }
        ["v1.0", "groups", id, "transitiveMembers", "microsoft.graph.user"] => {
            if let Some(r) = denied(s, "GroupMember.Read.All") {
                return r;
            }
            if !s.members.contains_key(id) {
                return graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound",
                    &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."));
            }
            let all = transitive(s, id);
            let (top, skip) = page_params(s, pairs);
            let select = param(pairs, "$select");
            let items = all
                .iter()
                .skip(skip)
                .take(top)
                .map(|&i| user_json(i, &people[i], select))
                .collect();
            paged(s, path, pairs, items, all.len(), top, skip)
        }
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment.",
        ),
    }
}
