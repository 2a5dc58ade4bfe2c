//! Identity-provider sources (issue 12) against the Okta and Entra ID simulators only:
//! paging, direct plus group assignment as one user, nested and overlapping groups,
//! 429 storms and rate-limit headers, token expiry mid-listing, wrong credentials
//! (exit 3, the secret in no output), the app not found, a user disabled in the IdP,
//! and `navscim lookup --source …` giving the same statuses as the same users in a CSV.

use std::collections::BTreeMap;
use std::process::Output;

use crate::support::{self, stderr, stdout, TestDir};
use navscim::idp::entra::{EntraConfig, GRAPH_PERMISSIONS};
use navscim::idp::okta::{OktaAuth, OktaConfig};
use navscim::idp::{fetch, Connection, IdpError, IdpEvent, Listing};
use navscim::import::demo;
use navscim::matching::{Directory, DomainAliases};
use navscim::secret::Token;
use navscim::sim::idp::entra::{self as entra_sim, EntraSimConfig};
use navscim::sim::idp::okta::{self as okta_sim, OktaSimConfig};
use navscim::sim::idp::{demo_people, IdpSimConfig, IdpSimHandle};
use navscim::sim::{self, SimConfig};
use serde_json::Value;

const APP: &str = "LinkedIn Sales Navigator";

fn no_events() -> impl Fn(IdpEvent) + Send + Sync {
    |_| {}
}

fn okta_conn(sim: &IdpSimHandle, token: &str, page: u32) -> Connection {
    let mut c = OktaConfig::new(sim.base_url(), Token::new(token), OktaAuth::Ssws);
    c.page_size = page;
    Connection::Okta(c)
}

fn entra_conn(sim: &IdpSimHandle, secret: &str, page: u32) -> Connection {
    let mut c = EntraConfig::new(
        entra_sim::DEMO_TENANT,
        entra_sim::DEMO_CLIENT_ID,
        Token::new(secret),
    );
    c.login_url = sim.base_url().to_string();
    c.graph_url = format!("{}/v1.0", sim.base_url());
    c.page_size = page;
    Connection::Entra(c)
}

async fn okta(common: IdpSimConfig) -> IdpSimHandle {
    okta_sim::start(OktaSimConfig {
        common,
        ..OktaSimConfig::default()
    })
    .await
    .unwrap()
}

async fn entra(config: EntraSimConfig) -> IdpSimHandle {
    entra_sim::start(config).await.unwrap()
}

fn provenance_of(listing: &Listing, email: &str) -> Vec<String> {
    let u = listing
        .users
        .iter()
        .find(|u| u.record.email.as_deref() == Some(email))
        .unwrap_or_else(|| panic!("{email} not listed"));
    u.provenance.iter().map(|p| p.to_string()).collect()
}

#[tokio::test]
async fn okta_many_pages_follow_the_link_header() {
    let people = demo_people();
    let sim = okta(IdpSimConfig {
        max_page: 7,
        ..IdpSimConfig::default()
    })
    .await;
    let listing = fetch(
        &okta_conn(&sim, okta_sim::DEMO_TOKEN, 7),
        "okta:x",
        APP,
        &no_events(),
    )
    .await
    .unwrap();
    assert_eq!(listing.app.id, okta_sim::SALESNAV_APP_ID);
    assert_eq!(listing.users.len(), people.len());
    // App users, the app's groups (one page), then each group's members.
    let emea = (0..people.len()).filter(|i| i % 6 == 0).count();
    let na = (0..people.len())
        .filter(|i| i % 6 == 1 || i % 6 == 3)
        .count();
    assert_eq!(
        listing.stats.pages as usize,
        people.len().div_ceil(7) + 1 + emea.div_ceil(7) + na.div_ceil(7)
    );
    // Every person once, in order, with the export's fields.
    for (p, u) in people.iter().zip(&listing.users) {
        assert_eq!(u.record.email, p.email);
        assert_eq!(u.record.user_name.as_deref(), Some(p.user_name.as_str()));
        assert_eq!(u.record.employee_id, p.employee_id);
    }
    // scope GROUP (every third app user) is a group assignment; the groups are named
    // from the app's group assignments, and a user assigned directly and through a
    // group is one user with both.
    assert_eq!(listing.group_assignments, people.len().div_ceil(3));
    let email = |i: usize| people[i].email.clone().unwrap();
    assert_eq!(
        provenance_of(&listing, &email(0)),
        ["Okta, via group Sales EMEA"]
    );
    assert_eq!(
        provenance_of(&listing, &email(1)),
        ["Okta app assignment", "Okta, via group Sales NA"]
    );
    assert_eq!(provenance_of(&listing, &email(2)), ["Okta app assignment"]);
    assert_eq!(
        provenance_of(&listing, &email(3)),
        ["Okta, via group Sales NA"]
    );
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    sim.shutdown().await;
}

#[tokio::test]
async fn entra_direct_plus_group_assignment_is_one_user_and_groups_nest_and_overlap() {
    let people = demo_people();
    let sim = entra(EntraSimConfig {
        common: IdpSimConfig {
            max_page: 50,
            ..IdpSimConfig::default()
        },
        ..EntraSimConfig::default()
    })
    .await;
    let listing = fetch(
        &entra_conn(&sim, entra_sim::DEMO_SECRET, 50),
        "entra:x",
        APP,
        &no_events(),
    )
    .await
    .unwrap();
    // Every person exactly once although many are reached more than one way.
    assert_eq!(listing.users.len(), people.len());
    let mut ids: Vec<&str> = listing.users.iter().map(|u| u.idp_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), people.len());
    assert!(listing.stats.pages > 10, "paged: {:?}", listing.stats);
    let email = |i: usize| people[i].email.clone().unwrap();
    // i % 8 == 2: assigned directly and through Sales NA.
    assert_eq!(
        provenance_of(&listing, &email(2)),
        ["Entra ID app assignment", "Entra ID, via group Sales NA"]
    );
    // i % 8 == 5: member of Sales DACH only, nested in the assigned Sales EMEA.
    assert_eq!(
        provenance_of(&listing, &email(5)),
        ["Entra ID, via group Sales EMEA"]
    );
    // i % 8 == 3: in two overlapping assigned groups.
    let mut both = provenance_of(&listing, &email(3));
    both.sort();
    assert_eq!(
        both,
        [
            "Entra ID, via group All Sellers",
            "Entra ID, via group Sales NA"
        ]
    );
    // The service principal assigned the app is no user.
    assert!(listing.users.iter().all(|u| u.record.email.is_some()));

    // The merged list (issue 10's corroboration input) holds one user with every
    // provenance in its sources.
    let import = listing.to_import();
    let dir = Directory::build(&[import], &DomainAliases::default());
    assert_eq!(dir.len(), people.len());
    let u = &dir.users[dir.index_of(&email(2)).unwrap()];
    let files: Vec<&str> = u.sources.iter().map(|s| s.file.as_str()).collect();
    assert_eq!(
        files,
        ["Entra ID app assignment", "Entra ID, via group Sales NA"]
    );
    assert_eq!(u.idp_id, people[2].employee_id);
    assert!(u.in_idp);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_user_disabled_in_the_idp_is_not_enabled() {
    let people = demo_people();
    let disabled: Vec<&str> = people
        .iter()
        .filter(|p| !p.enabled)
        .map(|p| p.email.as_deref().unwrap())
        .collect();
    assert!(!disabled.is_empty());
    let o = okta(IdpSimConfig::default()).await;
    let e = entra(EntraSimConfig::default()).await;
    for (conn, provider) in [
        (okta_conn(&o, okta_sim::DEMO_TOKEN, 200), "okta"),
        (entra_conn(&e, entra_sim::DEMO_SECRET, 999), "entra"),
    ] {
        let listing = fetch(&conn, provider, APP, &no_events()).await.unwrap();
        let off: Vec<&str> = listing
            .users
            .iter()
            .filter(|u| u.record.enabled == Some(false))
            .map(|u| u.record.email.as_deref().unwrap())
            .collect();
        let mut want = disabled.clone();
        let mut got = off.clone();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "{provider}");
        let dir = Directory::build(&[listing.to_import()], &DomainAliases::default());
        let u = &dir.users[dir.index_of(disabled[0]).unwrap()];
        assert_eq!(u.idp_enabled, Some(false), "{provider}");
    }
    o.shutdown().await;
    e.shutdown().await;
}

#[tokio::test]
async fn okta_429_storm_is_waited_out_and_the_announced_limit_paces_before_a_429() {
    let sim = okta(IdpSimConfig {
        max_page: 100,
        storm: 5,
        rate_limit: Some(4),
        ..IdpSimConfig::default()
    })
    .await;
    let waits = std::sync::Mutex::new(0u32);
    let on_event = |e: IdpEvent| {
        if matches!(e, IdpEvent::Waiting { .. }) {
            *waits.lock().unwrap() += 1;
        }
    };
    let listing = fetch(
        &okta_conn(&sim, okta_sim::DEMO_TOKEN, 100),
        "okta:x",
        APP,
        &on_event,
    )
    .await
    .unwrap();
    assert_eq!(listing.users.len(), 1010);
    let st = sim.stats();
    // Only the storm's 429s: the client paced on X-Rate-Limit-Remaining before the
    // limit of 4 a window could cause one.
    assert_eq!(st.throttled, 5, "{st:?}");
    assert_eq!(listing.stats.throttled, 5);
    assert!(listing.stats.paced >= 1, "{:?}", listing.stats);
    assert_eq!(listing.stats.limit_share, Some(1.0));
    assert!(*waits.lock().unwrap() >= 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn entra_429_storm_is_retried_after_retry_after() {
    let sim = entra(EntraSimConfig {
        common: IdpSimConfig {
            storm: 6,
            max_page: 999,
            ..IdpSimConfig::default()
        },
        ..EntraSimConfig::default()
    })
    .await;
    let listing = fetch(
        &entra_conn(&sim, entra_sim::DEMO_SECRET, 999),
        "entra:x",
        APP,
        &no_events(),
    )
    .await
    .unwrap();
    assert_eq!(listing.users.len(), 1010);
    assert_eq!(listing.stats.throttled, 6);
    assert_eq!(sim.stats().throttled, 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn entra_groups_are_expanded_several_at_once_and_429s_are_waited_out() {
    // Answers take 100 ms: a client expanding one group at a time never has two
    // requests in flight.
    let sim = entra(EntraSimConfig {
        common: IdpSimConfig {
            latency: std::time::Duration::from_millis(100),
            storm: 2,
            ..IdpSimConfig::default()
        },
        ..EntraSimConfig::default()
    })
    .await;
    let listing = fetch(
        &entra_conn(&sim, entra_sim::DEMO_SECRET, 999),
        "entra:x",
        APP,
        &no_events(),
    )
    .await
    .unwrap();
    assert_eq!(listing.users.len(), 1010);
    assert!(listing.group_assignments >= 2, "{listing:?}");
    let st = sim.stats();
    assert!(st.max_in_flight >= 2, "{st:?}");
    assert!(
        st.max_in_flight <= navscim::idp::entra::GROUP_CONCURRENCY as u64,
        "{st:?}"
    );
    assert_eq!(listing.stats.throttled, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn entra_token_expiring_mid_listing_is_renewed() {
    let sim = entra(EntraSimConfig {
        common: IdpSimConfig {
            max_page: 40,
            ..IdpSimConfig::default()
        },
        token_uses: Some(5),
        ..EntraSimConfig::default()
    })
    .await;
    let renewed = std::sync::Mutex::new(0u64);
    let on_event = |e: IdpEvent| {
        if e == IdpEvent::TokenRenewed {
            *renewed.lock().unwrap() += 1;
        }
    };
    let listing = fetch(
        &entra_conn(&sim, entra_sim::DEMO_SECRET, 40),
        "entra:x",
        APP,
        &on_event,
    )
    .await
    .unwrap();
    assert_eq!(listing.users.len(), 1010);
    let st = sim.stats();
    assert!(st.tokens_issued > 3, "{st:?}");
    assert_eq!(listing.stats.tokens_obtained, st.tokens_issued);
    // Each expiry cost a 401 (one per request that was in flight with the expired
    // token: groups are expanded several at once), then one fresh token for all of
    // them and the same requests.
    assert!(st.unauthorized >= st.tokens_issued - 1, "{st:?}");
    assert_eq!(*renewed.lock().unwrap(), st.tokens_issued - 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_and_missing_permission_are_auth_errors_without_the_secret() {
    let o = okta(IdpSimConfig::default()).await;
    let e = entra(EntraSimConfig {
        denied: vec!["GroupMember.Read.All".into()],
        ..EntraSimConfig::default()
    })
    .await;
    let wrong = "wr0ng-S3CRET-value-never-shown";
    let err = fetch(&okta_conn(&o, wrong, 200), "okta:x", APP, &no_events())
        .await
        .unwrap_err();
    assert!(matches!(err, IdpError::Auth { .. }), "{err}");
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("E0000011"), "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong));

    let err = fetch(&entra_conn(&e, wrong, 999), "entra:x", APP, &no_events())
        .await
        .unwrap_err();
    assert!(matches!(err, IdpError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong));

    // The right secret, but GroupMember.Read.All not granted: 403 names it.
    let err = fetch(
        &entra_conn(&e, entra_sim::DEMO_SECRET, 999),
        "entra:x",
        APP,
        &no_events(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IdpError::Forbidden { .. }), "{err}");
    assert!(err.to_string().contains("GroupMember.Read.All"), "{err}");
    assert_eq!(err.exit_code(), 3);
    o.shutdown().await;
    e.shutdown().await;
}

#[tokio::test]
async fn the_app_not_found_names_close_apps() {
    let o = okta(IdpSimConfig::default()).await;
    let e = entra(EntraSimConfig::default()).await;
    let err = fetch(
        &okta_conn(&o, okta_sim::DEMO_TOKEN, 200),
        "okta:x",
        "LinkedIn",
        &no_events(),
    )
    .await
    .unwrap_err();
    match &err {
        IdpError::AppNotFound { candidates, .. } => {
            assert_eq!(candidates.len(), 2, "{candidates:?}");
            assert!(candidates[0].contains(APP));
        }
        other => panic!("{other}"),
    }
    assert_eq!(err.exit_code(), 2);
    // By id works; an unknown id falls back to the label search and is not found.
    let by_id = fetch(
        &okta_conn(&o, okta_sim::DEMO_TOKEN, 200),
        "okta:x",
        okta_sim::SALESNAV_APP_ID,
        &no_events(),
    )
    .await
    .unwrap();
    assert_eq!(by_id.app.label, APP);
    let err = fetch(
        &entra_conn(&e, entra_sim::DEMO_SECRET, 999),
        "entra:x",
        "Sales Nav",
        &no_events(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IdpError::AppNotFound { .. }), "{err}");
    let by_app_id = fetch(
        &entra_conn(&e, entra_sim::DEMO_SECRET, 999),
        "entra:x",
        entra_sim::SALESNAV_APP_ID,
        &no_events(),
    )
    .await
    .unwrap();
    assert_eq!(by_app_id.app.id, entra_sim::SALESNAV_SP_ID);
    o.shutdown().await;
    e.shutdown().await;
}

#[test]
fn permissions_are_documented_in_help() {
    let dir = TestDir::new();
    for cmd in [["lookup", "--help"], ["sources", "--help"]] {
        let out = dir.command(&cmd, None).output().unwrap();
        let text = stdout(&out);
        for p in [
            "Application.Read.All",
            "User.Read.All",
            "GroupMember.Read.All",
        ] {
            assert!(text.contains(p), "{cmd:?} help lacks {p}");
        }
    }
    assert!(GRAPH_PERMISSIONS.contains("GroupMember.Read.All"));
}

// ---- the binary

const SCIM_TOKEN: &str = "scim-T0KEN-idp-tests";

struct Sims {
    scim: sim::SimHandle,
    okta: IdpSimHandle,
    entra: IdpSimHandle,
}

async fn sims() -> Sims {
    Sims {
        scim: sim::start(SimConfig {
            token: SCIM_TOKEN.into(),
            seed_csv: Some(demo::SALESNAV_USERS_CSV.into()),
            ..SimConfig::default()
        })
        .await
        .unwrap(),
        okta: okta(IdpSimConfig {
            max_page: 100,
            ..IdpSimConfig::default()
        })
        .await,
        entra: entra(EntraSimConfig::default()).await,
    }
}

fn okta_flags(s: &Sims) -> Vec<String> {
    vec![
        "--okta-url".into(),
        s.okta.base_url().into(),
        "--okta-token-env".into(),
        "TEST_OKTA_TOKEN".into(),
    ]
}

fn entra_flags(s: &Sims) -> Vec<String> {
    vec![
        "--entra-tenant".into(),
        entra_sim::DEMO_TENANT.into(),
        "--entra-client-id".into(),
        entra_sim::DEMO_CLIENT_ID.into(),
        "--entra-secret-env".into(),
        "TEST_ENTRA_SECRET".into(),
        "--entra-login-url".into(),
        s.entra.base_url().into(),
        "--entra-graph-url".into(),
        format!("{}/v1.0", s.entra.base_url()),
    ]
}

/// Runs navscim off the runtime (the simulators run on it).
async fn run(
    dir: TestDir,
    args: Vec<String>,
    okta_token: &'static str,
    entra_secret: &'static str,
) -> (TestDir, Output) {
    tokio::task::spawn_blocking(move || {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = dir
            .command(&argv, Some(SCIM_TOKEN))
            .env("TEST_OKTA_TOKEN", okta_token)
            .env("TEST_ENTRA_SECRET", entra_secret)
            .output()
            .unwrap();
        (dir, out)
    })
    .await
    .unwrap()
}

fn statuses(path: &std::path::Path) -> BTreeMap<String, (String, Option<bool>)> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["key"].as_str().unwrap().to_string(),
                (
                    u["status"].as_str().unwrap().to_string(),
                    u["active"].as_bool(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn lookup_from_okta_and_entra_gives_the_statuses_of_the_same_users_in_a_csv() {
    let s = sims().await;
    let dir = TestDir::new();
    let okta_csv = dir.write("idp_okta.csv", demo::IDP_OKTA_CSV);
    let seats = dir.write("salesnav_users.csv", demo::SALESNAV_USERS_CSV);
    let base = vec![
        "lookup".to_string(),
        "--base-url".into(),
        s.scim.base_url().into(),
    ];

    let mut csv_args = base.clone();
    csv_args.extend([
        okta_csv.display().to_string(),
        seats.display().to_string(),
        "--out".into(),
        dir.path("csv.json").display().to_string(),
    ]);
    let (dir, out) = run(dir, csv_args, "", "").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let mut okta_args = base.clone();
    okta_args.extend(["--source".into(), format!("okta:{APP}")]);
    okta_args.extend(okta_flags(&s));
    okta_args.extend([
        seats.display().to_string(),
        "--out".into(),
        dir.path("okta.json").display().to_string(),
    ]);
    let (dir, out) = run(dir, okta_args, okta_sim::DEMO_TOKEN, "").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1010 users, 10 disabled in Okta"),
        "{}",
        stderr(&out)
    );

    let mut entra_args = base.clone();
    entra_args.extend(["--source".into(), format!("entra:{APP}")]);
    entra_args.extend(entra_flags(&s));
    entra_args.extend([
        "--source".into(),
        seats.display().to_string(),
        "--out".into(),
        dir.path("entra.json").display().to_string(),
    ]);
    let (dir, out) = run(dir, entra_args, "", entra_sim::DEMO_SECRET).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let from_csv = statuses(&dir.path("csv.json"));
    assert_eq!(from_csv.len(), 1035);
    assert!(from_csv.values().any(|(s, _)| s == "not_found"));
    assert_eq!(statuses(&dir.path("okta.json")), from_csv);
    assert_eq!(statuses(&dir.path("entra.json")), from_csv);

    // Provenance reaches the results.
    let entra: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("entra.json")).unwrap()).unwrap();
    let files: Vec<String> = entra
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|u| u["sources"].as_array().unwrap().clone())
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect();
    assert!(files.iter().any(|f| f == "Entra ID, via group Sales EMEA"));
    assert!(files.iter().any(|f| f == "Entra ID app assignment"));
    s.scim.shutdown().await;
    s.okta.shutdown().await;
    s.entra.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_exit_3_and_the_secret_is_in_no_output() {
    const WRONG_OKTA: &str = "okta-WR0NG-t0ken-never-shown";
    const WRONG_ENTRA: &str = "entra-WR0NG-s3cret-never-shown";
    let s = sims().await;
    let dir = TestDir::new();
    let seats = dir.write("salesnav_users.csv", demo::SALESNAV_USERS_CSV);

    let mut args = vec![
        "lookup".to_string(),
        "--base-url".into(),
        s.scim.base_url().into(),
        "--source".into(),
        format!("okta:{APP}"),
    ];
    args.extend(okta_flags(&s));
    args.push(seats.display().to_string());
    let (dir, out) = run(dir, args, WRONG_OKTA, "").await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("credentials were refused"),
        "{}",
        stderr(&out)
    );
    support::assert_no_token(&out, &dir.all_files_text(), WRONG_OKTA, "WR0NG");

    let mut args = vec![
        "sources".to_string(),
        "test".into(),
        "--source".into(),
        format!("entra:{APP}"),
    ];
    args.extend(entra_flags(&s));
    let (dir, out) = run(dir, args, "", WRONG_ENTRA).await;
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("AADSTS7000215"), "{}", stdout(&out));
    support::assert_no_token(&out, &dir.all_files_text(), WRONG_ENTRA, "WR0NG");

    // The right secrets: the sources test says what it found, exit 0.
    let mut args = vec![
        "sources".to_string(),
        "test".into(),
        "--source".into(),
        format!("okta:{APP}"),
        "--source".into(),
        format!("entra:{APP}"),
        "--save".into(),
    ];
    args.extend(okta_flags(&s));
    args.extend(entra_flags(&s));
    let (dir, out) = run(dir, args, okta_sim::DEMO_TOKEN, entra_sim::DEMO_SECRET).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!("okta:{APP}: app \"{APP}\" found")),
        "{text}"
    );
    assert!(text.contains("1010 assignments"), "{text}");
    assert!(text.contains("→ 1010 users"), "{text}");
    assert!(text.contains("credentials accepted"), "{text}");
    // Saved by reference only; a later test needs no connection flags.
    let saved = dir.navscim_files_text();
    assert!(saved.contains("TEST_ENTRA_SECRET") && saved.contains("TEST_OKTA_TOKEN"));
    support::assert_no_token(&out, &saved, entra_sim::DEMO_SECRET, "entra-demo-secret");
    support::assert_no_token(&out, &saved, okta_sim::DEMO_TOKEN, "okta-demo-token");
    let args = vec!["sources".to_string(), "test".into()];
    let (_dir, out) = run(dir, args, okta_sim::DEMO_TOKEN, entra_sim::DEMO_SECRET).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out).matches("credentials accepted").count(), 2);
    s.scim.shutdown().await;
    s.okta.shutdown().await;
    s.entra.shutdown().await;
}

#[tokio::test]
async fn an_app_not_found_exits_2_naming_close_apps() {
    let s = sims().await;
    let dir = TestDir::new();
    let mut args = vec![
        "sources".to_string(),
        "test".into(),
        "--source".into(),
        "okta:LinkedIn".into(),
    ];
    args.extend(okta_flags(&s));
    let (_dir, out) = run(dir, args, okta_sim::DEMO_TOKEN, "").await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("no app \"LinkedIn\" found"), "{text}");
    assert!(text.contains(okta_sim::SALESNAV_APP_ID), "{text}");
    s.scim.shutdown().await;
    s.okta.shutdown().await;
    s.entra.shutdown().await;
}

#[tokio::test]
async fn the_demo_simulators_start_and_a_listing_runs_on_a_spawned_task() {
    let sims = navscim::sim::idp::start_demo().await;
    let okta = okta_conn(sims.okta.as_ref().unwrap(), okta_sim::DEMO_TOKEN, 200);
    let entra = entra_conn(sims.entra.as_ref().unwrap(), entra_sim::DEMO_SECRET, 999);
    // The futures are Send: the TUI runtime can spawn them on its executor.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tasks: Vec<_> = [okta, entra]
        .into_iter()
        .map(|conn| {
            let tx = tx.clone();
            tokio::spawn(async move {
                let on_event = move |e: IdpEvent| {
                    let _ = tx.send(e);
                };
                fetch(&conn, "demo", APP, &on_event).await
            })
        })
        .collect();
    drop(tx);
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().users.len(), 1010);
    }
    let mut found = 0;
    while let Some(e) = rx.recv().await {
        if matches!(e, IdpEvent::AppFound(_)) {
            found += 1;
        }
    }
    assert_eq!(found, 2);
    sims.shutdown().await;
}

#[tokio::test]
async fn ca_file_is_honoured_by_the_identity_provider_clients() {
    // The extra CA file is read by the Okta and Entra clients as by the SCIM client: a
    // file that holds no certificate stops both before any request (exit 2, named).
    let s = sims().await;
    let dir = TestDir::new();
    let bad = dir.write("not-a-ca.pem", "this is not a certificate\n");
    for (source, flags) in [("okta", okta_flags(&s)), ("entra", entra_flags(&s))] {
        let mut args = vec![
            "--ca-file".to_string(),
            bad.display().to_string(),
            "sources".into(),
            "test".into(),
            "--source".into(),
            format!("{source}:{APP}"),
        ];
        args.extend(flags);
        let (_, out) = run(
            TestDir::new(),
            args,
            okta_sim::DEMO_TOKEN,
            entra_sim::DEMO_SECRET,
        )
        .await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stdout(&out).contains("not-a-ca.pem"),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    assert_eq!(s.okta.stats().requests, 0);
    s.scim.shutdown().await;
    s.okta.shutdown().await;
    s.entra.shutdown().await;
}
