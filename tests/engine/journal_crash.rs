//! Crash tests: `navscim apply` is killed at many points of a batch — by the
//! `NAVSCIM_TEST_CRASH_AFTER` hook (deterministic: abort at the N-th crash point, i.e.
//! after a journal line is fsync'd or after a request returns and before its result is
//! written) and by a real `kill -9` — then `navscim journal resume` finishes the batch.
//! The simulator's per-user change counts prove every target changed exactly once.

use crate::apply_support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use apply_support::*;
use navscim::journal::{self, BatchStatus};
use navscim::plan::OpKind;
use navscim::sim::SimHandle;
use tokio::process::Command;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn journal_dir(&self) -> PathBuf {
        self.data().join("journal")
    }

    fn cmd(&self, args: &[&str], crash_after: Option<u32>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_navscim"));
        cmd.args(args)
            .env("NAVSCIM_CONFIG_DIR", self.dir.path().join("config"))
            .env("NAVSCIM_DATA_DIR", self.data())
            .env("NAVSCIM_TOKEN", TOKEN)
            .env_remove(journal::CRASH_ENV)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(n) = crash_after {
            cmd.env(journal::CRASH_ENV, n.to_string());
        }
        cmd
    }

    async fn run(&self, args: &[&str], crash_after: Option<u32>) -> Output {
        self.cmd(args, crash_after).output().await.unwrap()
    }

    fn write_plan(&self, sim: &SimHandle, n: usize) -> (PathBuf, Vec<String>) {
        let users = active_users(sim, n);
        let p = plan(
            users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
            sim.user_count(),
        );
        let path = self.dir.path().join("plan.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
        (path, users.into_iter().map(|u| u.id.unwrap()).collect())
    }
}

const GATES: [&str; 6] = [
    "--yes",
    "--allow-deprovision",
    "--max-count",
    "1000",
    "--max-percent",
    "100",
];

fn apply_args<'a>(plan: &'a Path, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["apply", plan.to_str().unwrap(), "--base-url", url];
    v.extend(GATES);
    v.extend(extra);
    v
}

fn resume_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["journal", "resume"];
    v.extend(GATES);
    v.extend(extra);
    v
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every target inactive and changed exactly once; nobody else changed.
fn assert_exactly_once(sim: &SimHandle, ids: &[String], what: &str) {
    let stats = sim.stats();
    for id in ids {
        assert!(
            !sim.user(id).unwrap().is_active(),
            "{what}: {id} is still active"
        );
        assert_eq!(
            stats.changes.get(id),
            Some(&1),
            "{what}: {id} changed {:?} times",
            stats.changes.get(id)
        );
    }
    assert_eq!(
        stats.changes.len(),
        ids.len(),
        "{what}: only targets changed"
    );
}

fn only_batch(env: &Env) -> journal::BatchLog {
    let (logs, errs) = journal::list(&env.journal_dir());
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(logs.len(), 1);
    logs.into_iter().next().unwrap()
}

/// Crash points of a batch of n operations: 1 header + 3 per operation (intent,
/// request returned, result) + 1 end line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_at_many_points_then_resume_applies_each_exactly_once() {
    const N: usize = 40;
    let last = 1 + 3 * N as u32 + 1;
    let points = [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        9,
        33,
        60,
        61,
        62,
        90,
        last - 3,
        last - 2,
        last - 1,
        last,
    ];
    // Four scenarios at a time: the work is mostly waiting for fsync.
    use futures::StreamExt;
    futures::stream::iter(points.iter().enumerate())
        .map(|(i, &k)| crash_and_resume(N, last, i, k))
        .buffer_unordered(4)
        .collect::<Vec<()>>()
        .await;
}

async fn crash_and_resume(n: usize, last: u32, i: usize, k: u32) {
    let sim = start_sim(60, |_| {}).await;
    let env = Env::new();
    let (plan, ids) = env.write_plan(&sim, n);
    let conc = if i.is_multiple_of(2) { "8" } else { "1" };
    let out = env
        .run(
            &apply_args(&plan, sim.base_url(), &["--concurrency", conc]),
            Some(k),
        )
        .await;
    assert!(!out.status.success(), "crash point {k}: {}", text(&out));
    assert_eq!(
        out.status.code(),
        None,
        "killed by a signal: {}",
        text(&out)
    );

    let log = only_batch(&env);
    // With several operations in flight, another thread may finish a line in the
    // instant before the abort lands; one at a time, the crash point is exact.
    if k < last - 1 && conc == "1" {
        assert_eq!(log.status(), BatchStatus::Interrupted, "crash point {k}");
    }
    let interrupted = log.status() == BatchStatus::Interrupted;
    let out = env.run(&resume_args(&[]), None).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "crash point {k}: {}",
        text(&out)
    );
    if interrupted {
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("completed"),
            "{}",
            text(&out)
        );
    }
    assert_exactly_once(&sim, &ids, &format!("crash point {k} (concurrency {conc})"));
    assert_eq!(only_batch(&env).status(), BatchStatus::Completed);
    // Nothing left to resume.
    let out = env.run(&resume_args(&[]), None).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No interrupted batch"),
        "{}",
        text(&out)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_crashes_during_resume_and_a_torn_line() {
    let sim = start_sim(60, |_| {}).await;
    let env = Env::new();
    let (plan, ids) = env.write_plan(&sim, 40);
    let out = env
        .run(&apply_args(&plan, sim.base_url(), &[]), Some(50))
        .await;
    assert_eq!(out.status.code(), None, "{}", text(&out));
    // A crash mid-write leaves half a line behind.
    let tear = |env: &Env| {
        let path = only_batch(env).path;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, br#"{"type":"result","seq":3,"outc"#).unwrap();
    };
    for k in [20, 7, 2] {
        tear(&env);
        let out = env.run(&resume_args(&[]), Some(k)).await;
        assert_eq!(out.status.code(), None, "resume crash {k}: {}", text(&out));
    }
    tear(&env);
    let log = only_batch(&env);
    assert!(
        log.notes.iter().any(|n| n.contains("cut short")),
        "{:?}",
        log.notes
    );
    let out = env.run(&resume_args(&[]), None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_exactly_once(&sim, &ids, "after three crashed resumes");
    let log = only_batch(&env);
    assert!(log.notes.is_empty(), "repaired: {:?}", log.notes);
    assert_eq!(log.status(), BatchStatus::Completed);
    let repaired = log
        .entries
        .iter()
        .filter(|e| matches!(e, journal::Entry::Note(n) if n.text.contains("torn")))
        .count();
    assert_eq!(repaired, 4);
}

/// The acceptance test: `kill -9` during a 300-user deactivation, then
/// `navscim journal resume`: all 300 inactive, each changed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_300_deactivations_then_resume() {
    // Three kill points, run side by side (each against its own simulator).
    futures::future::join_all([1usize, 150, 290].map(kill_and_resume)).await;
}

async fn kill_and_resume(kill_after_results: usize) {
    let sim = start_sim(360, |c| c.latency = Duration::from_millis(2)).await;
    let env = Env::new();
    let (plan, ids) = env.write_plan(&sim, 300);
    let mut child = env
        .cmd(&apply_args(&plan, sim.base_url(), &[]), None)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Poll the journal until it holds enough results, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = std::fs::read_dir(env.journal_dir())
            .ok()
            .and_then(|mut rd| rd.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|t| t.matches(r#""type":"result""#).count())
            .unwrap_or(0);
        if n >= kill_after_results {
            break;
        }
        assert!(Instant::now() < deadline, "the apply made no progress");
        assert!(child.try_wait().unwrap().is_none(), "the apply ended early");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    let log = only_batch(&env);
    assert_eq!(log.status(), BatchStatus::Interrupted, "killed mid-batch");
    let done_before = log.counts().applied;
    assert!(done_before >= kill_after_results && done_before < 300);

    let out = env.run(&resume_args(&["--json"]), None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["status"], "completed", "{summary:#}");
    assert_eq!(summary["applied"], 300, "{summary:#}");
    assert_exactly_once(
        &sim,
        &ids,
        &format!("kill -9 after {kill_after_results} results"),
    );
    sim.shutdown().await;
}
