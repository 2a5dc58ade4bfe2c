//! Issue 14, item 3: lookups have a circuit breaker; a spent daily quota costs a
//! handful of requests; a far `Retry-After` (seconds or an HTTP date) stops the batch
//! with "the server asks to wait …" and the server's own message.

use std::time::Duration;

use crate::failsafe_support::*;
use navscim::lookup::{
    run_batch, LookupEvent, LookupJob, LookupOptions, Unsupported, BREAKER_AFTER,
};
use navscim::matching::{DirUser, LookupKind, MatchStatus};
use navscim::scim::{ClientConfig, ScimClient, ScimError};
use navscim::secret::Token;
use navscim::sim::SimHandle;
use tokio_util::sync::CancellationToken;

fn client(sim: &SimHandle) -> ScimClient {
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    cfg.backoff_base = Duration::from_millis(5);
    cfg.backoff_max = Duration::from_millis(50);
    ScimClient::new(cfg).unwrap()
}

fn jobs(n: usize) -> Vec<LookupJob> {
    (0..n)
        .map(|i| {
            let email = format!("user{i}@corp.example");
            let u = DirUser {
                key: email.clone(),
                email: Some(email.clone()),
                user_name: Some(email),
                idp_id: Some(format!("E{i}")),
                first_name: None,
                last_name: None,
                display_name: None,
                in_idp: true,
                idp_enabled: Some(true),
                seat: None,
                other_seats: Vec::new(),
                sources: Vec::new(),
                duplicate_rows: 0,
                stored_scim_id: None,
            };
            LookupJob::new(i, &u)
        })
        .collect()
}

async fn look_up_all(
    client: &ScimClient,
    n: usize,
) -> (
    navscim::lookup::BatchSummary,
    Vec<navscim::matching::LookupOutcome>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = LookupOptions {
        precedence: vec![
            LookupKind::ExternalId,
            LookupKind::UserName,
            LookupKind::Email,
        ],
        concurrency: 8,
        ..LookupOptions::default()
    };
    let summary = run_batch(
        client.clone(),
        jobs(n),
        options,
        Unsupported::default(),
        CancellationToken::new(),
        tx,
    )
    .await;
    let mut outcomes = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let LookupEvent::Finished(_, o) = e {
            outcomes.push(*o);
        }
    }
    (summary, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_daily_quota_costs_a_handful_of_requests_and_says_the_servers_words() {
    let sim = start_sim(0, |c| c.failsafe.daily_quota = true).await;
    let (summary, outcomes) = look_up_all(&client(&sim), 40).await;
    let sent = gets(&sim);
    // Not retries × kinds × users (6 × 3 × 40 = 720): the breaker's streak.
    assert!(sent <= u64::from(BREAKER_AFTER) + 1, "{sent} requests");
    let why = summary.stopped.expect("the batch stopped");
    assert!(why.contains("DAY limit"), "{why}");
    assert!(why.contains("serviceErrorCode 101"), "{why}");
    assert_eq!(outcomes.len() + summary.cancelled, 40);
    assert!(
        outcomes.iter().all(|o| o.status == MatchStatus::Error),
        "{outcomes:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_storm_stops_the_batch() {
    let sim = start_sim(0, |c| c.failsafe.storm_status = Some(503)).await;
    let (summary, outcomes) = look_up_all(&client(&sim), 100).await;
    let sent = gets(&sim);
    assert!(sent <= u64::from(BREAKER_AFTER) + 1, "{sent} requests");
    let why = summary.stopped.clone().expect("stopped");
    assert!(why.contains("failure storm"), "{why}");
    assert!(outcomes.iter().all(|o| o.status == MatchStatus::Error));
    assert!(summary.cancelled > 50, "{summary:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_retry_after_in_seconds_or_as_a_date_stops_at_once() {
    for (secs, date) in [(Some(86_400), None), (None, Some(3 * 3600))] {
        let sim = start_sim(0, |c| {
            c.failsafe.retry_after_secs = secs;
            c.failsafe.retry_after_date_secs = date;
        })
        .await;
        let c = client(&sim);
        let err = c.get_user("u1").await.unwrap_err();
        assert!(matches!(err, ScimError::WaitTooLong { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("the server asks to wait"), "{text}");
        assert!(text.contains("DAY limit"), "the server's words: {text}");
        if date.is_some() {
            assert!(text.contains("GMT"), "the date is named: {text}");
            assert!(text.contains(" h"), "{text}");
        }
        assert_eq!(gets(&sim), 1);
        // A batch stops after that one answer.
        let (summary, _) = look_up_all(&c, 30).await;
        let why = summary.stopped.expect("stopped");
        assert!(why.contains("the server asks to wait"), "{why}");
        assert!(gets(&sim) <= 3, "{}", gets(&sim));
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_lookup_on_a_spent_quota_exits_1_with_a_valid_results_file() {
    let sim = start_sim(0, |c| c.failsafe.daily_quota = true).await;
    let url = sim.base_url().to_string();
    let (env, out) = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        let idp = env.write("idp.csv", &idp_csv(25));
        let out = env.run(
            &[
                "lookup",
                "--base-url",
                &url,
                idp.to_str().unwrap(),
                "--out",
                "results.json",
            ],
            Some(TOKEN),
        );
        (env, out)
    })
    .await
    .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("DAY limit"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    let results: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(env.path("results.json")).unwrap()).unwrap();
    assert_eq!(results.len(), 25);
    assert!(
        results.iter().all(|r| r["status"] == "error"),
        "{results:?}"
    );
    let sent = sim.stats().requests.get("GET").copied().unwrap_or(0);
    // The connection check (ServiceProviderConfig) plus the breaker's streak.
    assert!(sent <= u64::from(BREAKER_AFTER) + 2, "{sent} requests");
    sim.shutdown().await;
}
