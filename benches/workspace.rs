//! Workspace benchmarks (issue 11). Plain timing, no harness:
//!
//!     cargo bench --bench workspace            # both
//!     cargo bench --bench workspace -- write   # lookup run with / without the writes
//!     cargo bench --bench workspace -- load    # reopening a 100,000-user workspace
//!
//! 1. write: 100,000 lookups against the simulator at zero latency, three ways, in turn,
//!    three rounds: without a workspace; writing each batch of arrived outcomes in one
//!    transaction on the event loop (how `navscim lookup` writes); handing them to the
//!    workspace's writer thread (`Workspace::outcome_writer`, not wired into
//!    `navscim lookup`). Each run prints its wall time and the process's CPU time
//!    (user + system from getrusage: the lookups, the simulator and the writes); the
//!    medians of 3 are compared, with the load average and the peak RSS.
//! 2. load: a workspace of 100,000 users with outcomes and a 100,000-row usage report is
//!    made, then a child process (this binary, `NAVSCIM_BENCH_LOAD=PATH`) opens it and
//!    reads it (`Workspace::load_summaries`, three times; `Workspace::load`; the parts);
//!    it reports wall and CPU time and its peak memory (VmHWM), so nothing from making
//!    the workspace counts.
//!
//! Each mode prints the command line that ran it. To profile a reopen: make a workspace
//! once with `NAVSCIM_BENCH_MAKE=PATH`, then run this binary with
//! `NAVSCIM_BENCH_LOAD=PATH NAVSCIM_BENCH_MODE=frame` (under `perf record` or `heaptrack`).

use std::time::{Duration, Instant};

use chrono::Utc;
use navscim::import::{SourceRef, UsageRow};
use navscim::lookup::{run_batch, LookupEvent, LookupJob, LookupOptions, Unsupported};
use navscim::matching::{DirUser, Directory, LookupKind, LookupOutcome, MatchStatus, Seat};
use navscim::scim::{ClientConfig, ScimClient};
use navscim::secret::Token;
use navscim::sim::{self, SimConfig, SimHandle};
use navscim::workspace::{OutcomeRow, StoredUsageReport, Workspace};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "bench-token";
const USERS: usize = 100_000;

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Process CPU time so far (user + system, all threads), from getrusage(2).
fn cpu_secs() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The command line this process was started with (what to type to run it again).
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn user(i: usize, email: &str) -> DirUser {
    DirUser {
        key: email.to_lowercase(),
        email: Some(email.to_string()),
        user_name: Some(email.to_string()),
        idp_id: Some(format!("E{i:07}")),
        first_name: Some(format!("First{i}")),
        last_name: Some(format!("Last{i}")),
        display_name: None,
        in_idp: true,
        idp_enabled: Some(true),
        seat: Some(Seat {
            license_status: None,
            is_admin: false,
            seat_id: Some(format!("S{i}")),
            unique_user_id: Some(format!("E{i:07}")),
        }),
        other_seats: vec![],
        sources: vec![SourceRef {
            file: "okta.csv".into(),
            line: i as u64 + 2,
        }],
        duplicate_rows: 0,
        stored_scim_id: None,
    }
}

fn jobs(sim: &SimHandle) -> Vec<LookupJob> {
    sim.users()
        .into_iter()
        .take(USERS)
        .enumerate()
        .map(|(index, u)| {
            // The export carries the employee id the server holds (a match is
            // corroborated by every identifier both sides carry, issue 10).
            let mut user = user(index, &u.user_name);
            user.idp_id = u.external_id.clone();
            if let Some(seat) = user.seat.as_mut() {
                seat.unique_user_id = u.external_id.clone();
            }
            LookupJob { index, user }
        })
        .collect()
}

/// How a lookup run handles the workspace.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// No workspace.
    Without,
    /// As `navscim lookup` writes: each outcome serialised on the event loop,
    /// everything that has arrived written in one transaction there.
    Inline,
    /// Each outcome handed to the workspace's writer thread
    /// ([`Workspace::outcome_writer`]); the run ends when the last is written.
    Writer,
}

/// One lookup run in `mode` (a workspace at `path` for the modes that write).
async fn lookup_run(
    client: &ScimClient,
    jobs: Vec<LookupJob>,
    mode: Mode,
    path: &std::path::Path,
) -> (Duration, usize, usize) {
    let keys: Vec<String> = jobs.iter().map(|j| j.user.key.clone()).collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency: 8,
        ..LookupOptions::default()
    };
    let mut ws = (mode != Mode::Without).then(|| Workspace::open(path).unwrap());
    let t = Instant::now();
    let batch = tokio::spawn(run_batch(
        client.clone(),
        jobs,
        options,
        Unsupported::default(),
        CancellationToken::new(),
        tx,
    ));
    let writer = match mode {
        Mode::Writer => Some(
            ws.take()
                .unwrap()
                .outcome_writer()
                .map_err(|b| b.1)
                .unwrap(),
        ),
        _ => None,
    };
    let (mut matched, mut transactions) = (0usize, 0usize);
    let mut rows: Vec<OutcomeRow> = Vec::new();
    // Held until the end, as `navscim lookup` holds them.
    let mut held: Vec<Box<LookupOutcome>> = Vec::with_capacity(keys.len());
    while let Some(event) = rx.recv().await {
        let mut next = Some(event);
        while let Some(event) = next {
            if let LookupEvent::Finished(i, o) = event {
                if matches!(o.status, MatchStatus::Matched { .. }) {
                    matched += 1;
                }
                match (&writer, mode) {
                    (Some(w), _) => w.send(&keys[i], Utc::now(), o.clone()),
                    (None, Mode::Inline) => rows.push(OutcomeRow::new(&keys[i], Utc::now(), &o)),
                    _ => {}
                }
                held.push(o);
            }
            next = rx.try_recv().ok();
        }
        if let Some(ws) = ws.as_mut() {
            if !rows.is_empty() {
                ws.write_outcome_rows(&rows).unwrap();
                transactions += 1;
                rows.clear();
            }
        }
    }
    batch.await.unwrap();
    if let Some(w) = writer {
        let (back, report) = w.finish();
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(report.written, keys.len());
        transactions = report.transactions;
        ws = Some(back);
    }
    let elapsed = t.elapsed();
    if let Some(ws) = &ws {
        assert_eq!(ws.summaries().unwrap().len(), keys.len());
    }
    drop(held);
    (elapsed, matched, transactions)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn bench_write() {
    let sim = sim::start(SimConfig {
        token: TOKEN.into(),
        generate: USERS,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut c = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    c.concurrency = 8;
    let client = ScimClient::new(c).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let modes = [Mode::Without, Mode::Inline, Mode::Writer];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut cpus: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    println!("write: command: {}", command_line());
    for round in 0..3 {
        for (m, &mode) in modes.iter().enumerate() {
            let path = dir.path().join(format!("w{round}-{m}.sqlite"));
            let jobs = jobs(&sim);
            let cpu0 = cpu_secs();
            let (t, matched, tx) = lookup_run(&client, jobs, mode, &path).await;
            // The whole process: the lookups, the simulator and the writes.
            let cpu = cpu_secs() - cpu0;
            assert_eq!(matched, USERS);
            println!(
                "  round {round}: {mode:?} wall {:.2} s, CPU {:.2} s ({:.0} lookups/s, {tx} transactions, load {})",
                t.as_secs_f64(),
                cpu,
                USERS as f64 / t.as_secs_f64(),
                load_avg()
            );
            times[m].push(t.as_secs_f64());
            cpus[m].push(cpu);
        }
    }
    let med: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let cpu: Vec<f64> = cpus.iter_mut().map(|t| median(t)).collect();
    let pct = |a: f64, b: f64| (a / b - 1.0) * 100.0;
    println!(
        "write: {USERS} lookups at zero latency, median of 3: without: wall {:.2} s, CPU {:.2} s; \
         inline writes (as navscim lookup): wall {:.2} s ({:+.1}%), CPU {:.2} s ({:+.1}%); \
         writer thread: wall {:.2} s ({:+.1}%), CPU {:.2} s ({:+.1}%); \
         peak RSS {:.0} MB (whole process); load {}",
        med[0],
        cpu[0],
        med[1],
        pct(med[1], med[0]),
        cpu[1],
        pct(cpu[1], cpu[0]),
        med[2],
        pct(med[2], med[0]),
        cpu[2],
        pct(cpu[2], cpu[0]),
        status_kb("VmHWM:") as f64 / 1024.0,
        load_avg()
    );
    sim.shutdown().await;
}

fn make_workspace(path: &std::path::Path) {
    let mut directory = Directory::new();
    directory.users = (0..USERS)
        .map(|i| user(i, &format!("user.{i}@corp.example")))
        .collect();
    let mut ws = Workspace::open(path).unwrap();
    ws.replace_users(&directory).unwrap();
    let now = Utc::now();
    let rows: Vec<OutcomeRow> = (0..USERS)
        .map(|i| {
            let email = format!("user.{i}@corp.example");
            let scim: navscim::scim::ScimUser = serde_json::from_value(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": format!("{i:032x}"),
                "userName": email,
                "externalId": format!("E{i:07}"),
                "name": {"givenName": format!("First{i}"), "familyName": format!("Last{i}")},
                "emails": [{"value": email, "primary": true, "type": "work"}],
                "active": true,
                "meta": {"resourceType": "User", "created": "2025-01-01T00:00:00Z"}
            }))
            .unwrap();
            let o = LookupOutcome {
                status: MatchStatus::Matched { active: true },
                matched_by: Some(LookupKind::ExternalId),
                user: Some(scim),
                candidates: vec![],
                attempts: vec![],
                error: None,
                warnings: vec![],
            };
            OutcomeRow::new(&email, now, &o)
        })
        .collect();
    ws.write_outcome_rows(&rows).unwrap();
    let usage: Vec<UsageRow> = (0..USERS)
        .map(|i| UsageRow {
            email: Some(format!("user.{i}@corp.example")),
            name: Some(format!("First{i} Last{i}")),
            license_type: Some("Core".into()),
            last_active: chrono::NaiveDate::from_ymd_opt(2026, 10, 1),
            days_since_active: None,
            days_active: Some(12),
            searches: Some(30),
            profile_views: Some(50),
            inmails_sent: Some(3),
            leads_saved: Some(4),
            accounts_saved: Some(1),
            lists_created: Some(0),
            ssi: Some(55.5),
            source: SourceRef {
                file: "usage.csv".into(),
                line: i as u64 + 2,
            },
        })
        .collect();
    ws.save_usage_report(&StoredUsageReport {
        path: "usage.csv".into(),
        period: None,
        content_hash: "0".repeat(64),
        loaded_at: now,
        rows: usage,
    })
    .unwrap();
}

fn bench_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.sqlite");
    println!("load: command: {}", command_line());
    let t = Instant::now();
    make_workspace(&path);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "  made a {USERS}-user workspace in {:.1} s ({:.0} MB on disk)",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    for mode in [
        "summaries",
        "summaries",
        "summaries",
        "frame",
        "frame",
        "frame",
        "full",
        "parts",
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("NAVSCIM_BENCH_LOAD", &path)
            .env("NAVSCIM_BENCH_MODE", mode)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn child_load(path: &str) {
    let mode = std::env::var("NAVSCIM_BENCH_MODE").unwrap_or_default();
    if mode == "parts" {
        // The parts one by one: where the time and memory go.
        let ws = Workspace::open(std::path::Path::new(path)).unwrap();
        let part = |name: &str, t: Instant| {
            println!(
                "  {name}: {:.0} ms, RSS {:.0} MB",
                t.elapsed().as_secs_f64() * 1e3,
                status_kb("VmRSS:") as f64 / 1024.0
            )
        };
        let t = Instant::now();
        let users = ws.users().unwrap();
        part("users with their summaries", t);
        let t = Instant::now();
        let usage = ws.load_summaries().unwrap().usage_reports;
        part("everything again (load_summaries)", t);
        let t = Instant::now();
        let outcomes = ws.outcomes().unwrap();
        part("every full outcome (not read on reopening)", t);
        drop((users, outcomes, usage));
        return;
    }
    if mode == "frame" {
        child_first_frame(path);
        return;
    }
    let base = status_kb("VmRSS:");
    let cpu0 = cpu_secs();
    let t = Instant::now();
    let ws = Workspace::open(std::path::Path::new(path)).unwrap();
    let full = mode == "full";
    let loaded = if full {
        ws.load().unwrap()
    } else {
        ws.load_summaries().unwrap()
    };
    let elapsed = t.elapsed();
    let cpu = cpu_secs() - cpu0;
    assert_eq!(loaded.users.len(), USERS);
    assert_eq!(
        loaded.users.iter().filter(|u| u.latest.is_some()).count(),
        USERS
    );
    assert_eq!(loaded.outcomes.len(), if full { USERS } else { 0 });
    assert_eq!(loaded.usage_reports[0].rows.len(), USERS);
    println!(
        "load ({mode}): open + Workspace::{} of {USERS} users, outcomes and usage rows: wall {:.0} ms, CPU {:.0} ms; peak RSS {:.0} MB (baseline {:.0} MB; load {})",
        if full { "load" } else { "load_summaries" },
        elapsed.as_secs_f64() * 1e3,
        cpu * 1e3,
        status_kb("VmHWM:") as f64 / 1024.0,
        base as f64 / 1024.0,
        load_avg()
    );
}

/// What the dashboard does on reopening, up to its first frame: open the workspace,
/// `Workspace::load_summaries` (what the executor's `WorkspaceOp::Open` reads: each
/// user with the summary of their latest outcome; full outcomes are read when a
/// user's details are shown), the reducer's `WorkspaceLoaded` (the panes filled, the
/// table view and its column widths built), and one frame drawn at 120x40.
fn child_first_frame(path: &str) {
    use navscim::app::connection::ConnectionState;
    use navscim::app::workspace::Opened;
    use navscim::app::{Action, State};
    let now = chrono::Utc::now();
    let base = status_kb("VmRSS:");
    let cpu0 = cpu_secs();
    let t = Instant::now();
    let ws = Workspace::open(std::path::Path::new(path)).unwrap();
    let loaded = ws.load_summaries().unwrap();
    let read = t.elapsed();
    let rss_read = status_kb("VmHWM:");
    let mut state = State::new(ConnectionState::new("bench", "https://scim.example"), false);
    navscim::app::reduce(&mut state, Action::Resize(120, 40), now);
    let opened = Opened {
        path: path.into(),
        loaded: Box::new(loaded),
        read_only: None,
        problem: None,
    };
    navscim::app::reduce(
        &mut state,
        Action::WorkspaceLoaded {
            result: Ok(Box::new(opened)),
        },
        now,
    );
    let reduced = t.elapsed();
    let rss_reduced = status_kb("VmHWM:");
    let buffer = navscim::runtime::render_to_buffer(&state, 120, 40);
    let elapsed = t.elapsed();
    println!(
        "  parts: open + load {:.0} ms, reducer {:.0} ms, frame {:.0} ms",
        read.as_secs_f64() * 1e3,
        (reduced - read).as_secs_f64() * 1e3,
        (elapsed - reduced).as_secs_f64() * 1e3
    );
    println!(
        "  peak RSS after the read {:.0} MB, after the reducer {:.0} MB",
        rss_read as f64 / 1024.0,
        rss_reduced as f64 / 1024.0
    );
    let cpu = cpu_secs() - cpu0;
    assert_eq!(state.users.directory.len(), USERS);
    std::hint::black_box(buffer);
    // The next frame (nothing changed): what every later frame costs.
    let again = Instant::now();
    std::hint::black_box(navscim::runtime::render_to_buffer(&state, 120, 40));
    println!("  next frame {:.1} ms", again.elapsed().as_secs_f64() * 1e3);
    // The Usage pane shown (`3`): its plan preview is computed then, not at reopen.
    let shown = Instant::now();
    navscim::app::reduce(
        &mut state,
        Action::Command(navscim::app::keys::Command::GoTab(
            navscim::app::state::Tab::ALL
                .iter()
                .position(|t| *t == navscim::app::state::Tab::Usage)
                .unwrap(),
        )),
        now,
    );
    let usage_frame = navscim::runtime::render_to_buffer(&state, 120, 40);
    println!(
        "  Usage pane shown (reducer + frame): {:.0} ms, preview {}",
        shown.elapsed().as_secs_f64() * 1e3,
        match &state.usage.preview {
            Some(p) => format!("{} to deactivate", p.operations),
            None => "none".into(),
        }
    );
    std::hint::black_box(usage_frame);
    println!(
        "load (frame): open + Workspace::load_summaries + the reducer's WorkspaceLoaded + one frame at 120x40, {USERS} users: wall {:.0} ms, CPU {:.0} ms; peak RSS {:.0} MB (baseline {:.0} MB; load {})",
        elapsed.as_secs_f64() * 1e3,
        cpu * 1e3,
        status_kb("VmHWM:") as f64 / 1024.0,
        base as f64 / 1024.0,
        load_avg()
    );
}

fn main() {
    // Makes the 100,000-user workspace and keeps it, for profiling the child modes
    // (`NAVSCIM_BENCH_LOAD=PATH NAVSCIM_BENCH_MODE=frame`) under perf.
    if let Ok(path) = std::env::var("NAVSCIM_BENCH_MAKE") {
        make_workspace(std::path::Path::new(&path));
        return;
    }
    if let Ok(path) = std::env::var("NAVSCIM_BENCH_LOAD") {
        child_load(&path);
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| filters.is_empty() || filters.iter().any(|f| f == name);
    if wants("load") {
        bench_load();
    }
    if wants("write") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(bench_write());
    }
}
