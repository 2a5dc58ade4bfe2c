//! The journal: an append-only, fsync'd JSON-lines record of every lifecycle operation
//! navscim performs (DESIGN.md section 8).
//!
//! # Layout
//!
//! One file per batch, `data_dir()/journal/<batch-id>.jsonl`. A batch id is
//! `YYYYMMDDTHHMMSSmmmZ-xxxx` (UTC start time to the millisecond and four random hex
//! digits), so the files sort by start time. Each line is one [`Entry`], tagged by `"type"`:
//!
//! - `batch` — the first line: the whole [`Plan`], the gates it passed, the base URL,
//!   who ran it and when. Resume needs nothing but this file. Never the token.
//! - `intent` — written and fsync'd **before** a state-changing request, with the
//!   state the re-read found (`before`).
//! - `result` — written and fsync'd **after** the answer: `applied`, `already` (no
//!   request was needed) or `failed`.
//! - `note` — pause, resume, circuit breaker, repairs.
//! - `end` — the run stopped (completed, failed, cancelled, circuit breaker). A batch
//!   without an `end` line was interrupted (crash, `kill -9`, power loss).
//!
//! An operation may have several intent/result pairs (a failure, then a resume); the
//! last one counts.
//!
//! # Crash safety
//!
//! Each line is written with a single `write` on a file opened with `O_APPEND`, then
//! `fsync`'d (`sync_data`) before navscim goes on (group commit: lines written by
//! concurrent operations share one fsync, and no caller returns before an fsync that
//! covers its own line). A line written but not yet fsync'd when navscim dies may or
//! may not survive; either way is safe (an intent without a result is re-read). A crash can therefore leave at most
//! one torn (incomplete) last line, which readers skip with a note and which the next
//! writer of that batch cuts off (noting it in the journal). A torn `intent` was never
//! fsync'd, so its request was never sent; a torn `result` means the answer was lost,
//! which resume handles by re-reading the target.
//!
//! # Several navscim processes
//!
//! Batches never share a file, and a new batch's file is created with `create_new`.
//! The process that runs (or resumes) a batch holds an exclusive advisory lock
//! (`flock`) on its file for the whole run, so two processes cannot resume the same
//! batch at once; the lock dies with the process, so a `kill -9` never leaves a stale
//! lock behind. Readers (`journal list`, `show`) take no lock and tolerate a line that
//! is being written.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::plan::{OpKind, Permissions, Plan, Thresholds};

pub const JOURNAL_VERSION: u32 = 1;

/// Scrubs every string in `value` (see [`crate::secret::scrub`]).
fn scrub_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            let clean = crate::secret::scrub(s);
            if clean != *s {
                *s = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub_strings),
        _ => {}
    }
}

/// Test hook: `NAVSCIM_TEST_CRASH_AFTER=N` aborts the process (like `kill -9`) at the
/// N-th crash point — after each fsync'd journal line and after each state-changing
/// request returns, before its result is written. Used by the crash tests; it can only
/// make navscim stop, which the journal is built to survive.
pub const CRASH_ENV: &str = "NAVSCIM_TEST_CRASH_AFTER";

/// `data_dir()/journal`.
pub fn default_dir() -> PathBuf {
    crate::config::data_dir().join("journal")
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    Batch(Box<BatchHeader>),
    Intent(Intent),
    Result(OpResult),
    Note(Note),
    End(End),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    Apply,
    Undo,
}

impl BatchKind {
    /// `apply` or `undo`: how `navscim journal list` and the History pane name it.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchKind::Apply => "apply",
            BatchKind::Undo => "undo",
        }
    }
}

/// The gates a batch passed, as recorded (the protected list itself is not copied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatesRecord {
    pub permissions: Permissions,
    pub thresholds: Thresholds,
    pub delete_allowed: bool,
    pub protected_users: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchHeader {
    pub v: u32,
    pub batch: String,
    pub at: DateTime<Utc>,
    pub kind: BatchKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_of: Option<String>,
    /// The plan file it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
    pub base_url: String,
    /// `user@host` of whoever ran it.
    pub operator: String,
    pub navscim_version: String,
    pub gates: GatesRecord,
    pub plan: Plan,
}

/// What a re-read found before a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub exists: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Index of the operation in the plan.
    pub seq: usize,
    pub at: DateTime<Utc>,
    pub op: OpKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// 1 for the first run's attempt, more after a failure or a resume.
    pub attempt: u32,
    pub before: Observed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made by navscim (request answered, or confirmed by a re-read
    /// after an interruption).
    Applied,
    /// Nothing needed doing: already in the target state, or 404 on deactivate.
    Already,
    Failed,
}

impl Outcome {
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Applied | Outcome::Already)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Already => "already",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Auth,
    Network,
    Server,
    Local,
    Journal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpResult {
    pub seq: usize,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    pub detail: String,
    /// Whether a state-changing request was sent for this result.
    pub request_sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// The SCIM id (of a created user, where it was not known before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndStatus {
    /// Every operation succeeded.
    Completed,
    /// Every operation was tried; some failed.
    Failed,
    Cancelled,
    /// The circuit breaker stopped it after repeated failures.
    CircuitBreaker,
    /// The journal could not be written: stopped to stay exactly-once.
    JournalError,
}

impl EndStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndStatus::Completed => "completed",
            EndStatus::Failed => "failed",
            EndStatus::Cancelled => "cancelled",
            EndStatus::CircuitBreaker => "circuit breaker",
            EndStatus::JournalError => "journal error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct End {
    pub at: DateTime<Utc>,
    pub status: EndStatus,
    pub applied: usize,
    pub already: usize,
    pub failed: usize,
    pub not_started: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where one operation stands after replaying the journal.
#[derive(Debug, Clone, PartialEq)]
pub enum OpState {
    NotStarted,
    /// An intent without a result: the request may or may not have reached the server.
    InDoubt {
        intent: Intent,
    },
    Finished {
        result: OpResult,
        /// The intent of the last attempt that sent (or may have sent) a request,
        /// while it is relevant (see [`BatchLog::op_states`]).
        intent: Option<Intent>,
    },
}

impl OpState {
    pub fn is_done(&self) -> bool {
        matches!(self, OpState::Finished { result, .. } if result.outcome.is_success())
    }

    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            OpState::Finished { result, .. } => Some(result.outcome),
            _ => None,
        }
    }

    /// The state in one word (`not_started`, `in_doubt`, `applied`, `already`,
    /// `failed`) and what the journal says about it (the result's detail; for an
    /// operation in doubt, what a resume does). Shared by `navscim journal show` and
    /// the History pane.
    pub fn word(&self) -> (&'static str, String) {
        match self {
            OpState::NotStarted => ("not_started", String::new()),
            OpState::InDoubt { .. } => (
                "in_doubt",
                "interrupted; resume re-reads the user before anything is sent".into(),
            ),
            OpState::Finished { result, .. } => (result.outcome.as_str(), result.detail.clone()),
        }
    }
}

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Completed,
    /// No `end` line: the process died while running it (or is running it now —
    /// see [`is_locked`]).
    Interrupted,
    /// Stopped with operations not done (failed, cancelled, circuit breaker).
    Stopped(EndStatus),
}

impl BatchStatus {
    pub fn label(self) -> String {
        match self {
            BatchStatus::Completed => "completed".into(),
            BatchStatus::Interrupted => "interrupted".into(),
            BatchStatus::Stopped(s) => format!("stopped ({})", s.as_str()),
        }
    }
}

/// A batch's journal, read back.
#[derive(Debug, Clone)]
pub struct BatchLog {
    pub path: PathBuf,
    pub header: BatchHeader,
    pub entries: Vec<Entry>,
    /// Problems met while reading (a torn last line, an unreadable line).
    pub notes: Vec<String>,
    /// Bytes of a torn last line (crash mid-write), if any.
    pub torn_tail: Option<u64>,
    /// Length of the file up to the end of the last complete line.
    pub good_len: u64,
}

impl BatchLog {
    pub fn id(&self) -> &str {
        &self.header.batch
    }

    /// The state of every operation, by index in the plan.
    pub fn op_states(&self) -> Vec<OpState> {
        let mut states = vec![OpState::NotStarted; self.header.plan.operations.len()];
        for e in &self.entries {
            match e {
                Entry::Intent(i) if i.seq < states.len() => {
                    states[i.seq] = OpState::InDoubt { intent: i.clone() };
                }
                Entry::Result(r) if r.seq < states.len() => {
                    // The intent stays attached while it matters: a request was sent,
                    // or the attempt failed (an earlier request may still have landed,
                    // which the next run's re-read decides by the intent's `before`).
                    let keep = r.request_sent || r.outcome == Outcome::Failed;
                    let intent = match &states[r.seq] {
                        OpState::InDoubt { intent } if keep => Some(intent.clone()),
                        OpState::Finished { intent, .. } if keep => intent.clone(),
                        _ => None,
                    };
                    states[r.seq] = OpState::Finished {
                        result: r.clone(),
                        intent,
                    };
                }
                _ => {}
            }
        }
        states
    }

    /// How many attempts (intents) each operation had.
    pub fn attempts(&self) -> Vec<u32> {
        let mut n = vec![0; self.header.plan.operations.len()];
        for e in &self.entries {
            if let Entry::Intent(i) = e {
                if let Some(c) = n.get_mut(i.seq) {
                    *c += 1;
                }
            }
        }
        n
    }

    pub fn last_end(&self) -> Option<&End> {
        self.entries.iter().rev().find_map(|e| match e {
            Entry::End(end) => Some(end),
            _ => None,
        })
    }

    pub fn status(&self) -> BatchStatus {
        let states = self.op_states();
        if states.iter().all(OpState::is_done) {
            return BatchStatus::Completed;
        }
        // The last line decides: an `end` after the last operation entry means the
        // run stopped cleanly; anything else means it was interrupted.
        match self
            .entries
            .iter()
            .rev()
            .find(|e| !matches!(e, Entry::Note(_)))
        {
            Some(Entry::End(end)) => BatchStatus::Stopped(end.status),
            _ => BatchStatus::Interrupted,
        }
    }

    /// [`BatchLog::status`] in words, or `running` when an interrupted-looking batch
    /// is held by a running navscim (its lock is taken: see [`is_locked`]). Reads the
    /// lock, so it touches the file system. Shared by `navscim journal list | show`.
    pub fn status_word(&self) -> String {
        let st = self.status();
        if st == BatchStatus::Interrupted && is_locked(&self.path) {
            "running".into()
        } else {
            st.label()
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in self.op_states() {
            match s {
                OpState::NotStarted => c.not_started += 1,
                OpState::InDoubt { .. } => c.in_doubt += 1,
                OpState::Finished { result, .. } => match result.outcome {
                    Outcome::Applied => c.applied += 1,
                    Outcome::Already => c.already += 1,
                    Outcome::Failed => c.failed += 1,
                },
            }
        }
        c
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub applied: usize,
    pub already: usize,
    pub failed: usize,
    pub in_doubt: usize,
    pub not_started: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("journal {path}: {detail}")]
    Invalid { path: String, detail: String },
    #[error("no batch {0:?} in the journal")]
    UnknownBatch(String),
    #[error("{0:?} matches several batches: {1}")]
    Ambiguous(String, String),
    #[error("batch {0} is being run by another navscim process")]
    Busy(String),
}

fn io_err(path: &Path, source: io::Error) -> JournalError {
    JournalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads one batch file. Tolerates a torn last line (noted, never a panic); any other
/// unreadable line is skipped with a note.
pub fn read_batch(path: &Path) -> Result<BatchLog, JournalError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io_err(path, e))?;
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    let mut torn_tail = None;
    let mut pos = 0usize;
    let mut good_len = 0u64;
    let mut line_no = 0usize;
    while pos < bytes.len() {
        line_no += 1;
        let (line, complete, next) = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(n) => (&bytes[pos..pos + n], true, pos + n + 1),
            None => (&bytes[pos..], false, bytes.len()),
        };
        let parsed = std::str::from_utf8(line)
            .ok()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(serde_json::from_str::<Entry>);
        match (parsed, complete) {
            (Some(Ok(entry)), true) => {
                entries.push(entry);
                good_len = next as u64;
            }
            (None, true) => good_len = next as u64,
            (_, false) => {
                torn_tail = Some((bytes.len() - pos) as u64);
                notes.push(format!(
                    "line {line_no}: the last entry was cut short ({} bytes, a crash while writing); ignored",
                    bytes.len() - pos
                ));
            }
            (Some(Err(e)), true) => {
                notes.push(format!("line {line_no}: unreadable entry ({e}); skipped"));
                good_len = next as u64;
            }
        }
        pos = next;
    }
    let header = match entries.first() {
        Some(Entry::Batch(h)) => (**h).clone(),
        _ => {
            return Err(JournalError::Invalid {
                path: path.display().to_string(),
                detail: "does not start with a batch header".into(),
            })
        }
    };
    Ok(BatchLog {
        path: path.to_path_buf(),
        header,
        entries,
        notes,
        torn_tail,
        good_len,
    })
}

/// Every batch in `dir`, oldest first. Files that cannot be read are returned as
/// errors alongside, so one bad file does not hide the others.
pub fn list(dir: &Path) -> (Vec<BatchLog>, Vec<JournalError>) {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return (Vec::new(), vec![io_err(dir, e)]),
    };
    paths.sort();
    let mut logs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match read_batch(&p) {
            Ok(l) => logs.push(l),
            Err(e) => errors.push(e),
        }
    }
    logs.sort_by(|a, b| (a.header.at, a.id()).cmp(&(b.header.at, b.id())));
    (logs, errors)
}

/// Batches a crash or kill left unfinished (no `end` line, operations not done) and
/// that no running navscim holds: what the TUI offers to resume at start.
pub fn unfinished(dir: &Path) -> Vec<BatchLog> {
    list(dir)
        .0
        .into_iter()
        .filter(|l| l.status() == BatchStatus::Interrupted && !is_locked(&l.path))
        .collect()
}

/// The file of batch `id`. `id` may be a unique prefix, or `last` for the newest.
pub fn find(dir: &Path, id: &str) -> Result<PathBuf, JournalError> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.strip_suffix(".jsonl").map(str::to_string)
            })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_err(dir, e)),
    };
    names.sort();
    if id == "last" {
        return names
            .last()
            .map(|n| dir.join(format!("{n}.jsonl")))
            .ok_or_else(|| JournalError::UnknownBatch(id.into()));
    }
    if id.is_empty() || id.contains(['/', '\\']) {
        return Err(JournalError::UnknownBatch(id.into()));
    }
    if names.iter().any(|n| n == id) {
        return Ok(dir.join(format!("{id}.jsonl")));
    }
    let hits: Vec<&String> = names.iter().filter(|n| n.starts_with(id)).collect();
    match hits[..] {
        [one] => Ok(dir.join(format!("{one}.jsonl"))),
        [] => Err(JournalError::UnknownBatch(id.into())),
        _ => Err(JournalError::Ambiguous(
            id.into(),
            hits.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Whether another process holds the batch's lock (it is running right now).
pub fn is_locked(path: &Path) -> bool {
    match OpenOptions::new().append(true).open(path) {
        Ok(f) => match f.try_lock() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(_) => false,
        },
        Err(_) => false,
    }
}

/// `user@host` for the batch header.
pub fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// The writer of one batch's journal. Holds the batch's lock while it lives.
#[derive(Debug)]
pub struct Writer {
    path: PathBuf,
    file: File,
    /// Lines written so far (serialises the writes).
    written: Mutex<u64>,
    /// Lines known to be on disk (serialises the fsyncs: group commit).
    synced: Mutex<u64>,
    batch: String,
}

impl Writer {
    /// Creates a new batch file, writes and fsyncs its header. Fills in `header.batch`.
    pub fn create(dir: &Path, header: &mut BatchHeader) -> Result<Writer, JournalError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let mut tries = 0;
        let (path, file) = loop {
            let id = format!(
                "{}-{:04x}",
                header.at.format("%Y%m%dT%H%M%S%3fZ"),
                fastrand::u16(..)
            );
            let path = dir.join(format!("{id}.jsonl"));
            let mut opts = OpenOptions::new();
            opts.append(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(&path) {
                Ok(f) => {
                    header.batch = id;
                    break (path, f);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 100 => tries += 1,
                Err(e) => return Err(io_err(&path, e)),
            }
        };
        file.try_lock()
            .map_err(|_| JournalError::Busy(header.batch.clone()))?;
        let w = Writer {
            path,
            file,
            written: Mutex::new(0),
            synced: Mutex::new(0),
            batch: header.batch.clone(),
        };
        w.append(&Entry::Batch(Box::new(header.clone())))?;
        // The new file's name must survive a power loss too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(w)
    }

    /// Opens an existing batch to continue it: takes the lock (refused if another
    /// process runs it), re-reads it under the lock and cuts off a torn last line.
    pub fn open(path: &Path) -> Result<(Writer, BatchLog), JournalError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        file.try_lock().map_err(|_| JournalError::Busy(name))?;
        let log = read_batch(path)?;
        if let Some(torn) = log.torn_tail {
            file.set_len(log.good_len).map_err(|e| io_err(path, e))?;
            file.sync_all().map_err(|e| io_err(path, e))?;
            let _ = torn;
        }
        let w = Writer {
            path: path.to_path_buf(),
            file,
            written: Mutex::new(0),
            synced: Mutex::new(0),
            batch: log.header.batch.clone(),
        };
        if let Some(torn) = log.torn_tail {
            w.append(&Entry::Note(Note {
                at: Utc::now(),
                text: format!(
                    "repaired: removed a torn last line of {torn} bytes (a crash while writing)"
                ),
            }))?;
        }
        Ok((w, log))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn batch(&self) -> &str {
        &self.batch
    }

    /// Writes one entry as one line with a single write, then fsyncs. Blocking.
    pub fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let encode_err = |e: serde_json::Error| JournalError::Invalid {
            path: self.path.display().to_string(),
            detail: format!("cannot encode an entry: {e}"),
        };
        // The journal is kept for audit: no secret navscim holds is ever written to it
        // (a server's error text quoted in a result, a note), in any encoding. Each
        // string value is scrubbed, so the line stays valid JSON.
        let mut value = serde_json::to_value(entry).map_err(encode_err)?;
        scrub_strings(&mut value);
        let mut line = serde_json::to_vec(&value).map_err(encode_err)?;
        line.push(b'\n');
        let mine = {
            let mut n = self.written.lock().unwrap_or_else(|p| p.into_inner());
            (&self.file)
                .write_all(&line)
                .map_err(|e| io_err(&self.path, e))?;
            *n += 1;
            *n
        };
        // Group commit: one fsync covers every line written before it, so concurrent
        // operations share fsyncs; no caller returns before its own line is on disk.
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced < mine {
            let upto = *self.written.lock().unwrap_or_else(|p| p.into_inner());
            self.file.sync_data().map_err(|e| io_err(&self.path, e))?;
            *synced = upto;
        }
        // Under the lock, so that no other fsync'd line follows a simulated crash.
        crash_point();
        Ok(())
    }

    pub fn note(&self, text: impl Into<String>) -> Result<(), JournalError> {
        self.append(&Entry::Note(Note {
            at: Utc::now(),
            text: text.into(),
        }))
    }
}

/// See [`CRASH_ENV`]. A no-op unless that variable is set.
pub fn crash_point() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::OnceLock;
    static LEFT: OnceLock<Option<AtomicI64>> = OnceLock::new();
    let left = LEFT.get_or_init(|| {
        std::env::var(CRASH_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(AtomicI64::new)
    });
    if let Some(left) = left {
        if left.fetch_sub(1, Ordering::SeqCst) == 1 {
            std::process::abort();
        }
    }
}

/// One row per operation for an audit trail: what was planned, why, and what happened.
pub fn export_csv(log: &BatchLog, out: impl Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "batch",
        "batch_kind",
        "undo_of",
        "operator",
        "base_url",
        "seq",
        "op",
        "scim_id",
        "email",
        "user_name",
        "name",
        "reason",
        "outcome",
        "detail",
        "request_sent",
        "attempts",
        "before_active",
        "started_at",
        "finished_at",
    ])?;
    let states = log.op_states();
    let attempts = log.attempts();
    let h = &log.header;
    let kind = match h.kind {
        BatchKind::Apply => "apply",
        BatchKind::Undo => "undo",
    };
    for (seq, op) in h.plan.operations.iter().enumerate() {
        let (outcome, detail, sent, scim_id, intent, finished) = match &states[seq] {
            OpState::NotStarted => ("not_started", String::new(), false, None, None, None),
            OpState::InDoubt { intent } => (
                "in_doubt",
                "interrupted after the request was prepared; resume re-reads the user".into(),
                false,
                None,
                Some(intent),
                None,
            ),
            OpState::Finished { result, intent } => (
                result.outcome.as_str(),
                result.detail.clone(),
                result.request_sent,
                result.scim_id.clone(),
                intent.as_ref(),
                Some(result.at),
            ),
        };
        let op_name = serde_json::to_value(op.op)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        w.write_record([
            h.batch.as_str(),
            kind,
            h.undo_of.as_deref().unwrap_or(""),
            h.operator.as_str(),
            h.base_url.as_str(),
            &seq.to_string(),
            &op_name,
            scim_id.as_deref().or(op.scim_id.as_deref()).unwrap_or(""),
            op.email.as_deref().unwrap_or(""),
            op.user_name.as_deref().unwrap_or(""),
            op.name.as_str(),
            op.reason.as_str(),
            outcome,
            &detail,
            if sent { "yes" } else { "no" },
            &attempts[seq].to_string(),
            &intent
                .and_then(|i| i.before.active)
                .map(|a| a.to_string())
                .unwrap_or_default(),
            &intent.map(|i| i.at.to_rfc3339()).unwrap_or_default(),
            &finished.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Operation, PLAN_VERSION};

    fn header(n: usize) -> BatchHeader {
        BatchHeader {
            v: JOURNAL_VERSION,
            batch: String::new(),
            at: Utc::now(),
            kind: BatchKind::Apply,
            undo_of: None,
            plan_file: None,
            base_url: "http://127.0.0.1:1/scim".into(),
            operator: operator(),
            navscim_version: "test".into(),
            gates: GatesRecord {
                permissions: Permissions::default(),
                thresholds: Thresholds::default(),
                delete_allowed: false,
                protected_users: 0,
            },
            plan: Plan {
                version: PLAN_VERSION,
                created_at: Utc::now(),
                inputs: vec![],
                parameters: serde_json::Value::Null,
                matched_users: 10,
                operations: (0..n)
                    .map(|i| {
                        Operation::for_test(
                            OpKind::Deactivate,
                            format!("id{i}"),
                            format!("u{i}@x.io"),
                        )
                    })
                    .collect(),
                excluded: vec![],
                target: None,
            },
        }
    }

    fn result(seq: usize, outcome: Outcome) -> Entry {
        Entry::Result(OpResult {
            seq,
            at: Utc::now(),
            outcome,
            detail: String::new(),
            request_sent: true,
            failure: None,
            scim_id: None,
        })
    }

    fn intent(seq: usize) -> Entry {
        Entry::Intent(Intent {
            seq,
            at: Utc::now(),
            op: OpKind::Deactivate,
            scim_id: Some(format!("id{seq}")),
            user_name: None,
            attempt: 1,
            before: Observed {
                exists: true,
                active: Some(true),
            },
        })
    }

    #[test]
    fn replay_states_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = header(3);
        let w = Writer::create(dir.path(), &mut h).unwrap();
        assert!(!h.batch.is_empty());
        w.append(&intent(0)).unwrap();
        w.append(&result(0, Outcome::Applied)).unwrap();
        w.append(&intent(1)).unwrap();
        let path = w.path().to_path_buf();
        assert!(is_locked(&path));
        drop(w);
        assert!(!is_locked(&path));
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"type":"result","seq":1,"at":"20"#)
            .unwrap();
        drop(f);

        let log = read_batch(&path).unwrap();
        assert_eq!(log.torn_tail, Some(33));
        assert!(log.notes[0].contains("cut short"), "{:?}", log.notes);
        let st = log.op_states();
        assert!(st[0].is_done());
        assert!(matches!(st[1], OpState::InDoubt { .. }));
        assert_eq!(st[2], OpState::NotStarted);
        assert_eq!(log.status(), BatchStatus::Interrupted);

        let (w, log2) = Writer::open(&path).unwrap();
        assert_eq!(log2.torn_tail, Some(33));
        w.append(&result(1, Outcome::Already)).unwrap();
        w.append(&result(2, Outcome::Applied)).unwrap();
        drop(w);
        let log3 = read_batch(&path).unwrap();
        assert_eq!(log3.torn_tail, None);
        assert!(log3.notes.is_empty(), "{:?}", log3.notes);
        assert_eq!(log3.status(), BatchStatus::Completed);
        assert!(log3
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Note(n) if n.text.contains("torn"))));
    }

    #[test]
    fn second_writer_is_refused_while_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = header(1);
        let w = Writer::create(dir.path(), &mut h).unwrap();
        let err = Writer::open(w.path()).unwrap_err();
        assert!(matches!(err, JournalError::Busy(_)), "{err}");
    }

    #[test]
    fn find_by_prefix_and_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = header(1);
        let wa = Writer::create(dir.path(), &mut a).unwrap();
        let mut b = header(1);
        b.at = a.at + chrono::Duration::seconds(5);
        let wb = Writer::create(dir.path(), &mut b).unwrap();
        assert_eq!(find(dir.path(), "last").unwrap(), wb.path());
        assert_eq!(find(dir.path(), &a.batch).unwrap(), wa.path());
        assert_eq!(find(dir.path(), &a.batch[..18]).unwrap(), wa.path());
        assert!(matches!(
            find(dir.path(), "2").unwrap_err(),
            JournalError::Ambiguous(..)
        ));
        assert!(find(dir.path(), "../x").is_err());
        let (logs, errs) = list(dir.path());
        assert_eq!(logs.len(), 2);
        assert!(errs.is_empty());
    }

    #[test]
    fn export_has_a_row_per_operation() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = header(2);
        let w = Writer::create(dir.path(), &mut h).unwrap();
        w.append(&intent(0)).unwrap();
        w.append(&result(0, Outcome::Applied)).unwrap();
        let log = read_batch(w.path()).unwrap();
        let mut out = Vec::new();
        export_csv(&log, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains(",0,deactivate,id0,u0@x.io,"), "{text}");
        assert!(text.contains("applied"));
        assert!(text.contains("not_started"));
    }
}
