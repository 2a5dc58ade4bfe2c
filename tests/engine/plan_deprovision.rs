//! Deprovision plans: the demo fixtures give exact operations and exclusions for the
//! 30/60/90-day presets; synthetic users prove each exclusion rule.

use crate::plan_support;

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use navscim::import::{SourceRef, UsageRow};
use navscim::matching::{DomainAliases, MatchStatus};
use navscim::plan::{
    build_deprovision_plan, check_gates, exclusion_name, join_candidates, tally_deprovision,
    DeprovisionParams, ExclusionReason, OpKind, Permissions, Plan, PlanCandidate, PlanContext,
    ProtectedUsers, Refusal, Thresholds, UsageData,
};
use navscim::usage::{self, Activity};
use plan_support::*;

fn ctx(as_of: chrono::NaiveDate) -> PlanContext {
    PlanContext {
        as_of,
        as_of_source: "test".into(),
        created_at: Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).unwrap(),
        inputs: vec![],
    }
}

fn demo_candidates() -> Vec<PlanCandidate> {
    demo_reports()
        .iter()
        .map(|r| PlanCandidate::from_report(r).unwrap())
        .collect()
}

fn demo_plan(params: DeprovisionParams) -> Plan {
    let candidates = demo_candidates();
    let usage = demo_usage();
    let join = join_candidates(&candidates, usage.usage_rows(), &DomainAliases::default());
    build_deprovision_plan(
        &candidates,
        Some(UsageData {
            rows: usage.usage_rows(),
            period: usage.report_period.as_ref(),
            join: &join,
        }),
        &params,
        &ProtectedUsers::default(),
        &DomainAliases::default(),
        ctx(demo_as_of()),
    )
}

fn excluded_counts(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in &plan.excluded {
        *m.entry(exclusion_name(e.why)).or_default() += 1;
    }
    m
}

#[test]
fn demo_lookup_results_have_the_manifest_categories() {
    let c = demo_candidates();
    assert_eq!(c.len(), 1035);
    let count = |f: &dyn Fn(&PlanCandidate) -> bool| c.iter().filter(|x| f(x)).count();
    assert_eq!(
        count(&|x| x.status == MatchStatus::Matched { active: true }),
        948
    );
    assert_eq!(
        count(&|x| x.status == MatchStatus::Matched { active: false }),
        42
    );
    assert_eq!(count(&|x| x.status == MatchStatus::NotFound), 40);
    assert_eq!(count(&|x| x.status == MatchStatus::Ambiguous), 5);
    assert_eq!(count(&|x| x.is_admin), 7);
}

#[test]
fn demo_usage_joins_every_seat_and_lists_the_three_former_users() {
    let candidates = demo_candidates();
    let usage = demo_usage();
    let rows = usage.usage_rows();
    assert_eq!(rows.len(), 988);
    let join = join_candidates(&candidates, rows, &DomainAliases::default());
    // 975 users with one row, the 5 ambiguous people with two rows each.
    assert_eq!(join.joined_by(usage::JoinedBy::Email), 980);
    assert_eq!(join.joined_by(usage::JoinedBy::Name), 0);
    assert_eq!(join.joined_rows(), 985);
    let unmatched: Vec<(&str, u64)> = join
        .unmatched
        .iter()
        .map(|u| (u.email.as_deref().unwrap(), u.source.line))
        .collect();
    assert_eq!(unmatched.len(), 3);
    for (i, (email, _)) in unmatched.iter().enumerate() {
        assert_eq!(*email, format!("former.user{}@northwind.example", i + 1));
    }
    assert!(join.unmatched[0]
        .why
        .contains("no user with this email, and no user named \"Former User1\""));
    assert_eq!(join.joined_rows() + join.unmatched.len(), rows.len());

    // The idle histogram of the joined rows is the manifest's, as of the period end.
    let manifest: serde_json::Value =
        serde_json::from_str(navscim::import::demo::MANIFEST_JSON).unwrap();
    let as_of = usage::default_as_of(None, usage.report_period.as_ref(), date("2030-01-01")).0;
    assert_eq!(as_of, demo_as_of());
    let acts = join
        .links
        .iter()
        .flatten()
        .flat_map(|l| l.rows.iter())
        .map(|&r| {
            Some(usage::activity(
                &rows[r],
                usage.report_period.as_ref(),
                as_of,
            ))
        });
    let s = usage::summarize(acts, 90);
    let hist = &manifest["usage"]["idle_days_histogram_of_rows_with_a_date"];
    let want: Vec<usize> = ["0-30", "31-60", "61-90", "91-180", "181-400"]
        .iter()
        .map(|k| hist[k].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(s.buckets.to_vec(), want);
    assert_eq!(s.never_activated, 80);
    assert_eq!(
        s.never_activated as u64,
        manifest["usage"]["never_activated"].as_u64().unwrap()
    );
    assert_eq!(s.undated, 0);
    assert_eq!(s.idle_over_presets, [421, 184, 97], "rows idle > 30/60/90");
}

#[test]
fn demo_plans_for_the_presets() {
    // Matched active non-admin users: 941 = 80 never activated + 861 with a date.
    for (days, ops) in [(30, 381), (60, 152), (90, 66)] {
        let plan = demo_plan(DeprovisionParams {
            idle_days: days,
            ..DeprovisionParams::default()
        });
        assert_eq!(plan.operations.len(), ops, "threshold {days}");
        assert_eq!(plan.matched_users, 990);
        let want: BTreeMap<&str, usize> = [
            ("admin", 7),
            ("not_matched", 45),
            ("already_inactive", 42),
            ("never_activated", 80),
        ]
        .into_iter()
        .collect();
        assert_eq!(excluded_counts(&plan), want, "threshold {days}");
        let counts = &plan.parameters["counts"];
        assert_eq!(
            counts["excluded"]["not_idle"],
            861 - ops,
            "threshold {days}"
        );
        assert_eq!(counts["operations"], ops);
        assert_eq!(counts["never_activated"], 80);
        assert_eq!(plan.parameters["idle_days"], days);
        assert_eq!(plan.parameters["as_of"], "2025-05-31");
        assert_eq!(
            plan.parameters["usage"]["unmatched_rows"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        // Matched users with usage: 990 less the 15 revoked seats the report omits.
        let act = &plan.parameters["usage"]["matched_users_activity"];
        assert_eq!(act["with_usage"], 975);
        assert_eq!(act["never_activated"], 80);
        assert_eq!(
            act["idle_days"],
            serde_json::json!({"0-30": 482, "31-60": 231, "61-90": 87, "91-180": 70, "181+": 25})
        );
        assert_eq!(
            act["idle_more_than"],
            serde_json::json!({"30": 413, "60": 182, "90": 95})
        );
        for op in &plan.operations {
            assert_eq!(op.op, OpKind::Deactivate);
            assert!(op.scim_id.as_deref().unwrap().starts_with("sim-"));
            let idle = op.evidence.idle_days.unwrap();
            assert!(idle > i64::from(days), "{op:?}");
            assert_eq!(
                op.reason,
                format!(
                    "idle {idle} days (threshold {days}), last active {}",
                    op.evidence.last_active.unwrap()
                )
            );
            assert_eq!(op.evidence.never_activated, Some(false));
            assert!(op.evidence.days_active.is_some());
            assert!(op.evidence.sources[0].starts_with("usage usage.csv:"));
        }
        // Most idle first.
        let idle: Vec<i64> = plan
            .operations
            .iter()
            .map(|o| o.evidence.idle_days.unwrap())
            .collect();
        assert!(idle.windows(2).all(|w| w[0] >= w[1]));
    }
}

#[test]
fn demo_plans_nest_and_include_never_activated_on_request() {
    let emails = |p: &Plan| -> std::collections::BTreeSet<String> {
        p.operations
            .iter()
            .filter_map(|o| o.email.clone())
            .collect()
    };
    let p30 = demo_plan(DeprovisionParams {
        idle_days: 30,
        ..DeprovisionParams::default()
    });
    let p90 = demo_plan(DeprovisionParams::default());
    assert!(emails(&p90).is_subset(&emails(&p30)));

    let with_never = demo_plan(DeprovisionParams {
        include_never_activated: true,
        ..DeprovisionParams::default()
    });
    assert_eq!(with_never.operations.len(), 66 + 80);
    assert!(!excluded_counts(&with_never).contains_key("never_activated"));
    let first = &with_never.operations[0];
    assert_eq!(first.evidence.never_activated, Some(true));
    assert_eq!(
        first.reason,
        "never activated: licence assigned, no activity in the report period"
    );
    assert_eq!(first.evidence.license_status.as_deref(), Some("PENDING"));

    // Listing the users below the threshold.
    let listed = demo_plan(DeprovisionParams {
        list_not_idle: true,
        ..DeprovisionParams::default()
    });
    assert_eq!(excluded_counts(&listed)["not_idle"], 795);
}

#[test]
fn demo_plan_gate_preview() {
    let all = Permissions {
        provisioning: true,
        deprovisioning: true,
    };
    let none = ProtectedUsers::default();
    let p90 = demo_plan(DeprovisionParams::default());
    let refusals = check_gates(&p90, all, Thresholds::default(), &none, false).unwrap_err();
    assert!(matches!(
        refusals[..],
        [Refusal::TooMany {
            operations: 66,
            max_count: 50
        }]
    ));
    let p30 = demo_plan(DeprovisionParams {
        idle_days: 30,
        ..DeprovisionParams::default()
    });
    let refusals = check_gates(&p30, all, Thresholds::default(), &none, false).unwrap_err();
    assert_eq!(refusals.len(), 2, "381 > 50 and 38.5% > 20%: {refusals:?}");
}

// ---- synthetic users: one rule each

fn cand(email: &str, status: MatchStatus) -> PlanCandidate {
    PlanCandidate {
        email: Some(email.into()),
        user_name: None,
        external_id: None,
        name: String::new(),
        first_name: None,
        last_name: None,
        status,
        scim_id: Some(format!("id-{email}")),
        is_admin: false,
        license_status: Some("ACTIVE".into()),
        provisioned_on: None,
        sources: vec![],
        scim: None,
    }
}

fn urow(email: Option<&str>, name: Option<&str>, last_active: Option<&str>, line: u64) -> UsageRow {
    UsageRow {
        email: email.map(Into::into),
        name: name.map(Into::into),
        license_type: None,
        last_active: last_active.map(date),
        days_since_active: None,
        days_active: last_active.map(|_| 1),
        searches: None,
        profile_views: None,
        inmails_sent: None,
        leads_saved: None,
        accounts_saved: None,
        lists_created: None,
        ssi: None,
        source: SourceRef {
            file: "u.csv".into(),
            line,
        },
    }
}

const ACTIVE: MatchStatus = MatchStatus::Matched { active: true };

fn plan_for(
    candidates: &[PlanCandidate],
    rows: &[UsageRow],
    params: DeprovisionParams,
    protected: &ProtectedUsers,
    aliases: &DomainAliases,
) -> Plan {
    let join = join_candidates(candidates, rows, aliases);
    build_deprovision_plan(
        candidates,
        Some(UsageData {
            rows,
            period: None,
            join: &join,
        }),
        &params,
        protected,
        aliases,
        ctx(date("2025-05-31")),
    )
}

fn why_of(plan: &Plan, email: &str) -> Option<ExclusionReason> {
    plan.excluded
        .iter()
        .find(|e| e.email.as_deref() == Some(email))
        .map(|e| e.why)
}

#[test]
fn each_exclusion_rule() {
    let old = Some("2025-01-01");
    let mut candidates = vec![
        cand("prot@corp.example", ACTIVE),
        cand("byid@corp.example", ACTIVE),
        cand("admin@corp.example", ACTIVE),
        cand("ign@corp.example", MatchStatus::Ignored),
        cand("nf@corp.example", MatchStatus::NotFound),
        cand("amb@corp.example", MatchStatus::Ambiguous),
        cand("err@corp.example", MatchStatus::Error),
        cand("off@corp.example", MatchStatus::Matched { active: false }),
        cand("new@corp.example", ACTIVE),
        cand("edge@corp.example", ACTIVE),
        cand("nousage@corp.example", ACTIVE),
        cand("busy@corp.example", ACTIVE),
        cand("idle@corp.example", ACTIVE),
        cand("never@corp.example", ACTIVE),
    ];
    candidates[1].scim_id = Some("sn-0007".into());
    candidates[2].is_admin = true;
    candidates[8].provisioned_on = Some(date("2025-05-10")); // 21 days: within 30
    candidates[9].provisioned_on = Some(date("2025-05-01")); // 30 days: grace over
    let mut rows: Vec<UsageRow> = candidates
        .iter()
        .filter(|c| !c.email.as_deref().unwrap().starts_with("nousage"))
        .enumerate()
        .map(|(i, c)| urow(c.email.as_deref(), None, old, i as u64 + 2))
        .collect();
    // Busy: active 5 days ago; never: no activity at all.
    rows.iter_mut()
        .find(|r| r.email.as_deref() == Some("busy@corp.example"))
        .unwrap()
        .last_active = Some(date("2025-05-26"));
    let never = rows
        .iter_mut()
        .find(|r| r.email.as_deref() == Some("never@corp.example"))
        .unwrap();
    never.last_active = None;
    never.days_active = Some(0);
    // The protected list names one user via a domain alias, one by SCIM id.
    let aliases = DomainAliases::parse("corp-example.co.uk=corp.example").unwrap();
    let protected = ProtectedUsers::parse_list("PROT@corp-example.co.uk\nsn-0007 # by SCIM id\n");
    let plan = plan_for(
        &candidates,
        &rows,
        DeprovisionParams::default(),
        &protected,
        &aliases,
    );
    use ExclusionReason::*;
    for (email, want) in [
        ("prot@corp.example", Some(Protected)),
        ("byid@corp.example", Some(Protected)),
        ("admin@corp.example", Some(Admin)),
        ("ign@corp.example", Some(Ignored)),
        ("nf@corp.example", Some(NotMatched)),
        ("amb@corp.example", Some(NotMatched)),
        ("err@corp.example", Some(NotMatched)),
        ("off@corp.example", Some(AlreadyInactive)),
        ("new@corp.example", Some(RecentlyProvisioned)),
        ("edge@corp.example", None),
        ("nousage@corp.example", Some(NoUsage)),
        ("busy@corp.example", None), // not idle: counted, not listed
        ("idle@corp.example", None),
        ("never@corp.example", Some(NeverActivated)),
    ] {
        assert_eq!(why_of(&plan, email), want, "{email}");
    }
    let ops: Vec<&str> = plan
        .operations
        .iter()
        .map(|o| o.email.as_deref().unwrap())
        .collect();
    assert_eq!(ops, vec!["edge@corp.example", "idle@corp.example"]);
    assert_eq!(plan.parameters["counts"]["excluded"]["not_idle"], 1);
    let new = plan
        .excluded
        .iter()
        .find(|e| e.why == RecentlyProvisioned)
        .unwrap();
    assert_eq!(
        new.detail,
        "provisioned 2025-05-10, 21 days before 2025-05-31 (grace period 30 days)"
    );
    assert_eq!(
        plan.parameters["recently_provisioned_evidence"],
        "SCIM meta.created: known for 2 of 14 users"
    );
    // Exclusions are listed by rule order.
    let order: Vec<ExclusionReason> = plan.excluded.iter().map(|e| e.why).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|w| {
        navscim::plan::EXCLUSION_REASONS
            .iter()
            .position(|x| x == w)
            .unwrap()
    });
    assert_eq!(order, sorted);
    // 2 of 10 matched users: within the gates, and no protected target.
    let all = Permissions {
        provisioning: true,
        deprovisioning: true,
    };
    assert_eq!(plan.matched_users, 10);
    assert_eq!(
        check_gates(&plan, all, Thresholds::default(), &protected, false),
        Ok(())
    );

    // A grace period of 0 lets the new user through (idle since January).
    let plan = plan_for(
        &candidates,
        &rows,
        DeprovisionParams {
            grace_days: 0,
            include_never_activated: true,
            ..DeprovisionParams::default()
        },
        &protected,
        &aliases,
    );
    let ops: Vec<&str> = plan
        .operations
        .iter()
        .map(|o| o.email.as_deref().unwrap())
        .collect();
    assert_eq!(
        ops,
        vec![
            "never@corp.example",
            "edge@corp.example",
            "idle@corp.example",
            "new@corp.example"
        ]
    );
}

#[test]
fn joined_by_name_is_stated_in_the_evidence() {
    let mut c = cand("ann@corp.example", ACTIVE);
    c.name = "Ann Lee".into();
    c.sources = vec![SourceRef {
        file: "okta.csv".into(),
        line: 7,
    }];
    let rows = vec![urow(None, Some("ann  LEE"), Some("2025-01-31"), 4)];
    let plan = plan_for(
        &[c],
        &rows,
        DeprovisionParams::default(),
        &ProtectedUsers::default(),
        &DomainAliases::default(),
    );
    let op = &plan.operations[0];
    assert_eq!(
        op.reason,
        "idle 120 days (threshold 90), last active 2025-01-31"
    );
    assert_eq!(
        op.evidence.sources,
        vec!["usage u.csv:4 (joined by name)", "user okta.csv:7"]
    );
    assert_eq!(plan.parameters["usage"]["joined_users_by_name"], 1);
}

#[test]
fn without_a_usage_report_nobody_is_judged_idle() {
    let candidates = vec![cand("a@x.io", ACTIVE), cand("b@x.io", ACTIVE)];
    let plan = build_deprovision_plan(
        &candidates,
        None,
        &DeprovisionParams::default(),
        &ProtectedUsers::default(),
        &DomainAliases::default(),
        ctx(date("2025-05-31")),
    );
    assert!(plan.operations.is_empty());
    assert_eq!(plan.excluded.len(), 2);
    assert!(plan
        .excluded
        .iter()
        .all(|e| e.why == ExclusionReason::NoUsage && e.detail == "no usage report loaded"));
    assert!(plan.parameters["usage"].is_null());
}

#[test]
fn undated_activity_is_listed_not_guessed() {
    let candidates = vec![cand("a@x.io", ACTIVE)];
    let mut r = urow(Some("a@x.io"), None, None, 2);
    r.days_active = Some(4);
    let rows = vec![r];
    let plan = plan_for(
        &candidates,
        &rows,
        DeprovisionParams::default(),
        &ProtectedUsers::default(),
        &DomainAliases::default(),
    );
    assert!(plan.operations.is_empty());
    assert_eq!(plan.excluded[0].why, ExclusionReason::NotIdle);
    assert!(plan.excluded[0].detail.contains("cannot tell"));
    assert_eq!(
        usage::activity(&rows[0], None, date("2025-05-31")),
        Activity::Undated { at_most: None }
    );
}

#[test]
fn plan_json_round_trips() {
    let plan = demo_plan(DeprovisionParams::default());
    let text = serde_json::to_string_pretty(&plan).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, plan);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["operations"][0]["op"], "deactivate");
    assert_eq!(v["excluded"][0]["why"], "admin");
}

/// The Usage pane's preview counts with `tally_deprovision` instead of building the
/// plan: the same decisions, so the same figures, for every rule (protected by list,
/// alias, SCIM id, the SCIM user's emails or through another row; admins and rows
/// reaching an admin's SCIM user; grace; never activated; not idle; no usage).
#[test]
fn the_tally_counts_what_the_plan_decides() {
    let old = Some("2025-01-01");
    let mut candidates = vec![
        cand("prot@corp.example", ACTIVE),
        cand("byid@corp.example", ACTIVE),
        cand("admin@corp.example", ACTIVE),
        cand("ign@corp.example", MatchStatus::Ignored),
        cand("nf@corp.example", MatchStatus::NotFound),
        cand("off@corp.example", MatchStatus::Matched { active: false }),
        cand("new@corp.example", ACTIVE),
        cand("nousage@corp.example", ACTIVE),
        cand("busy@corp.example", ACTIVE),
        cand("idle@corp.example", ACTIVE),
        cand("never@corp.example", ACTIVE),
        cand("old.name@corp.example", ACTIVE),
        cand("alt@corp.example", ACTIVE),
        cand("sameadmin@corp.example", ACTIVE),
        cand("Upper@Corp-Example.co.uk", ACTIVE),
    ];
    candidates[1].scim_id = Some("sn-0007".into());
    candidates[2].is_admin = true;
    candidates[2].scim_id = Some("scim-admin".into());
    candidates[6].provisioned_on = Some(date("2025-05-10"));
    // Protected through the SCIM user's emails, and through another row (old name).
    candidates[11].scim = Some(navscim::plan::TargetIdentity {
        id: "scim-kept".into(),
        user_name: None,
        external_id: None,
        email: None,
        emails: vec!["kept@corp.example".into()],
    });
    candidates[11].scim_id = Some("scim-kept".into());
    candidates[12].scim_id = Some("scim-kept".into());
    candidates[13].scim_id = Some("scim-admin".into());
    let rows: Vec<UsageRow> = candidates
        .iter()
        .filter(|c| !c.email.as_deref().unwrap().starts_with("nousage"))
        .enumerate()
        .map(|(i, c)| {
            let email = c.email.as_deref();
            match email {
                Some("busy@corp.example") => urow(email, None, Some("2025-05-26"), i as u64 + 2),
                Some("never@corp.example") => {
                    let mut r = urow(email, None, None, i as u64 + 2);
                    r.days_active = Some(0);
                    r
                }
                _ => urow(email, None, old, i as u64 + 2),
            }
        })
        .collect();
    let aliases = DomainAliases::parse("corp-example.co.uk=corp.example").unwrap();
    let lists = [
        ProtectedUsers::parse_list(
            "PROT@corp-example.co.uk\nsn-0007\nKEPT@corp.example\nupper@corp.example\n",
        ),
        ProtectedUsers::default(),
        ProtectedUsers::parse_list("sn-0007\n"),
    ];
    let mut seen = BTreeMap::new();
    for protected in &lists {
        for params in [
            DeprovisionParams::default(),
            DeprovisionParams {
                idle_days: 30,
                grace_days: 0,
                include_never_activated: true,
                list_not_idle: false,
            },
            DeprovisionParams {
                idle_days: 200,
                grace_days: 60,
                include_never_activated: false,
                list_not_idle: true,
            },
        ] {
            let join = join_candidates(&candidates, &rows, &aliases);
            let data = UsageData {
                rows: &rows,
                period: None,
                join: &join,
            };
            let plan = build_deprovision_plan(
                &candidates,
                Some(data),
                &params,
                protected,
                &aliases,
                ctx(date("2025-05-31")),
            );
            let tally = tally_deprovision(
                &candidates[..],
                Some(data),
                &params,
                protected,
                &aliases,
                date("2025-05-31"),
            );
            assert_eq!(tally.operations, plan.operations.len(), "{params:?}");
            let plan_counts: BTreeMap<&'static str, usize> = navscim::plan::EXCLUSION_REASONS
                .iter()
                .map(|w| exclusion_name(*w))
                .filter_map(|n| {
                    plan.parameters["counts"]["excluded"][n]
                        .as_u64()
                        .map(|v| (n, v as usize))
                })
                .collect();
            assert_eq!(tally.excluded, plan_counts, "{params:?}");
            assert_eq!(tally.candidates, candidates.len());
            for (name, n) in &tally.excluded {
                *seen.entry(*name).or_insert(0) += n;
            }
        }
    }
    // Every rule was exercised.
    for name in [
        "protected",
        "admin",
        "ignored",
        "not_matched",
        "already_inactive",
        "recently_provisioned",
        "no_usage",
        "never_activated",
        "not_idle",
    ] {
        assert!(seen.get(name).is_some_and(|n| *n > 0), "{name}: {seen:?}");
    }
    // With the list: the SCIM user's email protects both of its rows, the alias
    // protects the upper-case row, the admin's SCIM user its second row.
    let join = join_candidates(&candidates, &rows, &aliases);
    let plan = build_deprovision_plan(
        &candidates,
        Some(UsageData {
            rows: &rows,
            period: None,
            join: &join,
        }),
        &DeprovisionParams::default(),
        &lists[0],
        &aliases,
        ctx(date("2025-05-31")),
    );
    for (email, want) in [
        ("old.name@corp.example", ExclusionReason::Protected),
        ("alt@corp.example", ExclusionReason::Protected),
        ("Upper@Corp-Example.co.uk", ExclusionReason::Protected),
        ("sameadmin@corp.example", ExclusionReason::Admin),
    ] {
        assert_eq!(why_of(&plan, email), Some(want), "{email}");
    }
}
