//! Table mechanics shared by the panes' tables (Users, Usage, and the Actions plan): a filtered and sorted
//! view of item indices, a cursor and a scroll offset over it, and marks on items (not
//! positions), so marks survive filtering and sorting. Pure, no I/O.

use std::collections::BTreeSet;

use super::keys::Command;

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
