//! The embedded demo fixtures import cleanly and match fixtures/demo/MANIFEST.json.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use navscim::import::{
    demo, import_str, normalize_email, DateOrder, Encoding, Format, ImportOptions, LicenseStatus,
};

fn manifest() -> serde_json::Value {
    serde_json::from_str(demo::MANIFEST_JSON).unwrap()
}

#[test]
fn salesnav_export_matches_manifest() {
    let m = manifest();
    let imp = import_str(
        demo::SALESNAV_USERS_NAME,
        demo::SALESNAV_USERS_CSV,
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(imp.detection.format, Format::SalesNavUsers);
    assert!(imp.errors.is_empty() && imp.warnings.is_empty());
    let u = imp.salesnav_users();
    assert_eq!(u.len(), 1000);
    let mut statuses = BTreeMap::new();
    for x in u {
        *statuses
            .entry(x.license_status.as_ref().unwrap().as_str().to_string())
            .or_insert(0u64) += 1;
    }
    let want: BTreeMap<String, u64> = serde_json::from_value(m["salesnav_status"].clone()).unwrap();
    assert_eq!(statuses, want);
    assert_eq!(statuses["ACTIVE"], 876);
    let mut admins: Vec<String> = u
        .iter()
        .filter(|x| x.is_admin)
        .map(|x| x.email.clone().unwrap())
        .collect();
    admins.sort();
    let want_admins: Vec<String> = serde_json::from_value(m["admins"].clone()).unwrap();
    assert_eq!(admins, want_admins);
    assert_eq!(admins.len(), 7);
    // Five pairs of seats whose emails differ only by case.
    let mut by_email: BTreeMap<String, usize> = BTreeMap::new();
    for x in u {
        *by_email
            .entry(normalize_email(x.email.as_deref().unwrap()))
            .or_default() += 1;
    }
    assert_eq!(by_email.values().filter(|n| **n == 2).count(), 5);
    assert!(u
        .iter()
        .any(|x| x.unique_user_id.as_deref() == Some("CORP\\E100012")));
    assert!(u
        .iter()
        .any(|x| x.email.as_deref() == Some("zoë.martin@northwind.example")));
    assert!(u
        .iter()
        .any(|x| x.license_status == Some(LicenseStatus::Pending)));
}

#[test]
fn okta_file_matches_manifest() {
    let m = manifest();
    let imp = import_str(
        demo::IDP_OKTA_NAME,
        demo::IDP_OKTA_CSV,
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(imp.detection.format, Format::Okta);
    assert!(imp.errors.is_empty() && imp.warnings.is_empty());
    let u = imp.idp_users();
    assert_eq!(u.len(), 1010);
    assert_eq!(u.iter().filter(|x| x.employee_id.is_none()).count(), 5);
    assert_eq!(
        u.iter().filter(|x| x.enabled == Some(false)).count(),
        10,
        "6 SUSPENDED + 4 DEPROVISIONED"
    );
    assert!(u
        .iter()
        .any(|x| x.first_name.as_deref() == Some("Robert \"Bob\"")));
    let sn = import_str(
        demo::SALESNAV_USERS_NAME,
        demo::SALESNAV_USERS_CSV,
        &ImportOptions::default(),
    )
    .unwrap();
    let sn_emails: std::collections::HashSet<String> = sn
        .salesnav_users()
        .iter()
        .map(|x| normalize_email(x.email.as_deref().unwrap()))
        .collect();
    let idp_emails: std::collections::HashSet<String> = u
        .iter()
        .map(|x| normalize_email(x.email.as_deref().unwrap()))
        .collect();
    let mut not_found: Vec<String> = idp_emails.difference(&sn_emails).cloned().collect();
    not_found.sort();
    let want: Vec<String> = serde_json::from_value(m["not_found"].clone()).unwrap();
    assert_eq!(not_found, want);
    assert_eq!(not_found.len(), 40);
    let mut orphans: Vec<String> = sn_emails.difference(&idp_emails).cloned().collect();
    orphans.sort();
    let want: Vec<String> = serde_json::from_value(m["orphans"].clone()).unwrap();
    assert_eq!(orphans, want);
    assert_eq!(orphans.len(), 25);
}

#[test]
fn usage_report_matches_manifest() {
    let imp = import_str(demo::USAGE_NAME, demo::USAGE_CSV, &ImportOptions::default()).unwrap();
    assert_eq!(imp.detection.format, Format::SalesNavUsage);
    assert_eq!(imp.encoding, Encoding::Utf8Bom);
    assert_eq!(imp.date_order, Some(DateOrder::MonthFirst));
    assert!(imp.errors.is_empty(), "{:?}", imp.errors);
    assert_eq!(imp.rows_read, 990);
    assert_eq!(imp.duplicates_merged(), 2);
    let r = imp.usage_rows();
    assert_eq!(r.len(), 988);
    assert_eq!(
        r[0].source.line, 4,
        "two preamble lines, then the header on line 3"
    );
    assert_eq!(r.iter().filter(|x| x.never_active()).count(), 80);
    let p = imp.report_period.unwrap();
    assert_eq!(
        (p.start, p.end),
        (
            NaiveDate::from_ymd_opt(2025, 3, 1),
            NaiveDate::from_ymd_opt(2025, 5, 31)
        )
    );
    let idle: Vec<i64> = r
        .iter()
        .filter_map(|x| x.idle_days(p.end.unwrap()))
        .collect();
    assert!(idle.iter().any(|d| *d > 300) && idle.contains(&0));
    // The five case-variant seat pairs appear twice each, with a warning each.
    assert_eq!(imp.warnings.len(), 5, "{:?}", imp.warnings);
}
