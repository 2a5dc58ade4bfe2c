//! `navscim plan` run as a binary: the demo lookup results and usage report give the
//! exact operations and exclusions for 30/60/90 days; reactivate/provision by
//! selection; bad inputs exit 2 with the file and line.

use crate::plan_support;
use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use navscim::plan::{exclusion_name, OpKind, Plan};
use plan_support::*;
use support::{stderr, stdout, TestDir};

/// The test's directory (see `support::TestDir`).
struct Env(TestDir);

impl Env {
    fn new() -> Self {
        Env(TestDir::new())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path(name)
    }

    fn write(&self, name: &str, text: &str) -> String {
        self.0.write(name, text).display().to_string()
    }

    /// The demo lookup results, as `navscim lookup --out results.json` writes them.
    fn demo_results(&self) -> String {
        let json = serde_json::to_string_pretty(&demo_reports()).unwrap();
        self.write("results.json", &json)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.0.command(args, None).output().unwrap()
    }

    fn plan(&self, name: &str) -> Plan {
        serde_json::from_str(&std::fs::read_to_string(self.path(name)).unwrap()).unwrap()
    }
}

fn usage_csv() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo/usage.csv")
        .display()
        .to_string()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo")
        .join(name)
        .display()
        .to_string()
}

fn excluded(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in &plan.excluded {
        *m.entry(exclusion_name(e.why)).or_default() += 1;
    }
    m
}

#[test]
fn deprovision_demo_for_30_60_90_days() {
    let env = Env::new();
    let results = env.demo_results();
    let out = env.path("plan.json").display().to_string();
    let usage = usage_csv();
    for (days, ops) in [("30", 381usize), ("60", 152), ("90", 66)] {
        let o = env.run(&[
            "plan",
            "deprovision",
            "--lookup",
            &results,
            "--usage",
            &usage,
            "--idle-days",
            days,
            "--out",
            &out,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let plan = env.plan("plan.json");
        assert_eq!(plan.operations.len(), ops, "threshold {days}");
        assert!(plan.operations.iter().all(|o| o.op == OpKind::Deactivate));
        let want: BTreeMap<&str, usize> = [
            ("admin", 7),
            ("not_matched", 45),
            ("already_inactive", 42),
            ("never_activated", 80),
        ]
        .into_iter()
        .collect();
        assert_eq!(excluded(&plan), want, "threshold {days}");
        assert_eq!(
            plan.parameters["counts"]["excluded"]["not_idle"],
            861 - ops,
            "threshold {days}"
        );
        let kinds: Vec<&str> = plan.inputs.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["lookup_results", "usage_report"]);
        assert_eq!(plan.inputs[0].rows, 1035);
        assert_eq!(plan.inputs[1].rows, 988);
        assert_eq!(plan.parameters["as_of"], "2025-05-31");
        assert_eq!(
            plan.parameters["as_of_source"],
            "end of the usage report period"
        );
        assert_eq!(plan.version, 1);

        let s = stdout(&o);
        assert!(
            s.contains(&format!(
                "Deprovision plan: {ops} users to deactivate (of 990 matched users)"
            )),
            "{s}"
        );
        assert!(
            s.contains(&format!(
                "excluded: admin 7, not matched 45, already inactive 42, never activated 80, not idle {} (0 listed)",
                861 - ops
            )),
            "{s}"
        );
        assert!(s.contains("usage report: 988 rows, 985 joined to users (980 by email, 0 by name), 3 joined nobody"), "{s}");
        assert!(s.contains("former.user2@northwind.example — no user with this email"));
        assert!(s.contains(&format!("operations: deactivate {ops}")));
        assert!(
            s.contains(&format!("{ops} operations exceed the limit of 50")),
            "{s}"
        );
    }
}

#[test]
fn deprovision_options_never_activated_protect_as_of() {
    let env = Env::new();
    let results = env.demo_results();
    let out = env.path("plan.json").display().to_string();
    let usage = usage_csv();
    let base = [
        "plan",
        "deprovision",
        "--lookup",
        results.as_str(),
        "--usage",
        usage.as_str(),
        "--out",
        out.as_str(),
    ];

    let mut args = base.to_vec();
    args.push("--include-never-activated");
    let o = env.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    assert_eq!(plan.operations.len(), 146);
    assert_eq!(
        plan.operations
            .iter()
            .filter(|o| o.evidence.never_activated == Some(true))
            .count(),
        80
    );

    // Protect the two most idle users (one by email, in capitals; one by SCIM id).
    let p90 = {
        let o = env.run(&base);
        assert_eq!(o.status.code(), Some(0));
        env.plan("plan.json")
    };
    let a = p90.operations[0].email.clone().unwrap().to_uppercase();
    let b = p90.operations[1].scim_id.clone().unwrap();
    let protect = env.write("protect.txt", &format!("# keep\n{a}\n{b} # by id\n"));
    let mut args = base.to_vec();
    args.extend(["--protect", protect.as_str()]);
    let o = env.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    assert_eq!(plan.operations.len(), 64);
    assert_eq!(excluded(&plan)["protected"], 2);
    assert_eq!(plan.inputs[1].kind, "protected_list");
    assert!(stdout(&o).contains("protected 2"));

    // Measured to a later date, everyone has been idle 30 days longer.
    let mut args = base.to_vec();
    args.extend(["--as-of", "2025-06-30", "--idle-days", "120"]);
    let o = env.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    assert_eq!(
        plan.operations.len(),
        66,
        "idle > 90 on 05-31 = idle > 120 on 06-30"
    );
    assert_eq!(plan.parameters["as_of_source"], "given with --as-of");

    // Without a usage report, nobody is judged idle.
    let mut args = base.to_vec();
    args.drain(4..6);
    let o = env.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    assert!(plan.operations.is_empty());
    assert_eq!(excluded(&plan)["no_usage"], 941);
    assert!(stdout(&o).contains("nobody can be judged idle"));
    assert!(stdout(&o).contains("apply would pass the thresholds"));
}

#[test]
fn grace_period_from_scim_created_in_the_results() {
    let env = Env::new();
    let results = env.write(
        "results.json",
        r#"[
  {"email": "new@x.example", "name": "New Hire", "status": "matched", "active": true,
   "scim_id": "u1", "is_admin": false, "scim_created": "2025-05-20T10:00:00Z",
   "candidates": [{"id": "u1"}], "attempts": []},
  {"email": "old@x.example", "name": "Old Timer", "status": "matched", "active": true,
   "scim_id": "u2", "scim_created": "2024-01-02"},
  {"email": "nobody@x.example", "name": "No Body", "status": "not_found"}
]"#,
    );
    let usage = env.write(
        "usage.csv",
        "Name,Email,Last Active Date,Days Active,Searches\n\
         New Hire,new@x.example,,0,0\n\
         Old Timer,,2025-01-01,3,10\n",
    );
    let out = env.path("plan.json").display().to_string();
    let o = env.run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--usage",
        &usage,
        "--include-never-activated",
        "--as-of",
        "2025-05-31",
        "--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    assert_eq!(plan.operations.len(), 1);
    let op = &plan.operations[0];
    assert_eq!(op.email.as_deref(), Some("old@x.example"));
    assert_eq!(
        op.reason,
        "idle 150 days (threshold 90), last active 2025-01-01"
    );
    assert_eq!(op.evidence.sources, ["usage usage.csv:3 (joined by name)"]);
    let new = &plan.excluded[1];
    assert_eq!(exclusion_name(new.why), "recently_provisioned");
    assert_eq!(
        new.detail,
        "provisioned 2025-05-20, 11 days before 2025-05-31 (grace period 30 days)"
    );
    assert_eq!(exclusion_name(plan.excluded[0].why), "not_matched");

    // A grace period of 10 days no longer covers the new hire: never activated.
    let o = env.run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--usage",
        &usage,
        "--include-never-activated",
        "--grace-days",
        "10",
        "--as-of",
        "2025-05-31",
        "--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(env.plan("plan.json").operations.len(), 2);
}

/// Emails of demo users by lookup status.
fn demo_emails(status: &str, active: Option<bool>) -> Vec<String> {
    demo_reports()
        .into_iter()
        .filter(|r| r.status == status && r.active == active && !r.is_admin)
        .filter_map(|r| r.email)
        .collect()
}

#[test]
fn reactivate_selected_users() {
    let env = Env::new();
    let results = env.demo_results();
    let inactive = demo_emails("matched", Some(false));
    let active = demo_emails("matched", Some(true));
    let select = env.write(
        "select.txt",
        &format!(
            "# to bring back\n{}\n{}\n\n{}\nstranger@northwind.example\n{}\n",
            inactive[0].to_uppercase(),
            inactive[1],
            active[0],
            inactive[0]
        ),
    );
    let out = env.path("plan.json").display().to_string();
    let o = env.run(&[
        "plan",
        "reactivate",
        "--lookup",
        &results,
        "--select",
        &select,
        "--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    let ops: Vec<(OpKind, Option<&str>)> = plan
        .operations
        .iter()
        .map(|o| (o.op, o.email.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            (OpKind::Reactivate, Some(inactive[0].as_str())),
            (OpKind::Reactivate, Some(inactive[1].as_str()))
        ]
    );
    assert!(plan.operations.iter().all(|o| o.scim_id.is_some()));
    let want: BTreeMap<&str, usize> = [("already_active", 1), ("not_matched", 1)]
        .into_iter()
        .collect();
    assert_eq!(excluded(&plan), want);
    let stranger = plan
        .excluded
        .iter()
        .find(|e| e.email.as_deref() == Some("stranger@northwind.example"))
        .unwrap();
    assert!(stranger
        .detail
        .ends_with("select.txt:6, but not in the lookup results"));
    let s = stdout(&o);
    assert!(
        s.contains("Reactivate plan: 2 users to reactivate (5 selected)"),
        "{s}"
    );
    assert!(s.contains("operations: reactivate 2"), "{s}");
    assert!(s.contains("apply would pass the thresholds"), "{s}");
}

#[test]
fn deactivate_selected_users_leaves_admins_protected_and_inactive_alone() {
    let env = Env::new();
    let results = env.demo_results();
    let active = demo_emails("matched", Some(true));
    let inactive = demo_emails("matched", Some(false));
    let admin = demo_reports()
        .into_iter()
        .find(|r| r.is_admin && r.status == "matched")
        .and_then(|r| r.email)
        .expect("the demo has admins");
    let select = env.write(
        "leavers.txt",
        &format!(
            "{}\n{}\n{}\n{}\n{admin}\n",
            active[0], active[1], active[2], inactive[0]
        ),
    );
    let protect = env.write("protect.txt", &format!("# keep\n{}\n", active[2]));
    let out = env.path("plan.json").display().to_string();
    let o = env.run(&[
        "plan",
        "deactivate",
        "--lookup",
        &results,
        "--select",
        &select,
        "--protect",
        &protect,
        "--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    let ops: Vec<(OpKind, Option<&str>)> = plan
        .operations
        .iter()
        .map(|o| (o.op, o.email.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            (OpKind::Deactivate, Some(active[0].as_str())),
            (OpKind::Deactivate, Some(active[1].as_str()))
        ]
    );
    let want: BTreeMap<&str, usize> = [("protected", 1), ("admin", 1), ("already_inactive", 1)]
        .into_iter()
        .collect();
    assert_eq!(excluded(&plan), want);
    assert!(plan.inputs.iter().any(|i| i.kind == "protected_list"));
    let s = stdout(&o);
    assert!(
        s.contains("Deactivate plan: 2 users to deactivate (5 selected)"),
        "{s}"
    );
}

#[test]
fn provision_selected_not_found_users_from_the_idp_export() {
    let env = Env::new();
    let results = env.demo_results();
    let manifest: serde_json::Value =
        serde_json::from_str(navscim::import::demo::MANIFEST_JSON).unwrap();
    let nf: Vec<String> = serde_json::from_value(manifest["not_found"].clone()).unwrap();
    let active = demo_emails("matched", Some(true));
    let inactive = demo_emails("matched", Some(false));
    let select = env.write(
        "select.csv",
        &format!(
            "Name;Email Address\nA;{}\nB;{}\nC;{}\nD;{}\n",
            nf[0], nf[1], active[0], inactive[0]
        ),
    );
    let out = env.path("plan.json").display().to_string();
    let idp = fixture("idp_okta.csv");
    let o = env.run(&[
        "plan",
        "provision",
        "--idp",
        &idp,
        "--lookup",
        &results,
        "--select",
        &select,
        "--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = env.plan("plan.json");
    assert_eq!(plan.operations.len(), 2);
    let okta = import(
        navscim::import::demo::IDP_OKTA_NAME,
        navscim::import::demo::IDP_OKTA_CSV,
    );
    for (op, email) in plan.operations.iter().zip(&nf) {
        assert_eq!(op.op, OpKind::Create);
        assert_eq!(op.scim_id, None);
        let src = okta
            .idp_users()
            .iter()
            .find(|u| u.email.as_deref() == Some(email.as_str()))
            .unwrap();
        let nu = op.new_user.as_ref().unwrap();
        assert_eq!(Some(nu.user_name.clone()), src.user_name);
        assert_eq!(nu.email.as_deref(), Some(email.as_str()));
        assert_eq!(nu.given_name, src.first_name);
        assert_eq!(nu.family_name, src.last_name);
        assert_eq!(nu.external_id, src.employee_id);
    }
    let want: BTreeMap<&str, usize> = [("already_active", 1), ("already_inactive", 1)]
        .into_iter()
        .collect();
    assert_eq!(excluded(&plan), want);
    assert!(plan
        .excluded
        .iter()
        .any(|e| e.detail.contains("use `navscim plan reactivate`")));
    assert_eq!(plan.inputs[1].kind, "idp_export");
    assert!(stdout(&o).contains("Provision plan: 2 users to create (4 selected)"));
}

#[test]
fn bad_inputs_exit_2_with_file_and_line() {
    let env = Env::new();
    let results = env.demo_results();
    let out = env.path("plan.json").display().to_string();
    let run = |args: &[&str]| {
        let o = env.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(!env.path("plan.json").exists(), "no plan written");
        stderr(&o)
    };

    let missing = env.path("nope.json").display().to_string();
    let e = run(&["plan", "deprovision", "--lookup", &missing, "--out", &out]);
    assert!(e.contains("nope.json: cannot read"), "{e}");

    let broken = env.write(
        "broken.json",
        "[\n  {\"email\": \"a@x.io\",\n  \"status\": }\n]",
    );
    let e = run(&["plan", "deprovision", "--lookup", &broken, "--out", &out]);
    assert!(e.contains("broken.json:3: not lookup results"), "{e}");

    let odd = env.write(
        "odd.json",
        r#"[{"email": "a@x.io", "status": "matched"}, {"email": "b@x.io", "status": "found"}]"#,
    );
    let e = run(&["plan", "deprovision", "--lookup", &odd, "--out", &out]);
    assert!(
        e.contains("odd.json: user #2 (b@x.io): unknown status \"found\""),
        "{e}"
    );

    let csv = env.write("results.csv", "email,status\n");
    let e = run(&["plan", "deprovision", "--lookup", &csv, "--out", &out]);
    assert!(e.contains("lookup results must be JSON"), "{e}");

    let sn = fixture("salesnav_users.csv");
    let e = run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--usage",
        &sn,
        "--out",
        &out,
    ]);
    assert!(
        e.contains(
            "salesnav_users.csv: not a usage report (recognised as Sales Navigator user export"
        ),
        "{e}"
    );

    let e = run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--domain-alias",
        "nodomain",
        "--out",
        &out,
    ]);
    assert!(e.contains("--domain-alias"), "{e}");

    let e = run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--idle-days",
        "ninety",
        "--out",
        &out,
    ]);
    assert!(e.contains("ninety"), "{e}");

    let e = run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--as-of",
        "31/05/2025",
        "--out",
        &out,
    ]);
    assert!(e.contains("31/05/2025"), "{e}");

    let select = env.write("sel.txt", "a@northwind.example\nnot-an-email\n");
    let e = run(&[
        "plan",
        "reactivate",
        "--lookup",
        &results,
        "--select",
        &select,
        "--out",
        &out,
    ]);
    assert!(
        e.contains("sel.txt:2: \"not-an-email\" is not an email address"),
        "{e}"
    );

    let select = env.write("sel.csv", "name,dept\nA,Sales\n");
    let e = run(&[
        "plan",
        "reactivate",
        "--lookup",
        &results,
        "--select",
        &select,
        "--out",
        &out,
    ]);
    assert!(e.contains("sel.csv:1: no email column"), "{e}");

    let e = run(&["plan", "deprovision", "--lookup", &results]);
    assert!(e.contains("--out"), "{e}");
}

/// The whole headless path: `navscim lookup` against the simulator seeded with the
/// demo Sales Navigator export, then `navscim plan deprovision` on its results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_then_plan_against_the_simulator() {
    let sim = navscim::sim::start(navscim::sim::SimConfig {
        token: "plan-test-token".into(),
        seed_csv: Some(navscim::import::demo::SALESNAV_USERS_CSV.into()),
        ..navscim::sim::SimConfig::default()
    })
    .await
    .unwrap();
    let base = sim.base_url().to_string();
    let env = Env::new();
    let results = env.path("results.json").display().to_string();
    let out = env.path("plan.json").display().to_string();
    let (idp, sn, usage) = (
        fixture("idp_okta.csv"),
        fixture("salesnav_users.csv"),
        usage_csv(),
    );
    let (env, lookup, plan) = tokio::task::spawn_blocking(move || {
        let lookup = env
            .0
            .command(
                &[
                    "lookup",
                    &idp,
                    &sn,
                    "--base-url",
                    &base,
                    "--concurrency",
                    "16",
                    "--out",
                    &results,
                ],
                Some("plan-test-token"),
            )
            .output()
            .unwrap();
        let plan = env.run(&[
            "plan",
            "deprovision",
            "--lookup",
            &results,
            "--usage",
            &usage,
            "--out",
            &out,
        ]);
        (env, lookup, plan)
    })
    .await
    .unwrap();
    assert_eq!(lookup.status.code(), Some(0), "{}", stderr(&lookup));
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let p = env.plan("plan.json");
    assert_eq!(p.matched_users, 990);
    assert_eq!(p.operations.len(), 66);
    let want: BTreeMap<&str, usize> = [
        ("admin", 7),
        ("not_matched", 45),
        ("already_inactive", 42),
        ("never_activated", 80),
    ]
    .into_iter()
    .collect();
    assert_eq!(excluded(&p), want);
    // The SCIM ids are the simulator's.
    for op in &p.operations {
        let id = op.scim_id.as_deref().unwrap();
        let u = sim.user(id).unwrap();
        assert!(u.is_active());
        assert_eq!(
            u.user_name.to_lowercase(),
            op.email.as_deref().unwrap().to_lowercase()
        );
    }
    sim.shutdown().await;
}

#[test]
fn unreadable_usage_rows_are_reported_and_their_users_left_alone() {
    let env = Env::new();
    let results = env.write(
        "results.json",
        r#"[
  {"email": "a@x.example", "name": "A A", "status": "matched", "active": true, "scim_id": "u1"},
  {"email": "b@x.example", "name": "B B", "status": "matched", "active": true, "scim_id": "u2"}
]"#,
    );
    let usage = env.write(
        "usage.csv",
        "Name,Email,Last Active Date,Days Active\n\
         A A,a@x.example,2025-01-01,3\n\
         B B,b@x.example,2025-13-45,2\n",
    );
    let out = env.path("plan.json").display().to_string();
    let o = env.run(&[
        "plan",
        "deprovision",
        "--lookup",
        &results,
        "--usage",
        &usage,
        "--as-of",
        "2025-05-31",
        "--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("usage.csv:3"), "{e}");
    assert!(e.contains("row skipped"), "{e}");
    let plan = env.plan("plan.json");
    assert_eq!(plan.operations.len(), 1);
    assert_eq!(plan.operations[0].email.as_deref(), Some("a@x.example"));
    assert_eq!(plan.excluded.len(), 1);
    assert_eq!(exclusion_name(plan.excluded[0].why), "no_usage");
    assert!(plan.parameters["usage_row_errors"][0]
        .as_str()
        .unwrap()
        .starts_with("usage.csv:3"));
    assert!(stdout(&o).contains("1 usage rows could not be read"));
}
