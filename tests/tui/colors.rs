//! Colour by what the terminal can do (issue 13, item 7): decided once from the
//! environment's values, then no colour for `TERM=dumb`, 16-colour codes where the
//! terminal announces no more, 256-colour codes where it does.

use crate::harness::{demo_session, screen};
use navscim::runtime::colors::{ColorSupport, ColorWriter};
use navscim::runtime::render_to_buffer;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// A writer whose bytes the test keeps.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes a real crossterm backend sends for one frame of the demo at 80x24.
fn frame_bytes(support: ColorSupport) -> String {
    let mut state = demo_session(!support.has_color());
    state.tab = navscim::app::state::Tab::Users;
    let out = Shared::default();
    let writer = ColorWriter::new(out.clone(), support);
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(writer),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 80, 24)),
        },
    )
    .unwrap();
    terminal
        .draw(|frame| navscim::ui::render(frame, &state))
        .unwrap();
    drop(terminal);
    let bytes = out.0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn term_dumb_gets_no_colour_and_keeps_the_focus_visible() {
    let support = ColorSupport::detect(None, Some("dumb"), None);
    assert_eq!(support, ColorSupport::None);
    let mut state = demo_session(!support.has_color());
    state.tab = navscim::app::state::Tab::Users;
    let buffer = render_to_buffer(&state, 80, 24);
    for cell in buffer.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    assert!(screen(&state, 80, 24).contains("Users"));
    let bytes = frame_bytes(support);
    assert!(!bytes.contains("38;5;") && !bytes.contains("48;5;"));
    assert!(bytes.contains("\x1b[7m"), "the cursor row in reverse video");
}

#[test]
fn a_16_colour_terminal_gets_16_colour_codes() {
    let support = ColorSupport::detect(None, Some("xterm"), None);
    assert_eq!(support, ColorSupport::Ansi16);
    let bytes = frame_bytes(support);
    let at = bytes.find("38;5;").unwrap_or(0);
    assert!(
        !bytes.contains("38;5;"),
        "no 256-colour foreground: {:?}",
        &bytes[at.saturating_sub(10)..(at + 20).min(bytes.len())]
    );
    assert!(!bytes.contains("48;5;"), "no 256-colour background");
    let sgr_params: Vec<&str> = bytes
        .split("\x1b[")
        .filter_map(|seq| seq.split_once('m').map(|(params, _)| params))
        .flat_map(|params| params.split(';'))
        .collect();
    assert!(
        sgr_params.iter().any(|p| *p == "36" || *p == "46"),
        "cyan as a 16-colour code"
    );
}

#[test]
fn a_256_colour_terminal_is_left_as_crossterm_sends_it() {
    let support = ColorSupport::detect(None, Some("xterm-256color"), None);
    assert_eq!(support, ColorSupport::Ansi256);
    assert!(frame_bytes(support).contains("38;5;"));
}

#[test]
fn no_color_wins_over_everything() {
    let support = ColorSupport::detect(Some("1"), Some("xterm-256color"), Some("truecolor"));
    assert_eq!(support, ColorSupport::None);
}

/// Issue 13: a theme file's palette colours its slots; without colour (`NO_COLOR`,
/// `TERM=dumb`) it is not used at all.
#[test]
fn a_theme_palette_colours_its_slots_and_no_color_still_wins() {
    let palette =
        navscim::theme::parse("title = \"magenta\"\ntab_active_bg = 208\n", "t.toml").unwrap();
    for no_color in [false, true] {
        let mut s = crate::harness::demo_session(no_color);
        s.palette = palette;
        let buffer = navscim::runtime::render_to_buffer(&s, 80, 24);
        // " navscim " is a title; the active tab follows it.
        let title = buffer[(1, 0)].style();
        let tab = buffer[(11, 0)].style();
        if no_color {
            assert!(matches!(title.fg, None | Some(Color::Reset)), "{title:?}");
            assert!(matches!(tab.bg, None | Some(Color::Reset)), "{tab:?}");
        } else {
            assert_eq!(title.fg, Some(Color::Magenta));
            assert_eq!(tab.bg, Some(Color::Indexed(208)));
        }
    }
}
