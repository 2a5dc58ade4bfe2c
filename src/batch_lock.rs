//! One batch per target at a time, across processes and the TUI.
//!
//! Two `navscim apply` of one plan at once would PATCH every target twice (and, with a
//! create plan, make duplicates on a server without userName uniqueness). Every batch —
//! `navscim apply`, `journal resume`, `journal undo`, the TUI's apply, which all go
//! through [`crate::apply::Batch::start`] / [`crate::apply::Batch::resume`] — first
//! takes an exclusive advisory lock (`flock`, std's `File::try_lock`) on its **journal
//! directory** and holds it until the batch's run ends. Everything one admin's navscim
//! can change is recorded in that directory, so this is a lock per target set; it adds
//! no file to the directory.
//!
//! The second batch is refused naming the running one: the batch whose journal file is
//! locked by its writer (see [`crate::journal::is_locked`]). The lock dies with its
//! process: a `kill -9` never leaves a stale lock.

use std::fs::File;
use std::path::{Path, PathBuf};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct TargetLock {
    _file: File,
    path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another batch is running on this journal.
    #[error("another batch is running ({holder}, journal {dir}); wait for it to finish (or cancel it) and try again — nothing was sent")]
    Busy { dir: String, holder: String },
    #[error("cannot lock the journal {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Who runs a batch on `dir` now, in words.
fn holder(dir: &Path) -> String {
    let (logs, _) = crate::journal::list(dir);
    match logs
        .iter()
        .rev()
        .find(|l| crate::journal::is_locked(&l.path))
    {
        Some(l) => format!(
            "batch {} against {}, started {} by {}",
            l.id(),
            l.header.base_url,
            l.header.at.format("%Y-%m-%d %H:%M:%S UTC"),
            l.header.operator
        ),
        None => "a batch that is starting".into(),
    }
}

impl TargetLock {
    /// Takes the lock of the journal directory `dir` (created if missing), or says
    /// which batch holds it.
    pub fn acquire(dir: &Path) -> Result<TargetLock, LockError> {
        let io = |source| LockError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = File::open(dir).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(TargetLock {
                _file: file,
                path: dir.to_path_buf(),
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy {
                dir: dir.display().to_string(),
                holder: crate::sanitize::escape_value(&holder(dir)),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The directory locked.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = TargetLock::acquire(dir.path()).unwrap();
        let err = TargetLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("another batch is running"),
            "{err}"
        );
        let other = tempfile::tempdir().unwrap();
        let _b = TargetLock::acquire(other.path()).unwrap();
        drop(a);
        let _c = TargetLock::acquire(dir.path()).unwrap();
        // No file is added to the journal directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
