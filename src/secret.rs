//! Secrets: the bearer token (and any other secret navscim holds), kept out of every
//! `Debug`, `Display`, log line, journal line, error message and panic.
//!
//! Two layers:
//!
//! - [`Token`] has no `Display` and a redacted `Debug`, so a secret cannot be printed by
//!   accident.
//! - A process-wide **registry** of the secrets navscim holds. Every [`Token`] made with
//!   [`Token::new`] is registered (an identity-provider secret added later only has to be
//!   a `Token`, or call [`register`]). [`scrub`] removes every registered secret from
//!   text that came from elsewhere — a server's error body that echoes the request
//!   headers, a library's error message — in every form it is likely to take there: raw,
//!   JSON-escaped (`\/`, `\u0041`, `\"`), percent-encoded (`%2F`, `%2f`, double `%252F`,
//!   `+` for a space), and any **prefix** of it of at least [`MIN_PREFIX`] characters (a
//!   body cut short in the middle of the secret). The error paths of the SCIM client, the
//!   journal writer, the log writer and the terminal output ([`crate::sanitize`]) all
//!   call it; callers scrub a whole text *before* they cut it to a snippet.

use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// A secret string. It has no `Display`, and its `Debug` is redacted, so it cannot end up
/// in a log line, an error message or a panic by accident. Use [`Token::expose`] only
/// where the raw value must leave the process (the `Authorization` header).
///
/// Making one registers its value (trimmed) with the process-wide registry that
/// [`scrub`] uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Token(value)
    }

    /// The raw value. Call sites are few and deliberate: grep for `expose(`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Secrets shorter than this (characters, after trimming) are not registered: too short
/// to search for without destroying ordinary words (and no real token is that short).
pub const MIN_SECRET: usize = 4;
/// A run of at least this many characters that equals the start of a registered secret
/// of at least [`MIN_PREFIX_SECRET`] characters is scrubbed too (a body cut in the
/// middle of the secret). Shorter secrets (a demo token such as `navscim-demo`, whose
/// start is an ordinary word) are only scrubbed whole.
pub const MIN_PREFIX: usize = 8;
/// See [`MIN_PREFIX`].
pub const MIN_PREFIX_SECRET: usize = 16;
/// The registry keeps at most this many secrets (the oldest go first).
const MAX_SECRETS: usize = 256;
/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "***";

static REGISTRY: Mutex<Vec<Vec<char>>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<Vec<char>>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a secret navscim holds, so that [`scrub`] removes it from every text.
/// Whitespace around it is ignored; a secret shorter than [`MIN_SECRET`] characters is
/// ignored. A secret that is the start of one already registered adds nothing (the
/// prefix rule covers it), so a token typed key by key stays one entry.
pub fn register(secret: &str) {
    let secret: Vec<char> = secret.trim().chars().collect();
    if secret.len() < MIN_SECRET {
        return;
    }
    let mut reg = registry();
    if reg.iter().any(|s| s.starts_with(&secret)) {
        return;
    }
    reg.retain(|s| !secret.starts_with(s));
    if reg.len() >= MAX_SECRETS {
        reg.remove(0);
    }
    reg.push(secret);
}

/// `text` with every registered secret (see the module docs for the forms) replaced
/// by `***`. Scrub a whole text before cutting it.
pub fn scrub(text: &str) -> String {
    let secrets = registry().clone();
    scrub_with(text, &secrets)
}

/// [`scrub`] with `extra` scrubbed too, whether registered or not.
pub fn scrub_also(text: &str, extra: &str) -> String {
    let mut secrets = registry().clone();
    let extra: Vec<char> = extra.trim().chars().collect();
    if extra.len() >= MIN_SECRET {
        secrets.push(extra);
    }
    scrub_with(text, &secrets)
}

fn scrub_with(text: &str, secrets: &[Vec<char>]) -> String {
    if secrets.is_empty() || text.is_empty() {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let mut best = 0;
        for s in secrets {
            let (matched, consumed) = match_at(&chars[i..], s);
            let enough =
                matched == s.len() || (matched >= MIN_PREFIX && s.len() >= MIN_PREFIX_SECRET);
            if enough && consumed > best {
                best = consumed;
            }
        }
        if best > 0 {
            out.push_str(REDACTED);
            i += best;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// How many characters of `secret` the text starting at `text[0]` spells (in any of the
/// encodings), and how many text characters that took.
fn match_at(text: &[char], secret: &[char]) -> (usize, usize) {
    let mut t = 0;
    let mut matched = 0;
    for &want in secret {
        match one(&text[t..], want) {
            Some(n) => {
                t += n;
                matched += 1;
            }
            None => break,
        }
    }
    (matched, t)
}

/// Text characters spelling `want` at the start of `text`: the character itself, a
/// backslash escape (`\/`), a JSON `\uXXXX` escape, a percent escape (`%2F`, `%2f`, or
/// double-encoded `%252F`), `+` for a space, or an HTML numeric reference (`&#47;`,
/// `&#x2F;`).
fn one(text: &[char], want: char) -> Option<usize> {
    let first = *text.first()?;
    if first == want {
        return Some(1);
    }
    if want == ' ' && first == '+' {
        return Some(1);
    }
    let code = want as u32;
    let hex_at = |from: usize, digits: usize| -> Option<u32> {
        let s: String = text.get(from..from + digits)?.iter().collect();
        if s.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&s, 16).ok()
        } else {
            None
        }
    };
    match first {
        '\\' => {
            if text.get(1) == Some(&want) {
                return Some(2);
            }
            if text.get(1) == Some(&'u') && hex_at(2, 4) == Some(code) {
                return Some(6);
            }
            None
        }
        '%' => {
            if code < 0x80 && hex_at(1, 2) == Some(code) {
                return Some(3);
            }
            // %25XX: percent-encoded twice.
            if code < 0x80 && hex_at(1, 2) == Some(0x25) && hex_at(3, 2) == Some(code) {
                return Some(5);
            }
            None
        }
        '&' if text.get(1) == Some(&'#') => {
            let (from, radix) = match text.get(2) {
                Some('x') | Some('X') => (3, 16),
                _ => (2, 10),
            };
            let digits: String = text[from..]
                .iter()
                .take_while(|c| c.is_digit(radix))
                .collect();
            let end = from + digits.len();
            (text.get(end) == Some(&';') && u32::from_str_radix(&digits, radix).ok() == Some(code))
                .then_some(end + 1)
        }
        _ => None,
    }
}

/// A log writer that scrubs every line (see [`scrub`]) before it reaches `W`: used for
/// navscim's log file, so no secret reaches it whatever a log line quotes.
#[derive(Debug, Clone)]
pub struct ScrubbingMakeWriter<M>(pub M);

/// The writer of [`ScrubbingMakeWriter`].
#[derive(Debug)]
pub struct ScrubbingWriter<W>(W);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for ScrubbingMakeWriter<M>
{
    type Writer = ScrubbingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbingWriter(self.0.make_writer())
    }
}

impl<W: std::io::Write> std::io::Write for ScrubbingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The fmt layer writes each event with one call: the whole line is scrubbed.
        let text = scrub(&String::from_utf8_lossy(buf));
        self.0.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("s3cr3t-value");
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert!(!format!("{:?}", Some(t)).contains("s3cr3t"));
    }

    fn s(x: &str) -> Vec<char> {
        x.chars().collect()
    }

    #[test]
    fn every_form_is_scrubbed() {
        let secret = [s("ab/cd+ef gh=ij-0123")];
        for (text, want) in [
            ("x ab/cd+ef gh=ij-0123 y", "x *** y"),
            (r#"{"h":"ab\/cd+ef gh=ij-0123"}"#, r#"{"h":"***"}"#),
            (r#"ab\u002fcd\u002Bef gh\u003dij-0123!"#, "***!"),
            ("q=ab%2Fcd%2Bef%20gh%3Dij-0123&", "q=***&"),
            ("q=ab%2fcd%2bef+gh%3dij-0123", "q=***"),
            ("q=ab%252Fcd%252Bef%2520gh%253Dij-0123", "q=***"),
            ("ab&#47;cd&#x2B;ef gh=ij-0123", "***"),
            // A prefix cut short (a snippet, a header cut by a proxy).
            ("Bearer ab/cd+ef…", "Bearer ***…"),
            ("Bearer ab%2Fcd%2Bef%20", "Bearer ***"),
            // Too short a prefix to be the secret.
            ("ab/cd+e", "ab/cd+e"),
        ] {
            assert_eq!(scrub_with(text, &secret), want, "{text}");
        }
    }

    #[test]
    fn registry_scrubs_tokens_and_keeps_one_entry_per_typed_token() {
        let _ = Token::new("reg-Secret-Value-42");
        assert_eq!(scrub("a reg-Secret-Value-42 b"), "a *** b");
        for n in MIN_SECRET..=10 {
            register(&"typed-secret-xyz"[..n]);
        }
        register("typed-secret-xyz");
        let reg = registry();
        assert_eq!(reg.iter().filter(|x| x.starts_with(&s("typed"))).count(), 1);
        drop(reg);
        assert_eq!(scrub("typed-secret-xyz"), "***");
        // Short secrets are not registered.
        register("ab");
        assert_eq!(scrub("ab"), "ab");
        assert_eq!(scrub_also("zz hidden-one zz", "hidden-one"), "zz *** zz");
    }

    #[test]
    fn the_log_writer_scrubs() {
        use std::io::Write;
        let _ = Token::new("log-secret-777");
        let mut w = ScrubbingWriter(Vec::new());
        w.write_all(b"request failed: Bearer log-secret-777\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(w.0).unwrap(),
            "request failed: Bearer ***\n"
        );
    }
}
