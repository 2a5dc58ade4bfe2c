//! One batch per target at a time, across processes and the TUI.
//!
//! Two `navscim apply` of one plan at once would PATCH every target twice (and, with a
//! create plan, make duplicates on a server without userName uniqueness). Every batch —
//! `navscim apply`, `journal resume`, `journal undo`, the TUI's apply, which all go
//! through [`crate::apply::Batch::start`] / [`crate::apply::Batch::resume`] — first
//! takes an exclusive advisory lock (`flock`, std's `File::try_lock`) on a lock file
//! for its **SCIM server** (the base URL, normalised) in the journal directory's
//! `locks/` folder, and holds it until the batch's run ends. The set of targets a batch
//! may touch is "users of that server", so this is a lock per target set; two batches
//! against different servers run side by side.
//!
//! The file holds the running batch's id, process id and start time, so the second
//! batch is refused naming the running one. The lock dies with its process: a
//! `kill -9` never leaves a stale lock (the text left in the file is ignored when the
//! lock is free).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct TargetLock {
    file: File,
    path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another batch against the same server is running.
    #[error("another batch is running against {base_url}: {holder}; wait for it to finish (or cancel it) and try again — nothing was sent")]
    Busy { base_url: String, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The base URL as compared: trimmed, without trailing `/`, lowercase.
fn normalise(base_url: &str) -> String {
    base_url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// FNV-1a, 64 bits: a stable file name for a base URL (the same in every build).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The lock file of `base_url` under the journal directory `dir`.
pub fn lock_path(dir: &Path, base_url: &str) -> PathBuf {
    let norm = normalise(base_url);
    let host: String = url::Url::parse(&norm)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    dir.join("locks")
        .join(format!("{host}-{:016x}.lock", fnv1a(&norm)))
}

impl TargetLock {
    /// Takes the lock of `base_url`'s batches, or says which batch holds it.
    pub fn acquire(dir: &Path, base_url: &str) -> Result<TargetLock, LockError> {
        let path = lock_path(dir, base_url);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = text.trim();
                return Err(LockError::Busy {
                    base_url: base_url.trim_end_matches('/').to_string(),
                    holder: if holder.is_empty() {
                        "a batch that is starting".into()
                    } else {
                        crate::sanitize::escape_value(holder)
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut lock = TargetLock { file, path };
        lock.set_holder("a batch that is starting");
        Ok(lock)
    }

    /// Records who holds the lock (shown to a batch that is refused).
    pub fn set_holder(&mut self, batch: &str) {
        let text = format!(
            "batch {batch} (process {}, since {})\n",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        let _ = self.file.set_len(0);
        let _ = self.file.seek(SeekFrom::Start(0));
        let _ = self.file.write_all(text.as_bytes());
        let _ = self.file.flush();
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_server_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = TargetLock::acquire(dir.path(), "http://127.0.0.1:9/scim/").unwrap();
        a.set_holder("20260101T000000000Z-abcd");
        let err = TargetLock::acquire(dir.path(), "HTTP://127.0.0.1:9/scim").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("20260101T000000000Z-abcd"), "{text}");
        // Another server is not blocked.
        let _b = TargetLock::acquire(dir.path(), "http://127.0.0.1:10/scim").unwrap();
        drop(a);
        let _c = TargetLock::acquire(dir.path(), "http://127.0.0.1:9/scim").unwrap();
    }
}
