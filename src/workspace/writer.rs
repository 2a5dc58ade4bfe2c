//! Writing lookup outcomes on a thread of their own, so a lookup run never waits on
//! SQLite (issue 11: writing 100,000 outcomes adds ≤ 10% to a lookup run).
//!
//! [`Workspace::outcome_writer`] hands the workspace to a writer thread fed by a
//! channel; [`OutcomeWriter::send`] only moves the outcome into the channel (no
//! serialisation, no I/O on the caller's thread). The thread writes everything that has
//! arrived in one transaction (at most [`MAX_ROWS_PER_TRANSACTION`]), so transactions
//! grow when the lookups are fast and `kill -9` loses at most the outcomes in the
//! channel and the transaction being written. [`OutcomeWriter::finish`] waits for the
//! last write and gives the workspace back.

use std::sync::mpsc;
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};

use super::{OutcomeRow, Workspace, WorkspaceError};
use crate::matching::LookupOutcome;

/// The most outcomes one transaction holds (bounds the work lost to a crash).
pub const MAX_ROWS_PER_TRANSACTION: usize = 5_000;

struct Pending {
    key: String,
    checked_at: DateTime<Utc>,
    outcome: Box<LookupOutcome>,
}

/// What the writer thread did ([`OutcomeWriter::finish`]).
#[derive(Debug, Default)]
pub struct WriterReport {
    /// Outcomes written (committed).
    pub written: usize,
    /// Transactions committed.
    pub transactions: usize,
    /// The first write error; nothing more was written after it.
    pub error: Option<WorkspaceError>,
}

/// The workspace, writing outcomes on its own thread. Made by
/// [`Workspace::outcome_writer`]; [`OutcomeWriter::finish`] gives the workspace back.
pub struct OutcomeWriter {
    tx: Option<mpsc::Sender<Pending>>,
    thread: Option<JoinHandle<Option<(Workspace, WriterReport)>>>,
}

impl std::fmt::Debug for OutcomeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutcomeWriter").finish_non_exhaustive()
    }
}

impl Workspace {
    /// Moves the workspace onto a writer thread for a lookup run (see the module docs).
    /// A read-only workspace writes nothing: the report's `error` says so. `Err`: no
    /// thread could be started; the workspace comes back with the error.
    pub fn outcome_writer(self) -> Result<OutcomeWriter, Box<(Workspace, WorkspaceError)>> {
        let (give, take) = mpsc::sync_channel::<Workspace>(1);
        let (tx, rx) = mpsc::channel::<Pending>();
        let spawned = std::thread::Builder::new()
            .name("workspace-writer".into())
            .spawn(move || match take.recv() {
                Ok(ws) => Some(write_loop(ws, rx)),
                Err(_) => None,
            });
        match spawned {
            Ok(handle) => {
                // The thread waits for it: this cannot fail while the thread lives.
                let _ = give.send(self);
                Ok(OutcomeWriter {
                    tx: Some(tx),
                    thread: Some(handle),
                })
            }
            Err(e) => {
                let err = self.err(format!("cannot start the workspace writer thread: {e}"));
                Err(Box::new((self, err)))
            }
        }
    }
}

fn write_loop(mut ws: Workspace, rx: mpsc::Receiver<Pending>) -> (Workspace, WriterReport) {
    let mut report = WriterReport::default();
    let mut rows: Vec<OutcomeRow> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(p) = next {
            if report.error.is_none() {
                rows.push(OutcomeRow::new(&p.key, p.checked_at, &p.outcome));
            }
            next = if rows.len() < MAX_ROWS_PER_TRANSACTION {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if rows.is_empty() {
            continue;
        }
        match ws.write_outcome_rows(&rows) {
            Ok(()) => {
                report.written += rows.len();
                report.transactions += 1;
            }
            Err(e) => report.error = Some(e),
        }
        rows.clear();
    }
    (ws, report)
}

impl OutcomeWriter {
    /// Queues one outcome for the user `key`, checked at `checked_at`. Never blocks and
    /// never fails: a write error is reported by [`OutcomeWriter::finish`].
    pub fn send(&self, key: &str, checked_at: DateTime<Utc>, outcome: Box<LookupOutcome>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Pending {
                key: key.to_string(),
                checked_at,
                outcome,
            });
        }
    }

    /// Waits until everything queued is written, and gives the workspace back with what
    /// was written. A panic of the writer thread is passed on.
    pub fn finish(mut self) -> (Workspace, WriterReport) {
        drop(self.tx.take());
        let handle = self.thread.take().expect("finish is called once");
        match handle.join() {
            Ok(Some(out)) => out,
            // The workspace was sent before `outcome_writer` returned.
            Ok(None) => unreachable!("the writer thread always receives the workspace"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
