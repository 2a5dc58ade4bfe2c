//! The bearer token, kept out of every `Debug`, `Display`, log line and panic.

use std::fmt;

/// A secret string. It has no `Display`, and its `Debug` is redacted, so it cannot end up
/// in a log line, an error message or a panic by accident. Use [`Token::expose`] only
/// where the raw value must leave the process (the `Authorization` header).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("s3cr3t-value");
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert!(!format!("{:?}", Some(t)).contains("s3cr3t"));
    }
}
