//! RFC 7644 filter building: `attr eq "value"` with quotes and backslashes escaped.

use super::ScimError;

/// The attributes navscim looks users up by, in the default precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterAttr {
    ExternalId,
    UserName,
    Email,
}

impl FilterAttr {
    /// The SCIM attribute path as it appears in a filter.
    pub fn scim_path(self) -> &'static str {
        match self {
            FilterAttr::ExternalId => "externalId",
            FilterAttr::UserName => "userName",
            FilterAttr::Email => "emails.value",
        }
    }
}

/// An `eq` filter on one attribute. Built only through [`Filter::eq`], which refuses
/// empty values, so an empty filter can never be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    attr: FilterAttr,
    value: String,
}

impl Filter {
    /// `attr eq "value"`. The value is kept exactly as given (no trimming, no case
    /// folding: normalisation is the matcher's job); an empty or whitespace-only value
    /// is refused with [`ScimError::EmptyFilterValue`], because some servers answer
    /// `userName eq ""` with every user that has no user name.
    pub fn eq(attr: FilterAttr, value: &str) -> Result<Filter, ScimError> {
        if value.trim().is_empty() {
            return Err(ScimError::EmptyFilterValue {
                attr: attr.scim_path(),
            });
        }
        Ok(Filter {
            attr,
            value: value.to_string(),
        })
    }

    pub fn attr(&self) -> FilterAttr {
        self.attr
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The filter expression, e.g. `userName eq "a\"b@x.com"` (not yet URL-encoded).
    ///
    /// RFC 7644 section 3.4.2.2: a comparison value is a JSON value, so a string is
    /// written with JSON string escaping: `"` and `\` are backslash-escaped and control
    /// characters become `\n`, `\t`, `\u0001`… Everything else (including non-ASCII) is
    /// sent as is.
    pub fn expression(&self) -> String {
        format!("{} eq {}", self.attr.scim_path(), json_string(&self.value))
    }
}

/// `value` as a JSON string literal, quotes included.
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(attr: FilterAttr, v: &str) -> String {
        Filter::eq(attr, v).unwrap().expression()
    }

    #[test]
    fn plain_values() {
        assert_eq!(
            expr(FilterAttr::UserName, "ada@example.com"),
            r#"userName eq "ada@example.com""#
        );
        assert_eq!(
            expr(FilterAttr::ExternalId, "00u1abc"),
            r#"externalId eq "00u1abc""#
        );
        assert_eq!(
            expr(FilterAttr::Email, "ada@example.com"),
            r#"emails.value eq "ada@example.com""#
        );
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(
            expr(FilterAttr::UserName, r#"a"b@x.com"#),
            r#"userName eq "a\"b@x.com""#
        );
        assert_eq!(
            expr(FilterAttr::ExternalId, r"DOMAIN\ada"),
            r#"externalId eq "DOMAIN\\ada""#
        );
        assert_eq!(
            expr(FilterAttr::ExternalId, r#"\""#),
            r#"externalId eq "\\\"""#
        );
        // A value that tries to break out of the string stays one string.
        let evil = r#"x" or userName pr or "a"="a"#;
        let e = expr(FilterAttr::UserName, evil);
        let literal = e.strip_prefix("userName eq ").unwrap();
        assert_eq!(serde_json::from_str::<String>(literal).unwrap(), evil);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            expr(FilterAttr::UserName, "a\nb\tc\r\u{1}\u{7f}"),
            r#"userName eq "a\nb\tc\r\u0001\u007f""#
        );
    }

    #[test]
    fn escaping_round_trips_as_json() {
        for v in [
            "plain",
            "quo\"te",
            "back\\slash",
            "ünïcødé 名前",
            "tab\there",
            "\u{0}\u{1f}",
            "ends with backslash\\",
        ] {
            let e = expr(FilterAttr::ExternalId, v);
            let literal = e.strip_prefix("externalId eq ").unwrap();
            assert_eq!(serde_json::from_str::<String>(literal).unwrap(), v);
        }
    }

    #[test]
    fn empty_and_blank_values_are_refused() {
        for v in ["", " ", "\t\n", "\u{a0}"] {
            let err = Filter::eq(FilterAttr::UserName, v).unwrap_err();
            assert!(
                matches!(err, ScimError::EmptyFilterValue { attr: "userName" }),
                "{v:?}: {err:?}"
            );
        }
        let err = Filter::eq(FilterAttr::Email, "").unwrap_err();
        assert!(matches!(
            err,
            ScimError::EmptyFilterValue {
                attr: "emails.value"
            }
        ));
    }

    #[test]
    fn value_is_kept_verbatim() {
        let f = Filter::eq(FilterAttr::UserName, " Ada@Example.com ").unwrap();
        assert_eq!(f.value(), " Ada@Example.com ");
        assert_eq!(f.attr(), FilterAttr::UserName);
    }
}
