//! The lookup engine against the embedded simulator (and tiny axum servers for shapes
//! the simulator cannot produce): precedence, exact comparison, unsupported-filter
//! memory, ambiguity, 429 storms, 5xx, cancellation, auth stop, a generic RFC 7644
//! server, and the demo fixtures' categories.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use navscim::import::{demo, import_str, ImportOptions};
use navscim::lookup::{
    jobs_for, lookup_one, run_batch, verify_link, BatchSummary, LookupEvent, LookupJob,
    LookupOptions, Unsupported,
};
use navscim::matching::{
    AttemptResult, DirUser, Directory, DomainAliases, LookupKind, LookupOutcome, MatchStatus,
    Presence,
};
use navscim::scim::{ClientConfig, ScimClient};
use navscim::secret::Token;
use navscim::sim::{self, SimConfig, SimHandle};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "lookup-test-token";

async fn sim_with(config: SimConfig) -> SimHandle {
    sim::start(SimConfig {
        token: TOKEN.into(),
        ..config
    })
    .await
    .unwrap()
}

async fn demo_sim() -> SimHandle {
    sim_with(SimConfig {
        seed_csv: Some(demo::SALESNAV_USERS_CSV.into()),
        ..SimConfig::default()
    })
    .await
}

fn client_for(base: &str, concurrency: usize) -> ScimClient {
    let mut c = ClientConfig::new(base, Token::new(TOKEN));
    c.concurrency = concurrency;
    c.backoff_base = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(100);
    c.max_retries = 8;
    ScimClient::new(c).unwrap()
}

fn user(email: Option<&str>, user_name: Option<&str>, idp_id: Option<&str>) -> DirUser {
    DirUser {
        key: email.unwrap_or("x").to_lowercase(),
        email: email.map(Into::into),
        user_name: user_name.map(Into::into),
        idp_id: idp_id.map(Into::into),
        first_name: None,
        last_name: None,
        display_name: None,
        in_idp: true,
        idp_enabled: None,
        seat: None,
        other_seats: Vec::new(),
        sources: vec![],
        duplicate_rows: 0,
        stored_scim_id: None,
    }
}

fn get_count(sim: &SimHandle) -> u64 {
    sim.stats().requests.get("GET").copied().unwrap_or(0)
}

/// Runs a batch to the end, collecting every event.
async fn batch(
    client: &ScimClient,
    jobs: Vec<LookupJob>,
    options: LookupOptions,
    unsupported: &Unsupported,
) -> (BatchSummary, Vec<LookupEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let summary = run_batch(
        client.clone(),
        jobs,
        options,
        unsupported.clone(),
        CancellationToken::new(),
        tx,
    )
    .await;
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (summary, events)
}

/// Every job's outcome by index; asserts each started job finished exactly once.
fn outcomes(events: &[LookupEvent]) -> HashMap<usize, LookupOutcome> {
    let mut started = HashMap::new();
    let mut finished = HashMap::new();
    for e in events {
        match e {
            LookupEvent::Started(i) => {
                assert!(started.insert(*i, ()).is_none(), "job {i} started twice");
            }
            LookupEvent::Finished(i, o) => {
                assert!(
                    started.contains_key(i),
                    "job {i} finished before it started"
                );
                assert!(
                    finished.insert(*i, (**o).clone()).is_none(),
                    "job {i} finished twice"
                );
            }
        }
    }
    assert_eq!(
        started.len(),
        finished.len(),
        "a started job never finished"
    );
    finished
}

#[tokio::test]
async fn external_id_hit_short_circuits() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let u = user(
        Some("amanda.rivera@northwind.example"),
        None,
        Some("E100299"),
    );
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.status, MatchStatus::Matched { active: true });
    assert_eq!(out.matched_by, Some(LookupKind::ExternalId));
    assert_eq!(
        out.user.as_ref().unwrap().user_name,
        "amanda.rivera@northwind.example"
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // The stored id is skipped (no value), externalId answers, nothing else is asked.
    assert_eq!(out.attempts.len(), 2, "{:#?}", out.attempts);
    assert!(matches!(out.attempts[0].result, AttemptResult::Skipped(_)));
    assert_eq!(out.attempts[1].result, AttemptResult::Hits(1));
    assert_eq!(
        out.attempts[1].request,
        r#"GET /Users?filter=externalId eq "E100299""#
    );
    assert_eq!(get_count(&sim), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_name_then_email_fallbacks() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let unsupported = Unsupported::default();

    // externalId unknown to the server: userName finds the user, and the differing
    // externalId is a warning.
    let u = user(
        Some("amanda.rivera@northwind.example"),
        None,
        Some("E-WRONG"),
    );
    let out = lookup_one(&client, &u, &LookupOptions::default(), &unsupported).await;
    assert_eq!(out.matched_by, Some(LookupKind::UserName), "{out:#?}");
    assert_eq!(out.attempts[1].result, AttemptResult::NotFound);
    assert_eq!(out.attempts[2].result, AttemptResult::Hits(1));
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(out.warnings[0].contains("E-WRONG"));
    assert!(out.warnings[0].contains("E100299"));

    // A user name the server does not know (an Entra UPN, say): the email finds it.
    let u = user(
        Some("amanda.rivera@northwind.example"),
        Some("arivera@corp.onmicrosoft.example"),
        None,
    );
    let out = lookup_one(&client, &u, &LookupOptions::default(), &unsupported).await;
    assert_eq!(out.matched_by, Some(LookupKind::Email), "{out:#?}");
    assert_eq!(
        out.attempts.last().unwrap().request,
        r#"GET /Users?filter=emails.value eq "amanda.rivera@northwind.example""#
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn not_found_tries_every_kind() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let u = user(Some("nobody@northwind.example"), None, Some("E0"));
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.status, MatchStatus::NotFound);
    assert!(out.error.is_none());
    let sent: Vec<_> = out
        .attempts
        .iter()
        .filter(|a| a.result == AttemptResult::NotFound)
        .map(|a| a.kind)
        .collect();
    assert_eq!(
        sent,
        vec![
            LookupKind::ExternalId,
            LookupKind::UserName,
            LookupKind::Email
        ]
    );
    assert!(out.attempts.iter().all(|a| !a.request.contains(TOKEN)));
    assert_eq!(get_count(&sim), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn case_variant_duplicates_are_ambiguous_with_every_candidate() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let u = user(Some("william.mitchell@northwind.example"), None, None);
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.status, MatchStatus::Ambiguous, "{out:#?}");
    assert_eq!(out.matched_by, Some(LookupKind::UserName));
    assert!(out.user.is_none());
    let mut ext: Vec<_> = out
        .candidates
        .iter()
        .map(|c| c.external_id.clone().unwrap())
        .collect();
    ext.sort();
    assert_eq!(ext, vec!["E100155-A", "E100155-B"]);
    // It stops there: the email lookup is not tried.
    assert_eq!(out.attempts.last().unwrap().kind, LookupKind::UserName);
    sim.shutdown().await;
}

#[tokio::test]
async fn comparison_ignores_case_and_surrounding_space() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let u = user(Some("  AMANDA.Rivera@NorthWind.example "), None, None);
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.matched_by, Some(LookupKind::UserName), "{out:#?}");
    // externalId is compared exactly: a case variant is not a hit.
    let u = user(Some("x@y.example"), None, Some("e100299"));
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.status, MatchStatus::NotFound, "{out:#?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn awkward_values_round_trip() {
    let seed = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id\n\
        o'brien+sales@example.com,Pat,O'Brien,\"CORP\\pat\"\n\
        zoë.müller@exämple.de,Zoë,Müller,\"E1\"\"Q\"\n\
        名前@例え.jp,名,前,a+b c\n\
        back\\slash@example.com,Back,Slash,名前-1\n";
    let sim = sim_with(SimConfig {
        seed_csv: Some(seed.into()),
        ..SimConfig::default()
    })
    .await;
    let client = client_for(sim.base_url(), 4);
    let cases = [
        ("o'brien+sales@example.com", r"CORP\pat"),
        ("ZOË.MÜLLER@exämple.de", "E1\"Q"),
        ("名前@例え.jp", "a+b c"),
        (r"back\slash@example.com", "名前-1"),
    ];
    for (email, ext) in cases {
        // By externalId…
        let out = lookup_one(
            &client,
            &user(Some("none@x.example"), None, Some(ext)),
            &LookupOptions::default(),
            &Unsupported::default(),
        )
        .await;
        assert_eq!(
            out.matched_by,
            Some(LookupKind::ExternalId),
            "{ext}: {out:#?}"
        );
        assert_eq!(out.user.unwrap().external_id.as_deref(), Some(ext));
        // …and by userName, case-insensitively.
        let out = lookup_one(
            &client,
            &user(Some(email), None, None),
            &LookupOptions::default(),
            &Unsupported::default(),
        )
        .await;
        assert_eq!(
            out.matched_by,
            Some(LookupKind::UserName),
            "{email}: {out:#?}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn stored_id_first_and_stale_ids_fall_back() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let target = sim
        .users()
        .into_iter()
        .find(|u| u.user_name == "amanda.rivera@northwind.example")
        .unwrap();
    let id = target.id.clone().unwrap();
    let mut u = user(
        Some("amanda.rivera@northwind.example"),
        None,
        Some("E100299"),
    );
    u.stored_scim_id = Some(id.clone());
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.matched_by, Some(LookupKind::StoredId));
    assert_eq!(out.attempts[0].request, format!("GET /Users/{id}"));
    assert_eq!(out.scim_id(), Some(id.as_str()));

    u.stored_scim_id = Some("0000000000000000".into());
    let out = lookup_one(
        &client,
        &u,
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.attempts[0].result, AttemptResult::NotFound);
    assert_eq!(out.matched_by, Some(LookupKind::ExternalId));

    assert_eq!(
        verify_link(&client, &id).await.unwrap().unwrap().id,
        Some(id)
    );
    assert!(verify_link(&client, "nope").await.unwrap().is_none());
    sim.shutdown().await;
}

// ---- tiny servers -------------------------------------------------------------------

struct Tiny {
    base: String,
}

/// Serves `handler` on 127.0.0.1:0 under `/scim`.
async fn tiny<F, Fut>(handler: F) -> Tiny
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    let app = axum::Router::new().fallback(move |req: Request| {
        let h = handler.clone();
        async move { h(req).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Tiny {
        base: format!("http://{addr}/scim"),
    }
}

fn filter_of(req: &Request) -> String {
    let url = url::Url::parse(&format!("http://x{}", req.uri())).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The string inside `attr eq "…"` (no escapes in these tests).
fn filter_value(filter: &str) -> String {
    filter
        .split_once('"')
        .map(|(_, v)| v.trim_end_matches('"').to_string())
        .unwrap_or_default()
}

fn list(users: Vec<serde_json::Value>) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": users.len(),
            "Resources": users,
        })),
    )
        .into_response()
}

fn scim_user(id: &str, user_name: &str, ext: Option<&str>) -> serde_json::Value {
    json!({"id": id, "userName": user_name, "externalId": ext, "active": true,
           "emails": [{"value": user_name}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_kind_is_tried_once_per_connection() {
    let ext_requests = Arc::new(AtomicUsize::new(0));
    let name_requests = Arc::new(AtomicUsize::new(0));
    let (e, n) = (ext_requests.clone(), name_requests.clone());
    let server = tiny(move |req| {
        let (e, n) = (e.clone(), n.clone());
        async move {
            let f = filter_of(&req);
            if f.starts_with("externalId") {
                e.fetch_add(1, Ordering::SeqCst);
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "status": "400", "scimType": "invalidFilter",
                        "detail": "externalId is not filterable here"
                    })),
                )
                    .into_response();
            }
            n.fetch_add(1, Ordering::SeqCst);
            let v = filter_value(&f);
            list(vec![scim_user(&format!("id-{v}"), &v, None)])
        }
    })
    .await;
    let client = client_for(&server.base, 8);
    let unsupported = Unsupported::default();
    let jobs: Vec<_> = (0..60)
        .map(|i| LookupJob {
            index: i,
            user: user(
                Some(&format!("u{i}@x.example")),
                None,
                Some(&format!("E{i}")),
            ),
        })
        .collect();
    let options = LookupOptions {
        concurrency: 8,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs.clone(), options.clone(), &unsupported).await;
    assert_eq!(summary.finished, 60);
    let outs = outcomes(&events);
    assert!(outs
        .values()
        .all(|o| o.matched_by == Some(LookupKind::UserName)));
    assert_eq!(
        ext_requests.load(Ordering::SeqCst),
        1,
        "externalId tried once"
    );
    assert_eq!(name_requests.load(Ordering::SeqCst), 60);
    assert_eq!(unsupported.kinds(), vec![LookupKind::ExternalId]);
    let rejected = outs
        .values()
        .filter(|o| {
            o.attempts
                .iter()
                .any(|a| matches!(a.result, AttemptResult::Unsupported(_)))
        })
        .count();
    assert_eq!(rejected, 1);

    // A later batch on the same connection does not ask again.
    let (_, events) = batch(&client, jobs, options, &unsupported).await;
    assert_eq!(outcomes(&events).len(), 60);
    assert_eq!(ext_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_first_request_of_a_kind_goes_alone() {
    // The first userName search is answered at once; the next eight are held until
    // all eight are in flight together. An engine that kept sending them one at a
    // time would never get there (and the timeout fails the test).
    const WORKERS: usize = 8;
    let seen = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(WORKERS));
    let (s, b) = (seen.clone(), barrier.clone());
    let server = tiny(move |req| {
        let (s, b) = (s.clone(), b.clone());
        async move {
            let n = s.fetch_add(1, Ordering::SeqCst) + 1;
            if (2..2 + WORKERS).contains(&n) {
                b.wait().await;
            }
            let v = filter_value(&filter_of(&req));
            list(vec![scim_user(&format!("id-{v}"), &v, None)])
        }
    })
    .await;
    let client = client_for(&server.base, WORKERS);
    let jobs: Vec<_> = (0..40)
        .map(|i| LookupJob {
            index: i,
            user: user(Some(&format!("u{i}@x.example")), None, None),
        })
        .collect();
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: WORKERS,
        ..LookupOptions::default()
    };
    let (summary, events) = tokio::time::timeout(
        Duration::from_secs(20),
        batch(&client, jobs, options, &Unsupported::default()),
    )
    .await
    .expect("lookups after the first were not sent concurrently");
    assert_eq!(summary.finished, 40);
    assert_eq!(outcomes(&events).len(), 40);
    assert_eq!(seen.load(Ordering::SeqCst), 40);
}

#[tokio::test]
async fn loose_server_hits_are_filtered_exactly() {
    // A server that answers every search with three users, only one of them exact.
    let server = tiny(|req| async move {
        let v = filter_value(&filter_of(&req));
        list(vec![
            scim_user("1", &format!("{v}.other"), Some("X1")),
            scim_user("2", &v.to_uppercase(), Some("X2")),
            scim_user("3", &format!("pre{v}"), Some("X3")),
        ])
    })
    .await;
    let client = client_for(&server.base, 2);
    let out = lookup_one(
        &client,
        &user(Some("ann@x.example"), None, None),
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(
        out.status,
        MatchStatus::Matched { active: true },
        "{out:#?}"
    );
    assert_eq!(out.scim_id(), Some("2"));
}

#[tokio::test]
async fn errors_are_never_not_found() {
    // userName searches fail with 500, emails.value ones find nothing.
    let server = tiny(|req| async move {
        let f = filter_of(&req);
        if f.starts_with("userName") {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        list(vec![])
    })
    .await;
    let mut cfg = ClientConfig::new(&server.base, Token::new(TOKEN));
    cfg.max_retries = 1;
    cfg.backoff_base = Duration::from_millis(1);
    let client = ScimClient::new(cfg).unwrap();
    let out = lookup_one(
        &client,
        &user(Some("ann@x.example"), None, None),
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(out.status, MatchStatus::Error, "{out:#?}");
    assert!(out.error.as_deref().unwrap().contains("500"), "{out:#?}");
    // The email lookup was still tried.
    assert_eq!(out.attempts.last().unwrap().kind, LookupKind::Email);
    assert_eq!(out.attempts.last().unwrap().result, AttemptResult::NotFound);
}

#[tokio::test]
async fn nothing_to_look_up_by_is_an_error_not_not_found() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 2);
    let u = user(None, None, Some("E100299"));
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName, LookupKind::Email],
        ..LookupOptions::default()
    };
    let out = lookup_one(&client, &u, &options, &Unsupported::default()).await;
    assert_eq!(out.status, MatchStatus::Error);
    assert!(out.error.unwrap().contains("no lookup could be sent"));
    assert_eq!(get_count(&sim), 0);
    sim.shutdown().await;
}

fn sim_users_as_jobs(sim: &SimHandle, n: usize) -> Vec<LookupJob> {
    sim.users()
        .into_iter()
        .take(n)
        .enumerate()
        .map(|(i, u)| LookupJob {
            index: i,
            user: user(Some(&u.user_name), None, None),
        })
        .collect()
}

/// Every job finished once, matched to the right user.
fn assert_all_matched(sim: &SimHandle, jobs: &[LookupJob], events: &[LookupEvent]) {
    let outs = outcomes(events);
    assert_eq!(outs.len(), jobs.len(), "lost lookups");
    for job in jobs {
        let o = &outs[&job.index];
        assert!(
            matches!(o.status, MatchStatus::Matched { .. }),
            "{}: {o:#?}",
            job.user.key
        );
        let id = o.scim_id().unwrap();
        assert_eq!(
            sim.user(id).unwrap().user_name,
            job.user.email.clone().unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_of_429_without_retry_after_lose_nothing() {
    let sim = sim_with(SimConfig {
        generate: 150,
        rate_limit: Some(50.0),
        retry_after: false,
        ..SimConfig::default()
    })
    .await;
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    cfg.concurrency = 16;
    cfg.max_retries = 30;
    cfg.backoff_base = Duration::from_millis(20);
    cfg.backoff_max = Duration::from_millis(300);
    let client = ScimClient::new(cfg).unwrap();
    let jobs = sim_users_as_jobs(&sim, 150);
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: 16,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs.clone(), options, &Unsupported::default()).await;
    assert_eq!(summary.finished, 150);
    assert_eq!(summary.cancelled, 0);
    assert!(sim.stats().throttled > 0, "the storm happened");
    assert!(client.stats().throttled > 0);
    assert_all_matched(&sim, &jobs, &events);
    assert_adapted(&client, 50.0);
    sim.shutdown().await;
}

/// After 429s the client paces itself (AIMD, `scim::limiter::AdaptiveRate`): its rate
/// was set below what the simulator's bucket lets through in a second (a full bucket of
/// one second's worth plus a second's refill) and has grown only slowly since; twice
/// that is a bound no run of these tests comes near.
fn assert_adapted(client: &ScimClient, limit: f64) {
    let rate = client.adaptive_rate().expect("429s set an adaptive rate");
    assert!((1.0..=2.0 * (limit + limit)).contains(&rate), "{rate}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_429_no_adaptive_pacing() {
    let sim = sim_with(SimConfig {
        generate: 40,
        ..SimConfig::default()
    })
    .await;
    let client = client_for(sim.base_url(), 8);
    let jobs = sim_users_as_jobs(&sim, 40);
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: 8,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs.clone(), options, &Unsupported::default()).await;
    assert_eq!(summary.finished, 40);
    assert_all_matched(&sim, &jobs, &events);
    assert_eq!(client.adaptive_rate(), None);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_of_429_with_retry_after_lose_nothing() {
    let sim = sim_with(SimConfig {
        generate: 150,
        rate_limit: Some(60.0),
        retry_after: true,
        ..SimConfig::default()
    })
    .await;
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    cfg.concurrency = 16;
    cfg.max_retries = 30;
    cfg.backoff_base = Duration::from_millis(20);
    // Retry-After (whole seconds) is capped by backoff_max: keeps the test short.
    cfg.backoff_max = Duration::from_millis(400);
    let client = ScimClient::new(cfg).unwrap();
    let jobs = sim_users_as_jobs(&sim, 150);
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: 16,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs.clone(), options, &Unsupported::default()).await;
    assert_eq!(summary.finished, 150);
    assert!(sim.stats().throttled > 0);
    assert_all_matched(&sim, &jobs, &events);
    assert_adapted(&client, 60.0);
    // The adapted rate is the client's, shared by its clones.
    assert!(client.clone().adaptive_rate().is_some());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_dropped_connections_are_retried() {
    let sim = sim_with(SimConfig {
        generate: 200,
        fail_rate: 0.25,
        drop_rate: 0.05,
        ..SimConfig::default()
    })
    .await;
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    cfg.concurrency = 8;
    cfg.max_retries = 12;
    cfg.backoff_base = Duration::from_millis(2);
    cfg.backoff_max = Duration::from_millis(50);
    let client = ScimClient::new(cfg).unwrap();
    let jobs = sim_users_as_jobs(&sim, 200);
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: 8,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs.clone(), options, &Unsupported::default()).await;
    assert_eq!(summary.finished, 200);
    assert!(client.stats().retries > 0, "faults were injected");
    assert_all_matched(&sim, &jobs, &events);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_run_stops_new_lookups_and_finishes_those_in_flight() {
    // The server itself cancels the batch when its 25th request arrives, so the
    // moment of cancellation is exact.
    const AT: usize = 25;
    const WORKERS: usize = 4;
    let cancel = CancellationToken::new();
    let arrived = Arc::new(AtomicUsize::new(0));
    let (c, a) = (cancel.clone(), arrived.clone());
    let server = tiny(move |req| {
        let (c, a) = (c.clone(), a.clone());
        async move {
            if a.fetch_add(1, Ordering::SeqCst) + 1 == AT {
                c.cancel();
            }
            let v = filter_value(&filter_of(&req));
            list(vec![scim_user(&format!("id-{v}"), &v, None)])
        }
    })
    .await;
    let client = client_for(&server.base, WORKERS);
    let jobs: Vec<_> = (0..500)
        .map(|i| LookupJob {
            index: i,
            user: user(Some(&format!("u{i}@x.example")), None, None),
        })
        .collect();
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: WORKERS,
        ..LookupOptions::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let summary = run_batch(client, jobs, options, Unsupported::default(), cancel, tx).await;
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    let outs = outcomes(&events);
    let started = events
        .iter()
        .filter(|e| matches!(e, LookupEvent::Started(_)))
        .count();
    // Counts add up; nothing started after the cancellation but what was in flight.
    assert_eq!(summary.finished, outs.len());
    assert_eq!(summary.finished, started);
    assert_eq!(summary.finished + summary.cancelled, 500);
    assert!(started >= AT, "{started}");
    assert!(started < AT + WORKERS, "{started}");
    // At most one request per started job. A job that started as the cancellation
    // came may find it before its request leaves: it sends nothing and ends as
    // "cancelled" (under load this happens; it is not a request after the cancel).
    let arrived = arrived.load(Ordering::SeqCst);
    assert!(arrived <= started, "{arrived} requests for {started} jobs");
    assert!(arrived >= AT, "{arrived}");
    // Those in flight finished properly (not as errors); the rest were cancelled.
    let matched = outs
        .values()
        .filter(|o| matches!(o.status, MatchStatus::Matched { .. }))
        .count();
    assert_eq!(matched, arrived, "every request sent was answered and kept");
    assert!(outs
        .values()
        .filter(|o| !matches!(o.status, MatchStatus::Matched { .. }))
        .all(|o| o.error.as_deref() == Some("cancelled")));
}

#[tokio::test]
async fn cancelled_before_start_sends_nothing() {
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 4);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let jobs: Vec<_> = (0..10)
        .map(|i| LookupJob {
            index: i,
            user: user(Some("a@b.example"), None, None),
        })
        .collect();
    let summary = run_batch(
        client,
        jobs,
        LookupOptions::default(),
        Unsupported::default(),
        cancel,
        tx,
    )
    .await;
    assert_eq!(
        summary,
        BatchSummary {
            finished: 0,
            cancelled: 10,
            auth_failure: None,
            stopped: None,
        }
    );
    assert!(rx.recv().await.is_none());
    assert_eq!(get_count(&sim), 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_the_batch() {
    let sim = demo_sim().await;
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new("wrong-token"));
    cfg.concurrency = 4;
    let client = ScimClient::new(cfg).unwrap();
    let jobs: Vec<_> = (0..200)
        .map(|i| LookupJob {
            index: i,
            user: user(Some(&format!("u{i}@x.example")), None, Some("E1")),
        })
        .collect();
    let options = LookupOptions {
        concurrency: 4,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs, options, &Unsupported::default()).await;
    assert!(summary.auth_failure.as_deref().unwrap().contains("401"));
    assert!(summary.finished <= 4, "{summary:?}");
    assert_eq!(summary.finished + summary.cancelled, 200);
    let outs = outcomes(&events);
    assert!(outs.values().all(|o| o.status == MatchStatus::Error));
    // One request per lookup that started: it stops at the first kind.
    assert_eq!(get_count(&sim) as usize, summary.finished);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_rfc7644_server() {
    let sim = sim_with(SimConfig {
        seed_csv: Some(demo::SALESNAV_USERS_CSV.into()),
        allow_list: true,
        ..SimConfig::default()
    })
    .await;
    let client = client_for(sim.base_url(), 4);
    let jobs = vec![
        LookupJob {
            index: 0,
            user: user(
                Some("amanda.rivera@northwind.example"),
                None,
                Some("E100299"),
            ),
        },
        LookupJob {
            index: 1,
            user: user(Some("mateo.garcia@northwind.example"), None, None),
        },
        LookupJob {
            index: 2,
            user: user(Some("nobody@northwind.example"), None, None),
        },
    ];
    let (summary, events) = batch(
        &client,
        jobs,
        LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert_eq!(summary.finished, 3);
    let outs = outcomes(&events);
    assert_eq!(outs[&0].matched_by, Some(LookupKind::ExternalId));
    assert_eq!(outs[&1].status, MatchStatus::Ambiguous);
    assert_eq!(outs[&2].status, MatchStatus::NotFound);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fixtures_classify_every_category() {
    let manifest: serde_json::Value = serde_json::from_str(demo::MANIFEST_JSON).unwrap();
    let people = &manifest["people"];
    let n = |k: &str| people[k].as_u64().unwrap() as usize;
    let opts = ImportOptions::default();
    let imports = vec![
        import_str(demo::IDP_OKTA_NAME, demo::IDP_OKTA_CSV, &opts).unwrap(),
        import_str(demo::SALESNAV_USERS_NAME, demo::SALESNAV_USERS_CSV, &opts).unwrap(),
    ];
    let aliases = DomainAliases::default();
    let dir = Directory::build(&imports, &aliases);
    let several_seats = dir
        .users
        .iter()
        .filter(|u| !u.other_seats.is_empty())
        .count();
    assert_eq!(several_seats, n("ambiguous"));
    let sim = demo_sim().await;
    let client = client_for(sim.base_url(), 16);
    let jobs = jobs_for(&dir);
    let options = LookupOptions {
        concurrency: 16,
        ..LookupOptions::default()
    };
    let (summary, events) = batch(&client, jobs, options, &Unsupported::default()).await;
    assert_eq!(summary.finished, dir.len());
    let outs = outcomes(&events);
    let count =
        |f: &dyn Fn(usize, &LookupOutcome) -> bool| outs.iter().filter(|(i, o)| f(**i, o)).count();
    let matched = |o: &LookupOutcome| matches!(o.status, MatchStatus::Matched { .. });
    let orphan = |i: usize| dir.presence(&dir.users[i]) == Presence::OrphanSeat;
    assert_eq!(
        count(&|i, o| matched(o) && !orphan(i) && o.warnings.is_empty()),
        n("matched")
    );
    assert_eq!(
        count(&|i, o| matched(o) && !orphan(i) && !o.warnings.is_empty()),
        n("mismatch")
    );
    assert_eq!(count(&|i, o| matched(o) && orphan(i)), n("orphans"));
    assert_eq!(
        count(&|_, o| o.status == MatchStatus::Ambiguous),
        n("ambiguous")
    );
    assert_eq!(
        count(&|_, o| o.status == MatchStatus::NotFound),
        n("not_found")
    );
    assert_eq!(count(&|_, o| o.status == MatchStatus::Error), 0);
    // The not-found emails are exactly the manifest's.
    let mut nf: Vec<String> = outs
        .iter()
        .filter(|(_, o)| o.status == MatchStatus::NotFound)
        .map(|(i, _)| dir.users[*i].key.clone())
        .collect();
    nf.sort();
    let want: Vec<String> = manifest["not_found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(nf, want);
    sim.shutdown().await;
}
