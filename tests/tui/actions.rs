//! The Actions pane: plans from the Users pane, the gates, the typed confirmation, a
//! journaled batch against the embedded simulator, undo, and resuming a batch found
//! unfinished in the journal. Real reducer, effects and simulator, rendered through
//! TestBackend; what is asserted is what an admin sees and what reached the server.

use crate::apply_support;

use std::time::Duration;

use crate::harness::{self, reduce, screen};
use navscim::app::actions::{ConfirmFocus, OpStatus, PlanOrigin, PlanView};
use navscim::app::connection::ConnField;
use navscim::app::effect::Effect;
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::users::StatusFilter;
use navscim::app::Action;
use navscim::apply::{self, ApplyEvent, Batch, BatchMeta, Control, Gates, PauseReason};
use navscim::journal::BatchKind;
use navscim::matching::MatchStatus;
use navscim::plan::{ExclusionReason, OpKind, Permissions, Plan};
use navscim::runtime::{Driver, Settings};
use navscim::sim::SimHandle;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tempfile::TempDir;

fn cmd(driver: &mut Driver, command: Command) {
    driver.dispatch(Action::Command(command));
}

fn type_text(driver: &mut Driver, text: &str) {
    for c in text.chars() {
        driver.dispatch(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
}

fn notice(state: &State) -> String {
    state
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// The demo (simulator seeded with the fixtures, exports loaded, every user looked
/// up), journaling into a temporary directory.
async fn demo_driver(journal: &TempDir) -> (SimHandle, Driver) {
    let settings = Settings {
        journal_dir: Some(journal.path().to_path_buf()),
        ..Settings::default()
    };
    let (sim, mut driver) = harness::live_demo(settings, (100, 30)).await;
    driver.settle().await;
    (sim, driver)
}

/// Ticks a Connection checkbox the way an admin does: focus it, press Space.
fn tick(driver: &mut Driver, field: ConnField) {
    let back = driver.state.tab;
    cmd(driver, Command::GoTab(0));
    cmd(driver, Command::Top);
    for _ in 0..10 {
        if driver.state.connection.focus == field {
            break;
        }
        cmd(driver, Command::Down);
    }
    assert_eq!(driver.state.connection.focus, field);
    cmd(driver, Command::Toggle);
    cmd(driver, Command::GoTab(back.index()));
}

/// Users pane: show only the orphan seats, mark them all, plan their deactivation.
async fn plan_orphans(driver: &mut Driver) {
    cmd(driver, Command::GoTab(1));
    while driver.state.users.status_filter != StatusFilter::Orphan {
        cmd(driver, Command::CycleStatusFilter);
    }
    cmd(driver, Command::MarkAllShown);
    cmd(driver, Command::PlanDeactivate);
    // The plan is built when the runtime answers with the time (its created_at).
    driver.settle().await;
}

fn orphan_ids(driver: &Driver) -> Vec<String> {
    let review = driver.state.actions.review.as_ref().expect("a plan");
    review
        .plan
        .operations
        .iter()
        .map(|op| op.scim_id.clone().expect("a target"))
        .collect()
}

/// x, type the count, move to Apply, Enter.
fn confirm(driver: &mut Driver) {
    cmd(driver, Command::ApplyPlan);
    assert!(
        driver.state.actions.confirm.is_some(),
        "{}",
        notice(&driver.state)
    );
    let n = driver.state.actions.review.as_ref().unwrap().to_do();
    type_text(driver, &n.to_string());
    cmd(driver, Command::SwitchFocus);
    cmd(driver, Command::EditCommit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_orphans_become_a_plan_and_read_only_refuses_it_sending_nothing() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    plan_orphans(&mut driver).await;

    let state = &driver.state;
    assert_eq!(state.tab, Tab::Actions);
    let review = state.actions.review.as_ref().unwrap();
    assert_eq!(review.origin, PlanOrigin::Users);
    // 25 orphan seats: the active ones are deactivated, the rest left out with why.
    let ops = review.plan.operations.len();
    let excluded = &review.plan.excluded;
    assert_eq!(ops + excluded.len(), 25);
    assert!(ops > 0);
    assert!(review
        .plan
        .operations
        .iter()
        .all(|op| op.op == OpKind::Deactivate && op.reason.contains("orphan seat")));
    assert!(excluded.iter().any(|e| e.why == ExclusionReason::Admin));
    assert!(excluded.iter().all(|e| matches!(
        e.why,
        ExclusionReason::Admin | ExclusionReason::AlreadyInactive
    )));

    let text = screen(state, 100, 30);
    assert!(text.contains(&format!("Plan deactivate {ops}")), "{text}");
    assert!(text.contains("Gates ✗"), "{text}");
    assert!(text.contains("Deprovisioning not ticked"), "{text}");
    assert!(text.contains("admin 1"), "{text}");

    // Read-only: x does not even open the confirmation, and nothing reaches the server.
    cmd(&mut driver, Command::ApplyPlan);
    assert!(driver.state.actions.confirm.is_none());
    assert!(notice(&driver.state).starts_with("Refused"));
    driver.settle().await;
    assert_eq!(apply_support::writes(&sim), 0);
    assert!(std::fs::read_dir(journal.path()).map_or(true, |mut d| d.next().is_none()));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_focuses_cancel_needs_the_count_then_applies_each_once_and_undo_reverses() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    plan_orphans(&mut driver).await;
    let ids = orphan_ids(&driver);
    let n = ids.len();
    tick(&mut driver, ConnField::Deprovisioning);

    // The dialog opens on Cancel: Enter there sends nothing.
    cmd(&mut driver, Command::ApplyPlan);
    let dialog = driver.state.actions.confirm.as_ref().expect("confirmation");
    assert_eq!(dialog.focus, ConfirmFocus::Cancel);
    let text = screen(&driver.state, 100, 30);
    assert!(text.contains("Apply this plan?"), "{text}");
    assert!(text.contains(&format!("Type {n} to confirm")), "{text}");
    assert!(
        text.contains(&format!("{n} to deactivate (PATCH active=false)")),
        "{text}"
    );
    assert!(text.contains("▶[ Cancel ]"), "{text}");
    cmd(&mut driver, Command::EditCommit);
    assert!(driver.state.actions.confirm.is_none());
    assert!(driver.state.actions.batch.is_none());

    // A wrong count on Apply is refused.
    cmd(&mut driver, Command::ApplyPlan);
    type_text(&mut driver, &(n + 1).to_string());
    cmd(&mut driver, Command::SwitchFocus);
    cmd(&mut driver, Command::EditCommit);
    let dialog = driver.state.actions.confirm.as_ref().expect("still open");
    assert_eq!(
        dialog.error.as_deref(),
        Some(&*format!("Type {n} (the number of operations) to apply"))
    );
    cmd(&mut driver, Command::EditCancel);
    driver.settle().await;
    assert_eq!(apply_support::writes(&sim), 0);

    // The right count applies: each target changed exactly once, all inactive.
    confirm(&mut driver);
    assert!(driver.state.actions.batch_running());
    driver.settle().await;
    let batch = driver.state.actions.batch.as_ref().unwrap();
    let summary = batch.summary.as_ref().expect("finished");
    assert!(summary.all_succeeded(), "{summary:?}");
    assert_eq!(summary.applied, n);
    // The re-lookup of the targets that follows does not hide the batch's summary.
    let said = notice(&driver.state);
    assert!(
        said.starts_with(&format!("Batch done: {n} applied"))
            && said.ends_with(&format!("batch {}", summary.batch)),
        "{said}"
    );
    assert!(batch.statuses.iter().all(|s| *s == OpStatus::Applied));
    let stats = sim.stats();
    for id in &ids {
        assert_eq!(stats.changes.get(id), Some(&1), "{id} changed once");
        assert_eq!(sim.user(id).unwrap().active, Some(false));
    }
    assert_eq!(apply_support::writes(&sim), n as u64);
    let text = screen(&driver.state, 100, 30);
    assert!(text.contains(&format!("{n}/{n} · applied {n}")), "{text}");
    // The Users pane was refreshed from the server.
    let users = &driver.state.users;
    let inactive = users
        .rows
        .iter()
        .filter(|r| {
            r.outcome
                .as_ref()
                .and_then(|o| o.scim_id())
                .is_some_and(|id| ids.iter().any(|x| x == id))
        })
        .filter(|r| r.status() == MatchStatus::Matched { active: false })
        .count();
    assert_eq!(inactive, n);
    // Applying the same plan again is refused: it is done.
    cmd(&mut driver, Command::ApplyPlan);
    assert!(driver.state.actions.confirm.is_none());

    // Undo: the reverse plan needs Provisioning, then reactivates each user once.
    cmd(&mut driver, Command::Undo);
    driver.settle().await;
    let review = driver.state.actions.review.as_ref().expect("undo plan");
    assert!(matches!(review.origin, PlanOrigin::Undo { .. }));
    assert_eq!(review.plan.operations.len(), n);
    assert!(review
        .plan
        .operations
        .iter()
        .all(|o| o.op == OpKind::Reactivate));
    assert!(screen(&driver.state, 100, 30).contains("Provisioning not ticked"));
    cmd(&mut driver, Command::ApplyPlan);
    assert!(
        driver.state.actions.confirm.is_none(),
        "refused without Provisioning"
    );
    tick(&mut driver, ConnField::Provisioning);
    confirm(&mut driver);
    driver.settle().await;
    let summary = driver
        .state
        .actions
        .batch
        .as_ref()
        .unwrap()
        .summary
        .clone()
        .unwrap();
    assert!(summary.all_succeeded(), "{summary:?}");
    let stats = sim.stats();
    for id in &ids {
        assert_eq!(
            stats.changes.get(id),
            Some(&2),
            "{id}: deactivated once, reactivated once"
        );
        assert_eq!(sim.user(id).unwrap().active, Some(true));
    }
    // Two batches in the journal.
    assert_eq!(std::fs::read_dir(journal.path()).unwrap().count(), 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_over_the_threshold_is_refused_until_the_limit_is_raised() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    cmd(&mut driver, Command::GoTab(1));
    while driver.state.users.status_filter != StatusFilter::Matched {
        cmd(&mut driver, Command::CycleStatusFilter);
    }
    cmd(&mut driver, Command::MarkAllShown);
    // Hide the marked users behind a text filter: the confirmation must say so.
    cmd(&mut driver, Command::Filter);
    type_text(&mut driver, "zzz-nobody");
    cmd(&mut driver, Command::EditCommit);
    let hidden = driver.state.users.hidden_marks();
    assert!(hidden > 50, "{hidden}");
    cmd(&mut driver, Command::PlanDeactivate);
    driver.settle().await;
    tick(&mut driver, ConnField::Deprovisioning);
    let ops = driver
        .state
        .actions
        .review
        .as_ref()
        .unwrap()
        .plan
        .operations
        .len();
    assert!(ops > 50);

    cmd(&mut driver, Command::ApplyPlan);
    assert!(driver.state.actions.confirm.is_none());
    let text = screen(&driver.state, 100, 30);
    assert!(
        text.contains(&format!("{ops} ops > limit 50 (+ raises)")),
        "{text}"
    );
    assert!(
        notice(&driver.state).contains(&format!("{ops} operations exceed the limit of 50")),
        "{}",
        notice(&driver.state)
    );

    cmd(&mut driver, Command::RaiseLimits);
    assert!(
        driver.state.actions.refusals.is_empty(),
        "{:?}",
        driver.state.actions.refusals
    );
    cmd(&mut driver, Command::ApplyPlan);
    assert!(driver.state.actions.confirm.is_some());
    let text = screen(&driver.state, 100, 30);
    assert!(
        text.contains(&format!("{hidden} marked users were hidden by the filter")),
        "{text}"
    );
    cmd(&mut driver, Command::EditCancel);
    driver.settle().await;
    assert_eq!(apply_support::writes(&sim), 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_batch_is_offered_at_start_and_finished_exactly_once() {
    let journal = TempDir::new().unwrap();
    let sim = apply_support::start_sim(30, |_| {}).await;
    let users = apply_support::active_users(&sim, 12);
    let ops = users
        .iter()
        .map(|u| apply_support::op(OpKind::Deactivate, u))
        .collect();
    let plan = apply_support::plan(ops, 100);
    let gates = Gates {
        permissions: Permissions {
            provisioning: false,
            deprovisioning: true,
        },
        ..Gates::default()
    };
    // A batch whose process died right after writing the journal header.
    let meta = BatchMeta {
        kind: BatchKind::Apply,
        undo_of: None,
        plan_file: None,
        base_url: sim.base_url().to_string(),
    };
    let batch = Batch::start(journal.path(), plan, &gates, meta).unwrap();
    let id = batch.id().to_string();
    drop(batch);

    let mut conn = navscim::app::connection::ConnectionState::new("test", sim.base_url());
    conn.source_kind = navscim::app::connection::TokenSourceKind::Paste;
    conn.pasted = navscim::secret::Token::new(apply_support::TOKEN);
    let mut state = State::new(conn, true);
    state.size = (100, 30);
    let settings = Settings {
        journal_dir: Some(journal.path().to_path_buf()),
        ..Settings::default()
    };
    let mut driver = Driver::new(state, settings);
    driver.dispatch(Action::CheckJournal);
    driver.settle().await;
    let said = notice(&driver.state);
    assert!(said.starts_with("Unfinished batch ("), "{said}");
    assert!(said.ends_with(&format!("batch {id}")), "{said}");
    cmd(&mut driver, Command::GoTab(3));
    let text = screen(&driver.state, 100, 30);
    assert!(text.contains("Unfinished batches in the journal"), "{text}");
    assert!(text.contains(&id), "{text}");

    cmd(&mut driver, Command::ResumeBatch);
    let review = driver
        .state
        .actions
        .review
        .as_ref()
        .expect("the batch's plan");
    assert!(matches!(&review.origin, PlanOrigin::Resume { batch, .. } if *batch == id));
    tick(&mut driver, ConnField::Deprovisioning);
    confirm(&mut driver);
    driver.settle().await;
    let summary = driver
        .state
        .actions
        .batch
        .as_ref()
        .unwrap()
        .summary
        .clone()
        .unwrap();
    assert_eq!(
        summary.batch, id,
        "the same batch was finished, not a new one"
    );
    assert!(summary.all_succeeded(), "{summary:?}");
    let stats = sim.stats();
    for u in &users {
        let uid = u.id.as_deref().unwrap();
        assert_eq!(stats.changes.get(uid), Some(&1));
        assert_eq!(sim.user(uid).unwrap().active, Some(false));
    }
    assert!(driver.state.actions.unfinished.is_empty());
    assert_eq!(std::fs::read_dir(journal.path()).unwrap().count(), 1);
    sim.shutdown().await;
}

/// A state with a plan under review and a batch running, without a runtime.
fn running_state() -> State {
    let conn = navscim::app::connection::ConnectionState::new("t", "http://127.0.0.1:9/scim");
    let mut state = State::new(conn, true);
    state.connection.permissions.deprovisioning = true;
    state.size = (80, 24);
    let ops = (0..3)
        .map(|i| apply_support::op_id(OpKind::Deactivate, &format!("id-{i}")))
        .collect();
    let plan: Plan = apply_support::plan(ops, 100);
    navscim::app::actions::reducer::receive_plan(
        &mut state,
        plan,
        PlanOrigin::File("p.json".into()),
    );
    reduce(&mut state, Action::Command(Command::ApplyPlan));
    for c in "3".chars() {
        reduce(
            &mut state,
            Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    reduce(&mut state, Action::Command(Command::SwitchFocus));
    let effects = reduce(&mut state, Action::Command(Command::EditCommit));
    assert!(
        matches!(&effects[..], [Effect::ApplyPlan { plan_file: Some(f), .. }] if f == "p.json")
    );
    reduce(
        &mut state,
        Action::ApplyProgress {
            event: Box::new(ApplyEvent::Started {
                batch: "b1".into(),
                total: 3,
                done_before: 0,
                to_do: 3,
                resumed: false,
            }),
            at: Duration::from_secs(1),
        },
    );
    state
}

#[test]
fn pause_resume_and_cancel_reach_the_runner_and_show() {
    let mut s = running_state();
    assert!(s.work_running(), "quitting asks while a batch runs");
    let effects = reduce(&mut s, Action::Command(Command::PauseResume));
    assert!(matches!(
        &effects[..],
        [Effect::ControlBatch(Control::Pause)]
    ));
    reduce(
        &mut s,
        Action::ApplyProgress {
            event: Box::new(ApplyEvent::Paused {
                reason: PauseReason::CircuitBreaker {
                    failures: 5,
                    last_error: "HTTP 503".into(),
                },
            }),
            at: Duration::from_secs(2),
        },
    );
    let text = screen(&s, 100, 24);
    assert!(
        text.contains("PAUSED: circuit breaker: 5 consecutive failures"),
        "{text}"
    );
    let effects = reduce(&mut s, Action::Command(Command::PauseResume));
    assert!(matches!(&effects[..], [Effect::ControlBatch(Control::Run)]));
    reduce(
        &mut s,
        Action::ApplyProgress {
            event: Box::new(ApplyEvent::Resumed),
            at: Duration::from_secs(3),
        },
    );
    let effects = reduce(&mut s, Action::Command(Command::CancelWork));
    assert!(matches!(
        &effects[..],
        [Effect::ControlBatch(Control::Cancel)]
    ));
    assert!(screen(&s, 100, 24).contains("cancelling"));
    // No other plan can replace the running one.
    reduce(&mut s, Action::Command(Command::DiscardPlan));
    assert!(s.actions.review.is_some());
}

/// A resumed batch's progress counts the operations its earlier run did apart: the
/// parts add up to the whole (it read "3/3 · applied 1 · already 0 · failed 0").
#[test]
fn a_resumed_batch_counts_what_was_done_before_apart() {
    let mut s = running_state();
    reduce(
        &mut s,
        Action::ApplyProgress {
            event: Box::new(ApplyEvent::Started {
                batch: "b1".into(),
                total: 3,
                done_before: 2,
                to_do: 1,
                resumed: true,
            }),
            at: Duration::from_secs(1),
        },
    );
    let text = screen(&s, 80, 24);
    assert!(
        text.contains("2/3 · done before 2 · applied 0 · already 0 · failed 0"),
        "{text}"
    );
}

#[test]
fn unticking_the_permission_cancels_a_running_batch() {
    let mut s = running_state();
    s.tab = Tab::Connection;
    s.connection.focus = ConnField::Deprovisioning;
    let effects = reduce(&mut s, Action::Command(Command::Toggle));
    assert!(!s.connection.permissions.deprovisioning);
    assert!(matches!(
        &effects[..],
        [Effect::ControlBatch(Control::Cancel)]
    ));
}

#[test]
fn the_pane_reads_at_80x24_plan_requests_and_details() {
    let mut s = running_state();
    reduce(
        &mut s,
        Action::ApplyProgress {
            event: Box::new(ApplyEvent::OpFinished {
                seq: 0,
                report: apply::OpReport {
                    outcome: navscim::journal::Outcome::Applied,
                    detail: "deactivated".into(),
                    request_sent: true,
                    failure: None,
                    scim_id: Some("id-0".into()),
                },
            }),
            at: Duration::from_secs(2),
        },
    );
    let text = screen(&s, 80, 24);
    assert!(text.contains("applying 3 operations"), "{text}");
    assert!(text.contains("1/3 · applied 1"), "{text}");
    assert!(text.contains("applied deactivate"), "{text}");
    assert!(
        text.contains("x apply"),
        "the hints come from the key table: {text}"
    );
    reduce(&mut s, Action::Command(Command::CycleView));
    reduce(&mut s, Action::Command(Command::CycleView));
    assert_eq!(s.actions.view, PlanView::Requests);
    let text = screen(&s, 80, 24);
    assert!(text.contains("PATCH /Users/id-0"), "{text}");
    reduce(&mut s, Action::Command(Command::Details));
    let text = screen(&s, 80, 24);
    assert!(text.contains("Details — Esc closes"), "{text}");
    assert!(
        text.contains("\"active\":false") || text.contains("active"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_file_opens_for_review_and_a_broken_one_is_named() {
    let dir = TempDir::new().unwrap();
    let ops = (0..4)
        .map(|i| apply_support::op_id(OpKind::Deactivate, &format!("u{i}")))
        .collect();
    let plan = apply_support::plan(ops, 100);
    let good = dir.path().join("plan.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, b"{\"version\": 1, \"operations\": [").unwrap();

    let conn = navscim::app::connection::ConnectionState::new("t", "http://127.0.0.1:9/scim");
    let mut state = State::new(conn, true);
    state.tab = Tab::Actions;
    let mut driver = Driver::new(state, Settings::default());
    cmd(&mut driver, Command::OpenPlan);
    type_text(&mut driver, &bad.display().to_string());
    cmd(&mut driver, Command::EditCommit);
    driver.settle().await;
    assert!(driver.state.actions.review.is_none());
    let n = notice(&driver.state);
    assert!(n.contains("broken.json is not a valid plan"), "{n}");

    cmd(&mut driver, Command::OpenPlan);
    type_text(&mut driver, &good.display().to_string());
    cmd(&mut driver, Command::EditCommit);
    driver.settle().await;
    let review = driver.state.actions.review.as_ref().expect("opened");
    assert_eq!(review.plan, plan);
    assert!(matches!(&review.origin, PlanOrigin::File(p) if p.ends_with("plan.json")));
    let text = screen(&driver.state, 80, 24);
    assert!(text.contains("Plan deactivate 4"), "{text}");
    assert!(text.contains("plan.json"), "{text}");
}

/// Issue 10 in the dashboard: a plan file edited to deactivate a Sales Navigator admin
/// (no exclusion left, nothing loaded in the dashboard that names the admin) is refused
/// by the gates, because the lookup results the plan names say who the admin is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_plan_file_cannot_reach_an_admin_named_by_its_lookup_results() {
    let dir = TempDir::new().unwrap();
    let rows: Vec<serde_json::Value> = (0..40)
        .map(|i| {
            serde_json::json!({
                "key": format!("u{i}@example.test"), "email": format!("u{i}@example.test"),
                "name": "X", "status": "matched", "active": true,
                "scim_id": format!("u{i}"), "is_admin": i == 0,
            })
        })
        .collect();
    std::fs::write(
        dir.path().join("results.json"),
        serde_json::to_vec(&rows).unwrap(),
    )
    .unwrap();
    let ops = (0..2)
        .map(|i| apply_support::op_id(OpKind::Deactivate, &format!("u{i}")))
        .collect();
    let mut plan = apply_support::plan(ops, 40);
    plan.inputs.push(navscim::plan::PlanInput {
        kind: "lookup_results".into(),
        path: "results.json".into(),
        rows: 40,
    });
    let path = dir.path().join("plan.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();

    let conn = navscim::app::connection::ConnectionState::new("t", "http://127.0.0.1:9/scim");
    let mut state = State::new(conn, true);
    state.connection.permissions = Permissions {
        provisioning: false,
        deprovisioning: true,
    };
    state.tab = Tab::Actions;
    let mut driver = Driver::new(state, Settings::default());
    cmd(&mut driver, Command::OpenPlan);
    type_text(&mut driver, &path.display().to_string());
    cmd(&mut driver, Command::EditCommit);
    driver.settle().await;
    assert!(
        driver.state.actions.review.is_some(),
        "{}",
        notice(&driver.state)
    );
    let refusals = &driver.state.actions.refusals;
    assert!(
        refusals.iter().any(|r| matches!(
            r,
            navscim::plan::Refusal::ProtectedTarget { scim_id: Some(id), .. } if id == "u0"
        )),
        "{refusals:?}"
    );
    cmd(&mut driver, Command::ApplyPlan);
    assert!(
        driver.state.actions.confirm.is_none(),
        "no confirmation opens"
    );
    assert!(
        notice(&driver.state).contains("protected"),
        "{}",
        notice(&driver.state)
    );
}

#[test]
fn quitting_during_a_batch_stops_it_first_then_quits() {
    let mut s = running_state();
    reduce(&mut s, Action::Command(Command::Quit));
    assert_eq!(s.overlay, navscim::app::state::Overlay::QuitConfirm);
    assert!(screen(&s, 80, 24).contains("The batch stops first"));
    let effects = reduce(&mut s, Action::Command(Command::Confirm));
    assert!(matches!(
        &effects[..],
        [Effect::ControlBatch(Control::Cancel)]
    ));
    assert!(!s.should_quit, "waits for the requests in flight");
    reduce(
        &mut s,
        Action::ApplyDone {
            result: Ok(Box::new(apply::BatchSummary {
                batch: "b1".into(),
                journal: "j".into(),
                total: 3,
                applied: 1,
                already: 0,
                failed: 0,
                not_started: 2,
                status: navscim::journal::EndStatus::Cancelled,
                reason: Some("cancelled".into()),
                failures: vec![],
                requests_sent: 1,
                elapsed_ms: 5,
            })),
        },
    );
    assert!(s.should_quit);

    // Asked twice, it quits at once.
    let mut s = running_state();
    reduce(&mut s, Action::Command(Command::Quit));
    reduce(&mut s, Action::Command(Command::Confirm));
    reduce(&mut s, Action::Command(Command::Quit));
    assert!(s.should_quit);
}

// Found in review (each failed before its fix).

/// Cancel pressed right after confirming (before the runtime has connected and
/// written the journal header) reaches the runner: nothing is sent. (Found in review:
/// the control channel used to exist only once the batch had started.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_sent_before_the_batch_has_started_stops_it() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    plan_orphans(&mut driver).await;
    tick(&mut driver, ConnField::Deprovisioning);
    let n = driver.state.actions.review.as_ref().unwrap().to_do();
    confirm(&mut driver);
    assert!(driver.state.actions.batch_running());
    cmd(&mut driver, Command::CancelWork);
    assert!(driver
        .state
        .actions
        .batch
        .as_ref()
        .unwrap()
        .stopping
        .is_some());
    driver.settle().await;
    let summary = driver
        .state
        .actions
        .batch
        .as_ref()
        .unwrap()
        .summary
        .clone()
        .unwrap();
    assert_eq!(summary.status, navscim::journal::EndStatus::Cancelled);
    assert_eq!(
        apply_support::writes(&sim),
        0,
        "cancelled before anything started, yet {n} ops planned were sent"
    );
    sim.shutdown().await;
}

/// Unticking Deprovisioning right after confirming stops the batch before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unticking_right_after_confirming_sends_nothing() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    plan_orphans(&mut driver).await;
    tick(&mut driver, ConnField::Deprovisioning);
    confirm(&mut driver);
    tick(&mut driver, ConnField::Deprovisioning);
    assert!(!driver.state.connection.permissions.deprovisioning);
    driver.settle().await;
    let writes = apply_support::writes(&sim);
    assert_eq!(
        writes, 0,
        "Deprovisioning is OFF, yet {writes} deactivations were sent"
    );
    sim.shutdown().await;
}

/// A file plan that deactivates a Sales Navigator admin by SCIM id only (no email) is
/// refused by the gates, and the admin stays active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_named_only_by_scim_id_in_a_plan_file_is_refused() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    let users = &driver.state.users;
    let admin_id = users
        .directory
        .users
        .iter()
        .zip(&users.rows)
        .find(|(u, r)| u.is_admin() && r.outcome.as_ref().and_then(|o| o.scim_id()).is_some())
        .map(|(_, r)| r.outcome.as_ref().unwrap().scim_id().unwrap().to_string())
        .expect("a looked-up admin in the demo");
    let mut op = apply_support::op_id(OpKind::Deactivate, &admin_id);
    op.email = None;
    let plan: Plan = apply_support::plan(vec![op], 100);
    driver.state.connection.permissions.deprovisioning = true;
    navscim::app::actions::reducer::receive_plan(
        &mut driver.state,
        plan,
        PlanOrigin::File("x.json".into()),
    );
    let refusals = driver.state.actions.refusals.clone();
    assert!(
        refusals
            .iter()
            .any(|r| matches!(r, navscim::plan::Refusal::ProtectedTarget { .. })),
        "admin {admin_id}: {refusals:?}"
    );
    driver.state.tab = Tab::Actions;
    cmd(&mut driver, Command::ApplyPlan);
    assert!(driver.state.actions.confirm.is_none());
    driver.settle().await;
    assert_eq!(apply_support::writes(&sim), 0);
    assert_ne!(sim.user(&admin_id).unwrap().active, Some(false));
    sim.shutdown().await;
}

fn file_state(n: usize) -> State {
    let conn = navscim::app::connection::ConnectionState::new("t", "http://127.0.0.1:9/scim");
    let mut state = State::new(conn, true);
    state.connection.permissions.deprovisioning = true;
    state.size = (80, 24);
    let ops = (0..n)
        .map(|i| apply_support::op_id(OpKind::Deactivate, &format!("id-{i}")))
        .collect();
    navscim::app::actions::reducer::receive_plan(
        &mut state,
        apply_support::plan(ops, 10_000),
        PlanOrigin::File("a.json".into()),
    );
    state
}

/// `+` raises the limit for the plan under review only; the next plan starts from the
/// defaults.
#[test]
fn a_raised_limit_belongs_to_its_plan_only() {
    let mut s = file_state(400);
    assert!(!s.actions.refusals.is_empty());
    reduce(&mut s, Action::Command(Command::RaiseLimits));
    assert!(s.actions.refusals.is_empty());
    // A different plan, never looked at by the admin for size:
    let ops = (0..400)
        .map(|i| apply_support::op_id(OpKind::Deactivate, &format!("other-{i}")))
        .collect();
    navscim::app::actions::reducer::receive_plan(
        &mut s,
        apply_support::plan(ops, 10_000),
        PlanOrigin::File("b.json".into()),
    );
    assert!(
        !s.actions.refusals.is_empty(),
        "400-op plan passes the threshold without +"
    );
}

fn press_char(s: &mut State, c: char) {
    reduce(
        s,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    );
}
fn confirm_pure(s: &mut State) -> Vec<Effect> {
    reduce(s, Action::Command(Command::ApplyPlan));
    let want = s.actions.review.as_ref().unwrap().to_do().to_string();
    for c in want.chars() {
        press_char(s, c);
    }
    reduce(s, Action::Command(Command::SwitchFocus));
    reduce(s, Action::Command(Command::EditCommit))
}

/// After a cancelled batch, x on the same plan finishes that batch (a resume of what is
/// left), not a new batch of the whole plan.
#[test]
fn x_after_a_cancelled_batch_finishes_that_batch() {
    let mut s = file_state(3);
    let e = confirm_pure(&mut s);
    assert!(matches!(&e[..], [Effect::ApplyPlan { .. }]));
    reduce(
        &mut s,
        Action::ApplyProgress {
            event: Box::new(ApplyEvent::Started {
                batch: "b1".into(),
                total: 3,
                done_before: 0,
                to_do: 3,
                resumed: false,
            }),
            at: Duration::from_secs(1),
        },
    );
    reduce(
        &mut s,
        Action::ApplyDone {
            result: Ok(Box::new(apply::BatchSummary {
                batch: "b1".into(),
                journal: "/j/b1.jsonl".into(),
                total: 3,
                applied: 2,
                already: 0,
                failed: 0,
                not_started: 1,
                status: navscim::journal::EndStatus::Cancelled,
                reason: Some("cancelled".into()),
                failures: vec![],
                requests_sent: 2,
                elapsed_ms: 5,
            })),
        },
    );
    let e = confirm_pure(&mut s);
    assert!(
        matches!(&e[..], [Effect::ResumeBatch { path, .. }] if path.ends_with("b1.jsonl")),
        "{:?}",
        e.iter().map(|e| e.name()).collect::<Vec<_>>()
    );
}

/// Resize keeps the Actions cursor on screen.
#[test]
fn resize_keeps_the_actions_cursor_on_screen() {
    let mut s = file_state(100);
    s.tab = Tab::Actions;
    reduce(&mut s, Action::Resize(100, 60));
    reduce(&mut s, Action::Command(Command::Bottom));
    reduce(&mut s, Action::Resize(100, 20));
    let h = navscim::app::actions::reducer::table_height(s.size);
    let a = &s.actions;
    assert!(
        a.table.cursor < a.table.offset + h,
        "cursor {} not in {}..{}",
        a.table.cursor,
        a.table.offset,
        a.table.offset + h
    );
}

/// An undo under review goes only to the server its batch ran on: with the Connection
/// pane pointed elsewhere it is refused (both servers named) and `x` sends nothing;
/// pointed back, the refusal is gone. A plan file built for another profile likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_for_another_server_or_profile_is_refused_in_the_dashboard() {
    let journal = TempDir::new().unwrap();
    let (sim, mut driver) = demo_driver(&journal).await;
    let victim = driver
        .state
        .users
        .rows
        .iter()
        .filter_map(|r| r.outcome.as_ref().and_then(|o| o.scim_id()))
        .next()
        .expect("a matched user")
        .to_string();
    let op = apply_support::op_id(OpKind::Deactivate, &victim);
    let mut plan: Plan = apply_support::plan(vec![op], 100);
    // What apply::undo_plan records for a batch whose plan named no target.
    plan.target = Some(Box::new(navscim::plan::PlanTarget {
        server: "https://other-tenant.example/scim/v2".into(),
        profile: String::new(),
        tenant: None,
    }));
    driver.state.connection.permissions.deprovisioning = true;
    navscim::app::actions::reducer::receive_plan(
        &mut driver.state,
        plan.clone(),
        PlanOrigin::Undo {
            batch: "b-1".into(),
        },
    );
    let wrong = |state: &State| {
        state
            .actions
            .refusals
            .iter()
            .find(|r| matches!(r, navscim::plan::Refusal::WrongTarget { .. }))
            .map(|r| r.to_string())
    };
    let said = wrong(&driver.state).expect("refused for another server");
    assert!(said.contains("other-tenant.example"), "{said}");
    assert!(said.contains(sim.base_url()), "{said}");
    driver.state.tab = Tab::Actions;
    cmd(&mut driver, Command::ApplyPlan);
    assert!(
        driver.state.actions.confirm.is_none(),
        "no confirmation opens"
    );
    driver.settle().await;
    assert_eq!(apply_support::writes(&sim), 0);

    // The same plan for this server passes the target check.
    plan.target.as_mut().unwrap().server = sim.base_url().to_string();
    navscim::app::actions::reducer::receive_plan(
        &mut driver.state,
        plan.clone(),
        PlanOrigin::Undo {
            batch: "b-1".into(),
        },
    );
    assert_eq!(wrong(&driver.state), None);

    // Built for this server but another profile: refused.
    plan.target.as_mut().unwrap().profile = "emea".into();
    navscim::app::actions::reducer::receive_plan(
        &mut driver.state,
        plan,
        PlanOrigin::File("p.json".into()),
    );
    let said = wrong(&driver.state).expect("refused for another profile");
    assert!(said.contains("\"emea\""), "{said}");
    sim.shutdown().await;
}
