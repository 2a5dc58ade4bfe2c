//! Where things are on screen: the one layout the renderer (`src/ui`) draws with and
//! the reducer hit-tests mouse clicks and clamps scrolling against, so what is drawn
//! and what a click or a scroll means never disagree. Pure: a terminal size (from
//! [`super::State::size`], in cells) in, rectangles out.

use ratatui::layout::{Constraint, Flex, Layout, Rect};

use super::keys::{self, Context};
use super::state::{State, Tab};

/// The smallest terminal the layout is made for (columns, rows); below it the screen
/// says so instead of hiding lines, and nothing on it can be clicked.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// The title at the left of the tab bar, before the tabs.
pub const APP_TITLE: &str = " navscim ";

/// The screen's four bands, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    /// The tab bar (one row).
    pub tabs: Rect,
    /// The pane shown.
    pub body: Rect,
    /// The notice line.
    pub notice: Rect,
    /// The key hints line.
    pub hints: Rect,
}

/// The bands of a terminal of `area`; `None` when it is smaller than [`MIN_SIZE`].
pub fn screen(area: Rect) -> Option<Screen> {
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        return None;
    }
    let [tabs, body, notice, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Some(Screen {
        tabs,
        body,
        notice,
        hints,
    })
}

/// The whole terminal of `size` (columns, rows).
pub fn full(size: (u16, u16)) -> Rect {
    Rect::new(0, 0, size.0, size.1)
}

/// The label of tab `tab` in the tab bar (`" 2 Users "`).
pub fn tab_label(tab: Tab) -> String {
    format!(" {} {} ", tab.index() + 1, tab.title())
}

/// The label of tab `tab` as the tab bar draws it: in full, or, when `compact` and
/// `tab` is not the one shown, its number only (`" 2 "`).
pub fn drawn_tab_label(tab: Tab, shown: Tab, compact: bool) -> String {
    if compact && tab != shown {
        format!(" {} ", tab.index() + 1)
    } else {
        tab_label(tab)
    }
}

/// Each tab and the columns its full label takes in the tab bar (`x`, width): after
/// the title, one space before each label.
pub fn tab_spans() -> Vec<(Tab, u16, u16)> {
    spans_of(tab_label)
}

fn spans_of(label: impl Fn(Tab) -> String) -> Vec<(Tab, u16, u16)> {
    let mut x = APP_TITLE.chars().count() as u16;
    Tab::ALL
        .iter()
        .map(|&tab| {
            x += 1;
            let width = label(tab).chars().count() as u16;
            let span = (tab, x, width);
            x += width;
            span
        })
        .collect()
}

/// What the tab bar says after the tabs, in this order, two spaces before each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabExtra {
    /// `navscim demo`: "demo".
    Demo,
    /// The workspace's state when it is not plainly writable ("workspace read-only").
    Workspace(&'static str),
    /// The profile's tenant label: "tenant: LABEL".
    Tenant(String),
}

impl TabExtra {
    /// The text drawn.
    pub fn text(&self) -> String {
        match self {
            TabExtra::Demo => "demo".into(),
            TabExtra::Workspace(badge) => (*badge).into(),
            TabExtra::Tenant(label) => format!("tenant: {label}"),
        }
    }
}

/// The extras of the tab bar for `state`.
pub fn tab_extras(state: &State) -> Vec<TabExtra> {
    let mut extras = Vec::new();
    if state.connection.demo {
        extras.push(TabExtra::Demo);
    }
    if let Some(badge) = state.workspace.badge() {
        extras.push(TabExtra::Workspace(badge));
    }
    if let Some(tenant) = &state.tenant {
        extras.push(TabExtra::Tenant(tenant.clone()));
    }
    extras
}

/// Whether the tab bar, `width` columns wide, shows the tabs not shown by number only:
/// when the full labels leave no room for the extras (at 80 columns a tenant label or
/// "workspace read-only" would be cut to a few letters; which tenant, and that nothing
/// is saved, matter more than the other tabs' names).
pub fn compact_tabs(state: &State, width: u16) -> bool {
    let full = tab_spans().last().map_or(0, |&(_, x, w)| x + w);
    let extras: usize = tab_extras(state)
        .iter()
        .map(|e| 2 + ratatui::text::Span::raw(e.text()).width())
        .sum();
    extras > 0 && usize::from(full) + extras > usize::from(width)
}

/// Each tab and the columns its label takes in a tab bar `width` columns wide, as
/// drawn for `state` (see [`compact_tabs`]).
pub fn tab_spans_in(state: &State, width: u16) -> Vec<(Tab, u16, u16)> {
    let compact = compact_tabs(state, width);
    spans_of(|tab| drawn_tab_label(tab, state.tab, compact))
}

/// The tab whose label is at `column` of a tab bar `width` columns wide, as drawn for
/// `state`.
pub fn tab_at(state: &State, width: u16, column: u16) -> Option<Tab> {
    tab_spans_in(state, width)
        .into_iter()
        .find(|&(_, x, w)| column >= x && column < x + w)
        .map(|(tab, _, _)| tab)
}

/// Inside a pane's border.
pub fn inner(body: Rect) -> Rect {
    ratatui::widgets::Block::bordered().inner(body)
}

/// The Users pane with users loaded, inside its border: progress line, filter line,
/// table.
pub fn users_areas(inner: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner)
}

/// The Usage pane with a report, inside its border: summary and chart, filter line,
/// table. `size` is the terminal's (taller terminals get a taller summary).
pub fn usage_areas(inner: Rect, size: (u16, u16)) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(super::usage::reducer::summary_height(size)),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner)
}

/// The Actions pane with a plan under review, inside its border: header, table.
pub fn actions_areas(inner: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(4), Constraint::Min(1)]).areas(inner)
}

/// A table on screen: its area (header row first) and how many rows it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableArea {
    /// The header's row and the rows below it.
    pub area: Rect,
    /// Rows of data shown below the header.
    pub rows: usize,
}

impl TableArea {
    /// The position on screen (from the first row shown) of the data row at `row`
    /// of the terminal; `None` on the header or below the rows.
    pub fn row_at(&self, column: u16, row: u16) -> Option<usize> {
        let a = self.area;
        if column < a.x || column >= a.x + a.width || row <= a.y {
            return None;
        }
        let at = (row - a.y - 1) as usize;
        (at < self.rows).then_some(at)
    }
}

/// The table of the pane shown in `state` (Users, Usage, Actions) when one is on
/// screen; `None` on a terminal too small, a pane without a table, or one whose
/// table is not shown yet.
pub fn table_area(state: &State) -> Option<TableArea> {
    let screen = screen(full(state.size))?;
    let inner = inner(screen.body);
    let (area, rows) = match state.tab {
        Tab::Users if !state.users.directory.is_empty() => {
            let area = users_areas(inner)[2];
            (area, super::users::reducer::table_height(state.size))
        }
        Tab::Usage if state.usage.report.is_some() => {
            let area = usage_areas(inner, state.size)[2];
            (area, super::usage::reducer::table_height(state.size))
        }
        Tab::Actions if state.actions.review.is_some() => {
            let area = actions_areas(inner)[1];
            (area, super::actions::reducer::table_height(state.size))
        }
        _ => return None,
    };
    let rows = rows.min(area.height.saturating_sub(1) as usize);
    Some(TableArea { area, rows })
}

/// A rectangle of at most `width` x `height`, centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

/// The key contexts the help shows, in order: the pane's, then what it inherits.
pub fn help_sections(state: &State) -> Vec<Context> {
    let pane = state.pane_context();
    let mut sections = vec![pane];
    sections.extend(pane.inherited());
    sections
}

/// How many lines the help has for `state`: each section's title and bindings, a
/// blank line between sections, the `:` verbs where the pane takes them, then a blank
/// line and the read-only note.
pub fn help_line_count(state: &State) -> u16 {
    let sections = help_sections(state);
    let bindings: usize = sections
        .iter()
        .map(|&c| 1 + keys::all().filter(|b| b.context == c).count())
        .sum();
    // The `:` verbs: a blank line, a title, one line each (where the pane takes them).
    let verbs = if state.pane_context().inherits_global() {
        2 + crate::app::command_line::VERBS.len()
    } else {
        0
    };
    let total = bindings + sections.len().saturating_sub(1) + verbs + 2;
    u16::try_from(total).unwrap_or(u16::MAX)
}

/// The help overlay's rectangle on a terminal of `area`, for `lines` lines of help.
pub fn help_rect(area: Rect, lines: u16) -> Rect {
    centered(area, 76, lines.saturating_add(2))
}

/// The furthest the help scrolls: its last line at the bottom of its box.
pub fn help_max_scroll(state: &State) -> u16 {
    let lines = help_line_count(state);
    let visible = help_rect(full(state.size), lines).height.saturating_sub(2);
    lines.saturating_sub(visible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_labels_follow_the_title_one_space_apart() {
        let spans = tab_spans();
        assert_eq!(spans[0], (Tab::Connection, 10, 14));
        let state = State::new(
            crate::app::connection::ConnectionState::new("p", "https://scim.example"),
            true,
        );
        let at = |column| tab_at(&state, 80, column);
        assert_eq!(at(10), Some(Tab::Connection));
        assert_eq!(at(9), None, "the space before a tab");
        assert_eq!(at(25), Some(Tab::Users));
        assert_eq!(at(2), None, "the title");
    }

    /// At 80 columns a tenant label leaves the other tabs their numbers only; at 200
    /// the full labels stay. A click hits what is drawn either way.
    #[test]
    fn a_tenant_label_makes_room_for_itself_at_80_columns() {
        let mut state = State::new(
            crate::app::connection::ConnectionState::new("p", "https://scim.example"),
            true,
        );
        assert!(!compact_tabs(&state, 80), "nothing to make room for");
        state.tenant = Some("Acme EU".into());
        state.tab = Tab::Users;
        assert!(compact_tabs(&state, 80));
        assert!(!compact_tabs(&state, 200));
        let spans = tab_spans_in(&state, 80);
        assert_eq!(spans[0], (Tab::Connection, 10, 3), "' 1 '");
        assert_eq!(spans[1], (Tab::Users, 14, 9), "' 2 Users '");
        assert_eq!(tab_at(&state, 80, 11), Some(Tab::Connection));
        assert_eq!(tab_at(&state, 80, 25), Some(Tab::Usage), "' 3 ' at 24-26");
        assert_eq!(tab_at(&state, 80, 40), None, "past the last tab");
        assert_eq!(tab_at(&state, 200, 25), Some(Tab::Users));
    }

    #[test]
    fn nothing_is_laid_out_below_the_minimum_size() {
        assert!(screen(full((79, 24))).is_none());
        assert!(screen(full((80, 23))).is_none());
        assert!(screen(full((80, 24))).is_some());
    }
}
