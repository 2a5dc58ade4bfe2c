//! The mouse (issue 13, item 8): with `--mouse`, the wheel scrolls what is under the
//! pointer and a click chooses a tab or a table row. Clicks are hit-tested against
//! the layout the screen is drawn with (`navscim::app::layout`), so these tests find
//! what they click on the rendered screen.

use crate::harness::{demo_session, press, reduce, screen};
use navscim::app::layout;
use navscim::app::state::{Overlay, State, Tab};
use navscim::app::Action;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Action {
    Action::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

fn click(column: u16, row: u16) -> Action {
    mouse(MouseEventKind::Down(MouseButton::Left), column, row)
}

fn users(w: u16, h: u16) -> State {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    reduce(&mut s, Action::Resize(w, h));
    s
}

#[test]
fn the_wheel_scrolls_the_table_under_the_pointer_and_keeps_the_cursor_on_screen() {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let mut s = users(w, h);
        let table = layout::table_area(&s).expect("the Users table is shown");
        let len = s.users.table.view.len();
        assert!(len > table.rows + 3, "{len} rows");
        let (x, y) = (table.area.x + 5, table.area.y + 2);
        reduce(&mut s, mouse(MouseEventKind::ScrollDown, x, y));
        assert_eq!(s.users.table.offset, 3, "{w}x{h}");
        assert_eq!(s.users.table.cursor, 3, "dragged onto the screen");
        // What is drawn is what the state says: the first row shown is the 4th.
        let first = s.users.table.view[3];
        let email = s.users.directory.users[first].email.clone().unwrap();
        let text = screen(&s, w, h);
        let line = text.lines().nth(table.area.y as usize + 1).unwrap();
        // At 80 columns a long email may be cut: its start names the row.
        assert!(line.contains(&email[..16]), "{w}x{h}: {line}");
        reduce(&mut s, mouse(MouseEventKind::ScrollUp, x, y));
        assert_eq!(s.users.table.offset, 0);
        // Never past the last row.
        for _ in 0..len {
            reduce(&mut s, mouse(MouseEventKind::ScrollDown, x, y));
        }
        assert_eq!(s.users.table.offset, len - table.rows, "{w}x{h}");
        // Over the tab bar the wheel scrolls nothing.
        let before = s.users.table.offset;
        reduce(&mut s, mouse(MouseEventKind::ScrollUp, x, 0));
        assert_eq!(s.users.table.offset, before);
    }
}

#[test]
fn a_click_on_a_tab_shows_that_pane() {
    let mut s = users(80, 24);
    let text = screen(&s, 80, 24);
    let bar: Vec<char> = text.lines().next().unwrap().chars().collect();
    for (tab, x, width) in layout::tab_spans() {
        // The label drawn there is the one the click chooses.
        let drawn: String = bar[x as usize..(x + width) as usize].iter().collect();
        assert_eq!(drawn, layout::tab_label(tab));
        reduce(&mut s, click(x + width - 2, 0));
        assert_eq!(s.tab, tab);
    }
    // Between two tabs, or on the title: nothing.
    reduce(&mut s, click(2, 0));
    assert_eq!(s.tab, Tab::History);
}

/// At 80x24 the title bar says which tenant and that the workspace is read-only in
/// full (it showed "tenant: Ac" and "workspace" cut short): the tabs not shown keep
/// only their number, and a click on each still chooses what is drawn there. At
/// 200x50 the full labels stay.
#[test]
fn the_tenant_and_a_read_only_workspace_are_shown_whole_at_80_columns() {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let mut s = users(w, h);
        s.tenant = Some("Acme EU".into());
        s.workspace.read_only = Some("in use by another navscim, process 42".into());
        let text = screen(&s, w, h);
        let bar = text.lines().next().unwrap();
        assert!(bar.contains("workspace read-only"), "{w}x{h}: {bar}");
        assert!(bar.contains("tenant: Acme EU"), "{w}x{h}: {bar}");
        assert_eq!(bar.contains("1 Connection"), w == 200, "{w}x{h}: {bar}");
        assert!(
            bar.contains(" 2 Users "),
            "the pane shown keeps its name: {bar}"
        );
        let chars: Vec<char> = bar.chars().collect();
        for (tab, x, width) in layout::tab_spans_in(&s, w) {
            let drawn: String = chars[x as usize..(x + width) as usize].iter().collect();
            assert_eq!(drawn, layout::drawn_tab_label(tab, s.tab, w == 80));
            reduce(&mut s, click(x + width - 2, 0));
            assert_eq!(s.tab, tab, "{w}x{h}");
            // Back on Users, so the bar is laid out as it was drawn above.
            let users_at = layout::tab_spans_in(&s, w)[1].1 + 1;
            reduce(&mut s, click(users_at, 0));
            assert_eq!(s.tab, Tab::Users, "{w}x{h}");
        }
    }
}

#[test]
fn a_click_on_a_row_moves_the_cursor_there() {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let mut s = users(w, h);
        reduce(&mut s, mouse(MouseEventKind::ScrollDown, 10, 10));
        let table = layout::table_area(&s).unwrap();
        let y = table.area.y + 1 + 4;
        reduce(&mut s, click(table.area.x + 10, y));
        assert_eq!(s.users.table.cursor, 3 + 4, "{w}x{h}");
        let user = s.users.table.cursor_item().unwrap();
        let email = s.users.directory.users[user].email.clone().unwrap();
        let line = screen(&s, w, h)
            .lines()
            .nth(y as usize)
            .unwrap()
            .to_string();
        assert!(line.contains(&email[..16]), "{w}x{h}: clicked on {line}");
        // The header is not a row.
        reduce(&mut s, click(table.area.x + 10, table.area.y));
        assert_eq!(s.users.table.cursor, 7);
    }
}

#[test]
fn the_wheel_scrolls_the_help_up_to_its_last_line() {
    let mut s = users(80, 24);
    press(&mut s, KeyCode::Char('?'));
    let max = layout::help_max_scroll(&s);
    assert!(max > 0, "the help is longer than 80x24");
    for _ in 0..50 {
        reduce(&mut s, mouse(MouseEventKind::ScrollDown, 40, 12));
    }
    assert_eq!(s.overlay, Overlay::Help { scroll: max });
    reduce(&mut s, mouse(MouseEventKind::ScrollUp, 40, 12));
    assert_eq!(s.overlay, Overlay::Help { scroll: max - 3 });
}

#[test]
fn the_help_scroll_is_clamped_by_the_reducer_so_the_first_key_back_moves_it() {
    let mut s = users(80, 24);
    press(&mut s, KeyCode::Char('?'));
    let max = layout::help_max_scroll(&s);
    for _ in 0..100 {
        press(&mut s, KeyCode::Char('j'));
    }
    assert_eq!(s.overlay, Overlay::Help { scroll: max });
    press(&mut s, KeyCode::Char('k'));
    assert_eq!(s.overlay, Overlay::Help { scroll: max - 1 });
    // The last line of the help is on screen at the largest scroll.
    press(&mut s, KeyCode::Char('j'));
    let text = screen(&s, 80, 24);
    assert!(text.contains("Read-only until you tick"), "{text}");
}

#[test]
fn the_reducer_counts_the_help_lines_the_screen_draws() {
    let mut s = users(80, 24);
    for tab in ['1', '2', '3', '4', '5'] {
        press(&mut s, KeyCode::Char(tab));
        let theme = navscim::ui::theme::Theme::new(true);
        let drawn = navscim::ui::overlay::help_lines(&s, &theme).len();
        assert_eq!(layout::help_line_count(&s) as usize, drawn, "{:?}", s.tab);
    }
}
