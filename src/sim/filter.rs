//! A small RFC 7644 (section 3.4.2.2) filter parser for the simulator.
//!
//! Grammar (a modest subset):
//!
//! ```text
//! filter  := or
//! or      := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" "(" filter ")" | "(" filter ")" | attr op value?
//! op      := eq | ne | co | sw | ew | pr          (case-insensitive)
//! value   := JSON string | true | false | null | number
//! ```
//!
//! Attribute names are case-insensitive and may carry the core User schema URN
//! prefix (`urn:ietf:params:scim:schemas:core:2.0:User:userName`).
//! String values are JSON strings: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`
//! and `\uXXXX` (with surrogate pairs) are understood.

use std::fmt;

/// User attributes the simulator can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr {
    Id,
    ExternalId,
    UserName,
    EmailsValue,
    DisplayName,
    GivenName,
    FamilyName,
    Active,
}

impl Attr {
    fn parse(raw: &str) -> Option<Attr> {
        const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";
        let lower = raw.to_ascii_lowercase();
        let name = lower.strip_prefix(CORE).unwrap_or(&lower);
        Some(match name {
            "id" => Attr::Id,
            "externalid" => Attr::ExternalId,
            "username" => Attr::UserName,
            "emails.value" | "emails" => Attr::EmailsValue,
            "displayname" => Attr::DisplayName,
            "name.givenname" => Attr::GivenName,
            "name.familyname" => Attr::FamilyName,
            "active" => Attr::Active,
            _ => return None,
        })
    }

    /// RFC 7643 `caseExact`: `id` and `externalId` are compared exactly, the rest
    /// case-insensitively.
    pub fn case_exact(self) -> bool {
        matches!(self, Attr::Id | Attr::ExternalId)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Pr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp { attr: Attr, op: Op, value: Value },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

/// Why a filter was refused; becomes the `detail` of a 400 `invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            '"' => {
                chars.next();
                let mut val = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            let Some((_, e)) = chars.next() else {
                                return err("unterminated escape at end of filter");
                            };
                            match e {
                                '"' => val.push('"'),
                                '\\' => val.push('\\'),
                                '/' => val.push('/'),
                                'b' => val.push('\u{8}'),
                                'f' => val.push('\u{c}'),
                                'n' => val.push('\n'),
                                'r' => val.push('\r'),
                                't' => val.push('\t'),
                                'u' => {
                                    let hi = read_hex4(&mut chars)?;
                                    let ch = if (0xD800..0xDC00).contains(&hi) {
                                        // Surrogate pair: expect \uDC00..DFFF next.
                                        match (chars.next(), chars.next()) {
                                            (Some((_, '\\')), Some((_, 'u'))) => {}
                                            _ => return err("unpaired surrogate in \\u escape"),
                                        }
                                        let lo = read_hex4(&mut chars)?;
                                        if !(0xDC00..0xE000).contains(&lo) {
                                            return err("unpaired surrogate in \\u escape");
                                        }
                                        char::from_u32(
                                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                                        )
                                    } else {
                                        char::from_u32(hi)
                                    };
                                    match ch {
                                        Some(ch) => val.push(ch),
                                        None => return err("invalid \\u escape"),
                                    }
                                }
                                other => {
                                    return err(format!("invalid escape \\{other} in string value"))
                                }
                            }
                        }
                        c => val.push(c),
                    }
                }
                if !closed {
                    return err(format!("unterminated string starting at offset {i}"));
                }
                out.push(Tok::Str(val));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Tok::Word(word));
            }
        }
    }
    Ok(out)
}

fn read_hex4(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<u32, FilterError> {
    let mut v = 0u32;
    for _ in 0..4 {
        match chars.next().and_then(|(_, c)| c.to_digit(16)) {
            Some(d) => v = v * 16 + d,
            None => return err("invalid \\u escape (expected 4 hex digits)"),
        }
    }
    Ok(v)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn group(&mut self) -> Result<Expr, FilterError> {
        // Caller saw "(".
        self.pos += 1;
        let e = self.or()?;
        match self.toks.get(self.pos) {
            Some(Tok::RParen) => {
                self.pos += 1;
                Ok(e)
            }
            _ => err("missing closing parenthesis"),
        }
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => self.group(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                if self.toks.get(self.pos) != Some(&Tok::LParen) {
                    return err("expected '(' after not");
                }
                Ok(Expr::Not(Box::new(self.group()?)))
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                if w.contains('[') {
                    return err(format!("complex attribute filters are not supported: {w}"));
                }
                let Some(attr) = Attr::parse(&w) else {
                    return err(format!("unsupported attribute in filter: {w}"));
                };
                let op = match self.peek_word().as_deref() {
                    Some("eq") => Op::Eq,
                    Some("ne") => Op::Ne,
                    Some("co") => Op::Co,
                    Some("sw") => Op::Sw,
                    Some("ew") => Op::Ew,
                    Some("pr") => Op::Pr,
                    Some(other) => return err(format!("unsupported operator: {other}")),
                    None => return err(format!("expected an operator after {w}")),
                };
                self.pos += 1;
                if op == Op::Pr {
                    return Ok(Expr::Cmp {
                        attr,
                        op,
                        value: Value::Null,
                    });
                }
                let value = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Value::Str(s),
                    Some(Tok::Word(v)) => match v.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => match v.parse::<f64>() {
                            Ok(n) if n.is_finite() => Value::Num(n),
                            _ => {
                                return err(format!(
                                "invalid comparison value {v} (strings must be in double quotes)"
                            ))
                            }
                        },
                    },
                    _ => return err(format!("expected a value after {w}")),
                };
                self.pos += 1;
                Ok(Expr::Cmp { attr, op, value })
            }
            Some(Tok::Str(_)) => err("expected an attribute name, found a string"),
            Some(Tok::RParen) => err("unexpected ')'"),
            None => err("empty filter"),
        }
    }
}

/// Parses a filter. Does not decide whether the simulator's current mode accepts it.
pub fn parse(s: &str) -> Result<Expr, FilterError> {
    let toks = tokenize(s)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return err("unexpected text after the filter expression");
    }
    Ok(e)
}

/// Lower-cases for case-insensitive comparison (Unicode-aware).
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// Compares one string attribute value with the filter's operator.
pub fn cmp_str(attr: Attr, op: Op, have: &str, want: &str) -> bool {
    let (h, w);
    let (have, want) = if attr.case_exact() {
        (have, want)
    } else {
        h = fold(have);
        w = fold(want);
        (h.as_str(), w.as_str())
    };
    match op {
        Op::Eq => have == want,
        Op::Ne => have != want,
        Op::Co => have.contains(want),
        Op::Sw => have.starts_with(want),
        Op::Ew => have.ends_with(want),
        Op::Pr => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(attr: Attr, op: Op, s: &str) -> Expr {
        Expr::Cmp {
            attr,
            op,
            value: Value::Str(s.into()),
        }
    }

    #[test]
    fn simple_eq() {
        assert_eq!(
            parse(r#"userName eq "a@b.c""#).unwrap(),
            cmp(Attr::UserName, Op::Eq, "a@b.c")
        );
        assert_eq!(
            parse(r#"EXTERNALID EQ "x""#).unwrap(),
            cmp(Attr::ExternalId, Op::Eq, "x")
        );
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#).unwrap(),
            cmp(Attr::UserName, Op::Eq, "x")
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            parse(r#"externalId eq "a\"b\\c\u00e9\/""#).unwrap(),
            cmp(Attr::ExternalId, Op::Eq, "a\"b\\cé/")
        );
        assert_eq!(
            parse(r#"externalId eq "\ud83d\ude00""#).unwrap(),
            cmp(Attr::ExternalId, Op::Eq, "😀")
        );
        assert!(parse(r#"externalId eq "a\qb""#).is_err());
        assert!(parse(r#"externalId eq "abc"#).is_err());
        assert!(parse(r#"externalId eq "abc\"#).is_err());
    }

    #[test]
    fn boolean_logic() {
        let e = parse(r#"userName sw "a" and (active eq true or not (id pr))"#).unwrap();
        assert!(matches!(e, Expr::And(_, _)));
    }

    #[test]
    fn rejects() {
        for f in [
            "",
            "userName",
            "userName eq",
            "userName gt \"a\"",
            "title eq \"x\"",
            "emails[type eq \"work\"].value eq \"x\"",
            "userName eq bare",
            "(userName eq \"x\"",
            "userName eq \"x\" extra",
        ] {
            assert!(parse(f).is_err(), "{f}");
        }
    }

    #[test]
    fn case_rules() {
        assert!(cmp_str(Attr::UserName, Op::Eq, "ÄBC@x", "äbc@X"));
        assert!(!cmp_str(Attr::ExternalId, Op::Eq, "ABC", "abc"));
        assert!(cmp_str(Attr::DisplayName, Op::Co, "Zoë Smith", "Ë s"));
    }
}
