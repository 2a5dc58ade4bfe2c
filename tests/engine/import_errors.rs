//! Row errors (exact messages), duplicates, and garbage input never panicking.

use std::path::{Path, PathBuf};

use navscim::import::{
    demo, import_bytes, import_path, DateOrder, Format, ImportError, ImportOptions,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(name)
}

fn messages(d: &[navscim::import::Diagnostic]) -> Vec<String> {
    d.iter().map(|d| d.to_string()).collect()
}

#[test]
fn bad_rows_give_one_exact_message_each_and_good_rows_load() {
    let imp = import_path(&fixture("bad_rows.csv"), &ImportOptions::default()).unwrap();
    assert_eq!(
        messages(&imp.errors),
        vec![
            "bad_rows.csv:3: column \"Email\": \"bob@\" is not an email address",
            "bad_rows.csv:4: expected 5 fields (as in the header), found 7",
            "bad_rows.csv:5: expected 5 fields (as in the header), found 3",
            "bad_rows.csv:7: no email, user name, external id or employee id",
            "bad_rows.csv:8: column \"Email\": \"alice smith@northwind.example\" is not an email address",
        ]
    );
    let loaded: Vec<(&str, u64)> = imp
        .idp_users()
        .iter()
        .map(|u| (u.email.as_deref().unwrap(), u.source.line))
        .collect();
    assert_eq!(
        loaded,
        vec![
            ("good.one@northwind.example", 2),
            ("good.four@northwind.example", 9),
            ("good.five@northwind.example", 10),
        ]
    );
    assert_eq!(imp.rows_read, 8);
    assert_eq!(imp.idp_users()[1].enabled, None);
    assert_eq!(
        messages(&imp.warnings),
        vec!["bad_rows.csv: column \"Status\": unrecognised values, treated as unknown: \"ON_HOLD\" (1 rows)"]
    );
}

#[test]
fn usage_value_errors_name_file_line_column_and_expectation() {
    let imp = import_path(&fixture("usage_dmy_dates.csv"), &ImportOptions::default()).unwrap();
    assert_eq!(
        messages(&imp.errors),
        vec![
            "usage_dmy_dates.csv:6: column \"Last active\": \"31/02/2025\" is not a date in DD/MM/YYYY order",
            "usage_dmy_dates.csv:7: column \"Last active\": \"someday\" is not a date (YYYY-MM-DD, MM/DD/YYYY or DD/MM/YYYY)",
            "usage_dmy_dates.csv:7: column \"Searches\": \"many\" is not a whole number",
            "usage_dmy_dates.csv:7: column \"SSI\": \"high\" is not a number",
        ]
    );
    assert_eq!(imp.usage_rows().len(), 4);
}

#[test]
fn unclosed_quote_is_reported_with_the_lines_it_swallowed() {
    let text = "Email,Name,Employee ID\na@x.example,\"Ann,E1\nb@x.example,Bob,E2\n";
    let imp = import_bytes("q.csv", text.as_bytes(), &ImportOptions::default()).unwrap();
    assert_eq!(
        messages(&imp.errors),
        vec![
            "q.csv:2: expected 3 fields (as in the header), found 2 \
              (a quoted field spans lines 2–3: is a quote unclosed?)"
        ]
    );
    assert!(imp.data.is_empty());
}

#[test]
fn duplicates_are_merged_with_a_count() {
    let imp = import_path(&fixture("duplicates.csv"), &ImportOptions::default()).unwrap();
    assert!(imp.errors.is_empty());
    let u = imp.idp_users();
    assert_eq!(u.len(), 3, "{u:?}");
    assert_eq!(imp.duplicates_merged(), 2);
    assert_eq!(imp.duplicates.len(), 1);
    assert_eq!(imp.duplicates[0].kept.line, 2);
    assert_eq!(imp.duplicates[0].merged_lines, vec![3, 5]);
    assert_eq!(
        messages(&imp.warnings),
        vec!["duplicates.csv:5: duplicate of line 2 with different values in other columns; kept line 2"]
    );
    assert_eq!(
        u[2].employee_id.as_deref(),
        Some("E999999"),
        "a different id is not a duplicate"
    );
}

#[test]
fn empty_and_blank_files_are_clear_errors() {
    for (bytes, name) in [
        (&b""[..], "e.csv"),
        (b"\n\r\n  \n", "b.csv"),
        (b"\xEF\xBB\xBF", "bom.csv"),
        (b"sep=;\n", "s.csv"),
    ] {
        match import_bytes(name, bytes, &ImportOptions::default()) {
            Err(e @ ImportError::Empty { .. }) => {
                assert_eq!(
                    e.to_string(),
                    format!("{name}: the file has no header line")
                )
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // A header and nothing else is a valid, empty import.
    let imp = import_bytes("h.csv", b"Email\n", &ImportOptions::default()).unwrap();
    assert!(imp.data.is_empty());
}

#[test]
fn missing_file_is_an_io_error() {
    let e = import_path(&fixture("no_such_file.csv"), &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, ImportError::Io { .. }));
    assert!(
        e.to_string().starts_with("no_such_file.csv: cannot read: "),
        "{e}"
    );
}

/// A small deterministic generator (xorshift), so the test needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn all_option_sets() -> Vec<ImportOptions> {
    let mut v = vec![ImportOptions::default()];
    for f in [
        Format::Okta,
        Format::SalesNavUsers,
        Format::SalesNavUsage,
        Format::Unknown,
    ] {
        for d in [None, Some(DateOrder::DayFirst)] {
            v.push(ImportOptions {
                format: Some(f),
                date_order: d,
                mapping: navscim::import::parse_map_override("email=#1,name=#2,last_active=#3")
                    .ok(),
            });
        }
    }
    v
}

fn must_not_panic(name: &str, bytes: &[u8], opts: &[ImportOptions]) {
    for o in opts {
        let r = std::panic::catch_unwind(|| {
            let _ = import_bytes(name, bytes, o).map(|i| i.to_owned_strings());
        });
        assert!(
            r.is_ok(),
            "panic on {name} ({} bytes) with {o:?}: {:?}",
            bytes.len(),
            String::from_utf8_lossy(bytes)
        );
    }
}

trait Touch {
    fn to_owned_strings(&self) -> usize;
}
impl Touch for navscim::import::Import {
    fn to_owned_strings(&self) -> usize {
        // Format every message, as the UI would.
        self.errors
            .iter()
            .chain(&self.warnings)
            .map(|d| d.to_string().len())
            .sum()
    }
}

#[test]
fn garbage_bytes_never_panic() {
    let opts = all_option_sets();
    let alphabet: &[u8] = b",;\t\"\n\r\n abc@x.19/.-:Email,Name,Last Active,Searches\xEF\xBB\xBF\xFF\xFE\x00\xC3\xA9\x80";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..600 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(4) == 0 {
                    rng.next() as u8
                } else {
                    alphabet[rng.below(alphabet.len())]
                }
            })
            .collect();
        must_not_panic(
            &format!("garbage{i}.csv"),
            &bytes,
            &opts[..if i % 10 == 0 { opts.len() } else { 1 }],
        );
    }
}

#[test]
fn truncated_files_never_panic() {
    let opts = all_option_sets();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        // Every cut in the first 150 bytes, then every 11th (keeps the test fast).
        for cut in (0..=bytes.len()).filter(|c| *c < 150 || c % 11 == 0) {
            must_not_panic(&name, &bytes[..cut], &opts[..1]);
        }
        must_not_panic(&name, &bytes, &opts);
    }
    let mut rng = Rng(42);
    for (name, text) in demo::files() {
        for _ in 0..6 {
            let cut = rng.below(text.len());
            must_not_panic(name, &text.as_bytes()[..cut], &opts[..1]);
        }
    }
}
