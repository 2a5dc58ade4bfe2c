//! Terminal setup and the promise to always restore it when the app really exits: on
//! normal exit, on error (the guard's Drop), on a panic that ends the app (the hook
//! restores before the report is printed) and on SIGTERM/SIGHUP (the event loop quits
//! through the same path).
//!
//! A panic inside an effect's task does not end the app: the executor catches it and
//! the dashboard goes on (with one notice). The hook then only logs it, naming the
//! effect ([`in_effect`] marks the thread while an effect's code runs), and leaves
//! the terminal and the screen alone.

use std::io::{self, Stdout, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::{Position, Size};
use ratatui::Terminal;

pub type Tui = Terminal<AppBackend>;

/// crossterm's backend, except that it never asks the terminal where the cursor is:
/// the answer would come on the input our own reader takes ([`super::input`]), so
/// crossterm would wait 2 s for it and fail. ratatui asks only to put the cursor back
/// after a clear (on resize); the last position set is that answer.
pub struct AppBackend {
    inner: CrosstermBackend<super::colors::ColorWriter<Stdout>>,
    cursor: Position,
}

impl Backend for AppBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.cursor = position.into();
        self.inner.set_cursor_position(self.cursor)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

impl Write for AppBackend {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut self.inner)
    }
}

/// Mouse reports: button presses and releases with the wheel (1000), in the SGR
/// form (1006) our parser reads. Not crossterm's `EnableMouseCapture`, which also asks
/// for every pointer motion (1003) and the urxvt form (1015), read by nothing here.
pub const MOUSE_ON: &str = "\x1b[?1000h\x1b[?1006h";
/// Mouse reports off again (the reverse of [`MOUSE_ON`]).
pub const MOUSE_OFF: &str = "\x1b[?1006l\x1b[?1000l";

/// Whether the mouse was taken, so [`restore`] (also from the panic hook) gives it
/// back; without `--mouse` no mouse code is sent, not even to turn it off.
static MOUSE_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What taking the terminal writes to it: the alternate screen, bracketed paste,
/// and the mouse reports only if `mouse`.
pub fn write_setup(out: &mut impl Write, mouse: bool) -> io::Result<()> {
    execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    if mouse {
        out.write_all(MOUSE_ON.as_bytes())?;
    }
    out.flush()
}

/// What giving the terminal back writes to it: the mouse reports off if `mouse`
/// (they were taken), bracketed paste off, the main screen, the cursor shown.
pub fn write_restore(out: &mut impl Write, mouse: bool) -> io::Result<()> {
    if mouse {
        out.write_all(MOUSE_OFF.as_bytes())?;
    }
    execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    )?;
    out.flush()
}

/// Owns the terminal while the dashboard runs; restores it when dropped.
pub struct TerminalGuard {
    pub terminal: Tui,
}

impl TerminalGuard {
    /// Takes the terminal; colours are sent as `colors` allows; the mouse is taken
    /// only if `mouse` (`--mouse`, or the profile's setting).
    pub fn enter(colors: super::colors::ColorSupport, mouse: bool) -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        MOUSE_TAKEN.store(mouse, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = write_setup(&mut stdout, mouse) {
            restore();
            return Err(e);
        }
        let writer = super::colors::ColorWriter::new(stdout, colors);
        let backend = AppBackend {
            inner: CrosstermBackend::new(writer),
            cursor: Position::default(),
        };
        let terminal = Terminal::new(backend).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// How many times [`restore`] ran (the panic tests count it).
static RESTORED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Puts the terminal back the way the shell expects it. Safe to call more than once.
pub fn restore() {
    RESTORED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _ = disable_raw_mode();
    let mouse = MOUSE_TAKEN.swap(false, std::sync::atomic::Ordering::SeqCst);
    let _ = write_restore(&mut io::stdout(), mouse);
}

thread_local! {
    /// The effect whose code this thread runs right now, if any.
    static EFFECT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` as part of the effect `name`: a panic in it is the effect's (logged, then
/// caught by the executor), not the app's.
pub fn in_effect<R>(name: &'static str, f: impl FnOnce() -> R) -> R {
    /// Puts the outer mark back when `f` returns or unwinds: a worker thread that
    /// ran a panicking effect must not stay marked.
    struct Unmark(Option<&'static str>);
    impl Drop for Unmark {
        fn drop(&mut self) {
            EFFECT.with(|e| e.set(self.0));
        }
    }
    let _unmark = Unmark(EFFECT.with(|e| e.replace(Some(name))));
    f()
}

/// The effect whose code this thread runs right now, if any.
pub fn current_effect() -> Option<&'static str> {
    EFFECT.with(|e| e.get())
}

/// Logs every panic (with its location; the dashboard's own messages never hold the
/// token). A panic in an effect's code stops there: the executor catches it and
/// reports it once. Any other panic ends the app: the terminal is restored first, then
/// the report is printed.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(move |info| {
            if let Some(effect) = EFFECT.with(|e| e.get()) {
                tracing::error!("panic in the effect {effect:?} (the dashboard goes on): {info}");
                return;
            }
            tracing::error!("panic: {info}");
            restore();
            // Not the default hook's text: a panic message can quote a server answer or
            // a file, so it is scrubbed of secrets like every other message.
            eprintln!("{}", panic_report(info.payload(), info.location()));
        }));
    });
}

/// What the admin reads on stderr when navscim itself panics: where, the message with
/// every known secret scrubbed and control characters made visible, and where to look.
fn panic_report(
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    let at = location
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let message = crate::sanitize::for_terminal(&crate::secret::scrub(&message));
    format!("navscim: internal error{at}: {message} (the log has the details; please report it)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Every code that turns a mouse report mode on or off (X10 9, 1000-1006, 1015).
    fn mouse_codes(bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        ["9", "1000", "1001", "1002", "1003", "1005", "1006", "1015"]
            .iter()
            .flat_map(|mode| [format!("\x1b[?{mode}h"), format!("\x1b[?{mode}l")])
            .filter(|code| text.contains(code.as_str()))
            .collect()
    }

    #[test]
    fn without_mouse_no_mouse_code_is_sent_on_setup_or_restore() {
        let mut setup = Vec::new();
        write_setup(&mut setup, false).unwrap();
        let mut back = Vec::new();
        write_restore(&mut back, false).unwrap();
        assert_eq!(mouse_codes(&setup), Vec::<String>::new());
        assert_eq!(mouse_codes(&back), Vec::<String>::new());
        assert!(!setup.is_empty(), "the alternate screen is still taken");
        // Off by default: the dashboard's settings take no mouse unless asked.
        assert!(!super::super::Settings::default().mouse);
    }

    #[test]
    fn with_mouse_sgr_reports_are_taken_and_given_back() {
        let mut setup = Vec::new();
        write_setup(&mut setup, true).unwrap();
        assert_eq!(mouse_codes(&setup), vec!["\x1b[?1000h", "\x1b[?1006h"]);
        let mut back = Vec::new();
        write_restore(&mut back, true).unwrap();
        assert_eq!(mouse_codes(&back), vec!["\x1b[?1000l", "\x1b[?1006l"]);
    }

    #[test]
    fn the_panic_report_names_where_and_never_the_token() {
        crate::secret::register("panic-report-secret-token-123");
        let payload: Box<dyn std::any::Any + Send> =
            Box::new("request failed: Bearer panic-report-secret-token-123\x1b[2J".to_string());
        let report = panic_report(payload.as_ref(), Some(std::panic::Location::caller()));
        assert!(report.contains("request failed"), "{report}");
        assert!(report.contains("terminal.rs"), "{report}");
        assert!(
            !report.contains("panic-report-secret-token-123"),
            "{report}"
        );
        assert!(!report.contains('\x1b'), "{report}");
    }

    #[test]
    fn a_panic_in_an_effect_leaves_the_terminal_alone_any_other_restores_it() {
        install_panic_hook();
        let before = RESTORED.load(Ordering::SeqCst);
        let caught =
            std::panic::catch_unwind(|| in_effect("Testing the connection", || panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(
            RESTORED.load(Ordering::SeqCst),
            before,
            "restored under a running app"
        );
        assert_eq!(current_effect(), None, "the mark ends with the effect");
        let caught = std::panic::catch_unwind(|| panic!("the app itself"));
        assert!(caught.is_err());
        assert!(
            RESTORED.load(Ordering::SeqCst) > before,
            "not restored on the app's own panic"
        );
    }
}
