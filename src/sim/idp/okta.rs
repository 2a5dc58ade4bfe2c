//! The Okta simulator: the Management API endpoints navscim reads.
//!
//! | request                                   | answer                                        |
//! |-------------------------------------------|-----------------------------------------------|
//! | `GET /api/v1/apps?q=&limit=`              | apps whose label or name starts with `q` (case-insensitive) |
//! | `GET /api/v1/apps/{appId}`                | the app, or 404 `E0000007`                     |
//! | `GET /api/v1/apps/{appId}/users?limit=&after=` | app users, `Link: <…>; rel="next"` paging; 404 for another app |
//!
//! Every request needs `Authorization: SSWS <token>` or `Bearer <token>` with
//! [`OktaSimConfig::token`]; otherwise 401 `E0000011 Invalid token provided`. Every
//! admitted answer carries `X-Rate-Limit-Limit/-Remaining/-Reset` when a limit is set;
//! beyond it, 429 `E0000047` with `X-Rate-Limit-Remaining: 0`.
//!
//! The Sales Navigator app ([`SALESNAV_APP_ID`], label [`SALESNAV_APP_LABEL`]) is
//! assigned every person: every third person (index 0, 3, 6…) through a group
//! (`scope: GROUP`), the others directly (`scope: USER`). A person's app-user
//! `status` is their export status (`ACTIVE`, `PROVISIONED`, `SUSPENDED`,
//! `DEPROVISIONED`).
//!
//! Groups: `GET /api/v1/apps/{appId}/groups?expand=group` lists the app's group
//! assignments ([`GROUPS`]), `GET /api/v1/groups/{groupId}/users?limit=&after=` their
//! members (same paging).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{param, query_pairs, same_secret, IdpSimConfig, IdpSimHandle, Limiter, SimPerson};

/// The simulated Sales Navigator app's id.
pub const SALESNAV_APP_ID: &str = "0oa1salesnav2demo3";
/// Its label.
pub const SALESNAV_APP_LABEL: &str = "LinkedIn Sales Navigator";
/// The demo API token.
pub const DEMO_TOKEN: &str = "okta-demo-token";

/// The groups assigned the Sales Navigator app: person `i` with `i % 6 == 0` is in
/// Sales EMEA, `i % 6 == 3` in Sales NA (both `scope: GROUP`), and `i % 6 == 1` is
/// assigned directly **and** in Sales NA (`scope: USER`).
pub const GROUPS: &[(&str, &str)] = &[
    ("00g1salesemea2demo", "Sales EMEA"),
    ("00g1salesna2demo3x", "Sales NA"),
];

fn in_group(i: usize, gid: &str) -> bool {
    match i % 6 {
        0 => gid == GROUPS[0].0,
        1 | 3 => gid == GROUPS[1].0,
        _ => false,
    }
}

/// Other apps of the org (so a search finds more than one thing).
const OTHER_APPS: &[(&str, &str)] = &[
    ("0oa1learning2demo3", "LinkedIn Learning"),
    ("0oa1salesforce2de3", "Salesforce"),
];

/// Okta simulator settings.
#[derive(Debug, Clone)]
pub struct OktaSimConfig {
    pub common: IdpSimConfig,
    /// The API token (SSWS) / access token (Bearer) accepted.
    pub token: String,
}

impl Default for OktaSimConfig {
    fn default() -> Self {
        OktaSimConfig {
            common: IdpSimConfig::default(),
            token: DEMO_TOKEN.into(),
        }
    }
}

struct Shared {
    config: OktaSimConfig,
    base_url: std::sync::OnceLock<String>,
    limiter: Arc<Limiter>,
}

/// The Okta user id of person `i`.
pub fn user_id(i: usize) -> String {
    format!("00u{:017}", i + 1)
}

/// Starts the Okta simulator; its base URL is the org URL.
pub async fn start(config: OktaSimConfig) -> std::io::Result<IdpSimHandle> {
    let limiter = Arc::new(Limiter::default());
    let shared = Arc::new(Shared {
        config: config.clone(),
        base_url: std::sync::OnceLock::new(),
        limiter: limiter.clone(),
    });
    let router = axum::Router::new()
        .fallback(handle)
        .with_state(shared.clone());
    super::serve(config.common.addr, router, limiter, &shared.base_url).await
}

fn error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({"errorCode": code, "errorSummary": summary, "errorLink": code,
                      "errorId": "sim", "errorCauses": []});
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("response")
}

fn ok_json(v: &Value) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .body(Body::from(v.to_string()))
        .expect("response")
}

fn app_json(id: &str, label: &str) -> Value {
    json!({"id": id, "name": label.to_lowercase().replace(' ', "_"), "label": label,
           "status": "ACTIVE", "signOnMode": "SAML_2_0"})
}

fn app_user_json(i: usize, p: &SimPerson) -> Value {
    let scope = if i.is_multiple_of(3) { "GROUP" } else { "USER" };
    json!({
        "id": user_id(i),
        "externalId": p.employee_id,
        "created": "2024-01-15T09:00:00.000Z",
        "scope": scope,
        "status": p.status,
        "syncState": "SYNCHRONIZED",
        "credentials": {"userName": p.user_name},
        "profile": {
            "email": p.email,
            "given_name": p.first_name,
            "family_name": p.last_name,
            "displayName": p.display_name,
            "employeeNumber": p.employee_id,
        },
        "_links": {"app": {"href": format!("/api/v1/apps/{SALESNAV_APP_ID}")}}
    })
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let cfg = &s.config;
    s.limiter.count_request();
    let _answering = s.limiter.enter();
    if !cfg.common.latency.is_zero() {
        tokio::time::sleep(cfg.common.latency).await;
    }
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = presented
        .strip_prefix("SSWS ")
        .or_else(|| presented.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(token, &cfg.token) {
        s.limiter.count_unauthorized();
        return error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    let admission = s.limiter.admit(&cfg.common);
    let mut resp = if admission.allowed {
        route(&s, &req)
    } else {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    };
    let h = resp.headers_mut();
    let limit = admission.limit.map(u64::from).unwrap_or(600);
    let remaining = if admission.limit.is_some() || !admission.allowed {
        admission.remaining
    } else {
        limit - 1
    };
    for (k, v) in [
        ("x-rate-limit-limit", limit),
        ("x-rate-limit-remaining", remaining),
        ("x-rate-limit-reset", admission.reset),
    ] {
        h.insert(k, HeaderValue::from(v));
    }
    resp
}

fn route(s: &Shared, req: &Request) -> Response {
    if req.method() != axum::http::Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        );
    }
    let path = super::decoded_path(req.uri());
    let path = path.as_str();
    let pairs = query_pairs(req.uri());
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let all_apps =
        || std::iter::once((SALESNAV_APP_ID, SALESNAV_APP_LABEL)).chain(OTHER_APPS.iter().copied());
    match segs.as_slice() {
        ["api", "v1", "apps"] => {
            let q = param(&pairs, "q").unwrap_or("").to_lowercase();
            let apps: Vec<Value> = all_apps()
                .filter(|(_, label)| {
                    let l = label.to_lowercase();
                    l.starts_with(&q) || l.replace(' ', "_").starts_with(&q)
                })
                .map(|(id, label)| app_json(id, label))
                .collect();
            ok_json(&Value::Array(apps))
        }
        ["api", "v1", "apps", id] => match all_apps().find(|(a, _)| a == id) {
            Some((id, label)) => ok_json(&app_json(id, label)),
            None => not_found(id),
        },
        ["api", "v1", "apps", id, "users"] => {
            if *id != SALESNAV_APP_ID {
                return if all_apps().any(|(a, _)| a == *id) {
                    ok_json(&json!([]))
                } else {
                    not_found(id)
                };
            }
            let people = &s.config.common.people;
            let limit = param(&pairs, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, s.config.common.max_page.max(1));
            let after = param(&pairs, "after")
                .and_then(|a| a.parse::<usize>().ok())
                .unwrap_or(0);
            let end = (after + limit).min(people.len());
            let page: Vec<Value> = (after.min(end)..end)
                .map(|i| app_user_json(i, &people[i]))
                .collect();
            let mut resp = ok_json(&Value::Array(page));
            let base = s.base_url.get().cloned().unwrap_or_default();
            let me = format!("{base}/api/v1/apps/{SALESNAV_APP_ID}/users");
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("<{me}?limit={limit}>; rel=\"self\"")) {
                h.append("link", v);
            }
            if end < people.len() {
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "<{me}?after={end}&limit={limit}>; rel=\"next\""
                )) {
                    h.append("link", v);
                }
            }
            resp
        }
        ["api", "v1", "apps", id, "groups"] => {
            if !all_apps().any(|(a, _)| a == *id) {
                return not_found(id);
            }
            let expand = param(&pairs, "expand") == Some("group");
            let groups: Vec<Value> = if *id == SALESNAV_APP_ID {
                GROUPS
                    .iter()
                    .enumerate()
                    .map(|(n, (gid, name))| {
                        let mut g = json!({"id": gid, "priority": n, "profile": {}});
                        if expand {
                            g["_embedded"] = json!({"group": {"id": gid, "type": "OKTA_GROUP",
                                "profile": {"name": name, "description": format!("{name} sellers")}}});
                        }
                        g
                    })
                    .collect()
            } else {
                vec![]
            };
            ok_json(&Value::Array(groups))
        }
        ["api", "v1", "groups", gid, "users"] => {
            if !GROUPS.iter().any(|(g, _)| g == gid) {
                return error(
                    StatusCode::NOT_FOUND,
                    "E0000007",
                    &format!("Not found: Resource not found: {gid} (UserGroup)"),
                );
            }
            let members: Vec<usize> = (0..s.config.common.people.len())
                .filter(|&i| in_group(i, gid))
                .collect();
            let people = &s.config.common.people;
            page(
                s,
                &pairs,
                &format!("api/v1/groups/{gid}/users"),
                members.len(),
                |n| {
                    let i = members[n];
                    let p = &people[i];
                    json!({"id": user_id(i), "status": p.status,
                       "profile": {"login": p.user_name, "email": p.email,
                                   "firstName": p.first_name, "lastName": p.last_name}})
                },
            )
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        ),
    }
}

/// A page of `total` items (`limit`, `after` = offset) with `Link` headers.
fn page(
    s: &Shared,
    pairs: &[(String, String)],
    path: &str,
    total: usize,
    item: impl Fn(usize) -> Value,
) -> Response {
    let (limit, after) = super::page_window(pairs, "limit", 50, "after", s.config.common.max_page);
    let end = (after + limit).min(total);
    let items: Vec<Value> = (after.min(end)..end).map(item).collect();
    let mut resp = ok_json(&Value::Array(items));
    let base = s.base_url.get().cloned().unwrap_or_default();
    let me = format!("{base}/{path}");
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("<{me}?limit={limit}>; rel=\"self\"")) {
        h.append("link", v);
    }
    if end < total {
        if let Ok(v) =
            HeaderValue::from_str(&format!("<{me}?after={end}&limit={limit}>; rel=\"next\""))
        {
            h.append("link", v);
        }
    }
    resp
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "E0000007",
        &format!("Not found: Resource not found: {id} (AppInstance)"),
    )
}
