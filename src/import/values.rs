//! Small value parsers shared by the importers (and by matching: [`normalize_email`]).

/// The form in which emails are compared everywhere: trimmed and lowercased
/// (Unicode-aware, so `Zoë@X.example` and `zoë@x.example` are the same).
pub fn normalize_email(s: &str) -> String {
    super::invisible::strip(s).trim().to_lowercase()
}

/// A pragmatic email check, for catching broken cells rather than enforcing RFC 5322:
/// exactly one `@`, a non-empty local part without spaces, a domain with at least one
/// dot and no empty labels. Non-ASCII (`zoë@…`, `josé@…`), `+` tags and apostrophes
/// are accepted.
pub fn is_valid_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return false;
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
    {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
}

/// Header normalisation: lowercase, keep only letters and digits (spaces, underscores,
/// hyphens and punctuation removed). `Invited Email-Address` → `invitedemailaddress`.
/// "licence" is spelled "license" so both spellings match one alias.
pub fn normalize_header(s: &str) -> String {
    let s: String = s
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    s.replace("licence", "license")
}

/// A cell that is not the number it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadNumber;

/// Cells that mean "no value" in exports: blank, `-`, `n/a`, `null`, `none`…
pub fn is_blank(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || (t.len() <= 7
            && ["-", "--", "n/a", "na", "null", "none", "(blank)", "#n/a"]
                .iter()
                .any(|b| t.eq_ignore_ascii_case(b)))
}

/// A whole, non-negative number as exports write it: `1234`, `1,234`, `1.234`
/// (European thousands), `1 234`, `1'234`, `12.0`, `12,0`. Blank → `Ok(None)`.
pub fn parse_count(s: &str) -> Result<Option<u32>, BadNumber> {
    if is_blank(s) {
        return Ok(None);
    }
    let trimmed = s.trim();
    if trimmed.len() <= 9 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed.parse::<u32>().map(Some).map_err(|_| BadNumber);
    }
    let t: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '_'))
        .collect();
    let digits_only = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit());
    let grouped = |x: &str, sep: char| {
        let mut parts = x.split(sep);
        let first = parts.next().unwrap_or("");
        (1..=3).contains(&first.len())
            && digits_only(first)
            && parts.clone().count() >= 1
            && parts.all(|p| p.len() == 3 && digits_only(p))
    };
    let plain = if digits_only(&t) {
        t
    } else if grouped(&t, ',') || grouped(&t, '.') {
        t.replace([',', '.'], "")
    } else if let Some((int, frac)) = t.split_once(['.', ',']) {
        // `12.0` from a spreadsheet number format.
        if digits_only(int) && !frac.is_empty() && frac.chars().all(|c| c == '0') {
            int.to_string()
        } else {
            return Err(BadNumber);
        }
    } else {
        return Err(BadNumber);
    };
    plain.parse::<u32>().map(Some).map_err(|_| BadNumber)
}

/// A decimal number: `72.5`, `72,5` (decimal comma), `1,234.5`, `1.234,5`, `45%`.
/// Blank → `Ok(None)`.
pub fn parse_decimal(s: &str) -> Result<Option<f64>, BadNumber> {
    if is_blank(s) {
        return Ok(None);
    }
    let t: String = s
        .trim()
        .trim_end_matches('%')
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '_'))
        .collect();
    let last_dot = t.rfind('.');
    let last_comma = t.rfind(',');
    let cleaned = match (last_dot, last_comma) {
        (Some(d), Some(c)) if d > c => t.replace(',', ""),
        (Some(_), Some(_)) => t.replace('.', "").replace(',', "."),
        (None, Some(_)) => {
            let after = t.rsplit(',').next().unwrap_or("");
            if t.matches(',').count() == 1 && after.len() != 3 {
                t.replace(',', ".")
            } else {
                t.replace(',', "")
            }
        }
        _ => t,
    };
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
    {
        return Err(BadNumber);
    }
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(BadNumber),
    }
}

/// Yes/no as exports write it. Returns `None` for anything else.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "enabled" | "active" | "on" => Some(true),
        "false" | "no" | "n" | "0" | "disabled" | "inactive" | "off" => Some(false),
        _ => None,
    }
}

/// A status cell from an identity provider → enabled?
///
/// Okta: `ACTIVE`, `PROVISIONED`, `STAGED`, `RECOVERY`, `PASSWORD_EXPIRED`,
/// `LOCKED_OUT` → enabled; `SUSPENDED`, `DEPROVISIONED` → disabled. Entra:
/// `accountEnabled` true/false, portal `Yes`/`No`. Anything else → `None`.
pub fn parse_enabled(s: &str) -> Option<bool> {
    if s.trim().eq_ignore_ascii_case("active") {
        return Some(true);
    }
    if let Some(b) = parse_bool(s) {
        return Some(b);
    }
    match normalize_header(s).as_str() {
        "provisioned" | "staged" | "recovery" | "passwordexpired" | "lockedout" | "assigned"
        | "pendingactivation" => Some(true),
        "suspended" | "deprovisioned" | "deactivated" | "blocked" | "unassigned" => Some(false),
        _ => None,
    }
}

/// Split a `groups` cell: `;`, `|` or newlines separate groups; commas separate them
/// only when none of those is present.
pub fn split_groups(s: &str) -> Vec<String> {
    let seps: &[char] = if s.contains([';', '|', '\n']) {
        &[';', '|', '\n']
    } else {
        &[',']
    };
    s.split(seps)
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count("1,234"), Ok(Some(1234)));
        assert_eq!(parse_count("1.234"), Ok(Some(1234)));
        assert_eq!(parse_count("1 234 567"), Ok(Some(1_234_567)));
        assert_eq!(parse_count("12.0"), Ok(Some(12)));
        assert_eq!(parse_count(" 7 "), Ok(Some(7)));
        assert_eq!(parse_count(""), Ok(None));
        assert_eq!(parse_count("-"), Ok(None));
        assert_eq!(parse_count("12.5"), Err(BadNumber));
        assert_eq!(parse_count("1,23"), Err(BadNumber));
        assert_eq!(parse_count("abc"), Err(BadNumber));
        assert_eq!(parse_count("-3"), Err(BadNumber));
        assert_eq!(parse_count("99999999999"), Err(BadNumber));
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("72.5"), Ok(Some(72.5)));
        assert_eq!(parse_decimal("72,5"), Ok(Some(72.5)));
        assert_eq!(parse_decimal("1,234.5"), Ok(Some(1234.5)));
        assert_eq!(parse_decimal("1.234,5"), Ok(Some(1234.5)));
        assert_eq!(parse_decimal("45%"), Ok(Some(45.0)));
        assert_eq!(parse_decimal("NaN"), Err(BadNumber));
        assert_eq!(parse_decimal("inf"), Err(BadNumber));
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("zoë.martin@northwind.example"));
        assert!(is_valid_email("o'brien+sales@x.example"));
        assert!(!is_valid_email("bob@"));
        assert!(!is_valid_email("bob"));
        assert!(!is_valid_email("a@b@c.example"));
        assert!(!is_valid_email("a b@c.example"));
        assert!(!is_valid_email("a@localhost"));
        assert_eq!(normalize_email("  Zoë@X.Example "), "zoë@x.example");
    }

    #[test]
    fn headers() {
        assert_eq!(
            normalize_header("Invited Email-Address"),
            "invitedemailaddress"
        );
        assert_eq!(
            normalize_header("\u{feff}sales_licence_type"),
            "saleslicensetype"
        );
    }
}
