//! Invisible characters in pasted identifiers: zero-width spaces and joiners, the word
//! joiner, a byte-order mark inside a cell, no-break and other Unicode spaces, the soft
//! hyphen, bidirectional marks. A value copied from a web page or a chat carries them
//! unseen, and `omar@corp.example` with a leading U+200B is another key than the same
//! address without it: one person becomes a "not found" user and an "orphan seat".

/// Characters that are never visible and never part of an identifier.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'            // soft hyphen
            | '\u{034F}'      // combining grapheme joiner
            | '\u{061C}'      // Arabic letter mark
            | '\u{115F}' | '\u{1160}' // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'
            | '\u{180E}'      // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}' // bidi isolates, deprecated format characters
            | '\u{3164}'      // Hangul filler
            | '\u{FEFF}'      // byte-order mark / zero-width no-break space
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Unicode spaces other than the ASCII space: no-break, en/em/thin/hair spaces, the
/// narrow no-break space, the ideographic space, …
pub fn is_unicode_space(c: char) -> bool {
    c != ' ' && c != '\t' && c != '\n' && c != '\r' && c.is_whitespace()
}

/// The name of a character for messages: `U+200B (zero-width space)`.
pub fn describe(c: char) -> String {
    let name = match c {
        '\u{00A0}' => "no-break space",
        '\u{00AD}' => "soft hyphen",
        '\u{200B}' => "zero-width space",
        '\u{200C}' => "zero-width non-joiner",
        '\u{200D}' => "zero-width joiner",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{2060}' => "word joiner",
        '\u{202F}' => "narrow no-break space",
        '\u{3000}' => "ideographic space",
        '\u{FEFF}' => "byte-order mark",
        c if is_unicode_space(c) => "Unicode space",
        _ => "invisible character",
    };
    format!("U+{:04X} ({name})", c as u32)
}

/// A value with its invisible characters removed, and where they were (1-based
/// character positions in the original value). In an identifier (`identifier` true:
/// emails, user names, ids) Unicode spaces are removed too; elsewhere (names) they
/// become ASCII spaces, so "Ann\u{A0}Lee" stays two words.
pub fn clean(value: &str, identifier: bool) -> (String, Vec<(usize, char)>) {
    if value
        .chars()
        .all(|c| !is_invisible(c) && !is_unicode_space(c))
    {
        return (value.to_string(), Vec::new());
    }
    let mut out = String::with_capacity(value.len());
    let mut removed = Vec::new();
    for (i, c) in value.chars().enumerate() {
        if is_invisible(c) {
            removed.push((i + 1, c));
        } else if is_unicode_space(c) {
            removed.push((i + 1, c));
            if !identifier {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    (out, removed)
}

/// [`clean`] for an identifier, without positions.
pub fn strip(value: &str) -> std::borrow::Cow<'_, str> {
    // Fast path for the usual ASCII value: the only ASCII characters removed are the
    // vertical tab and the form feed (whitespace other than space, tab, CR, LF).
    if value
        .bytes()
        .all(|b| b.is_ascii() && b != 0x0B && b != 0x0C)
        || value
            .chars()
            .all(|c| !is_invisible(c) && !is_unicode_space(c))
    {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(clean(value, true).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_around_and_inside() {
        let (v, at) = clean("\u{200B}omar.khan@corp.example", true);
        assert_eq!(v, "omar.khan@corp.example");
        assert_eq!(at, vec![(1, '\u{200B}')]);
        let (v, at) = clean("ines.duarte@corp.example\u{FEFF}", true);
        assert_eq!(v, "ines.duarte@corp.example");
        assert_eq!(at.len(), 1);
        let (v, _) = clean("nina.park@corp.example\u{A0}", true);
        assert_eq!(v, "nina.park@corp.example");
        let (v, _) = clean("a\u{2060}b\u{00AD}c\u{200D}@x\u{202F}.io", true);
        assert_eq!(v, "abc@x.io");
        assert_eq!(clean("Ann\u{A0}Lee", false).0, "Ann Lee");
        assert_eq!(strip("plain@x.io"), "plain@x.io");
        assert!(describe('\u{200B}').contains("U+200B"));
    }

    /// The ASCII fast path of [`strip`] removes what the character test removes.
    #[test]
    fn strip_agrees_with_clean_on_every_ascii_character() {
        for b in 0u8..=0x7F {
            let value = format!("a{}b@x.io", b as char);
            assert_eq!(strip(&value), clean(&value, true).0, "byte {b:#04x}");
        }
        assert_eq!(strip("a\u{0B}b\u{0C}c"), "abc");
    }
}
