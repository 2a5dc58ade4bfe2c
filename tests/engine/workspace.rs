//! The workspace engine (src/workspace): a restart keeps everything, a file loaded again
//! shows what changed, stale users are selected by age, damaged and newer databases are
//! kept aside, a second opener is refused (or gets a read-only view), the schema-v1
//! fixture opens, and a plan for another tenant is refused.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use navscim::import::{import_path, ImportOptions};
use navscim::matching::{
    Directory, DomainAliases, LookupKind, LookupOutcome, MatchStatus, OutcomeSummary, Presence,
};
use navscim::plan::{Plan, PlanTarget, ProtectedUsers};
use navscim::scim::ScimUser;
use navscim::workspace::{
    self, schema, Settings, SnapshotKind, StoredOutcome, StoredUsageReport, Workspace,
    WorkspaceError,
};

const IDP_HEADER: &str =
    "Username,Email,First Name,Last Name,Display Name,Status,Employee Number,Department\n";

fn idp_row(name: &str, emp: &str) -> String {
    format!(
        "{name}@corp.example,{name}@corp.example,{name},Smith,{name} Smith,ACTIVE,{emp},Sales\n"
    )
}

fn write_idp(path: &Path, rows: &[(&str, &str)]) {
    let mut text = IDP_HEADER.to_string();
    for (n, e) in rows {
        text.push_str(&idp_row(n, e));
    }
    std::fs::write(path, text).unwrap();
}

fn scim_user(id: &str, user_name: &str, active: bool) -> ScimUser {
    serde_json::from_value(serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": user_name,
        "active": active,
    }))
    .unwrap()
}

fn matched(id: &str, user_name: &str, active: bool) -> LookupOutcome {
    LookupOutcome {
        status: MatchStatus::Matched { active },
        matched_by: Some(LookupKind::Email),
        user: Some(scim_user(id, user_name, active)),
        candidates: vec![],
        attempts: vec![],
        error: None,
        warnings: vec![],
    }
}

fn not_found() -> LookupOutcome {
    LookupOutcome {
        status: MatchStatus::NotFound,
        matched_by: None,
        user: None,
        candidates: vec![],
        attempts: vec![],
        error: None,
        warnings: vec![],
    }
}

fn directory_of(path: &Path) -> (navscim::import::Import, Directory) {
    let import = import_path(path, &ImportOptions::default()).unwrap();
    let dir = Directory::build(std::slice::from_ref(&import), &DomainAliases::default());
    (import, dir)
}

fn plan_for(server: &str, profile: &str) -> Plan {
    let mut plan: Plan = serde_json::from_value(serde_json::json!({
        "version": 1,
        "created_at": "2026-11-01T00:00:00Z",
        "inputs": [],
        "matched_users": 3,
        "operations": [],
        "excluded": [],
    }))
    .unwrap();
    plan.target = Some(Box::new(PlanTarget {
        server: server.into(),
        profile: profile.into(),
        tenant: Some("Northwind EMEA".into()),
    }));
    plan
}

#[test]
fn a_restart_keeps_sources_outcomes_decisions_settings_and_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("okta.csv");
    write_idp(&csv, &[("ann", "E1"), ("bob", "E2"), ("cat", "E3")]);
    let db = dir.path().join("ws.sqlite");
    let (import, directory) = directory_of(&csv);
    let checked = Utc::now() - Duration::hours(3);
    let plan = plan_for("https://api.linkedin.com/scim", "default");
    let settings = Settings {
        idle_days: 60,
        grace_days: 14,
        domain_aliases: vec!["corp-example.co.uk=corp.example".into()],
        protected: ProtectedUsers::parse_list("ceo@corp.example\n"),
        stale_after_hours: 12,
        seat_cost: Some(960.0),
        tenant: Some("Northwind EMEA".into()),
    };
    {
        let mut ws = Workspace::open(&db).unwrap();
        let bytes = std::fs::read(&csv).unwrap();
        let changes = ws
            .record_source(
                "okta.csv",
                &bytes,
                &import,
                &DomainAliases::default(),
                checked,
            )
            .unwrap();
        assert_eq!(changes, None, "a first load has nothing to compare with");
        ws.replace_users(&directory).unwrap();
        ws.write_outcomes(&[
            StoredOutcome {
                key: "ann@corp.example".into(),
                checked_at: checked,
                outcome: matched("id-ann", "ann@corp.example", true),
            },
            StoredOutcome {
                key: "bob@corp.example".into(),
                checked_at: checked,
                outcome: not_found(),
            },
        ])
        .unwrap();
        ws.set_link("bob@corp.example", Some("id-bob-by-hand"))
            .unwrap();
        ws.set_ignored("cat@corp.example", Some("contractor"))
            .unwrap();
        ws.add_note("ann@corp.example", "asked to keep her seat until March")
            .unwrap();
        let gone = ws.add_note("ann@corp.example", "draft").unwrap();
        ws.delete_note(gone).unwrap();
        ws.resolve_conflict("bob@corp.example", "link", Some("id-bob-by-hand"))
            .unwrap();
        ws.set_settings(&settings).unwrap();
        ws.save_plan(Some(&plan), Some("plan.json")).unwrap();
        ws.save_usage_report(&StoredUsageReport {
            path: "usage.csv".into(),
            period: None,
            content_hash: workspace::content_hash(b"x"),
            loaded_at: checked,
            rows: vec![],
        })
        .unwrap();
        ws.record_run(SnapshotKind::Lookup, Some("https://api.linkedin.com/scim"))
            .unwrap();
    }

    // A new process (here: a new open) finds everything as it was.
    let ws = Workspace::open(&db).unwrap();
    assert_eq!(ws.read_only(), None);
    let l = ws.load().unwrap();
    assert_eq!(l.sources.len(), 1);
    assert_eq!(l.sources[0].path, "okta.csv");
    assert_eq!(l.sources[0].kind, "idp");
    assert_eq!(l.sources[0].rows_loaded, 3);
    assert_eq!(
        l.sources[0].content_hash,
        workspace::content_hash(&std::fs::read(&csv).unwrap())
    );
    assert_eq!(l.sources[0].mapping, import.mapping);
    let users: Vec<_> = l.users.iter().map(|u| u.user.clone()).collect();
    assert_eq!(
        users, directory.users,
        "users in their order, field for field"
    );
    assert!(l.users.iter().all(|u| u.presence == Presence::Unknown));
    assert_eq!(l.outcomes.len(), 2);
    let ann = &l.outcomes["ann@corp.example"];
    assert_eq!(ann.outcome, matched("id-ann", "ann@corp.example", true));
    assert_eq!(ann.scim_id(), Some("id-ann"));
    assert_eq!(ann.lookup_kind(), Some(LookupKind::Email));
    assert_eq!(
        ann.checked_at.timestamp_millis(),
        checked.timestamp_millis()
    );
    assert_eq!(l.links["bob@corp.example"], "id-bob-by-hand");
    assert_eq!(l.ignores["cat@corp.example"], "contractor");
    assert_eq!(l.notes.len(), 1);
    assert_eq!(l.notes[0].text, "asked to keep her seat until March");
    assert_eq!(l.conflicts.len(), 1);
    assert_eq!(l.conflicts[0].scim_id.as_deref(), Some("id-bob-by-hand"));
    assert_eq!(l.settings, settings);
    assert_eq!(l.plan.as_ref().unwrap().plan, plan);
    assert_eq!(
        l.plan.as_ref().unwrap().origin.as_deref(),
        Some("plan.json")
    );
    assert_eq!(l.usage_reports.len(), 1);
    assert_eq!(l.history.len(), 1);
    let snap = &l.history[0];
    assert_eq!(snap.kind, SnapshotKind::Lookup);
    assert_eq!(snap.counts.users, 3);
    assert_eq!(snap.counts.by_status["matched"], 1);
    assert_eq!(snap.counts.by_status["not_found"], 1);
    assert_eq!(snap.counts.by_status["ignored"], 1);
    assert_eq!(snap.counts.active, 1);

    // The quick start: summaries from plain columns, a full outcome read when needed.
    let quick = ws.load_summaries().unwrap();
    assert!(quick.outcomes.is_empty());
    assert_eq!(quick.users.len(), 3);
    assert_eq!(quick.users, l.users);
    let latest = |key: &str| {
        quick
            .users
            .iter()
            .find(|u| u.user.key == key)
            .and_then(|u| u.latest.clone())
    };
    let s = latest("ann@corp.example").expect("ann's summary");
    assert_eq!(*s.summary, OutcomeSummary::of(&ann.outcome));
    assert_eq!(
        (s.summary.status, s.summary.scim_id(), s.summary.matched_by),
        (
            MatchStatus::Matched { active: true },
            Some("id-ann"),
            Some(LookupKind::Email)
        )
    );
    assert_eq!(
        latest("bob@corp.example").unwrap().summary.status,
        MatchStatus::NotFound
    );
    assert_eq!(ws.outcome("ann@corp.example").unwrap().as_ref(), Some(ann));
    assert_eq!(ws.outcome("nobody@corp.example").unwrap(), None);

    // The reports the CLI plans from: outcome and ignore applied.
    let reports = l.reports();
    let status: Vec<&str> = reports.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(status, ["matched", "not_found", "ignored"]);
    assert_eq!(reports[0].scim_id.as_deref(), Some("id-ann"));
}

#[test]
fn loading_a_changed_source_shows_users_added_gone_and_changed() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("okta.csv");
    let db = dir.path().join("ws.sqlite");
    let mut ws = Workspace::open(&db).unwrap();
    let aliases = DomainAliases::default();
    let load = |ws: &mut Workspace| {
        let import = import_path(&csv, &ImportOptions::default()).unwrap();
        let bytes = std::fs::read(&csv).unwrap();
        ws.record_source("okta.csv", &bytes, &import, &aliases, Utc::now())
            .unwrap()
    };
    write_idp(&csv, &[("ann", "E1"), ("bob", "E2"), ("cat", "E3")]);
    assert_eq!(load(&mut ws), None);
    // The same content again: nothing to report.
    assert_eq!(load(&mut ws), None);
    // Bob left, Dan joined, Cat's employee number changed.
    write_idp(&csv, &[("ann", "E1"), ("cat", "E9"), ("dan", "E4")]);
    let changes = load(&mut ws).expect("the content changed");
    assert_eq!(changes.added, ["dan@corp.example"]);
    assert_eq!(changes.gone, ["bob@corp.example"]);
    assert_eq!(changes.changed.len(), 1);
    let c = &changes.changed[0];
    assert_eq!(
        (
            c.key.as_str(),
            c.field,
            c.before.as_deref(),
            c.after.as_deref()
        ),
        ("cat@corp.example", "idp_id", Some("E3"), Some("E9"))
    );
    assert!(changes.previous_load.is_some());
    assert!(
        changes
            .summary()
            .contains("1 users added, 1 gone, 1 with changed identifiers"),
        "{}",
        changes.summary()
    );
    // The comparison is with the last load, not the first.
    write_idp(&csv, &[("ann", "E1"), ("cat", "E9")]);
    let changes = load(&mut ws).unwrap();
    assert!(changes.added.is_empty());
    assert_eq!(changes.gone, ["dan@corp.example"]);
    assert!(changes.changed.is_empty());
}

#[test]
fn stale_users_are_those_checked_before_the_threshold_or_never() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("okta.csv");
    write_idp(
        &csv,
        &[("ann", "E1"), ("bob", "E2"), ("cat", "E3"), ("dan", "E4")],
    );
    let (_, directory) = directory_of(&csv);
    let mut ws = Workspace::open(&dir.path().join("ws.sqlite")).unwrap();
    ws.replace_users(&directory).unwrap();
    let now = Utc::now();
    ws.write_outcomes(&[
        StoredOutcome {
            key: "ann@corp.example".into(),
            checked_at: now - Duration::hours(30),
            outcome: matched("id-ann", "ann@corp.example", true),
        },
        StoredOutcome {
            key: "bob@corp.example".into(),
            checked_at: now - Duration::hours(2),
            outcome: matched("id-bob", "bob@corp.example", true),
        },
        StoredOutcome {
            key: "cat@corp.example".into(),
            checked_at: now - Duration::hours(48),
            outcome: not_found(),
        },
    ])
    .unwrap();
    ws.set_link("cat@corp.example", Some("id-cat-linked"))
        .unwrap();
    ws.set_ignored("dan@corp.example", Some("leaver")).unwrap();
    let stale = ws.stale_users(Duration::hours(24), now).unwrap();
    let got: Vec<(&str, Option<&str>)> = stale
        .iter()
        .map(|s| (s.user.key.as_str(), s.user.stored_scim_id.as_deref()))
        .collect();
    // Bob is fresh, Dan is ignored; Ann by her last match, Cat by the hand link.
    assert_eq!(
        got,
        [
            ("ann@corp.example", Some("id-ann")),
            ("cat@corp.example", Some("id-cat-linked"))
        ]
    );
    ws.set_ignored("dan@corp.example", None).unwrap();
    let stale = ws.stale_users(Duration::hours(1), now).unwrap();
    assert_eq!(stale.len(), 4, "a never-checked user is stale too");
    assert_eq!(stale[3].checked_at, None);
}

#[test]
fn a_damaged_workspace_is_kept_aside_and_a_new_one_started() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    let junk =
        b"this is not an SQLite database, just some bytes that happen to be here".repeat(100);
    std::fs::write(&db, &junk).unwrap();
    let err = Workspace::open(&db).unwrap_err();
    let WorkspaceError::Corrupt { kept_as, .. } = &err else {
        panic!("expected Corrupt, got {err:?}");
    };
    let msg = err.to_string();
    assert!(msg.contains("damaged") && msg.contains(kept_as), "{msg}");
    assert_eq!(std::fs::read(kept_as).unwrap(), junk, "kept byte for byte");
    assert!(!db.exists(), "moved, not copied");
    // The next start makes a new workspace and leaves the damaged one alone.
    let ws = Workspace::open(&db).unwrap();
    assert_eq!(ws.schema_version().unwrap(), schema::latest_version());
    assert_eq!(std::fs::read(kept_as).unwrap(), junk);
}

#[test]
fn a_workspace_from_a_newer_navscim_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    {
        let mut ws = Workspace::open(&db).unwrap();
        ws.add_note("x@corp.example", "written by the future")
            .unwrap();
    }
    let newer = schema::latest_version() + 1;
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    // Read-only: refused, the file is left where it is.
    let err = Workspace::open_read_only(&db).unwrap_err();
    assert!(
        matches!(err, WorkspaceError::Newer { found, kept_as: None, .. } if found == newer),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer navscim"), "{err}");
    assert!(db.exists());
    // For writing: refused and moved aside, never migrated down or overwritten.
    let err = Workspace::open(&db).unwrap_err();
    let WorkspaceError::Newer {
        kept_as: Some(kept),
        found,
        supported,
        ..
    } = &err
    else {
        panic!("expected Newer, got {err:?}");
    };
    assert_eq!((*found, *supported), (newer, schema::latest_version()));
    assert!(!db.exists());
    let conn = rusqlite::Connection::open(kept).unwrap();
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, newer);
    let text: String = conn
        .query_row("SELECT text FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "written by the future");
}

#[test]
fn a_second_opener_is_refused_or_gets_a_read_only_view() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    let mut first = Workspace::open(&db).unwrap();
    first.add_note("ann@corp.example", "hello").unwrap();

    let err = Workspace::open(&db).unwrap_err();
    assert!(matches!(err, WorkspaceError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("in use by another navscim"), "{msg}");
    assert!(
        msg.contains(&format!("process {}", std::process::id())),
        "names the holder: {msg}"
    );

    let mut second = Workspace::open_shared(&db).unwrap();
    let why = second.read_only().expect("read-only").to_string();
    assert!(why.contains("in use by another navscim"), "{why}");
    assert_eq!(second.load().unwrap().notes.len(), 1, "it can read");
    let err = second.add_note("ann@corp.example", "no").unwrap_err();
    assert!(matches!(err, WorkspaceError::ReadOnly { .. }), "{err:?}");
    // The first one writes on; the view sees it.
    first.add_note("bob@corp.example", "second").unwrap();
    assert_eq!(second.load().unwrap().notes.len(), 2);

    drop(second);
    drop(first);
    let again = Workspace::open(&db).unwrap();
    assert_eq!(again.read_only(), None, "the lock goes with its holder");
}

fn fixture_v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/workspace/v1.sqlite")
}

/// Fills a workspace the way `fixtures/workspace/v1.sqlite` was made (see
/// `regenerate_the_v1_fixture`).
fn fill_fixture(ws: &mut Workspace, csv: &Path) {
    let (import, directory) = directory_of(csv);
    let bytes = std::fs::read(csv).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    ws.record_source("okta.csv", &bytes, &import, &DomainAliases::default(), at)
        .unwrap();
    ws.replace_users(&directory).unwrap();
    ws.write_outcomes(&[StoredOutcome {
        key: "ann@corp.example".into(),
        checked_at: at,
        outcome: matched("id-ann", "ann@corp.example", true),
    }])
    .unwrap();
    ws.set_link("bob@corp.example", Some("id-bob")).unwrap();
    ws.add_note("ann@corp.example", "fixture note").unwrap();
    ws.set_settings(&Settings {
        tenant: Some("Fixture Corp".into()),
        ..Settings::default()
    })
    .unwrap();
    ws.record_run(SnapshotKind::Lookup, Some("http://127.0.0.1:1/scim"))
        .unwrap();
}

/// Run by hand (`cargo test --test workspace -- --ignored`) only to make the fixture
/// anew; a released schema's fixture is never remade.
#[test]
#[ignore]
fn regenerate_the_v1_fixture() {
    assert_eq!(schema::latest_version(), 1, "the fixture is of schema v1");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("okta.csv");
    write_idp(&csv, &[("ann", "E1"), ("bob", "E2")]);
    let db = dir.path().join("v1.sqlite");
    {
        let mut ws = Workspace::open(&db).unwrap();
        fill_fixture(&mut ws, &csv);
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    conn.execute("VACUUM", []).unwrap();
    drop(conn);
    std::fs::create_dir_all(fixture_v1().parent().unwrap()).unwrap();
    std::fs::copy(&db, fixture_v1()).unwrap();
}

#[test]
fn the_schema_v1_fixture_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    std::fs::copy(fixture_v1(), &db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1, "the fixture is a schema-v1 database");
    drop(conn);

    // Opened for writing, it is migrated to the latest schema and keeps its content.
    let mut ws = Workspace::open(&db).unwrap();
    assert_eq!(ws.schema_version().unwrap(), schema::latest_version());
    let l = ws.load().unwrap();
    assert_eq!(l.sources.len(), 1);
    assert_eq!(l.users.len(), 2);
    assert_eq!(l.outcomes["ann@corp.example"].scim_id(), Some("id-ann"));
    assert_eq!(l.links["bob@corp.example"], "id-bob");
    assert_eq!(l.notes[0].text, "fixture note");
    assert_eq!(l.settings.tenant.as_deref(), Some("Fixture Corp"));
    assert_eq!(l.settings.stale_after_hours, 24);
    assert_eq!(l.history.len(), 1);
    assert_eq!(l.history[0].counts.by_status["matched"], 1);
    // And it takes new writes.
    ws.add_note("bob@corp.example", "after the upgrade")
        .unwrap();
    assert_eq!(ws.load().unwrap().notes.len(), 2);
}

#[test]
fn a_plan_for_another_server_or_profile_is_refused_with_both_named() {
    let plan = plan_for("https://api.linkedin.com/scim", "northwind");
    let used = |server: &str, profile: &str| PlanTarget {
        server: server.into(),
        profile: profile.into(),
        tenant: None,
    };
    // The same tenant (a trailing slash and the host's case do not matter).
    plan.check_target(&used("https://API.linkedin.com/scim/", "northwind"))
        .unwrap();
    let err = plan
        .check_target(&used("https://api.linkedin.com/scim", "contoso"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("\"northwind\"") && msg.contains("\"contoso\""),
        "{msg}"
    );
    assert!(
        msg.contains("Northwind EMEA"),
        "the tenant label is named: {msg}"
    );
    assert!(msg.contains("nothing was sent"), "{msg}");
    let err = plan
        .check_target(&used("http://127.0.0.1:9/scim", "northwind"))
        .unwrap_err();
    assert!(err.to_string().contains("http://127.0.0.1:9/scim"), "{err}");
    // Another tenant label under the same profile name.
    let mut other = used("https://api.linkedin.com/scim", "northwind");
    other.tenant = Some("Contoso".into());
    assert!(plan.check_target(&other).is_err());
    // A plan without a recorded target (made before navscim recorded it) passes.
    let mut old = plan.clone();
    old.target = None;
    old.check_target(&used("http://x", "y")).unwrap();
    // The target survives the plan file.
    let text = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back.target, plan.target);
}

/// The writer thread (the bench's alternative to inline writes) writes every outcome
/// queued, in transactions of at most `MAX_ROWS_PER_TRANSACTION`, the latest outcome of
/// a key winning, and gives the workspace back; a read-only workspace writes nothing
/// and says so.
#[test]
fn the_outcome_writer_thread_writes_everything_queued_in_bounded_transactions() {
    use navscim::workspace::MAX_ROWS_PER_TRANSACTION;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    let ws = Workspace::open(&db).unwrap();
    let writer = ws.outcome_writer().expect("a writer thread");
    let n = MAX_ROWS_PER_TRANSACTION * 2 + 7;
    let at = Utc::now();
    for i in 0..n {
        let key = format!("u{i}@corp.example");
        writer.send(&key, at, Box::new(not_found()));
    }
    // A later outcome of the same user replaces the earlier one.
    writer.send(
        "u0@corp.example",
        at,
        Box::new(matched("id-0", "u0@corp.example", true)),
    );
    let (ws, report) = writer.finish();
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.written, n + 1);
    assert!(
        report.transactions >= 3,
        "{} rows in {} transactions",
        n + 1,
        report.transactions
    );
    let summaries = ws.summaries().unwrap();
    assert_eq!(summaries.len(), n);
    assert_eq!(summaries["u0@corp.example"].summary.scim_id(), Some("id-0"));
    drop(ws);

    // A second opener gets a read-only view: its writer writes nothing and says why.
    let _holder = Workspace::open(&db).unwrap();
    let ro = Workspace::open_shared(&db).unwrap();
    assert!(ro.read_only().is_some());
    let writer = ro.outcome_writer().expect("a writer thread");
    writer.send("late@corp.example", at, Box::new(not_found()));
    let (_, report) = writer.finish();
    assert_eq!(report.written, 0);
    assert!(report.error.is_some());
}

/// Users of every shape the `users` columns of schema v2 must carry: a seat with an
/// `Other` license status, extra seats, several sources, no seat, bare identity.
fn users_of_every_shape() -> Vec<navscim::matching::DirUser> {
    use navscim::import::{LicenseStatus, SourceRef};
    use navscim::matching::{DirUser, Seat};
    let src = |file: &str, line| SourceRef {
        file: file.into(),
        line,
    };
    let seat = |status, admin, id: &str| Seat {
        license_status: status,
        is_admin: admin,
        seat_id: Some(id.into()),
        unique_user_id: Some(format!("U-{id}")),
    };
    vec![
        DirUser {
            key: "ann@corp.example".into(),
            email: Some("Ann@Corp.example".into()),
            user_name: Some("ann@corp.example".into()),
            idp_id: Some("E1".into()),
            first_name: Some("Ann".into()),
            last_name: Some("Lee".into()),
            display_name: Some("Ann Lee".into()),
            in_idp: true,
            idp_enabled: Some(false),
            seat: Some(seat(
                Some(LicenseStatus::Other("ON HOLD".into())),
                true,
                "S1",
            )),
            other_seats: vec![
                seat(Some(LicenseStatus::Active), false, "S2"),
                seat(None, false, "S3"),
            ],
            sources: vec![src("okta.csv", 2), src("salesnav.csv", 7), src("entra", 0)],
            duplicate_rows: 2,
            stored_scim_id: Some("id-ann".into()),
        },
        DirUser {
            key: "bob@corp.example".into(),
            email: Some("bob@corp.example".into()),
            user_name: None,
            idp_id: None,
            first_name: None,
            last_name: Some("Bob".into()),
            display_name: None,
            in_idp: false,
            idp_enabled: None,
            seat: Some(seat(Some(LicenseStatus::Pending), false, "S4")),
            other_seats: vec![],
            sources: vec![src("salesnav.csv", 3)],
            duplicate_rows: 0,
            stored_scim_id: None,
        },
        DirUser {
            key: "id:E9".into(),
            email: None,
            user_name: None,
            idp_id: Some("E9".into()),
            first_name: None,
            last_name: None,
            display_name: None,
            in_idp: true,
            idp_enabled: Some(true),
            seat: None,
            other_seats: vec![],
            sources: vec![],
            duplicate_rows: 0,
            stored_scim_id: None,
        },
    ]
}

fn usage_rows_of_every_shape() -> Vec<navscim::import::UsageRow> {
    use navscim::import::{SourceRef, UsageRow};
    vec![
        UsageRow {
            email: Some("ann@corp.example".into()),
            name: Some("Ann Lee".into()),
            license_type: Some("Core".into()),
            last_active: chrono::NaiveDate::from_ymd_opt(2026, 10, 1),
            days_since_active: Some(4),
            days_active: Some(12),
            searches: Some(30),
            profile_views: Some(50),
            inmails_sent: Some(3),
            leads_saved: Some(4),
            accounts_saved: Some(1),
            lists_created: Some(0),
            ssi: Some(55.5),
            source: SourceRef {
                file: "usage.csv".into(),
                line: 2,
            },
        },
        UsageRow {
            email: None,
            name: None,
            license_type: None,
            last_active: None,
            days_since_active: None,
            days_active: None,
            searches: None,
            profile_views: None,
            inmails_sent: None,
            leads_saved: None,
            accounts_saved: None,
            lists_created: None,
            ssi: Some(40.0),
            source: SourceRef {
                file: "usage.csv".into(),
                line: 3,
            },
        },
    ]
}

/// A workspace of the previous schema (v1: users and usage rows as JSON values) is
/// migrated with every field of its users and usage rows, and keeps its decisions; the
/// same data written by this navscim reads back the same.
#[test]
fn a_schema_v1_workspace_migrates_users_and_usage_rows_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    let users = users_of_every_shape();
    let rows = usage_rows_of_every_shape();
    let presences = ["both", "orphan_seat", "missing"];
    {
        // Written as navscim of schema v1 wrote it.
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        schema::migrations_up_to(1).to_latest(&mut conn).unwrap();
        for (i, u) in users.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (key, position, presence, user) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    u.key,
                    i as i64,
                    presences[i],
                    serde_json::to_string(u).unwrap()
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO usage_reports (path, period_start, period_end, content_hash, loaded_at, rows) \
             VALUES ('usage.csv', '2026-09-01', '2026-09-30', 'abc', '2026-10-02T00:00:00.000Z', ?1)",
            [serde_json::to_string(&rows).unwrap()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO ignores (key, reason, ignored_at) VALUES ('bob@corp.example', 'contractor', '2026-10-02T00:00:00.000Z')",
            [],
        )
        .unwrap();
    }

    let mut ws = Workspace::open(&db).unwrap();
    assert_eq!(ws.schema_version().unwrap(), schema::latest_version());
    let l = ws.load().unwrap();
    let got: Vec<_> = l.users.iter().map(|u| u.user.clone()).collect();
    assert_eq!(got, users);
    let got: Vec<_> = l.users.iter().map(|u| u.presence).collect();
    assert_eq!(
        got,
        [Presence::Both, Presence::OrphanSeat, Presence::Missing]
    );
    assert_eq!(l.usage_reports.len(), 1);
    let report = &l.usage_reports[0];
    assert_eq!(report.rows, rows);
    assert_eq!(report.content_hash, "abc");
    let period = report.period.unwrap();
    assert_eq!(
        (
            period.start.unwrap().to_string(),
            period.end.unwrap().to_string()
        ),
        ("2026-09-01".to_string(), "2026-09-30".to_string())
    );
    assert_eq!(l.ignores["bob@corp.example"], "contractor");

    // Written anew by this navscim: the same users and rows come back.
    let mut directory = Directory::new();
    directory.users = users.clone();
    ws.replace_users(&directory).unwrap();
    ws.save_usage_report(&StoredUsageReport {
        rows: rows[..1].to_vec(),
        ..report.clone()
    })
    .unwrap();
    let l = ws.load().unwrap();
    let got: Vec<_> = l.users.iter().map(|u| u.user.clone()).collect();
    assert_eq!(got, users);
    assert_eq!(l.usage_reports[0].rows, rows[..1]);
}

/// Schema v3 keeps each outcome's summary in plain columns, so reopening parses no JSON;
/// the upgrade fills them for the outcomes a v2 navscim stored, equal to what this
/// navscim computes from the full outcome.
#[test]
fn a_schema_v2_workspace_gets_the_summary_of_every_stored_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.sqlite");
    let mut created = matched("id-ann", "ann@corp.example", true);
    let user = created.user.as_mut().unwrap();
    user.extra.insert(
        "meta".into(),
        serde_json::json!({"created": "2026-01-05T10:00:00Z"}),
    );
    user.emails.push(navscim::scim::Email {
        value: "ann@old.example".into(),
        kind: None,
        primary: None,
    });
    user.emails.push(navscim::scim::Email {
        value: "ann@corp.example".into(),
        kind: Some("work".into()),
        primary: Some(true),
    });
    let mut conflict = matched("id-ann", "bob@corp.example", true);
    conflict.mark_conflict("same SCIM user as ann@corp.example", false);
    let mut missing = not_found();
    missing.warnings.push("externalId differs".into());
    let outcomes = [
        ("ann@corp.example", created),
        ("bob@corp.example", conflict),
        ("cat@corp.example", missing),
    ];
    {
        // Written as navscim of schema v2 wrote it.
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        schema::migrations_up_to(2).to_latest(&mut conn).unwrap();
        for (i, (key, outcome)) in outcomes.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (key, position, presence, email, in_idp, idp_enabled, \
                 has_seat, duplicate_rows) VALUES (?1, ?2, 'both', ?1, 1, 1, 0, 0)",
                rusqlite::params![key, i as i64],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO outcomes (key, checked_at, lookup_kind, scim_id, status, active, \
                 outcome) VALUES (?1, '2026-10-02T00:00:00.000Z', NULL, ?2, ?3, NULL, ?4)",
                rusqlite::params![
                    key,
                    outcome.scim_id(),
                    outcome.status.name(),
                    serde_json::to_string(outcome).unwrap()
                ],
            )
            .unwrap();
        }
    }
    let ws = Workspace::open(&db).unwrap();
    assert_eq!(ws.schema_version().unwrap(), schema::latest_version());
    let quick = ws.load_summaries().unwrap();
    assert_eq!(quick.users.len(), 3);
    for (stored, (key, outcome)) in quick.users.iter().zip(&outcomes) {
        assert_eq!(stored.user.key, *key);
        let latest = stored.latest.as_ref().expect("a summary");
        assert_eq!(*latest.summary, OutcomeSummary::of(outcome), "{key}");
    }
    let ann = &quick.users[0].latest.as_ref().unwrap().summary;
    assert_eq!(ann.created.unwrap().to_string(), "2026-01-05");
    assert_eq!(
        ann.scim.as_ref().unwrap().emails,
        ["ann@corp.example", "ann@old.example"]
    );
    assert_eq!(
        quick.users[1].latest.as_ref().unwrap().summary.detail,
        "conflict: same SCIM user as ann@corp.example"
    );
    assert_eq!(
        quick.users[2].latest.as_ref().unwrap().summary.detail,
        "externalId differs"
    );
}

/// The conflicts the dashboard finds across users at the end of a run are marked in the
/// stored outcomes: the full outcome and its summary columns.
#[test]
fn marked_conflicts_are_stored_in_the_outcome_and_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("ws.sqlite")).unwrap();
    let at = Utc::now();
    ws.write_outcomes(&[StoredOutcome {
        key: "ann@corp.example".into(),
        checked_at: at,
        outcome: matched("id-1", "ann@corp.example", true),
    }])
    .unwrap();
    let why = "same SCIM user as bob@corp.example".to_string();
    ws.mark_conflicts(&[
        ("ann@corp.example".into(), why.clone()),
        ("nobody@corp.example".into(), why.clone()),
    ])
    .unwrap();
    let stored = ws.outcome("ann@corp.example").unwrap().unwrap();
    assert_eq!(stored.outcome.status, MatchStatus::Conflict);
    assert_eq!(stored.outcome.error.as_deref(), Some(why.as_str()));
    assert_eq!(stored.outcome.scim_id(), Some("id-1"), "the same SCIM user");
    let summaries = ws.summaries().unwrap();
    assert_eq!(summaries.len(), 1, "nobody was not invented");
    let s = &summaries["ann@corp.example"];
    assert_eq!(*s.summary, OutcomeSummary::of(&stored.outcome));
    assert_eq!(s.summary.detail, format!("conflict: {why}"));
    assert_eq!(s.checked_at.timestamp_millis(), at.timestamp_millis());
}

/// Reopening reads the rows of the latest usage report only (the dashboard shows that
/// one; the others keep their periods), on a second connection while the users are
/// read; `load` (the headless commands) reads them all.
#[test]
fn the_quick_start_reads_the_latest_usage_report_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("ws.sqlite")).unwrap();
    let rows = usage_rows_of_every_shape();
    let now = Utc::now();
    for (path, at, rows) in [
        ("september.csv", now - Duration::days(30), &rows[..1]),
        ("october.csv", now, &rows[..]),
    ] {
        ws.save_usage_report(&StoredUsageReport {
            path: path.into(),
            period: None,
            content_hash: "0".repeat(64),
            loaded_at: at,
            rows: rows.to_vec(),
        })
        .unwrap();
    }
    let quick = ws.load_summaries().unwrap();
    let got: Vec<(&str, usize)> = quick
        .usage_reports
        .iter()
        .map(|r| (r.path.as_str(), r.rows.len()))
        .collect();
    assert_eq!(got, [("september.csv", 0), ("october.csv", rows.len())]);
    assert_eq!(quick.usage_reports[1].rows, rows);
    let all = ws.load().unwrap();
    let got: Vec<usize> = all.usage_reports.iter().map(|r| r.rows.len()).collect();
    assert_eq!(got, [1, rows.len()]);
}

/// A user the server says is inactive holds no seat to reclaim: the history's idle
/// count leaves them out, so the trend shows the seats a batch reclaimed.
#[test]
fn inactive_users_are_not_counted_idle() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("okta.csv");
    write_idp(&csv, &[("ann", "E1"), ("bob", "E2")]);
    let (_, directory) = directory_of(&csv);
    let mut ws = Workspace::open(&dir.path().join("ws.sqlite")).unwrap();
    ws.replace_users(&directory).unwrap();
    let keys: Vec<String> = directory.users.iter().map(|u| u.key.clone()).collect();
    let shape = usage_rows_of_every_shape().remove(0);
    let rows: Vec<navscim::import::UsageRow> = directory
        .users
        .iter()
        .map(|u| navscim::import::UsageRow {
            email: u.email.clone(),
            last_active: chrono::NaiveDate::from_ymd_opt(2025, 1, 1),
            days_since_active: None,
            ..shape.clone()
        })
        .collect();
    ws.save_usage_report(&StoredUsageReport {
        path: "usage.csv".into(),
        period: None,
        content_hash: "0".repeat(64),
        loaded_at: Utc::now(),
        rows,
    })
    .unwrap();
    let idle = |ws: &Workspace| ws.counts().unwrap().idle.unwrap().idle;
    assert_eq!(idle(&ws), 2, "both idle for almost two years");
    ws.write_outcomes(&[StoredOutcome {
        key: keys[1].clone(),
        checked_at: Utc::now(),
        outcome: matched("id-2", &keys[1], false),
    }])
    .unwrap();
    assert_eq!(idle(&ws), 1, "the deactivated one holds no seat");
}
