//! Messages not lost (issue 13, item 4): every notice is kept in a message log that
//! `M` opens, over any pane, at 80x24 and 200x50.

use crate::harness::{demo_session, press, screen};
use navscim::app::state::{Overlay, Tab};
use ratatui::crossterm::event::KeyCode;

#[test]
fn every_notice_is_kept_and_m_opens_the_log() {
    let mut s = demo_session(true);
    s.tab = Tab::Usage;
    let before = s.messages.len();
    assert!(before > 0, "the demo's load and lookups left notices");
    // Two notices in a row: the status line keeps only the second.
    press(&mut s, KeyCode::Char('t'));
    let first = s.notice.clone().unwrap().text;
    press(&mut s, KeyCode::Char('t'));
    let second = s.notice.clone().unwrap().text;
    assert_ne!(first, second);
    assert_eq!(s.messages.len(), before + 2);
    press(&mut s, KeyCode::Char('M'));
    assert!(matches!(s.overlay, Overlay::Messages { .. }));
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let text = screen(&s, w, h);
        assert!(text.contains("Messages ("), "{w}x{h}: {text}");
        // Opened at the end: the newest notices are on screen, each with its time.
        let first_start: String = first.chars().take(30).collect();
        assert!(
            text.contains(&first_start),
            "{w}x{h}: {first_start:?} in {text}"
        );
        assert!(text.contains("10:00:00"), "{w}x{h}: times shown");
    }
    insta::assert_snapshot!("messages_80x24", screen(&s, 80, 24));
    press(&mut s, KeyCode::Up);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.overlay, Overlay::None);
}
