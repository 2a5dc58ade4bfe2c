//! Issue 14, item 4: cancel means cancel. A cancellation interrupts retry waits and no
//! retry starts after it (paused clock); `navscim apply` and `navscim lookup` stop on
//! SIGTERM or Ctrl-C within seconds while their requests are being retried, and an
//! interrupted lookup still writes a valid results file.

use std::io::{BufRead, BufReader};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::failsafe_support::*;
use navscim::plan::OpKind;
use navscim::scim::{ClientConfig, ScimClient, ScimError};
use navscim::secret::Token;
use tokio_util::sync::CancellationToken;

#[tokio::test(start_paused = true)]
async fn a_cancel_interrupts_the_retry_wait_and_no_retry_starts() {
    // 429 with Retry-After: 100 s, which the client would honour (it waits up to 1000 s).
    let srv = fake(|_, _| (429, vec![("retry-after".into(), "100".into())], "{}".into())).await;
    let mut cfg = ClientConfig::new(srv.base.clone(), Token::new(TOKEN));
    cfg.max_retry_after = Duration::from_secs(1000);
    cfg.backoff_max = Duration::from_secs(1000);
    cfg.timeout = Duration::from_secs(86_400);
    cfg.connect_timeout = Duration::from_secs(86_400);
    let cancel = CancellationToken::new();
    let client = ScimClient::new(cfg).unwrap().guarded(cancel.clone(), None);
    let started = tokio::time::Instant::now();
    let call = tokio::spawn(async move { client.get_user("u1").await });
    srv.seen.notified().await;
    cancel.cancel();
    let err = call.await.unwrap().unwrap_err();
    assert!(matches!(err, ScimError::Cancelled), "{err:?}");
    assert_eq!(
        srv.count.load(Ordering::SeqCst),
        1,
        "no retry after the cancel"
    );
    // The 100 s the server asked for were not waited out (virtual time).
    assert!(started.elapsed() < Duration::from_secs(100));
}

#[tokio::test(start_paused = true)]
async fn a_request_waiting_for_a_hold_is_cancelled_too() {
    let srv = fake(|_, n| {
        if n == 0 {
            (429, vec![("retry-after".into(), "90".into())], "{}".into())
        } else {
            (200, vec![], "{}".into())
        }
    })
    .await;
    let mut cfg = ClientConfig::new(srv.base.clone(), Token::new(TOKEN));
    cfg.max_retries = 0;
    cfg.backoff_max = Duration::from_secs(1000);
    cfg.timeout = Duration::from_secs(86_400);
    cfg.connect_timeout = Duration::from_secs(86_400);
    let cancel = CancellationToken::new();
    let client = ScimClient::new(cfg).unwrap().guarded(cancel.clone(), None);
    // The first answer holds every request back for 90 s.
    assert!(client.get_user("a").await.is_err());
    let second = tokio::spawn({
        let client = client.clone();
        async move { client.get_user("b").await }
    });
    tokio::task::yield_now().await;
    cancel.cancel();
    assert!(matches!(second.await.unwrap(), Err(ScimError::Cancelled)));
    assert_eq!(
        srv.count.load(Ordering::SeqCst),
        1,
        "the held request was never sent"
    );
}

/// Starts navscim, waits for a line on stderr containing `ready`, sends `signal`
/// (`-TERM`, `-INT`), and returns the output; a hang guard fails after 60 s.
fn run_and_signal(env: &Env, args: &[&str], ready: &str, signal: &str) -> (i32, String, String) {
    let mut child = env
        .command(args, Some(TOKEN))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("navscim ended before {ready:?}: {seen}");
        }
        seen.push_str(&line);
        if line.contains(ready) {
            break;
        }
    }
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(status.success());
    // Hang guard (not a timing assertion): a process that ignores the signal fails here.
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        let _ = tx.send((rest, out));
    });
    let (rest, out) = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(v) => v,
        Err(_) => {
            let _ = child.kill();
            panic!("navscim did not stop after {signal}: {seen}");
        }
    };
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, out, format!("{seen}{rest}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_apply_whose_requests_are_being_retried() {
    // Every /Users request: 429 with Retry-After 60 (waited, capped at 30 s a retry).
    let sim = start_sim(10, |c| c.failsafe.retry_after_secs = Some(60)).await;
    let users = {
        // Read the users before the fault applies to the test's own view (in-process).
        active_users(&sim, 5)
    };
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        10,
    );
    let url = sim.base_url().to_string();
    let (env, (code, stdout, stderr)) = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        let plan_path = env.write("plan.json", &serde_json::to_string(&p).unwrap());
        let r = run_and_signal(
            &env,
            &[
                "apply",
                plan_path.to_str().unwrap(),
                "--base-url",
                &url,
                "--allow-deprovision",
                "--yes",
                "--max-percent",
                "100",
            ],
            "journal",
            "-TERM",
        );
        (env, r)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("cancelled"), "{stdout}{stderr}");
    assert_eq!(sim.stats().requests.get("PATCH").copied().unwrap_or(0), 0);
    // The journal is complete and says so.
    let logs = navscim::journal::list(&env.journal());
    assert!(logs.1.is_empty(), "{:?}", logs.1);
    assert_eq!(logs.0.len(), 1);
    assert!(logs.0[0].last_end().is_some(), "an end line was written");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_lookup_writes_a_valid_results_file() {
    let sim = start_sim(0, |c| c.failsafe.retry_after_secs = Some(60)).await;
    let url = sim.base_url().to_string();
    for signal in ["-TERM", "-INT"] {
        let url = url.clone();
        let (env, (code, _stdout, stderr)) = tokio::task::spawn_blocking(move || {
            let env = Env::new();
            let idp = env.write("idp.csv", &idp_csv(12));
            let r = run_and_signal(
                &env,
                &[
                    "lookup",
                    "--base-url",
                    &url,
                    idp.to_str().unwrap(),
                    "--out",
                    "results.json",
                ],
                "idp.csv",
                signal,
            );
            (env, r)
        })
        .await
        .unwrap();
        assert_eq!(code, 1, "{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        let results: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(env.path("results.json")).expect("results written"),
        )
        .unwrap();
        assert_eq!(results.len(), 12);
        assert!(
            results.iter().all(|r| r["status"] == "error"),
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .any(|r| r.to_string().contains("interrupted")
                    || r.to_string().contains("cancelled")),
            "{results:?}"
        );
    }
    sim.shutdown().await;
}
