//! `navscim.log` at the default level shows a session's work (start-up, each effect
//! and its outcome, the retry summaries) and never the token.

use crate::support::{self, TestDir};

fn log_text(dir: &TestDir) -> String {
    std::fs::read_to_string(dir.data().join("logs/navscim.log")).unwrap_or_default()
}

/// The dashboard's whole demo session, headless (`navscim screenshots`: connection
/// test, files loaded, every user looked up, a plan reviewed and applied).
#[test]
fn a_dashboard_session_logs_its_work_at_the_default_level_and_never_the_token() {
    let dir = TestDir::new();
    let out = dir
        .command(
            &["screenshots", "--out", dir.path("shots").to_str().unwrap()],
            None,
        )
        .env_remove("NAVSCIM_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let log = log_text(&dir);
    for expected in [
        "navscim started",
        "command=\"screenshots\"",
        "Testing the connection: http://127.0.0.1:",
        "Testing the connection: connected in",
        // The demo's users come from its Okta and Entra ID simulators (issue 12).
        "Importing files: okta:LinkedIn Sales Navigator, entra:LinkedIn Sales Navigator, salesnav_users.csv, usage.csv",
        "Importing files: imported okta:LinkedIn Sales Navigator (",
        "Looking users up: batch 1: 1035 users at http://127.0.0.1:",
        "lookup batch 1 (1035 users): SCIM requests, retries and 429s requests=",
        "Looking users up: lookup batch 1 done, 0 cancelled",
        "Applying the plan: ",
        "SCIM requests, retries and 429s",
        "navscim finished exit_code=0",
    ] {
        assert!(
            log.contains(expected),
            "{expected:?} not in the log:\n{log}"
        );
    }
    // Requests are logged at debug only.
    assert!(!log.contains("SCIM request method="), "{log}");
    // The demo token is "navscim-demo"; the demo's journal directory's name starts
    // with it, so every other occurrence would be the token.
    let leaks = log.matches("navscim-demo").count();
    let journal = log.matches("navscim-demo-journal").count();
    assert_eq!(leaks, journal, "the token is in the log:\n{log}");
    // Nor the simulated identity providers' demo credentials.
    for secret in [
        navscim::sim::idp::okta::DEMO_TOKEN,
        navscim::sim::idp::entra::DEMO_SECRET,
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

/// At debug, each request: method, path, status, time; still no token.
#[test]
fn at_debug_the_log_has_each_request_and_never_the_token() {
    let dir = TestDir::new();
    let out = dir
        .command(
            &["screenshots", "--out", dir.path("shots").to_str().unwrap()],
            None,
        )
        .env("NAVSCIM_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    let log = log_text(&dir);
    let request = log
        .lines()
        .find(|l| l.contains("SCIM request") && l.contains("method=GET"))
        .unwrap_or_else(|| panic!("no request line:\n{log}"));
    for field in ["path=http://127.0.0.1:", "status=200", "elapsed_ms="] {
        assert!(request.contains(field), "{field} not in {request}");
    }
    assert_eq!(
        log.matches("navscim-demo").count(),
        log.matches("navscim-demo-journal").count(),
        "the token is in the log"
    );
    assert!(
        !log.contains("Bearer"),
        "an Authorization header is in the log"
    );
}
