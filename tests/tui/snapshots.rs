//! Snapshot tests of every pane at 80x24 and 120x40, with and without colour
//! (`NO_COLOR`): the screen as text, and its styles cell for cell (reverse video keeps
//! the cursor visible without colour; colours carry statuses with it). The session is
//! built without a network or a clock ([`harness::demo_session`]), so the snapshots
//! hold no date, port or path that changes between runs.
//!
//! A changed screen fails the test with a diff. After a deliberate change, review
//! the `.snap.new` files insta writes next to the snapshots and accept them
//! (`INSTA_UPDATE=always cargo test --test tui snapshots`, or `cargo insta review`).

use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::Action;
use navscim::runtime::{buffer_text, render_to_buffer};

use crate::harness::{self, reduce};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// Snapshots of `state` at both sizes, with and without colour; `name` names the
/// pane and what it shows.
fn snapshot_pane(name: &str, state: impl Fn(bool) -> State) {
    for no_color in [false, true] {
        let mut state = state(no_color);
        for (w, h) in SIZES {
            reduce(&mut state, Action::Resize(w, h));
            let buffer = render_to_buffer(&state, w, h);
            let colour = if no_color { "no_color" } else { "color" };
            insta::assert_snapshot!(
                format!("{name}_{w}x{h}_{colour}"),
                format!("{}\n{}", buffer_text(&buffer), harness::styles(&buffer))
            );
        }
    }
}

fn on_tab(tab: usize) -> impl Fn(bool) -> State {
    move |no_color| {
        let mut state = harness::demo_session(no_color);
        reduce(&mut state, Action::Command(Command::GoTab(tab)));
        state
    }
}

#[test]
fn connection_pane() {
    snapshot_pane("connection", on_tab(0));
}

#[test]
fn connection_pane_of_a_new_profile() {
    snapshot_pane("connection_first_run", |no_color| {
        State::new(
            navscim::app::connection::ConnectionState::new("default", ""),
            no_color,
        )
    });
}

#[test]
fn users_pane() {
    snapshot_pane("users", on_tab(1));
}

#[test]
fn users_pane_details() {
    snapshot_pane("users_details", |no_color| {
        let mut state = on_tab(1)(no_color);
        reduce(&mut state, Action::Command(Command::Down));
        reduce(&mut state, Action::Command(Command::Details));
        state
    });
}

#[test]
fn usage_pane() {
    snapshot_pane("usage", on_tab(2));
}

#[test]
fn actions_pane_empty() {
    snapshot_pane("actions_empty", on_tab(3));
}

#[test]
fn actions_pane_reviewing_a_plan() {
    snapshot_pane("actions_plan", |no_color| {
        let mut state = on_tab(2)(no_color);
        reduce(&mut state, Action::Command(Command::MarkIdle));
        reduce(&mut state, Action::Command(Command::SendToActions));
        assert_eq!(state.tab, Tab::Actions);
        state
    });
}

#[test]
fn help_overlay() {
    snapshot_pane("help_users", |no_color| {
        let mut state = on_tab(1)(no_color);
        reduce(&mut state, Action::Command(Command::Help));
        state
    });
}

#[test]
fn history_pane() {
    snapshot_pane("history", crate::history::scene);
}

#[test]
fn history_pane_empty() {
    snapshot_pane("history_empty", crate::history::scene_empty);
}

#[test]
fn history_pane_showing_a_batch() {
    snapshot_pane("history_batch", |no_color| {
        let mut state = crate::history::scene(no_color);
        reduce(&mut state, Action::Command(Command::Down));
        reduce(&mut state, Action::Command(Command::Details));
        state
    });
}
