//! The workspace from the command line, against the embedded simulator: `navscim
//! lookup` writes into it (and says what changed in a file loaded again),
//! `--refresh-stale` looks up only the stale users by SCIM id, `navscim plan
//! --from-workspace`, `navscim apply` records its batch, `navscim report` prints the
//! inventory and trend in JSON, CSV and Markdown, a plan for another tenant is refused,
//! a second navscim is refused, and `kill -9` during a lookup run loses only the
//! outcomes in flight.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{stderr, stdout, TestDir};
use navscim::sim::{self, SimConfig, SimHandle};
use navscim::workspace::Workspace;
use serde_json::Value;

const TOKEN: &str = "tok-W0rksp4ce-NEVER-SHOWN";

const SALESNAV_HEADER: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n";

/// A Sales Navigator user export of `n` users: user{i}@corp.example, unique id E{i}.
fn salesnav_csv(n: usize) -> String {
    let mut text = SALESNAV_HEADER.to_string();
    for i in 0..n {
        text.push_str(&format!(
            "user{i}@corp.example,User,Number{i},E{i},S{i},ACTIVE,,NONE,\n"
        ));
    }
    text
}

const IDP_HEADER: &str =
    "Username,Email,First Name,Last Name,Display Name,Status,Employee Number,Department\n";

fn idp_csv(rows: &[(usize, &str)]) -> String {
    let mut text = IDP_HEADER.to_string();
    for (i, emp) in rows {
        text.push_str(&format!(
            "user{i}@corp.example,user{i}@corp.example,User,Number{i},User {i},ACTIVE,{emp},Sales\n"
        ));
    }
    text
}

async fn start_sim(n: usize, latency_ms: u64) -> SimHandle {
    sim::start(SimConfig {
        token: TOKEN.into(),
        seed_csv: Some(salesnav_csv(n)),
        latency: std::time::Duration::from_millis(latency_ms),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

struct Env(TestDir);

impl Env {
    fn new() -> Self {
        Env(TestDir::new())
    }

    fn workspace(&self) -> PathBuf {
        self.0.data().join("workspaces").join("default.sqlite")
    }

    /// `navscim ARGS` with the token, off the async runtime (the simulator runs on it).
    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.0.command(args, Some(TOKEN));
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    )
}

fn gets(sim: &SimHandle) -> u64 {
    sim.stats().requests.get("GET").copied().unwrap_or(0)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_after_two_lookup_runs_and_a_batch_shows_the_trend_and_seats_reclaimed() {
    let sim = start_sim(12, 0).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(12));
    let out = env.0.path("results.json");
    for run in 0..2 {
        let o = env
            .run(&[
                "lookup",
                p(&users),
                "--base-url",
                sim.base_url(),
                "--out",
                p(&out),
            ])
            .await;
        assert_eq!(o.status.code(), Some(0), "run {run}: {}", text(&o));
        assert!(
            stderr(&o).contains("12 results saved"),
            "run {run}: {}",
            text(&o)
        );
    }
    // A plan from the workspace (no results file), then the batch.
    let select = env
        .0
        .write("leavers.txt", "user3@corp.example\nuser7@corp.example\n");
    let plan = env.0.path("plan.json");
    let o = env
        .run(&[
            "plan",
            "deactivate",
            "--from-workspace",
            "--select",
            p(&select),
            "--out",
            p(&plan),
            "--base-url",
            sim.base_url(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan_json: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    assert_eq!(plan_json["operations"].as_array().unwrap().len(), 2);
    assert_eq!(plan_json["inputs"][0]["kind"], "workspace");
    assert_eq!(plan_json["target"]["server"], sim.base_url());
    assert_eq!(plan_json["target"]["profile"], "default");
    let o = env
        .run(&[
            "apply",
            p(&plan),
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-deprovision",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stderr(&o).contains("batch recorded (2 seats reclaimed"),
        "{}",
        text(&o)
    );

    // JSON: current counts and one snapshot per run and batch; no network needed
    // (the simulator is stopped first).
    sim.shutdown().await;
    let o = env
        .run(&["report", "--format", "json", "--seat-cost", "1200"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["current"]["users"], 12);
    assert_eq!(r["current"]["by_status"]["matched"], 12);
    assert_eq!(r["current"]["active"], 10);
    assert_eq!(
        r["current"]["inactive"], 2,
        "the batch updated the stored outcomes"
    );
    let history = r["history"].as_array().unwrap();
    let kinds: Vec<&str> = history
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["lookup", "lookup", "batch"]);
    assert_eq!(history[0]["active"], 12);
    assert_eq!(history[0]["seats_reclaimed"], 0);
    assert_eq!(history[2]["seats_reclaimed"], 2);
    assert_eq!(history[2]["inactive"], 2);
    assert!(history[2]["batch"].as_str().is_some());
    assert_eq!(r["seats_reclaimed"], 2);
    assert_eq!(r["estimated_yearly_saving"], 2400.0);

    // CSV: a row per snapshot and the current one.
    let o = env.run(&["report", "--format", "csv"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[0].starts_with("at,kind,batch,users,matched,"),
        "{csv}"
    );
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let row = |i: usize| -> Vec<&str> { lines[i].split(',').collect() };
    assert_eq!(row(1)[col("kind")], "lookup");
    assert_eq!(row(3)[col("kind")], "batch");
    assert_eq!(row(3)[col("seats_reclaimed")], "2");
    assert_eq!(row(3)[col("inactive")], "2");
    assert_eq!(row(4)[col("kind")], "current");

    // Markdown, with the seat cost stored for later reports.
    let o = env
        .run(&[
            "report",
            "--seat-cost",
            "1000",
            "--save-seat-cost",
            "--tenant",
            "Corp EMEA",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = env.run(&["report", "--format", "markdown"]).await;
    let md = stdout(&o);
    assert!(md.contains("# Sales Navigator seats — Corp EMEA"), "{md}");
    assert!(md.contains("## Trend"), "{md}");
    assert_eq!(md.matches("| lookup run |").count(), 2, "{md}");
    assert!(md.contains("**Seats reclaimed:** 2"), "{md}");
    assert!(md.contains("**Estimated yearly saving:** 2000.00"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_loaded_again_shows_users_added_gone_and_changed() {
    let sim = start_sim(6, 0).await;
    let env = Env::new();
    let idp = env.0.write(
        "okta.csv",
        &idp_csv(&[(0, "E0"), (1, "E1"), (2, "E2"), (3, "E3")]),
    );
    let o = env
        .run(&[
            "lookup",
            p(&idp),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!stderr(&o).contains("changed since"), "{}", text(&o));
    // user1 left, user4 joined, user2's employee number changed.
    env.0.write(
        "okta.csv",
        &idp_csv(&[(0, "E0"), (2, "E2b"), (3, "E3"), (4, "E4")]),
    );
    let o = env
        .run(&[
            "lookup",
            p(&idp),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r.json")),
        ])
        .await;
    assert!(
        stderr(&o).contains("1 users added, 1 gone, 1 with changed identifiers"),
        "{}",
        text(&o)
    );
    // ... and who: the admin needs the leaver's name, not only a count.
    let err = stderr(&o);
    for who in [
        "added user4@corp.example",
        "gone (leaver?) user1@corp.example",
        "user2@corp.example changed idp_id: E2 → E2b",
    ] {
        assert!(err.contains(who), "{who}: {}", text(&o));
    }
    let ws = Workspace::open_read_only(&env.workspace()).unwrap();
    let keys: Vec<String> = ws
        .users()
        .unwrap()
        .into_iter()
        .map(|u| u.user.key)
        .collect();
    assert_eq!(
        keys,
        [
            "user0@corp.example",
            "user2@corp.example",
            "user3@corp.example",
            "user4@corp.example"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_stale_looks_up_only_the_stale_users_by_scim_id() {
    let sim = start_sim(20, 0).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(20));
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Five results are two days old now.
    let stale = ["user1", "user4", "user9", "user13", "user17"];
    {
        let conn = rusqlite::Connection::open(env.workspace()).unwrap();
        for s in stale {
            let n = conn
                .execute(
                    "UPDATE outcomes SET checked_at = '2020-01-01T00:00:00.000Z' WHERE key = ?1",
                    [format!("{s}@corp.example")],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
    }
    let before = gets(&sim);
    let o = env
        .run(&[
            "lookup",
            "--refresh-stale",
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("fresh.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stderr(&o).contains("5 of 20 users are stale"),
        "{}",
        text(&o)
    );
    // One GET /Users/{id} each, plus the one connection check (ServiceProviderConfig).
    assert_eq!(gets(&sim) - before, 5 + 1, "{}", text(&o));
    let fresh: Vec<Value> =
        serde_json::from_slice(&std::fs::read(env.0.path("fresh.json")).unwrap()).unwrap();
    assert_eq!(fresh.len(), 5);
    assert!(
        fresh.iter().all(|r| r["matched_by"] == "stored_id"),
        "{fresh:?}"
    );

    let ws = Workspace::open_read_only(&env.workspace()).unwrap();
    let outcomes = ws.outcomes().unwrap();
    assert_eq!(outcomes.len(), 20);
    let cutoff = chrono::Utc::now() - chrono::Duration::hours(1);
    assert!(
        outcomes.values().all(|o| o.checked_at > cutoff),
        "all fresh now"
    );
    let kinds: Vec<String> = ws
        .history()
        .unwrap()
        .iter()
        .map(|s| s.kind.name().to_string())
        .collect();
    assert_eq!(kinds, ["lookup", "refresh"]);
    drop(ws);

    // Nothing stale: nothing sent but the connection check.
    let before = gets(&sim);
    let o = env
        .run(&[
            "lookup",
            "--refresh-stale",
            "--stale-after",
            "24h",
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("none.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stderr(&o).contains("0 of 20 users are stale"),
        "{}",
        text(&o)
    );
    assert_eq!(gets(&sim) - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_built_for_another_server_is_refused_with_both_named() {
    let sim = start_sim(4, 0).await;
    let other = start_sim(4, 0).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(4));
    let results = env.0.path("r.json");
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&results),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let select = env.0.write("sel.txt", "user1@corp.example\n");
    let plan = env.0.path("plan.json");
    let o = env
        .run(&[
            "plan",
            "deactivate",
            "--lookup",
            p(&results),
            "--select",
            p(&select),
            "--out",
            p(&plan),
            "--base-url",
            sim.base_url(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = other.stats();
    let o = env
        .run(&[
            "apply",
            p(&plan),
            "--base-url",
            other.base_url(),
            "--yes",
            "--allow-deprovision",
        ])
        .await;
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.contains(sim.base_url()) && err.contains(other.base_url()),
        "{err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(
        other.stats().requests,
        before.requests,
        "not a request to the other server"
    );
    assert!(other.stats().changes.is_empty());
    // Where it was built for, it applies.
    let o = env
        .run(&[
            "apply",
            p(&plan),
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-deprovision",
            "--max-percent",
            "100",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_navscim_on_the_same_workspace_is_refused_or_reads_only() {
    let sim = start_sim(3, 0).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(3));
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // This test holds the workspace, as a running dashboard would.
    let held = Workspace::open(&env.workspace()).unwrap();
    let before = sim.stats().requests;
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r2.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("in use by another navscim"),
        "{}",
        text(&o)
    );
    assert_eq!(sim.stats().requests, before, "refused before any request");
    // The report only reads (a read-only view, no lock): it works while it is held.
    let o = env.run(&["report", "--format", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["current"]["users"], 3);
    drop(held);
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r3.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_workspace_gives_a_clear_error_and_is_kept() {
    let env = Env::new();
    let ws = env.workspace();
    std::fs::create_dir_all(ws.parent().unwrap()).unwrap();
    let junk = b"not a database at all".repeat(50);
    std::fs::write(&ws, &junk).unwrap();
    let kept = || -> Vec<PathBuf> {
        std::fs::read_dir(ws.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".damaged-"))
            .collect()
    };
    let users = env.0.write("salesnav.csv", &salesnav_csv(2));
    let o = env
        .run(&["lookup", p(&users), "--base-url", "http://127.0.0.1:9/scim"])
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.contains("is damaged") && err.contains("kept as"),
        "{err}"
    );
    // The command stopped: it does not promise a new workspace it never starts.
    assert!(!err.contains("will be started"), "{err}");
    assert!(err.contains("the next command that writes"), "{err}");
    assert_eq!(kept().len(), 1);
    assert_eq!(
        std::fs::read(&kept()[0]).unwrap(),
        junk,
        "kept byte for byte"
    );
    assert!(!ws.exists());
    // A report finds no workspace now (it does not make one) ...
    let o = env.run(&["report"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("no workspace at"), "{}", text(&o));
    // ... and the next command that writes starts a new one, leaving the damaged alone.
    drop(Workspace::open(&ws).unwrap());
    assert!(ws.exists());
    assert_eq!(std::fs::read(&kept()[0]).unwrap(), junk);
}

/// A workspace written by a newer navscim: `lookup` stops with exit 2 and a clear
/// error, the file is kept aside byte for byte (never overwritten), and the message
/// says what the next command does (it promised "a new workspace will be started",
/// which only the dashboard does); the next lookup starts a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_from_a_newer_navscim_is_kept_aside_with_a_clear_error() {
    let env = Env::new();
    let ws = env.workspace();
    drop(Workspace::open(&ws).unwrap());
    rusqlite::Connection::open(&ws)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let newer = std::fs::read(&ws).unwrap();
    let kept = || -> Vec<PathBuf> {
        std::fs::read_dir(ws.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".v99-"))
            .collect()
    };
    let users = env.0.write("salesnav.csv", &salesnav_csv(2));
    let o = env
        .run(&["lookup", p(&users), "--base-url", "http://127.0.0.1:9/scim"])
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = stderr(&o);
    assert!(
        err.contains("newer navscim") && err.contains("schema version 99"),
        "{err}"
    );
    assert!(!err.contains("will be started"), "{err}");
    assert!(err.contains("the next command that writes"), "{err}");
    assert_eq!(kept().len(), 1, "{err}");
    assert_eq!(
        std::fs::read(&kept()[0]).unwrap(),
        newer,
        "kept byte for byte"
    );
    let sim = start_sim(2, 0).await;
    let o = env
        .run(&["lookup", p(&users), "--base-url", sim.base_url()])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(ws.exists());
    assert_eq!(std::fs::read(&kept()[0]).unwrap(), newer);
    sim.shutdown().await;
}

/// The dashboard hands the lookup results to the workspace while a run goes on (about
/// once a second), not only at its end: a `kill -9` halfway through a run lost every
/// result. Seen from outside: results are in the workspace while the simulator has
/// not yet been asked about every user (only the end of the run wrote them before, and
/// that needs every user asked). The dashboard runs on a pseudo-terminal (`script`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_writes_results_into_the_workspace_while_a_run_goes_on() {
    const N: usize = 400;
    // 8 lookups at a time, 100 ms each: the run takes about 5 s.
    let sim = start_sim(N, 100).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(N));
    let ws = env.0.path("dashboard.sqlite");
    let quoted: Vec<String> = [
        env!("CARGO_BIN_EXE_navscim"),
        "--base-url",
        sim.base_url(),
        "--workspace",
        p(&ws),
        "--load",
        p(&users),
    ]
    .iter()
    .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
    .collect();
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .env("NAVSCIM_CONFIG_DIR", env.0.config())
        .env("NAVSCIM_DATA_DIR", env.0.data())
        .env("NAVSCIM_TOKEN", TOKEN)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("util-linux `script` runs the dashboard on a pseudo-terminal");
    let count = |path: &Path| -> Option<i64> {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()?;
        conn.query_row("SELECT count(*) FROM outcomes", [], |r| r.get(0))
            .ok()
    };
    let started = std::time::Instant::now();
    let asked = loop {
        // The count first: results written at the end of the run would come after
        // every user was asked, so `asked` read after them would be N.
        let written = count(&ws).unwrap_or(0);
        let asked = gets(&sim);
        if written > 0 {
            break asked;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the dashboard ended before writing anything"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        asked < N as u64,
        "results reached the workspace only once all {N} users were asked ({asked} GETs)"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_lookup_run_loses_at_most_the_outcomes_in_flight() {
    const N: usize = 300;
    let sim = start_sim(N, 15).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(N));
    let out = env.0.path("r.json");
    let mut cmd = tokio::process::Command::from(env.0.command(
        &[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--concurrency",
            "2",
            "--out",
            p(&out),
        ],
        Some(TOKEN),
    ));
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    // Poll the workspace until some outcomes are in, then kill -9.
    let count = |path: &Path| -> Option<i64> {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()?;
        conn.query_row("SELECT count(*) FROM outcomes", [], |r| r.get(0))
            .ok()
    };
    let started = std::time::Instant::now();
    let seen = loop {
        if let Some(n) = count(&env.workspace()).filter(|n| *n >= 40) {
            break n;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the lookup ended before it could be killed"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    child.start_kill().unwrap(); // SIGKILL
    let status = child.wait().await.unwrap();
    assert!(!status.success());

    // The workspace opens (the lock died with the process), is sound, and holds every
    // outcome committed before the kill: at least what was seen, fewer than all.
    let ws = Workspace::open(&env.workspace()).unwrap();
    let kept = ws.outcomes().unwrap().len() as i64;
    assert!(kept >= seen && kept < N as i64, "kept {kept}, seen {seen}");
    assert_eq!(ws.users().unwrap().len(), N);
    drop(ws);
    let conn = rusqlite::Connection::open(env.workspace()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert!(!out.exists(), "no half-written results file");

    // The next run completes and fills in the rest.
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--concurrency",
            "16",
            "--out",
            p(&out),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ws = Workspace::open_read_only(&env.workspace()).unwrap();
    assert_eq!(ws.outcomes().unwrap().len(), N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_is_a_batch_of_its_own_that_gives_the_seats_back() {
    let sim = start_sim(10, 0).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(10));
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--out",
            p(&env.0.path("r.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let select = env.0.write("sel.txt", "user2@corp.example\n");
    let plan = env.0.path("plan.json");
    let o = env
        .run(&[
            "plan",
            "deactivate",
            "--from-workspace",
            "--select",
            p(&select),
            "--out",
            p(&plan),
            "--base-url",
            sim.base_url(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = env
        .run(&[
            "apply",
            p(&plan),
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-deprovision",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let batch = summary["batch"].as_str().unwrap().to_string();
    let o = env
        .run(&[
            "journal",
            "undo",
            &batch,
            "--yes",
            "--allow-provision",
            "--max-percent",
            "100",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = env
        .run(&["report", "--format", "json", "--seat-cost", "500"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let history = r["history"].as_array().unwrap();
    let kinds: Vec<&str> = history
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["lookup", "batch", "batch"]);
    assert_eq!(history[1]["batch"], batch.as_str());
    assert_eq!(history[1]["seats_reclaimed"], 1);
    assert_eq!(history[1]["inactive"], 1);
    assert_eq!(history[2]["seats_restored"], 1);
    assert_eq!(
        history[2]["inactive"], 0,
        "the undo marked the user active again"
    );
    assert_eq!(r["current"]["active"], 10);
    assert_eq!(r["estimated_yearly_saving"], 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_ignored_with_the_ignore_option_are_ignored_in_the_workspace_too() {
    let sim = start_sim(3, 0).await;
    let env = Env::new();
    let users = env.0.write("salesnav.csv", &salesnav_csv(3));
    let o = env
        .run(&[
            "lookup",
            p(&users),
            "--base-url",
            sim.base_url(),
            "--ignore",
            "user1@corp.example",
            "--out",
            p(&env.0.path("r.json")),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let loaded = Workspace::open_read_only(&env.workspace())
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(
        loaded.ignores.keys().collect::<Vec<_>>(),
        ["user1@corp.example"],
        "the ignore is the admin's decision, kept like the dashboard's"
    );
    let reports = loaded.reports();
    let user1 = reports
        .iter()
        .find(|r| r.email.as_deref() == Some("user1@corp.example"))
        .unwrap();
    assert_eq!(user1.status, "ignored");
}
