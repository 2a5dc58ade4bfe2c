//! Columns sized from their content and the width (issue 13, item 5): the Usage and
//! Actions tables (and Users) use the one table renderer (`navscim::ui::table`), at
//! 80x24 and 200x50.

use crate::harness::{demo_session, reduce, screen};
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::Action;

fn usage(w: u16, h: u16) -> State {
    let mut s = demo_session(true);
    s.tab = Tab::Usage;
    reduce(&mut s, Action::Resize(w, h));
    s
}

fn plan(w: u16, h: u16) -> State {
    let mut s = usage(w, h);
    reduce(&mut s, Action::Command(Command::MarkIdle));
    reduce(&mut s, Action::Command(Command::SendToActions));
    assert_eq!(s.tab, Tab::Actions);
    s
}

#[test]
fn usage_emails_and_users_come_whole_at_80x24_and_200x50() {
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let s = usage(w, h);
        let text = screen(&s, w, h);
        let rows = s.usage.rows();
        let shown: Vec<&str> = s.usage.table.view[..10]
            .iter()
            .filter_map(|&r| rows[r].email.as_deref())
            .collect();
        assert!(shown.len() >= 8);
        for email in shown {
            assert!(text.contains(email), "{w}x{h}: {email} whole:\n{text}");
        }
        // The Email column is as wide as the longest email of the view (shown or
        // not, so it does not shift while scrolling), no wider: the next column
        // starts right after it (not 100 blank columns later).
        let longest = s
            .usage
            .table
            .view
            .iter()
            .filter_map(|&r| rows[r].email.as_deref())
            .map(|e| e.chars().count())
            .max()
            .unwrap();
        let header = text
            .lines()
            .find(|l| l.contains("Idle d") && l.contains("Email"))
            .unwrap();
        let next = if w >= 110 { "Name" } else { "Last active" };
        let gap = header.find(next).unwrap() - header.find("Email").unwrap();
        assert_eq!(gap, longest + 1, "{w}x{h}: {header}");
        // The last column is sized from its content too: "inactive" is not cut.
        assert!(text.contains("inactive"), "{w}x{h}:\n{text}");
    }
    // Wide: the extra columns (names, licence type) come whole as well.
    let s = usage(200, 50);
    let text = screen(&s, 200, 50);
    let rows = s.usage.rows();
    for &r in &s.usage.table.view[..10] {
        if let Some(name) = rows[r].name.as_deref() {
            assert!(text.contains(name), "{name} whole:\n{text}");
        }
        if let Some(licence) = rows[r].license_type.as_deref() {
            assert!(text.contains(licence), "{licence} whole:\n{text}");
        }
    }
}

#[test]
fn actions_names_emails_and_reasons_come_whole_where_there_is_room() {
    let s = plan(200, 50);
    let text = screen(&s, 200, 50);
    let ops = &s.actions.review.as_ref().unwrap().plan.operations;
    assert!(ops.len() > 10);
    for op in &ops[..10] {
        assert!(text.contains(&op.name), "{} whole:\n{text}", op.name);
        assert!(text.contains(op.email.as_deref().unwrap()), "{text}");
        assert!(text.contains(&op.reason), "{} whole:\n{text}", op.reason);
    }
    // At 80x24 the names and emails still fit whole; the reason gives way first.
    let s = plan(80, 24);
    let text = screen(&s, 80, 24);
    for op in &ops[..5] {
        assert!(text.contains(&op.name), "{} whole:\n{text}", op.name);
        assert!(text.contains(op.email.as_deref().unwrap()), "{text}");
    }
}

#[test]
fn the_empty_actions_pane_keeps_its_margin_on_wrapped_lines() {
    let mut s = demo_session(true);
    s.tab = Tab::Actions;
    let text = screen(&s, 80, 24);
    for line in text.lines().skip(2).take(18) {
        let inside = line.trim_start_matches('│');
        if !inside.trim().is_empty() {
            assert!(inside.starts_with(' '), "no margin: {line:?}\n{text}");
        }
    }
}

/// Issue 13: columns are sized from the whole filtered view (measured by the reducer
/// when the view changes), so scrolling to a row with a long value shifts nothing.
#[test]
fn scrolling_to_a_long_value_off_screen_keeps_the_column_widths() {
    use navscim::app::keys::Command;
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let mut s = demo_session(true);
        s.tab = Tab::Users;
        reduce(&mut s, Action::Resize(w, h));
        // The last user gets a long email, off-screen at the top of the table: the
        // pane's widths and view are computed again as a file load does.
        let last = *s.users.table.view.last().unwrap();
        let long = "a.rather.long.address.for.one.user@subsidiary.northwind.example";
        s.users.directory.users[last].email = Some(long.into());
        s.users.measure_all();
        s.users.refresh_view();
        let header = |s: &State| {
            screen(s, w, h)
                .lines()
                .find(|l| l.contains("Status") && l.contains("Email"))
                .unwrap()
                .to_string()
        };
        let top = header(&s);
        // At 80 columns it is cut, not whole: its start is enough to find it.
        let start = &long[..24];
        assert!(
            !screen(&s, w, h).contains(start),
            "{w}x{h}: on screen at the top"
        );
        reduce(&mut s, Action::Command(Command::Bottom));
        assert!(
            screen(&s, w, h).contains(start),
            "{w}x{h}: shown at the bottom"
        );
        assert_eq!(header(&s), top, "{w}x{h}: the columns moved");
        // And back up: the same again.
        reduce(&mut s, Action::Command(Command::Top));
        assert_eq!(header(&s), top, "{w}x{h}");
    }
}

/// Issue 11: each result's age is a column of the Users table where there is room
/// ("3 d ago", from the reducer's clock), not only a line of the details panel.
#[test]
fn wide_users_tables_show_when_each_result_was_checked() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    reduce(&mut s, Action::Resize(120, 40));
    let first = s.users.table.view[0];
    s.users.rows[first].checked_at = Some(s.now - chrono::Duration::days(3));
    let email = s.users.directory.users[first].email.clone().unwrap();
    let text = screen(&s, 120, 40);
    let header = text.lines().find(|l| l.contains("Status")).unwrap();
    assert!(header.contains("Checked"), "{text}");
    let row = text.lines().find(|l| l.contains(&email)).unwrap();
    assert!(row.contains("3 d ago"), "{row}\n{text}");
    // At 80 columns who and why come first: no room for it.
    reduce(&mut s, Action::Resize(80, 24));
    let text = screen(&s, 80, 24);
    assert!(!text.contains("Checked"), "{text}");
}
