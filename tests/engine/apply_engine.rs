//! The apply engine against the embedded simulator: gates, execution under faults,
//! the circuit breaker, idempotence, pause/cancel, undo, creates.

use crate::apply_support;

use std::time::Duration;

use apply_support::*;
use navscim::apply::{
    self, ApplyError, ApplyEvent, Batch, BatchMeta, BreakerAction, Control, Gates, PauseReason,
    RunOptions,
};
use navscim::journal::{self, BatchKind, EndStatus, Outcome};
use navscim::plan::{
    Exclusion, ExclusionReason, OpKind, Permissions, Plan, ProtectedUsers, Refusal, Thresholds,
};
use navscim::scim::NewUser;
use tokio::sync::{mpsc, watch};

const DEPROVISION: Permissions = Permissions {
    provisioning: false,
    deprovisioning: true,
};
const BOTH: Permissions = Permissions {
    provisioning: true,
    deprovisioning: true,
};

fn gates(permissions: Permissions, max_count: usize, max_percent: f64) -> Gates {
    Gates {
        permissions,
        thresholds: Thresholds {
            max_count,
            max_percent,
        },
        protected: ProtectedUsers::default(),
        delete_allowed: false,
    }
}

fn meta(sim: &navscim::sim::SimHandle) -> BatchMeta {
    BatchMeta {
        kind: BatchKind::Apply,
        undo_of: None,
        plan_file: None,
        base_url: sim.base_url().into(),
    }
}

struct Run {
    summary: apply::BatchSummary,
    events: Vec<ApplyEvent>,
}

async fn run_batch(client: &navscim::scim::ScimClient, batch: Batch, options: RunOptions) -> Run {
    let (_ctl, rx) = watch::channel(Control::Run);
    let (tx, mut erx) = mpsc::unbounded_channel();
    let summary = apply::run(client, batch, &options, rx, tx).await;
    let mut events = Vec::new();
    while let Ok(e) = erx.try_recv() {
        events.push(e);
    }
    Run { summary, events }
}

#[tokio::test]
async fn read_only_refuses_and_sends_nothing() {
    let sim = start_sim(20, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 3);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        20,
    );
    let err = Batch::start(dir.path(), p.clone(), &Gates::read_only(), meta(&sim)).unwrap_err();
    let ApplyError::Refused(r) = err else {
        panic!("{err}")
    };
    assert!(matches!(r[0], Refusal::NotPermitted { .. }), "{r:?}");
    // Deprovisioning does not allow reactivation either.
    let p2 = plan(
        users.iter().map(|u| op(OpKind::Reactivate, u)).collect(),
        20,
    );
    assert!(Batch::start(dir.path(), p2, &gates(DEPROVISION, 50, 100.0), meta(&sim)).is_err());
    assert_eq!(writes(&sim), 0);
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
    // Nothing journaled either.
    assert!(journal::list(dir.path()).0.is_empty());
}

#[tokio::test]
async fn thresholds_by_count_and_by_share() {
    let sim = start_sim(0, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let ops: Vec<_> = (0..51)
        .map(|i| op_id(OpKind::Deactivate, &format!("id{i}")))
        .collect();
    let p = plan(ops, 1000);
    let g = gates(DEPROVISION, 50, 20.0);
    match Batch::start(dir.path(), p.clone(), &g, meta(&sim)) {
        Err(ApplyError::Refused(r)) => assert!(
            matches!(r[..], [Refusal::TooMany { operations: 51, .. }]),
            "{r:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(Batch::start(dir.path(), p, &gates(DEPROVISION, 51, 20.0), meta(&sim)).is_ok());

    let p = plan(
        (0..3)
            .map(|i| op_id(OpKind::Deactivate, &format!("id{i}")))
            .collect(),
        10,
    );
    match Batch::start(dir.path(), p.clone(), &g, meta(&sim)) {
        Err(ApplyError::Refused(r)) => {
            assert!(matches!(r[..], [Refusal::TooLargeShare { .. }]), "{r:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(Batch::start(dir.path(), p, &gates(DEPROVISION, 50, 30.0), meta(&sim)).is_ok());
    assert_eq!(writes(&sim), 0);
}

#[tokio::test]
async fn protected_users_and_plan_admins_are_never_deactivated() {
    let sim = start_sim(10, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 2);
    let p = plan(vec![op(OpKind::Deactivate, &users[0])], 10);
    let mut g = gates(DEPROVISION, 50, 100.0);
    g.protected.add_email(&users[0].user_name.to_uppercase());
    assert!(matches!(
        Batch::start(dir.path(), p.clone(), &g, meta(&sim)),
        Err(ApplyError::Refused(r)) if matches!(r[..], [Refusal::ProtectedTarget { .. }])
    ));
    // An admin the plan itself excluded cannot be slipped back in by editing the plan.
    let mut p2 = plan(vec![op(OpKind::Deactivate, &users[1])], 10);
    p2.excluded.push(Exclusion {
        email: None,
        scim_id: users[1].id.clone(),
        name: String::new(),
        why: ExclusionReason::Admin,
        detail: "Sales Navigator admin".into(),
    });
    let g = gates(DEPROVISION, 50, 100.0);
    assert!(matches!(
        Batch::start(dir.path(), p2, &g, meta(&sim)),
        Err(ApplyError::Refused(_))
    ));
    assert_eq!(writes(&sim), 0);
}

#[tokio::test]
async fn delete_only_when_allowed_and_chosen() {
    let sim = start_sim(5, |c| c.allow_delete = true).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 1);
    let p = plan(vec![op(OpKind::Delete, &users[0])], 5);
    let mut g = gates(DEPROVISION, 50, 100.0);
    assert!(matches!(
        Batch::start(dir.path(), p.clone(), &g, meta(&sim)),
        Err(ApplyError::Refused(r)) if matches!(r[..], [Refusal::DeleteNotAllowed { .. }])
    ));
    assert_eq!(writes(&sim), 0);
    g.delete_allowed = true;
    let batch = Batch::start(dir.path(), p, &g, meta(&sim)).unwrap();
    let r = run_batch(&client(&sim, |_| {}), batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded(), "{:?}", r.summary);
    assert!(sim.user(users[0].id.as_deref().unwrap()).is_none());
}

#[tokio::test]
async fn deactivates_exactly_once_under_429_5xx_and_dropped_connections() {
    let sim = start_sim(120, |c| {
        c.fail_rate = 0.2;
        c.drop_rate = 0.05;
        c.rate_limit = Some(50.0);
        c.retry_after = false;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 80);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        120,
    );
    let batch = Batch::start(dir.path(), p, &gates(DEPROVISION, 80, 100.0), meta(&sim)).unwrap();
    // Patient enough for the rate limit's one-second bucket to refill.
    let c = client(&sim, |c| {
        c.max_retries = 30;
        c.concurrency = 16;
        c.backoff_base = Duration::from_millis(20);
        c.backoff_max = Duration::from_millis(400);
    });
    let r = run_batch(
        &c,
        batch,
        RunOptions {
            concurrency: 16,
            ..RunOptions::default()
        },
    )
    .await;
    assert!(r.summary.all_succeeded(), "{:?}", r.summary);
    assert_eq!(r.summary.applied, 80);
    let stats = sim.stats();
    assert!(c.stats().retries > 0, "faults were injected");
    assert!(stats.throttled > 0, "the rate limit answered 429s");
    for u in &users {
        let id = u.id.as_deref().unwrap();
        assert!(!sim.user(id).unwrap().is_active());
        assert_eq!(stats.changes.get(id), Some(&1), "{id} changed once");
    }
    assert_eq!(stats.changes.len(), 80);
    // One OpStarted and one OpFinished per operation.
    let finished = r
        .events
        .iter()
        .filter(|e| matches!(e, ApplyEvent::OpFinished { .. }))
        .count();
    assert_eq!(finished, 80);
    assert!(matches!(r.events.last(), Some(ApplyEvent::Finished(_))));
}

#[tokio::test]
async fn timeouts_are_failures_that_a_resume_finishes() {
    // Every answer is slower than the client's timeout: every operation fails.
    let sim = start_sim(10, |c| c.latency = Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 3);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        10,
    );
    let g = gates(DEPROVISION, 50, 100.0);
    let batch = Batch::start(dir.path(), p, &g, meta(&sim)).unwrap();
    let path = batch.journal_path().to_path_buf();
    let slow = client(&sim, |c| {
        c.timeout = Duration::from_millis(50);
        c.max_retries = 1;
    });
    let r = run_batch(&slow, batch, RunOptions::default()).await;
    assert_eq!(r.summary.status, EndStatus::Failed);
    assert_eq!(r.summary.failed, 3);
    assert!(
        r.summary.failures[0].detail.contains("timed out"),
        "{:?}",
        r.summary.failures
    );
    // A resume with a patient client finishes the batch.
    let batch = Batch::resume(&path, &g, Some(sim.base_url())).unwrap();
    assert_eq!(batch.to_do(), 3);
    let r = run_batch(&client(&sim, |_| {}), batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded(), "{:?}", r.summary);
    for u in &users {
        assert!(!sim.user(u.id.as_deref().unwrap()).unwrap().is_active());
    }
}

#[tokio::test]
async fn circuit_breaker_stops_after_consecutive_failures() {
    let sim = start_sim(30, |c| c.fail_rate = 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 20);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        30,
    );
    let batch = Batch::start(dir.path(), p, &gates(DEPROVISION, 50, 100.0), meta(&sim)).unwrap();
    let c = client(&sim, |c| c.max_retries = 1);
    let r = run_batch(
        &c,
        batch,
        RunOptions {
            concurrency: 1,
            breaker_after: 5,
            on_breaker: BreakerAction::Stop,
        },
    )
    .await;
    assert_eq!(r.summary.status, EndStatus::CircuitBreaker);
    assert_eq!(r.summary.failed, 5);
    assert_eq!(r.summary.not_started, 15);
    let reason = r.summary.reason.clone().unwrap();
    assert!(reason.contains("5 consecutive failures"), "{reason}");
    assert!(r.events.iter().any(|e| matches!(
        e,
        ApplyEvent::Stopping {
            status: EndStatus::CircuitBreaker,
            ..
        }
    )));
    let log = journal::read_batch(std::path::Path::new(&r.summary.journal)).unwrap();
    assert_eq!(
        log.status(),
        journal::BatchStatus::Stopped(EndStatus::CircuitBreaker)
    );
}

#[tokio::test]
async fn circuit_breaker_pauses_in_the_tui_until_resumed() {
    let sim = start_sim(30, |c| c.fail_rate = 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 12);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        30,
    );
    let batch = Batch::start(dir.path(), p, &gates(DEPROVISION, 50, 100.0), meta(&sim)).unwrap();
    let c = client(&sim, |c| c.max_retries = 0);
    let (ctl, rx) = watch::channel(Control::Run);
    let (tx, mut erx) = mpsc::unbounded_channel();
    let options = RunOptions {
        concurrency: 1,
        breaker_after: 3,
        on_breaker: BreakerAction::Pause,
    };
    let task = tokio::spawn(async move { apply::run(&c, batch, &options, rx, tx).await });
    let mut pauses = 0;
    let mut finished = 0;
    while let Some(e) = erx.recv().await {
        match e {
            ApplyEvent::OpFinished { .. } => finished += 1,
            ApplyEvent::Paused {
                reason: PauseReason::CircuitBreaker { failures, .. },
            } => {
                assert_eq!(failures, 3);
                pauses += 1;
                // Nothing new starts while paused.
                assert_eq!(finished, 3 * pauses);
                if pauses == 1 {
                    ctl.send(Control::Run).unwrap();
                } else {
                    ctl.send(Control::Cancel).unwrap();
                }
            }
            ApplyEvent::Finished(_) => break,
            _ => {}
        }
    }
    let s = task.await.unwrap();
    assert_eq!(pauses, 2);
    assert_eq!(s.status, EndStatus::Cancelled);
    assert_eq!(s.failed, 6);
    assert_eq!(s.not_started, 6);
}

#[tokio::test]
async fn already_inactive_and_404_count_as_done_without_a_request() {
    let sim = start_sim(20, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let inactive = sim.users().into_iter().find(|u| !u.is_active()).unwrap();
    let active = active_users(&sim, 1).remove(0);
    let p = plan(
        vec![
            op(OpKind::Deactivate, &inactive),
            op_id(OpKind::Deactivate, "0000000000000bad"),
            op(OpKind::Deactivate, &active),
        ],
        20,
    );
    let batch = Batch::start(dir.path(), p, &gates(DEPROVISION, 50, 100.0), meta(&sim)).unwrap();
    let r = run_batch(&client(&sim, |_| {}), batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded(), "{:?}", r.summary);
    assert_eq!((r.summary.already, r.summary.applied), (2, 1));
    assert_eq!(r.summary.requests_sent, 1);
    assert_eq!(sim.stats().requests.get("PATCH"), Some(&1));
    let log = journal::read_batch(std::path::Path::new(&r.summary.journal)).unwrap();
    let states = log.op_states();
    assert_eq!(states[0].outcome(), Some(Outcome::Already));
    assert_eq!(states[1].outcome(), Some(Outcome::Already));
    // No intent for the two that needed no request.
    assert_eq!(log.attempts(), vec![0, 0, 1]);
}

#[tokio::test]
async fn pause_then_resume_then_cancel() {
    let sim = start_sim(40, |c| c.latency = Duration::from_millis(5)).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 20);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        40,
    );
    let batch = Batch::start(dir.path(), p, &gates(DEPROVISION, 50, 100.0), meta(&sim)).unwrap();
    let c = client(&sim, |_| {});
    let (ctl, rx) = watch::channel(Control::Pause);
    let (tx, mut erx) = mpsc::unbounded_channel();
    let options = RunOptions {
        concurrency: 2,
        ..RunOptions::default()
    };
    let task = tokio::spawn(async move { apply::run(&c, batch, &options, rx, tx).await });
    let mut finished = 0;
    let mut in_flight = 0i32;
    while let Some(e) = erx.recv().await {
        match e {
            ApplyEvent::Paused {
                reason: PauseReason::Requested,
            } => {
                assert_eq!(writes(&sim), 0, "nothing is sent while paused");
                ctl.send(Control::Run).unwrap();
            }
            ApplyEvent::OpStarted { .. } => in_flight += 1,
            ApplyEvent::OpFinished { .. } => {
                in_flight -= 1;
                finished += 1;
                if finished == 5 {
                    ctl.send(Control::Cancel).unwrap();
                }
            }
            ApplyEvent::Finished(_) => break,
            _ => {}
        }
    }
    let s = task.await.unwrap();
    assert_eq!(in_flight, 0, "requests in flight finished");
    assert_eq!(s.status, EndStatus::Cancelled);
    assert!(s.applied >= 5 && s.applied < 20, "{s:?}");
    assert_eq!(s.applied + s.not_started, 20);
    assert_eq!(sim.stats().changes.len(), s.applied);
}

#[tokio::test]
async fn undo_reactivates_what_the_batch_deactivated() {
    let sim = start_sim(30, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let mut targets = active_users(&sim, 8);
    let already = sim.users().into_iter().find(|u| !u.is_active()).unwrap();
    targets.push(already.clone());
    let p = plan(
        targets.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        30,
    );
    let g = gates(BOTH, 50, 100.0);
    let batch = Batch::start(dir.path(), p, &g, meta(&sim)).unwrap();
    let c = client(&sim, |_| {});
    let r = run_batch(&c, batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded());
    let log = journal::read_batch(std::path::Path::new(&r.summary.journal)).unwrap();

    let (undo, notes) = apply::undo_plan(&log);
    assert_eq!(undo.operations.len(), 8);
    // The reverse may go only to the server the batch changed.
    let target = undo.target.as_deref().expect("the undo names its server");
    assert_eq!(target.server, log.header.base_url);
    assert!(undo.operations.iter().all(|o| o.op == OpKind::Reactivate));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("already in the target state")),
        "{notes:?}"
    );
    // The same gates: deprovisioning alone may not reactivate.
    assert!(Batch::start(
        dir.path(),
        undo.clone(),
        &gates(DEPROVISION, 50, 100.0),
        meta(&sim)
    )
    .is_err());
    let mut m = meta(&sim);
    m.kind = BatchKind::Undo;
    m.undo_of = Some(log.id().into());
    let batch = Batch::start(dir.path(), undo, &g, m).unwrap();
    let r = run_batch(&c, batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded(), "{:?}", r.summary);
    let stats = sim.stats();
    for u in &targets[..8] {
        let id = u.id.as_deref().unwrap();
        assert!(sim.user(id).unwrap().is_active());
        assert_eq!(stats.changes.get(id), Some(&2));
    }
    assert!(!sim
        .user(already.id.as_deref().unwrap())
        .unwrap()
        .is_active());
    assert_eq!(stats.changes.get(already.id.as_deref().unwrap()), None);
}

#[tokio::test]
async fn create_looks_up_first_and_undo_deactivates_the_created() {
    let sim = start_sim(10, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let existing = active_users(&sim, 1).remove(0);
    let mut ops = Vec::new();
    for i in 0..3 {
        let mut o = op_id(OpKind::Create, "x");
        o.scim_id = None;
        o.email = Some(format!("new{i}@example.test"));
        o.new_user = Some(NewUser {
            user_name: format!("new{i}@example.test"),
            external_id: Some(format!("N{i}")),
            given_name: Some("New".into()),
            family_name: Some(format!("User {i}")),
            email: None,
        });
        ops.push(o);
    }
    let mut dup = op(OpKind::Create, &existing);
    dup.scim_id = None;
    ops.push(dup);
    let p: Plan = plan(ops, 10);
    let g = gates(BOTH, 50, 100.0);
    let batch = Batch::start(dir.path(), p, &g, meta(&sim)).unwrap();
    let c = client(&sim, |_| {});
    let r = run_batch(&c, batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded(), "{:?}", r.summary);
    assert_eq!((r.summary.applied, r.summary.already), (3, 1));
    assert_eq!(sim.stats().requests.get("POST"), Some(&3));
    assert_eq!(sim.user_count(), 13);

    let log = journal::read_batch(std::path::Path::new(&r.summary.journal)).unwrap();
    let (undo, _) = apply::undo_plan(&log);
    assert_eq!(undo.operations.len(), 3);
    assert!(undo
        .operations
        .iter()
        .all(|o| o.op == OpKind::Deactivate && o.scim_id.is_some()));
    let batch = Batch::start(dir.path(), undo, &g, meta(&sim)).unwrap();
    let r = run_batch(&c, batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded());
    let inactive_new = sim
        .users()
        .iter()
        .filter(|u| u.user_name.starts_with("new") && !u.is_active())
        .count();
    assert_eq!(inactive_new, 3);
}

#[tokio::test]
async fn journal_holds_no_token_and_resume_refuses_another_server() {
    let sim = start_sim(10, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let users = active_users(&sim, 2);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        10,
    );
    let g = gates(DEPROVISION, 50, 100.0);
    let batch = Batch::start(dir.path(), p, &g, meta(&sim)).unwrap();
    let path = batch.journal_path().to_path_buf();
    drop(batch);
    let text = all_text(dir.path());
    assert!(!text.contains(TOKEN) && !text.contains("5Ecr3t"));
    assert!(matches!(
        Batch::resume(&path, &g, Some("http://127.0.0.1:1/scim")),
        Err(ApplyError::WrongServer { .. })
    ));
    // Resume re-checks the gates.
    assert!(matches!(
        Batch::resume(&path, &Gates::read_only(), Some(sim.base_url())),
        Err(ApplyError::Refused(_))
    ));
    let batch = Batch::resume(&path, &g, Some(sim.base_url())).unwrap();
    let r = run_batch(&client(&sim, |_| {}), batch, RunOptions::default()).await;
    assert!(r.summary.all_succeeded());
    assert!(!all_text(dir.path()).contains("5Ecr3t"));
}

/// The shared apply code refuses a plan recorded for another server, whichever front
/// end hands it over; nothing is journaled and nothing is sent.
#[tokio::test]
async fn a_plan_recorded_for_another_server_is_refused_at_batch_start() {
    let sim = start_sim(5, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let targets = active_users(&sim, 2);
    let mut p = plan(
        targets.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        5,
    );
    p.target = Some(Box::new(navscim::plan::PlanTarget {
        server: "https://other.example/scim".into(),
        profile: "emea".into(),
        tenant: None,
    }));
    let g = gates(BOTH, 50, 100.0);
    let err = Batch::start(dir.path(), p.clone(), &g, meta(&sim)).unwrap_err();
    assert!(err.to_string().contains("other.example"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Recorded for this server (the same URL, spelled with a trailing slash): accepted.
    p.target.as_mut().unwrap().server = format!("{}/", meta(&sim).base_url);
    assert!(Batch::start(dir.path(), p, &g, meta(&sim)).is_ok());
}
