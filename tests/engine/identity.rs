//! Never the wrong person (issue 10, DESIGN.md section 8): a match is a claim to
//! verify, protection follows the SCIM user, apply re-verifies who it changes and
//! counts a change only when the server's state shows it. The identity field cases
//! (`fixtures/field-cases`) plus the same kinds with other data.

use crate::field_support::*;
use navscim::apply::{self, Batch, BatchMeta, Control, Gates, RunOptions};
use navscim::journal::{BatchKind, Outcome};
use navscim::matching::{cross_conflicts, MatchStatus, Presence};
use navscim::plan::{
    build_deactivate_plan, resolve_selection, ExclusionReason, OpKind, Permissions, Plan,
    PlanCandidate, PlanContext, ProtectedUsers, Refusal, SelectionEntry, Thresholds,
};
use navscim::report::UserReport;
use navscim::sim::{Fault, SimHandle};
use tokio::sync::{mpsc, watch};

const DEPROVISION: Permissions = Permissions {
    provisioning: false,
    deprovisioning: true,
};

fn gates(protected: ProtectedUsers) -> Gates {
    Gates {
        permissions: DEPROVISION,
        thresholds: Thresholds {
            max_count: 50,
            max_percent: 100.0,
        },
        protected,
        delete_allowed: false,
    }
}

fn meta(sim: &SimHandle) -> BatchMeta {
    BatchMeta {
        kind: BatchKind::Apply,
        undo_of: None,
        plan_file: None,
        base_url: sim.base_url().into(),
    }
}

/// Applies `plan`; the journal lives as long as the returned directory.
async fn apply_with_journal(
    sim: &SimHandle,
    plan: Plan,
    gates: &Gates,
) -> (apply::BatchSummary, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let batch = Batch::start(dir.path(), plan, gates, meta(sim)).unwrap();
    let (_ctl, rx) = watch::channel(Control::Run);
    let (tx, _erx) = mpsc::unbounded_channel();
    let summary = apply::run(&client(sim), batch, &RunOptions::default(), rx, tx).await;
    (summary, dir)
}

async fn apply(sim: &SimHandle, plan: Plan, gates: &Gates) -> apply::BatchSummary {
    apply_with_journal(sim, plan, gates).await.0
}

fn ctx() -> PlanContext {
    PlanContext {
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        as_of_source: "test".into(),
        created_at: chrono::Utc::now(),
        inputs: vec![],
    }
}

/// Lookup results rows (as `navscim lookup` writes them) → plan candidates.
fn candidates(
    dir: &navscim::matching::Directory,
    outs: &[navscim::matching::LookupOutcome],
) -> Vec<PlanCandidate> {
    dir.users
        .iter()
        .zip(outs)
        .map(|(u, o)| {
            let r = UserReport::new(u, dir.presence(u), Some(o), false);
            PlanCandidate::from_report(&r).unwrap()
        })
        .collect()
}

fn select(emails: &[&str]) -> Vec<SelectionEntry> {
    emails
        .iter()
        .enumerate()
        .map(|(i, e)| SelectionEntry {
            email: e.to_string(),
            source: navscim::import::SourceRef {
                file: "leaver.txt".into(),
                line: i as u64 + 1,
            },
        })
        .collect()
}

fn deactivate_plan(cands: &[PlanCandidate], emails: &[&str], protected: &ProtectedUsers) -> Plan {
    let aliases = Default::default();
    let selected = resolve_selection(cands, &select(emails), &aliases);
    build_deactivate_plan(cands, &selected, protected, &aliases, ctx())
}

fn patches(sim: &SimHandle) -> u64 {
    sim.stats().requests.get("PATCH").copied().unwrap_or(0)
}

// ---- excel-leading-zeros/ --------------------------------------------------------

/// Alice's employee number lost its zeros and is Bruno's externalId: Alice is not
/// matched to Bruno's account, the two claiming one SCIM user are flagged, and the
/// leaver plan for Alice targets nobody (never u-5002). CLI end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excel_leading_zeros_field_case() {
    let sim = sim_json(&case_text("excel-leading-zeros", "users.json"), &[], |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let results_path = dir.path().join("results.json");
    let okta = case_path("excel-leading-zeros", "okta_after_excel.csv");
    let out = navscim(
        dir.path(),
        args(&[
            "lookup",
            okta.to_str().unwrap(),
            "--base-url",
            sim.base_url(),
            "--out",
            results_path.to_str().unwrap(),
        ]),
    )
    .await;
    // Conflicts need the admin: non-zero exit, results written.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("conflict"),
        "{}",
        text(&out.stderr)
    );
    let rows = results(&results_path);
    let alice = row(&rows, "alice.moreau@corp.example");
    assert_eq!(alice["status"], "conflict", "{alice:#}");
    let bruno = row(&rows, "bruno.silva@corp.example");
    assert_eq!(bruno["status"], "conflict", "{bruno:#}");
    assert!(
        bruno["detail"]
            .as_str()
            .unwrap()
            .contains("alice.moreau@corp.example"),
        "{bruno:#}"
    );
    for email in ["dara.quinn@corp.example", "eli.novak@corp.example"] {
        assert_eq!(row(&rows, email)["status"], "matched");
    }
    // Chen: 4567 in the export, 04567 on the server: named, not silently matched.
    let chen = row(&rows, "chen.wei@corp.example");
    assert_eq!(chen["status"], "conflict");
    assert!(
        chen["detail"].as_str().unwrap().contains("leading zeros"),
        "{chen:#}"
    );

    let plan_path = dir.path().join("plan.json");
    let leaver = case_path("excel-leading-zeros", "leaver.txt");
    let out = navscim(
        dir.path(),
        args(&[
            "plan",
            "deactivate",
            "--lookup",
            results_path.to_str().unwrap(),
            "--select",
            leaver.to_str().unwrap(),
            "--out",
            plan_path.to_str().unwrap(),
        ]),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = Plan::load(&plan_path).unwrap();
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
    assert!(plan
        .operations
        .iter()
        .all(|o| o.scim_id.as_deref() != Some("u-5002")));
    assert_eq!(plan.excluded.len(), 1);
    assert_eq!(plan.excluded[0].why, ExclusionReason::NotMatched);
    assert!(plan.excluded[0].detail.contains("conflict"));
    sim.shutdown().await;
}

/// The same kind with other data: an employee id that is a colleague's externalId,
/// with no leading zeros involved.
#[tokio::test]
async fn conflict_by_external_id() {
    let users = r#"[
      {"id":"p-1","userName":"sam.k@y.example","externalId":"700","emails":[{"value":"sam.k@y.example","primary":true}],"active":true},
      {"id":"p-2","userName":"lee.m@y.example","externalId":"701","emails":[{"value":"lee.m@y.example","primary":true}],"active":true}
    ]"#;
    let sim = sim_json(users, &[], |_| {}).await;
    // Lee's row carries Sam's id (a copy-paste slip): the externalId finds Sam, the
    // email finds Lee's own account, whose externalId is another.
    let dir = directory(&[import(
        "idp.csv",
        "Email,Employee Number\nlee.m@y.example,700\n",
    )]);
    let outs = look_up_all(&client(&sim), &dir).await;
    let lee = &outs[0];
    assert_eq!(lee.status, MatchStatus::Conflict, "{lee:#?}");
    // Both identities are kept: the SCIM user found by externalId (Sam) …
    let ids: Vec<_> = lee
        .user
        .iter()
        .chain(&lee.candidates)
        .map(|u| u.id.clone().unwrap())
        .collect();
    assert!(ids.contains(&"p-1".to_string()), "{ids:?}");
    // … and why.
    assert!(
        lee.error.as_deref().unwrap().contains("sam.k@y.example"),
        "{lee:#?}"
    );
    // No plan can target either.
    let cands = candidates(&dir, &outs);
    let plan = deactivate_plan(&cands, &["lee.m@y.example"], &ProtectedUsers::default());
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
    sim.shutdown().await;
}

/// Two source users on one SCIM user: both are conflicts ("same SCIM user as …").
#[tokio::test]
async fn two_users_on_one_scim_id_are_both_conflicts() {
    let users = r#"[{"id":"q-1","userName":"ana.new@z.example","externalId":"Z9","emails":[{"value":"ana.new@z.example","primary":true},{"value":"ana.old@z.example"}],"active":true}]"#;
    let sim = sim_json(users, &[], |_| {}).await;
    let sn = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
        ana.new@z.example,Ana,New,Z9,S1,ACTIVE,,FULL_ADMIN,\n";
    let idp = "Email,Employee Number\nana.old@z.example,Z9\n";
    let dir = directory(&[import("idp.csv", idp), import("sn.csv", sn)]);
    assert_eq!(dir.len(), 2);
    let outs = look_up_all(&client(&sim), &dir).await;
    for o in &outs {
        assert_eq!(o.status, MatchStatus::Conflict, "{o:#?}");
        assert_eq!(o.scim_id(), Some("q-1"));
        assert!(
            o.error.as_deref().unwrap().contains("same SCIM user"),
            "{o:#?}"
        );
    }
    sim.shutdown().await;
}

// ---- protection follows the SCIM user ----------------------------------------------

/// A Sales Navigator admin (or a protected user) whose IdP row carries an older email
/// and was matched, correctly, by externalId. The rows are given as the admin would
/// have them after resolving the conflict by hand (both matched to q-1).
fn older_email_rows() -> (navscim::matching::Directory, Vec<PlanCandidate>) {
    let sn = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
        ana.new@z.example,Ana,New,Z9,S1,ACTIVE,,FULL_ADMIN,\n";
    let idp = "Email,Employee Number\nana.old@z.example,Z9\n";
    let dir = directory(&[import("idp.csv", idp), import("sn.csv", sn)]);
    let scim: navscim::scim::ScimUser = serde_json::from_str(
        r#"{"id":"q-1","userName":"ana.new@z.example","externalId":"Z9","emails":[{"value":"ana.new@z.example","primary":true},{"value":"ana.old@z.example"}],"active":true}"#,
    )
    .unwrap();
    let cands = dir
        .users
        .iter()
        .map(|u| {
            let o = navscim::matching::LookupOutcome {
                status: MatchStatus::Matched { active: true },
                matched_by: Some(navscim::matching::LookupKind::ExternalId),
                user: Some(scim.clone()),
                candidates: vec![],
                attempts: vec![],
                error: None,
                warnings: vec![],
            };
            PlanCandidate::from_report(&UserReport::new(u, dir.presence(u), Some(&o), false))
                .unwrap()
        })
        .collect();
    (dir, cands)
}

const USERS_Q1: &str = r#"[{"id":"q-1","userName":"ana.new@z.example","externalId":"Z9","emails":[{"value":"ana.new@z.example","primary":true},{"value":"ana.old@z.example"}],"active":true}]"#;

#[tokio::test]
async fn an_admin_reached_through_an_older_email_row_is_never_deactivated() {
    let (_dir, cands) = older_email_rows();
    // Generated plan: the IdP row (older email, not an admin itself) is excluded
    // because its SCIM user is the admin's.
    let plan = deactivate_plan(&cands, &["ana.old@z.example"], &ProtectedUsers::default());
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
    assert_eq!(
        plan.excluded[0].why,
        ExclusionReason::Admin,
        "{:#?}",
        plan.excluded
    );
    assert_eq!(plan.excluded[0].scim_id.as_deref(), Some("q-1"));

    // Hand-edited: an operation put back for the older-email row. The gates refuse it
    // (the plan's own admin exclusion names the SCIM id), and nothing is sent.
    let sim = sim_json(USERS_Q1, &[], |_| {}).await;
    let mut edited = plan.clone();
    let mut with_op = deactivate_plan(&cands, &[], &ProtectedUsers::default());
    assert!(with_op.operations.is_empty());
    let mut op = navscim::plan::Operation {
        op: OpKind::Deactivate,
        scim_id: Some("q-1".into()),
        email: Some("ana.old@z.example".into()),
        user_name: None,
        external_id: Some("Z9".into()),
        name: "Ana".into(),
        reason: "hand-edited".into(),
        evidence: Default::default(),
        new_user: None,
    };
    edited.operations.push(op.clone());
    let refused = gates(ProtectedUsers::default()).check(&edited).unwrap_err();
    assert!(
        refused
            .iter()
            .any(|r| matches!(r, Refusal::ProtectedTarget { .. })),
        "{refused:?}"
    );
    let d = tempfile::tempdir().unwrap();
    assert!(Batch::start(
        d.path(),
        edited,
        &gates(ProtectedUsers::default()),
        meta(&sim)
    )
    .is_err());

    // Hand-edited harder: the exclusion removed too, but the admin is on the protected
    // list by their current address only: the re-read right before the request finds
    // that the SCIM user is protected, and nothing is sent.
    op.evidence.target = None;
    with_op.operations.push(op);
    let protected = ProtectedUsers::parse_list("ana.new@z.example\n");
    let summary = apply(&sim, with_op, &gates(protected)).await;
    assert_eq!(summary.failed, 1, "{summary:#?}");
    assert!(
        summary.failures[0].detail.contains("protected"),
        "{summary:#?}"
    );
    assert_eq!(patches(&sim), 0);
    assert_eq!(sim.user("q-1").unwrap().active, Some(true));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_protected_user_reached_through_an_older_email_row_is_never_deactivated() {
    let (dir, mut cands) = older_email_rows();
    for c in &mut cands {
        c.is_admin = false; // not an admin: protected by the admin's own list instead
    }
    assert_eq!(dir.len(), 2);
    let protected = ProtectedUsers::parse_list("# the boss\nana.new@z.example\n");
    let plan = deactivate_plan(&cands, &["ana.old@z.example"], &protected);
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
    assert_eq!(
        plan.excluded[0].why,
        ExclusionReason::Protected,
        "{:#?}",
        plan.excluded
    );

    // Hand-edited: the operation for the older-email row, with the identity the
    // plan would have recorded; gates refuse it by the SCIM user's own emails.
    let sim = sim_json(USERS_Q1, &[], |_| {}).await;
    let scim = sim.user("q-1").unwrap();
    let mut edited = deactivate_plan(&cands, &[], &protected);
    edited.operations.push(navscim::plan::Operation {
        op: OpKind::Deactivate,
        scim_id: Some("q-1".into()),
        email: Some("ana.old@z.example".into()),
        user_name: None,
        external_id: None,
        name: String::new(),
        reason: "hand-edited".into(),
        evidence: navscim::plan::Evidence {
            target: navscim::plan::TargetIdentity::of(&scim),
            ..Default::default()
        },
        new_user: None,
    });
    let refused = gates(protected.clone()).check(&edited).unwrap_err();
    assert!(refused
        .iter()
        .any(|r| matches!(r, Refusal::ProtectedTarget { .. })));
    // Without the recorded identity the gate cannot know; the re-read still does.
    edited.operations[0].evidence.target = None;
    let summary = apply(&sim, edited, &gates(protected)).await;
    assert_eq!(summary.failed, 1, "{summary:#?}");
    assert_eq!(patches(&sim), 0);
    sim.shutdown().await;
}

// ---- apply re-verifies who ----------------------------------------------------------

/// Lookup → plan (identity recorded) → the SCIM user's identity changes → apply skips
/// it as "identity changed": journaled, counted as failed, no request.
#[tokio::test]
async fn apply_skips_a_target_whose_identity_changed() {
    let sim = sim_json(&case_text("excel-leading-zeros", "users.json"), &[], |_| {}).await;
    let dir = directory(&[import(
        "idp.csv",
        "Email,Employee Number\ndara.quinn@corp.example,778899\neli.novak@corp.example,778900\n",
    )]);
    let outs = look_up_all(&client(&sim), &dir).await;
    let cands = candidates(&dir, &outs);
    let plan = deactivate_plan(
        &cands,
        &["dara.quinn@corp.example", "eli.novak@corp.example"],
        &ProtectedUsers::default(),
    );
    assert_eq!(plan.operations.len(), 2, "{:#?}", plan);
    let t = plan.operations[0].evidence.target.as_ref().unwrap();
    assert_eq!(t.id, "u-5004");
    assert_eq!(t.external_id.as_deref(), Some("778899"));
    assert_eq!(t.email.as_deref(), Some("dara.quinn@corp.example"));

    // The account was handed to someone else between plan and apply.
    assert!(sim.rename_user("u-5004", Some("new.hire@corp.example"), None));
    let (summary, _journal) =
        apply_with_journal(&sim, plan, &gates(ProtectedUsers::default())).await;
    assert_eq!((summary.applied, summary.failed), (1, 1), "{summary:#?}");
    assert!(!summary.all_succeeded());
    let f = &summary.failures[0];
    assert!(f.detail.contains("identity changed"), "{f:?}");
    assert!(f.detail.contains("new.hire@corp.example"), "{f:?}");
    assert_eq!(sim.user("u-5004").unwrap().active, Some(true));
    assert_eq!(sim.user("u-5005").unwrap().active, Some(false));
    // Journaled.
    let log = navscim::journal::read_batch(std::path::Path::new(&summary.journal)).unwrap();
    let states = log.op_states();
    assert_eq!(states[0].outcome(), Some(Outcome::Failed));
    assert_eq!(patches(&sim), 1);
    sim.shutdown().await;
}

/// A changed externalId alone is enough.
#[tokio::test]
async fn an_external_id_change_is_an_identity_change() {
    let sim = sim_json(&case_text("excel-leading-zeros", "users.json"), &[], |_| {}).await;
    let dir = directory(&[import(
        "idp.csv",
        "Email,Employee Number\neli.novak@corp.example,778900\n",
    )]);
    let outs = look_up_all(&client(&sim), &dir).await;
    let plan = deactivate_plan(
        &candidates(&dir, &outs),
        &["eli.novak@corp.example"],
        &ProtectedUsers::default(),
    );
    assert!(sim.rename_user("u-5005", None, Some(Some("999999"))));
    let summary = apply(&sim, plan, &gates(ProtectedUsers::default())).await;
    assert_eq!(summary.failed, 1);
    assert!(summary.failures[0].detail.contains("externalId"));
    assert_eq!(patches(&sim), 0);
    sim.shutdown().await;
}

/// 204 without a change, and 404 right after the 200 re-read: not `applied`.
#[tokio::test]
async fn a_204_no_op_and_a_404_after_200_are_not_applied() {
    for fault in [Fault::NoOpPatch, Fault::NotFoundAfterRead] {
        let sim = sim_json(
            &case_text("excel-leading-zeros", "users.json"),
            &[fault],
            |_| {},
        )
        .await;
        let dir = directory(&[import(
            "idp.csv",
            "Email,Employee Number\ndara.quinn@corp.example,778899\n",
        )]);
        let outs = look_up_all(&client(&sim), &dir).await;
        let plan = deactivate_plan(
            &candidates(&dir, &outs),
            &["dara.quinn@corp.example"],
            &ProtectedUsers::default(),
        );
        assert_eq!(plan.operations.len(), 1);
        let summary = apply(&sim, plan, &gates(ProtectedUsers::default())).await;
        assert_eq!(
            (summary.applied, summary.already, summary.failed),
            (0, 0, 1),
            "{fault}: {summary:#?}"
        );
        assert!(!summary.all_succeeded());
        assert!(
            summary.failures[0].detail.contains("still active"),
            "{fault}: {summary:#?}"
        );
        assert_eq!(sim.user("u-5004").unwrap().active, Some(true));
        sim.shutdown().await;
    }
}

/// And a well-behaved server: applied, confirmed by its answer.
#[tokio::test]
async fn a_real_deactivation_is_applied() {
    let sim = sim_json(&case_text("excel-leading-zeros", "users.json"), &[], |_| {}).await;
    let dir = directory(&[import(
        "idp.csv",
        "Email,Employee Number\ndara.quinn@corp.example,778899\n",
    )]);
    let outs = look_up_all(&client(&sim), &dir).await;
    let plan = deactivate_plan(
        &candidates(&dir, &outs),
        &["dara.quinn@corp.example"],
        &ProtectedUsers::default(),
    );
    let summary = apply(&sim, plan, &gates(ProtectedUsers::default())).await;
    assert_eq!(summary.applied, 1, "{summary:#?}");
    assert_eq!(sim.user("u-5004").unwrap().active, Some(false));
    sim.shutdown().await;
}

// ---- identifier hygiene -----------------------------------------------------------

/// invisible-characters/: each person is one user, joined to their seat and matched;
/// the import says which file:line:column it cleaned; nobody is both "not found" and
/// an orphan seat.
#[tokio::test]
async fn invisible_characters_field_case() {
    let idp = import(
        "idp_pasted.csv",
        &case_text("invisible-characters", "idp_pasted.csv"),
    );
    let sn_text = case_text("invisible-characters", "salesnav_users.csv");
    let sn = import("salesnav_users.csv", &sn_text);
    let cleaned: Vec<String> = idp.warnings.iter().map(|w| w.to_string()).collect();
    for (line, ch) in [(2, "U+00A0"), (3, "U+200B"), (4, "U+FEFF")] {
        let at = format!("idp_pasted.csv:{line}");
        assert!(
            cleaned.iter().any(|w| w.contains(&at) && w.contains(ch)),
            "{line} {ch}: {cleaned:#?}"
        );
    }
    assert!(
        cleaned
            .iter()
            .any(|w| w.contains("idp_pasted.csv:3: column \"Email\"")
                && w.contains("U+200B (zero-width space) at character 1")),
        "{cleaned:#?}"
    );
    let dir = directory(&[idp, sn]);
    assert_eq!(dir.len(), 3, "{:#?}", dir.users);
    assert!(dir.users.iter().all(|u| dir.presence(u) == Presence::Both));

    let sim = navscim::sim::start(navscim::sim::SimConfig {
        token: TOKEN.into(),
        seed_csv: Some(sn_text),
        ..Default::default()
    })
    .await
    .unwrap();
    let outs = look_up_all(&client(&sim), &dir).await;
    for (u, o) in dir.users.iter().zip(&outs) {
        assert!(
            matches!(o.status, MatchStatus::Matched { .. }),
            "{}: {o:#?}",
            u.key
        );
    }
    sim.shutdown().await;
}

/// Other invisible characters, inside the address too.
#[test]
fn other_invisible_characters_are_cleaned() {
    let idp = import(
        "idp.csv",
        "Email,First Name\nzoe\u{2060}.x@corp.example,Zoe\n\u{00AD}max@corp.example\u{202F},Max\nkai@corp\u{200D}.example,Kai\u{00A0}Lu\n",
    );
    let emails: Vec<_> = idp
        .idp_users()
        .iter()
        .map(|u| u.email.clone().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["zoe.x@corp.example", "max@corp.example", "kai@corp.example"]
    );
    assert_eq!(idp.idp_users()[2].first_name.as_deref(), Some("Kai Lu"));
    assert!(idp.warnings.len() >= 3, "{:#?}", idp.warnings);
    assert_eq!(
        navscim::import::normalize_email("\u{FEFF}A@B.example\u{200B}"),
        "a@b.example"
    );
}

/// One seat id naming different people: both stay users, both conflicts.
#[tokio::test]
async fn duplicate_seat_ids_naming_different_people_are_conflicts() {
    let sn = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
        ivy.chen@corp.example,Ivy,Chen,E1,S-77,ACTIVE,,NONE,\n\
        tom.berg@corp.example,Tom,Berg,E2,S-77,ACTIVE,,NONE,\n";
    let imp = import("sn.csv", sn);
    assert_eq!(imp.salesnav_users().len(), 2);
    assert!(
        imp.warnings.iter().any(|w| w.to_string().contains("S-77")),
        "{:#?}",
        imp.warnings
    );
    let dir = directory(&[imp]);
    assert_eq!(dir.len(), 2);
    let sim = navscim::sim::start(navscim::sim::SimConfig {
        token: TOKEN.into(),
        seed_csv: Some(sn.into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let outs = look_up_all(&client(&sim), &dir).await;
    for o in &outs {
        assert_eq!(o.status, MatchStatus::Conflict, "{o:#?}");
        assert!(o.error.as_deref().unwrap().contains("S-77"));
    }
    // Pure: the cross-user pass alone names the other person.
    let marks = cross_conflicts(&dir, |i| outs.get(i).map(|o| (o.status, o.scim_id())));
    assert!(marks
        .iter()
        .any(|(i, why, _)| *i == 0 && why.contains("tom.berg")));
    sim.shutdown().await;
}
