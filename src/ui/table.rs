//! The one table renderer of the panes (Users, Usage, Actions): columns sized from
//! their content and the width there is.
//!
//! Each [`Column`] asks for its content's width (the widest of its header, the cells
//! given and [`Column::content`], at most `max`) and is never narrower than `min`. A
//! pane whose table scrolls over many rows gives `content` from the widest cell of
//! its whole view (measured by the reducer when the view changes,
//! `TableState::content_widths`), so the columns do not shift as it scrolls and a
//! frame still costs only the rows on screen. When everything fits,
//! every column gets its content's width (what is left stays blank at the right);
//! when it does not, the space above the minimums is shared out by `weight`, a column
//! that needs less than its share giving the rest to the others, so short columns
//! show whole and the long ones are cut last.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::theme::Theme;

/// The space between two columns.
pub const SPACING: u16 = 1;

/// One column of a [`render`]ed table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<'a> {
    pub header: &'a str,
    /// Never narrower than this (columns are cut at the right when even the
    /// minimums do not fit).
    pub min: u16,
    /// Never wider than this, whatever the content.
    pub max: u16,
    /// Share of the space above the minimums when not every column fits whole.
    pub weight: u16,
    /// The widest cell of the column over every row of the table, not only the rows
    /// given to [`render`] (0: only those).
    pub content: u16,
}

impl<'a> Column<'a> {
    /// A column as wide as its content; at least its header's width (at most 8),
    /// weight 1.
    pub fn new(header: &'a str) -> Self {
        Column {
            header,
            min: (text_width(header) as u16).min(8),
            max: u16::MAX,
            weight: 1,
            content: 0,
        }
    }

    /// Always `width` wide.
    pub fn fixed(header: &'a str, width: u16) -> Self {
        Column {
            header,
            min: width,
            max: width,
            weight: 0,
            content: 0,
        }
    }

    pub fn min(mut self, min: u16) -> Self {
        self.min = min;
        self
    }

    pub fn max(mut self, max: u16) -> Self {
        self.max = max;
        self
    }

    pub fn weight(mut self, weight: u16) -> Self {
        self.weight = weight;
        self
    }

    /// Sized for cells of up to `width` characters, shown or not.
    pub fn content(mut self, width: u16) -> Self {
        self.content = width;
        self
    }
}

/// One row: its cells (text and style, one per column) and the row's style.
#[derive(Debug, Clone, Default)]
pub struct TableRow {
    pub cells: Vec<(String, Style)>,
    pub style: Style,
}

impl TableRow {
    pub fn new(style: Style) -> Self {
        TableRow {
            cells: Vec::new(),
            style,
        }
    }

    /// Adds a cell without a style of its own.
    pub fn cell(mut self, text: impl Into<String>) -> Self {
        self.cells.push((text.into(), Style::new()));
        self
    }

    /// Adds a cell with its own style.
    pub fn styled(mut self, text: impl Into<String>, style: Style) -> Self {
        self.cells.push((text.into(), style));
        self
    }
}

fn text_width(s: &str) -> usize {
    s.chars().count()
}

/// The width of each column in `width` cells (the spacing between columns taken off
/// first), from the content of `rows`.
pub fn widths(columns: &[Column], rows: &[TableRow], width: u16) -> Vec<u16> {
    let n = columns.len();
    if n == 0 {
        return Vec::new();
    }
    let ideal: Vec<u16> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let content = rows
                .iter()
                .filter_map(|r| r.cells.get(i))
                .map(|(t, _)| text_width(t))
                .chain([text_width(c.header), c.content as usize])
                .max()
                .unwrap_or(0);
            (content.min(u16::MAX as usize) as u16)
                .min(c.max)
                .max(c.min)
        })
        .collect();
    let available = width.saturating_sub(SPACING * (n as u16 - 1));
    let mins: Vec<u16> = columns.iter().map(|c| c.min.min(c.max)).collect();
    let min_total: u16 = mins.iter().fold(0u16, |a, b| a.saturating_add(*b));
    let ideal_total: u16 = ideal.iter().fold(0u16, |a, b| a.saturating_add(*b));
    if ideal_total <= available {
        return ideal;
    }
    let mut out = mins.clone();
    if min_total >= available {
        return out;
    }
    // Share what is above the minimums by weight; a column that needs less than its
    // share gives the rest back (water filling).
    let mut left = available - min_total;
    loop {
        let wanting: Vec<usize> = (0..n)
            .filter(|&i| out[i] < ideal[i] && columns[i].weight > 0)
            .collect();
        if wanting.is_empty() || left == 0 {
            break;
        }
        let total_weight: u32 = wanting.iter().map(|&i| columns[i].weight as u32).sum();
        let mut given = 0u16;
        for &i in &wanting {
            let share = (left as u32 * columns[i].weight as u32 / total_weight) as u16;
            let take = share.min(ideal[i] - out[i]);
            out[i] += take;
            given += take;
        }
        if given == 0 {
            // Shares rounded to nothing: one cell at a time, heaviest first.
            let &i = wanting
                .iter()
                .max_by_key(|&&i| (columns[i].weight, std::cmp::Reverse(i)))
                .expect("not empty");
            out[i] += 1;
            given = 1;
        }
        left -= given;
    }
    out
}

/// Renders a table of `columns` and `rows` (the rows shown) into `area`: an
/// underlined header, then one line a row, each column as wide as [`widths`] says.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    columns: &[Column],
    rows: Vec<TableRow>,
    theme: &Theme,
) {
    let widths = widths(columns, &rows, area.width);
    let header = Row::new(columns.iter().map(|c| c.header.to_string()))
        .style(theme.title().add_modifier(Modifier::UNDERLINED));
    let rows = rows.into_iter().map(|r| {
        Row::new(
            r.cells
                .into_iter()
                .map(|(text, style)| Cell::from(text).style(style)),
        )
        .style(r.style)
    });
    let table = Table::new(rows, widths.into_iter().map(Constraint::Length))
        .header(header)
        .column_spacing(SPACING);
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[&[&str]]) -> Vec<TableRow> {
        cells
            .iter()
            .map(|r| r.iter().fold(TableRow::default(), |row, c| row.cell(*c)))
            .collect()
    }

    #[test]
    fn every_column_gets_its_content_when_it_fits() {
        let cols = [
            Column::new("St"),
            Column::new("Email"),
            Column::new("Detail"),
        ];
        let r = rows(&[&["ok", "ann@x.example", "by email"], &["no", "b@x", ""]]);
        assert_eq!(widths(&cols, &r, 200), vec![2, 13, 8]);
    }

    #[test]
    fn short_of_space_short_columns_stay_whole_and_weight_shares_the_rest() {
        let cols = [
            Column::fixed("", 2),
            Column::new("Status"),
            Column::new("Email").min(10).weight(3),
            Column::new("Detail").min(6),
        ];
        let email = "someone.with.a.long.name@northwind.example"; // 42
        let detail = "a detail that is rather long too, 45 chars ok"; // 45
        let r = rows(&[&["●", "active", email, detail]]);
        let w = widths(&cols, &r, 60);
        assert_eq!(w[0], 2);
        assert_eq!(w[1], 6, "whole");
        assert_eq!(w.iter().sum::<u16>() + 3, 60, "the width is used: {w:?}");
        assert!(w[2] > w[3] * 2, "email gets the larger share: {w:?}");
    }

    #[test]
    fn below_the_minimums_each_column_keeps_its_minimum() {
        let cols = [Column::new("Email").min(20), Column::new("Detail").min(20)];
        let r = rows(&[&["x".repeat(50).as_str(), "y".repeat(50).as_str()]]);
        assert_eq!(widths(&cols, &r, 30), vec![20, 20]);
    }
}
