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
}
