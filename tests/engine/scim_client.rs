//! The SCIM client against the embedded Sales Navigator simulator.

use std::time::Duration;

use navscim::scim::{
    ClientConfig, ErrorCategory, Filter, FilterAttr, NewUser, ProbeMethod, ScimClient, ScimError,
};
use navscim::secret::Token;
use navscim::sim::{self, SimConfig, SimHandle};

const TOKEN: &str = "sim-S3CRET-token-8d1f0c";

const SEED: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,sales_license_current_status,admin_permission\n\
ada@example.com,Ada,Lovelace,E-ADA,ACTIVE,NONE\n\
grace@example.com,Grace,Hopper,\"E\"\"G\\H\",ACTIVE,NONE\n\
Twin@Example.com,Twin,One,E-T1,ACTIVE,NONE\n\
twin@example.com,Twin,Two,E-T2,PENDING,NONE\n\
gone@example.com,Gone,User,E-GONE,REVOKED,NONE\n";

fn sim_config() -> SimConfig {
    SimConfig {
        token: TOKEN.into(),
        seed_csv: Some(SEED.into()),
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig) -> SimHandle {
    sim::start(config).await.expect("simulator starts")
}

fn client_config(sim: &SimHandle) -> ClientConfig {
    let mut c = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    c.timeout = Duration::from_secs(10);
    c.max_retries = 10;
    c.backoff_base = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(100);
    c
}

fn client(sim: &SimHandle) -> ScimClient {
    ScimClient::new(client_config(sim)).unwrap()
}

fn filter(attr: FilterAttr, value: &str) -> Filter {
    Filter::eq(attr, value).unwrap()
}

fn requests(sim: &SimHandle, method: &str) -> u64 {
    sim.stats().requests.get(method).copied().unwrap_or(0)
}

fn new_user(user_name: &str, external_id: &str) -> NewUser {
    NewUser {
        user_name: user_name.into(),
        external_id: Some(external_id.into()),
        given_name: Some("New".into()),
        family_name: Some("Hire".into()),
        email: None,
    }
}

fn assert_no_token(err: &ScimError) {
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(!shown.contains("S3CRET"), "token leaked: {shown}");
}

/// The id of the one user `userName eq` finds.
async fn id_of(c: &ScimClient, user_name: &str) -> String {
    let found = c
        .find_users(&filter(FilterAttr::UserName, user_name))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{user_name}: {found:?}");
    found[0].id.clone().unwrap()
}

#[tokio::test]
async fn wrong_token_is_unauthorized_everywhere() {
    let sim = start(sim_config()).await;
    let mut cfg = client_config(&sim);
    cfg.token = Token::new("not-the-right-token");
    let c = ScimClient::new(cfg).unwrap();
    let errors = vec![
        c.test_connection().await.unwrap_err(),
        c.get_user("abc").await.unwrap_err(),
        c.find_users(&filter(FilterAttr::ExternalId, "E-ADA"))
            .await
            .unwrap_err(),
        c.set_active("abc", false).await.unwrap_err(),
    ];
    for e in &errors {
        match e {
            ScimError::Unauthorized { status, detail } => {
                assert_eq!(*status, 401);
                assert!(detail.contains("bearer token"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.category(), ErrorCategory::Auth);
        assert!(!e.to_string().contains("not-the-right-token"));
    }
    // Not retried.
    assert_eq!(c.stats().retries, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn test_connection_reports_what_the_simulator_supports() {
    let sim = start(sim_config()).await;
    let r = client(&sim).test_connection().await.unwrap();
    assert_eq!(r.probe, ProbeMethod::ServiceProviderConfig);
    assert!(r.filter_supported);
    assert!(r.patch_supported);
    assert!(!r.delete_supported);
    assert!(r.service_provider_config.is_some());
    assert!(r.latency < Duration::from_secs(5));
    // Nothing changed.
    assert!(sim.stats().changes.is_empty());
    sim.shutdown().await;

    let sim = start(SimConfig {
        allow_delete: true,
        ..sim_config()
    })
    .await;
    assert!(
        client(&sim)
            .test_connection()
            .await
            .unwrap()
            .delete_supported
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn lookups_by_each_filter_and_by_id() {
    let sim = start(sim_config()).await;
    let c = client(&sim);

    let by_ext = c
        .find_users(&filter(FilterAttr::ExternalId, "E-ADA"))
        .await
        .unwrap();
    assert_eq!(by_ext.len(), 1);
    let ada = &by_ext[0];
    assert_eq!(ada.user_name, "ada@example.com");
    assert!(ada.is_active());
    let id = ada.id.clone().unwrap();

    // userName and emails.value are case-insensitive on the service.
    let by_name = c
        .find_users(&filter(FilterAttr::UserName, "ADA@example.com"))
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].id.as_deref(), Some(id.as_str()));
    let by_email = c
        .find_users(&filter(FilterAttr::Email, "ada@example.com"))
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0].id.as_deref(), Some(id.as_str()));

    // externalId is case-sensitive.
    assert!(c
        .find_users(&filter(FilterAttr::ExternalId, "e-ada"))
        .await
        .unwrap()
        .is_empty());
    assert!(c
        .find_users(&filter(FilterAttr::UserName, "nobody@example.com"))
        .await
        .unwrap()
        .is_empty());

    let got = c.get_user(&id).await.unwrap().unwrap();
    assert_eq!(got.external_id.as_deref(), Some("E-ADA"));
    assert!(c.get_user("ffffffffffffffff").await.unwrap().is_none());
    // Ids that would escape the path are encoded, and simply not found.
    assert!(c
        .get_user("../ServiceProviderConfig")
        .await
        .unwrap()
        .is_none());

    let revoked = c
        .find_users(&filter(FilterAttr::ExternalId, "E-GONE"))
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    assert!(!revoked[0].is_active());
    sim.shutdown().await;
}

#[tokio::test]
async fn ambiguous_results_are_all_returned() {
    let sim = start(sim_config()).await;
    let c = client(&sim);
    let twins = c
        .find_users(&filter(FilterAttr::UserName, "twin@example.com"))
        .await
        .unwrap();
    assert_eq!(twins.len(), 2);
    let mut ext: Vec<_> = twins
        .iter()
        .map(|u| u.external_id.clone().unwrap())
        .collect();
    ext.sort();
    assert_eq!(ext, ["E-T1", "E-T2"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn filter_values_with_quotes_and_backslashes() {
    let sim = start(sim_config()).await;
    let c = client(&sim);
    let found = c
        .find_users(&filter(FilterAttr::ExternalId, r#"E"G\H"#))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].user_name, "grace@example.com");
    // Near misses find nothing (the escaping is exact, not a wildcard).
    for near in [r#"E"G"#, r#"E\"G\\H"#, r#"E"G\\H"#] {
        assert!(
            c.find_users(&filter(FilterAttr::ExternalId, near))
                .await
                .unwrap()
                .is_empty(),
            "{near}"
        );
    }
    // An attempt to widen the filter stays one literal value.
    let sneaky = r#"x" or userName pr or externalId eq "y"#;
    assert!(c
        .find_users(&filter(FilterAttr::UserName, sneaky))
        .await
        .unwrap()
        .is_empty());

    // Round trip through create: a user name with a quote and a backslash.
    let odd = r#"o"brien\it@example.com"#;
    let created = c.create_user(&new_user(odd, r#"EXT"\1"#)).await.unwrap();
    let found = c
        .find_users(&filter(FilterAttr::UserName, odd))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
    let found = c
        .find_users(&filter(FilterAttr::ExternalId, r#"EXT"\1"#))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn empty_filter_values_are_never_sent() {
    let sim = start(sim_config()).await;
    for attr in [
        FilterAttr::ExternalId,
        FilterAttr::UserName,
        FilterAttr::Email,
    ] {
        for v in ["", "   ", "\t"] {
            let err = Filter::eq(attr, v).unwrap_err();
            assert!(matches!(err, ScimError::EmptyFilterValue { .. }));
            assert_eq!(err.category(), ErrorCategory::Local);
        }
    }
    // Nor an empty id (which would address the collection).
    let c = client(&sim);
    assert!(matches!(c.get_user("").await, Err(ScimError::Config(_))));
    assert!(matches!(
        c.set_active(" ", false).await,
        Err(ScimError::Config(_))
    ));
    assert_eq!(requests(&sim, "GET") + requests(&sim, "PATCH"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn create_then_conflict() {
    let sim = start(sim_config()).await;
    let c = client(&sim);
    let before = sim.user_count();
    let created = c
        .create_user(&new_user("new.hire@example.com", "E-NEW"))
        .await
        .unwrap();
    let id = created.id.clone().unwrap();
    assert_eq!(created.user_name, "new.hire@example.com");
    assert!(created.is_active());
    assert_eq!(sim.user_count(), before + 1);
    let stored = sim.user(&id).unwrap();
    assert_eq!(stored.external_id.as_deref(), Some("E-NEW"));
    assert_eq!(
        stored.name.as_ref().unwrap().family_name.as_deref(),
        Some("Hire")
    );

    // Same userName (any case) or same externalId: 409.
    for dup in [
        new_user("NEW.HIRE@example.com", "E-OTHER"),
        new_user("other@example.com", "E-NEW"),
    ] {
        match c.create_user(&dup).await.unwrap_err() {
            ScimError::Conflict { detail } => assert!(!detail.is_empty()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(sim.user_count(), before + 1);
    assert_eq!(sim.stats().changes.get(&id), Some(&1));
    sim.shutdown().await;
}

#[tokio::test]
async fn deactivate_and_reactivate() {
    let sim = start(sim_config()).await;
    let c = client(&sim);
    let id = id_of(&c, "ada@example.com").await;

    let after = c.set_active(&id, false).await.unwrap().unwrap();
    assert!(!after.is_active());
    assert_eq!(sim.user(&id).unwrap().active, Some(false));

    let after = c.set_active(&id, true).await.unwrap().unwrap();
    assert!(after.is_active());
    assert_eq!(sim.user(&id).unwrap().active, Some(true));
    assert_eq!(sim.stats().changes.get(&id), Some(&2));

    assert!(matches!(
        c.set_active("ffffffffffffffff", false).await,
        Err(ScimError::NotFound)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_is_refused_unless_enabled() {
    let sim = start(sim_config()).await;
    let c = client(&sim);
    let id = id_of(&c, "ada@example.com").await;
    match c.delete_user(&id).await.unwrap_err() {
        ScimError::Http { status, detail, .. } => {
            assert_eq!(status, 405);
            assert!(detail.contains("PATCH"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sim.user(&id).is_some());
    assert_eq!(requests(&sim, "DELETE"), 1, "a refusal is not retried");
    sim.shutdown().await;

    let sim = start(SimConfig {
        allow_delete: true,
        ..sim_config()
    })
    .await;
    let c = client(&sim);
    let id = id_of(&c, "ada@example.com").await;
    c.delete_user(&id).await.unwrap();
    assert!(c.get_user(&id).await.unwrap().is_none());
    assert!(matches!(c.delete_user(&id).await, Err(ScimError::NotFound)));
    sim.shutdown().await;
}

/// Looks up every generated user by externalId and checks each got exactly its own.
async fn lookup_all(c: &ScimClient, sim: &SimHandle) -> usize {
    let users = sim.users();
    let mut tasks = Vec::new();
    for u in users.iter().filter(|u| u.external_id.is_some()) {
        let c = c.clone();
        let ext = u.external_id.clone().unwrap();
        let id = u.id.clone();
        tasks.push(tokio::spawn(async move {
            let found = c
                .find_users(&filter(FilterAttr::ExternalId, &ext))
                .await
                .unwrap_or_else(|e| panic!("{ext}: {e}"));
            assert_eq!(found.len(), 1, "{ext}");
            assert_eq!(found[0].id, id);
        }));
    }
    let n = tasks.len();
    for t in tasks {
        t.await.unwrap();
    }
    n
}

#[tokio::test]
async fn a_429_storm_with_retry_after_loses_nothing() {
    let sim = start(SimConfig {
        seed_csv: None,
        generate: 60,
        rate_limit: Some(25.0),
        retry_after: true,
        ..sim_config()
    })
    .await;
    let mut cfg = client_config(&sim);
    cfg.concurrency = 8;
    // Retry-After is whole seconds (1): allow it.
    cfg.backoff_max = Duration::from_secs(2);
    let c = ScimClient::new(cfg).unwrap();
    let n = lookup_all(&c, &sim).await;
    assert!(n > 40);
    let stats = c.stats();
    assert!(stats.throttled > 0, "{stats:?}");
    assert_eq!(stats.throttled, sim.stats().throttled);
    assert_eq!(stats.requests, requests(&sim, "GET"));
    assert_eq!(stats.requests, n as u64 + stats.retries);
    // The shared hold keeps the batch from hammering: far fewer 429s than lookups.
    assert!(stats.throttled < n as u64, "{stats:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_429_storm_without_retry_after_loses_nothing() {
    let sim = start(SimConfig {
        seed_csv: None,
        generate: 60,
        rate_limit: Some(40.0),
        retry_after: false,
        ..sim_config()
    })
    .await;
    let mut cfg = client_config(&sim);
    cfg.concurrency = 8;
    cfg.max_retries = 30;
    cfg.backoff_base = Duration::from_millis(20);
    cfg.backoff_max = Duration::from_millis(400);
    let c = ScimClient::new(cfg).unwrap();
    let n = lookup_all(&c, &sim).await;
    let stats = c.stats();
    assert!(stats.throttled > 0, "{stats:?}");
    assert_eq!(stats.requests, n as u64 + stats.retries);
    assert_eq!(stats.requests, requests(&sim, "GET"));
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let sim = start(SimConfig {
        seed_csv: None,
        generate: 50,
        fail_rate: 0.25,
        drop_rate: 0.15,
        ..sim_config()
    })
    .await;
    let c = client(&sim);
    let n = lookup_all(&c, &sim).await;
    let stats = c.stats();
    assert!(stats.retries > 0, "{stats:?}");
    assert_eq!(stats.requests, n as u64 + stats.retries);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_answers_are_reported_not_retried() {
    let sim = start(SimConfig {
        malformed_rate: 1.0,
        ..sim_config()
    })
    .await;
    let c = client(&sim);
    let mut errors = vec![];
    for i in 0..3 {
        errors.push(
            c.find_users(&filter(FilterAttr::UserName, &format!("u{i}@example.com")))
                .await
                .unwrap_err(),
        );
    }
    for e in &errors {
        match e {
            ScimError::Malformed { status, detail } => {
                assert_eq!(*status, 200);
                assert!(
                    detail.starts_with("expected a SCIM ListResponse"),
                    "{detail}"
                );
                assert!(detail.len() < 500, "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert_no_token(e);
    }
    assert_eq!(requests(&sim, "GET"), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dropped_create_is_not_repeated() {
    let sim = start(SimConfig {
        drop_rate: 1.0,
        ..sim_config()
    })
    .await;
    let c = client(&sim);
    let before = sim.user_count();
    let err = c
        .create_user(&new_user("x@example.com", "E-X"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Network, "{err:?}");
    assert_no_token(&err);
    assert_eq!(requests(&sim, "POST"), 1);
    assert_eq!(sim.user_count(), before);
    // A lookup, by contrast, is retried until the retries run out.
    let err = c.get_user("abc").await.unwrap_err();
    assert_eq!(err.category(), ErrorCategory::Network, "{err:?}");
    assert_eq!(requests(&sim, "GET"), 11);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_token_appears_in_no_error() {
    let sim = start(SimConfig {
        fail_rate: 1.0,
        ..sim_config()
    })
    .await;
    let mut cfg = client_config(&sim);
    cfg.max_retries = 1;
    let c = ScimClient::new(cfg).unwrap();
    let mut errors = vec![
        c.get_user("abc").await.unwrap_err(),
        c.find_users(&filter(FilterAttr::UserName, "a@example.com"))
            .await
            .unwrap_err(),
        c.create_user(&new_user("a@example.com", "E"))
            .await
            .unwrap_err(),
        c.set_active("abc", true).await.unwrap_err(),
        c.test_connection().await.unwrap_err(),
    ];
    sim.shutdown().await;
    let sim = start(sim_config()).await;
    let c = client(&sim);
    errors.push(c.delete_user("abc").await.unwrap_err());
    errors.push(
        c.create_user(&new_user("ada@example.com", "E-ADA"))
            .await
            .unwrap_err(),
    );
    sim.shutdown().await;
    // The simulator is gone: connection refused.
    errors.push(c.get_user("abc").await.unwrap_err());
    for e in &errors {
        assert_no_token(e);
    }
    assert!(!format!("{c:?}").contains(TOKEN));
}

/// Throughput against a simulator with latency (DESIGN.md section 7: at least 90% of
/// users × latency / concurrency). Prints, asserts nothing: timing-dependent, so not
/// run by default. The concurrency-1 row shows the floor per request (the simulator's
/// millisecond timer adds 1–2 ms to each `latency`):
/// `cargo test --release --test scim_client -- --ignored --nocapture throughput`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn throughput_reaches_the_latency_bound() {
    for (users, latency_ms, concurrency, rate) in [
        (2000usize, 0u64, 16usize, None),
        (100, 20, 1, None),
        (800, 20, 16, None),
        (400, 50, 32, None),
        (300, 0, 8, Some(100.0)),
    ] {
        let sim = start(SimConfig {
            seed_csv: None,
            generate: users,
            latency: Duration::from_millis(latency_ms),
            rate_limit: rate,
            ..sim_config()
        })
        .await;
        let mut cfg = client_config(&sim);
        cfg.concurrency = concurrency;
        cfg.backoff_max = Duration::from_secs(2);
        let c = ScimClient::new(cfg).unwrap();
        let started = std::time::Instant::now();
        let n = lookup_all(&c, &sim).await;
        let took = started.elapsed();
        // Latency-bound: whole rounds of `concurrency` lookups. Rate-bound: the
        // simulator's bucket starts with one second's worth, the rest at `rate`.
        let ideal = match rate {
            Some(r) => Duration::from_secs_f64((n as f64 - r).max(0.0) / r),
            None => Duration::from_millis(latency_ms) * n.div_ceil(concurrency) as u32,
        };
        let efficiency = ideal.as_secs_f64() / took.as_secs_f64();
        eprintln!(
            "{n} lookups, latency {latency_ms} ms, concurrency {concurrency}, sim rate {rate:?}: \
             {took:?} (ideal {ideal:?}) = {:.0}% {:?}",
            efficiency * 100.0,
            c.stats()
        );
        sim.shutdown().await;
    }
}
