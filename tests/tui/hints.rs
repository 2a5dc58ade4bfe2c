//! Wording that tells the truth (issue 13, item 6) and help that fits (item 5): each
//! prompt's hints come from what its keys do there (no "Tab kind" where Tab picks no
//! kind, no "Tab Cancel/Apply" outside the confirmation), and the help at 80x24 shows
//! every line whole, scrolling, with where the admin is.

use crate::harness::{demo_session, press, reduce, screen};
use navscim::app::keys::{self, Command};
use navscim::app::state::{State, Tab};
use navscim::app::Action;
use ratatui::crossterm::event::KeyCode;

fn users() -> State {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    s
}

#[test]
fn tab_is_offered_only_where_it_does_what_the_hint_says() {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        // Export and load prompts: Tab picks no identifier kind.
        for key in ['x', 'L'] {
            let mut s = users();
            press(&mut s, KeyCode::Char(key));
            // `x` asks on the bottom line every export shares, `L` on the pane's prompt.
            assert!(s.users.prompt.is_some() || s.command_line.line.is_some());
            let text = screen(&s, w, h);
            assert!(!text.contains("Tab kind"), "{key} at {w}x{h}:\n{text}");
            assert!(
                text.contains("Enter ok · Esc cancel"),
                "{key} at {w}x{h}:\n{text}"
            );
        }
        // The re-look-up prompt: Tab does pick the kind, and says so.
        let mut s = users();
        press(&mut s, KeyCode::Char('R'));
        let text = screen(&s, w, h);
        assert!(text.contains("Tab kind"), "{w}x{h}:\n{text}");
        // Opening a plan file: Tab moves no focus between Cancel and Apply.
        let mut s = users();
        s.tab = Tab::Actions;
        press(&mut s, KeyCode::Char('o'));
        assert!(s.actions.prompt.is_some());
        let text = screen(&s, w, h);
        assert!(!text.contains("Cancel/Apply"), "{w}x{h}:\n{text}");
        assert!(text.contains("Enter ok · Esc cancel"), "{w}x{h}:\n{text}");
    }
    // The confirmation: Tab moves between Cancel and Apply, and says so.
    let mut s = users();
    reduce(&mut s, Action::Command(Command::PlanDeactivate));
    s.connection.permissions.deprovisioning = true;
    s.tab = Tab::Actions;
    press(&mut s, KeyCode::Char('x'));
    assert!(s.actions.confirm.is_some(), "{:?}", s.notice);
    let text = screen(&s, 80, 24);
    assert!(text.contains("Tab Cancel/Apply"), "{text}");
}

#[test]
fn help_at_80x24_shows_every_line_whole_and_says_where_it_is() {
    let mut s = users();
    press(&mut s, KeyCode::Char('?'));
    let first = screen(&s, 80, 24);
    assert!(first.contains("Help 1-"), "the title says where: {first}");
    assert!(first.contains("PgDn more"), "{first}");
    let mut seen = first.clone();
    for _ in 0..10 {
        press(&mut s, KeyCode::PageDown);
        seen.push_str(&screen(&s, 80, 24));
    }
    // Every key of the pane and of everywhere, whole (nothing cut at the right).
    for binding in keys::all()
        .filter(|b| b.context == keys::Context::Users || b.context == keys::Context::Global)
    {
        assert!(
            seen.contains(binding.help),
            "{:?} not whole in help",
            binding.help
        );
    }
    assert!(
        seen.contains("Mark / unmark the user and move down"),
        "Space says it moves"
    );
    assert!(
        seen.contains("Read-only until you tick"),
        "the end is reachable"
    );
}
