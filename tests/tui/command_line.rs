//! The `:` command line (issue 13, item 8): verbs that do what keys do, completed with
//! Tab (candidates shown), recalled with Up / Down, mistakes named with the nearest
//! verb; and the exports it reaches: the Usage rows in view (CSV) and the plan under
//! review as a plan file `navscim apply` takes (and refuses on another server).

use crate::harness::{demo_session, key_event, press, reduce, screen, typed};
use navscim::app::command_line::{LineKind, VERBS};
use navscim::app::keys::Command;
use navscim::app::state::{Overlay, State, Tab};
use navscim::app::usage::state::ActivityFilter;
use navscim::app::users::StatusFilter;
use navscim::app::Action;
use navscim::runtime::{buffer_text, render_to_buffer, Driver, Settings};
use ratatui::crossterm::event::KeyCode;

/// `:LINE` then Enter.
fn run(s: &mut State, line: &str) {
    press(s, KeyCode::Char(':'));
    typed(s, line);
    press(s, KeyCode::Enter);
}

fn notice(s: &State) -> String {
    s.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

fn typed_line(s: &State) -> String {
    s.command_line
        .line
        .as_ref()
        .map(|l| l.input.value.clone())
        .unwrap_or_default()
}

/// A pane filter given while that pane's details are open goes to the table (the
/// details close), not to the details view, where it used to be dropped unsaid.
#[test]
fn a_pane_filter_given_with_the_details_open_filters_the_table() {
    let mut s = demo_session(true);
    // Details left open on Users, then the admin is on Usage.
    s.users.details_open = true;
    run(&mut s, "usage");
    run(&mut s, "users orphan");
    assert_eq!(
        s.users.status_filter,
        StatusFilter::Orphan,
        "{}",
        notice(&s)
    );
    assert!(!s.users.details_open);
    s.usage.details_open = true;
    run(&mut s, "usage unmatched");
    assert_eq!(
        s.usage.activity_filter,
        ActivityFilter::NoUser,
        "{}",
        notice(&s)
    );
    assert!(!s.usage.details_open);
}

#[test]
fn verbs_switch_panes_and_set_the_panes_own_filters() {
    let mut s = demo_session(true);
    run(&mut s, "usage unmatched");
    assert_eq!(s.tab, Tab::Usage);
    assert_eq!(s.usage.activity_filter, ActivityFilter::NoUser);
    assert!(s.command_line.line.is_none(), "Enter closes the line");
    // The same view as `f` pressed to "no user".
    let shown = s.usage.table.view.clone();
    assert!(!shown.is_empty() && shown.len() < s.usage.rows().len());
    assert!(shown.iter().all(|&r| s.usage.row_user[r].is_none()));

    run(&mut s, "users orphan");
    assert_eq!(s.tab, Tab::Users);
    assert_eq!(s.users.status_filter, StatusFilter::Orphan);
    run(&mut s, "filter NANCY");
    let view = &s.users.table.view;
    assert!(!view.is_empty() && view.len() < 20, "{}", view.len());
    assert_eq!(s.users.table.filter.value, "NANCY");
    run(&mut s, "users all");
    run(&mut s, "filter");
    assert_eq!(
        s.users.table.view.len(),
        1035,
        "filter without text clears it"
    );

    run(&mut s, "actions");
    assert_eq!(s.tab, Tab::Actions);
    run(&mut s, "history");
    assert_eq!(s.tab, Tab::History);
    run(&mut s, "connection");
    assert_eq!(s.tab, Tab::Connection);
    run(&mut s, "messages");
    assert!(matches!(s.overlay, Overlay::Messages { .. }));
    press(&mut s, KeyCode::Esc);
    run(&mut s, "help");
    assert!(matches!(s.overlay, Overlay::Help { .. }));
    let text = screen(&s, 200, 50);
    assert!(text.contains("Command line (: then Tab)"), "{text}");
    press(&mut s, KeyCode::Esc);
    run(&mut s, "q");
    assert!(s.should_quit);
}

#[test]
fn keys_typed_into_the_line_are_text_not_commands() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    press(&mut s, KeyCode::Char(':'));
    assert!(matches!(
        s.command_line.line.as_ref().map(|l| &l.kind),
        Some(LineKind::Command)
    ));
    typed(&mut s, "q3 ");
    assert!(!s.should_quit);
    assert_eq!(s.tab, Tab::Users);
    assert_eq!(typed_line(&s), "q3 ");
    // Esc cancels: nothing runs.
    press(&mut s, KeyCode::Esc);
    assert!(s.command_line.line.is_none());
    assert!(!s.should_quit);
    assert!(s.command_line.history.is_empty());
}

#[test]
fn tab_completes_the_verb_then_its_argument_and_shows_the_candidates() {
    let mut s = demo_session(true);
    press(&mut s, KeyCode::Char(':'));
    let all = &s.command_line.line.as_ref().unwrap().candidates;
    assert_eq!(all.len(), VERBS.len(), "every verb is a candidate at first");
    typed(&mut s, "us");
    press(&mut s, KeyCode::Tab);
    assert_eq!(typed_line(&s), "us", "two verbs: nothing to add");
    let text = screen(&s, 80, 24);
    assert!(
        text.contains(" users ") && text.contains(" usage "),
        "{text}"
    );
    typed(&mut s, "a");
    press(&mut s, KeyCode::Tab);
    assert_eq!(typed_line(&s), "usage ");
    let text = screen(&s, 80, 24);
    assert!(text.contains(":usage [FILTER]"), "{text}");
    assert!(
        text.contains("unmatched") && text.contains("never"),
        "{text}"
    );
    typed(&mut s, "unm");
    press(&mut s, KeyCode::Tab);
    assert_eq!(typed_line(&s), "usage unmatched");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.usage.activity_filter, ActivityFilter::NoUser);
}

#[test]
fn up_and_down_recall_the_commands_of_the_session() {
    let mut s = demo_session(true);
    run(&mut s, "history");
    run(&mut s, "users unmatched");
    run(&mut s, "users unmatched");
    assert_eq!(
        s.command_line.history,
        vec!["history", "users unmatched"],
        "a repeat is kept once"
    );
    press(&mut s, KeyCode::Char(':'));
    typed(&mut s, "he");
    press(&mut s, KeyCode::Up);
    assert_eq!(typed_line(&s), "users unmatched");
    press(&mut s, KeyCode::Up);
    assert_eq!(typed_line(&s), "history");
    press(&mut s, KeyCode::Up);
    assert_eq!(typed_line(&s), "history", "the oldest stays");
    press(&mut s, KeyCode::Down);
    assert_eq!(typed_line(&s), "users unmatched");
    press(&mut s, KeyCode::Down);
    assert_eq!(typed_line(&s), "he", "back to what was typed");
    press(&mut s, KeyCode::Up);
    press(&mut s, KeyCode::Up);
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::History);
}

#[test]
fn mistakes_are_named_with_the_nearest_verb_and_run_nothing() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    run(&mut s, "exprot users.csv");
    assert_eq!(
        notice(&s),
        "Unknown command :exprot — did you mean :export? (Tab lists the verbs)"
    );
    run(&mut s, "usage idel");
    let n = notice(&s);
    assert!(
        n.starts_with(":usage idel: no such filter — did you mean idle?"),
        "{n}"
    );
    assert_eq!(s.tab, Tab::Users, "a bad argument runs nothing");
    run(&mut s, "quit now");
    assert!(!s.should_quit);
    assert!(
        notice(&s).contains(":quit takes nothing after it"),
        "{}",
        notice(&s)
    );
    run(&mut s, "export");
    assert_eq!(notice(&s), ":export needs a file name: :export FILE");
    run(&mut s, "actions");
    run(&mut s, "sort");
    assert_eq!(
        notice(&s),
        ":sort works on the Users and Usage panes, not on Actions"
    );
    run(&mut s, "history");
    run(&mut s, "export x.csv");
    assert!(notice(&s).contains(":export works on"), "{}", notice(&s));
    // Odd input never panics.
    for line in [
        "",
        " ",
        ":::",
        "ü",
        "users ü",
        "export  ",
        "\u{1b}",
        "usage ALL",
    ] {
        run(&mut s, line);
    }
    assert_eq!(s.usage.activity_filter, ActivityFilter::All);
    assert_eq!(s.tab, Tab::Usage);
}

#[test]
fn the_open_command_line_with_candidates_at_80x24() {
    let mut s = demo_session(true);
    reduce(&mut s, Action::Command(Command::GoTab(1)));
    press(&mut s, KeyCode::Char(':'));
    typed(&mut s, "usage ");
    let buffer = render_to_buffer(&s, 80, 24);
    insta::assert_snapshot!("command_line_usage_80x24", buffer_text(&buffer));
}

fn driver(state: State) -> Driver {
    let mut d = Driver::new(state, Settings::default());
    d.clock = crate::harness::clock();
    d
}

fn d_run(d: &mut Driver, line: &str) {
    d.dispatch(key_event(KeyCode::Char(':')));
    for c in line.chars() {
        d.dispatch(key_event(KeyCode::Char(c)));
    }
    d.dispatch(key_event(KeyCode::Enter));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_export_writes_the_rows_in_view_and_asks_before_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.csv");
    let mut d = driver(demo_session(true));
    d_run(&mut d, "usage idle");
    d.dispatch(key_event(KeyCode::Char('s')));
    let view: Vec<usize> = d.state.usage.table.view.clone();
    assert!(!view.is_empty() && view.len() < d.state.usage.rows().len());
    d_run(&mut d, &format!("export {}", path.display()));
    d.settle().await;
    let n = view.len();
    assert_eq!(
        notice(&d.state),
        format!("Exported {n} usage rows to {}", path.display())
    );
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, navscim::usage::USAGE_EXPORT_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), n, "the rows in view, no more");
    // In the order shown, each idle beyond the threshold.
    for (record, &r) in rows.iter().zip(&view) {
        let row = &d.state.usage.rows()[r];
        assert_eq!(&record[0], row.email.as_deref().unwrap_or(""));
        assert_eq!(&record[4], "yes", "{record:?}");
    }
    let first = std::fs::read_to_string(&path).unwrap();

    // `x` to the same file: asked first, nothing written; y replaces it.
    d_run(&mut d, "usage all");
    d.dispatch(key_event(KeyCode::Char('x')));
    for c in path.display().to_string().chars() {
        d.dispatch(key_event(KeyCode::Char(c)));
    }
    d.dispatch(key_event(KeyCode::Enter));
    d.settle().await;
    let text = screen(&d.state, 80, 24);
    assert!(text.contains("overwrite it?"), "{text}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "untouched");
    d.dispatch(key_event(KeyCode::Char('y')));
    d.dispatch(key_event(KeyCode::Enter));
    d.settle().await;
    let all = d.state.usage.rows().len();
    assert!(
        notice(&d.state).starts_with(&format!("Exported {all} usage rows")),
        "{}",
        notice(&d.state)
    );
    // Usage rows are CSV only: another name is refused before anything is written.
    d_run(
        &mut d,
        &format!("export {}", dir.path().join("u.json").display()),
    );
    d.settle().await;
    assert!(
        notice(&d.state).contains("the Usage export is CSV"),
        "{}",
        notice(&d.state)
    );
    assert!(!dir.path().join("u.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_under_review_exports_as_a_plan_file_apply_takes_and_refuses_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let mut s = demo_session(true);
    // Usage: mark the idle users shown, send them to Actions as a plan.
    reduce(&mut s, Action::Command(Command::GoTab(2)));
    press(&mut s, KeyCode::Char('i'));
    press(&mut s, KeyCode::Char('d'));
    assert_eq!(s.tab, Tab::Actions, "{}", notice(&s));
    let reviewed = s.actions.review.as_ref().unwrap().plan.clone();
    assert!(!reviewed.operations.is_empty());
    let mut d = driver(s);
    // `w` on Actions, the file name typed over the default.
    d.dispatch(key_event(KeyCode::Char('w')));
    assert!(screen(&d.state, 80, 24).contains("navscim-plan.json"));
    for c in path.display().to_string().chars() {
        d.dispatch(key_event(KeyCode::Char(c)));
    }
    d.dispatch(key_event(KeyCode::Enter));
    d.settle().await;
    let n = reviewed.operations.len();
    assert!(
        notice(&d.state).starts_with(&format!("Exported the plan ({n} operations)")),
        "{}",
        notice(&d.state)
    );

    // Read back by the loader `navscim apply` uses: the plan reviewed, recording the
    // session's server and profile.
    let loaded = navscim::cli::apply::load_plan(&path).unwrap();
    assert_eq!(loaded.operations, reviewed.operations);
    assert_eq!(loaded.excluded, reviewed.excluded);
    let target = loaded.target.clone().expect("the plan records its target");
    assert_eq!(target.server, d.state.connection.spec().base_url);
    assert_eq!(target.profile, d.state.connection.profile);
    assert_eq!(target.tenant, d.state.tenant);
    assert!(loaded.check_target(&target).is_ok());
    let elsewhere = navscim::plan::PlanTarget {
        server: "https://other.example/scim/v2".into(),
        ..(*target).clone()
    };
    let wrong = loaded.check_target(&elsewhere).unwrap_err();
    assert!(wrong.to_string().contains("nothing was sent"), "{wrong}");

    // `:export` does the same; a file there is not replaced before `y`.
    d_run(&mut d, &format!("export {}", path.display()));
    d.settle().await;
    assert!(matches!(
        d.state.command_line.line.as_ref().map(|l| &l.kind),
        Some(LineKind::Overwrite(_))
    ));
    d.dispatch(key_event(KeyCode::Esc));
    assert!(
        notice(&d.state).starts_with("Not exported;"),
        "{}",
        notice(&d.state)
    );

    // The binary: `navscim apply --dry-run` on another server refuses it (exit 6).
    let home = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_navscim"))
        .args([
            "apply",
            &path.display().to_string(),
            "--dry-run",
            "--base-url",
            "http://127.0.0.1:9/scim/v2",
        ])
        .env("NAVSCIM_CONFIG_DIR", home.path().join("config"))
        .env("NAVSCIM_DATA_DIR", home.path().join("data"))
        .env_remove("NAVSCIM_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(
        err.contains(&target.server) && err.contains("refusing"),
        "{err}"
    );
}

/// The verbs the README's `## The command line` table names (backticked `:verb`s in
/// its first column).
fn readme_verbs() -> std::collections::BTreeSet<String> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## The command line\n")
        .nth(1)
        .expect("the README has a command line section");
    let section = section.split("\n## ").next().unwrap();
    let mut verbs = std::collections::BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `:")) {
        let first = row.split(" | ").next().unwrap().trim_start_matches("| ");
        for ticked in first.split('`').skip(1).step_by(2) {
            let word = ticked.trim_start_matches(':');
            let word = word.split_whitespace().next().unwrap_or("");
            verbs.insert(word.to_string());
        }
    }
    verbs
}

#[test]
fn the_readme_lists_exactly_the_verbs_of_the_table() {
    let readme = readme_verbs();
    let table: std::collections::BTreeSet<String> = VERBS
        .iter()
        .flat_map(|v| std::iter::once(v.name).chain(v.aliases.iter().copied()))
        .map(String::from)
        .collect();
    let missing: Vec<_> = table.difference(&readme).collect();
    assert!(missing.is_empty(), "README lacks the verbs {missing:?}");
    let unknown: Vec<_> = readme.difference(&table).collect();
    assert!(
        unknown.is_empty(),
        "README names verbs the table has not: {unknown:?}"
    );
}
