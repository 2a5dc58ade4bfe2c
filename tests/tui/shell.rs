//! The dashboard as an admin sees it, rendered through ratatui's TestBackend.

use crate::harness::{press, reduce, screen};
use navscim::app::connection::ConnectionState;
use navscim::app::keys::{self, Command, Context};
use navscim::app::state::{State, Tab};
use navscim::app::Action;
use navscim::runtime::{buffer_text, render_to_buffer};
use ratatui::crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};

fn state() -> State {
    State::new(
        ConnectionState::new("default", "https://api.linkedin.com/scim"),
        false,
    )
}

#[test]
fn shows_four_tabs_and_the_read_only_badge_at_80x24() {
    let s = state();
    let text = screen(&s, 80, 24);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 24);
    for tab in ["1 Connection", "2 Users", "3 Usage", "4 Actions"] {
        assert!(lines[0].contains(tab), "tab {tab} missing: {}", lines[0]);
    }
    assert!(lines[23].starts_with(" READ-ONLY "), "{}", lines[23]);
    assert!(text.contains("Base URL"));
    assert!(text.contains("https://api.linkedin.com/scim"));
    assert!(text.contains("[ ] allow deactivating users"));
    assert!(text.contains("Reuse the token your identity provider already uses"));
}

#[test]
fn badge_follows_the_permission_checkboxes() {
    let mut s = state();
    s.connection.permissions.deprovisioning = true;
    assert!(screen(&s, 80, 24)
        .lines()
        .last()
        .unwrap()
        .starts_with(" DEPROVISION "));
    s.connection.permissions.provisioning = true;
    assert!(screen(&s, 100, 24)
        .lines()
        .last()
        .unwrap()
        .starts_with(" PROVISION+DEPROVISION "));
}

#[test]
fn status_bar_hints_come_from_the_key_table() {
    let s = state();
    let text = screen(&s, 120, 24);
    let last = text.lines().last().unwrap();
    for binding in keys::bindings_for(Context::Connection) {
        if let Some(hint) = binding.hint {
            let shown = format!("{} {hint}", binding.keys[0].label());
            assert!(last.contains(&shown), "hint {shown:?} missing: {last}");
        }
    }
}

#[test]
fn help_overlay_lists_every_binding_of_the_pane_and_closes() {
    let mut s = state();
    press(&mut s, KeyCode::Char('?'));
    let text = screen(&s, 100, 50);
    assert!(text.contains("Help"));
    for binding in
        keys::all().filter(|b| b.context == Context::Connection || b.context == Context::Global)
    {
        assert!(text.contains(binding.help), "help lacks {:?}", binding.help);
    }
    press(&mut s, KeyCode::Esc);
    assert!(!screen(&s, 100, 50).contains("Help — Esc closes"));
}

#[test]
fn help_fits_and_scrolls_at_80x24() {
    let mut s = state();
    press(&mut s, KeyCode::Char('?'));
    let first = screen(&s, 80, 24);
    assert!(first.contains("Connection pane"));
    // Past the keys and the command line's verbs.
    for _ in 0..60 {
        press(&mut s, KeyCode::Char('j'));
    }
    let scrolled = screen(&s, 80, 24);
    assert_ne!(first, scrolled, "scrolling moves the help text");
    assert!(
        scrolled.contains("Read-only until you tick"),
        "the end is reachable"
    );
}

#[test]
fn empty_panes_say_how_to_start() {
    let mut s = state();
    press(&mut s, KeyCode::Char('2'));
    assert_eq!(s.tab, Tab::Users);
    let text = screen(&s, 80, 24);
    assert!(text.contains("No users loaded yet."), "{text}");
    assert!(text.contains("Press L to load a CSV"));
    press(&mut s, KeyCode::Char('3'));
    assert_eq!(s.tab, Tab::Usage);
    let text = screen(&s, 80, 24);
    assert!(text.contains("No usage report loaded yet."), "{text}");
    assert!(text.contains("Press L to load the usage report"), "{text}");
    press(&mut s, KeyCode::Char('4'));
    assert_eq!(s.tab, Tab::Actions);
    let text = screen(&s, 80, 24);
    assert!(text.contains("No plan to review."), "{text}");
    assert!(text.contains("mark users, then D deactivate"), "{text}");
    assert!(
        text.contains("Nothing is sent until you apply a plan"),
        "{text}"
    );
    assert!(text.lines().last().unwrap().starts_with(" READ-ONLY "));
}

#[test]
fn focus_is_visible_without_colour() {
    let mut s = state();
    s.no_color = true;
    let buffer = render_to_buffer(&s, 80, 24);
    let mut reversed = 0;
    for y in 0..24 {
        for x in 0..80 {
            let cell = &buffer[(x, y)];
            assert_eq!(cell.fg, Color::Reset, "no colour at ({x},{y})");
            assert_eq!(cell.bg, Color::Reset, "no colour at ({x},{y})");
            if cell.modifier.contains(Modifier::REVERSED) {
                reversed += 1;
            }
        }
    }
    assert!(
        reversed > 10,
        "the focused row and badge are in reverse video"
    );
    let text = buffer_text(&buffer);
    assert!(text.contains("▶ Base URL"), "focus marker visible");
}

#[test]
fn pasted_token_is_masked_on_screen() {
    let mut s = state();
    reduce(&mut s, Action::Command(Command::Down));
    // Token source row: cycle to Paste.
    while s.connection.source_kind != navscim::app::connection::TokenSourceKind::Paste {
        press(&mut s, KeyCode::Right);
    }
    reduce(&mut s, Action::Command(Command::Down));
    reduce(&mut s, Action::Paste("super-secret-token-value".into()));
    let text = screen(&s, 80, 24);
    assert!(!text.contains("super-secret"), "token shown:\n{text}");
    assert!(text.contains("(24 characters)"));
}

#[test]
fn quit_confirmation_focuses_stay() {
    let mut s = state();
    reduce(&mut s, Action::Command(Command::TestConnection));
    press(&mut s, KeyCode::Char('q'));
    let buffer = render_to_buffer(&s, 80, 24);
    let text = buffer_text(&buffer);
    assert!(text.contains("Quitting cancels it"));
    // The highlighted (focused) choice is Stay.
    let (x, y) = find(&text, "Stay").expect("Stay shown");
    assert_ne!(buffer[(x, y)].bg, Color::Reset);
}

fn find(text: &str, needle: &str) -> Option<(u16, u16)> {
    text.lines().enumerate().find_map(|(y, line)| {
        line.find(needle)
            .map(|byte| (line[..byte].chars().count() as u16, y as u16))
    })
}

#[test]
#[ignore = "prints the screen for a human to look at"]
fn peek() {
    let mut s = state();
    println!("{}", screen(&s, 80, 24));
    press(&mut s, KeyCode::Char('?'));
    println!("{}", screen(&s, 80, 24));
}
