//! Use the space, say when there is none (issue 13, item 5, in part): below the size
//! the layout is made for, the screen says so instead of hiding lines.

use crate::harness::{demo_session, screen};
use navscim::ui::MIN_SIZE;

#[test]
fn below_80x24_the_screen_says_terminal_too_small() {
    let s = demo_session(true);
    for (w, h) in [(79, 24), (80, 23), (40, 10)] {
        let text = screen(&s, w, h);
        assert!(text.contains("Terminal too small"), "{w}x{h}: {text}");
        assert!(text.contains(&format!("{w}x{h} now")), "{w}x{h}: {text}");
        assert!(text.contains("needs 80x24"), "{w}x{h}: {text}");
    }
    assert_eq!(MIN_SIZE, (80, 24));
    for (w, h) in [(80, 24), (200, 50)] {
        assert!(!screen(&s, w, h).contains("Terminal too small"), "{w}x{h}");
    }
    insta::assert_snapshot!("too_small_60x20", screen(&s, 60, 20));
}
