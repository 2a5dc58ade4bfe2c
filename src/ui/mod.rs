//! Rendering: a pure function of [`State`]. One module per pane, plus the shared chrome
//! (tab bar, status bar) and overlays (help, quit confirmation).

pub mod actions;
pub mod command_line;
pub mod connection;
pub mod history;
pub mod overlay;
pub mod screenshot;
pub mod sources;
pub mod status;
pub mod table;
pub mod theme;
pub mod usage;
pub mod users;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::state::{Overlay, State, Tab};
use theme::Theme;

pub use crate::app::layout::MIN_SIZE;

/// Draws the whole screen for `state`.
pub fn render(frame: &mut Frame, state: &State) {
    let theme = Theme::with_palette(state.no_color, state.palette);
    let Some(crate::app::layout::Screen {
        tabs,
        body,
        notice,
        hints,
    }) = crate::app::layout::screen(frame.area())
    else {
        render_too_small(frame, &theme);
        return;
    };

    render_tabs(frame, tabs, state, &theme);
    match state.tab {
        Tab::Connection => connection::render(frame, body, state, &theme),
        Tab::Users => users::render(frame, body, state, &theme),
        Tab::Usage => usage::render(frame, body, state, &theme),
        Tab::Actions => actions::render(frame, body, state, &theme),
        Tab::History => history::render(frame, body, state, &theme),
    }
    status::render_notice(frame, notice, state, &theme);
    status::render_hints(frame, hints, state, &theme);
    command_line::render(frame, body, notice, state, &theme);

    match state.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => overlay::render_help(frame, state, scroll, &theme),
        Overlay::Messages { scroll } => overlay::render_messages(frame, state, scroll, &theme),
        Overlay::QuitConfirm => overlay::render_quit_confirm(frame, state, &theme),
    }
}

/// "Terminal too small", with the size there is and the size needed (btop's way).
fn render_too_small(frame: &mut Frame, theme: &Theme) {
    let area = frame.area();
    let lines = vec![
        Line::styled("Terminal too small", theme.title()),
        Line::raw(format!("{}x{} now", area.width, area.height)),
        Line::raw(format!("needs {}x{}", MIN_SIZE.0, MIN_SIZE.1)),
        Line::raw("enlarge the window"),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let rect = Rect::new(area.x, area.y + top, area.width, area.height - top);
    frame.render_widget(
        ratatui::widgets::Paragraph::new(lines).alignment(ratatui::layout::Alignment::Center),
        rect,
    );
}

fn render_tabs(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    use crate::app::layout::{self, TabExtra};
    let mut spans = vec![Span::styled(layout::APP_TITLE, theme.title())];
    // Short of room for the extras (a tenant label, "workspace read-only"), the tabs
    // not shown keep only their number; the reducer hit-tests clicks the same way.
    let compact = layout::compact_tabs(state, area.width);
    for tab in Tab::ALL.iter() {
        let style = if *tab == state.tab {
            theme.tab_active()
        } else {
            theme.tab_inactive()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            layout::drawn_tab_label(*tab, state.tab, compact),
            style,
        ));
    }
    // The workspace's state before the tenant: a long tenant label is what is cut.
    for extra in layout::tab_extras(state) {
        let (gap, style) = match extra {
            TabExtra::Demo => (Span::styled("  ", theme.dim()), theme.dim()),
            TabExtra::Workspace(_) => (
                Span::raw("  "),
                theme.level(crate::app::notice::Level::Warn),
            ),
            TabExtra::Tenant(_) => (Span::raw("  "), theme.title()),
        };
        spans.push(gap);
        spans.push(Span::styled(extra.text(), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `area` less one column on each side: text wrapped in it keeps a margin on every
/// line, not only the first.
pub fn margin(area: ratatui::layout::Rect) -> ratatui::layout::Rect {
    ratatui::layout::Rect {
        x: area.x.saturating_add(1),
        width: area.width.saturating_sub(2),
        ..area
    }
}

/// `lines` with the one-space margin they start with taken off (for [`margin`]'s area).
pub fn with_margin(lines: Vec<ratatui::text::Line<'static>>) -> Vec<ratatui::text::Line<'static>> {
    lines
        .into_iter()
        .map(|mut line| {
            if let Some(first) = line.spans.first_mut() {
                if let Some(rest) = first.content.strip_prefix(' ') {
                    first.content = rest.to_string().into();
                }
            }
            line
        })
        .collect()
}

/// The rows of `table` that fit in `height` lines from its scroll offset: each as
/// (position in the view, item index).
pub fn visible_rows<S>(
    table: &crate::app::table::TableState<S>,
    height: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let end = (table.offset + height).min(table.view.len());
    let start = table.offset.min(end);
    (start..end).zip(table.view[start..end].iter().copied())
}

/// Appends a table title's " · N marked" (and how many of them the filter hides);
/// nothing when none is marked.
pub fn push_marks(title: &mut String, marked: usize, hidden: usize) {
    if marked == 0 {
        return;
    }
    title.push_str(&format!(" · {marked} marked"));
    if hidden > 0 {
        title.push_str(&format!(" ({hidden} hidden by the filter)"));
    }
}

/// A dialog drawn over whatever is below `rect`: `lines` wrapped in `block`.
pub fn render_dialog(
    frame: &mut Frame,
    rect: ratatui::layout::Rect,
    block: ratatui::widgets::Block<'_>,
    lines: Vec<Line<'_>>,
) {
    frame.render_widget(ratatui::widgets::Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(ratatui::widgets::Wrap { trim: false }),
        rect,
    );
}
