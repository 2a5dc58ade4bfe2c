//! The SCIM client against tiny servers started on 127.0.0.1 by each test: exact
//! fault shapes (redirects, 204 PATCH, Retry-After dates, LinkedIn error bodies,
//! malformed JSON, dropped connections, timeouts).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use navscim::scim::{
    ClientConfig, ErrorCategory, Filter, FilterAttr, NewUser, ProbeMethod, ScimClient, ScimError,
};
use navscim::secret::Token;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "sekrit-T0KEN-value-4242";

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query exactly as sent (still percent-encoded).
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The `filter` query parameter, decoded.
    fn filter(&self) -> Option<String> {
        let url = url::Url::parse(&format!("http://x{}", self.uri)).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "filter")
            .map(|(_, v)| v.into_owned())
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

struct Server {
    base: String,
    log: Log,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
    fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

/// Serves `/scim/...`; `answer(request, n)` gets the 0-based index of the request.
async fn serve<F, Fut>(answer: F) -> Server
where
    F: Fn(Seen, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    let log: Log = Arc::default();
    let counter = Arc::new(AtomicUsize::new(0));
    let log2 = log.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let answer = answer.clone();
        let log = log2.clone();
        let counter = counter.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let seen = Seen {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                headers: parts.headers,
                body: body.to_vec(),
                at: Instant::now(),
            };
            log.lock().unwrap().push(seen.clone());
            let n = counter.fetch_add(1, Ordering::SeqCst);
            answer(seen, n).await
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        base: format!("http://{addr}/scim"),
        log,
    }
}

fn scim_json(status: u16, body: serde_json::Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

fn user(id: &str, user_name: &str, active: bool) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id, "userName": user_name, "active": active,
        "externalId": format!("ext-{id}"),
        "meta": {"resourceType": "User"}
    })
}

fn list(users: Vec<serde_json::Value>) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": users.len(), "Resources": users
    })
}

fn scim_error(status: u16, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.to_string(), "detail": detail
    });
    if let Some(t) = scim_type {
        body["scimType"] = t.into();
    }
    scim_json(status, body)
}

fn config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base, Token::new(TOKEN));
    c.timeout = Duration::from_secs(5);
    c.connect_timeout = Duration::from_secs(2);
    c.max_retries = 3;
    c.backoff_base = Duration::from_millis(1);
    c.backoff_max = Duration::from_millis(20);
    c
}

fn client(base: &str) -> ScimClient {
    ScimClient::new(config(base)).unwrap()
}

fn assert_no_token(err: &ScimError) {
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(!shown.contains("T0KEN"), "token leaked: {shown}");
}

// ---------------------------------------------------------------------------------
// Requests as sent

#[tokio::test]
async fn requests_carry_auth_accept_user_agent_and_content_type() {
    let srv = serve(|req: Seen, _| async move {
        match req.method.as_str() {
            "POST" => scim_json(201, user("new1", "ada@x.com", true)),
            "PATCH" => scim_json(200, user("u 1/2", "ada@x.com", false)),
            _ => scim_json(200, user("u 1/2", "ada@x.com", true)),
        }
    })
    .await;
    let c = client(&format!("{}/", srv.base));
    c.get_user("u 1/2").await.unwrap().unwrap();
    c.set_active("u 1/2", false).await.unwrap().unwrap();
    c.create_user(&NewUser {
        user_name: "ada@x.com".into(),
        external_id: Some("e-1".into()),
        given_name: Some("Ada".into()),
        family_name: Some("Lovelace".into()),
        email: None,
    })
    .await
    .unwrap();

    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(s.header("authorization"), format!("Bearer {TOKEN}"));
        assert_eq!(
            s.header("accept"),
            "application/scim+json, application/json"
        );
        assert!(s.header("user-agent").starts_with("navscim/"), "{s:?}");
    }
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].uri, "/scim/Users/u%201%2F2");
    assert_eq!(seen[0].header("content-type"), "");

    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].uri, "/scim/Users/u%201%2F2");
    assert_eq!(seen[1].header("content-type"), "application/scim+json");
    assert_eq!(
        seen[1].json(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        })
    );

    assert_eq!(seen[2].method, "POST");
    assert_eq!(seen[2].uri, "/scim/Users");
    assert_eq!(seen[2].header("content-type"), "application/scim+json");
    let body = seen[2].json();
    assert_eq!(body["userName"], "ada@x.com");
    assert_eq!(body["externalId"], "e-1");
    assert_eq!(body["name"]["familyName"], "Lovelace");
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
}

#[tokio::test]
async fn filters_are_escaped_and_url_encoded() {
    let srv = serve(|_, _| async { scim_json(200, list(vec![])) }).await;
    let c = client(&srv.base);
    let tricky = r#"o"brien\ops+1 &x=y#z@example.com"#;
    for attr in [
        FilterAttr::ExternalId,
        FilterAttr::UserName,
        FilterAttr::Email,
    ] {
        let f = Filter::eq(attr, tricky).unwrap();
        assert!(c.find_users(&f).await.unwrap().is_empty());
    }
    let seen = srv.seen();
    assert_eq!(
        seen[0].filter().unwrap(),
        r#"externalId eq "o\"brien\\ops+1 &x=y#z@example.com""#
    );
    assert_eq!(
        seen[1].filter().unwrap(),
        r#"userName eq "o\"brien\\ops+1 &x=y#z@example.com""#
    );
    assert_eq!(
        seen[2].filter().unwrap(),
        r#"emails.value eq "o\"brien\\ops+1 &x=y#z@example.com""#
    );
    for s in &seen {
        assert!(s.uri.starts_with("/scim/Users?filter="), "{}", s.uri);
        let query = s.uri.split_once('?').unwrap().1;
        // One parameter; spaces as %20 and a literal plus as %2B, never a bare `+`.
        assert!(!query.contains(' ') && !query.contains('+') && !query.contains('#'));
        assert_eq!(query.matches('=').count(), 1, "{query}");
        assert!(query.contains("%20eq%20"));
        assert!(query.contains("%2B1"));
    }
    assert!(matches!(
        Filter::eq(FilterAttr::UserName, "  "),
        Err(ScimError::EmptyFilterValue { attr: "userName" })
    ));
}

// ---------------------------------------------------------------------------------
// Answers

#[tokio::test]
async fn lookups_parse_users_and_lists() {
    let srv = serve(|req: Seen, _| async move {
        if req.uri.starts_with("/scim/Users/missing") {
            scim_error(404, None, "Resource missing not found")
        } else if req.uri.starts_with("/scim/Users/") {
            scim_json(200, user("u1", "ada@x.com", false))
        } else if req.filter().unwrap().contains("twice") {
            scim_json(
                200,
                list(vec![user("a", "twice@x", true), user("b", "twice@x", true)]),
            )
        } else {
            // An empty result as some servers send it: no Resources at all.
            scim_json(200, json!({"totalResults": 0}))
        }
    })
    .await;
    let c = client(&srv.base);
    let u = c.get_user("u1").await.unwrap().unwrap();
    assert_eq!(u.id.as_deref(), Some("u1"));
    assert!(!u.is_active());
    assert_eq!(u.external_id.as_deref(), Some("ext-u1"));
    assert!(c.get_user("missing").await.unwrap().is_none());

    let twice = Filter::eq(FilterAttr::UserName, "twice@x").unwrap();
    assert_eq!(c.find_users(&twice).await.unwrap().len(), 2);
    let none = Filter::eq(FilterAttr::UserName, "none@x").unwrap();
    assert!(c.find_users(&none).await.unwrap().is_empty());
}

#[tokio::test]
async fn auth_failures_carry_the_servers_detail() {
    let srv = serve(|req: Seen, _| async move {
        if req.uri.contains("linkedin") {
            scim_json(
                403,
                json!({"message": "Not enough permissions to access: GET /scim/Users", "serviceErrorCode": 100, "status": 403}),
            )
        } else if req.uri.contains("bare") {
            StatusCode::UNAUTHORIZED.into_response()
        } else {
            scim_error(401, None, "Invalid access token")
        }
    })
    .await;
    let c = client(&srv.base);
    match c.get_user("scim").await.unwrap_err() {
        ScimError::Unauthorized { status, detail } => {
            assert_eq!(status, 401);
            assert_eq!(detail, "Invalid access token");
        }
        other => panic!("{other:?}"),
    }
    let err = c.get_user("linkedin").await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Auth);
    match err {
        ScimError::Unauthorized { status, detail } => {
            assert_eq!(status, 403);
            assert!(detail.contains("Not enough permissions"), "{detail}");
            assert!(detail.contains("serviceErrorCode 100"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    match c.get_user("bare").await.unwrap_err() {
        ScimError::Unauthorized {
            status: 401,
            detail,
        } => assert!(!detail.is_empty()),
        other => panic!("{other:?}"),
    }
    // Auth failures are not retried.
    assert_eq!(srv.count(), 3);
    assert_eq!(c.stats().retries, 0);
}

#[tokio::test]
async fn unsupported_filters_are_recognised() {
    let srv = serve(|req: Seen, _| async move {
        let f = req.filter().unwrap_or_default();
        if f.starts_with("externalId") {
            scim_error(400, Some("invalidFilter"), "Unsupported filter attribute")
        } else if f.starts_with("emails") {
            scim_json(501, json!({"message": "Not implemented", "status": 501}))
        } else {
            scim_json(
                400,
                json!({"message": "Filter on userName is not supported", "status": "400"}),
            )
        }
    })
    .await;
    let c = client(&srv.base);
    for attr in [
        FilterAttr::ExternalId,
        FilterAttr::UserName,
        FilterAttr::Email,
    ] {
        let f = Filter::eq(attr, "x@y").unwrap();
        let err = c.find_users(&f).await.unwrap_err();
        assert!(
            matches!(err, ScimError::InvalidFilter { .. }),
            "{attr:?}: {err:?}"
        );
    }
    // The same 501 on a request without a filter is a plain HTTP error.
    let err = c.get_user("emails").await.unwrap_err();
    assert!(matches!(err, ScimError::Http { .. }), "{err:?}");
}

#[tokio::test]
async fn create_conflict_and_other_errors() {
    let srv = serve(|req: Seen, _| async move {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        match body["userName"].as_str() {
            Some("dup@x.com") => scim_error(409, Some("uniqueness"), "userName already exists"),
            Some("bad@x.com") => scim_error(400, Some("invalidValue"), "emails is required"),
            _ => scim_json(201, user("n1", "new@x.com", true)),
        }
    })
    .await;
    let c = client(&srv.base);
    let nu = |name: &str| NewUser {
        user_name: name.into(),
        external_id: None,
        given_name: None,
        family_name: None,
        email: None,
    };
    let u = c.create_user(&nu("new@x.com")).await.unwrap();
    assert_eq!(u.id.as_deref(), Some("n1"));
    match c.create_user(&nu("dup@x.com")).await.unwrap_err() {
        ScimError::Conflict { detail } => assert_eq!(detail, "userName already exists"),
        other => panic!("{other:?}"),
    }
    match c.create_user(&nu("bad@x.com")).await.unwrap_err() {
        ScimError::Http {
            status,
            scim_type,
            detail,
        } => {
            assert_eq!(status, 400);
            assert_eq!(scim_type.as_deref(), Some("invalidValue"));
            assert_eq!(detail, "emails is required");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn patch_answers_200_204_empty_and_404() {
    let srv = serve(|req: Seen, _| async move {
        match req.uri.rsplit('/').next().unwrap() {
            "full" => scim_json(200, user("full", "a@x", false)),
            "nobody" => StatusCode::NO_CONTENT.into_response(),
            "empty" => (StatusCode::OK, "").into_response(),
            _ => scim_error(404, None, "no such user"),
        }
    })
    .await;
    let c = client(&srv.base);
    let u = c.set_active("full", false).await.unwrap().unwrap();
    assert!(!u.is_active());
    assert!(c.set_active("nobody", true).await.unwrap().is_none());
    assert!(c.set_active("empty", true).await.unwrap().is_none());
    assert!(matches!(
        c.set_active("gone", false).await,
        Err(ScimError::NotFound)
    ));
    assert!(matches!(
        c.delete_user("gone").await,
        Err(ScimError::NotFound)
    ));
    // An empty id would address the whole collection: refused locally.
    assert!(matches!(
        c.set_active("", false).await,
        Err(ScimError::Config(_))
    ));
    assert_eq!(srv.count(), 5);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = serve(|_, _| async { scim_json(200, user("x", "x@x", true)) }).await;
    let target = format!("{}/Users/u1", elsewhere.base);
    let srv = serve(move |_, _| {
        let target = target.clone();
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", target.as_str())],
            )
                .into_response()
        }
    })
    .await;
    let c = client(&srv.base);
    let err = c.get_user("u1").await.unwrap_err();
    match &err {
        ScimError::Redirect { location } => assert!(location.ends_with("/scim/Users/u1")),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("redirect"));
    let err = c.set_active("u1", false).await.unwrap_err();
    assert!(matches!(err, ScimError::Redirect { .. }));
    assert_eq!(elsewhere.count(), 0, "the redirect target was contacted");
    assert_eq!(srv.count(), 2);
}

#[tokio::test]
async fn malformed_bodies_give_short_useful_errors() {
    let srv = serve(|req: Seen, _| async move {
        let id = req.uri.rsplit('/').next().unwrap().to_string();
        match id.as_str() {
            "truncated" => (
                StatusCode::OK,
                [("content-type", "application/scim+json")],
                r#"{"id":"u1","userName":"a@x","#,
            )
                .into_response(),
            "html" => (
                StatusCode::OK,
                [("content-type", "text/html; charset=utf-8")],
                format!("<html><body>Proxy login{}</body></html>", "x".repeat(5000)),
            )
                .into_response(),
            "array" => scim_json(200, json!([1, 2, 3])),
            "wrongtype" => scim_json(200, json!({"id": 7, "userName": ["a"]})),
            _ => (StatusCode::OK, "").into_response(),
        }
    })
    .await;
    let c = client(&srv.base);
    for (id, expect) in [
        ("truncated", "ends early"),
        ("html", "text/html"),
        ("array", "unexpected JSON"),
        ("wrongtype", "unexpected JSON"),
        ("empty", "empty"),
    ] {
        let err = c.get_user(id).await.unwrap_err();
        match &err {
            ScimError::Malformed { status, detail } => {
                assert_eq!(*status, 200);
                assert!(detail.contains(expect), "{id}: {detail}");
                assert!(detail.contains("SCIM User"), "{id}: {detail}");
                assert!(detail.len() < 600, "{id}: {} bytes", detail.len());
            }
            other => panic!("{id}: {other:?}"),
        }
        assert_eq!(err.category(), ErrorCategory::Server);
    }
    // Malformed answers are not retried: the server did answer.
    assert_eq!(srv.count(), 5);
}

// ---------------------------------------------------------------------------------
// Retries

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let srv = serve(|req: Seen, n| async move {
        if req.uri.ends_with("/flaky") && n < 2 {
            let status = if n == 0 { 503 } else { 502 };
            return scim_json(status, json!({"status": status, "detail": "try later"}));
        }
        if req.uri.ends_with("/broken") || req.uri.ends_with("/Users") {
            return scim_error(500, None, "internal error");
        }
        scim_json(200, user("flaky", "a@x", true))
    })
    .await;
    let c = client(&srv.base);
    assert!(c.get_user("flaky").await.unwrap().is_some());
    assert_eq!(c.stats().requests, 3);
    assert_eq!(c.stats().retries, 2);

    match c.get_user("broken").await.unwrap_err() {
        ScimError::Http { status, detail, .. } => {
            assert_eq!(status, 500);
            assert_eq!(detail, "internal error");
        }
        other => panic!("{other:?}"),
    }
    // 1 + max_retries (3) attempts.
    assert_eq!(c.stats().requests, 3 + 4);

    // POST is not retried on 500: the user may have been created.
    let before = srv.count();
    let err = c
        .create_user(&NewUser {
            user_name: "a@x".into(),
            external_id: None,
            given_name: None,
            family_name: None,
            email: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ScimError::Http { status: 500, .. }));
    assert_eq!(srv.count() - before, 1);
}

#[tokio::test]
async fn post_is_retried_on_429_and_503() {
    let srv = serve(|_, n| async move {
        match n {
            0 => (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
            1 => scim_json(503, json!({"status": 503})),
            _ => scim_json(201, user("n1", "a@x", true)),
        }
    })
    .await;
    let c = client(&srv.base);
    c.create_user(&NewUser {
        user_name: "a@x".into(),
        external_id: None,
        given_name: None,
        family_name: None,
        email: None,
    })
    .await
    .unwrap();
    assert_eq!(srv.count(), 3);
    assert_eq!(c.stats().throttled, 1);
    assert_eq!(c.stats().retries, 2);
}

#[tokio::test]
async fn persistent_429_becomes_rate_limited() {
    let srv = serve(|_, _| async {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            r#"{"message":"Too many requests","status":429}"#,
        )
            .into_response()
    })
    .await;
    let c = client(&srv.base);
    match c.get_user("u1").await.unwrap_err() {
        ScimError::RateLimited {
            attempts,
            retry_after,
            ..
        } => {
            assert_eq!(attempts, 4);
            assert_eq!(retry_after, Some(Duration::ZERO));
        }
        other => panic!("{other:?}"),
    }
    let s = c.stats();
    assert_eq!((s.requests, s.retries, s.throttled), (4, 3, 4));
}

#[tokio::test]
async fn retry_after_is_honoured_and_holds_back_other_requests() {
    // One permit: the second request queues behind the first, and must still wait for
    // the hold the first one's 429 set.
    let srv = serve(|_, n| async move {
        if n == 0 {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response()
        } else {
            scim_json(200, user("u", "a@x", true))
        }
    })
    .await;
    let mut cfg = config(&srv.base);
    cfg.concurrency = 1;
    cfg.backoff_max = Duration::from_secs(5);
    let c = ScimClient::new(cfg).unwrap();
    let c2 = c.clone();
    let (a, b) = tokio::join!(c.get_user("a"), c2.get_user("b"));
    a.unwrap().unwrap();
    b.unwrap().unwrap();
    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    for later in &seen[1..] {
        let waited = later.at - seen[0].at;
        assert!(waited >= Duration::from_millis(950), "{waited:?}");
        assert!(waited < Duration::from_secs(4), "{waited:?}");
    }
    assert_eq!(c.stats().throttled, 1);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured_and_capped() {
    let srv = serve(|_, n| async move {
        match n {
            0 => {
                let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
                (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", at)]).into_response()
            }
            // Longer than backoff_max but within max_retry_after: capped at backoff_max.
            // (A far Retry-After now stops the request: issue 14, tests/failsafe_*.rs.)
            1 => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "60")]).into_response(),
            _ => scim_json(200, user("u", "a@x", true)),
        }
    })
    .await;
    let mut cfg = config(&srv.base);
    cfg.backoff_max = Duration::from_millis(1500);
    let c = ScimClient::new(cfg).unwrap();
    c.get_user("u").await.unwrap().unwrap();
    let seen = srv.seen();
    // An HTTP date has whole seconds: "now + 2 s" is 1–2 s away.
    let first_wait = seen[1].at - seen[0].at;
    assert!(first_wait >= Duration::from_millis(950), "{first_wait:?}");
    let second_wait = seen[2].at - seen[1].at;
    assert!(
        second_wait >= Duration::from_millis(1450) && second_wait < Duration::from_secs(4),
        "{second_wait:?}"
    );
}

enum Raw {
    /// Close the connection without answering.
    Drop,
    /// Write these bytes and keep the connection open for the next request.
    Send(Vec<u8>),
    /// Write these bytes and close the connection.
    SendAndClose(Vec<u8>),
}

/// A raw TCP server: for each request (0-based count across connections) it answers
/// as `answer` says.
async fn raw_server<F>(answer: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(usize) -> Raw + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let count2 = count.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let answer = answer.clone();
            let count = count2.clone();
            tokio::spawn(async move {
                while read_request(&mut sock).await {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    match answer(n) {
                        Raw::Drop => return,
                        Raw::Send(bytes) => {
                            if sock.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                        Raw::SendAndClose(bytes) => {
                            let _ = sock.write_all(&bytes).await;
                            let _ = sock.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}/scim"), count)
}

/// Reads one HTTP/1.1 request (head and Content-Length body); false on EOF.
async fn read_request(sock: &mut tokio::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

fn http_ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn dropped_connections_are_retried_for_get_but_not_post() {
    let (base, count) = raw_server(|n| {
        if n % 2 == 0 {
            Raw::Drop
        } else {
            Raw::Send(http_ok(r#"{"id":"u1","userName":"a@x"}"#))
        }
    })
    .await;
    let c = client(&base);
    assert!(c.get_user("u1").await.unwrap().is_some());
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(c.stats().retries, 1);

    // Request 2 is dropped again: a POST that may have reached the server is not
    // repeated.
    let err = c
        .create_user(&NewUser {
            user_name: "a@x".into(),
            external_id: None,
            given_name: None,
            family_name: None,
            email: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ScimError::Network(_)), "{err:?}");
    assert_eq!(err.category(), ErrorCategory::Network);
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_no_token(&err);
}

#[tokio::test]
async fn truncated_transfers_are_network_errors_and_retried() {
    let (base, count) = raw_server(|n| {
        if n == 0 {
            // Promises 200 bytes, sends 10, then closes.
            Raw::SendAndClose(
                b"HTTP/1.1 200 OK\r\ncontent-length: 200\r\n\r\n{\"id\":\"u1\"".to_vec(),
            )
        } else {
            Raw::Send(http_ok(r#"{"id":"u1","userName":"a@x"}"#))
        }
    })
    .await;
    let c = client(&base);
    assert!(c.get_user("u1").await.unwrap().is_some());
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert_eq!(c.stats().retries, 1);

    // Without retries the cut transfer is a network error, not a JSON error.
    let (base, _) = raw_server(|_| {
        Raw::SendAndClose(b"HTTP/1.1 200 OK\r\ncontent-length: 200\r\n\r\n{\"id\"".to_vec())
    })
    .await;
    let mut cfg = config(&base);
    cfg.max_retries = 0;
    let err = ScimClient::new(cfg)
        .unwrap()
        .get_user("u1")
        .await
        .unwrap_err();
    assert!(matches!(err, ScimError::Network(_)), "{err:?}");
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = client(&format!("http://127.0.0.1:{port}/scim"));
    let err = c.get_user("u1").await.unwrap_err();
    assert!(matches!(err, ScimError::Network(_)), "{err:?}");
    assert_eq!(err.category(), ErrorCategory::Network);
    assert_eq!(c.stats().requests, 4);
    assert_no_token(&err);
    // Nothing was sent, so even POST is retried.
    let err = c
        .create_user(&NewUser {
            user_name: "a@x".into(),
            external_id: None,
            given_name: None,
            family_name: None,
            email: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ScimError::Network(_)), "{err:?}");
    assert_eq!(c.stats().requests, 8);
}

#[tokio::test]
async fn timeouts_are_retried_for_get_not_for_post() {
    let srv = serve(|_, n| async move {
        if n == 0 || n == 2 {
            std::future::pending::<()>().await;
        }
        scim_json(200, user("u1", "a@x", true))
    })
    .await;
    let mut cfg = config(&srv.base);
    cfg.timeout = Duration::from_millis(200);
    let c = ScimClient::new(cfg).unwrap();
    assert!(c.get_user("u1").await.unwrap().is_some());
    assert_eq!(srv.count(), 2);
    let err = c
        .create_user(&NewUser {
            user_name: "a@x".into(),
            external_id: None,
            given_name: None,
            family_name: None,
            email: None,
        })
        .await
        .unwrap_err();
    match err {
        ScimError::Timeout(d) => assert_eq!(d, Duration::from_millis(200)),
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.count(), 3);
}

// ---------------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn concurrency_is_limited_across_clones() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p) = (in_flight.clone(), peak.clone());
    let srv = serve(move |_, _| {
        let (f, p) = (f.clone(), p.clone());
        async move {
            let now = f.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await; // simulated latency
            f.fetch_sub(1, Ordering::SeqCst);
            scim_json(200, user("u", "a@x", true))
        }
    })
    .await;
    let mut cfg = config(&srv.base);
    cfg.concurrency = 3;
    let c = ScimClient::new(cfg).unwrap();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.get_user(&format!("u{i}")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap().unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= 3, "{peak:?}");
    assert_eq!(c.stats().requests, 24);
}

#[tokio::test]
async fn request_rate_is_limited() {
    let srv = serve(|_, _| async { scim_json(200, user("u", "a@x", true)) }).await;
    let mut cfg = config(&srv.base);
    cfg.rate_limit = Some(50.0);
    cfg.concurrency = 8;
    let c = ScimClient::new(cfg).unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..11)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.get_user(&format!("u{i}")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    // 11 requests at 50/s: the last one starts ten 20 ms slots after the first.
    assert!(elapsed >= Duration::from_millis(195), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(srv.count(), 11);
}

// ---------------------------------------------------------------------------------
// Connection test

#[tokio::test]
async fn test_connection_reads_service_provider_config() {
    let srv = serve(|req: Seen, _| async move {
        if req.uri.ends_with("/ServiceProviderConfig") {
            scim_json(
                200,
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": {"supported": true},
                    "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
                    "filter": {"supported": true, "maxResults": 100},
                    "delete": {"supported": true}
                }),
            )
        } else {
            scim_json(200, list(vec![]))
        }
    })
    .await;
    let c = client(&srv.base);
    let r = c.test_connection().await.unwrap();
    assert_eq!(r.probe, ProbeMethod::ServiceProviderConfig);
    assert!(r.filter_supported && r.patch_supported && r.delete_supported);
    assert_eq!(
        r.service_provider_config.unwrap().filter.max_results,
        Some(100)
    );
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].uri, "/scim/ServiceProviderConfig");
    assert!(seen[1]
        .filter()
        .unwrap()
        .starts_with("externalId eq \"navscim-connection-test-"));
    assert!(seen.iter().all(|s| s.method == "GET"));
}

#[tokio::test]
async fn test_connection_falls_back_to_a_filtered_lookup() {
    let srv = serve(|req: Seen, _| async move {
        if req.uri.ends_with("/ServiceProviderConfig") {
            scim_error(404, None, "not found")
        } else if req.filter().unwrap().starts_with("externalId") {
            scim_error(
                400,
                Some("invalidFilter"),
                "externalId is not filterable here",
            )
        } else {
            scim_json(200, list(vec![]))
        }
    })
    .await;
    let c = client(&srv.base);
    let r = c.test_connection().await.unwrap();
    assert_eq!(r.probe, ProbeMethod::FilteredLookup);
    assert!(r.filter_supported);
    assert!(!r.delete_supported);
    assert!(r.service_provider_config.is_none());
    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    let probe = seen[2].filter().unwrap();
    assert!(
        probe.starts_with("userName eq \"navscim-connection-test-")
            && probe.ends_with("@invalid.example\""),
        "{probe}"
    );
}

#[tokio::test]
async fn test_connection_reports_auth_failure_and_missing_filters() {
    let unauthorized = serve(|req: Seen, _| async move {
        if req.uri.ends_with("/ServiceProviderConfig") {
            // Served without authentication, as RFC 7644 allows.
            scim_json(
                200,
                json!({"patch": {"supported": true}, "filter": {"supported": true}}),
            )
        } else {
            scim_error(401, None, "token expired")
        }
    })
    .await;
    let err = client(&unauthorized.base)
        .test_connection()
        .await
        .unwrap_err();
    assert!(
        matches!(err, ScimError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );

    let no_filter = serve(|req: Seen, _| async move {
        if req.uri.ends_with("/ServiceProviderConfig") {
            scim_json(200, json!({"patch": {"supported": true}}))
        } else {
            scim_json(501, json!({"detail": "filtering is not implemented"}))
        }
    })
    .await;
    let r = client(&no_filter.base).test_connection().await.unwrap();
    assert!(!r.filter_supported);
    assert!(!r.delete_supported);

    let wrong_base = serve(|_, _| async { StatusCode::NOT_FOUND.into_response() }).await;
    let err = client(&wrong_base.base)
        .test_connection()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("base URL"), "{err}");
}

// ---------------------------------------------------------------------------------
// The token stays secret (logs: tests/scim_logs.rs, which owns the global subscriber)

#[tokio::test]
async fn token_appears_in_no_error() {
    // A hostile server that echoes the Authorization header everywhere it can.
    let srv = serve(|req: Seen, _| async move {
        let auth = req.header("authorization").to_string();
        let id = req.uri.rsplit('/').next().unwrap().to_string();
        match id.as_str() {
            "e401" => scim_error(401, Some(&auth), &format!("bad token {auth}")),
            "e500" => scim_json(500, json!({"message": auth, "serviceErrorCode": auth})),
            "e302" => (
                StatusCode::FOUND,
                [("location", format!("http://evil.example/?t={auth}"))],
            )
                .into_response(),
            "e418" => Response::builder()
                .status(418)
                .body(Body::from(format!("teapot {auth}")))
                .unwrap(),
            "e409" => scim_error(409, None, &auth),
            _ => (StatusCode::OK, format!("{{\"id\": \"{auth}")).into_response(),
        }
    })
    .await;
    let c = client(&srv.base);
    let mut errors = Vec::new();
    for id in ["e401", "e500", "e302", "e418", "e409", "malformed"] {
        errors.push(c.get_user(id).await.unwrap_err());
    }
    errors.push(
        c.find_users(&Filter::eq(FilterAttr::UserName, "x").unwrap())
            .await
            .unwrap_err(),
    );
    // Sanity: the server did see the token, and the errors did carry the echo.
    assert!(srv.seen()[0].header("authorization").contains(TOKEN));
    assert!(errors.iter().any(|e| e.to_string().contains("Bearer ***")));
    for e in &errors {
        assert_no_token(e);
    }
    assert!(!format!("{c:?}").contains(TOKEN));
}
