use navscim::import::{demo, import_str, Encoding, Format, ImportOptions};

#[test]
fn demo_quick_look() {
    for (name, text) in demo::files() {
        let imp = import_str(name, text, &ImportOptions::default()).unwrap();
        println!("{name}: {:?} {} rows={} data={} errors={:?} warnings={:?} dups={:?} period={:?} order={:?} enc={:?}",
            imp.detection.format, imp.detection.reason, imp.rows_read, imp.data.len(), imp.errors, imp.warnings, imp.duplicates, imp.report_period, imp.date_order, imp.encoding);
    }
    let _ = (Format::Okta, Encoding::Utf8);
}
