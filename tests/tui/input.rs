//! One text-input behaviour everywhere (issue 13, item 1): the hidden token field,
//! pre-filled prompts that typing replaces, pastes that stay one value, and the hint
//! each open field shows.

use crate::harness::{demo_session, press, reduce, screen, typed};
use navscim::app::connection::{ConnField, ConnectionState, TokenSourceKind};
use navscim::app::state::{State, Tab};
use navscim::app::{Action, Effect};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn token_field() -> State {
    let mut s = State::new(
        ConnectionState::new("default", "https://api.linkedin.com/scim"),
        false,
    );
    s.connection.source_kind = TokenSourceKind::Paste;
    s.connection.focus = ConnField::TokenValue;
    s
}

fn ctrl(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

#[test]
fn a_paste_into_the_token_keeps_editing_and_enter_closes_it() {
    let mut s = token_field();
    press(&mut s, KeyCode::Enter);
    assert!(s.connection.editing);
    reduce(&mut s, Action::Paste("  secret-token\n".into()));
    assert!(s.connection.editing, "a paste does not end editing");
    assert_eq!(s.connection.pasted.expose(), "secret-token");
    press(&mut s, KeyCode::Enter);
    assert!(
        !s.connection.editing,
        "Enter after a paste closes the field"
    );
    // The habitual next key is a command, not part of the token.
    let effects = press(&mut s, KeyCode::Char('t'));
    assert_eq!(s.connection.pasted.expose(), "secret-token");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::TestConnection { .. })),
        "t tests the connection: {effects:?}"
    );
    let text = screen(&s, 80, 24);
    assert!(!text.contains("secret-token"), "the token is never shown");
}

#[test]
fn the_token_field_takes_ctrl_u_and_typing_replaces_a_token_there() {
    let mut s = token_field();
    reduce(&mut s, Action::Paste("old-token".into()));
    assert!(
        !s.connection.editing,
        "a paste does not start editing either"
    );
    press(&mut s, KeyCode::Enter);
    reduce(&mut s, ctrl('u'));
    assert!(s.connection.pasted.is_empty(), "Ctrl-U clears the token");
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.connection.pasted.expose(), "old-token", "Esc restores it");
    press(&mut s, KeyCode::Enter);
    typed(&mut s, "new");
    press(&mut s, KeyCode::Enter);
    assert_eq!(
        s.connection.pasted.expose(),
        "new",
        "the first key replaced it"
    );
}

#[test]
fn an_open_field_says_what_the_admin_can_do_in_it() {
    let mut s = token_field();
    s.connection.focus = ConnField::BaseUrl;
    press(&mut s, KeyCode::Enter);
    let text = screen(&s, 80, 24);
    assert!(
        text.contains("Enter ok · Esc cancel · Ctrl-U clear"),
        "{text}"
    );
    typed(&mut s, "https://x.example/scim");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.connection.base_url.value, "https://x.example/scim");
}

#[test]
fn pre_filled_number_prompts_are_replaced_by_the_first_digit() {
    let mut s = demo_session(true);
    s.tab = Tab::Usage;
    press(&mut s, KeyCode::Char('T'));
    let text = screen(&s, 80, 24);
    assert!(text.contains("typing replaces"), "{text}");
    typed(&mut s, "45");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.usage.threshold, 45);
    press(&mut s, KeyCode::Char('P'));
    typed(&mut s, "7");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.usage.grace_days, 7);
    // A cursor key keeps the value to edit it.
    press(&mut s, KeyCode::Char('T'));
    press(&mut s, KeyCode::End);
    typed(&mut s, "0");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.usage.threshold, 450);
}

#[test]
fn a_multi_line_paste_into_a_single_line_field_stays_one_value() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    press(&mut s, KeyCode::Char('/'));
    let effects = reduce(&mut s, Action::Paste("ann\nq\n1\n".into()));
    assert!(effects.is_empty(), "a paste runs no command: {effects:?}");
    assert_eq!(s.users.table.filter.value, "ann q 1");
    assert!(s.users.table.filter_editing, "still in the field");
    assert_eq!(s.tab, Tab::Users, "the pasted 1 did not switch tabs");
}
