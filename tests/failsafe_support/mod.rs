//! Helpers of the `failsafe_*` tests (issue 14): a private navscim environment for the
//! binary, a simulator with a long token, plans, and a fake server on 127.0.0.1.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use navscim::plan::{Evidence, OpKind, Operation, Plan, PLAN_VERSION};
use navscim::scim::ScimUser;
use navscim::sim::{self, SimConfig, SimHandle};

/// A long token with characters that every encoding changes (`/`, `+`, `=`).
pub const TOKEN: &str =
    "AQVfailsafe/Tok+en=9b7c2d1e0f/aa11bb22cc33dd44ee55ff66+gg77hh88ii99jj00/kk";

/// Every way the first `n` characters of `secret` may be written in a text.
pub fn prefix_forms(secret: &str, n: usize) -> Vec<String> {
    let p: String = secret.chars().take(n).collect();
    let pct: String = p
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        p.clone(),
        p.replace('/', "\\/"),
        pct.clone(),
        pct.to_lowercase(),
        p.replace('/', "\\u002f"),
    ]
}

/// Panics when `text` holds the first 8 characters of `secret` in any form.
pub fn assert_no_secret(text: &str, secret: &str, what: &str) {
    for form in prefix_forms(secret, 8) {
        assert!(
            !text.contains(&form),
            "{what} holds the token's start ({form:?}):\n{}",
            &text[..text.len().min(4000)]
        );
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    pub fn journal(&self) -> PathBuf {
        self.data().join("journal")
    }

    pub fn command(&self, args: &[&str], token: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_navscim"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("NAVSCIM_CONFIG_DIR", self.path("config"))
            .env("NAVSCIM_DATA_DIR", self.data())
            .env("NAVSCIM_LOG", "trace")
            .env_remove("NAVSCIM_TOKEN")
            .env_remove(navscim::journal::CRASH_ENV)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .stdin(Stdio::null());
        if let Some(t) = token {
            cmd.env("NAVSCIM_TOKEN", t);
        }
        cmd
    }

    /// Runs navscim to the end (blocking: call from `spawn_blocking` in async tests).
    pub fn run(&self, args: &[&str], token: Option<&str>) -> Output {
        self.command(args, token).output().unwrap()
    }

    /// The text of every file under the environment (data, logs, journal, results).
    pub fn all_files_text(&self) -> String {
        let mut out = String::new();
        collect(self.dir.path(), &mut out);
        out
    }
}

fn collect(dir: &Path, out: &mut String) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&bytes));
            out.push('\n');
        }
    }
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub async fn start_sim(generate: usize, tweak: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut cfg = SimConfig {
        token: TOKEN.into(),
        generate,
        ..SimConfig::default()
    };
    tweak(&mut cfg);
    sim::start(cfg).await.expect("simulator starts")
}

pub fn op(kind: OpKind, u: &ScimUser) -> Operation {
    Operation {
        op: kind,
        scim_id: u.id.clone(),
        email: Some(u.user_name.clone()),
        user_name: Some(u.user_name.clone()),
        external_id: u.external_id.clone(),
        name: u.display_name.clone().unwrap_or_default(),
        reason: "test".into(),
        evidence: Evidence::default(),
        new_user: None,
    }
}

pub fn plan(operations: Vec<Operation>, matched_users: usize) -> Plan {
    Plan {
        version: PLAN_VERSION,
        created_at: Utc::now(),
        inputs: vec![],
        parameters: serde_json::Value::Null,
        matched_users,
        operations,
        excluded: vec![],
        target: None,
    }
}

pub fn active_users(sim: &SimHandle, n: usize) -> Vec<ScimUser> {
    sim.users()
        .into_iter()
        .filter(|u| u.is_active())
        .take(n)
        .collect()
}

/// GET requests the simulator answered so far.
pub fn gets(sim: &SimHandle) -> u64 {
    sim.stats().requests.get("GET").copied().unwrap_or(0)
}

/// An IdP export with `n` made-up users.
pub fn idp_csv(n: usize) -> String {
    let mut s = String::from("Username,Email,First Name,Last Name,Employee Number\n");
    for i in 1..=n {
        s.push_str(&format!(
            "seller{i:02}@corp.example,seller{i:02}@corp.example,Seller{i},Quota,Q{i:03}\n"
        ));
    }
    s
}

/// What the fake server answers: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// A server on 127.0.0.1 answering every request with what `answer` returns for the
/// request's headers and its 0-based number; counts requests and notifies each one.
pub struct Fake {
    pub base: String,
    pub count: Arc<AtomicUsize>,
    pub seen: Arc<tokio::sync::Notify>,
}

pub async fn fake<F>(answer: F) -> Fake
where
    F: Fn(&axum::http::HeaderMap, usize) -> Answer + Send + Sync + 'static,
{
    use axum::response::IntoResponse;
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(tokio::sync::Notify::new());
    let answer = Arc::new(answer);
    let (c, n) = (count.clone(), seen.clone());
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (c, n, answer) = (c.clone(), n.clone(), answer.clone());
        async move {
            let i = c.fetch_add(1, Ordering::SeqCst);
            let (status, headers, body) = answer(req.headers(), i);
            n.notify_one();
            let mut r = (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response();
            for (k, v) in headers {
                r.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    axum::http::HeaderValue::from_str(&v).unwrap(),
                );
            }
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fake {
        base: format!("http://{addr}/scim"),
        count,
        seen,
    }
}

/// A body settable by the test while the fake server runs.
pub type Shared = Arc<Mutex<Answer>>;
