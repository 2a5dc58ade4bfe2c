//! Plans from a selection (reactivate, provision), the lookup-results reader, and the
//! TUI's way in (directory + lookup outcomes, marked users).

use crate::plan_support;

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use navscim::import::SourceRef;
use navscim::matching::{DomainAliases, LookupOutcome, MatchStatus};
use navscim::plan::{
    build_deprovision_plan, build_deprovision_plan_for_marked, build_provision_plan,
    build_reactivate_plan, join_candidates, parse_selection, read_lookup_results,
    resolve_selection, scim_created, DeprovisionParams, ExclusionReason, OpKind, PlanCandidate,
    PlanContext, ProtectedUsers, Selected, SelectionEntry, UsageData,
};
use navscim::scim::ScimUser;
use plan_support::*;

fn ctx() -> PlanContext {
    PlanContext {
        as_of: demo_as_of(),
        as_of_source: "test".into(),
        created_at: Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).unwrap(),
        inputs: vec![],
    }
}

fn cand(email: &str, status: MatchStatus) -> PlanCandidate {
    PlanCandidate {
        email: Some(email.into()),
        user_name: None,
        external_id: Some(format!("E-{email}")),
        name: "Ann van der Berg".into(),
        first_name: None,
        last_name: None,
        status,
        scim_id: match status {
            MatchStatus::Matched { .. } => Some(format!("id-{email}")),
            _ => None,
        },
        is_admin: false,
        license_status: None,
        provisioned_on: None,
        sources: vec![],
        scim: None,
    }
}

fn entry(email: &str, line: u64) -> SelectionEntry {
    SelectionEntry {
        email: email.into(),
        source: SourceRef {
            file: "sel.txt".into(),
            line,
        },
    }
}

#[test]
fn selection_files_lines_and_csv() {
    let got = parse_selection(
        "sel.txt",
        "\u{feff}# header comment\n\nann@x.io  # trailing\n Bob@X.io \n",
    )
    .unwrap();
    assert_eq!(got, vec![entry("ann@x.io", 3), entry("Bob@X.io", 4)]);

    let got = parse_selection(
        "sel.csv",
        "Name,\"Email Address\",Dept\n\"Lee, Ann\",ann@x.io,Sales\n,,\nBob,bob@x.io,\n",
    )
    .unwrap();
    let emails: Vec<(&str, u64)> = got
        .iter()
        .map(|e| (e.email.as_str(), e.source.line))
        .collect();
    assert_eq!(emails, vec![("ann@x.io", 2), ("bob@x.io", 4)]);

    // Semicolons, and userPrincipalName as the column.
    let got = parse_selection("e.csv", "displayName;userPrincipalName\nA;a@x.io\n").unwrap();
    assert_eq!(got[0].email, "a@x.io");

    let err =
        parse_selection("e.csv", "displayName,userPrincipalName\nA,nope\nB,b@x.io\n").unwrap_err();
    assert_eq!(
        err,
        vec!["e.csv:2: column \"userPrincipalName\": \"nope\" is not an email address"]
    );
    assert!(parse_selection("e.csv", "Name,Dept\nA,B\n").unwrap_err()[0]
        .starts_with("e.csv:1: no email column"));
    assert_eq!(parse_selection("empty.txt", "").unwrap(), vec![]);
}

#[test]
fn selection_resolves_by_identity_with_aliases_once_each() {
    let candidates = vec![
        cand("ann@corp.example", MatchStatus::Matched { active: false }),
        cand("bob@corp.example", MatchStatus::NotFound),
    ];
    let aliases = DomainAliases::parse("corp-example.co.uk=corp.example").unwrap();
    let got = resolve_selection(
        &candidates,
        &[
            entry("ANN@corp-example.co.uk", 1),
            entry("who@corp.example", 2),
            entry("bob@corp.example", 3),
            entry("ann@corp.example", 4),
        ],
        &aliases,
    );
    assert_eq!(
        got,
        vec![
            Selected::Candidate(0),
            Selected::Unknown {
                email: "who@corp.example".into(),
                source: SourceRef {
                    file: "sel.txt".into(),
                    line: 2
                }
            },
            Selected::Candidate(1),
        ]
    );
}

#[test]
fn reactivate_and_provision_rules() {
    let candidates = vec![
        cand("off@x.io", MatchStatus::Matched { active: false }),
        cand("on@x.io", MatchStatus::Matched { active: true }),
        cand("nf@x.io", MatchStatus::NotFound),
        cand("amb@x.io", MatchStatus::Ambiguous),
        cand("ign@x.io", MatchStatus::Ignored),
        cand("err@x.io", MatchStatus::Error),
    ];
    let all: Vec<Selected> = (0..candidates.len()).map(Selected::Candidate).collect();

    let plan = build_reactivate_plan(&candidates, &all, ctx());
    assert_eq!(plan.operations.len(), 1);
    assert_eq!(plan.operations[0].op, OpKind::Reactivate);
    assert_eq!(plan.operations[0].scim_id.as_deref(), Some("id-off@x.io"));
    let whys: Vec<(&str, ExclusionReason)> = plan
        .excluded
        .iter()
        .map(|e| (e.email.as_deref().unwrap(), e.why))
        .collect();
    assert_eq!(
        whys,
        vec![
            ("ign@x.io", ExclusionReason::Ignored),
            ("amb@x.io", ExclusionReason::NotMatched),
            ("err@x.io", ExclusionReason::NotMatched),
            ("nf@x.io", ExclusionReason::NotMatched),
            ("on@x.io", ExclusionReason::AlreadyActive),
        ]
    );
    assert!(plan.excluded[3].detail.contains("navscim plan provision"));
    assert_eq!(plan.matched_users, 2);
    assert_eq!(plan.parameters["kind"], "reactivate");
    assert_eq!(plan.parameters["counts"]["excluded"]["not_matched"], 3);

    let plan = build_provision_plan(&candidates, &all, ctx());
    assert_eq!(plan.operations.len(), 1);
    let op = &plan.operations[0];
    assert_eq!(op.op, OpKind::Create);
    assert_eq!(op.scim_id, None);
    let nu = op.new_user.as_ref().unwrap();
    assert_eq!(nu.user_name, "nf@x.io");
    assert_eq!(nu.external_id.as_deref(), Some("E-nf@x.io"));
    // Without IdP first/last names, the full name is split at the first space.
    assert_eq!(nu.given_name.as_deref(), Some("Ann"));
    assert_eq!(nu.family_name.as_deref(), Some("van der Berg"));
    let whys: Vec<(&str, ExclusionReason)> = plan
        .excluded
        .iter()
        .map(|e| (e.email.as_deref().unwrap(), e.why))
        .collect();
    assert_eq!(
        whys,
        vec![
            ("ign@x.io", ExclusionReason::Ignored),
            ("amb@x.io", ExclusionReason::NotMatched),
            ("err@x.io", ExclusionReason::NotMatched),
            ("off@x.io", ExclusionReason::AlreadyInactive),
            ("on@x.io", ExclusionReason::AlreadyActive),
        ]
    );
    assert!(plan.excluded[1]
        .detail
        .contains("cannot tell whether the user exists"));

    // A not-found user without any user name or email cannot be created.
    let mut nameless = cand("x@x.io", MatchStatus::NotFound);
    nameless.email = None;
    let plan = build_provision_plan(&[nameless], &[Selected::Candidate(0)], ctx());
    assert!(plan.operations.is_empty());
    assert_eq!(plan.excluded[0].why, ExclusionReason::NotMatched);
}

#[test]
fn lookup_results_from_the_lookup_command_and_the_users_pane() {
    // The shape `navscim lookup --out` writes: extra fields, candidates as objects.
    let text = r#"[
      {"key": "a@x.io", "email": "a@x.io", "user_name": "a@x.io", "external_id": "E1",
       "name": "Ann Lee", "status": "matched", "active": false, "scim_id": "s1",
       "scim_user_name": "a@x.io", "matched_by": "external_id", "orphan": false,
       "presence": "both", "is_admin": true, "license_status": "INACTIVE",
       "sources": [{"file": "okta.csv", "line": 2}],
       "candidates": [{"id": "s1", "user_name": "a@x.io", "active": false}],
       "warnings": [], "detail": "", "attempts": [],
       "scim_created": "2025-05-01T23:30:00-02:00"},
      {"email": "b@x.io", "name": "B", "status": "matched", "active": null},
      {"email": "c@x.io", "name": "C", "status": "ambiguous", "candidates": [{"id": "1"}, {"id": "2"}]}
    ]"#;
    let c = read_lookup_results("r.json", text).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].status, MatchStatus::Matched { active: false });
    assert!(c[0].is_admin);
    assert_eq!(c[0].provisioned_on, Some(date("2025-05-02")), "UTC date");
    assert_eq!(c[0].sources[0].to_string(), "okta.csv:2");
    assert_eq!(
        c[1].status,
        MatchStatus::Matched { active: true },
        "absent active means active (RFC 7643)"
    );
    assert_eq!(c[2].status, MatchStatus::Ambiguous);

    // The Users pane's rows (report::UserReport) read the same.
    let reports = demo_reports();
    let json = serde_json::to_string(&reports).unwrap();
    let from_json = read_lookup_results("results.json", &json).unwrap();
    let direct: Vec<PlanCandidate> = reports
        .iter()
        .map(|r| PlanCandidate::from_report(r).unwrap())
        .collect();
    assert_eq!(from_json, direct);

    for (text, want) in [
        ("{}", "r.json:1: not lookup results"),
        (
            "[{\"email\": \"a@x.io\"}]",
            "r.json: user #1 : missing field `status`",
        ),
        (
            "[{\"email\": \"a@x.io\", \"status\": \"matched\", \"scim_created\": \"soon\"}]",
            "r.json: user #1 (a@x.io): scim_created \"soon\" is not a date",
        ),
    ] {
        let err = read_lookup_results("r.json", text).unwrap_err();
        assert!(err.starts_with(want), "{err}");
    }
}

#[test]
fn the_tui_path_from_directory_and_marks() {
    let dir = demo_directory();
    let reports = demo_reports();
    // The Users pane's state: a directory and an outcome per user.
    let outcomes: Vec<LookupOutcome> = reports
        .iter()
        .map(|r| {
            let status = navscim::plan::parse_status(&r.status, r.active).unwrap();
            LookupOutcome {
                status,
                matched_by: None,
                user: r.scim_id.as_ref().map(|id| ScimUser {
                    schemas: vec![],
                    id: Some(id.clone()),
                    external_id: None,
                    user_name: r.email.clone().unwrap_or_default(),
                    name: None,
                    display_name: None,
                    emails: vec![],
                    active: r.active,
                    extra: serde_json::from_value(serde_json::json!({
                        "meta": {"created": "2024-02-01T08:00:00.000Z"}
                    }))
                    .unwrap(),
                }),
                candidates: vec![],
                attempts: vec![],
                error: None,
                warnings: vec![],
            }
        })
        .collect();
    let candidates: Vec<PlanCandidate> = dir
        .users
        .iter()
        .zip(&outcomes)
        .map(|(u, o)| {
            PlanCandidate::from_directory(u, Some(&navscim::matching::OutcomeSummary::of(o)), false)
        })
        .collect();
    assert_eq!(
        scim_created(outcomes[0].user.as_ref().unwrap()),
        Some(date("2024-02-01"))
    );
    assert!(candidates
        .iter()
        .filter(|c| c.scim_id.is_some())
        .all(|c| c.provisioned_on == Some(date("2024-02-01"))));

    let usage = demo_usage();
    let aliases = DomainAliases::default();
    let join = join_candidates(&candidates, usage.usage_rows(), &aliases);
    let data = UsageData {
        rows: usage.usage_rows(),
        period: usage.report_period.as_ref(),
        join: &join,
    };
    let params = DeprovisionParams::default();
    let none = ProtectedUsers::default();
    let plan = build_deprovision_plan(&candidates, Some(data), &params, &none, &aliases, ctx());
    assert_eq!(
        plan.operations.len(),
        66,
        "the same plan as from lookup results"
    );
    assert_eq!(
        plan.parameters["recently_provisioned_evidence"],
        "SCIM meta.created: known for 990 of 1035 users"
    );

    // Marked users only: the first 3 operations' users and one admin.
    let index_of = |email: &str| {
        candidates
            .iter()
            .position(|c| c.email.as_deref() == Some(email))
            .unwrap()
    };
    let mut marked: BTreeSet<usize> = plan.operations[..3]
        .iter()
        .map(|o| index_of(o.email.as_deref().unwrap()))
        .collect();
    let admin = candidates.iter().position(|c| c.is_admin).unwrap();
    marked.insert(admin);
    let sub = build_deprovision_plan_for_marked(
        &candidates,
        &marked,
        Some(data),
        &params,
        &none,
        &aliases,
        ctx(),
    );
    assert_eq!(sub.operations, plan.operations[..3].to_vec());
    assert_eq!(sub.excluded.len(), 1);
    assert_eq!(sub.excluded[0].why, ExclusionReason::Admin);
    assert_eq!(sub.matched_users, 990, "the share is of all matched users");
    assert_eq!(sub.parameters["marked_users"], 4);
}
