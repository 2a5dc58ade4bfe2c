//! A server's answer is checked before it is believed (issue 10, DESIGN.md section 8):
//! the field cases about server answers (`fixtures/field-cases`), each against the
//! simulator's fault mode that reproduces it, plus the same kinds with other data and
//! other quirks.

use crate::field_support::*;
use navscim::lookup::{lookup_one, LookupOptions, Unsupported};
use navscim::matching::{AttemptResult, LookupKind, MatchStatus};
use navscim::scim::{Filter, FilterAttr, ScimError, ScimUser};
use navscim::sim::Fault;

fn active(s: MatchStatus) -> Option<bool> {
    match s {
        MatchStatus::Matched { active } => Some(active),
        _ => None,
    }
}

/// resources-lowercase/: `resources`, `totalresults` → both users matched, `navscim
/// lookup` exits 0 and `navscim plan provision` proposes no duplicate account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_lowercase_field_case_matches_both_users() {
    let sim = sim_json(
        &case_text("resources-lowercase", "users.json"),
        &[Fault::ResourcesLowercase],
        |_| {},
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let results_path = dir.path().join("results.json");
    let idp = case_path("resources-lowercase", "idp.csv");
    let out = navscim(
        dir.path(),
        args(&[
            "lookup",
            idp.to_str().unwrap(),
            "--base-url",
            sim.base_url(),
            "--out",
            results_path.to_str().unwrap(),
        ]),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = results(&results_path);
    for (email, id) in [
        ("jordan.reyes@corp.example", "u-1001"),
        ("mira.okafor@corp.example", "u-1002"),
    ] {
        let r = row(&rows, email);
        assert_eq!(r["status"], "matched", "{r:#}");
        assert_eq!(r["scim_id"], id);
    }

    // Nobody is "not found", so provisioning proposes nothing.
    let select = dir.path().join("select.txt");
    std::fs::write(
        &select,
        "jordan.reyes@corp.example\nmira.okafor@corp.example\n",
    )
    .unwrap();
    let plan_path = dir.path().join("plan.json");
    let out = navscim(
        dir.path(),
        args(&[
            "plan",
            "provision",
            "--idp",
            idp.to_str().unwrap(),
            "--lookup",
            results_path.to_str().unwrap(),
            "--select",
            select.to_str().unwrap(),
            "--out",
            plan_path.to_str().unwrap(),
        ]),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = navscim::plan::Plan::load(&plan_path).unwrap();
    assert!(plan.operations.is_empty(), "{:#?}", plan.operations);
    sim.shutdown().await;
}

/// Other member-name casings (`RESOURCES`, `TOTALRESULTS`), other users.
#[tokio::test]
async fn member_names_in_any_case_are_read() {
    let users = r#"[{"id":"a-1","userName":"kim.lo@x.example","externalId":"K1","emails":[{"value":"kim.lo@x.example","primary":true}],"active":true}]"#;
    let sim = sim_json(users, &[Fault::ResourcesUppercase], |_| {}).await;
    let c = client(&sim);
    let found = c
        .find_users(&Filter::eq(FilterAttr::ExternalId, "K1").unwrap())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_deref(), Some("a-1"));
    // And the list reader itself, with a mixed casing no simulator mode spells.
    let list = navscim::scim::UserList::from_json(serde_json::json!({
        "TotalResults": 1,
        "resources": [{"ID": "z-9", "USERNAME": "z@x.example", "Active": "TRUE"}]
    }))
    .unwrap();
    assert_eq!(list.total_results, Some(1));
    let u = list.resources[0].as_ref().unwrap();
    assert_eq!(
        (u.id.as_deref(), u.user_name.as_str(), u.active),
        (Some("z-9"), "z@x.example", Some(true))
    );
    sim.shutdown().await;
}

/// `totalResults` without the users: an error ("counted N, sent M"), never "not found".
#[tokio::test]
async fn total_without_resources_is_an_error_not_not_found() {
    let sim = sim_json(
        &case_text("resources-lowercase", "users.json"),
        &[Fault::TotalWithoutResources],
        |_| {},
    )
    .await;
    let c = client(&sim);
    let err = c
        .find_users(&Filter::eq(FilterAttr::UserName, "mira.okafor@corp.example").unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("counted 1"), "{err}");
    assert!(err.to_string().contains("sent 0"), "{err}");
    let dir = directory(&[import(
        "idp.csv",
        &case_text("resources-lowercase", "idp.csv"),
    )]);
    let outs = look_up_all(&c, &dir).await;
    for o in &outs {
        assert_eq!(o.status, MatchStatus::Error, "{o:#?}");
    }
    sim.shutdown().await;
}

/// filter-ignored/: `navscim check` says the server does not honour filters; lookups
/// of users beyond page 1 are errors, not "not found"; no hit failing the filter is a
/// match (not even for a user who happens to be on page 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_ignored_field_case() {
    let sim = sim_json(
        &case_text("filter-ignored", "users.json"),
        &[Fault::FilterIgnored],
        |c| c.page_size = Some(10),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = navscim(dir.path(), args(&["check", "--base-url", sim.base_url()])).await;
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("does not honour filters"), "{err}");

    let results_path = dir.path().join("results.json");
    let idp = case_path("filter-ignored", "idp.csv");
    let out = navscim(
        dir.path(),
        args(&[
            "lookup",
            idp.to_str().unwrap(),
            "--base-url",
            sim.base_url(),
            "--out",
            results_path.to_str().unwrap(),
        ]),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = results(&results_path);
    for email in [
        "rep03@corp.example",
        "rep20@corp.example",
        "rep22@corp.example",
    ] {
        let r = row(&rows, email);
        assert_eq!(r["status"], "error", "{r:#}");
        assert!(
            r["detail"].as_str().unwrap().contains("ignored the filter"),
            "{r:#}"
        );
    }
    sim.shutdown().await;
}

/// The same kind with another page size, and the engine's view: the error is
/// remembered for the connection (later lookups send nothing).
#[tokio::test]
async fn an_ignored_filter_with_another_page_size_is_remembered() {
    let sim = sim_json(
        &case_text("filter-ignored", "users.json"),
        &[Fault::FilterIgnored],
        |c| c.page_size = Some(3),
    )
    .await;
    let c = client(&sim);
    let report = c.test_connection().await.unwrap();
    assert!(report.filter_problem.is_some(), "{report:?}");
    let dir = directory(&[import("idp.csv", &case_text("filter-ignored", "idp.csv"))]);
    let before = sim.stats().requests.get("GET").copied().unwrap_or(0);
    let outs = look_up_all(&c, &dir).await;
    assert!(
        outs.iter().all(|o| o.status == MatchStatus::Error),
        "{outs:#?}"
    );
    assert!(outs
        .iter()
        .all(|o| o.user.is_none() && o.candidates.is_empty()));
    // Remembered: no lookup request at all after the connection test found it out.
    let after = sim.stats().requests.get("GET").copied().unwrap_or(0);
    assert_eq!(after, before, "filtered lookups were still sent");
    sim.shutdown().await;
}

/// A server that honours filters passes the check.
#[tokio::test]
async fn a_server_that_honours_filters_passes_the_check() {
    let sim = sim_json(&case_text("filter-ignored", "users.json"), &[], |_| {}).await;
    let report = client(&sim).test_connection().await.unwrap();
    assert!(report.filter_supported && report.filter_problem.is_none());
    sim.shutdown().await;
}

/// active-as-string/: `"active": "False"`/`"True"` → Lena matched and inactive, Omar
/// active; `"id": 20011` read as the string "20011".
#[tokio::test]
async fn active_as_string_and_numeric_id_field_case() {
    let dir = directory(&[import("idp.csv", &case_text("active-as-string", "idp.csv"))]);
    let sim = sim_json(
        &case_text("active-as-string", "users.json"),
        &[Fault::ActiveAsString],
        |_| {},
    )
    .await;
    let outs = look_up_all(&client(&sim), &dir).await;
    let lena = outcome_of(&dir, &outs, "lena.vogt@corp.example");
    let omar = outcome_of(&dir, &outs, "omar.haddad@corp.example");
    assert_eq!(active(lena.status), Some(false), "{lena:#?}");
    assert_eq!(active(omar.status), Some(true), "{omar:#?}");
    sim.shutdown().await;

    let sim = sim_json(
        &case_text("active-as-string", "users_numeric_id.json"),
        &[Fault::NumericId, Fault::ActiveAsString],
        |_| {},
    )
    .await;
    // The wire really carries a number.
    let raw = reqwest::Client::new()
        .get(format!("{}/Users/20011", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains("\"id\":20011"), "{raw}");
    let outs = look_up_all(&client(&sim), &dir).await;
    let lena = outcome_of(&dir, &outs, "lena.vogt@corp.example");
    assert_eq!(lena.scim_id(), Some("20011"));
    assert_eq!(active(lena.status), Some(false));
    assert_eq!(
        outcome_of(&dir, &outs, "omar.haddad@corp.example").scim_id(),
        Some("20012")
    );
    sim.shutdown().await;
}

/// Other spellings read as meant; an unclear value is an error naming the attribute
/// and what came, for that user only.
#[test]
fn active_strings_in_any_case_and_unclear_values() {
    for (v, want) in [("TRUE", true), ("false", false), (" True ", true)] {
        let u = ScimUser::from_json(serde_json::json!({"id": "1", "userName": "a@x", "active": v}))
            .unwrap();
        assert_eq!(u.active, Some(want), "{v}");
    }
    let e =
        ScimUser::from_json(serde_json::json!({"id": "1", "userName": "a@x", "active": "maybe"}))
            .unwrap_err();
    assert!(e.contains("\"active\"") && e.contains("maybe"), "{e}");
    assert!(!e.contains("column"), "{e}");
    let e = ScimUser::from_json(serde_json::json!({"id": 1.5, "userName": "a@x"})).unwrap_err();
    assert!(e.contains("\"id\""), "{e}");
    // One unreadable user in a list does not spoil the others.
    let list = navscim::scim::UserList::from_json(serde_json::json!({
        "Resources": [
            {"id": "1", "userName": "a@x", "active": "perhaps"},
            {"id": 2, "userName": "b@x", "active": "FALSE"}
        ]
    }))
    .unwrap();
    assert!(list.resources[0].is_err());
    assert_eq!(list.resources[1].as_ref().unwrap().id.as_deref(), Some("2"));
}

/// Non-JSON (an HTML sign-in page) is an error naming the content type.
#[tokio::test]
async fn html_answers_name_the_content_type() {
    let sim = sim_json(
        &case_text("resources-lowercase", "users.json"),
        &[Fault::HtmlAnswers],
        |_| {},
    )
    .await;
    let c = client(&sim);
    let e = c.get_user("u-1001").await.unwrap_err();
    assert!(matches!(e, ScimError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("text/html"), "{e}");
    let e = c
        .find_users(&Filter::eq(FilterAttr::UserName, "jordan.reyes@corp.example").unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("text/html"), "{e}");
    sim.shutdown().await;
}

/// A stored-id read counts only when the answer carries that id: without it, the
/// user is not "matched by stored id" (the other lookups decide).
#[tokio::test]
async fn a_stored_id_answer_without_the_id_is_not_a_match() {
    let sim = sim_json(
        &case_text("resources-lowercase", "users.json"),
        &[Fault::IdMissing],
        |_| {},
    )
    .await;
    let c = client(&sim);
    let mut dir = directory(&[import(
        "idp.csv",
        &case_text("resources-lowercase", "idp.csv"),
    )]);
    dir.users[0].stored_scim_id = Some("u-1001".into());
    let only_stored = LookupOptions {
        precedence: vec![LookupKind::StoredId],
        ..LookupOptions::default()
    };
    let o = lookup_one(&c, &dir.users[0], &only_stored, &Unsupported::default()).await;
    assert_eq!(o.status, MatchStatus::Error, "{o:#?}");
    assert!(
        o.error.as_deref().unwrap().contains("carries no id"),
        "{o:#?}"
    );
    // With the other lookups, the user is found by them, not by the stored id.
    let o = lookup_one(
        &c,
        &dir.users[0],
        &LookupOptions::default(),
        &Unsupported::default(),
    )
    .await;
    assert!(matches!(o.status, MatchStatus::Matched { .. }), "{o:#?}");
    assert_ne!(o.matched_by, Some(LookupKind::StoredId));
    assert!(matches!(o.attempts[0].result, AttemptResult::Error(_)));
    sim.shutdown().await;
}

/// A stored id that names another person: never "matched by stored id".
#[tokio::test]
async fn a_stored_id_of_another_person_is_a_conflict() {
    let sim = sim_json(&case_text("resources-lowercase", "users.json"), &[], |_| {}).await;
    let c = client(&sim);
    let mut dir = directory(&[import(
        "idp.csv",
        &case_text("resources-lowercase", "idp.csv"),
    )]);
    let i = dir.index_of("jordan.reyes@corp.example").unwrap();
    dir.users[i].stored_scim_id = Some("u-1002".into()); // Mira's
    let only_stored = LookupOptions {
        precedence: vec![LookupKind::StoredId],
        ..LookupOptions::default()
    };
    let o = lookup_one(&c, &dir.users[i], &only_stored, &Unsupported::default()).await;
    assert_eq!(o.status, MatchStatus::Conflict, "{o:#?}");
    assert!(
        o.error.as_deref().unwrap().contains("mira.okafor"),
        "{o:#?}"
    );
    sim.shutdown().await;
}

/// A server comparing userName/emails case-sensitively: the lower-cased value is tried
/// before "not found", and that is remembered for the connection.
#[tokio::test]
async fn case_sensitive_servers_get_the_lower_cased_value() {
    let sim = sim_json(
        &case_text("resources-lowercase", "users.json"),
        &[Fault::CaseSensitiveFilter],
        |_| {},
    )
    .await;
    let c = client(&sim);
    let dir = directory(&[import(
        "idp.csv",
        "Username,Email\nJordan.Reyes@Corp.Example,Jordan.Reyes@Corp.Example\nMIRA.OKAFOR@corp.example,MIRA.OKAFOR@corp.example\n",
    )]);
    let unsupported = Unsupported::default();
    let opts = LookupOptions {
        precedence: vec![LookupKind::UserName],
        ..LookupOptions::default()
    };
    let o = lookup_one(&c, &dir.users[0], &opts, &unsupported).await;
    assert!(matches!(o.status, MatchStatus::Matched { .. }), "{o:#?}");
    assert_eq!(o.scim_id(), Some("u-1001"));
    assert_eq!(o.attempts[0].requests, 2);
    assert!(unsupported.case_sensitive(LookupKind::UserName));
    // Remembered: the next one is found with one request.
    let o = lookup_one(&c, &dir.users[1], &opts, &unsupported).await;
    assert_eq!(o.scim_id(), Some("u-1002"), "{o:#?}");
    assert_eq!(o.attempts[0].requests, 1);
    sim.shutdown().await;
}
