//! Never silent on a slow or dead server (issue 13, item 2): the connection test and
//! the lookups say how long they have waited and for what; Esc cancels a test.

use crate::harness::{demo_session, now, press, reduce, screen};
use navscim::app::connection::{ConnectionState, TestStatus};
use navscim::app::state::{State, Tab};
use navscim::app::{reduce as reduce_at, Action, Effect};
use ratatui::crossterm::event::KeyCode;

#[test]
fn a_connection_test_shows_the_time_waited_and_esc_cancels_it() {
    let mut s = State::new(
        ConnectionState::new("default", "https://api.linkedin.com/scim"),
        false,
    );
    let effects = press(&mut s, KeyCode::Char('t'));
    assert!(matches!(effects[..], [Effect::TestConnection { .. }]));
    let seq = s.connection.test_seq;
    reduce_at(&mut s, Action::Tick, now() + chrono::Duration::seconds(12));
    let text = screen(&s, 80, 24);
    assert!(
        text.contains("Testing the connection… 12 s · Esc cancels"),
        "{text}"
    );
    reduce_at(
        &mut s,
        Action::Key(ratatui::crossterm::event::KeyEvent::from(KeyCode::Esc)),
        now() + chrono::Duration::seconds(13),
    );
    assert_eq!(s.connection.test, TestStatus::NotRun);
    assert!(screen(&s, 80, 24).contains("Connection test cancelled after 13 s"));
    // The late answer of the cancelled test changes nothing.
    reduce(
        &mut s,
        Action::ConnectionTested {
            seq,
            result: Err(navscim::app::connection::ConnectionFailure {
                headline: "Timed out".into(),
                detail: "late".into(),
            }),
        },
    );
    assert_eq!(s.connection.test, TestStatus::NotRun);
    assert!(!s.work_running(), "no tick is asked for after the cancel");
}

#[test]
fn the_lookups_progress_line_says_what_it_waits_for() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    let effects = press(&mut s, KeyCode::Char('r'));
    let Some(Effect::LookupUsers { batch, .. }) = effects
        .iter()
        .find(|e| matches!(e, Effect::LookupUsers { .. }))
    else {
        panic!("r looks the user up again: {effects:?}");
    };
    let batch = *batch;
    let line = |s: &State| screen(s, 80, 24).lines().nth(2).unwrap().to_string();
    assert!(!line(&s).contains("waiting"), "{}", line(&s));
    reduce_at(&mut s, Action::Tick, now() + chrono::Duration::seconds(5));
    let shown = line(&s);
    assert!(shown.contains("waiting 5 s for the connection"), "{shown}");
    let index = s.users.table.view[s.users.table.cursor];
    reduce_at(
        &mut s,
        Action::LookupStarted {
            batch,
            index,
            at: std::time::Duration::from_secs(5),
        },
        now() + chrono::Duration::seconds(5),
    );
    reduce_at(&mut s, Action::Tick, now() + chrono::Duration::seconds(65));
    let shown = screen(&s, 200, 50);
    assert!(
        shown.contains("waiting 60 s for the server's answer to 1 lookups · c cancels"),
        "{shown}"
    );
}
