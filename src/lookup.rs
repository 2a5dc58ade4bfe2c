//! The lookup engine: finds each user over SCIM by the configured precedence,
//! concurrently, cancellably, remembering per connection which lookups the server
//! rejects. Shared by the Users pane and `navscim lookup`.
// INTERFACE STUB — filled in by the lookup work.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::matching::{DirUser, LookupKind, LookupOutcome};
use crate::scim::{ScimClient, ScimError, ScimUser};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOptions {
    /// Which lookups to try, in order (default: stored id, externalId, userName, email).
    pub precedence: Vec<LookupKind>,
    /// Users looked up at once.
    pub concurrency: usize,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            precedence: LookupKind::DEFAULT_PRECEDENCE.to_vec(),
            concurrency: 8,
        }
    }
}

/// The lookup kinds this connection's server rejected as unsupported. Shared by every
/// batch on the same connection, so a rejected kind is skipped for the remaining users
/// instead of being retried per user.
#[derive(Debug, Clone, Default)]
pub struct Unsupported(Arc<Mutex<HashSet<LookupKind>>>);

impl Unsupported {
    pub fn contains(&self, kind: LookupKind) -> bool {
        self.0.lock().map(|s| s.contains(&kind)).unwrap_or(false)
    }

    pub fn insert(&self, kind: LookupKind) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(kind);
        }
    }

    pub fn kinds(&self) -> Vec<LookupKind> {
        let mut v: Vec<_> = self
            .0
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// One user to look up; `index` is the caller's position for it (e.g. in a Directory).
#[derive(Debug, Clone)]
pub struct LookupJob {
    pub index: usize,
    pub user: DirUser,
}

/// Streamed to the caller while a batch runs.
#[derive(Debug, Clone)]
pub enum LookupEvent {
    Started(usize),
    Finished(usize, Box<LookupOutcome>),
}

/// Totals of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub finished: usize,
    /// Jobs never started because the batch was cancelled.
    pub cancelled: usize,
}

/// Looks one user up.
pub async fn lookup_one(
    client: &ScimClient,
    user: &DirUser,
    options: &LookupOptions,
    unsupported: &Unsupported,
) -> LookupOutcome {
    let _ = (client, user, options, unsupported);
    todo!("lookup work")
}

/// Looks every job up with at most `options.concurrency` at once, sending an event per
/// start and finish. Cancelling stops new lookups; those in flight finish and are sent.
pub async fn run_batch(
    client: ScimClient,
    jobs: Vec<LookupJob>,
    options: LookupOptions,
    unsupported: Unsupported,
    cancel: CancellationToken,
    events: UnboundedSender<LookupEvent>,
) -> BatchSummary {
    let _ = (client, jobs, options, unsupported, cancel, events);
    todo!("lookup work")
}

/// Verifies a SCIM id typed by the admin (link by hand): `GET /Users/{id}`.
pub async fn verify_link(
    client: &ScimClient,
    scim_id: &str,
) -> Result<Option<ScimUser>, ScimError> {
    client.get_user(scim_id).await
}
