//! The workspace's schema, one migration per version, applied by `rusqlite_migration`
//! (it keeps the version in SQLite's `user_version`, so there is no bookkeeping table).
//!
//! Rules: a released migration is never edited; a change is a new `M::up` appended to
//! the list in `all`. `fixtures/workspace/v1.sqlite` is a database of version 1 that every
//! later version must open with its data (see `tests/engine/workspace.rs`).

use rusqlite_migration::{Migrations, M};

/// Version 1. JSON columns hold navscim's own serde shapes (named per column); the
/// other columns are what queries filter or sort by.
const V1: &str = r#"
-- Every file loaded: identity-provider and Sales Navigator exports, usage reports.
CREATE TABLE sources (
    path         TEXT PRIMARY KEY,      -- as given (made absolute when possible)
    kind         TEXT NOT NULL,         -- idp | salesnav_users | usage
    format       TEXT NOT NULL,         -- the detected format's label, e.g. "Okta"
    content_hash TEXT NOT NULL,         -- SHA-256 of the file's bytes, hex
    mapping      TEXT NOT NULL,         -- JSON: import::ColumnMapping
    headers      TEXT NOT NULL,         -- JSON: [String]
    rows_loaded  INTEGER NOT NULL,
    loaded_at    TEXT NOT NULL,         -- RFC 3339, UTC
    identities   TEXT NOT NULL          -- JSON: [workspace::SourceIdentity]
);

-- The merged user list, in its order.
CREATE TABLE users (
    key      TEXT PRIMARY KEY,          -- matching::identity_key
    position INTEGER NOT NULL,
    presence TEXT NOT NULL,             -- matching::Presence (snake_case)
    user     TEXT NOT NULL              -- JSON: matching::DirUser
);

-- Each user's latest lookup outcome.
CREATE TABLE outcomes (
    key              TEXT PRIMARY KEY,
    checked_at       TEXT NOT NULL,     -- RFC 3339, UTC
    lookup_kind      TEXT,              -- matching::LookupKind that matched, if any
    scim_id          TEXT,
    status           TEXT NOT NULL,     -- matching::MatchStatus::name
    active           INTEGER,           -- 0/1 when matched, else NULL
    outcome          TEXT NOT NULL      -- JSON: matching::LookupOutcome
);
CREATE INDEX outcomes_checked_at ON outcomes(checked_at);
CREATE INDEX outcomes_scim_id ON outcomes(scim_id);

-- Decisions of the admin, one row each, written when made.
CREATE TABLE links (
    key       TEXT PRIMARY KEY,
    scim_id   TEXT NOT NULL,
    linked_at TEXT NOT NULL
);
CREATE TABLE ignores (
    key        TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    ignored_at TEXT NOT NULL
);
CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    text       TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX notes_key ON notes(key);
CREATE TABLE conflicts (
    key         TEXT PRIMARY KEY,
    resolution  TEXT NOT NULL,          -- e.g. keep | link | ignore
    scim_id     TEXT,
    resolved_at TEXT NOT NULL
);

-- Usage reports with their periods.
CREATE TABLE usage_reports (
    path         TEXT PRIMARY KEY,
    period_start TEXT,                  -- YYYY-MM-DD
    period_end   TEXT,
    content_hash TEXT NOT NULL,
    loaded_at    TEXT NOT NULL,
    rows         TEXT NOT NULL          -- JSON: [import::UsageRow]
);

-- Settings in force: one JSON value per name (see workspace::Settings).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The plan under review (at most one).
CREATE TABLE plan (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    plan     TEXT NOT NULL,             -- JSON: plan::Plan
    origin   TEXT,                      -- where it came from (a file, the Actions pane)
    saved_at TEXT NOT NULL
);

-- History: one snapshot per lookup run and per batch.
CREATE TABLE snapshots (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,             -- lookup | refresh | batch
    batch_id TEXT UNIQUE,               -- a batch's journal id (a resume updates its row)
    snapshot TEXT NOT NULL              -- JSON: workspace::Snapshot
);
"#;

/// Version 2 (issue 11's reopen target: 100,000 users in ≤ 1 s and ≤ 200 MB). The
/// merged users and the usage reports' rows move from one JSON value each into plain
/// columns, read without a JSON parser and without holding a whole report's text (a
/// report's rows are one `usage_rows` row each). v1 data is converted here, in SQL
/// (SQLite's JSON functions): nothing is lost.
const V2: &str = r#"
CREATE TABLE users_v2 (
    key                 TEXT PRIMARY KEY,   -- matching::identity_key
    position            INTEGER NOT NULL,
    presence            TEXT NOT NULL,      -- matching::Presence (snake_case)
    email               TEXT,
    user_name           TEXT,
    idp_id              TEXT,
    first_name          TEXT,
    last_name           TEXT,
    display_name        TEXT,
    in_idp              INTEGER NOT NULL,   -- 0/1
    idp_enabled         INTEGER,            -- 0/1, NULL: the file does not say
    has_seat            INTEGER NOT NULL,   -- 0/1: the seat_* columns mean something
    seat_license_status TEXT,               -- JSON: import::LicenseStatus, NULL: none
    seat_is_admin       INTEGER,            -- 0/1
    seat_id             TEXT,
    seat_unique_user_id TEXT,
    other_seats         TEXT,               -- JSON: [matching::Seat], NULL: none
    source_file         TEXT,               -- the first of `sources` (NULL: none)
    source_line         INTEGER,
    more_sources        TEXT,               -- JSON: [import::SourceRef] after the first, NULL: none
    duplicate_rows      INTEGER NOT NULL,
    stored_scim_id      TEXT
);
INSERT INTO users_v2
SELECT key, position, presence,
       user ->> '$.email', user ->> '$.user_name', user ->> '$.idp_id',
       user ->> '$.first_name', user ->> '$.last_name', user ->> '$.display_name',
       coalesce(user ->> '$.in_idp', 0), user ->> '$.idp_enabled',
       coalesce(user -> '$.seat', 'null') != 'null',
       nullif(user -> '$.seat.license_status', 'null'),
       user ->> '$.seat.is_admin', user ->> '$.seat.seat_id', user ->> '$.seat.unique_user_id',
       CASE WHEN coalesce(json_array_length(user, '$.other_seats'), 0) > 0
            THEN user -> '$.other_seats' END,
       user ->> '$.sources[0].file', user ->> '$.sources[0].line',
       CASE WHEN coalesce(json_array_length(user, '$.sources'), 0) > 1
            THEN json_remove(user -> '$.sources', '$[0]') END,
       coalesce(user ->> '$.duplicate_rows', 0), user ->> '$.stored_scim_id'
FROM users;
DROP TABLE users;
ALTER TABLE users_v2 RENAME TO users;

-- One row per usage report row, in the report's order (`n`).
CREATE TABLE usage_rows (
    report            TEXT NOT NULL,        -- usage_reports.path
    n                 INTEGER NOT NULL,
    email             TEXT,
    name              TEXT,
    license_type      TEXT,
    last_active       TEXT,                 -- YYYY-MM-DD
    days_since_active INTEGER,
    days_active       INTEGER,
    searches          INTEGER,
    profile_views     INTEGER,
    inmails_sent      INTEGER,
    leads_saved       INTEGER,
    accounts_saved    INTEGER,
    lists_created     INTEGER,
    ssi               REAL,
    source_file       TEXT NOT NULL,
    source_line       INTEGER NOT NULL,
    PRIMARY KEY (report, n)
) WITHOUT ROWID;
INSERT INTO usage_rows
SELECT r.path, CAST(j.key AS INTEGER),
       j.value ->> '$.email', j.value ->> '$.name', j.value ->> '$.license_type',
       j.value ->> '$.last_active', j.value ->> '$.days_since_active',
       j.value ->> '$.days_active', j.value ->> '$.searches', j.value ->> '$.profile_views',
       j.value ->> '$.inmails_sent', j.value ->> '$.leads_saved',
       j.value ->> '$.accounts_saved', j.value ->> '$.lists_created', j.value ->> '$.ssi',
       coalesce(j.value ->> '$.source.file', ''), coalesce(j.value ->> '$.source.line', 0)
FROM usage_reports r, json_each(r.rows) j;
ALTER TABLE usage_reports DROP COLUMN rows;
"#;

/// Version 3: each outcome's summary in plain columns of `outcomes` (what the dashboard
/// keeps in memory of an outcome, [`crate::matching::OutcomeSummary`]) and the full
/// outcome in a table of its own, so reopening reads small rows and parses no JSON; and
/// an index on the users' order. The hook fills the summaries of the outcomes already
/// stored (a stored outcome that cannot be read fails the upgrade, leaving the file as
/// it was).
const V3: &str = r#"
CREATE TABLE outcome_details (
    key     TEXT PRIMARY KEY,
    outcome TEXT NOT NULL               -- JSON: matching::LookupOutcome
);
INSERT INTO outcome_details (key, outcome) SELECT key, outcome FROM outcomes;

CREATE TABLE outcomes_v3 (
    key              TEXT PRIMARY KEY,
    checked_at       TEXT NOT NULL,     -- RFC 3339, UTC
    status           TEXT NOT NULL,     -- matching::MatchStatus::name
    active           INTEGER,           -- 0/1 when matched, else NULL
    lookup_kind      TEXT,              -- matching::LookupKind that matched, if any
    scim_id          TEXT,
    scim_user_name   TEXT,
    scim_external_id TEXT,
    scim_emails      TEXT,              -- JSON: [String], the primary first
    created          TEXT,              -- the SCIM user's meta.created, YYYY-MM-DD
    error            TEXT,              -- LookupOutcome::error
    detail           TEXT               -- OutcomeSummary::detail
);
INSERT INTO outcomes_v3 (key, checked_at, status, active, lookup_kind, scim_id)
SELECT key, checked_at, status, active, lookup_kind, scim_id FROM outcomes;
DROP TABLE outcomes;
ALTER TABLE outcomes_v3 RENAME TO outcomes;
CREATE INDEX outcomes_checked_at ON outcomes(checked_at);
CREATE INDEX outcomes_scim_id ON outcomes(scim_id);

CREATE INDEX users_position ON users(position);
"#;

/// Fills the v3 summary columns of every stored outcome from its JSON.
fn v3_summaries(tx: &rusqlite::Transaction) -> rusqlite_migration::HookResult {
    use crate::matching::LookupOutcome;
    let mut rows = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT o.key, o.checked_at, d.outcome FROM outcomes o \
             JOIN outcome_details d ON d.key = o.key",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let key: String = r.get(0)?;
            let checked: String = r.get(1)?;
            let checked_at = super::parse_ts(&checked).ok_or_else(|| {
                rusqlite_migration::HookError::Hook(format!(
                    "outcomes.checked_at of {key:?}: not a time: {checked:?}"
                ))
            })?;
            let bad = |e: &dyn std::fmt::Display| {
                rusqlite_migration::HookError::Hook(format!("outcomes.outcome of {key:?}: {e}"))
            };
            let text = r.get_ref(2)?.as_str().map_err(|e| bad(&e))?;
            let outcome: LookupOutcome = serde_json::from_str(text).map_err(|e| bad(&e))?;
            rows.push(super::OutcomeRow::new(&key, checked_at, &outcome));
        }
    }
    for row in &rows {
        super::store::insert_outcome(tx, row)?;
    }
    Ok(())
}

/// Every schema version, oldest first; the index + 1 is the version number. A released
/// migration is never edited.
fn all() -> Vec<M<'static>> {
    vec![M::up(V1), M::up(V2), M::up_with_hook(V3, v3_summaries)]
}

/// The schema version this navscim writes.
pub fn latest_version() -> u32 {
    all().len() as u32
}

/// The first `versions` migrations only: what a navscim of that schema version
/// applied (a test makes an older workspace with it).
pub fn migrations_up_to(versions: usize) -> Migrations<'static> {
    Migrations::new(all().into_iter().take(versions).collect())
}

/// The migrations as `rusqlite_migration` wants them.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(all())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
