//! The one TUI test harness: the reducer at a fixed time, keys and text as the
//! terminal sends them, and the screen as text.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use navscim::app::effect::Effect;
use navscim::app::state::State;
use navscim::app::Action;
use navscim::runtime::{buffer_text, render_to_buffer};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The time every TUI test's actions happen at (reducer calls and the headless
/// driver alike): 2026-03-02 10:00 UTC.
pub fn now() -> DateTime<Utc> {
    "2026-03-02T10:00:00Z".parse().expect("a valid time")
}

/// The headless runtime's clock for the tests: [`now`].
pub fn clock() -> navscim::runtime::Clock {
    navscim::runtime::Clock::Fixed(now())
}

/// [`navscim::app::reduce`] at [`now`].
pub fn reduce(state: &mut State, action: Action) -> Vec<Effect> {
    navscim::app::reduce(state, action, now())
}

/// A key press without modifiers.
pub fn key_event(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The screen at `w` x `h` as text, one line a row.
pub fn screen(state: &State, w: u16, h: u16) -> String {
    buffer_text(&render_to_buffer(state, w, h))
}
