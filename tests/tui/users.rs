//! The Users pane: the real reducer, effects and embedded simulator, rendered through
//! TestBackend, plus reducer-level triage tests without a terminal.

use std::time::Duration;

use crate::harness::{self, press as key, reduce, screen};
use navscim::app::connection::ConnectionState;
use navscim::app::effect::Effect;
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::users::StatusFilter;
use navscim::app::Action;
use navscim::import::{demo, import_str, ImportOptions};
use navscim::matching::{LookupKind, LookupOutcome, MatchStatus};
use navscim::runtime::{Driver, Settings};
use navscim::sim;
use ratatui::crossterm::event::KeyCode;

fn manifest(key: &str) -> usize {
    let m: serde_json::Value = serde_json::from_str(demo::MANIFEST_JSON).unwrap();
    m["people"][key].as_u64().unwrap() as usize
}

async fn demo_driver() -> (sim::SimHandle, Driver) {
    harness::live_demo(Settings::default(), (80, 24)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fills_in_live_then_classifies_every_user() {
    let (sim, mut driver) = demo_driver().await;
    driver.dispatch(Action::Command(Command::GoTab(1)));
    // Step until some lookups have finished but not all: the progress line is live.
    let mut saw_live = false;
    while driver.step().await {
        let p = &driver.state.users.progress;
        if p.running && p.done >= 50 && p.done < p.total {
            let text = screen(&driver.state, 80, 24);
            assert!(
                text.contains(&format!("Looking up {}/1,035", p.done)),
                "{text}"
            );
            assert!(text.contains("active"), "{text}");
            saw_live = true;
            break;
        }
    }
    assert!(saw_live, "the table fills in while lookups run");
    driver.settle().await;

    let users = &driver.state.users;
    assert!(!users.progress.running);
    let count = |s: MatchStatus| users.rows.iter().filter(|r| r.status() == s).count();
    let matched = users
        .rows
        .iter()
        .filter(|r| matches!(r.status(), MatchStatus::Matched { .. }))
        .count();
    assert_eq!(users.directory.len(), 1035);
    assert_eq!(
        matched,
        manifest("matched") + manifest("mismatch") + manifest("orphans")
    );
    assert_eq!(count(MatchStatus::Ambiguous), manifest("ambiguous"));
    assert_eq!(count(MatchStatus::NotFound), manifest("not_found"));
    assert_eq!(count(MatchStatus::Error), 0);
    assert_eq!(users.orphan_count(), manifest("orphans"));

    let text = screen(&driver.state, 80, 24);
    assert!(
        text.contains("Users · 1,035 from 2 sources · 25 orphan seats"),
        "{text}"
    );
    assert!(text.contains("40 not found"), "{text}");
    assert!(text.contains("5 ambiguous"), "{text}");
    assert!(driver
        .state
        .notice
        .as_ref()
        .unwrap()
        .text
        .starts_with("Lookups done"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_show_every_candidate_of_an_ambiguous_user() {
    let (sim, mut driver) = demo_driver().await;
    driver.settle().await;
    let s = &mut driver.state;
    s.tab = Tab::Users;
    while s.users.status_filter != StatusFilter::Ambiguous {
        key(s, KeyCode::Char('f'));
    }
    assert_eq!(s.users.table.view.len(), 5);
    key(s, KeyCode::Enter);
    let text = screen(s, 100, 120);
    assert!(text.contains("Lookups tried"), "{text}");
    assert!(text.contains("2 seats"), "{text}");
    assert!(text.contains("Candidate 1"), "{text}");
    assert!(text.contains("Candidate 2"), "{text}");
    assert!(text.contains("userName eq"), "{text}");
    assert!(text.contains("idp_okta.csv:"), "source rows shown: {text}");
    assert!(text.contains("salesnav_users.csv:"), "{text}");
    key(s, KeyCode::Esc);
    assert!(!s.users.details_open);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_filter_lists_the_leavers_and_marks_survive_filter_and_sort() {
    let (sim, mut driver) = demo_driver().await;
    driver.settle().await;
    let s = &mut driver.state;
    s.tab = Tab::Users;
    while s.users.status_filter != StatusFilter::Orphan {
        key(s, KeyCode::Char('f'));
    }
    assert_eq!(s.users.table.view.len(), manifest("orphans"));
    let text = screen(s, 80, 24);
    assert!(text.contains("orphan seat"), "{text}");
    key(s, KeyCode::Char('a'));
    assert_eq!(s.users.table.marks.len(), 25);
    // Back to everything, sorted by name: the marks stay, on the same users.
    key(s, KeyCode::Char('F'));
    key(s, KeyCode::Char('s'));
    key(s, KeyCode::Char('s'));
    assert_eq!(s.users.table.marks.len(), 25);
    assert_eq!(s.users.table.view.len(), 1035);
    for &i in &s.users.table.marks {
        assert_eq!(s.users.presence(i), navscim::matching::Presence::OrphanSeat);
    }
    // A text filter that hides some marked users says so in the title.
    key(s, KeyCode::Char('/'));
    for c in "zzzz-nobody".chars() {
        key(s, KeyCode::Char(c));
    }
    key(s, KeyCode::Enter);
    assert_eq!(s.users.table.view.len(), 0);
    let text = screen(s, 120, 24);
    assert!(
        text.contains("25 marked (25 hidden by the filter)"),
        "{text}"
    );
    sim.shutdown().await;
}

// ---- reducer-level triage, no network ----

fn source() -> navscim::app::ImportSource {
    navscim::app::ImportSource::Path("sn.csv".into())
}

const SN: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
    ann@corp.example,Ann,Lee,E1,S1,ACTIVE,,NONE,\n\
    bob@corp.example,Bob,Ray,E2,S2,ACTIVE,,NONE,\n\
    cy@corp.example,Cy,Twombly,E3,S3,ACTIVE,,NONE,\n";

fn loaded_state() -> State {
    let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
    reduce(&mut s, Action::Resize(80, 24));
    let import = import_str("sn.csv", SN, &ImportOptions::default()).unwrap();
    let effects = reduce(
        &mut s,
        Action::FilesImported {
            results: vec![(source(), Ok(import))],
            lookup_after: false,
        },
    );
    assert!(effects.is_empty());
    s.tab = Tab::Users;
    s
}

fn finish(s: &mut State, index: usize, status: MatchStatus) {
    reduce(
        s,
        Action::LookupFinished {
            batch: 1,
            index,
            outcome: Box::new(LookupOutcome {
                status,
                matched_by: None,
                user: None,
                candidates: vec![],
                attempts: vec![],
                error: (status == MatchStatus::Error).then(|| "HTTP 500".to_string()),
                warnings: vec![],
            }),
            at: Duration::from_millis(10),
            stats: Default::default(),
        },
    );
}

/// One user, one request: said in the singular ("Ignored 1 users", "(1 requests)").
#[test]
fn counts_of_one_are_said_in_the_singular() {
    let mut s = loaded_state();
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.notice.as_ref().unwrap().text, "Ignored 1 user");
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.notice.as_ref().unwrap().text, "Un-ignored 1 user");
    key(&mut s, KeyCode::Char('a'));
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.notice.as_ref().unwrap().text, "Ignored 3 users");
    reduce(
        &mut s,
        Action::LookupFinished {
            batch: 1,
            index: 0,
            outcome: Box::new(LookupOutcome {
                status: MatchStatus::NotFound,
                matched_by: None,
                user: None,
                candidates: vec![],
                attempts: vec![navscim::matching::Attempt {
                    kind: LookupKind::ExternalId,
                    value: "E1".into(),
                    request: "GET /Users?filter=externalId eq \"E1\"".into(),
                    result: navscim::matching::AttemptResult::NotFound,
                    requests: 1,
                }],
                error: None,
                warnings: vec![],
            }),
            at: Duration::from_millis(10),
            stats: Default::default(),
        },
    );
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Enter);
    let text = screen(&s, 80, 24);
    assert!(text.contains("→ no exact hit (1 request)"), "{text}");
}

#[test]
fn relookup_by_another_identifier_sends_only_that_lookup_with_the_typed_value() {
    let mut s = loaded_state();
    key(&mut s, KeyCode::Char('R'));
    assert!(s.users.prompt.is_some());
    key(&mut s, KeyCode::Tab); // userName -> emails.value
    for c in "ann.lee@corp.example".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let effects = key(&mut s, KeyCode::Enter);
    match &effects[..] {
        [Effect::LookupUsers { jobs, options, .. }] => {
            assert_eq!(options.precedence, vec![LookupKind::Email]);
            assert_eq!(jobs.len(), 1);
            assert_eq!(jobs[0].index, 0);
            assert_eq!(jobs[0].user.email.as_deref(), Some("ann.lee@corp.example"));
        }
        other => panic!("{other:?}"),
    }
    // The directory itself keeps the exported value.
    assert_eq!(
        s.users.directory.users[0].email.as_deref(),
        Some("ann@corp.example")
    );
}

#[test]
fn a_typed_value_with_several_marked_users_is_refused() {
    let mut s = loaded_state();
    key(&mut s, KeyCode::Char('a'));
    key(&mut s, KeyCode::Char('R'));
    key(&mut s, KeyCode::Char('x'));
    let effects = key(&mut s, KeyCode::Enter);
    assert!(effects.is_empty());
    assert!(s.notice.unwrap().text.contains("applies to one user"));
}

#[test]
fn ignore_toggles_and_ignored_users_are_not_looked_up() {
    let mut s = loaded_state();
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.users.rows[0].status(), MatchStatus::Ignored);
    key(&mut s, KeyCode::Char('a'));
    let effects = key(&mut s, KeyCode::Char('r'));
    match &effects[..] {
        [Effect::LookupUsers { jobs, .. }] => {
            let indices: Vec<usize> = jobs.iter().map(|j| j.index).collect();
            assert_eq!(indices, vec![1, 2], "the ignored user is skipped");
        }
        other => panic!("{other:?}"),
    }
    // Finishing the lookups, then un-ignoring: marked users include the ignored one.
    finish(&mut s, 1, MatchStatus::NotFound);
    finish(&mut s, 2, MatchStatus::Error);
    reduce(
        &mut s,
        Action::LookupBatchDone {
            batch: 1,
            cancelled: 0,
            error: None,
        },
    );
    key(&mut s, KeyCode::Char('A'));
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.users.rows[0].status(), MatchStatus::Pending);
}

#[test]
fn retry_errors_looks_up_only_the_errored_users() {
    let mut s = loaded_state();
    finish(&mut s, 0, MatchStatus::NotFound);
    finish(&mut s, 1, MatchStatus::Error);
    finish(&mut s, 2, MatchStatus::Matched { active: true });
    let effects = key(&mut s, KeyCode::Char('e'));
    match &effects[..] {
        [Effect::LookupUsers { jobs, .. }] => {
            assert_eq!(jobs.iter().map(|j| j.index).collect::<Vec<_>>(), vec![1]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.users.rows[1].status(), MatchStatus::Pending);
}

#[test]
fn link_by_hand_counts_only_after_the_get_verifies_it() {
    let mut s = loaded_state();
    key(&mut s, KeyCode::Char('l'));
    for c in "abc123".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let effects = key(&mut s, KeyCode::Enter);
    let (index, scim_id) = match &effects[..] {
        [Effect::VerifyLink { index, scim_id, .. }] => (*index, scim_id.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(s.users.rows[index].status(), MatchStatus::Pending);
    // Unknown id: no link.
    reduce(
        &mut s,
        Action::LinkVerified {
            index,
            scim_id: scim_id.clone(),
            result: Ok(None),
        },
    );
    assert_eq!(s.users.rows[index].status(), MatchStatus::Pending);
    // Verified: matched by stored id, inactive as the server says.
    let user: navscim::scim::ScimUser = serde_json::from_value(serde_json::json!({
        "id": "abc123", "userName": "ann@corp.example", "active": false, "externalId": "E1"
    }))
    .unwrap();
    reduce(
        &mut s,
        Action::LinkVerified {
            index,
            scim_id,
            result: Ok(Some(Box::new(user))),
        },
    );
    assert_eq!(
        s.users.rows[index].status(),
        MatchStatus::Matched { active: false }
    );
    assert!(s.users.rows[index].linked);
    assert_eq!(s.users.rows[index].scim_id(), Some("abc123"));
}

#[test]
fn cursor_pages_by_the_visible_height_and_stays_on_screen() {
    let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
    reduce(&mut s, Action::Resize(80, 24));
    let mut text = String::from(SN.lines().next().unwrap());
    text.push('\n');
    for i in 0..200 {
        text.push_str(&format!(
            "u{i}@corp.example,U,{i},E{i},S{i},ACTIVE,,NONE,\n"
        ));
    }
    let import = import_str("sn.csv", &text, &ImportOptions::default()).unwrap();
    reduce(
        &mut s,
        Action::FilesImported {
            results: vec![(source(), Ok(import))],
            lookup_after: false,
        },
    );
    s.tab = Tab::Users;
    key(&mut s, KeyCode::PageDown);
    assert_eq!(s.users.table.cursor, 16, "80x24 shows 16 rows");
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(s.users.table.cursor, 199);
    let screen_text = screen(&s, 80, 24);
    assert!(screen_text.contains("u199@corp.example"), "{screen_text}");
    assert!(!screen_text.contains("u0@corp.example"));
}

#[test]
fn a_file_navscim_cannot_map_opens_the_column_mapping_dialog() {
    use navscim::import::{import_path, ColumnRef, Field};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import/ambiguous_columns.csv");
    let result = import_path(&path, &ImportOptions::default());
    assert!(matches!(
        result,
        Err(navscim::import::ImportError::NeedsMapping(_))
    ));
    let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
    reduce(&mut s, Action::Resize(100, 30));
    let source = navscim::app::ImportSource::Path(path.clone());
    reduce(
        &mut s,
        Action::FilesImported {
            results: vec![(source.clone(), result)],
            lookup_after: true,
        },
    );
    assert_eq!(s.tab, Tab::Users);
    let dialog = s.users.mapping.as_ref().expect("dialog open");
    assert_eq!(dialog.choices[0].0, Field::Email);
    let text = screen(&s, 100, 30);
    assert!(
        text.contains("Map the columns of ambiguous_columns.csv"),
        "{text}"
    );
    assert!(text.contains("Email 1"), "{text}");
    // Keys of the pane underneath do nothing while the dialog is open.
    key(&mut s, KeyCode::Char('a'));
    assert!(s.users.table.marks.is_empty());
    // Choose "Email 2" (column 3) for email, then import.
    for _ in 0..10 {
        if s.users.mapping.as_ref().unwrap().choices[0].1 == Some(2) {
            break;
        }
        key(&mut s, KeyCode::Right);
    }
    assert_eq!(
        s.users.mapping.as_ref().unwrap().choices[0].1,
        Some(2),
        "{:?}",
        s.users.mapping.as_ref().unwrap().choices
    );
    let effects = key(&mut s, KeyCode::Enter);
    assert!(s.users.mapping.is_none());
    match &effects[..] {
        [Effect::ImportFiles {
            sources,
            options,
            lookup_after,
        }] => {
            assert_eq!(sources, &vec![source]);
            assert!(*lookup_after);
            let mapping = options.mapping.as_ref().unwrap();
            assert!(mapping
                .entries
                .contains(&(Field::Email, ColumnRef::Number(3))));
            // The effect's options import the file for real.
            let import = import_path(&path, options).unwrap();
            assert_eq!(
                import.idp_users()[0].email.as_deref(),
                Some("jane@home.example")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_problem_of_a_loaded_file_is_listed_with_file_line_and_column() {
    use navscim::import::import_path;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import/bad_rows.csv");
    let import = import_path(&path, &ImportOptions::default()).unwrap();
    let expected: Vec<String> = import.errors.iter().map(|d| d.to_string()).collect();
    assert!(!expected.is_empty(), "the fixture has bad rows");
    let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
    reduce(&mut s, Action::Resize(140, 60));
    reduce(
        &mut s,
        Action::FilesImported {
            results: vec![(navscim::app::ImportSource::Path(path), Ok(import))],
            lookup_after: false,
        },
    );
    s.tab = Tab::Users;
    assert!(s.notice.as_ref().unwrap().text.contains("p lists them"));
    key(&mut s, KeyCode::Char('p'));
    let text = screen(&s, 140, 60);
    assert!(text.contains("Loaded files"), "{text}");
    for line in &expected {
        assert!(text.contains(line.as_str()), "missing {line:?} in\n{text}");
    }
    key(&mut s, KeyCode::Esc);
    assert!(!screen(&s, 140, 60).contains("Loaded files"));
}

/// The Users pane's export (`x`) is a valid `--lookup` input of `navscim plan`: the two
/// front ends hand users to the same planning code in the same shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_export_feeds_navscim_plan() {
    let (sim, mut driver) = demo_driver().await;
    driver.settle().await;
    let users = &driver.state.users;
    let rows: Vec<navscim::report::UserReport> = (0..users.directory.len())
        .map(|i| {
            navscim::report::UserReport::new(
                &users.directory.users[i],
                users.presence(i),
                users.full_outcome(i),
                users.rows[i].ignored,
            )
        })
        .collect();
    let text = serde_json::to_string(&rows).unwrap();
    let candidates = navscim::plan::read_lookup_results("export.json", &text).unwrap();
    assert_eq!(candidates.len(), 1035);
    let matched = candidates
        .iter()
        .filter(|c| matches!(c.status, MatchStatus::Matched { .. }))
        .count();
    assert_eq!(
        matched,
        manifest("matched") + manifest("mismatch") + manifest("orphans")
    );
    // Seeded users are dated in the past, so none falls in a grace period.
    let dated = candidates
        .iter()
        .filter(|c| c.provisioned_on.is_some())
        .count();
    assert_eq!(dated, matched);
    assert!(candidates
        .iter()
        .filter_map(|c| c.provisioned_on)
        .all(|d| d.to_string() == "2024-01-15"));
    sim.shutdown().await;
}

/// Issue 13: on a wide terminal the Email column takes the room it needs, so every
/// address of the demo export is shown whole.
#[test]
fn wide_terminals_show_emails_whole() {
    let mut state = harness::demo_session(true);
    state.tab = Tab::Users;
    reduce(&mut state, Action::Resize(200, 50));
    let text = screen(&state, 200, 50);
    let shown: Vec<&str> = state.users.table.view[..40]
        .iter()
        .filter_map(|&i| state.users.directory.users[i].email.as_deref())
        .collect();
    assert!(shown.len() > 30, "the demo users have emails");
    for email in shown {
        assert!(text.contains(email), "{email} shown whole:\n{text}");
    }
    // At 80 columns the Email column, sized from the whole view, gets the larger
    // share: an email's start is shown even when the longest of the view is not whole.
    let narrow = screen(&state, 80, 24);
    assert!(narrow.contains("jessica.martin2@northw"), "{narrow}");
}
