//! Format recognition and record contents for each quirk fixture.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use navscim::import::{
    detect, import_bytes, import_path, Encoding, Field, Format, Import, ImportOptions,
    LicenseStatus,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(name)
}

fn load(name: &str) -> Import {
    import_path(&fixture(name), &ImportOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn headers(hs: &[&str]) -> Vec<String> {
    hs.iter().map(|s| s.to_string()).collect()
}

#[test]
fn detects_each_format_from_headers() {
    let cases: &[(&[&str], Format)] = &[
        (
            &[
                "Username",
                "Email",
                "First Name",
                "Last Name",
                "Display Name",
                "Status",
                "Employee Number",
            ],
            Format::Okta,
        ),
        (&["login", "email", "firstName", "lastName"], Format::Okta),
        (
            &[
                "userPrincipalName",
                "displayName",
                "mail",
                "objectId",
                "givenName",
                "surname",
                "employeeId",
                "accountEnabled",
            ],
            Format::EntraId,
        ),
        (
            &["userPrincipalName", "displayName", "mail", "id"],
            Format::EntraId,
        ),
        (
            &["User principal name", "Display name", "Object Id", "Mail"],
            Format::EntraId,
        ),
        (&["Email"], Format::GenericIdp),
        (&["externalId", "Display Name"], Format::GenericIdp),
        (
            &["Work Email", "Full Name", "Employee ID"],
            Format::GenericIdp,
        ),
        (
            &[
                "invited_email_address",
                "preferred_first_name",
                "preferred_last_name",
                "unique_user_id",
                "seat_id",
                "sales_license_current_status",
                "teamlink_extend_license_current_status",
                "admin_permission",
                "groups",
            ],
            Format::SalesNavUsers,
        ),
        (
            &[
                "Name",
                "Email",
                "License Type",
                "Last Active Date",
                "Days Active",
                "Searches",
                "Profile Views",
                "InMails Sent",
                "Leads Saved",
                "Accounts Saved",
                "Lists Created",
                "SSI",
            ],
            Format::SalesNavUsage,
        ),
        (
            &[
                "Member name",
                "Email address",
                "Days since last active",
                "Searches performed",
            ],
            Format::SalesNavUsage,
        ),
        (&["Col A", "Col B"], Format::Unknown),
    ];
    for (hs, want) in cases {
        let d = detect(&headers(hs));
        assert_eq!(d.format, *want, "{hs:?}: {}", d.reason);
        if *want == Format::Unknown {
            assert_eq!(d.confidence, 0.0);
        } else {
            assert!(
                d.confidence > 0.3 && d.confidence <= 1.0,
                "{hs:?} {}",
                d.confidence
            );
            assert!(!d.reason.is_empty());
        }
    }
}

#[test]
fn entra_api_download() {
    let imp = load("entra_users.csv");
    assert_eq!(imp.detection.format, Format::EntraId);
    assert!(
        imp.detection.reason.contains("userPrincipalName"),
        "{}",
        imp.detection.reason
    );
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    let u = imp.idp_users();
    assert_eq!(u.len(), 4);
    assert_eq!(u[0].email.as_deref(), Some("Adele.Vance@northwind.example"));
    assert_eq!(
        u[0].user_name.as_deref(),
        Some("adele.vance@northwind.example")
    );
    assert_eq!(
        u[0].external_id.as_deref(),
        Some("0b2d5a3c-1111-4c1e-9a4e-000000000001")
    );
    assert_eq!(u[0].employee_id.as_deref(), Some("E100101"));
    assert_eq!(
        (u[0].first_name.as_deref(), u[0].last_name.as_deref()),
        (Some("Adele"), Some("Vance"))
    );
    assert_eq!(u[0].display_name.as_deref(), Some("Adele Vance"));
    assert_eq!(u[0].enabled, Some(true));
    assert_eq!(u[1].enabled, Some(false));
    assert_eq!(
        u[2].user_name.as_deref(),
        Some("partner_contoso.example#EXT#@northwind.onmicrosoft.example")
    );
    assert_eq!(u[2].employee_id, None);
    assert_eq!(
        u[3].email, None,
        "blank mail stays None; the UPN identifies the user"
    );
    assert_eq!(u[3].source.line, 5);
    assert_eq!(u[3].source.file, "entra_users.csv");
}

#[test]
fn entra_portal_spaced_headers() {
    let imp = load("entra_portal.csv");
    assert_eq!(imp.detection.format, Format::EntraId);
    let u = imp.idp_users();
    assert_eq!(u.len(), 2);
    assert_eq!(
        u[0].external_id.as_deref(),
        Some("5f2e0c1a-2222-4b7a-8c11-000000000011")
    );
    assert_eq!(
        u[0].user_name.as_deref(),
        Some("grady.archie@northwind.example")
    );
    assert_eq!(u[0].enabled, Some(true));
    assert_eq!(u[1].enabled, Some(false));
}

#[test]
fn okta_export_statuses() {
    let imp = load("okta_export.csv");
    assert_eq!(imp.detection.format, Format::Okta);
    let u = imp.idp_users();
    let enabled: Vec<_> = u.iter().map(|u| u.enabled).collect();
    assert_eq!(
        enabled,
        vec![Some(true), Some(false), Some(false), Some(true)]
    );
    assert_eq!(
        u[0].user_name.as_deref(),
        Some("megan.bowen@northwind.example")
    );
    assert_eq!(u[0].employee_id.as_deref(), Some("E100201"));
    assert!(imp.warnings.is_empty(), "{:?}", imp.warnings);
}

#[test]
fn generic_user_list() {
    let imp = load("generic.csv");
    assert_eq!(imp.detection.format, Format::GenericIdp);
    assert_eq!(imp.mapping.get(Field::Email), Some(1));
    assert_eq!(imp.mapping.get(Field::DisplayName), Some(0));
    assert_eq!(imp.mapping.get(Field::EmployeeId), Some(2));
    let u = imp.idp_users();
    assert_eq!(u.len(), 3);
    assert_eq!(u[2].employee_id, None);
    assert_eq!(u[2].enabled, None);
}

#[test]
fn semicolon_bom_crlf_usage_report() {
    let imp = load("usage_semicolon_bom_crlf.csv");
    assert_eq!(imp.detection.format, Format::SalesNavUsage);
    assert_eq!(imp.delimiter, b';');
    assert_eq!(imp.encoding, Encoding::Utf8Bom);
    assert_eq!(imp.headers[0], "Name", "BOM stripped from the first header");
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    let r = imp.usage_rows();
    assert_eq!(r.len(), 3, "blank and ';;;' rows skipped");
    assert_eq!(r[0].email.as_deref(), Some("zoë.martin@northwind.example"));
    assert_eq!(r[0].name.as_deref(), Some("Zoë Martin"));
    assert_eq!(r[0].license_type.as_deref(), Some("Advanced"));
    assert_eq!(r[0].last_active, date(2025, 5, 28));
    assert_eq!(r[0].profile_views, Some(1234));
    assert_eq!(r[0].ssi, Some(72.5));
    assert_eq!(r[0].days_active, Some(41));
    assert_eq!(r[0].searches, Some(312));
    assert_eq!(
        (
            r[0].inmails_sent,
            r[0].leads_saved,
            r[0].accounts_saved,
            r[0].lists_created
        ),
        (Some(12), Some(40), Some(9), Some(3))
    );
    assert_eq!(
        r[1].source.line, 4,
        "physical line counts the skipped ';;;' row"
    );
    assert_eq!(r[1].last_active, date(2025, 1, 2));
    assert_eq!(r[1].ssi, None);
    assert!(r[2].never_active());
    assert_eq!(r[2].source.line, 5);
    let p = imp.report_period.unwrap();
    assert_eq!((p.start, p.end), (date(2025, 3, 1), date(2025, 5, 31)));
    assert_eq!(r[0].idle_days(date(2025, 5, 31).unwrap()), Some(3));
    assert_eq!(r[2].idle_days(date(2025, 5, 31).unwrap()), None);
}

#[test]
fn tab_delimited_salesnav_export() {
    let imp = load("users_tab.tsv");
    assert_eq!(imp.detection.format, Format::SalesNavUsers);
    assert_eq!(imp.delimiter, b'\t');
    let u = imp.salesnav_users();
    assert_eq!(u.len(), 3);
    assert_eq!(u[0].unique_user_id.as_deref(), Some("E100401"));
    assert_eq!(u[0].seat_id.as_deref(), Some("S9000401"));
    assert_eq!(u[0].license_status, Some(LicenseStatus::Active));
    assert_eq!(u[0].teamlink_status, Some(LicenseStatus::Active));
    assert!(u[0].is_admin);
    assert_eq!(u[0].groups, vec!["Sales EMEA", "SDR"]);
    assert_eq!(u[1].license_status, Some(LicenseStatus::Revoked));
    assert_eq!(u[1].teamlink_status, None);
    assert!(!u[1].is_admin, "NONE is not an admin");
    assert!(u[1].groups.is_empty());
    assert_eq!(u[2].license_status, Some(LicenseStatus::Inactive));
    assert!(!u[2].is_admin, "USER is not an admin");
}

#[test]
fn quoted_commas_quotes_and_newlines_keep_physical_lines() {
    let imp = load("users_quoted.csv");
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    let u = imp.salesnav_users();
    assert_eq!(u.len(), 4);
    let lines: Vec<u64> = u.iter().map(|u| u.source.line).collect();
    assert_eq!(lines, vec![2, 3, 6, 8]);
    assert_eq!(u[0].email.as_deref(), Some("o'brien@northwind.example"));
    assert_eq!(u[0].last_name.as_deref(), Some("O'Brien, Jr."));
    assert_eq!(u[0].groups, vec!["Partners, Alliances", "Sales EMEA"]);
    assert_eq!(u[1].first_name.as_deref(), Some("Robert \"Bob\""));
    assert_eq!(u[1].unique_user_id.as_deref(), Some("CORP\\E100502"));
    assert_eq!(u[1].groups, vec!["Sales NA", "SDR", "Enterprise"]);
    assert_eq!(
        u[2].email.as_deref(),
        Some("anna.berg+salesnav@northwind.example")
    );
    assert_eq!(u[2].last_name.as_deref(), Some("Berg\n(née Lund)"));
    assert_eq!(u[2].license_status, Some(LicenseStatus::Pending));
    assert!(u[3].is_admin, "USER_ADMIN is an admin");
}

#[test]
fn windows_1252_with_excel_sep_line() {
    let imp = load("cp1252_sep.csv");
    assert_eq!(imp.encoding, Encoding::Windows1252);
    assert_eq!(imp.delimiter, b';');
    assert_eq!(imp.headers, vec!["Email", "Display Name", "Employee ID"]);
    let u = imp.idp_users();
    assert_eq!(u[0].display_name.as_deref(), Some("José Álvarez"));
    assert_eq!(
        u[1].display_name.as_deref(),
        Some("François Lefèvre – Sales")
    );
    assert_eq!(u[0].source.line, 3);
    assert_eq!(
        imp.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        vec!["cp1252_sep.csv: not valid UTF-8 (first at line 3); decoded as Windows-1252 — check accented names, or save the file as \"CSV UTF-8\""]
    );
}

#[test]
fn utf8_lf_and_crlf_and_blank_trailing_lines_are_equivalent() {
    let lf = "Email,Employee ID\n\na@x.example,1\n\n\nb@x.example,2\n\n\n";
    let crlf = lf.replace('\n', "\r\n");
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(crlf.as_bytes());
    let cr_only = lf.replace('\n', "\r");
    for bytes in [lf.as_bytes(), crlf.as_bytes(), &bom, cr_only.as_bytes()] {
        let imp = import_bytes("t.csv", bytes, &ImportOptions::default()).unwrap();
        let lines: Vec<u64> = imp.idp_users().iter().map(|u| u.source.line).collect();
        assert_eq!(lines, vec![3, 6]);
        assert!(imp.errors.is_empty());
    }
}

#[test]
fn utf16_excel_unicode_text() {
    let text = "Email\tDisplay Name\nzoë@x.example\tZoë\n";
    let mut b = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        b.extend_from_slice(&u.to_le_bytes());
    }
    let imp = import_bytes("unicode.txt", &b, &ImportOptions::default()).unwrap();
    assert_eq!(imp.encoding, Encoding::Utf16Le);
    assert_eq!(imp.idp_users()[0].display_name.as_deref(), Some("Zoë"));
}

#[test]
fn forced_format_overrides_detection() {
    let opts = ImportOptions {
        format: Some(Format::GenericIdp),
        ..Default::default()
    };
    let imp = import_path(&fixture("okta_export.csv"), &opts).unwrap();
    assert_eq!(imp.detection.format, Format::GenericIdp);
    assert_eq!(imp.detection.confidence, 1.0);
    assert_eq!(imp.idp_users().len(), 4);
    assert_eq!(Format::from_name("entra"), Some(Format::EntraId));
    assert_eq!(Format::from_name("usage"), Some(Format::SalesNavUsage));
}
