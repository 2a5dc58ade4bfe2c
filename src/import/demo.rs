//! The demo fixtures, embedded in the binary (regenerate with
//! `python3 fixtures/generate.py`; exact counts in `fixtures/demo/MANIFEST.json`).

/// Sales Navigator user export, 1,000 rows; also the simulator's seed.
pub const SALESNAV_USERS_CSV: &str = include_str!("../../fixtures/demo/salesnav_users.csv");
/// Okta app assignments, 1,010 rows.
pub const IDP_OKTA_CSV: &str = include_str!("../../fixtures/demo/idp_okta.csv");
/// Usage report, 990 rows (988 after merging 2 duplicates), Excel-style: BOM, CRLF,
/// a preamble, MM/DD/YYYY dates.
pub const USAGE_CSV: &str = include_str!("../../fixtures/demo/usage.csv");
/// Counts and emails per category, as JSON.
pub const MANIFEST_JSON: &str = include_str!("../../fixtures/demo/MANIFEST.json");

pub const SALESNAV_USERS_NAME: &str = "salesnav_users.csv";
pub const IDP_OKTA_NAME: &str = "idp_okta.csv";
pub const USAGE_NAME: &str = "usage.csv";

/// The three demo files as `(display name, text)`.
pub fn files() -> [(&'static str, &'static str); 3] {
    [
        (SALESNAV_USERS_NAME, SALESNAV_USERS_CSV),
        (IDP_OKTA_NAME, IDP_OKTA_CSV),
        (USAGE_NAME, USAGE_CSV),
    ]
}
