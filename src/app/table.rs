//! Table mechanics shared by the panes' tables (Users, Usage, and the Actions plan): a filtered and sorted
//! view of item indices, a cursor and a scroll offset over it, and marks on items (not
//! positions), so marks survive filtering and sorting. Pure, no I/O.
//!
//! [`TableState`] is the one table state the three panes own; the free functions are
//! its mechanics.

use std::collections::BTreeSet;

use super::keys::Command;
use super::text_field::TextField;

/// A pane's table: which items are shown in what order, where the cursor is, what is
/// marked, and the `/` filter and sort the view comes from. `S` is the pane's sort
/// column. The pane decides which items its filters admit ([`TableState::set_view`]);
/// everything else about moving and marking is here.
#[derive(Debug, Clone)]
pub struct TableState<S> {
    /// Item indices shown, filtered and sorted.
    pub view: Vec<usize>,
    /// Position in `view`.
    pub cursor: usize,
    /// First visible position in `view`.
    pub offset: usize,
    /// Item indices marked; they survive filtering and sorting.
    pub marks: BTreeSet<usize>,
    /// Where `v` (range mark) starts: a position in `view`.
    pub range_anchor: Option<usize>,
    /// The `/` filter's text.
    pub filter: TextField,
    /// The `/` filter is being typed.
    pub filter_editing: bool,
    /// The sort column and whether it is reversed; `None`: item order.
    pub sort: Option<(S, bool)>,
    /// The widest cell (in characters) of each of the pane's columns over the whole
    /// view, in the pane's column order (`UserColumn`, `UsageColumn`): what the table
    /// sizes its columns from, so they do not shift as it scrolls. Measured by the
    /// pane when its view changes ([`measure`]), grown when one row changes
    /// ([`TableState::grow`]); empty until then.
    pub content_widths: Vec<u16>,
    /// Marked items the view hides, kept up to date so a frame does not count them.
    marks_hidden: usize,
}

impl<S> Default for TableState<S> {
    fn default() -> Self {
        TableState {
            view: Vec::new(),
            cursor: 0,
            offset: 0,
            marks: BTreeSet::new(),
            range_anchor: None,
            filter: TextField::default(),
            filter_editing: false,
            sort: None,
            content_widths: Vec::new(),
            marks_hidden: 0,
        }
    }
}

impl<S: Copy + PartialEq> TableState<S> {
    /// The item under the cursor.
    pub fn cursor_item(&self) -> Option<usize> {
        self.view.get(self.cursor).copied()
    }

    /// Marked items, else the cursor's: what an action applies to.
    pub fn targets(&self) -> Vec<usize> {
        if self.marks.is_empty() {
            self.cursor_item().into_iter().collect()
        } else {
            self.marks.iter().copied().collect()
        }
    }

    /// Marked items the current view hides.
    pub fn hidden_marks(&self) -> usize {
        self.marks_hidden
    }

    /// After marks changed: how many of them the view hides.
    pub fn recount_hidden_marks(&mut self) {
        self.marks_hidden = hidden_marks(&self.view, &self.marks);
    }

    pub fn clear_marks(&mut self) {
        self.marks.clear();
        self.range_anchor = None;
        self.marks_hidden = 0;
    }

    /// The `/` filter as searched: trimmed and lower-cased.
    pub fn needle(&self) -> String {
        self.filter.value.trim().to_lowercase()
    }

    /// A new view (the pane's filters and sort applied); the cursor stays on the item
    /// it was on (`keep`, taken before the items changed) if still shown.
    pub fn set_view(&mut self, view: Vec<usize>, keep: Option<usize>) {
        self.view = view;
        self.recount_hidden_marks();
        self.cursor = cursor_after(&self.view, keep, self.cursor);
    }

    /// One row changed (a lookup answered): its cells' `widths` widen the columns
    /// they exceed (a column never narrows until the view is measured again).
    pub fn grow(&mut self, widths: &[u16]) {
        if self.content_widths.len() < widths.len() {
            self.content_widths.resize(widths.len(), 0);
        }
        for (have, &w) in self.content_widths.iter_mut().zip(widths) {
            *have = (*have).max(w);
        }
    }

    /// Back to the first row (a new filter text, a new file).
    pub fn to_top(&mut self) {
        self.cursor = 0;
        self.offset = 0;
    }

    /// Keeps the cursor inside the visible window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        scroll_into_view(self.cursor, &mut self.offset, self.view.len(), height);
    }

    /// `s`: the next column of `cycle` (its first entry means item order). The pane
    /// refreshes its view.
    pub fn cycle_sort(&mut self, cycle: &[S]) {
        self.sort = next_sort(cycle, self.sort);
    }

    /// `S`: the same column the other way round; false when there is no sort (nothing
    /// to refresh).
    pub fn reverse_sort(&mut self) -> bool {
        if self.sort.is_none() {
            return false;
        }
        self.sort = reversed(self.sort);
        true
    }

    /// Enter / Esc while the `/` filter is typed: keep it, or clear it. `None` when the
    /// command is not one of them; `Some(true)` when the pane must refresh its view.
    pub fn filter_command(&mut self, command: Command) -> Option<bool> {
        match command {
            Command::EditCommit => {
                self.filter_editing = false;
                Some(false)
            }
            Command::EditCancel => {
                self.filter_editing = false;
                self.filter.clear();
                Some(true)
            }
            _ => None,
        }
    }

    /// Cursor movement (`height` rows a page) and marking (space, `v`, `a`, `A`), and
    /// what follows each: the hidden marks counted again, the cursor kept on screen.
    pub fn command(&mut self, command: Command, height: usize) -> Handled {
        let nav = TableNav {
            view: &self.view,
            cursor: &mut self.cursor,
            marks: &mut self.marks,
            range_anchor: &mut self.range_anchor,
        };
        let handled = self::command(nav, command, height);
        if handled != Handled::No {
            self.recount_hidden_marks();
            self.scroll_into_view(height);
        }
        handled
    }

    /// For a table whose rows are not a filtered view (the Actions plan, `len` rows):
    /// cursor movement kept on screen; false for other commands.
    pub fn move_over(&mut self, len: usize, command: Command, height: usize) -> bool {
        if !move_cursor(&mut self.cursor, len, command, height) {
            return false;
        }
        scroll_into_view(self.cursor, &mut self.offset, len, height);
        true
    }

    /// The mouse wheel over a table of `len` rows showing `height`: the rows shown
    /// move by `delta` (never past the first or last row), the cursor dragged along
    /// so it stays on screen. Returns whether anything moved.
    pub fn wheel(&mut self, delta: isize, len: usize, height: usize) -> bool {
        if len == 0 {
            return false;
        }
        let height = height.max(1);
        let offset = self
            .offset
            .saturating_add_signed(delta)
            .min(len.saturating_sub(height));
        let last = (offset + height - 1).min(len - 1);
        let cursor = self.cursor.clamp(offset, last);
        let moved = (offset, cursor) != (self.offset, self.cursor);
        self.offset = offset;
        self.cursor = cursor;
        moved
    }

    /// A click on the row shown `at` rows below the first one shown, of `len` rows:
    /// the cursor goes there. False when there is no row there.
    pub fn click(&mut self, at: usize, len: usize) -> bool {
        let position = self.offset + at;
        if position >= len {
            return false;
        }
        self.cursor = position;
        true
    }

    /// For a table of `len` rows that are not a filtered view: the cursor clamped to
    /// them and kept on screen (after a resize or a change of rows).
    pub fn keep_over(&mut self, len: usize, height: usize) {
        self.cursor = self.cursor.min(len.saturating_sub(1));
        scroll_into_view(self.cursor, &mut self.offset, len, height);
    }
}

/// A pane whose table is a filtered, sorted view of its items (Users, Usage).
pub trait FilteredPane {
    type Sort: Copy + PartialEq + 'static;
    /// The sort columns `s` cycles through; the first means item order.
    const SORTS: &'static [Self::Sort];
    fn table_mut(&mut self) -> &mut TableState<Self::Sort>;
    /// Recomputes the view from the pane's filters and sort.
    fn refresh_view(&mut self);
    /// `f`: the pane's own filter (by status, by activity) moves to its next value.
    fn cycle_filter(&mut self);
    /// `:users unmatched`: the pane's own filter set to the `index`-th of its cycle
    /// (out of range: "all").
    fn set_filter(&mut self, index: usize);
    /// `F` clears the text filter; this puts the pane's own filter back to "all".
    fn reset_filter(&mut self);
}

/// The table part of a filtered pane's commands, once its dialogs have had theirs:
/// Enter / Esc while the `/` filter is typed, `/` to start typing it, `f` / `F` the
/// filters, `s` / `S` the sort, moving and marking. `None` when the command is none of these; else whether anything changed.
/// A marking command that has something to say puts it in `notice`.
pub fn pane_command<P: FilteredPane>(
    pane: &mut P,
    command: Command,
    height: usize,
    notice: &mut Option<super::notice::Notice>,
) -> Option<bool> {
    let table = pane.table_mut();
    if table.filter_editing {
        let refilter = table.filter_command(command)?;
        if refilter {
            pane.refresh_view();
        }
        pane.table_mut().scroll_into_view(height);
        return Some(true);
    }
    match command {
        Command::Filter => {
            table.filter_editing = true;
            table.filter.select_all();
            return Some(true);
        }
        Command::Sort => table.cycle_sort(P::SORTS),
        Command::SortReverse => {
            if !table.reverse_sort() {
                return Some(true);
            }
        }
        Command::ClearFilters => {
            table.filter.clear();
            pane.reset_filter();
        }
        Command::CycleStatusFilter => pane.cycle_filter(),
        Command::SetFilter(index) => pane.set_filter(index),
        _ => return table_command(pane.table_mut(), command, height, notice),
    }
    pane.refresh_view();
    Some(true)
}

/// `:filter TEXT`: the pane's `/` filter set to `text` (empty: cleared), as if typed.
pub fn set_text_filter<P: FilteredPane>(pane: &mut P, text: &str, height: usize) {
    let table = pane.table_mut();
    table.filter = super::text_field::TextField::new(text);
    table.filter_editing = false;
    pane.refresh_view();
    pane.table_mut().scroll_into_view(height);
}

/// Moving and marking, with what the admin should read put in `notice`.
fn table_command<S: Copy + PartialEq>(
    table: &mut TableState<S>,
    command: Command,
    height: usize,
    notice: &mut Option<super::notice::Notice>,
) -> Option<bool> {
    match table.command(command, height) {
        Handled::No => None,
        Handled::Yes => Some(true),
        Handled::Notice(text) => {
            *notice = Some(super::notice::info(text));
            Some(true)
        }
    }
}

/// Scrolling an overlay by lines (↑/↓) or pages of ten (PgUp/PgDn); false for other
/// commands.
pub fn scroll(by: &mut u16, command: Command) -> bool {
    *by = match command {
        Command::Up => by.saturating_sub(1),
        Command::Down => by.saturating_add(1),
        Command::PageUp => by.saturating_sub(10),
        Command::PageDown => by.saturating_add(10),
        _ => return false,
    };
    true
}

/// The parts of a pane's state a table command moves or marks.
pub struct TableNav<'a> {
    /// Item indices shown, in order.
    pub view: &'a [usize],
    /// Position in `view`.
    pub cursor: &'a mut usize,
    /// Marked item indices.
    pub marks: &'a mut BTreeSet<usize>,
    /// Where `v` (range mark) starts: a position in `view`.
    pub range_anchor: &'a mut Option<usize>,
}

/// What a table command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Not a table command: the pane handles it.
    No,
    Yes,
    /// Done; tell the admin this.
    Notice(String),
}

/// Cursor movement (`height` rows a page) and marking: space, `v`, `a`, `A`.
pub fn command(nav: TableNav<'_>, command: Command, height: usize) -> Handled {
    let TableNav {
        view,
        cursor,
        marks,
        range_anchor,
    } = nav;
    if move_cursor(cursor, view.len(), command, height) {
        return Handled::Yes;
    }
    let last = view.len().saturating_sub(1);
    match command {
        Command::Mark => {
            if let Some(&i) = view.get(*cursor) {
                if !marks.remove(&i) {
                    marks.insert(i);
                }
                *range_anchor = Some(*cursor);
                *cursor = (*cursor + 1).min(last);
            }
        }
        Command::RangeMark => {
            if view.is_empty() {
                return Handled::Yes;
            }
            let anchor = range_anchor.unwrap_or(*cursor).min(last);
            let (from, to) = (anchor.min(*cursor), anchor.max(*cursor));
            let range = &view[from..=to.min(last)];
            marks.extend(range.iter().copied());
            *range_anchor = Some(*cursor);
            return Handled::Notice(format!("Marked {} users", range.len()));
        }
        Command::MarkAllShown => {
            marks.extend(view.iter().copied());
            return Handled::Notice(format!("Marked the {} users shown", view.len()));
        }
        Command::ClearMarks => {
            marks.clear();
            *range_anchor = None;
        }
        _ => return Handled::No,
    }
    Handled::Yes
}

/// Cursor movement over `len` rows (`height` rows a page); false for other commands.
/// Also used by tables without marks (the Actions pane's plan).
pub fn move_cursor(cursor: &mut usize, len: usize, command: Command, height: usize) -> bool {
    let last = len.saturating_sub(1);
    *cursor = match command {
        Command::Up => cursor.saturating_sub(1),
        Command::Down => (*cursor + 1).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        Command::PageUp => cursor.saturating_sub(height),
        Command::PageDown => (*cursor + height).min(last),
        _ => return false,
    };
    true
}

/// The item after `current` in `cycle`, wrapping around (filters, sort columns).
pub fn next_in<T: Copy + PartialEq>(cycle: &[T], current: T) -> T {
    let i = cycle.iter().position(|c| *c == current).unwrap_or(0);
    cycle[(i + 1) % cycle.len()]
}

/// `s`: the next sort column of `cycle`, whose first entry means "file order" (no
/// sort); each column starts in its natural direction.
pub fn next_sort<T: Copy + PartialEq>(
    cycle: &[T],
    current: Option<(T, bool)>,
) -> Option<(T, bool)> {
    let next = match current {
        None => next_in(cycle, cycle[0]),
        Some((column, _)) => next_in(cycle, column),
    };
    (next != cycle[0]).then_some((next, false))
}

/// `S`: the same column, the other way round.
pub fn reversed<T: Copy>(current: Option<(T, bool)>) -> Option<(T, bool)> {
    current.map(|(column, reversed)| (column, !reversed))
}

/// Keeps `cursor` inside the visible window of `height` rows starting at `offset`.
pub fn scroll_into_view(cursor: usize, offset: &mut usize, len: usize, height: usize) {
    let height = height.max(1);
    if cursor < *offset {
        *offset = cursor;
    } else if cursor >= *offset + height {
        *offset = cursor + 1 - height;
    }
    *offset = (*offset).min(len.saturating_sub(height));
}

/// The widest cell of each of `N` columns over the items of `view`, `widths_of`
/// giving one item's cell widths (characters): O(items shown by the view), done when
/// the view changes, never per frame.
pub fn measure<const N: usize>(
    view: &[usize],
    mut widths_of: impl FnMut(usize) -> [u16; N],
) -> Vec<u16> {
    let mut out = [0u16; N];
    for &item in view {
        for (have, w) in out.iter_mut().zip(widths_of(item)) {
            *have = (*have).max(w);
        }
    }
    out.to_vec()
}

/// Appends `text` lower-cased as `str::to_lowercase` does it (one allocation less per
/// value than pushing `text.to_lowercase()`: ASCII, the usual case, is lowered in place).
pub fn push_lowercase(into: &mut String, text: &str) {
    if text.is_ascii() {
        let start = into.len();
        into.push_str(text);
        into[start..].make_ascii_lowercase();
    } else {
        into.push_str(&text.to_lowercase());
    }
}

/// The width of `text` in the table's terms (characters), at most `u16::MAX`.
pub fn text_width(text: &str) -> u16 {
    u16::try_from(text.chars().count()).unwrap_or(u16::MAX)
}

/// The cursor after the view changed: on the item it was on (`keep`) if still shown,
/// else the old position, clamped.
pub fn cursor_after(view: &[usize], keep: Option<usize>, cursor: usize) -> usize {
    keep.and_then(|item| view.iter().position(|&i| i == item))
        .unwrap_or(cursor)
        .min(view.len().saturating_sub(1))
}

/// Marked items the view does not show.
pub fn hidden_marks(view: &[usize], marks: &BTreeSet<usize>) -> usize {
    if marks.is_empty() {
        return 0;
    }
    marks.len() - view.iter().filter(|i| marks.contains(i)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_lowercase_lowers_as_to_lowercase_does() {
        for text in [
            "Ann.LEE@Corp.Example",
            "",
            "ΟΔΥΣΣΕΥΣ",
            "Zoë İstanbul",
            "a\u{1f}B",
        ] {
            let mut s = String::from("x");
            push_lowercase(&mut s, text);
            assert_eq!(s, format!("x{}", text.to_lowercase()), "{text}");
        }
    }

    #[test]
    fn marks_follow_items_and_ranges_cover_the_view_positions() {
        let view = vec![7, 3, 9, 1];
        let (mut cursor, mut marks, mut anchor) = (0, BTreeSet::new(), None);
        let mut run = |c: Command, cursor: &mut usize, marks: &mut BTreeSet<usize>| {
            command(
                TableNav {
                    view: &view,
                    cursor,
                    marks,
                    range_anchor: &mut anchor,
                },
                c,
                2,
            )
        };
        assert_eq!(run(Command::Mark, &mut cursor, &mut marks), Handled::Yes);
        assert_eq!(cursor, 1);
        run(Command::PageDown, &mut cursor, &mut marks);
        assert_eq!(cursor, 3);
        assert_eq!(
            run(Command::RangeMark, &mut cursor, &mut marks),
            Handled::Notice("Marked 4 users".into())
        );
        assert_eq!(marks, BTreeSet::from([1, 3, 7, 9]));
        assert_eq!(run(Command::Filter, &mut cursor, &mut marks), Handled::No);
        assert_eq!(hidden_marks(&[3, 9], &marks), 2);
        assert_eq!(cursor_after(&[9, 3], Some(3), 0), 1);
        assert_eq!(cursor_after(&[9, 3], Some(8), 5), 1);
        let mut offset = 0;
        scroll_into_view(10, &mut offset, 20, 4);
        assert_eq!(offset, 7);
        scroll_into_view(2, &mut offset, 20, 4);
        assert_eq!(offset, 2);
    }
}
