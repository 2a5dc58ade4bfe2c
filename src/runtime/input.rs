//! The terminal's input bytes turned into events, with our own bracketed-paste handling.
//!
//! crossterm reassembles a bracketed paste (`ESC[200~ … ESC[201~`) itself and holds
//! every byte until the end marker arrives: a paste whose end marker never comes (a
//! dropped SSH packet, a terminal that stopped mid-paste) leaves the keyboard dead,
//! Esc and Ctrl-C included. [`InputParser`] ends such a paste after
//! [`PASTE_TIMEOUT`] without a byte; a Ctrl-C inside a paste ends it at once (and
//! is the key it always is), an Esc at its end is the Esc key when nothing follows.
//!
//! The parser is pure: bytes and the time they arrived in, events out; the caller asks
//! [`InputParser::deadline`] when to call [`InputParser::flush`] (no clock read here,
//! so the tests drive the timeouts without sleeping). [`TtyReader`] is the thread that
//! reads the terminal's bytes for it (Unix only; elsewhere crossterm's own event
//! stream is used).

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

/// A paste with no byte for this long ends there (its end marker lost).
pub const PASTE_TIMEOUT: Duration = Duration::from_millis(300);

/// A lone `ESC` with nothing after it for this long is the Esc key (not the start of
/// an escape sequence).
pub const ESC_TIMEOUT: Duration = Duration::from_millis(50);

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// Turns terminal input bytes into crossterm [`Event`]s: keys, mouse (SGR 1006
/// reports) and pastes.
#[derive(Debug, Default)]
pub struct InputParser {
    /// Bytes received and not yet turned into events (an incomplete sequence).
    pending: Vec<u8>,
    /// Inside a bracketed paste: its text so far.
    paste: Option<Vec<u8>>,
    /// When the last byte arrived.
    last_byte: Option<Instant>,
}

impl InputParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a paste is being received (its end marker not seen yet).
    pub fn in_paste(&self) -> bool {
        self.paste.is_some()
    }

    /// Takes the bytes that arrived at `now`; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<Event> {
        self.pending.extend_from_slice(bytes);
        self.last_byte = Some(now);
        let mut out = Vec::new();
        self.parse(false, &mut out);
        out
    }

    /// When [`InputParser::flush`] should be called if no byte arrives before:
    /// the end of a paste left open, or the Esc key of a lone `ESC`. `None`: nothing
    /// waits.
    pub fn deadline(&self) -> Option<Instant> {
        let last = self.last_byte?;
        if self.paste.is_some() {
            Some(last + PASTE_TIMEOUT)
        } else if !self.pending.is_empty() {
            Some(last + ESC_TIMEOUT)
        } else {
            None
        }
    }

    /// Ends what waited past its timeout at `now`: a paste whose end marker did not
    /// come becomes the paste of what arrived; an incomplete sequence becomes the keys
    /// its bytes are (a lone `ESC` the Esc key).
    pub fn flush(&mut self, now: Instant) -> Vec<Event> {
        let mut out = Vec::new();
        match self.deadline() {
            Some(due) if now >= due => {}
            _ => return out,
        }
        if let Some(text) = self.paste.take() {
            // What waits is the start of an end marker that did not finish: dropped;
            // a lone ESC there is the Esc key typed after the paste.
            let esc = self.pending == [0x1b];
            self.pending.clear();
            out.push(paste_event(&text));
            if esc {
                out.push(key(KeyCode::Esc, KeyModifiers::NONE));
            }
            return out;
        }
        self.parse(true, &mut out);
        out
    }

    /// Parses `pending` into `out`; an incomplete sequence at the end waits for more
    /// bytes unless `timed_out`.
    fn parse(&mut self, timed_out: bool, out: &mut Vec<Event>) {
        let mut at = 0;
        while at < self.pending.len() {
            let rest = &self.pending[at..];
            if let Some(text) = self.paste.as_mut() {
                // Inside a paste: everything is text up to the end marker; a Ctrl-C
                // ends the paste and is the key it always is.
                if rest.starts_with(PASTE_END) {
                    let text = self.paste.take().unwrap_or_default();
                    out.push(paste_event(&text));
                    at += PASTE_END.len();
                } else if rest[0] == 0x03 {
                    let text = self.paste.take().unwrap_or_default();
                    out.push(paste_event(&text));
                    out.push(key(KeyCode::Char('c'), KeyModifiers::CONTROL));
                    at += 1;
                } else if PASTE_END.starts_with(rest) {
                    // Perhaps the start of the end marker: wait for the rest.
                    break;
                } else {
                    text.push(rest[0]);
                    at += 1;
                }
                continue;
            }
            match parse_one(rest, timed_out) {
                Parsed::Event(used, event) => {
                    out.extend(event);
                    at += used;
                }
                Parsed::PasteStart => {
                    self.paste = Some(Vec::new());
                    at += PASTE_START.len();
                }
                Parsed::Incomplete => break,
            }
        }
        self.pending.drain(..at);
    }
}

/// The event of a paste's bytes (invalid UTF-8 replaced, never refused).
fn paste_event(bytes: &[u8]) -> Event {
    Event::Paste(String::from_utf8_lossy(bytes).into_owned())
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent {
        code,
        modifiers,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    })
}

enum Parsed {
    /// Bytes used and the event they are (none: a sequence we ignore).
    Event(usize, Option<Event>),
    PasteStart,
    /// More bytes are needed.
    Incomplete,
}

/// Parses one key, sequence or character at the start of `bytes` (not empty).
fn parse_one(bytes: &[u8], timed_out: bool) -> Parsed {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let b = bytes[0];
    let simple = |code| Parsed::Event(1, Some(key(code, none)));
    match b {
        0x1b => parse_escape(bytes, timed_out),
        b'\r' | b'\n' => simple(KeyCode::Enter),
        b'\t' => simple(KeyCode::Tab),
        0x7f | 0x08 => simple(KeyCode::Backspace),
        0x00 => Parsed::Event(1, Some(key(KeyCode::Char(' '), ctrl))),
        0x01..=0x1a => Parsed::Event(1, Some(key(KeyCode::Char((b - 1 + b'a') as char), ctrl))),
        0x1c..=0x1f => Parsed::Event(1, Some(key(KeyCode::Char((b - 0x1c + b'4') as char), ctrl))),
        _ => parse_char(bytes, timed_out),
    }
}

/// A UTF-8 character (an invalid byte is dropped).
fn parse_char(bytes: &[u8], timed_out: bool) -> Parsed {
    let len = match bytes[0] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Parsed::Event(1, None),
    };
    if bytes.len() < len {
        return if timed_out {
            Parsed::Event(bytes.len(), None)
        } else {
            Parsed::Incomplete
        };
    }
    match std::str::from_utf8(&bytes[..len])
        .ok()
        .and_then(|s| s.chars().next())
    {
        Some(c) => {
            let modifiers = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            Parsed::Event(len, Some(key(KeyCode::Char(c), modifiers)))
        }
        None => Parsed::Event(1, None),
    }
}

/// `ESC`: the Esc key, Alt+key, a CSI (`ESC [`) or SS3 (`ESC O`) sequence.
fn parse_escape(bytes: &[u8], timed_out: bool) -> Parsed {
    let Some(&next) = bytes.get(1) else {
        return if timed_out {
            Parsed::Event(1, Some(key(KeyCode::Esc, KeyModifiers::NONE)))
        } else {
            Parsed::Incomplete
        };
    };
    match next {
        b'[' => parse_csi(bytes, timed_out),
        b'O' => match bytes.get(2) {
            None if !timed_out => Parsed::Incomplete,
            None => Parsed::Event(2, Some(key(KeyCode::Char('O'), KeyModifiers::ALT))),
            Some(&c) => {
                let code = match c {
                    b'P'..=b'S' => KeyCode::F(c - b'P' + 1),
                    _ => match cursor_key(c) {
                        Some(code) => code,
                        None => return Parsed::Event(3, None),
                    },
                };
                Parsed::Event(3, Some(key(code, KeyModifiers::NONE)))
            }
        },
        0x1b => Parsed::Event(1, Some(key(KeyCode::Esc, KeyModifiers::NONE))),
        _ => match parse_one(&bytes[1..], timed_out) {
            Parsed::Event(used, Some(Event::Key(mut k))) => {
                k.modifiers |= KeyModifiers::ALT;
                Parsed::Event(used + 1, Some(Event::Key(k)))
            }
            Parsed::Event(used, other) => Parsed::Event(used + 1, other),
            other => other,
        },
    }
}

/// `ESC [ params final`: cursor and editing keys, Shift-Tab, the paste start, SGR
/// mouse reports; anything else is consumed and ignored.
fn parse_csi(bytes: &[u8], timed_out: bool) -> Parsed {
    // Parameter and intermediate bytes are 0x20..=0x3f; the final byte 0x40..=0x7e.
    let Some(end) = bytes[2..].iter().position(|b| !(0x20..=0x3f).contains(b)) else {
        return if timed_out {
            // A broken sequence: drop it rather than type its bytes.
            Parsed::Event(bytes.len(), None)
        } else {
            Parsed::Incomplete
        };
    };
    let end = end + 2;
    let final_byte = bytes[end];
    let used = end + 1;
    if !(0x40..=0x7e).contains(&final_byte) {
        // Not a valid sequence: drop the introducer.
        return Parsed::Event(2, None);
    }
    let params = std::str::from_utf8(&bytes[2..end]).unwrap_or("");
    if let Some(mouse) = params.strip_prefix('<') {
        return Parsed::Event(used, parse_sgr_mouse(mouse, final_byte));
    }
    let nums: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
    let modifiers = modifiers_of(nums.get(1).copied().unwrap_or(1));
    let code = match final_byte {
        b'Z' => {
            return Parsed::Event(used, Some(key(KeyCode::BackTab, KeyModifiers::SHIFT)));
        }
        b'~' => match nums.first().copied().unwrap_or(0) {
            200 => return Parsed::PasteStart,
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            n @ 11..=15 => KeyCode::F((n - 10) as u8),
            n @ 17..=21 => KeyCode::F((n - 11) as u8),
            n @ 23..=24 => KeyCode::F((n - 12) as u8),
            // 201 (an end marker after its paste timed out) and the rest.
            _ => return Parsed::Event(used, None),
        },
        other => match cursor_key(other) {
            Some(code) => code,
            None => return Parsed::Event(used, None),
        },
    };
    Parsed::Event(used, Some(key(code, modifiers)))
}

/// The cursor key a final byte names (`ESC [ A` / `ESC O A` …: arrows, Home, End).
fn cursor_key(final_byte: u8) -> Option<KeyCode> {
    Some(match final_byte {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        _ => return None,
    })
}

/// The xterm modifier parameter (1 + bits: 1 Shift, 2 Alt, 4 Ctrl).
fn modifiers_of(param: u16) -> KeyModifiers {
    modifier_bits(param.saturating_sub(1), [1, 2, 4])
}

/// The modifiers whose bit (Shift, Alt, Ctrl, in that order) is set in `bits`.
fn modifier_bits(bits: u16, [shift, alt, ctrl]: [u16; 3]) -> KeyModifiers {
    let mut m = KeyModifiers::NONE;
    for (bit, modifier) in [
        (shift, KeyModifiers::SHIFT),
        (alt, KeyModifiers::ALT),
        (ctrl, KeyModifiers::CONTROL),
    ] {
        if bits & bit != 0 {
            m |= modifier;
        }
    }
    m
}

/// An SGR (1006) mouse report `ESC [ < button ; column ; row (M|m)`, 1-based.
fn parse_sgr_mouse(params: &str, final_byte: u8) -> Option<Event> {
    let mut it = params.split(';').map(|p| p.parse::<u16>().ok());
    let (cb, column, row) = (it.next()??, it.next()??, it.next()??);
    let modifiers = modifier_bits(cb, [4, 8, 16]);
    let button = match cb & 3 {
        0 => MouseButton::Left,
        1 => MouseButton::Middle,
        _ => MouseButton::Right,
    };
    let kind = if cb & 64 != 0 {
        match cb & 3 {
            0 => MouseEventKind::ScrollUp,
            1 => MouseEventKind::ScrollDown,
            2 => MouseEventKind::ScrollLeft,
            _ => MouseEventKind::ScrollRight,
        }
    } else if cb & 32 != 0 {
        if cb & 3 == 3 {
            MouseEventKind::Moved
        } else {
            MouseEventKind::Drag(button)
        }
    } else if final_byte == b'm' {
        MouseEventKind::Up(button)
    } else {
        MouseEventKind::Down(button)
    };
    Some(Event::Mouse(MouseEvent {
        kind,
        column: column.saturating_sub(1),
        row: row.saturating_sub(1),
        modifiers,
    }))
}

/// Reads the terminal's bytes on a thread of its own and hands them over a channel
/// (Unix). Stops when dropped (it polls every 100 ms for that).
#[cfg(unix)]
pub struct TtyReader {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(unix)]
impl TtyReader {
    /// Starts reading stdin if it is a terminal, else `/dev/tty` (as crossterm does).
    /// The receiver closes when the terminal does (end of file or a read error).
    pub fn start() -> std::io::Result<(Self, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>)> {
        use std::os::fd::{AsRawFd, OwnedFd};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        // SAFETY: isatty only inspects the descriptor.
        let stdin_is_tty = unsafe { libc::isatty(libc::STDIN_FILENO) } == 1;
        let tty: Option<OwnedFd> = if stdin_is_tty {
            None
        } else {
            Some(std::fs::File::open("/dev/tty")?.into())
        };
        let fd = tty.as_ref().map_or(libc::STDIN_FILENO, |t| t.as_raw_fd());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tty-reader".into())
            .spawn(move || {
                let _tty = tty;
                let mut buf = [0u8; 4096];
                while !stopped.load(Ordering::SeqCst) {
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd, for the length given.
                    let ready = unsafe { libc::poll(&mut pfd, 1, 100) };
                    if ready < 0 {
                        if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                        {
                            continue;
                        }
                        break;
                    }
                    if ready == 0 {
                        continue;
                    }
                    // SAFETY: reads into a buffer of the length given.
                    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                    if n < 0 {
                        if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                        {
                            continue;
                        }
                        break;
                    }
                    if n == 0 || tx.send(buf[..n as usize].to_vec()).is_err() {
                        break;
                    }
                }
            })?;
        Ok((
            TtyReader {
                stop,
                thread: Some(thread),
            },
            rx,
        ))
    }
}

#[cfg(unix)]
impl Drop for TtyReader {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(events: &[Event]) -> Vec<KeyCode> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Key(k) => Some(k.code),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn keys_and_sequences() {
        let t = Instant::now();
        let mut p = InputParser::new();
        let ev = p.feed(b"a\r\x1b[A\x1b[3~\x1b[Z\x1bOH\t\x7f\x15\xc3\xa9", t);
        assert_eq!(
            keys(&ev),
            vec![
                KeyCode::Char('a'),
                KeyCode::Enter,
                KeyCode::Up,
                KeyCode::Delete,
                KeyCode::BackTab,
                KeyCode::Home,
                KeyCode::Tab,
                KeyCode::Backspace,
                KeyCode::Char('u'),
                KeyCode::Char('é'),
            ]
        );
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn a_lone_esc_is_the_esc_key_after_its_timeout() {
        let t = Instant::now();
        let mut p = InputParser::new();
        assert!(p.feed(b"\x1b", t).is_empty());
        assert_eq!(p.deadline(), Some(t + ESC_TIMEOUT));
        assert!(p.flush(t + ESC_TIMEOUT / 2).is_empty(), "not yet");
        assert_eq!(keys(&p.flush(t + ESC_TIMEOUT)), vec![KeyCode::Esc]);
        // A sequence split across reads waits for its end.
        assert!(p.feed(b"\x1b[", t).is_empty());
        assert_eq!(keys(&p.feed(b"B", t)), vec![KeyCode::Down]);
    }

    #[test]
    fn a_paste_arrives_whole_even_split_across_reads() {
        let t = Instant::now();
        let mut p = InputParser::new();
        assert!(p.feed(b"\x1b[200~a@x.com\r\nb@", t).is_empty());
        assert!(p.in_paste());
        assert!(p.feed(b"x.com\r\n\x1b[20", t).is_empty());
        let ev = p.feed(b"1~j", t);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(ev[0], Event::Paste("a@x.com\r\nb@x.com\r\n".into()));
        assert_eq!(keys(&ev[1..]), vec![KeyCode::Char('j')]);
        assert!(!p.in_paste());
    }

    #[test]
    fn a_paste_without_its_end_marker_ends_after_the_timeout_and_keys_work_again() {
        let t = Instant::now();
        let mut p = InputParser::new();
        assert!(p.feed(b"\x1b[200~first\nsecond", t).is_empty());
        let t1 = t + Duration::from_millis(100);
        assert!(p.feed(b" line", t1).is_empty());
        assert_eq!(
            p.deadline(),
            Some(t1 + PASTE_TIMEOUT),
            "each byte restarts it"
        );
        assert!(p
            .flush(t1 + PASTE_TIMEOUT - Duration::from_millis(1))
            .is_empty());
        let ev = p.flush(t1 + PASTE_TIMEOUT);
        assert_eq!(ev, vec![Event::Paste("first\nsecond line".into())]);
        assert!(!p.in_paste());
        assert_eq!(p.deadline(), None);
        // The keyboard is alive: keys are keys again, and a late end marker is ignored.
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(keys(&p.feed(b"\x1b[201~q", t2)), vec![KeyCode::Char('q')]);
    }

    #[test]
    fn esc_and_ctrl_c_work_inside_a_paste_left_open() {
        let t = Instant::now();
        let mut p = InputParser::new();
        // Ctrl-C ends the paste at once and is Ctrl-C.
        let ev = p.feed(b"\x1b[200~half a paste\x03", t);
        assert_eq!(ev[0], Event::Paste("half a paste".into()));
        match &ev[1] {
            Event::Key(k) => {
                assert_eq!(k.code, KeyCode::Char('c'));
                assert!(k.modifiers.contains(KeyModifiers::CONTROL));
            }
            other => panic!("{other:?}"),
        }
        // Esc typed after a paste that never ends: the paste, then the Esc key.
        assert!(p.feed(b"\x1b[200~text", t).is_empty());
        let t1 = t + Duration::from_millis(50);
        assert!(p.feed(b"\x1b", t1).is_empty());
        let ev = p.flush(t1 + PASTE_TIMEOUT);
        assert_eq!(ev[0], Event::Paste("text".into()));
        assert_eq!(keys(&ev[1..]), vec![KeyCode::Esc]);
    }

    #[test]
    fn sgr_mouse_reports() {
        let t = Instant::now();
        let mut p = InputParser::new();
        let ev = p.feed(b"\x1b[<64;10;5M\x1b[<0;3;1M\x1b[<0;3;1m", t);
        let kinds: Vec<_> = ev
            .iter()
            .map(|e| match e {
                Event::Mouse(m) => (m.kind, m.column, m.row),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (MouseEventKind::ScrollUp, 9, 4),
                (MouseEventKind::Down(MouseButton::Left), 2, 0),
                (MouseEventKind::Up(MouseButton::Left), 2, 0),
            ]
        );
    }

    #[test]
    fn sgr_wheel_down_with_ctrl_split_across_reads_and_a_broken_report_is_dropped() {
        let t = Instant::now();
        let mut p = InputParser::new();
        assert!(p.feed(b"\x1b[<81;120", t).is_empty(), "waits for the rest");
        let ev = p.feed(b";40M\x1b[<65;;M\x1b[<0;1Mq", t);
        match &ev[0] {
            Event::Mouse(m) => {
                assert_eq!(
                    (m.kind, m.column, m.row),
                    (MouseEventKind::ScrollDown, 119, 39)
                );
                assert!(m.modifiers.contains(KeyModifiers::CONTROL));
            }
            other => panic!("{other:?}"),
        }
        // The broken and the short report are consumed whole: no stray keys from
        // their bytes, and the key after them is a key.
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(keys(&ev[1..]), vec![KeyCode::Char('q')]);
        // Through the runtime's mapping, a report is the reducer's mouse action.
        assert!(matches!(
            crate::runtime::action_from_event(ev[0].clone()),
            Some(crate::app::Action::Mouse(_))
        ));
    }
}
