//! Seed users for the simulator: a small, self-contained loader for the Sales
//! Navigator user export ("Download users via CSV"), and a deterministic generator
//! of synthetic users.
//!
//! Columns are looked up by name, case-insensitively (spaces and `-` count as `_`):
//!
//! | column                                   | becomes                                   |
//! |------------------------------------------|-------------------------------------------|
//! | `invited_email_address` (required)       | `userName` and the primary work email     |
//! | `preferred_first_name`                   | `name.givenName`                          |
//! | `preferred_last_name`                    | `name.familyName`                         |
//! | `unique_user_id` (may be empty)          | `externalId`                              |
//! | `seat_id`                                | extension `seatId`                        |
//! | `sales_license_current_status`           | `active` + extension `licenseStatus`      |
//! | `teamlink_extend_license_current_status` | extension `teamlinkExtendLicenseStatus`   |
//! | `admin_permission`                       | extension `adminPermission`               |
//! | `groups`                                 | extension `groups`                        |
//!
//! `displayName` is "first last". `sales_license_current_status` is read in any case:
//! `ACTIVE` and `PENDING` (and an empty cell) make an active user holding a licence;
//! anything else (`INACTIVE`, `REVOKED`, …) an inactive user without one.
//!
//! Files straight from Excel work: a UTF-8 BOM, CRLF line ends, `;` or tab as the
//! delimiter (sniffed from the header line), quoted fields with delimiters, quotes and
//! newlines. Errors name the line and the column.

use std::fmt;

/// One user as read from a seed file or generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub external_id: Option<String>,
    pub seat_id: Option<String>,
    /// Upper-cased `sales_license_current_status`; `ACTIVE` if the cell was empty.
    pub license_status: String,
    pub teamlink_status: Option<String>,
    pub admin_permission: Option<String>,
    pub groups: Option<String>,
}

impl SeedUser {
    /// `ACTIVE` and `PENDING` users are active; everything else is inactive.
    pub fn active(&self) -> bool {
        matches!(self.license_status.as_str(), "ACTIVE" | "PENDING")
    }
}

/// A seed file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    /// 1-based line in the file.
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed CSV line {}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SeedError {}

fn norm_header(h: &str) -> String {
    h.trim()
        .trim_matches('"')
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Picks `,`, `;` or tab: whichever occurs most often outside quotes in the header.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for c in text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => break,
            ',' if !in_quotes => counts[0] += 1,
            ';' if !in_quotes => counts[1] += 1,
            '\t' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    if counts[1] > counts[0] && counts[1] >= counts[2] {
        b';'
    } else if counts[2] > counts[0] && counts[2] > counts[1] {
        b'\t'
    } else {
        b','
    }
}

/// Parses the text of a Sales Navigator user export.
pub fn parse_seed(text: &str) -> Result<Vec<SeedUser>, SeedError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(SeedError {
            line: 1,
            column: None,
            message: "the file is empty (expected a header line with invited_email_address)".into(),
        });
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(csv_error(e, text, 1)),
        None => unreachable!("non-empty text has a first record"),
    };
    let names: Vec<String> = header.iter().map(norm_header).collect();
    let col = |n: &str| names.iter().position(|h| h == n);
    let Some(email_col) = col("invited_email_address") else {
        return Err(SeedError {
            line: 1,
            column: Some("invited_email_address".into()),
            message: format!(
                "required column is missing (found: {})",
                header.iter().collect::<Vec<_>>().join(", ")
            ),
        });
    };
    let first_col = col("preferred_first_name");
    let last_col = col("preferred_last_name");
    let ext_col = col("unique_user_id");
    let seat_col = col("seat_id");
    let status_col = col("sales_license_current_status");
    let teamlink_col = col("teamlink_extend_license_current_status");
    let admin_col = col("admin_permission");
    let groups_col = col("groups");

    let mut users = Vec::new();
    let mut last_line = 1;
    // Offsets of every '\n', found once: looking lines up per record stays linear.
    let newlines: Vec<usize> = newline_offsets(text);
    for rec in records {
        let rec = rec.map_err(|e| csv_error(e, text, last_line + 1))?;
        let line = rec
            .position()
            .map(|p| line_in(text, &newlines, p.byte()))
            .unwrap_or(last_line + 1);
        last_line = line;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue; // blank line, e.g. Excel's trailing ";;;;"
        }
        if rec.len() > names.len() {
            return Err(SeedError {
                line,
                column: None,
                message: format!(
                    "{} fields, but the header has {} columns",
                    rec.len(),
                    names.len()
                ),
            });
        }
        let get = |c: Option<usize>| -> Option<String> {
            c.and_then(|c| rec.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let email = get(Some(email_col)).unwrap_or_default();
        if email.is_empty() {
            return Err(SeedError {
                line,
                column: Some(header[email_col].trim().to_string()),
                message: "empty email address".into(),
            });
        }
        if !looks_like_email(&email) {
            return Err(SeedError {
                line,
                column: Some(header[email_col].trim().to_string()),
                message: format!("not an email address: {email:?}"),
            });
        }
        users.push(SeedUser {
            email,
            first_name: get(first_col).unwrap_or_default(),
            last_name: get(last_col).unwrap_or_default(),
            external_id: get(ext_col),
            seat_id: get(seat_col),
            license_status: get(status_col)
                .map(|s| s.to_ascii_uppercase())
                .unwrap_or_else(|| "ACTIVE".into()),
            teamlink_status: get(teamlink_col),
            admin_permission: get(admin_col),
            groups: get(groups_col),
        });
    }
    Ok(users)
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// 1-based line of a byte offset (the csv crate miscounts lines with CRLF).
fn line_at(text: &str, byte: u64) -> u64 {
    line_in(text, &newline_offsets(text), byte)
}

fn newline_offsets(text: &str) -> Vec<usize> {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect()
}

/// [`line_at`] with the newline offsets precomputed.
fn line_in(text: &str, newlines: &[usize], byte: u64) -> u64 {
    let b = text.as_bytes();
    let mut end = (byte as usize).min(b.len());
    // A record's position can point at the `\n` that ends the previous CRLF line.
    while end < b.len() && (b[end] == b'\n' || b[end] == b'\r') {
        end += 1;
    }
    // Newlines strictly before `end`.
    newlines.partition_point(|&i| i < end) as u64 + 1
}

fn csv_error(e: csv::Error, text: &str, fallback_line: u64) -> SeedError {
    let line = e
        .position()
        .map(|p| line_at(text, p.byte()))
        .unwrap_or(fallback_line);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not valid UTF-8 (save it as CSV UTF-8)".into(),
        _ => e.to_string(),
    };
    SeedError {
        line,
        column: None,
        message,
    }
}

const FIRST: &[&str] = &[
    "Anna",
    "Ben",
    "Chloé",
    "Dmitri",
    "Emeka",
    "Fatima",
    "Grace",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kai",
    "Léa",
    "Mohammed",
    "Nadia",
    "Oliver",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomasz",
    "Uma",
    "Valentina",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Mary-Jane",
    "Seán",
    "Ana María",
    "Björn",
];
const LAST: &[&str] = &[
    "Smith",
    "O'Brien",
    "García",
    "Müller",
    "Nguyen",
    "Kowalski",
    "Okafor",
    "Tanaka",
    "Ivanova",
    "Johansson",
    "Dubois",
    "Rossi",
    "Patel",
    "Kim",
    "Van der Berg",
    "Al-Sayed",
    "Łukasiewicz",
    "Fernández",
    "Chen",
    "Novák",
    "Smith-Jones",
    "MacDonald",
    "da Silva",
    "Østergaard",
    "Brown",
    "Wójcik",
    "Nakamura",
    "Haddad",
    "Schröder",
    "Lee",
];
const DOMAINS: &[&str] = &["example.com", "corp.example.com", "example.org"];

fn ascii_local(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let r = match c {
            'á' | 'à' | 'â' | 'ä' | 'å' | 'ã' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'ø' | 'Ø' | 'Ö' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ñ' => "n",
            'ç' => "c",
            'ł' | 'Ł' => "l",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(r);
    }
    out
}

/// `n` deterministic synthetic users (the same for every run): varied names (accents,
/// apostrophes, hyphens, spaces), unique lower-case emails, about one in seven
/// inactive (`REVOKED` or `INACTIVE`), one in eleven without an externalId, one in
/// five pending.
pub fn generate(n: usize) -> Vec<SeedUser> {
    (0..n)
        .map(|i| {
            let h = super::splitmix64(i as u64 ^ 0x5eed);
            let first = FIRST[(h % FIRST.len() as u64) as usize];
            let last = LAST[((h >> 16) % LAST.len() as u64) as usize];
            let domain = DOMAINS[((h >> 32) % DOMAINS.len() as u64) as usize];
            let email = format!(
                "{}.{}{}@{}",
                ascii_local(first),
                ascii_local(last),
                i + 1,
                domain
            );
            let license_status = if i % 7 == 6 {
                if i % 2 == 0 {
                    "REVOKED"
                } else {
                    "INACTIVE"
                }
            } else if i % 5 == 4 {
                "PENDING"
            } else {
                "ACTIVE"
            };
            SeedUser {
                email,
                first_name: first.into(),
                last_name: last.into(),
                external_id: (i % 11 != 10).then(|| format!("E{:06}", i + 1)),
                seat_id: Some(format!("{}", 900_000 + i)),
                license_status: license_status.into(),
                teamlink_status: Some(if i % 3 == 0 { "ACTIVE" } else { "NONE" }.into()),
                admin_permission: Some(if i % 25 == 0 { "ADMIN" } else { "NONE" }.into()),
                groups: None,
            }
        })
        .collect()
}

/// Reads seed users given as SCIM core User resources (a JSON array, or one object),
/// as the field cases' `users.json`. Read leniently (member names in any case,
/// `"active"` strings, numeric ids); the error names the user and the attribute.
pub fn parse_json_seed(text: &str) -> Result<Vec<crate::scim::ScimUser>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not a JSON array of SCIM users (line {}: {e})", e.line()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        obj @ serde_json::Value::Object(_) => vec![obj],
        _ => return Err("expected a JSON array of SCIM User objects".into()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            crate::scim::ScimUser::from_json(v).map_err(|e| format!("user #{}: {e}", i + 1))
        })
        .collect()
}

/// Whether a seed file's text is JSON (SCIM users) rather than a CSV export.
pub fn looks_like_json(text: &str) -> bool {
    matches!(
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next(),
        Some('[') | Some('{')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_flavoured() {
        let text = "\u{feff}Invited_Email_Address;PREFERRED_FIRST_NAME;preferred_last_name;unique_user_id;sales_license_current_status;groups\r\n\
                    a@x.com;Ann;\"Lee; Jr\";E1;active;\"g1\r\ng2\"\r\n\
                    b@x.com;Bob;\"Say \"\"Hi\"\"\";;Revoked;\r\n\
                    ;;;;;\r\n";
        let users = parse_seed(text).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].email, "a@x.com");
        assert_eq!(users[0].last_name, "Lee; Jr");
        assert_eq!(users[0].groups.as_deref(), Some("g1\r\ng2"));
        assert!(users[0].active());
        assert_eq!(users[1].external_id, None);
        assert_eq!(users[1].last_name, "Say \"Hi\"");
        assert!(!users[1].active());
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_seed("email,name\na@b.c,x\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().contains("invited_email_address"), "{e}");

        let e =
            parse_seed("invited_email_address,preferred_first_name\na@b.c,x\n,y\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(e.to_string().contains("invited_email_address"), "{e}");

        let e = parse_seed("invited_email_address\nnot-an-email\n").unwrap_err();
        assert_eq!(e.line, 2);

        let e = parse_seed("invited_email_address;x\r\na@b.c;\"1\r\n2\"\r\n;2\r\n").unwrap_err();
        assert_eq!(e.line, 4, "{e}");

        let e = parse_seed("invited_email_address,x\na@b.c,1,2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse_seed("").is_err());
    }

    #[test]
    fn generator_is_deterministic_and_varied() {
        let a = generate(200);
        assert_eq!(a, generate(200));
        let emails: std::collections::HashSet<_> = a.iter().map(|u| &u.email).collect();
        assert_eq!(emails.len(), 200);
        assert!(a.iter().any(|u| !u.active()));
        assert!(a.iter().any(|u| u.external_id.is_none()));
        assert!(a
            .iter()
            .any(|u| !u.first_name.is_ascii() || !u.last_name.is_ascii()));
        assert!(a.iter().all(|u| u.email.is_ascii()));
    }
}
