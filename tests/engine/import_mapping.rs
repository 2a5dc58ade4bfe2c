//! "Needs mapping" results, the --map override, and date-order resolution.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use navscim::import::{
    import_bytes, import_path, parse_map_override, DateOrder, Field, Format, ImportError,
    ImportOptions, ProblemKind,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(name)
}

fn with_map(s: &str) -> ImportOptions {
    ImportOptions {
        mapping: Some(parse_map_override(s).unwrap()),
        ..Default::default()
    }
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

#[test]
fn unrecognised_file_needs_mapping_then_override_loads_it() {
    let e = import_path(&fixture("unrecognised.csv"), &ImportOptions::default()).unwrap_err();
    let ImportError::NeedsMapping(nm) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(nm.file, "unrecognised.csv");
    assert_eq!(nm.format, Format::Unknown);
    assert_eq!(nm.headers, vec!["Col A", "Col B", "Col C"]);
    assert!(nm.proposed.is_empty());
    assert_eq!(nm.problems.len(), 1);
    assert_eq!(nm.problems[0].kind, ProblemKind::Missing);
    assert_eq!(
        nm.problems[0].fields,
        vec![
            Field::Email,
            Field::UserName,
            Field::ExternalId,
            Field::EmployeeId
        ]
    );
    assert_eq!(nm.problems[0].candidates, vec![0, 1, 2]);
    assert_eq!(
        e.to_string(),
        "unrecognised.csv: cannot map the columns automatically; no column for email or \
         user_name or external_id or employee_id (candidates: \"Col A\", \"Col B\", \"Col C\"); \
         choose with --map, e.g. --map email=\"Work Email\""
    );

    let imp = import_path(
        &fixture("unrecognised.csv"),
        &with_map("email=\"Col B\",employee_id=#3,display_name=Col A"),
    )
    .unwrap();
    let u = imp.idp_users();
    assert_eq!(u.len(), 2);
    assert_eq!(u[0].email.as_deref(), Some("jane.doe@northwind.example"));
    assert_eq!(u[0].employee_id.as_deref(), Some("E100601"));
    assert_eq!(u[0].display_name.as_deref(), Some("Jane Doe"));
    assert_eq!(
        imp.mapping.to_override_string(&imp.headers),
        "email=\"Col B\",employee_id=\"Col C\",display_name=\"Col A\""
    );
}

#[test]
fn two_equally_plausible_columns_need_mapping() {
    let e = import_path(&fixture("ambiguous_columns.csv"), &ImportOptions::default()).unwrap_err();
    let ImportError::NeedsMapping(nm) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(nm.format, Format::GenericIdp);
    assert_eq!(nm.problems.len(), 1);
    assert_eq!(nm.problems[0].kind, ProblemKind::Ambiguous);
    assert_eq!(nm.problems[0].fields, vec![Field::Email]);
    assert_eq!(nm.problems[0].candidates, vec![1, 2]);
    assert_eq!(
        nm.proposed.get(Field::EmployeeId),
        Some(3),
        "decided fields are proposed"
    );
    assert!(
        e.to_string()
            .contains("email could be any of \"Email 1\", \"Email 2\""),
        "{e}"
    );

    let imp = import_path(
        &fixture("ambiguous_columns.csv"),
        &with_map("email=Email 1"),
    )
    .unwrap();
    assert_eq!(
        imp.idp_users()[0].email.as_deref(),
        Some("jane.doe@northwind.example")
    );
    assert_eq!(imp.mapping.get(Field::Email), Some(1));
}

#[test]
fn override_errors_are_clear() {
    let e = import_path(&fixture("generic.csv"), &with_map("email=\"Mail\"")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "generic.csv: --map email=\"Mail\": no such column (columns: \"Full Name\", \"Work Email\", \"Employee ID\", \"Team\")"
    );
    let e = import_path(&fixture("generic.csv"), &with_map("email=#9")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "generic.csv: --map email=#9: the file has only 4 columns"
    );
    // Header match is exact first, then normalised.
    let imp = import_path(
        &fixture("generic.csv"),
        &with_map("external_id=employee_id"),
    )
    .unwrap();
    assert_eq!(imp.mapping.get(Field::ExternalId), Some(2));
    assert_eq!(
        imp.mapping.get(Field::EmployeeId),
        None,
        "the column went to external_id"
    );
    // `-` ignores a field that would otherwise be mapped.
    let imp = import_path(&fixture("generic.csv"), &with_map("display_name=-")).unwrap();
    assert_eq!(imp.mapping.get(Field::DisplayName), None);
    assert_eq!(imp.idp_users()[0].display_name, None);
}

#[test]
fn ambiguous_slash_dates_need_an_order() {
    let e = import_path(
        &fixture("usage_ambiguous_dates.csv"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    let ImportError::NeedsDateOrder(nd) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(nd.columns, vec!["Last Active Date"]);
    assert_eq!(
        nd.samples,
        vec![(2, "03/04/2025".to_string()), (3, "05/06/2025".to_string())]
    );
    assert!(!nd.conflicting);
    assert_eq!(
        e.to_string(),
        "usage_ambiguous_dates.csv: cannot tell whether dates in column \"Last Active Date\" are \
         DD/MM/YYYY or MM/DD/YYYY (line 2: \"03/04/2025\", line 3: \"05/06/2025\"); choose with \
         --date-order dmy|mdy"
    );
    for (order, first) in [
        (DateOrder::DayFirst, date(2025, 4, 3)),
        (DateOrder::MonthFirst, date(2025, 3, 4)),
    ] {
        let opts = ImportOptions {
            date_order: Some(order),
            ..Default::default()
        };
        let imp = import_path(&fixture("usage_ambiguous_dates.csv"), &opts).unwrap();
        assert_eq!(imp.date_order, Some(order));
        let r = imp.usage_rows();
        assert_eq!(r[0].last_active, first);
        assert_eq!(r[2].last_active, date(2025, 7, 7));
        assert_eq!(r[3].last_active, None);
        assert!(r[3].never_active());
    }
    assert_eq!(DateOrder::from_name("dmy"), Some(DateOrder::DayFirst));
    assert_eq!(
        DateOrder::from_name("MM/DD/YYYY"),
        Some(DateOrder::MonthFirst)
    );
}

#[test]
fn slash_dates_resolved_from_the_whole_column() {
    let imp = import_path(&fixture("usage_dmy_dates.csv"), &ImportOptions::default()).unwrap();
    assert_eq!(
        imp.date_order,
        Some(DateOrder::DayFirst),
        "decided by 25/04/2025 on line 5"
    );
    let r = imp.usage_rows();
    assert_eq!(
        r[0].last_active,
        date(2025, 4, 3),
        "03/04 read as 3 April because of line 5"
    );
    assert_eq!(r[0].days_since_active, Some(57));
    assert_eq!(r[0].searches, Some(1024));
    assert_eq!(r[0].ssi, Some(61.5));
    assert_eq!(r[1].last_active, date(2025, 6, 5));
    assert_eq!(r[2].last_active, date(2025, 5, 30), "ISO mixed in");
    assert_eq!(r[3].last_active, date(2025, 4, 25));

    // Month first when the evidence says so.
    let text = "Name,Email,Last active,Days active\nA,a@x.example,03/04/2025,1\nB,b@x.example,04/25/2025,2\n";
    let imp = import_bytes("us.csv", text.as_bytes(), &ImportOptions::default()).unwrap();
    assert_eq!(imp.date_order, Some(DateOrder::MonthFirst));
    assert_eq!(imp.usage_rows()[0].last_active, date(2025, 3, 4));
}

#[test]
fn mixed_date_orders_are_a_conflict() {
    let e = import_path(
        &fixture("usage_conflicting_dates.csv"),
        &ImportOptions::default(),
    )
    .unwrap_err();
    let ImportError::NeedsDateOrder(nd) = &e else {
        panic!("{e:?}")
    };
    assert!(nd.conflicting);
    assert_eq!(
        nd.samples,
        vec![(2, "25/04/2025".to_string()), (3, "04/25/2025".to_string())]
    );
    // With an explicit order, the row that does not fit is a row error.
    let opts = ImportOptions {
        date_order: Some(DateOrder::DayFirst),
        ..Default::default()
    };
    let imp = import_path(&fixture("usage_conflicting_dates.csv"), &opts).unwrap();
    assert_eq!(imp.usage_rows().len(), 1);
    assert_eq!(
        imp.errors.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        vec!["usage_conflicting_dates.csv:3: column \"Last Active Date\": \"04/25/2025\" is not a date in DD/MM/YYYY order"]
    );
}

#[test]
fn report_period_from_preamble_line() {
    let text = "Sales Navigator usage\nStart date: 01/03/2025\nEnd date: 31/05/2025\n\nName,Email,Last active,Searches\nA,a@x.example,2025-05-01,3\n";
    let imp = import_bytes("p.csv", text.as_bytes(), &ImportOptions::default()).unwrap();
    let p = imp.report_period.unwrap();
    assert_eq!((p.start, p.end), (date(2025, 3, 1), date(2025, 5, 31)));
    assert_eq!(imp.usage_rows()[0].source.line, 6);
}

#[test]
fn ambiguous_preamble_period_is_not_guessed() {
    let text = "Report period: 01/03/2025 - 05/04/2025\nName,Email,Last active,Searches\nA,a@x.example,2025-05-01,3\n";
    let imp = import_bytes("p.csv", text.as_bytes(), &ImportOptions::default()).unwrap();
    assert_eq!(imp.report_period, None);
    assert_eq!(
        imp.warnings.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        vec!["p.csv:1: report period date \"01/03/2025\" could be DD/MM/YYYY or MM/DD/YYYY; it is ignored unless the order is given (--date-order dmy|mdy)"]
    );
    let opts = ImportOptions {
        date_order: Some(DateOrder::DayFirst),
        ..Default::default()
    };
    let imp = import_bytes("p.csv", text.as_bytes(), &opts).unwrap();
    let p = imp.report_period.unwrap();
    assert_eq!((p.start, p.end), (date(2025, 3, 1), date(2025, 4, 5)));
}
