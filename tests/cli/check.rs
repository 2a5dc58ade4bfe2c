//! `navscim check` run as a binary against the embedded simulator: exit codes, JSON,
//! and that the token never appears in any output or log file.

use crate::support;

use std::process::Output;

use support::TestDir;

use navscim::sim::{self, SimConfig};

const TOKEN: &str = "tok-5Ecr3t-9f8e7d6c-NEVER-SHOWN";

/// The test's directory; `run` is `navscim ARGS` (see `support::TestDir::command`).
struct Env(TestDir);

impl Env {
    fn new() -> Self {
        Env(TestDir::new())
    }

    fn run(&self, args: &[&str], token_env: Option<&str>) -> Output {
        self.0.command(args, token_env).output().unwrap()
    }
}

/// No token on stdout, stderr, or in navscim's configuration and logs.
fn assert_no_token(env: &Env, out: &Output) {
    support::assert_no_token(out, &env.0.navscim_files_text(), TOKEN, "5Ecr3t");
}

async fn simulator() -> sim::SimHandle {
    sim::start(SimConfig {
        token: TOKEN.into(),
        generate: 3,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_token_exits_0_with_capabilities() {
    let sim = simulator().await;
    let env = Env::new();
    let url = sim.base_url().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let env = env;
        let out = env.run(&["check", "--base-url", &url, "--json"], Some(TOKEN));
        (env, out)
    })
    .await
    .unwrap();
    let (env, out) = out;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["probe"], "ServiceProviderConfig");
    assert_eq!(json["supports"]["filter"], true);
    assert_eq!(json["supports"]["patch"], true);
    assert_eq!(json["supports"]["delete"], false);
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_exits_3_and_names_the_cause() {
    let sim = simulator().await;
    let url = sim.base_url().to_string();
    let (env, out) = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        // The wrong token is itself secret-looking: it must not be echoed either.
        let out = env.run(
            &["check", "--base-url", &url],
            Some("tok-5Ecr3t-wrong-value"),
        );
        (env, out)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Token rejected (HTTP 401)"), "{stderr}");
    assert!(!stderr.contains("wrong-value"), "{stderr}");
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[test]
fn unreachable_server_exits_4() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new();
    let url = format!("http://127.0.0.1:{port}/scim");
    let out = env.run(&["check", "--base-url", &url, "--json"], Some(TOKEN));
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["exit_code"], 4);
    assert_no_token(&env, &out);
}

#[test]
fn missing_token_and_bad_flags_exit_2() {
    let env = Env::new();
    let out = env.run(&["check", "--base-url", "http://127.0.0.1:9/scim"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAVSCIM_TOKEN"));

    let out = env.run(&["check", "--no-such-flag"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[cfg(unix)]
#[test]
fn token_file_readable_by_others_is_refused_with_exit_2() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, TOKEN).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(
        &[
            "check",
            "--base-url",
            "http://127.0.0.1:9/scim",
            "--token-file",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    assert_no_token(&env, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_command_works_and_its_output_is_not_echoed() {
    let sim = simulator().await;
    let url = sim.base_url().to_string();
    let (env, out) = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        let cmd = format!("printf '%s\\n' {TOKEN}");
        let out = env.run(
            &["check", "--base-url", &url, "--token-command", &cmd],
            None,
        );
        (env, out)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("token valid"));
    // The command line itself contains the token here (it is a test); what matters is
    // that navscim never prints what the command returned.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(TOKEN));
    sim.shutdown().await;
    drop(env);
}

/// A server on 127.0.0.1 that accepts connections and never answers: `check` gives up
/// after its `--timeout`, exits 4 and says how long it waited.
#[test]
fn a_server_that_never_answers_ends_within_the_timeout_with_exit_4() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Keep every connection open, read nothing, answer nothing.
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let env = Env::new();
    let url = format!("http://127.0.0.1:{port}/scim");
    let out = env.run(
        &["check", "--base-url", &url, "--timeout", "1"],
        Some(TOKEN),
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = support::stderr(&out);
    assert!(err.contains("--timeout 1 s"), "{err}");
    let waited: f64 = err
        .split("after waiting ")
        .nth(1)
        .and_then(|rest| rest.split(" s").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no waiting time in {err}"));
    // It waited the timeout it was given, not the 30 s default nor retries beyond it.
    assert!((1.0..10.0).contains(&waited), "waited {waited} s: {err}");
    assert_no_token(&env, &out);
}

#[test]
fn timeouts_out_of_range_are_usage_errors() {
    let env = Env::new();
    for args in [
        ["check", "--timeout", "0"],
        ["check", "--connect-timeout", "0"],
    ] {
        let out = env.run(&args, Some(TOKEN));
        assert_eq!(out.status.code(), Some(2), "{out:?}");
    }
}
