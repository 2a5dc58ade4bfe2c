//! Pastes as the terminal sends them (issue 13, item 1): the bytes go through our own
//! input parser ([`navscim::runtime::input::InputParser`]) and the reducer, so a
//! paste whose end marker never arrives ends after its timeout and the keyboard works.
//! The clock is injected: no sleeps.

use std::time::{Duration, Instant};

use crate::harness::{demo_session, reduce, screen};
use navscim::app::state::{State, Tab};
use navscim::app::Effect;
use navscim::runtime::action_from_event;
use navscim::runtime::input::{InputParser, PASTE_TIMEOUT};

/// Feeds `bytes` arriving at `at` through the parser and the reducer; returns the
/// effects the resulting actions asked for.
fn feed(s: &mut State, parser: &mut InputParser, bytes: &[u8], at: Instant) -> Vec<Effect> {
    let events = parser.feed(bytes, at);
    events
        .into_iter()
        .filter_map(action_from_event)
        .flat_map(|a| reduce(s, a))
        .collect()
}

/// The parser's timeouts passing at `at`.
fn flush(s: &mut State, parser: &mut InputParser, at: Instant) -> Vec<Effect> {
    parser
        .flush(at)
        .into_iter()
        .filter_map(action_from_event)
        .flat_map(|a| reduce(s, a))
        .collect()
}

#[test]
fn a_multi_line_paste_without_its_end_marker_stays_one_value_and_runs_no_command() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    let mut parser = InputParser::new();
    let t = Instant::now();
    feed(&mut s, &mut parser, b"/", t);
    assert!(s.users.table.filter_editing);
    // Lines that would quit, switch tabs and mark if they were keys; no end marker.
    let effects = feed(&mut s, &mut parser, b"\x1b[200~ann\r\nq\r\n3\r\n ", t);
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(s.users.table.filter.value, "", "held until the paste ends");
    assert!(!s.should_quit);
    // The end marker never comes: the paste ends after its timeout, as one value.
    let effects = flush(&mut s, &mut parser, t + PASTE_TIMEOUT);
    assert!(effects.is_empty(), "a paste runs no command: {effects:?}");
    assert_eq!(s.users.table.filter.value, "ann q 3");
    assert!(s.users.table.filter_editing, "still in the field");
    assert_eq!(s.tab, Tab::Users);
    assert!(!s.should_quit);
    // The keyboard is alive: Esc (after its own short wait) leaves the field.
    let t2 = t + PASTE_TIMEOUT + Duration::from_secs(1);
    feed(&mut s, &mut parser, b"\x1b", t2);
    flush(&mut s, &mut parser, t2 + Duration::from_secs(1));
    assert!(
        !s.users.table.filter_editing,
        "Esc works after a lost end marker"
    );
    let text = screen(&s, 80, 24);
    assert!(!text.contains("ann q 3"), "Esc cleared the filter:\n{text}");
}

#[test]
fn ctrl_c_during_a_paste_left_open_still_quits() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    let mut parser = InputParser::new();
    let t = Instant::now();
    feed(&mut s, &mut parser, b"/\x1b[200~half a pas", t);
    assert!(!s.should_quit);
    feed(&mut s, &mut parser, b"\x03", t + Duration::from_millis(10));
    assert_eq!(s.users.table.filter.value, "half a pas");
    assert!(s.should_quit, "Ctrl-C is Ctrl-C even inside a paste");
}
