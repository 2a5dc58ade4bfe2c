//! Rendering: a pure function of [`State`]. One module per pane, plus the shared chrome
//! (tab bar, status bar) and overlays (help, quit confirmation).

pub mod actions;
pub mod connection;
pub mod overlay;
pub mod screenshot;
pub mod status;
pub mod theme;
pub mod usage;
pub mod users;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::state::{Overlay, State, Tab};
use theme::Theme;

/// Draws the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &State) {
    let theme = Theme::new(state.no_color);
    let [tabs, body, notice, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    render_tabs(frame, tabs, state, &theme);
    match state.tab {
        Tab::Connection => connection::render(frame, body, state, &theme),
        Tab::Users => users::render(frame, body, state, &theme),
        Tab::Usage => usage::render(frame, body, state, &theme),
        Tab::Actions => actions::render(frame, body, state, &theme),
    }
    status::render_notice(frame, notice, state, &theme);
    status::render_hints(frame, hints, state, &theme);

    match state.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => overlay::render_help(frame, state, scroll, &theme),
        Overlay::Messages { scroll } => overlay::render_messages(frame, state, scroll, &theme),
        Overlay::QuitConfirm => overlay::render_quit_confirm(frame, state, &theme),
    }
}

fn render_tabs(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = vec![Span::styled(" navscim ", theme.title())];
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let style = if *tab == state.tab {
            theme.tab_active()
        } else {
            theme.tab_inactive()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} {} ", i + 1, tab.title()), style));
    }
    if state.connection.demo {
        spans.push(Span::styled("  demo", theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
