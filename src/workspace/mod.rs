//! The workspace: navscim's memory of one tenant (DESIGN.md sections 3, 4, 8).
//!
//! One SQLite database per profile, in the data directory
//! (`<data dir>/workspaces/<profile>.sqlite`, see [`default_path`]), holding the sources
//! loaded, the merged users, each user's latest lookup outcome (when and how it was
//! checked), the admin's decisions (hand links, ignores, notes, conflicts resolved),
//! usage reports, the settings in force, the plan under review and the history (one
//! [`Snapshot`] per lookup run and per batch).
//!
//! It is a cache of what the server said, never a reason to change a user: plans are
//! re-verified against the server at apply time, and the JSON-lines journal stays the
//! write-ahead record of changes.
//!
//! Use:
//! - [`Workspace::open`] at start (it takes the workspace's lock; a second navscim gets
//!   [`WorkspaceError::Locked`]), or [`Workspace::open_shared`], which falls back to a
//!   read-only view and says why ([`Workspace::read_only`]);
//! - [`Workspace::load`] reads everything in one call, before any request;
//! - each decision is one small transaction ([`Workspace::set_link`],
//!   [`Workspace::set_ignored`], [`Workspace::add_note`], …);
//! - outcomes are written in batches, one transaction each, as they arrive
//!   ([`Workspace::write_outcomes`]), or on a writer thread during a lookup run
//!   ([`Workspace::outcome_writer`]): `kill -9` loses at most the outcomes not yet
//!   written.
//!
//! A damaged database, or one written by a newer navscim, is never overwritten: it is
//! renamed aside and the error says where it went.

mod history;
pub mod schema;
mod sources;
mod store;
mod writer;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};

pub use history::{
    batch_snapshot_counts, render_report, IdleCount, Inventory, ReportFormat, Snapshot,
    SnapshotKind,
};
pub use sources::{source_identities, IdentifierChange, SourceChanges, SourceIdentity};
pub use store::{
    Conflict, Decisions, Loaded, Note, OutcomeRow, Settings, SourceRecord, StaleUser,
    StoredOutcome, StoredPlan, StoredSummary, StoredUsageReport, StoredUser,
};
pub use writer::{OutcomeWriter, WriterReport, MAX_ROWS_PER_TRANSACTION};

/// The default stale threshold: results older than this are refreshed on request.
pub const DEFAULT_STALE_HOURS: u64 = 24;

/// What went wrong with a workspace. Every message names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkspaceError {
    /// Another navscim holds the workspace's lock.
    #[error("workspace {path} is in use by another navscim ({holder}); close it, or pass --workspace PATH to use another one")]
    Locked { path: String, holder: String },
    /// Not an SQLite database, or a damaged one. It was renamed to `kept_as`.
    #[error("workspace {path} is damaged ({reason}); it was kept as {kept_as} and a new workspace will be started")]
    Corrupt {
        path: String,
        reason: String,
        kept_as: String,
    },
    /// Written by a newer navscim. Renamed to `kept_as` when opened for writing.
    #[error("workspace {path} was written by a newer navscim (schema version {found}; this navscim knows up to {supported}){}", kept_note(.kept_as))]
    Newer {
        path: String,
        found: u32,
        supported: u32,
        kept_as: Option<String>,
    },
    /// A read-only view was asked to write.
    #[error("workspace {path} is open read-only ({why}); nothing was written")]
    ReadOnly { path: String, why: String },
    /// There is no workspace at this path (read-only opens do not create one).
    #[error("no workspace at {0}: run `navscim lookup` first, or pass --workspace PATH")]
    Missing(String),
    /// SQLite or the file system failed.
    #[error("workspace {path}: {message}")]
    Storage { path: String, message: String },
    /// A stored value could not be read back.
    #[error("workspace {path}: {what}: {message}")]
    Data {
        path: String,
        what: String,
        message: String,
    },
}

fn kept_note(kept: &Option<String>) -> String {
    match kept {
        Some(k) => format!("; it was kept as {k} and a new workspace will be started"),
        None => "; it was left as it is".into(),
    }
}

/// An open workspace.
pub struct Workspace {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// `Some(why)` when this is a read-only view.
    read_only: Option<String>,
    /// The lock file, held (advisory lock) while the workspace is open for writing.
    _lock: Option<File>,
    /// Write transactions committed through this handle ([`Workspace::commits`]).
    commits: u64,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// The profile's workspace: `<data dir>/workspaces/<profile>.sqlite` (the name with
/// anything but letters, digits, `-` and `_` replaced by `_`).
pub fn default_path(profile: &str) -> PathBuf {
    let safe = crate::config::safe_file_name(profile);
    crate::config::data_dir()
        .join("workspaces")
        .join(format!("{safe}.sqlite"))
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn storage(path: &Path, e: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::Storage {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Whether an SQLite error means the file is not (or no longer) a sound database.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

impl Workspace {
    /// Opens (creating if needed) the workspace at `path` for reading and writing,
    /// applying the schema migrations. Errors: [`WorkspaceError::Locked`] when another
    /// navscim has it open; [`WorkspaceError::Corrupt`] / [`WorkspaceError::Newer`]
    /// after renaming the file aside; [`WorkspaceError::Storage`].
    pub fn open(path: &Path) -> Result<Workspace, WorkspaceError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| storage(dir, e))?;
        }
        let lock = take_lock(path)?;
        match Self::open_locked(path) {
            Ok(mut ws) => {
                ws._lock = Some(lock);
                Ok(ws)
            }
            Err(Failure::Damaged(reason)) => Err(WorkspaceError::Corrupt {
                path: path.display().to_string(),
                reason,
                kept_as: move_aside(path, "damaged")?,
            }),
            Err(Failure::Newer(found)) => Err(WorkspaceError::Newer {
                path: path.display().to_string(),
                found,
                supported: schema::latest_version(),
                kept_as: Some(move_aside(path, &format!("v{found}"))?),
            }),
            Err(Failure::Other(e)) => Err(e),
        }
    }

    /// Opens the workspace for writing if its lock is free, else read-only; see
    /// [`Workspace::read_only`] for why. A read-only view of a missing workspace is
    /// [`WorkspaceError::Missing`].
    pub fn open_shared(path: &Path) -> Result<Workspace, WorkspaceError> {
        match Self::open(path) {
            Err(WorkspaceError::Locked { holder, .. }) => {
                Self::open_read_only_because(path, format!("in use by another navscim, {holder}"))
            }
            other => other,
        }
    }

    /// Opens an existing workspace read-only (no lock taken, nothing ever written or
    /// moved; a newer or damaged file is reported and left alone).
    pub fn open_read_only(path: &Path) -> Result<Workspace, WorkspaceError> {
        Self::open_read_only_because(path, "opened read-only".into())
    }

    fn open_read_only_because(path: &Path, why: String) -> Result<Workspace, WorkspaceError> {
        if !path.exists() {
            return Err(WorkspaceError::Missing(path.display().to_string()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| storage(path, e))?;
        let shown = path.display().to_string();
        let version = match read_version(&conn) {
            Ok(v) => v,
            Err(e) if is_damage(&e) => {
                return Err(WorkspaceError::Storage {
                    path: shown,
                    message: format!("damaged ({e}); left as it is"),
                })
            }
            Err(e) => return Err(storage(path, e)),
        };
        if version > schema::latest_version() {
            return Err(WorkspaceError::Newer {
                path: shown,
                found: version,
                supported: schema::latest_version(),
                kept_as: None,
            });
        }
        if version < schema::latest_version() {
            return Err(WorkspaceError::Storage {
                path: shown,
                message: format!(
                    "schema version {version} needs upgrading; open it once for writing (e.g. navscim report without another navscim running)"
                ),
            });
        }
        Ok(Workspace {
            conn,
            path: path.to_path_buf(),
            read_only: Some(why),
            _lock: None,
            commits: 0,
        })
    }

    fn open_locked(path: &Path) -> Result<Workspace, Failure> {
        let mut conn = Connection::open(path).map_err(|e| Failure::from_sqlite(path, e))?;
        let version = read_version(&conn).map_err(|e| Failure::from_sqlite(path, e))?;
        if version > schema::latest_version() {
            return Err(Failure::Newer(version));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
            .map_err(|e| Failure::from_sqlite(path, e))?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| match e {
                rusqlite_migration::Error::RusqliteError { err, .. } => {
                    Failure::from_sqlite(path, err)
                }
                other => Failure::Other(storage(path, other)),
            })?;
        Ok(Workspace {
            conn,
            path: path.to_path_buf(),
            read_only: None,
            _lock: None,
            commits: 0,
        })
    }

    /// How many write transactions this handle has committed (each write method commits
    /// one; a test counts them).
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `Some(why)` when this is a read-only view (another navscim holds the lock, or it
    /// was asked for): writes fail with [`WorkspaceError::ReadOnly`].
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, WorkspaceError> {
        read_version(&self.conn).map_err(|e| self.err(e))
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> WorkspaceError {
        storage(&self.path, e)
    }

    pub(crate) fn writable(&self) -> Result<(), WorkspaceError> {
        match &self.read_only {
            Some(why) => Err(WorkspaceError::ReadOnly {
                path: self.path.display().to_string(),
                why: why.clone(),
            }),
            None => Ok(()),
        }
    }
}

enum Failure {
    Damaged(String),
    Newer(u32),
    Other(WorkspaceError),
}

impl Failure {
    fn from_sqlite(path: &Path, e: rusqlite::Error) -> Failure {
        if is_damage(&e) {
            Failure::Damaged(e.to_string())
        } else {
            Failure::Other(storage(path, e))
        }
    }
}

/// `PRAGMA user_version`, after a read of the schema (which fails on a file that is
/// not a database).
fn read_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
}

/// Takes the advisory lock of `path` (released by the OS when the process ends, even
/// by `kill -9`); the lock file holds the holder's process id for the message.
fn take_lock(path: &Path) -> Result<File, WorkspaceError> {
    let lp = lock_path(path);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lp)
        .map_err(|e| storage(&lp, e))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "{}", std::process::id());
            let _ = file.flush();
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let holder = match pid.trim() {
                "" => "process unknown".to_string(),
                p => format!("process {p}"),
            };
            Err(WorkspaceError::Locked {
                path: path.display().to_string(),
                holder,
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(storage(&lp, e)),
    }
}

/// Renames the database (and its `-wal` / `-shm` files) to
/// `<name>.<why>-<UTC time>`; returns the new name. Never overwrites a file.
fn move_aside(path: &Path, why: &str) -> Result<String, WorkspaceError> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut n = 0;
    let target = loop {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{why}-{stamp}"));
        if n > 0 {
            name.push(format!("-{n}"));
        }
        let t = path.with_file_name(name);
        if !t.exists() {
            break t;
        }
        n += 1;
    };
    std::fs::rename(path, &target).map_err(|e| storage(path, e))?;
    for suffix in ["-wal", "-shm"] {
        let mut from = path.as_os_str().to_os_string();
        from.push(suffix);
        let from = PathBuf::from(from);
        if from.exists() {
            let mut to = target.as_os_str().to_os_string();
            to.push(suffix);
            let _ = std::fs::rename(&from, PathBuf::from(to));
        }
    }
    Ok(target.display().to_string())
}

/// RFC 3339 text of a time, as stored.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads a stored RFC 3339 time.
pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// SHA-256 of `bytes`, lower-case hex: a source's content hash.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses an age: `90s`, `30m`, `24h`, `3d` (a bare number is hours). The stale
/// threshold of `navscim lookup --stale-after` and the dashboard's refresh.
pub fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "h"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not an age like 24h, 90m, 3d"))?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    n.checked_mul(unit_secs)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}
