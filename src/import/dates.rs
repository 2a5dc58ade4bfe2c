//! Dates in usage reports.
//!
//! Accepted: ISO `YYYY-MM-DD` (optionally followed by a time, `T…` or ` …`),
//! `YYYY/MM/DD`, `DD.MM.YYYY` (always day first), slash (or dash) dates `A/B/YYYY`
//! whose order is decided for the **whole file**, month names (`05-Mar-2025`,
//! `Mar 5, 2025`, `5 March 2025`), and Excel serial day numbers (`45717`). Two-digit
//! years are 20YY. `Never`, `-`, `n/a` and blanks mean "no date".
//!
//! Slash dates: any value with a first part > 12 means DD/MM, any with a second
//! part > 12 means MM/DD; if both occur, or if none decides while some values are
//! ambiguous (`03/04/2025`), the import stops with [`NeedsDateOrder`] — never a
//! silent guess. [`super::ImportOptions::date_order`] settles it.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::values::is_blank;

/// How to read `A/B/YYYY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// `DD/MM/YYYY` (most of the world).
    DayFirst,
    /// `MM/DD/YYYY` (US).
    MonthFirst,
}

impl DateOrder {
    pub fn pattern(self) -> &'static str {
        match self {
            DateOrder::DayFirst => "DD/MM/YYYY",
            DateOrder::MonthFirst => "MM/DD/YYYY",
        }
    }

    /// Parse `dmy`, `day-first`, `dd/mm/yyyy`, `mdy`, `month-first`, `mm/dd/yyyy`.
    pub fn from_name(s: &str) -> Option<DateOrder> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_', ' ', '/'], "")
            .as_str()
        {
            "dmy" | "dayfirst" | "ddmmyyyy" | "ddmmyy" | "eu" => Some(DateOrder::DayFirst),
            "mdy" | "monthfirst" | "mmddyyyy" | "mmddyy" | "us" => Some(DateOrder::MonthFirst),
            _ => None,
        }
    }
}

/// The structured "needs date order" result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsDateOrder {
    pub file: String,
    /// Date columns (headers as written) holding slash dates.
    pub columns: Vec<String>,
    /// A few ambiguous values with their physical lines, to show the admin.
    pub samples: Vec<(u64, String)>,
    /// True when the file holds both a `>12/…` and a `…/>12` value (mixed orders).
    pub conflicting: bool,
}

impl fmt::Display for NeedsDateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let samples = self
            .samples
            .iter()
            .map(|(l, v)| format!("line {l}: \"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        if self.conflicting {
            write!(
                f,
                "{}: column {} mixes DD/MM/YYYY and MM/DD/YYYY dates ({samples}); \
                 choose the order with --date-order dmy|mdy",
                self.file,
                quoted(&self.columns)
            )
        } else {
            write!(
                f,
                "{}: cannot tell whether dates in column {} are DD/MM/YYYY or MM/DD/YYYY \
                 ({samples}); choose with --date-order dmy|mdy",
                self.file,
                quoted(&self.columns)
            )
        }
    }
}

fn quoted(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a slash date says about the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashEvidence {
    /// Not a slash date (ISO, dotted, blank, …).
    NotSlash,
    DayFirst,
    MonthFirst,
    /// Both parts ≤ 12 and different: needs the order.
    Ambiguous,
    /// Both parts equal (`04/04/2025`): either order gives the same date.
    Either,
}

fn split_time(s: &str) -> &str {
    // Drop a time part: `2025-03-04T10:00:00Z`, `2025-03-04 10:00`, `3/4/2025 9:15 AM`.
    let s = s.trim();
    let cut = s
        .find(['T', ' '])
        .filter(|&i| {
            s[..i]
                .chars()
                .all(|c| c.is_ascii_digit() || "-/.".contains(c))
        })
        .filter(|&i| s[i + 1..].starts_with(|c: char| c.is_ascii_digit()));
    match cut {
        Some(i) => &s[..i],
        None => s,
    }
}

fn parts(s: &str, sep: char) -> Option<(u32, u32, u32, usize)> {
    let mut it = s.split(sep);
    let (a, b, c) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let digits = |x: &str| !x.is_empty() && x.len() <= 4 && x.chars().all(|c| c.is_ascii_digit());
    if !(digits(a) && digits(b) && digits(c)) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?, a.len()))
}

fn year(y: u32) -> i32 {
    if y < 100 {
        2000 + y as i32
    } else {
        y.min(9999) as i32
    }
}

/// `A/B/Y` or `A-B-Y` with a 2- or 4-digit year last.
fn slash_parts(s: &str) -> Option<(u32, u32, i32)> {
    let d = split_time(s);
    for sep in ['/', '-'] {
        if let Some((a, b, y, alen)) = parts(d, sep) {
            if alen <= 2 && (1..=2).contains(&b.to_string().len()) && !(100..1900).contains(&y) {
                let ylen = d.rsplit(sep).next().map_or(0, str::len);
                if ylen == 2 || ylen == 4 {
                    return Some((a, b, year(y)));
                }
            }
        }
    }
    None
}

/// Classify a cell for order resolution.
pub fn slash_evidence(s: &str) -> SlashEvidence {
    match slash_parts(s) {
        None => SlashEvidence::NotSlash,
        Some((a, b, _)) if a > 12 && b <= 12 => SlashEvidence::DayFirst,
        Some((a, b, _)) if b > 12 && a <= 12 => SlashEvidence::MonthFirst,
        Some((a, b, _)) if a == b => SlashEvidence::Either,
        Some((a, b, _)) if a <= 12 && b <= 12 => SlashEvidence::Ambiguous,
        Some(_) => SlashEvidence::NotSlash, // both > 12: invalid, reported per row
    }
}

/// Why a cell is not a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError {
    pub expected: String,
}

/// Parse a date cell. `Ok(None)` for blank / "never". Slash dates need `order`
/// unless both parts are equal or one is > 12 (then it must agree with `order`).
pub fn parse_date(s: &str, order: Option<DateOrder>) -> Result<Option<NaiveDate>, DateError> {
    let t = s.trim();
    if is_blank(t)
        || matches!(
            t.to_ascii_lowercase().as_str(),
            "never" | "not active" | "never active" | "not activated"
        )
    {
        return Ok(None);
    }
    let generic = || DateError {
        expected: "a date (YYYY-MM-DD, MM/DD/YYYY or DD/MM/YYYY)".into(),
    };
    let d = split_time(t);
    // ISO and Y/M/D.
    for sep in ['-', '/'] {
        if let Some((y, m, dd, ylen)) = parts(d, sep) {
            if ylen == 4 {
                return NaiveDate::from_ymd_opt(year(y), m, dd)
                    .map(Some)
                    .ok_or_else(generic);
            }
        }
    }
    // Dotted: always day first.
    if let Some((dd, m, y, alen)) = parts(d, '.') {
        if alen <= 2 {
            return NaiveDate::from_ymd_opt(year(y), m, dd)
                .map(Some)
                .ok_or_else(generic);
        }
    }
    if let Some((a, b, y)) = slash_parts(t) {
        let order = match (order, slash_evidence(t)) {
            (Some(o), _) => o,
            (None, SlashEvidence::DayFirst) => DateOrder::DayFirst,
            (None, SlashEvidence::MonthFirst | SlashEvidence::Either) => DateOrder::MonthFirst,
            (None, _) => {
                return Err(DateError {
                    expected: "a date in a known order (DD/MM/YYYY or MM/DD/YYYY)".into(),
                })
            }
        };
        let (m, dd) = match order {
            DateOrder::DayFirst => (b, a),
            DateOrder::MonthFirst => (a, b),
        };
        return NaiveDate::from_ymd_opt(y, m, dd)
            .map(Some)
            .ok_or_else(|| DateError {
                expected: format!("a date in {} order", order.pattern()),
            });
    }
    // Month names.
    for fmt in [
        "%d-%b-%Y",
        "%d-%b-%y",
        "%d %b %Y",
        "%d %B %Y",
        "%b %d, %Y",
        "%B %d, %Y",
        "%b %d %Y",
        "%B %d %Y",
    ] {
        if let Ok(date) = NaiveDate::parse_from_str(t, fmt) {
            return Ok(Some(date));
        }
    }
    // Excel serial day number (days since 1899-12-30), plausible range 1982–2119.
    if t.len() == 5 && t.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(n) = t.parse::<i64>() {
            if (30_000..80_000).contains(&n) {
                let base = NaiveDate::from_ymd_opt(1899, 12, 30).ok_or_else(generic)?;
                return base
                    .checked_add_days(chrono::Days::new(n as u64))
                    .map(Some)
                    .ok_or_else(generic);
            }
        }
    }
    Err(generic())
}

/// Find every date in free text (a preamble line), in order.
pub fn dates_in_text(s: &str, order: Option<DateOrder>) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let tokens: Vec<&str> = s
        .split(|c: char| {
            c.is_whitespace() || c == ',' || c == ';' || c == '"' || c == '(' || c == ')'
        })
        .filter(|t| !t.is_empty())
        .collect();
    for tok in tokens {
        let tok = tok.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if tok.len() < 6 || !tok.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(Some(d)) = parse_date(tok, order) {
            if (1990..2200).contains(&d.year()) {
                out.push(d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, dd)
    }

    #[test]
    fn formats() {
        assert_eq!(parse_date("2025-03-04", None), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date("2025-03-04T10:11:12Z", None), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date("2025-03-04 10:11", None), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date("2025/03/04", None), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date("04.03.2025", None), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date("13/03/2025", None), Ok(d(2025, 3, 13)));
        assert_eq!(parse_date("03/13/2025", None), Ok(d(2025, 3, 13)));
        assert_eq!(
            parse_date("3/4/2025 9:15 AM", Some(DateOrder::MonthFirst)),
            Ok(d(2025, 3, 4))
        );
        assert_eq!(
            parse_date("3/4/2025", Some(DateOrder::DayFirst)),
            Ok(d(2025, 4, 3))
        );
        assert_eq!(
            parse_date("3/4/25", Some(DateOrder::DayFirst)),
            Ok(d(2025, 4, 3))
        );
        assert_eq!(parse_date("05-Mar-2025", None), Ok(d(2025, 3, 5)));
        assert_eq!(parse_date("Mar 5, 2025", None), Ok(d(2025, 3, 5)));
        assert_eq!(parse_date("45721", None), Ok(d(2025, 3, 5)));
        assert_eq!(parse_date("Never", None), Ok(None));
        assert_eq!(parse_date("", None), Ok(None));
        assert!(parse_date("3/4/2025", None).is_err());
        assert!(parse_date("2025-02-30", None).is_err());
        assert!(parse_date("13/13/2025", None).is_err());
        assert!(parse_date("13/03/2025", Some(DateOrder::MonthFirst)).is_err());
        assert!(parse_date("yesterday", None).is_err());
    }

    #[test]
    fn evidence() {
        assert_eq!(slash_evidence("13/01/2025"), SlashEvidence::DayFirst);
        assert_eq!(slash_evidence("01/13/2025"), SlashEvidence::MonthFirst);
        assert_eq!(slash_evidence("01/02/2025"), SlashEvidence::Ambiguous);
        assert_eq!(slash_evidence("02/02/2025"), SlashEvidence::Either);
        assert_eq!(slash_evidence("2025-01-02"), SlashEvidence::NotSlash);
    }

    #[test]
    fn preamble_dates() {
        assert_eq!(
            dates_in_text("Report period: 2025-03-01 to 2025-05-31", None),
            vec![d(2025, 3, 1).unwrap(), d(2025, 5, 31).unwrap()]
        );
    }
}
