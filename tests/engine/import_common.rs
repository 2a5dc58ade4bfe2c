// Shared helpers are inlined per test file; this file checks the fixture set itself.
use std::path::Path;

#[test]
fn every_quirk_fixture_is_present() {
    for name in [
        "entra_users.csv",
        "entra_portal.csv",
        "okta_export.csv",
        "generic.csv",
        "usage_semicolon_bom_crlf.csv",
        "users_tab.tsv",
        "users_quoted.csv",
        "bad_rows.csv",
        "usage_ambiguous_dates.csv",
        "usage_dmy_dates.csv",
        "usage_conflicting_dates.csv",
        "unrecognised.csv",
        "ambiguous_columns.csv",
        "duplicates.csv",
        "cp1252_sep.csv",
    ] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/import")
            .join(name);
        assert!(p.is_file(), "{} missing", p.display());
    }
}
