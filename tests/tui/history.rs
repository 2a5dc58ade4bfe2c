//! The History pane: the journal on disk listed after a restart, undo and resume
//! handed to the Actions pane for review, and the trend of seats from a workspace.
//! Journals are written by the real apply code against the embedded simulator, the
//! workspace through its own API; the dashboard is a fresh State driven through the
//! real reducer and runtime and rendered through TestBackend.

use crate::apply_support;

use std::path::Path;

use crate::harness::{self, reduce, screen};
use navscim::app::actions::PlanOrigin;
use navscim::app::connection::{ConnField, ConnectionState, TokenSourceKind};
use navscim::app::history::{
    BatchOutcome, JournalBatch, JournalListing, JournalOp, JournalView, TrendView,
};
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::Action;
use navscim::apply::{self, Batch, BatchMeta, Control, Gates, RunOptions};
use navscim::journal::{BatchKind, Counts, EndStatus};
use navscim::plan::{OpKind, Permissions};
use navscim::runtime::{Driver, Settings};
use navscim::sim::SimHandle;
use navscim::workspace::{OutcomeRow, Snapshot, SnapshotKind, Workspace};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tempfile::TempDir;

fn cmd(driver: &mut Driver, command: Command) {
    driver.dispatch(Action::Command(command));
}

fn key(driver: &mut Driver, c: char) {
    driver.dispatch(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

fn notice(state: &State) -> String {
    state
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn deprovisioning() -> Gates {
    Gates {
        permissions: Permissions {
            provisioning: false,
            deprovisioning: true,
        },
        ..Gates::default()
    }
}

fn meta(sim: &SimHandle) -> BatchMeta {
    BatchMeta {
        kind: BatchKind::Apply,
        undo_of: None,
        plan_file: None,
        base_url: sim.base_url().to_string(),
    }
}

/// A batch deactivating `n` active users of the simulator, journaled in `dir` and
/// run to the end by the real apply engine (what an earlier session left behind).
async fn applied_batch(sim: &SimHandle, dir: &Path, n: usize) -> (String, Vec<String>) {
    let users = apply_support::active_users(sim, n);
    let ops = users
        .iter()
        .map(|u| apply_support::op(OpKind::Deactivate, u))
        .collect();
    let plan = apply_support::plan(ops, 100);
    let batch = Batch::start(dir, plan, &deprovisioning(), meta(sim)).unwrap();
    let id = batch.id().to_string();
    let (_control, rx) = tokio::sync::watch::channel(Control::Run);
    let (tx, _events) = tokio::sync::mpsc::unbounded_channel();
    let client = apply_support::client(sim, |_| {});
    let summary = apply::run(&client, batch, &RunOptions::default(), rx, tx).await;
    assert!(summary.all_succeeded(), "{summary:?}");
    let ids = users.iter().map(|u| u.id.clone().unwrap()).collect();
    (id, ids)
}

/// A new dashboard session (nothing in memory) against the simulator, journaling in
/// `journal`, at `w` x `h`.
fn fresh_session(sim: &SimHandle, journal: &Path, (w, h): (u16, u16)) -> Driver {
    let mut conn = ConnectionState::new("test", sim.base_url());
    conn.source_kind = TokenSourceKind::Paste;
    conn.pasted = navscim::secret::Token::new(apply_support::TOKEN);
    let state = State::new(conn, true);
    let settings = Settings {
        journal_dir: Some(journal.to_path_buf()),
        ..Settings::default()
    };
    let mut driver = Driver::new(state, settings);
    driver.clock = harness::clock();
    driver.dispatch(Action::Resize(w, h));
    driver
}

/// The three counts after the kind in a row of the batch list: ok, failed, not done.
fn counts_of(row: &str) -> Vec<&str> {
    let cells: Vec<&str> = row.split_whitespace().collect();
    let kind = cells
        .iter()
        .position(|c| *c == "apply" || *c == "undo")
        .unwrap_or_else(|| panic!("no kind in {row:?}"));
    cells[kind + 1..kind + 4].to_vec()
}

/// The line of `text` that contains `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_applied_in_a_previous_session_is_listed_and_undo_builds_its_reverse_plan_for_review(
) {
    let journal = TempDir::new().unwrap();
    let sim = apply_support::start_sim(30, |_| {}).await;
    let (older, _) = applied_batch(&sim, journal.path(), 1).await;
    let (id, ids) = applied_batch(&sim, journal.path(), 3).await;
    assert!(older < id);
    let writes = apply_support::writes(&sim);

    let mut driver = fresh_session(&sim, journal.path(), (80, 24));
    key(&mut driver, '5');
    assert_eq!(driver.state.tab, Tab::History);
    driver.settle().await;
    let text = screen(&driver.state, 80, 24);
    assert!(text.contains("journal: 2 batches"), "{text}");
    // Newest first: the batch of three, then the batch of one.
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("complete")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].contains("apply"), "{}", rows[0]);
    let server = sim.base_url().split_once("://").unwrap().1;
    assert!(rows[0].contains(&server[..10]), "{}", rows[0]);
    assert_eq!(counts_of(rows[0]), ["3", "0", "0"], "ok, failed, not done");
    assert_eq!(counts_of(rows[1]), ["1", "0", "0"], "ok, failed, not done");

    // Enter shows the batch whole: each operation and its result.
    driver.dispatch(harness::key_event(KeyCode::Enter));
    let text = screen(&driver.state, 80, 24);
    assert!(text.contains(&format!("Batch {id}")), "{text}");
    let op_lines = text
        .lines()
        .filter(|l| l.contains("deactivate") && l.contains("applied"))
        .count();
    assert_eq!(op_lines, 3, "{text}");
    assert!(text.contains("complete: 3 applied"), "{text}");
    driver.dispatch(harness::key_event(KeyCode::Esc));

    // u: the reverse plan, built by the Actions pane's undo flow, waits for review.
    key(&mut driver, 'u');
    driver.settle().await;
    assert_eq!(driver.state.tab, Tab::Actions, "{}", notice(&driver.state));
    let review = driver.state.actions.review.as_ref().expect("the undo plan");
    assert!(matches!(&review.origin, PlanOrigin::Undo { batch } if *batch == id));
    let targets: Vec<(OpKind, String)> = review
        .plan
        .operations
        .iter()
        .map(|op| (op.op, op.scim_id.clone().unwrap()))
        .collect();
    let expected: Vec<(OpKind, String)> = ids
        .iter()
        .map(|i| (OpKind::Reactivate, i.clone()))
        .collect();
    assert_eq!(targets, expected);
    let text = screen(&driver.state, 80, 24);
    assert!(text.contains(&format!("undo of batch {id}")), "{text}");
    // Reviewing sends nothing: no batch started, no request made.
    assert!(driver.state.actions.batch.is_none());
    assert_eq!(apply_support::writes(&sim), writes);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_batch_offers_resume_and_is_finished_exactly_once_from_the_history() {
    let journal = TempDir::new().unwrap();
    let sim = apply_support::start_sim(30, |_| {}).await;
    let users = apply_support::active_users(&sim, 4);
    let ops = users
        .iter()
        .map(|u| apply_support::op(OpKind::Deactivate, u))
        .collect();
    // A batch whose process died right after writing the journal header.
    let batch = Batch::start(
        journal.path(),
        apply_support::plan(ops, 100),
        &deprovisioning(),
        meta(&sim),
    )
    .unwrap();
    let id = batch.id().to_string();
    drop(batch);

    // A file in the journal that is not a batch: named, and the others still listed.
    std::fs::write(
        journal.path().join("20200101T000000000Z-dead.jsonl"),
        "not a journal\n",
    )
    .unwrap();

    let mut driver = fresh_session(&sim, journal.path(), (80, 24));
    cmd(&mut driver, Command::GoTab(4));
    driver.settle().await;
    let text = screen(&driver.state, 80, 24);
    assert!(text.contains("journal: 1 batch · 1 unreadable"), "{text}");
    assert!(
        line_with(&text, "Not read:").contains("20200101T000000000Z-dead"),
        "{text}"
    );
    let row = line_with(&text, "interrupted");
    assert_eq!(
        counts_of(row),
        ["0", "0", "4"],
        "ok, failed, not done: {row}"
    );
    assert!(text.contains("r resume"), "the hint offers resume:\n{text}");

    // Undo waits for the batch to be finished.
    key(&mut driver, 'u');
    assert!(
        notice(&driver.state).contains("resume it first"),
        "{}",
        notice(&driver.state)
    );
    assert!(driver.state.actions.review.is_none());

    key(&mut driver, 'r');
    assert_eq!(driver.state.tab, Tab::Actions);
    let review = driver.state.actions.review.as_ref().expect("the batch");
    assert!(matches!(&review.origin, PlanOrigin::Resume { batch, .. } if *batch == id));
    assert_eq!(apply_support::writes(&sim), 0, "reviewing sends nothing");

    // The usual gated, typed apply finishes the same batch.
    cmd(&mut driver, Command::GoTab(0));
    cmd(&mut driver, Command::Top);
    for _ in 0..10 {
        if driver.state.connection.focus == ConnField::Deprovisioning {
            break;
        }
        cmd(&mut driver, Command::Down);
    }
    cmd(&mut driver, Command::Toggle);
    cmd(&mut driver, Command::GoTab(3));
    cmd(&mut driver, Command::ApplyPlan);
    for c in "4".chars() {
        key(&mut driver, c);
    }
    cmd(&mut driver, Command::SwitchFocus);
    cmd(&mut driver, Command::EditCommit);
    driver.settle().await;
    let summary = driver.state.actions.batch.as_ref().unwrap().summary.clone();
    let summary = summary.expect("the batch ended");
    assert_eq!(summary.batch, id, "the same batch was finished");
    assert!(summary.all_succeeded(), "{summary:?}");
    for u in &users {
        let uid = u.id.as_deref().unwrap();
        assert_eq!(sim.stats().changes.get(uid), Some(&1));
    }

    // Shown again, the History reads the journal again: complete now.
    cmd(&mut driver, Command::GoTab(4));
    driver.settle().await;
    let text = screen(&driver.state, 80, 24);
    let row = line_with(&text, "apply");
    assert!(row.contains("complete"), "{text}");
    assert!(!text.contains("interrupted"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trend_shows_the_snapshots_of_two_lookup_runs_and_a_batch() {
    let dir = TempDir::new().unwrap();
    let journal = dir.path().join("journal");
    let sim = apply_support::start_sim(30, |_| {}).await;
    let (_, _) = applied_batch(&sim, &journal, 2).await;
    let log = navscim::journal::list(&journal).0.remove(0);

    // The demo's users; a first run that answered half of them, a second all.
    let session = harness::demo_session(true);
    let directory = &session.users.directory;
    let outcomes = crate::plan_support::demo_outcomes(directory);
    let path = dir.path().join("ws.sqlite");
    let mut ws = Workspace::open(&path).unwrap();
    ws.replace_users(directory).unwrap();
    let rows = |n: usize| -> Vec<OutcomeRow> {
        directory
            .users
            .iter()
            .zip(&outcomes)
            .take(n)
            .map(|(u, o)| OutcomeRow::new(&u.key, harness::now(), o))
            .collect()
    };
    ws.write_outcome_rows(&rows(outcomes.len() / 2)).unwrap();
    ws.record_run(SnapshotKind::Lookup, Some(sim.base_url()))
        .unwrap();
    ws.write_outcome_rows(&rows(outcomes.len())).unwrap();
    ws.record_run(SnapshotKind::Lookup, Some(sim.base_url()))
        .unwrap();
    ws.record_batch(&log).unwrap();
    let history = ws.history().unwrap();
    assert_eq!(history.len(), 3);
    let last = &history[2].counts;
    assert!(history[0].counts.active < last.active, "{history:?}");

    // The session's own workspace stays open for writing while the pane reads it.
    let mut state = State::new(ConnectionState::new("test", sim.base_url()), true);
    state.workspace_path = Some(path.clone());
    let settings = Settings {
        journal_dir: Some(journal.clone()),
        ..Settings::default()
    };
    for (w, h) in [(80, 24), (200, 50)] {
        let mut driver = Driver::new(state.clone(), settings.clone());
        driver.dispatch(Action::Resize(w, h));
        cmd(&mut driver, Command::GoTab(4));
        driver.settle().await;
        assert!(
            matches!(&driver.state.history.trend, TrendView::Loaded { snapshots, .. } if snapshots.len() == 3),
            "{:?}",
            driver.state.history.trend
        );
        let text = screen(&driver.state, w, h);
        assert!(text.contains("3 snapshots"), "{text}");
        let active = line_with(&text, " active ");
        assert!(active.contains(&last.active.to_string()), "{active}");
        assert!(
            line_with(&text, " orphan ").contains(&last.orphan_seats.to_string()),
            "{text}"
        );
        assert!(
            line_with(&text, " reclaimed ").contains("2 (all 2)"),
            "{text}"
        );
        let axis = line_with(&text, " after ");
        assert_eq!(axis.matches('L').count(), 2 + 1, "{axis}"); // two runs + legend
        assert_eq!(axis.matches('B').count(), 1 + 1, "{axis}"); // the batch + legend
                                                                // Every line of the chart is inside the screen (nothing cut at 80x24).
        assert!(text.contains("Seats over time"), "{text}");
        assert!(text.contains(" not found "), "{text}");
    }
    drop(ws);
    sim.shutdown().await;
}

/// Every letter under the trend's bars is in its legend: a refresh shows as `R`, so
/// the legend says what `R` is (it said only "L lookup B batch"), at 80x24 and 200x50.
#[test]
fn the_trend_legend_names_every_letter_on_its_axis() {
    let state = scene(true);
    assert!(
        matches!(&state.history.trend, TrendView::Loaded { snapshots, .. }
        if snapshots.iter().any(|s| s.kind == SnapshotKind::Refresh))
    );
    for (w, h) in [(80, 24), (200, 50)] {
        let text = screen(&state, w, h);
        let axis = line_with(&text, " after ");
        assert!(axis.contains("L   L   B   R"), "{axis}");
        assert!(
            axis.contains("L lookup R refresh B batch"),
            "{w}x{h}: {axis}"
        );
    }
}

#[test]
fn empty_states_say_what_to_do() {
    let mut s = State::new(
        ConnectionState::new("default", "https://scim.example"),
        true,
    );
    reduce(&mut s, Action::Command(Command::GoTab(4)));
    assert_eq!(s.history.trend, TrendView::NoWorkspace);
    let seq = s.history.seq;
    reduce(
        &mut s,
        Action::JournalListed {
            seq,
            result: Ok(JournalListing {
                dir: "/var/navscim/journal".into(),
                batches: vec![],
                errors: vec![],
            }),
        },
    );
    let text = screen(&s, 80, 24);
    assert!(text.contains("No batches in the journal yet"), "{text}");
    assert!(text.contains("Journal: /var/navscim/journal"), "{text}");
    assert!(text.contains("No workspace"), "{text}");
    assert!(text.contains("--workspace PATH"), "{text}");
    s.workspace_path = Some("/w/default.sqlite".into());
    reduce(&mut s, Action::Command(Command::GoTab(0)));
    reduce(&mut s, Action::Command(Command::GoTab(4)));
    let seq = s.history.seq;
    reduce(
        &mut s,
        Action::TrendRead {
            seq,
            path: "/w/default.sqlite".into(),
            result: Ok(vec![]),
        },
    );
    let text = screen(&s, 80, 24);
    assert!(text.contains("No snapshots yet"), "{text}");
    assert!(text.contains("Workspace: /w/default.sqlite"), "{text}");
}

// ---- scenes for the snapshot tests (tests/tui/snapshots.rs) ----------------------

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().expect("a valid time")
}

fn op(op: OpKind, target: &str, state: &'static str, detail: &str) -> JournalOp {
    JournalOp {
        op,
        target: target.into(),
        state,
        detail: detail.into(),
        attempts: 1,
    }
}

/// Three batches (an undo, a cancelled one, a complete one) of a fixed journal.
pub fn scene_batches() -> Vec<JournalBatch> {
    let server = "https://api.linkedin.com/scim";
    let base = |id: &str, started: &str, kind, outcome, counts, ops| JournalBatch {
        id: id.into(),
        kind,
        undo_of: None,
        started: at(started),
        ended: Some(at(started) + chrono::Duration::seconds(4)),
        operator: "admin@laptop".into(),
        base_url: server.into(),
        profile: Some("acme".into()),
        tenant: Some("Acme EMEA".into()),
        plan_file: None,
        outcome,
        counts,
        ops,
        notes: vec![],
        resumable: None,
    };
    let mut undo = base(
        "20260302T093000000Z-7c1e",
        "2026-03-02T09:30:00Z",
        BatchKind::Undo,
        BatchOutcome::Complete,
        Counts {
            applied: 1,
            ..Counts::default()
        },
        vec![op(
            OpKind::Reactivate,
            "karen.walker@corp.example",
            "applied",
            "active=true",
        )],
    );
    undo.undo_of = Some("20260301T141500000Z-a3f0".into());
    let mut cancelled = base(
        "20260301T160000000Z-19bd",
        "2026-03-01T16:00:00Z",
        BatchKind::Apply,
        BatchOutcome::Stopped(EndStatus::Cancelled),
        Counts {
            applied: 1,
            failed: 1,
            not_started: 1,
            ..Counts::default()
        },
        vec![
            op(
                OpKind::Deactivate,
                "li.wei@corp.example",
                "applied",
                "active=false",
            ),
            op(
                OpKind::Deactivate,
                "omar.haddad@corp.example",
                "failed",
                "HTTP 503 from the server",
            ),
            op(
                OpKind::Deactivate,
                "sara.berg@corp.example",
                "not_started",
                "",
            ),
        ],
    );
    cancelled.notes = vec!["stopped: cancelled by the admin".into()];
    cancelled.plan_file = Some("plans/idle-90.json".into());
    let complete = base(
        "20260301T141500000Z-a3f0",
        "2026-03-01T14:15:00Z",
        BatchKind::Apply,
        BatchOutcome::Complete,
        Counts {
            applied: 2,
            already: 1,
            ..Counts::default()
        },
        vec![
            op(
                OpKind::Deactivate,
                "karen.walker@corp.example",
                "applied",
                "active=false",
            ),
            op(
                OpKind::Deactivate,
                "mateo.garcia@corp.example",
                "applied",
                "active=false",
            ),
            op(
                OpKind::Deactivate,
                "jin.park@corp.example",
                "already",
                "already inactive",
            ),
        ],
    );
    vec![undo, cancelled, complete]
}

/// Two lookup runs, a batch and a refresh, at fixed times.
pub fn scene_snapshots() -> Vec<Snapshot> {
    let snap = |at: &str, kind: &str, active, inactive, not_found, orphan, idle, reclaimed| {
        serde_json::from_value(serde_json::json!({
            "at": at,
            "kind": kind,
            "users": 60,
            "by_status": {"matched": active + inactive, "not_found": not_found},
            "active": active,
            "inactive": inactive,
            "orphan_seats": orphan,
            "idle": {"threshold_days": 90, "idle": idle, "never_activated": 2, "with_usage": 40},
            "seats_reclaimed": reclaimed,
        }))
        .expect("a snapshot")
    };
    vec![
        snap("2026-02-27T10:00:00Z", "lookup", 38, 4, 9, 5, 12, 0),
        snap("2026-03-01T10:00:00Z", "lookup", 40, 4, 7, 5, 12, 0),
        snap("2026-03-01T14:15:04Z", "batch", 38, 6, 7, 3, 10, 2),
        snap("2026-03-02T08:00:00Z", "refresh", 41, 6, 6, 3, 9, 0),
    ]
}

/// The History pane of the demo session with [`scene_batches`] and
/// [`scene_snapshots`] loaded.
pub fn scene(no_color: bool) -> State {
    let mut state = harness::demo_session(no_color);
    state.workspace_path = Some("/home/admin/.local/share/navscim/workspaces/acme.sqlite".into());
    reduce(&mut state, Action::Command(Command::GoTab(4)));
    let seq = state.history.seq;
    reduce(
        &mut state,
        Action::JournalListed {
            seq,
            result: Ok(JournalListing {
                dir: "/home/admin/.local/share/navscim/journal".into(),
                batches: scene_batches(),
                errors: vec![],
            }),
        },
    );
    reduce(
        &mut state,
        Action::TrendRead {
            seq,
            path: "/home/admin/.local/share/navscim/workspaces/acme.sqlite".into(),
            result: Ok(scene_snapshots()),
        },
    );
    assert!(matches!(state.history.journal, JournalView::Loaded(_)));
    state
}

/// The History pane with nothing in the journal and no snapshot in the workspace.
pub fn scene_empty(no_color: bool) -> State {
    let mut state = harness::demo_session(no_color);
    state.workspace_path = Some("/home/admin/.local/share/navscim/workspaces/acme.sqlite".into());
    reduce(&mut state, Action::Command(Command::GoTab(4)));
    let seq = state.history.seq;
    reduce(
        &mut state,
        Action::JournalListed {
            seq,
            result: Ok(JournalListing {
                dir: "/home/admin/.local/share/navscim/journal".into(),
                batches: vec![],
                errors: vec![],
            }),
        },
    );
    reduce(
        &mut state,
        Action::TrendRead {
            seq,
            path: "/home/admin/.local/share/navscim/workspaces/acme.sqlite".into(),
            result: Ok(vec![]),
        },
    );
    state
}
