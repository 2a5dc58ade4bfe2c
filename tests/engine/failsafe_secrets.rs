//! Issue 14, item 1: no secret in any error — at every token length, cut position and
//! encoding; in the client's errors, `navscim lookup`'s terminal output, results file
//! and logs, `navscim apply`'s journal and `--json`; never a token command's output.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::failsafe_support::*;
use navscim::plan::OpKind;
use navscim::scim::{ClientConfig, ScimClient};
use navscim::secret::Token;
use navscim::sim::failsafe::EchoForm;

/// `Authorization: Bearer TOKEN` written in one of the forms servers use.
fn encoded(header: &str, form: usize) -> String {
    match form {
        // Raw, in a JSON string.
        0 => serde_json::to_string(header).unwrap(),
        // JSON with `/` escaped as `\/`.
        1 => serde_json::to_string(header).unwrap().replace('/', "\\/"),
        // Percent-encoded (a query string).
        2 => header
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
        // JSON with \u escapes for every non-alphanumeric character.
        _ => header
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_string()
                } else {
                    format!("\\u{:04x}", c as u32)
                }
            })
            .collect(),
    }
}

#[tokio::test]
async fn error_bodies_never_show_the_token_at_any_length_cut_or_encoding() {
    let answer: Shared = Arc::new(Mutex::new((400, vec![], String::new())));
    let a = answer.clone();
    let srv = fake(move |_, _| a.lock().unwrap().clone()).await;
    let mut checked = 0;
    for len in [16, 40, 161, 400, 2000] {
        let token: String = TOKEN.chars().cycle().take(len).collect();
        let mut cfg = ClientConfig::new(srv.base.clone(), Token::new(token.clone()));
        cfg.max_retries = 0;
        let client = ScimClient::new(cfg).unwrap();
        for form in 0..4 {
            let echoed = encoded(&format!("Authorization: Bearer {token}"), form);
            for pad in [0, 100, 130, 140, 150, 155, 159, 160, 161, 170, 300] {
                let filler = "x".repeat(pad);
                for (status, body) in [
                    // A JSON error whose detail echoes the header.
                    (
                        400,
                        format!("{{\"detail\":\"{filler} {}\"}}", echoed.trim_matches('"')),
                    ),
                    // A text body (quoted as a snippet).
                    (503, format!("{filler} {echoed}")),
                    // A 200 that is not JSON (a malformed-answer error).
                    (200, format!("<x>{filler} {echoed}")),
                ] {
                    *answer.lock().unwrap() = (status, vec![], body);
                    let err = client.get_user("u1").await.unwrap_err();
                    let shown = format!("{err} {err:?}");
                    assert_no_secret(&shown, &token, &format!("len {len} form {form} pad {pad}"));
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 5 * 4 * 11 * 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_output_results_and_logs_never_show_an_echoed_token() {
    for (form, pad) in [
        (EchoForm::Raw, 150),
        (EchoForm::JsonSlash, 140),
        (EchoForm::Percent, 155),
    ] {
        let sim = start_sim(0, |c| {
            c.failsafe.echo_headers = Some(form);
            c.failsafe.echo_pad = pad;
        })
        .await;
        let url = sim.base_url().to_string();
        let (env, out) = tokio::task::spawn_blocking(move || {
            let env = Env::new();
            let idp = env.write("idp.csv", &idp_csv(3));
            let results = env.path("results.json");
            let out = env.run(
                &[
                    "lookup",
                    "--base-url",
                    &url,
                    idp.to_str().unwrap(),
                    "--out",
                    results.to_str().unwrap(),
                ],
                Some(TOKEN),
            );
            let json = env.run(
                &["lookup", "--base-url", &url, idp.to_str().unwrap()],
                Some(TOKEN),
            );
            (env, (out, json))
        })
        .await
        .unwrap();
        let (out, json) = out;
        assert_eq!(out.status.code(), Some(1), "{form:?}: {out:?}");
        let (stdout, stderr) = text(&out);
        assert_no_secret(&stdout, TOKEN, "stdout");
        assert_no_secret(&stderr, TOKEN, "stderr");
        let (jout, jerr) = text(&json);
        assert!(
            jout.contains("HTTP 400"),
            "the server's answer is said: {jout}"
        );
        assert_no_secret(&jout, TOKEN, "JSON results on stdout");
        assert_no_secret(&jerr, TOKEN, "stderr");
        let files = env.all_files_text();
        assert!(files.contains("HTTP 400"), "results and logs were written");
        assert_no_secret(&files, TOKEN, "results file and logs");
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_and_json_summary_never_show_an_echoed_token() {
    let sim = start_sim(6, |c| {
        c.failsafe.echo_headers = Some(EchoForm::JsonSlash);
        c.failsafe.echo_pad = 158;
    })
    .await;
    let users = active_users(&sim, 3);
    let p = plan(users.iter().map(|u| op(OpKind::Deactivate, u)).collect(), 6);
    let url = sim.base_url().to_string();
    let (env, out) = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        let plan_path = env.write("plan.json", &serde_json::to_string(&p).unwrap());
        let out = env.run(
            &[
                "apply",
                plan_path.to_str().unwrap(),
                "--base-url",
                &url,
                "--allow-deprovision",
                "--yes",
                "--max-percent",
                "100",
                "--json",
            ],
            Some(TOKEN),
        );
        (env, out)
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("HTTP 400"), "{stdout}");
    assert_no_secret(&stdout, TOKEN, "--json summary");
    assert_no_secret(&stderr, TOKEN, "stderr");
    let journal = env.all_files_text();
    assert!(
        journal.contains("re-reading the user"),
        "the journal has the results"
    );
    assert_no_secret(&journal, TOKEN, "journal and logs");
    sim.shutdown().await;
}

#[test]
fn a_failing_token_command_is_never_quoted() {
    let env = Env::new();
    let secret = "cmd-secret-0123456789abcdef/+=";
    // The secret comes from a file the command reads, so it is not in the command line.
    env.write("vault.txt", secret);
    for cmd in [
        "cat vault.txt >&2; exit 1",
        "cat vault.txt; exit 3",
        "cat vault.txt >&2; kill -9 $$",
    ] {
        let out = env.run(
            &[
                "check",
                "--base-url",
                "http://127.0.0.1:9/scim",
                "--token-command",
                cmd,
            ],
            None,
        );
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(stderr.contains("--token-command"), "{stderr}");
        assert!(!stderr.contains("exit status exit status"), "{stderr}");
        assert_no_secret(&format!("{stdout}{stderr}"), secret, cmd);
        assert_no_secret(&env.all_files_text().replace(secret, ""), secret, "logs");
    }
    let _ = Duration::ZERO;
}
