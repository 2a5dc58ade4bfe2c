//! The workspace's schema, one migration per version, applied by `rusqlite_migration`
//! (it keeps the version in SQLite's `user_version`, so there is no bookkeeping table).
//!
//! Rules: a released migration is never edited; a change is a new `M::up` appended to
//! [`MIGRATIONS`]. `tests/fixtures/workspace-v1.sqlite` is a database of version 1 that
//! every later version must open (see `tests/workspace.rs`).

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

/// Every schema version, oldest first; the index + 1 is the version number.
pub static MIGRATIONS: &[M<'static>] = &[M::up(V1)];

/// The schema version this navscim writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// The migrations as `rusqlite_migration` wants them.
pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
