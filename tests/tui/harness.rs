//! The one TUI test harness: the reducer at a fixed time, keys and text as the
//! terminal sends them, and the screen as text.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use navscim::app::effect::Effect;
use navscim::app::state::State;
use navscim::app::Action;
use navscim::runtime::{buffer_text, render_to_buffer};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Style};

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

/// The screen's styles, for snapshots where colour matters: a legend naming each
/// distinct style (foreground, background, modifiers) by a letter, then one line of
/// letters a row, cell for cell under the text.
pub fn styles(buffer: &Buffer) -> String {
    let mut legend: Vec<Style> = Vec::new();
    let mut grid = String::new();
    let area = buffer.area;
    for y in 0..area.height {
        for x in 0..area.width {
            let style = buffer[(x, y)].style();
            let i = match legend.iter().position(|s| *s == style) {
                Some(i) => i,
                None => {
                    legend.push(style);
                    legend.len() - 1
                }
            };
            grid.push(LETTERS.chars().nth(i).unwrap_or('?'));
        }
        grid.push('\n');
    }
    let mut out = String::new();
    for (i, style) in legend.iter().enumerate() {
        out.push_str(&format!(
            "{} = fg {:?}, bg {:?}, {:?}\n",
            LETTERS.chars().nth(i).unwrap_or('?'),
            style.fg.unwrap_or(Color::Reset),
            style.bg.unwrap_or(Color::Reset),
            style.add_modifier,
        ));
    }
    out.push('\n');
    out.push_str(&grid);
    out
}

const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A whole demo session without a network or a clock: the demo's three files loaded,
/// every user answered as the demo simulator answers (`plan_support::demo_outcomes`),
/// the connection test passed in 42 ms, at [`now`]. The same state on every run.
pub fn demo_session(no_color: bool) -> State {
    use navscim::app::ImportSource;
    use navscim::import::{demo, import_str, ImportOptions};

    let mut state = navscim::cli::tui::demo_state(
        "https://scim.demo.example/v2",
        &navscim::cli::ConnectionArgs::default(),
    );
    state.no_color = no_color;
    reduce(&mut state, Action::Resize(80, 24));
    reduce(
        &mut state,
        Action::Command(navscim::app::keys::Command::TestConnection),
    );
    let seq = state.connection.test_seq;
    reduce(
        &mut state,
        Action::ConnectionTested {
            seq,
            result: Ok(navscim::app::connection::ConnectionSummary {
                latency: Duration::from_millis(42),
                probe: "ServiceProviderConfig".into(),
                filter: true,
                patch: true,
                delete: false,
                bulk: false,
            }),
        },
    );
    let files = [
        (demo::IDP_OKTA_NAME, demo::IDP_OKTA_CSV),
        (demo::SALESNAV_USERS_NAME, demo::SALESNAV_USERS_CSV),
        (demo::USAGE_NAME, demo::USAGE_CSV),
    ];
    let results = files
        .iter()
        .map(|&(name, text)| {
            let source = ImportSource::Embedded { name, text };
            (source, import_str(name, text, &ImportOptions::default()))
        })
        .collect();
    reduce(
        &mut state,
        Action::FilesImported {
            results,
            lookup_after: true,
        },
    );
    let batch = state.users.progress.batch;
    let outcomes = crate::plan_support::demo_outcomes(&state.users.directory);
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let at = Duration::from_millis(5 * index as u64);
        reduce(&mut state, Action::LookupStarted { batch, index, at });
        reduce(
            &mut state,
            Action::LookupFinished {
                batch,
                index,
                outcome: Box::new(outcome),
                at,
                stats: Default::default(),
            },
        );
    }
    reduce(
        &mut state,
        Action::LookupBatchDone {
            batch,
            cancelled: 0,
            error: None,
        },
    );
    state
}

/// A key press without modifiers, reduced; returns the effects.
pub fn press(state: &mut State, code: KeyCode) -> Vec<Effect> {
    reduce(state, key_event(code))
}

/// Text typed key by key.
pub fn typed(state: &mut State, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

/// The live demo: the embedded simulator seeded with the demo fixtures (on
/// 127.0.0.1), the demo's state without colour at `w` x `h`, the headless runtime
/// at [`now`], and the demo's first actions (connection test, files loaded and looked
/// up) dispatched but not yet answered.
pub async fn live_demo(
    settings: navscim::runtime::Settings,
    (w, h): (u16, u16),
) -> (navscim::sim::SimHandle, navscim::runtime::Driver) {
    let config = navscim::cli::tui::demo_sim_config(Duration::ZERO);
    let sim = navscim::sim::start(config).await.unwrap();
    let mut state =
        navscim::cli::tui::demo_state(sim.base_url(), &navscim::cli::ConnectionArgs::default());
    state.no_color = true;
    let mut driver = navscim::runtime::Driver::new(state, settings);
    driver.clock = clock();
    driver.dispatch(Action::Resize(w, h));
    // No identity-provider connection: the demo Okta export stands in for them.
    for action in navscim::cli::tui::demo_actions(&driver.state) {
        driver.dispatch(action);
    }
    (sim, driver)
}

/// The live demo as `navscim demo` runs it (issue 12): [`live_demo`] plus the demo
/// Okta and Entra ID simulators as the sources list's connections, whose users fill
/// the Users pane (no identity-provider CSV). The first actions are dispatched, not
/// yet answered.
pub async fn live_idp_demo(
    settings: navscim::runtime::Settings,
    (w, h): (u16, u16),
) -> (
    navscim::sim::SimHandle,
    navscim::sim::idp::DemoSims,
    navscim::runtime::Driver,
) {
    let config = navscim::cli::tui::demo_sim_config(Duration::ZERO);
    let sim = navscim::sim::start(config).await.unwrap();
    let idp = navscim::sim::idp::start_demo().await;
    let mut state =
        navscim::cli::tui::demo_state(sim.base_url(), &navscim::cli::ConnectionArgs::default());
    state.users.sources = navscim::cli::tui::demo_sources(&idp);
    state.no_color = true;
    let mut driver = navscim::runtime::Driver::new(state, settings);
    driver.clock = clock();
    driver.dispatch(Action::Resize(w, h));
    for action in navscim::cli::tui::demo_actions(&driver.state) {
        driver.dispatch(action);
    }
    (sim, idp, driver)
}
