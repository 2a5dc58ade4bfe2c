//! The dashboard remembers (issue 11): the workspace read at start, through the real
//! reducer, runtime (its workspace writer) and the embedded simulator.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as Age, Utc};
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::Action;
use navscim::matching::{AttemptResult, LookupKind, MatchStatus};
use navscim::runtime::{Clock, Driver, Settings};
use navscim::sim::SimHandle;
use navscim::workspace::Workspace;
use ratatui::crossterm::event::KeyCode;

use crate::harness::{key_event, now, screen};

fn settings(dir: &Path) -> Settings {
    Settings {
        journal_dir: Some(dir.join("journal")),
        ..Settings::default()
    }
}

/// A dashboard on the demo simulator that remembers in `path`, opened (not settled).
fn session(sim: &SimHandle, dir: &Path, path: &Path, at: DateTime<Utc>) -> Driver {
    let mut state =
        navscim::cli::tui::demo_state(sim.base_url(), &navscim::cli::ConnectionArgs::default());
    state.no_color = true;
    state.workspace_path = Some(path.to_path_buf());
    let mut driver = Driver::new(state, settings(dir));
    driver.clock = Clock::Fixed(at);
    driver.dispatch(Action::Resize(100, 30));
    driver.dispatch(Action::OpenWorkspace);
    driver
}

/// The first session: the demo's files loaded and every user looked up.
async fn first_session(sim: &SimHandle, dir: &Path, path: &Path, at: DateTime<Utc>) -> Driver {
    let mut driver = session(sim, dir, path, at);
    for action in navscim::cli::tui::demo_actions(&driver.state) {
        driver.dispatch(action);
    }
    driver.settle().await;
    assert!(
        driver.state.workspace.writable,
        "{:?}",
        driver.state.workspace
    );
    assert!(driver.state.users.directory.len() > 100);
    driver
}

async fn sim() -> SimHandle {
    navscim::sim::start(navscim::cli::tui::demo_sim_config(
        std::time::Duration::ZERO,
    ))
    .await
    .unwrap()
}

fn requests(sim: &SimHandle) -> u64 {
    sim.stats().requests.values().sum()
}

fn cmd(driver: &mut Driver, command: Command) {
    driver.dispatch(Action::Command(command));
}

fn typed(driver: &mut Driver, text: &str) {
    for c in text.chars() {
        driver.dispatch(key_event(KeyCode::Char(c)));
    }
}

/// Puts the Users pane's cursor on the user with this identity key (through `/`).
fn focus_user(driver: &mut Driver, key: &str) {
    cmd(driver, Command::GoTab(1));
    cmd(driver, Command::ClearFilters);
    cmd(driver, Command::Filter);
    typed(driver, key);
    cmd(driver, Command::EditCommit);
    let users = &driver.state.users;
    let at = users.cursor_user().expect("the filter shows the user");
    assert_eq!(users.directory.users[at].key, key);
}

/// The first user (in file order) with this status, not taken yet.
fn user_with(state: &State, status: MatchStatus, taken: &[String]) -> String {
    let users = &state.users;
    (0..users.rows.len())
        .find(|&i| {
            users.rows[i].status() == status && !taken.contains(&users.directory.users[i].key)
        })
        .map(|i| users.directory.users[i].key.clone())
        .expect("a user with the status")
}

fn statuses(state: &State) -> Vec<(String, MatchStatus)> {
    let users = &state.users;
    users
        .directory
        .users
        .iter()
        .zip(&users.rows)
        .map(|(u, r)| (u.key.clone(), r.status()))
        .collect()
}

fn row_of(state: &State, key: &str) -> usize {
    state.users.directory.index_of(key).expect("the user")
}

fn s_users(state: &State) -> usize {
    state.users.directory.len()
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws").join("tenant.sqlite");
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_sources_outcomes_decisions_settings_and_the_plan_and_sends_nothing() {
    let sim = sim().await;
    let (dir, path) = temp();
    let mut driver = first_session(&sim, dir.path(), &path, now() - Age::days(3)).await;

    // The admin's decisions: an ignore, a note, a hand link, thresholds, a plan.
    let active = MatchStatus::Matched { active: true };
    let ignored = user_with(&driver.state, MatchStatus::NotFound, &[]);
    let linked = user_with(&driver.state, active, &[]);
    let noted = user_with(&driver.state, active, std::slice::from_ref(&linked));
    let planned = user_with(&driver.state, active, &[linked.clone(), noted.clone()]);
    focus_user(&mut driver, &ignored);
    cmd(&mut driver, Command::Ignore);
    focus_user(&mut driver, &noted);
    driver.dispatch(key_event(KeyCode::Char('N')));
    typed(&mut driver, "Left in March, ask Dana");
    cmd(&mut driver, Command::EditCommit);
    focus_user(&mut driver, &linked);
    let id = driver.state.users.rows[row_of(&driver.state, &linked)]
        .scim_id()
        .unwrap()
        .to_string();
    cmd(&mut driver, Command::Link);
    typed(&mut driver, &id);
    cmd(&mut driver, Command::EditCommit);
    driver.settle().await;
    assert!(driver.state.users.rows[row_of(&driver.state, &linked)].linked);
    cmd(&mut driver, Command::GoTab(2));
    cmd(&mut driver, Command::CustomThreshold);
    typed(&mut driver, "45");
    cmd(&mut driver, Command::EditCommit);
    cmd(&mut driver, Command::GracePeriod);
    typed(&mut driver, "10");
    cmd(&mut driver, Command::EditCommit);
    focus_user(&mut driver, &planned);
    cmd(&mut driver, Command::PlanDeactivate);
    let plan = driver.state.actions.review.as_ref().unwrap().plan.clone();
    assert_eq!(plan.operations.len(), 1);
    driver.settle().await;
    let before = statuses(&driver.state);
    let files = driver.state.users.files.len();
    assert_eq!(
        driver.state.workspace.failed_writes, 0,
        "{:?}",
        driver.state.notice
    );
    driver.close_workspace();
    drop(driver);
    let sent = requests(&sim);

    // Start again: everything is there, and nothing was asked of the server.
    let mut again = session(&sim, dir.path(), &path, now());
    again.settle().await;
    let s = &again.state;
    assert_eq!(requests(&sim), sent, "no request on reopen");
    assert_eq!(s.users.progress.total, 0, "nothing looked up");
    assert_eq!(statuses(s), before);
    assert!(s.users.rows[row_of(s, &ignored)].ignored);
    assert!(s.users.rows[row_of(s, &linked)].linked);
    assert_eq!(
        s.users.directory.users[row_of(s, &linked)]
            .stored_scim_id
            .as_deref(),
        Some(id.as_str())
    );
    let notes = &s.users.notes[&noted];
    assert_eq!(notes[0].1, "Left in March, ask Dana");
    assert_eq!((s.usage.threshold, s.usage.grace_days), (45, 10));
    assert!(s.usage.report.is_some(), "the usage report");
    assert_eq!(s.users.files.len(), files, "the sources");
    let review = s.actions.review.as_ref().expect("the plan under review");
    assert_eq!(review.plan.operations, plan.operations);
    assert!(matches!(
        review.origin,
        navscim::app::actions::PlanOrigin::Workspace(_)
    ));
    let checked = s.users.rows[row_of(s, &noted)].checked_at.unwrap();
    assert_eq!(checked, now() - Age::days(3));
    assert!(s.users.rows.iter().all(|r| r.full.is_none()));
    // The hand link is said in the linked user's details: the Detail column's "by
    // stored id" alone does not tell the admin it was their decision.
    focus_user(&mut again, &linked);
    cmd(&mut again, Command::Details);
    let text = screen(&again.state, 100, 30);
    assert!(text.contains(&format!("by hand to SCIM id {id}")), "{text}");
    cmd(&mut again, Command::Close);
    // The age and the note are shown in the user's details, and the lookups tried and
    // the SCIM resource as the server returned it, read from the workspace (the rows
    // keep summaries only).
    focus_user(&mut again, &noted);
    cmd(&mut again, Command::Details);
    again.settle().await;
    let text = screen(&again.state, 100, 60);
    assert!(text.contains("3 d ago"), "{text}");
    assert!(text.contains("Left in March, ask Dana"), "{text}");
    assert!(text.contains("Lookups tried"), "{text}");
    assert!(text.contains("SCIM resource"), "{text}");
    assert!(
        text.contains(&format!("\"userName\": \"{noted}\"")),
        "{text}"
    );
    cmd(&mut again, Command::Close);

    // The Users export is complete too: its rows come from the stored outcomes.
    let export = dir.path().join("users.json");
    cmd(&mut again, Command::ClearFilters);
    again.dispatch(key_event(KeyCode::Char(':')));
    typed(&mut again, &format!("export {}", export.display()));
    cmd(&mut again, Command::EditCommit);
    again.settle().await;
    let rows: Vec<navscim::report::UserReport> =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(rows.len(), s_users(&again.state));
    let row = rows.iter().find(|r| r.key == noted).unwrap();
    assert!(!row.attempts.is_empty(), "{row:?}");
    assert_eq!(requests(&sim), sent, "still no request");
    again.close_workspace();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_a_changed_source_again_shows_users_added_gone_and_changed() {
    let (dir, path) = temp();
    let file = dir.path().join("okta.csv");
    let header =
        "Username,Email,First Name,Last Name,Display Name,Status,Employee Number,Department\n";
    let row =
        |user: &str, n: u32| format!("{user},{user}@corp.example,A,B,A B,ACTIVE,E{n},Sales\n");
    let v1 = [
        header.to_string(),
        row("ann", 1),
        row("bob", 2),
        row("cat", 3),
    ]
    .concat();
    std::fs::write(&file, v1).unwrap();
    let mut state = navscim::cli::tui::demo_state(
        "http://127.0.0.1:9/scim",
        &navscim::cli::ConnectionArgs::default(),
    );
    state.workspace_path = Some(path.clone());
    let mut driver = Driver::new(state, settings(dir.path()));
    driver.clock = Clock::Fixed(now());
    driver.dispatch(Action::OpenWorkspace);
    let load = || Action::LoadFiles {
        sources: vec![navscim::app::ImportSource::Path(file.clone())],
        lookup_after: false,
    };
    driver.dispatch(load());
    driver.settle().await;
    assert_eq!(driver.state.users.directory.len(), 3);

    // bob left, dan joined, cat's username changed.
    let cat = "cat.new,cat@corp.example,A,B,A B,ACTIVE,E3,Sales\n".to_string();
    let v2 = [header.to_string(), row("ann", 1), cat, row("dan", 4)].concat();
    std::fs::write(&file, v2).unwrap();
    driver.dispatch(load());
    driver.settle().await;
    let notice = driver.state.notice.clone().unwrap().text;
    assert!(
        notice.contains("okta.csv changed since it was last loaded: 1 added, 1 gone (leavers), 1 changed identifiers"),
        "{notice}"
    );
    let log: Vec<String> = driver
        .state
        .messages
        .iter()
        .map(|(_, n)| n.text.clone())
        .collect();
    let log = log.join("\n");
    assert!(log.contains("added dan@corp.example"), "{log}");
    assert!(log.contains("gone (leaver?) bob@corp.example"), "{log}");
    assert!(log.contains("cat@corp.example changed"), "{log}");
    driver.close_workspace();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_looks_up_only_stale_results_by_their_stored_scim_id_first() {
    let sim = sim().await;
    let (dir, path) = temp();
    let driver = first_session(&sim, dir.path(), &path, now() - Age::days(2)).await;
    driver.close_workspace();
    drop(driver);

    // A day later than the first session's results... and three users re-checked an
    // hour ago: they are fresh.
    let mut driver = session(&sim, dir.path(), &path, now() - Age::hours(1));
    driver.settle().await;
    let active = MatchStatus::Matched { active: true };
    let mut fresh = Vec::new();
    for _ in 0..3 {
        let key = user_with(&driver.state, active, &fresh);
        focus_user(&mut driver, &key);
        cmd(&mut driver, Command::Relookup);
        driver.settle().await;
        fresh.push(key);
    }
    driver.clock = Clock::Fixed(now());
    let stale: Vec<usize> = (0..driver.state.users.rows.len())
        .filter(|&i| {
            let r = &driver.state.users.rows[i];
            !r.ignored && r.checked_at.is_some_and(|t| t <= now() - Age::hours(24))
        })
        .collect();
    let with_id = stale
        .iter()
        .filter(|&&i| driver.state.users.rows[i].scim_id().is_some())
        .count();
    assert!(with_id > 100 && stale.len() + 3 <= driver.state.users.rows.len());
    let gets = |sim: &SimHandle| sim.stats().requests.get("GET").copied().unwrap_or(0);
    let before = gets(&sim);

    cmd(&mut driver, Command::ClearFilters);
    driver.dispatch(key_event(KeyCode::Char('u')));
    cmd(&mut driver, Command::EditCommit); // the default: 24h
    driver.settle().await;

    let s = &driver.state;
    assert_eq!(s.users.progress.total, stale.len(), "only the stale ones");
    for key in &fresh {
        let row = &s.users.rows[row_of(s, key)];
        assert_eq!(
            row.checked_at,
            Some(now() - Age::hours(1)),
            "{key} not again"
        );
    }
    for &i in &stale {
        assert_eq!(s.users.rows[i].checked_at, Some(now()));
    }
    // The rows keep summaries; the attempts are in the workspace.
    let keys: Vec<String> = stale
        .iter()
        .map(|&i| s.users.directory.users[i].key.clone())
        .collect();
    driver.close_workspace();
    let ws = Workspace::open_read_only(&path).unwrap();
    let mut by_id = 0;
    let mut sent = 0;
    for key in &keys {
        let stored = ws.outcome(key).unwrap().expect("written");
        assert_eq!(stored.checked_at, now());
        let outcome = &stored.outcome;
        sent += outcome
            .attempts
            .iter()
            .map(|a| u64::from(a.requests))
            .sum::<u64>();
        // The stored id is tried first (a user without one skips it).
        let first = outcome.attempts.first();
        if first.is_some_and(|a| {
            a.kind == LookupKind::StoredId && !matches!(a.result, AttemptResult::Skipped(_))
        }) {
            by_id += 1;
            if outcome.matched_by == Some(LookupKind::StoredId) {
                let requests: u32 = outcome.attempts.iter().map(|a| a.requests).sum();
                assert_eq!(requests, 1, "found by id: one GET");
            }
        }
    }
    assert_eq!(by_id, with_id, "every stored id tried first");
    assert_eq!(
        gets(&sim) - before,
        sent,
        "nothing but the stale users' lookups"
    );
    // The snapshot of the run says it was a refresh.
    let history = ws.history().unwrap();
    assert_eq!(
        history.last().unwrap().kind,
        navscim::workspace::SnapshotKind::Refresh
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_navscim_on_the_same_workspace_is_read_only_and_says_so() {
    let (dir, path) = temp();
    let mut first = Driver::new(
        {
            let mut s = navscim::cli::tui::demo_state(
                "http://127.0.0.1:9/scim",
                &navscim::cli::ConnectionArgs::default(),
            );
            s.workspace_path = Some(path.clone());
            s
        },
        settings(dir.path()),
    );
    first.dispatch(Action::OpenWorkspace);
    first.settle().await;
    assert!(first.state.workspace.writable);

    let mut second = Driver::new(
        {
            let mut s = navscim::cli::tui::demo_state(
                "http://127.0.0.1:9/scim",
                &navscim::cli::ConnectionArgs::default(),
            );
            s.workspace_path = Some(path.clone());
            s.no_color = true;
            s
        },
        settings(dir.path()),
    );
    second.dispatch(Action::Resize(100, 30));
    second.dispatch(Action::OpenWorkspace);
    second.settle().await;
    let s = &second.state;
    assert!(!s.workspace.writable);
    assert!(s.workspace.read_only.is_some());
    let text = screen(s, 100, 30);
    assert!(text.contains("workspace read-only"), "{text}");
    assert!(text.contains("open read-only"), "{text}");
    // Nothing it does is written.
    let file = dir.path().join("okta.csv");
    std::fs::write(
        &file,
        "Username,Email,First Name,Last Name\nann,ann@corp.example,A,B\n",
    )
    .unwrap();
    second.dispatch(Action::LoadFiles {
        sources: vec![navscim::app::ImportSource::Path(file)],
        lookup_after: false,
    });
    second.settle().await;
    assert_eq!(second.state.users.directory.len(), 1);
    second.dispatch(Action::Command(Command::GoTab(1)));
    let effects = navscim::app::reduce(&mut second.state, Action::Command(Command::Ignore), now());
    assert!(effects.is_empty(), "{effects:?}");
    second.close_workspace();
    first.close_workspace();
    let loaded = Workspace::open_read_only(&path).unwrap().load().unwrap();
    assert!(loaded.users.is_empty() && loaded.sources.is_empty());
    assert!(loaded.ignores.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_workspace_is_kept_said_and_the_dashboard_starts_afresh() {
    let (dir, path) = temp();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is not an SQLite database, not at all...........",
    )
    .unwrap();
    let mut state = navscim::cli::tui::demo_state(
        "http://127.0.0.1:9/scim",
        &navscim::cli::ConnectionArgs::default(),
    );
    state.workspace_path = Some(path.clone());
    let mut driver = Driver::new(state, settings(dir.path()));
    driver.dispatch(Action::OpenWorkspace);
    driver.settle().await;
    let s = &driver.state;
    let notice = s.notice.clone().unwrap().text;
    assert!(notice.contains("is damaged"), "{notice}");
    assert!(notice.contains("kept as"), "{notice}");
    assert!(s.workspace.writable, "a new workspace in its place");
    assert_eq!(s.tab, Tab::Connection);
    let kept: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    driver.close_workspace();
}

/// Every start of `navscim demo --workspace PATH` loads the demo's sources again: the
/// users they list again keep their results (the orphan seats too), and nothing is
/// looked up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_the_same_sources_again_at_start_keeps_every_result() {
    let sim = sim().await;
    let (dir, path) = temp();
    let driver = first_session(&sim, dir.path(), &path, now() - Age::days(1)).await;
    let before = statuses(&driver.state);
    let orphans = driver.state.users.orphan_count();
    let files = driver.state.users.files.len();
    assert!(orphans > 0);
    driver.close_workspace();
    drop(driver);
    let sent = requests(&sim);

    let again = first_session(&sim, dir.path(), &path, now()).await;
    let s = &again.state;
    assert_eq!(statuses(s), before);
    assert_eq!(s.users.orphan_count(), orphans);
    assert_eq!(s.users.files.len(), files, "each source listed once");
    // The start's connection check asks the server's configuration; no user is
    // looked up.
    assert_eq!(s.users.progress.total, 0, "nothing looked up again");
    assert!(
        requests(&sim) - sent <= 2,
        "{} requests",
        requests(&sim) - sent
    );
    again.close_workspace();
    sim.shutdown().await;
}
