//! What colours the terminal can show, decided once at start-up from the environment
//! ([`ColorSupport::detect`], a pure function of the values passed in), and the
//! output edge that keeps to it ([`ColorWriter`]).
//!
//! The theme uses only the 16 named ANSI colours, but crossterm sends every colour
//! as a 256-colour code (`ESC[38;5;Nm`), which a terminal that does not announce
//! 256 colours may not show. On such terminals [`ColorWriter`] rewrites those codes
//! to the 16-colour ones (`ESC[3Nm`, `ESC[9Nm`, and the background forms). A theme
//! file's other colours (a 256-colour index, `#rrggbb`) become the nearest of the
//! 16 there.

use std::io::{self, Write};

/// The colours a terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorSupport {
    /// No colour: `NO_COLOR` set (non-empty) or `TERM=dumb`. Emphasis stays (bold,
    /// reverse, underline).
    None,
    /// The 16 ANSI colours, sent as 16-colour codes: any other terminal.
    #[default]
    Ansi16,
    /// 256 colours or more: `TERM` ends in `256color` or names truecolor/direct, or
    /// `COLORTERM` is `truecolor` or `24bit`.
    Ansi256,
}

impl ColorSupport {
    /// From the values of `NO_COLOR`, `TERM` and `COLORTERM` (`None`: unset).
    /// `NO_COLOR` wins (<https://no-color.org>: set and not empty), then `TERM=dumb`.
    pub fn detect(no_color: Option<&str>, term: Option<&str>, colorterm: Option<&str>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return ColorSupport::None;
        }
        let term = term.unwrap_or("").trim().to_ascii_lowercase();
        if term == "dumb" {
            return ColorSupport::None;
        }
        let colorterm = colorterm.unwrap_or("").trim().to_ascii_lowercase();
        if colorterm == "truecolor"
            || colorterm == "24bit"
            || term.contains("256color")
            || term.contains("truecolor")
            || term.contains("direct")
        {
            return ColorSupport::Ansi256;
        }
        ColorSupport::Ansi16
    }

    /// [`ColorSupport::detect`] on this process's environment.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok();
        Self::detect(
            var("NO_COLOR").as_deref(),
            var("TERM").as_deref(),
            var("COLORTERM").as_deref(),
        )
    }

    /// Whether to render with colour at all.
    pub fn has_color(self) -> bool {
        self != ColorSupport::None
    }
}

/// A writer that holds a frame's bytes until flush and, in [`ColorSupport::Ansi16`],
/// rewrites the 256-colour codes of the 16 named colours to 16-colour codes. Other
/// bytes pass unchanged.
pub struct ColorWriter<W: Write> {
    inner: W,
    support: ColorSupport,
    pending: Vec<u8>,
}

impl<W: Write> ColorWriter<W> {
    pub fn new(inner: W, support: ColorSupport) -> Self {
        ColorWriter {
            inner,
            support,
            pending: Vec::new(),
        }
    }

    /// The wrapped writer (tests read what was written).
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for ColorWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.support == ColorSupport::Ansi16 {
            self.pending.extend_from_slice(buf);
            Ok(buf.len())
        } else {
            self.inner.write(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let bytes = to_ansi16(&self.pending);
            self.pending.clear();
            self.inner.write_all(&bytes)?;
        }
        self.inner.flush()
    }
}

/// Rewrites, in every SGR sequence (`ESC[…m`), the 256-colour codes of the 16 named
/// colours (`38;5;N`, `48;5;N`, N < 16) to the 16-colour codes (`3N`/`9N`, `4N`/`10N`);
/// crossterm may send foreground and background in one sequence (`ESC[38;5;6;49m`).
pub fn to_ansi16(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\x1b[") {
            let params = &bytes[i + 2..];
            let len = params
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b';')
                .count();
            if params.get(len) == Some(&b'm') {
                out.extend_from_slice(b"\x1b[");
                out.extend_from_slice(rewrite_sgr(&params[..len]).as_bytes());
                out.push(b'm');
                i += 2 + len + 1;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// One SGR parameter list with the named colours' 256-colour codes made 16-colour.
fn rewrite_sgr(params: &[u8]) -> String {
    let text = String::from_utf8_lossy(params);
    let parts: Vec<&str> = text.split(';').collect();
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let base = match parts[i] {
            "38" => Some(30u8),
            "48" => Some(40u8),
            _ => None,
        };
        let code = |n: u8| {
            if n < 8 {
                base.unwrap_or(30) + n
            } else {
                base.unwrap_or(30) + 60 + (n - 8)
            }
        };
        if let (Some(_), Some(&"5"), Some(n)) = (base, parts.get(i + 1), parts.get(i + 2)) {
            if let Ok(n) = n.parse::<u8>() {
                let n = if n < 16 {
                    n
                } else {
                    nearest16(rgb_of_index(n))
                };
                out.push(code(n).to_string());
                i += 3;
                continue;
            }
        }
        if let (Some(_), Some(&"2"), Some(r), Some(g), Some(b)) = (
            base,
            parts.get(i + 1),
            parts.get(i + 2),
            parts.get(i + 3),
            parts.get(i + 4),
        ) {
            if let (Ok(r), Ok(g), Ok(b)) = (r.parse::<u8>(), g.parse::<u8>(), b.parse::<u8>()) {
                out.push(code(nearest16((r, g, b))).to_string());
                i += 5;
                continue;
            }
        }
        out.push(parts[i].to_string());
        i += 1;
    }
    out.join(";")
}

/// The xterm colours of the 16 ANSI colours, by index.
const ANSI16_RGB: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// The colour of a 256-colour index (xterm's: the 16, a 6x6x6 cube, 24 greys).
fn rgb_of_index(n: u8) -> (u8, u8, u8) {
    match n {
        0..=15 => ANSI16_RGB[n as usize],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let n = n - 16;
            (level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let v = 8 + 10 * (n - 232);
            (v, v, v)
        }
    }
}

/// The index of the ANSI colour nearest `rgb` (squared distance).
fn nearest16(rgb: (u8, u8, u8)) -> u8 {
    let d = |a: u8, b: u8| (a as i32 - b as i32).pow(2);
    (0..16u8)
        .min_by_key(|&i| {
            let c = ANSI16_RGB[i as usize];
            d(c.0, rgb.0) + d(c.1, rgb.1) + d(c.2, rgb.2)
        })
        .unwrap_or(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_no_color_term_and_colorterm() {
        use ColorSupport::{Ansi16, Ansi256, None as NoColor};
        let d = ColorSupport::detect;
        assert_eq!(
            d(Some("1"), Some("xterm-256color"), Some("truecolor")),
            NoColor
        );
        assert_eq!(
            d(Some(""), Some("xterm-256color"), None),
            Ansi256,
            "empty NO_COLOR is unset"
        );
        assert_eq!(d(None, Some("dumb"), None), NoColor);
        assert_eq!(d(None, Some("dumb"), Some("truecolor")), NoColor);
        assert_eq!(d(None, Some("xterm"), None), Ansi16);
        assert_eq!(d(None, Some("screen"), None), Ansi16);
        assert_eq!(d(None, Some("linux"), None), Ansi16);
        assert_eq!(d(None, None, None), Ansi16);
        assert_eq!(d(None, Some("tmux-256color"), None), Ansi256);
        assert_eq!(d(None, Some("xterm-direct"), None), Ansi256);
        assert_eq!(d(None, Some("xterm"), Some("24bit")), Ansi256);
        assert_eq!(d(None, Some("xterm"), Some("TrueColor")), Ansi256);
    }

    #[test]
    fn named_colours_become_16_colour_codes() {
        let out = to_ansi16(b"a\x1b[38;5;6mb\x1b[48;5;0m\x1b[38;5;9m\x1b[38;5;201m\x1b[39m");
        assert_eq!(
            out,
            b"a\x1b[36mb\x1b[40m\x1b[91m\x1b[95m\x1b[39m".to_vec(),
            "a theme's index 201 (#ff00ff) is light magenta"
        );
        let out = to_ansi16(b"\x1b[38;5;6;49m x \x1b[1;38;5;0;48;5;14m\x1b[2J");
        assert_eq!(out, b"\x1b[36;49m x \x1b[1;30;106m\x1b[2J".to_vec());
    }

    #[test]
    fn a_theme_files_rgb_and_indexed_colours_fall_back_to_the_nearest_of_16() {
        // #1e90ff (dodger blue) → light blue; a dark grey index → dark grey (90).
        let out = to_ansi16(b"\x1b[38;2;30;144;255m\x1b[48;5;240m\x1b[1;38;2;200;0;0m");
        assert_eq!(out, b"\x1b[94m\x1b[100m\x1b[1;31m".to_vec());
    }

    #[test]
    fn split_writes_are_rewritten_at_flush() {
        let mut w = ColorWriter::new(Vec::new(), ColorSupport::Ansi16);
        w.write_all(b"\x1b[").unwrap();
        w.write_all(b"38;5;").unwrap();
        w.write_all(b"14m").unwrap();
        assert!(w.get_ref().is_empty());
        w.flush().unwrap();
        assert_eq!(w.get_ref(), b"\x1b[96m");
    }
}
