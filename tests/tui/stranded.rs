//! Nothing stranded (issue 13, item 3): users left pending (loaded with no lookup, as
//! when there was no token at start) are looked up by one key, named on screen.

use crate::harness::{press, reduce, screen};
use navscim::app::state::{State, Tab};
use navscim::app::{Action, Effect, ImportSource};
use navscim::import::{demo, import_str, ImportOptions};
use ratatui::crossterm::event::KeyCode;

/// The demo's Okta export loaded without looking anyone up.
fn pending_users() -> State {
    let mut state = navscim::cli::tui::demo_state(
        "https://scim.demo.example/v2",
        &navscim::cli::ConnectionArgs::default(),
    );
    state.no_color = true;
    let (name, text) = (demo::IDP_OKTA_NAME, demo::IDP_OKTA_CSV);
    let source = ImportSource::Embedded { name, text };
    reduce(
        &mut state,
        Action::FilesImported {
            results: vec![(source, import_str(name, text, &ImportOptions::default()))],
            lookup_after: false,
        },
    );
    state.tab = Tab::Users;
    state
}

#[test]
fn pending_users_are_named_with_the_key_that_looks_them_up() {
    let mut s = pending_users();
    let total = s.users.rows.len();
    assert!(total > 1000, "the demo's export: {total}");
    let shown = format!("{},{:03}", total / 1000, total % 1000);
    for (w, h) in [(80, 24), (200, 50)] {
        let text = screen(&s, w, h);
        let lines: Vec<&str> = text.lines().collect();
        let progress = lines[2];
        assert!(
            progress.contains(&format!("{shown} not done · e looks them up")),
            "{w}x{h}: {progress}"
        );
        assert!(
            lines[h as usize - 1].contains("e look up rest"),
            "{w}x{h} status bar: {}",
            lines[h as usize - 1]
        );
    }
    let effects = press(&mut s, KeyCode::Char('e'));
    let jobs = effects
        .iter()
        .find_map(|e| match e {
            Effect::LookupUsers { jobs, .. } => Some(jobs.len()),
            _ => None,
        })
        .expect("e looks them up");
    assert_eq!(jobs, total, "every pending user, in one key");
    // Queued in the running batch: a second e sends nobody twice.
    let again = press(&mut s, KeyCode::Char('e'));
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Effect::LookupUsers { .. })),
        "{again:?}"
    );
    press(&mut s, KeyCode::Char('?'));
    assert!(screen(&s, 80, 24).contains("Look up every user not done"));
}

/// A token the server refuses stops the lookups, and the dashboard says so: the token,
/// where to fix it and the key that looks up the rest, not "cancelled" (which the
/// admin did not do). The token itself is on no screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_named_as_the_reason_the_lookups_stopped() {
    let sim = navscim::sim::start(navscim::cli::tui::demo_sim_config(
        std::time::Duration::ZERO,
    ))
    .await
    .unwrap();
    let mut state =
        navscim::cli::tui::demo_state(sim.base_url(), &navscim::cli::ConnectionArgs::default());
    state.no_color = true;
    let wrong = "wrong-token-5f0c1d";
    state.connection.pasted = navscim::secret::Token::new(wrong);
    let journal = tempfile::TempDir::new().unwrap();
    let settings = navscim::runtime::Settings {
        journal_dir: Some(journal.path().to_path_buf()),
        ..Default::default()
    };
    let mut driver = navscim::runtime::Driver::new(state, settings);
    driver.clock = crate::harness::clock();
    driver.dispatch(Action::Resize(120, 40));
    for action in navscim::cli::tui::demo_actions(&driver.state) {
        driver.dispatch(action);
    }
    driver.settle().await;
    driver.state.tab = Tab::Users;
    let notice = driver.state.notice.as_ref().expect("a notice").text.clone();
    assert!(notice.contains("refused the token"), "{notice}");
    assert!(notice.contains("Connection pane"), "{notice}");
    assert!(!notice.contains("cancelled"), "{notice}");
    for (w, h) in [(80, 24), (200, 50)] {
        assert!(!screen(&driver.state, w, h).contains(wrong));
    }
    sim.shutdown().await;
}
