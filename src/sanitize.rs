//! The one function every text that reaches the terminal (or a `--json` answer, or a
//! summary) goes through when part of it came from a file or a server: control
//! characters are shown, not obeyed, and secrets are scrubbed.
//!
//! A CSV cell holding `ESC [ 31 m` or an OSC 52 sequence (`ESC ] 52 ; c ; … BEL`) would
//! otherwise recolour the terminal or write the clipboard (xterm, iTerm2, kitty, tmux),
//! and a bidi override (U+202E) would reorder what the admin reads.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is: C0 controls other than tab and line
/// feed, DEL, C1 controls (U+0080–U+009F), bidi embeddings, overrides, isolates and
/// marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), and the Unicode line
/// and paragraph separators (U+2028, U+2029).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

/// `text` with every character of [`is_unsafe`] written as a visible escape (`\x1b`,
/// `\u{202e}`); tab and line feed stay. Idempotent.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape_controls`] on a single-line value: line feeds and tabs are escaped too.
pub fn escape_value(text: &str) -> String {
    escape_controls(text)
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// What goes to the terminal: secrets scrubbed ([`crate::secret::scrub`]), then
/// control characters escaped. Use at every output edge for text that may hold
/// anything from a file or a server.
pub fn for_terminal(text: &str) -> String {
    escape_controls(&crate::secret::scrub(text)).into_owned()
}

/// JSON text with every [`is_unsafe`] character written as a `\uXXXX` escape: the same
/// JSON value (they only occur inside strings), safe to print on a terminal. (serde_json
/// escapes C0 controls itself, but not C1 controls or bidi overrides.)
pub fn json_for_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A writer that passes UTF-8 text through [`json_for_terminal`] (for results written
/// to stdout, which may be a terminal). Bytes that are not UTF-8 pass unchanged; a
/// character split between two writes is kept until it is whole.
pub struct TerminalSafeWriter<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: std::io::Write> TerminalSafeWriter<W> {
    pub fn new(inner: W) -> Self {
        TerminalSafeWriter {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for TerminalSafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(text) => {
                    self.inner.write_all(json_for_terminal(text).as_bytes())?;
                    self.pending.clear();
                    return Ok(buf.len());
                }
                Err(e) => {
                    let good = start + e.valid_up_to();
                    let text = std::str::from_utf8(&self.pending[start..good]).unwrap_or("");
                    self.inner.write_all(json_for_terminal(text).as_bytes())?;
                    match e.error_len() {
                        // An incomplete character at the end: keep it for the next write.
                        None => {
                            self.pending.drain(..good);
                            return Ok(buf.len());
                        }
                        Some(n) => {
                            self.inner.write_all(&self.pending[good..good + n])?;
                            start = good + n;
                        }
                    }
                }
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.inner.write_all(&rest)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(escape_controls("a\u{1b}[31mb"), "a\\x1b[31mb");
        assert_eq!(
            escape_controls("\u{1b}]52;c;aGk=\u{7}"),
            "\\x1b]52;c;aGk=\\x07"
        );
        assert_eq!(escape_controls("\u{9b}31m"), "\\x9b31m");
        assert_eq!(escape_controls("moc.\u{202e}evil"), "moc.\\u{202e}evil");
        assert_eq!(escape_controls("line\nnext\tx"), "line\nnext\tx");
        assert_eq!(escape_controls("carriage\rreturn"), "carriage\\x0dreturn");
        assert_eq!(escape_value("a\nb"), "a\\nb");
        let once = escape_controls("\u{1b}x").into_owned();
        assert_eq!(escape_controls(&once), once);
        assert!(matches!(escape_controls("plain ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_the_same_value_and_safe() {
        let v = serde_json::json!({"email": "moc.\u{202e}x\u{9b}31m@a.io"});
        let safe = json_for_terminal(&v.to_string());
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
        // Split across writes, in the middle of a character.
        use std::io::Write;
        let bytes = v.to_string().into_bytes();
        let mut w = TerminalSafeWriter::new(Vec::new());
        for chunk in bytes.chunks(3) {
            w.write_all(chunk).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(String::from_utf8(w.inner).unwrap(), safe);
    }
}
