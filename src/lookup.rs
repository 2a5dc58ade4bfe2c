//! The lookup engine: finds each user over SCIM by the configured precedence,
//! concurrently, cancellably, remembering per connection which lookups the server
//! rejects. Shared by the Users pane and `navscim lookup`.
//!
//! # One user ([`lookup_one`])
//!
//! For each kind in [`LookupOptions::precedence`]:
//!
//! - skipped (recorded as [`AttemptResult::Skipped`]) when the user has no value for it
//!   or the server already rejected that kind on this connection ([`Unsupported`]);
//! - [`LookupKind::StoredId`] is `GET /Users/{id}`; the others are
//!   `GET /Users?filter=<attr> eq "<value>"`;
//! - every returned resource goes through navscim's own exact comparison (userName and
//!   `emails.value` case-insensitive after trimming, externalId exact, the id exact):
//!   a server may return loose hits, only exact ones count;
//! - one exact hit: [`MatchStatus::Matched`]; several: [`MatchStatus::Ambiguous`] with
//!   every candidate (the search stops there); none: the next kind;
//! - `400 invalidFilter` (or `501`): recorded as [`AttemptResult::Unsupported`], the kind
//!   is remembered in [`Unsupported`] and the next kind is tried;
//! - any other error (after the client's own retries): recorded, the next kind is tried.
//!   When no kind matched and any errored the status is [`MatchStatus::Error`] with the
//!   last error: an error is never reported as "not found";
//! - a 401/403 stops at once (every further request would be refused the same way);
//! - so do the batch's circuit breaker ([`ScimError::Stopped`]), a `Retry-After` longer
//!   than the client waits ([`ScimError::WaitTooLong`]) and a cancellation: the user is
//!   `error` and no further kind is tried.
//!
//! # Breaker
//!
//! [`run_batch`] guards its client with a [`Breaker`] that trips after
//! [`BREAKER_AFTER`] consecutive server failures (429, 5xx, timeouts, dropped
//! connections; requests go one at a time while failures last): no more requests, the
//! remaining users are not looked up, and [`BatchSummary::stopped`] says why with the
//! server's own message. A spent daily quota (every request 429, no `Retry-After`)
//! therefore costs [`BREAKER_AFTER`] requests, not retries × kinds × users.
//!
//! The first request of each filtered kind on a connection is sent alone: users who
//! need that kind wait until the server has answered it once, so a kind the server
//! rejects costs exactly one request per connection, not one per worker.
//!
//! # Request counts
//!
//! [`Attempt::requests`] is a lower bound: 1 for every request that got an answer (the
//! client retries 429/5xx/timeouts internally and its [`crate::scim::ClientStats`] are
//! per client, not per call), and the exact number for `RateLimited`, whose error
//! carries the attempts made.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::matching::{
    contradictions, external_id_warning, Attempt, AttemptResult, DirUser, Directory, DomainAliases,
    LookupKind, LookupOutcome, MatchStatus, Seat,
};
use crate::scim::{Breaker, Filter, ScimClient, ScimError, ScimUser};

/// Consecutive server failures (see [`Breaker`]) after which a lookup batch stops.
pub const BREAKER_AFTER: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOptions {
    /// Which lookups to try, in order (default: stored id, externalId, userName, email).
    pub precedence: Vec<LookupKind>,
    /// Users looked up at once.
    pub concurrency: usize,
    /// Domains that are the same company, for comparing a hit's emails with the
    /// source user's (see [`crate::matching::contradictions`]).
    pub aliases: DomainAliases,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            precedence: LookupKind::DEFAULT_PRECEDENCE.to_vec(),
            concurrency: 8,
            aliases: DomainAliases::default(),
        }
    }
}

/// The lookup kinds this connection's server rejected as unsupported. Shared by every
/// batch on the same connection, so a rejected kind is skipped for the remaining users
/// instead of being retried per user.
///
/// Clones share the state. Use one per connection (base URL + token).
#[derive(Debug, Clone, Default)]
pub struct Unsupported(Arc<UnsupportedInner>);

#[derive(Debug, Default)]
struct UnsupportedInner {
    /// Kinds the server rejected.
    rejected: Mutex<HashSet<LookupKind>>,
    /// Kinds the server answered at least once without rejecting them.
    accepted: Mutex<HashSet<LookupKind>>,
    /// Held while the first request of a kind is in flight (index: kind as usize).
    probing: [tokio::sync::Mutex<()>; 4],
    /// Kinds (userName, emails) the server was seen to compare case-sensitively: the
    /// value as written found nothing, the lower-cased value found the user.
    case_sensitive: Mutex<HashSet<LookupKind>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Unsupported {
    pub fn contains(&self, kind: LookupKind) -> bool {
        lock(&self.0.rejected).contains(&kind)
    }

    pub fn insert(&self, kind: LookupKind) {
        lock(&self.0.rejected).insert(kind);
    }

    pub fn kinds(&self) -> Vec<LookupKind> {
        let mut v: Vec<_> = lock(&self.0.rejected).iter().copied().collect();
        v.sort();
        v
    }

    /// Forgets what was learnt (e.g. after the base URL or token changed).
    pub fn clear(&self) {
        lock(&self.0.rejected).clear();
        lock(&self.0.accepted).clear();
        lock(&self.0.case_sensitive).clear();
    }

    /// Whether the server was seen to compare this kind's values case-sensitively
    /// (then the lower-cased value is sent first).
    pub fn case_sensitive(&self, kind: LookupKind) -> bool {
        lock(&self.0.case_sensitive).contains(&kind)
    }

    fn set_case_sensitive(&self, kind: LookupKind) {
        lock(&self.0.case_sensitive).insert(kind);
    }

    fn accepted(&self, kind: LookupKind) -> bool {
        lock(&self.0.accepted).contains(&kind)
    }

    fn accept(&self, kind: LookupKind) {
        lock(&self.0.accepted).insert(kind);
    }

    fn probe_lock(&self, kind: LookupKind) -> &tokio::sync::Mutex<()> {
        let i = match kind {
            LookupKind::StoredId => 0,
            LookupKind::ExternalId => 1,
            LookupKind::UserName => 2,
            LookupKind::Email => 3,
        };
        &self.0.probing[i]
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
    /// Jobs never started because the batch was cancelled (or stopped by
    /// `auth_failure`).
    pub cancelled: usize,
    /// The batch stopped starting lookups after the server refused the token
    /// (401/403): the error, as shown to the admin.
    pub auth_failure: Option<String>,
    /// The batch stopped starting lookups: its circuit breaker tripped, or the server
    /// asked to wait longer than the client waits. The reason, quoting the server.
    pub stopped: Option<String>,
}

/// What one lookup found, plus what the batch needs to know beyond the outcome.
struct Looked {
    outcome: LookupOutcome,
    /// Set when the server refused the token.
    auth_failure: Option<String>,
    /// Set when the batch must stop (breaker, far `Retry-After`).
    stop: Option<String>,
}

/// Looks one user up.
pub async fn lookup_one(
    client: &ScimClient,
    user: &DirUser,
    options: &LookupOptions,
    unsupported: &Unsupported,
) -> LookupOutcome {
    lookup_inner(client, user, options, unsupported)
        .await
        .outcome
}

fn outcome(status: MatchStatus, attempts: Vec<Attempt>) -> LookupOutcome {
    LookupOutcome {
        status,
        matched_by: None,
        user: None,
        candidates: Vec::new(),
        attempts,
        error: None,
        warnings: Vec::new(),
    }
}

fn skipped(kind: LookupKind, value: &str, why: String) -> Attempt {
    Attempt {
        kind,
        value: value.to_string(),
        request: String::new(),
        result: AttemptResult::Skipped(why),
        requests: 0,
    }
}

/// A kind skipped because the server was found not to support its filter.
fn unsupported_kind(kind: LookupKind, value: &str) -> Attempt {
    skipped(
        kind,
        value,
        format!("the server does not support {} lookups", kind.label()),
    )
}

fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

/// navscim's own comparison of a returned resource with the value looked up. A
/// stored-id read counts only when the answer carries that very id.
pub fn is_exact_hit(kind: LookupKind, value: &str, user: &ScimUser) -> bool {
    match kind {
        LookupKind::StoredId => user.id.as_deref() == Some(value),
        LookupKind::ExternalId => user.external_id.as_deref() == Some(value),
        LookupKind::UserName => fold(&user.user_name) == fold(value),
        LookupKind::Email => {
            let want = fold(value);
            user.emails.iter().any(|e| fold(&e.value) == want)
        }
    }
}

/// Keeps the exact hits, once each (by id).
fn exact_hits(kind: LookupKind, value: &str, users: Vec<ScimUser>) -> Vec<ScimUser> {
    let mut seen = HashSet::new();
    users
        .into_iter()
        .filter(|u| is_exact_hit(kind, value, u))
        .filter(|u| match &u.id {
            Some(id) => seen.insert(id.clone()),
            None => true,
        })
        .collect()
}

fn requests_for(e: &ScimError) -> u32 {
    match e {
        ScimError::RateLimited { attempts, .. } => *attempts,
        // Refused before anything was sent.
        ScimError::Config(_)
        | ScimError::EmptyFilterValue { .. }
        | ScimError::Stopped { .. }
        | ScimError::Cancelled => 0,
        _ => 1,
    }
}

async fn send(
    client: &ScimClient,
    kind: LookupKind,
    value: &str,
    filter: Option<&Filter>,
) -> Result<Vec<ScimUser>, ScimError> {
    match filter {
        None => {
            let users: Vec<ScimUser> = client.get_user(value).await?.into_iter().collect();
            // The answer to `GET /Users/{id}` must be that user: without an id, or
            // with another, it proves nothing about who holds the id.
            if let Some(u) = users.first() {
                match u.id.as_deref() {
                    None => {
                        return Err(ScimError::Malformed {
                            status: 200,
                            detail: format!(
                                "the answer to GET /Users/{value} carries no id (userName {:?}): \
                                 it does not prove who holds that id",
                                u.user_name
                            ),
                        })
                    }
                    Some(id) if id != value => {
                        return Err(ScimError::Malformed {
                            status: 200,
                            detail: format!(
                                "the answer to GET /Users/{value} carries the id {id:?} instead"
                            ),
                        })
                    }
                    Some(_) => {}
                }
            }
            Ok(users)
        }
        Some(f) => client.find_users(f).await,
    }
    .map(|users| exact_hits(kind, value, users))
}

/// A hit that an identifier contradicts (see [`contradictions`]).
struct Contradicted {
    kind: LookupKind,
    user: ScimUser,
    why: Vec<String>,
}

async fn lookup_inner(
    client: &ScimClient,
    user: &DirUser,
    options: &LookupOptions,
    unsupported: &Unsupported,
) -> Looked {
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut last_error: Option<String> = None;
    let mut tried: HashSet<LookupKind> = HashSet::new();
    let mut contradicted: Vec<Contradicted> = Vec::new();
    for &kind in &options.precedence {
        if !tried.insert(kind) {
            continue; // listed twice
        }
        let Some(value) = user.lookup_value(kind).filter(|v| !v.trim().is_empty()) else {
            attempts.push(skipped(kind, "", format!("no {} value", kind.label())));
            continue;
        };
        // userName and emails are compared after trimming, so they are sent trimmed;
        // ids are sent exactly as known.
        let value = match kind {
            LookupKind::UserName | LookupKind::Email => value.trim(),
            LookupKind::StoredId | LookupKind::ExternalId => value,
        };
        if unsupported.contains(kind) {
            attempts.push(unsupported_kind(kind, value));
            continue;
        }
        let filter = match kind.filter_attr() {
            None => None,
            Some(attr) => match Filter::eq(attr, value) {
                Ok(f) => Some(f),
                Err(e) => {
                    attempts.push(skipped(kind, value, e.to_string()));
                    continue;
                }
            },
        };
        let request = match &filter {
            None => format!("GET /Users/{value}"),
            Some(f) => format!("GET /Users?filter={}", f.expression()),
        };

        // The first request of a filtered kind goes alone; see the module docs.
        let probe = if filter.is_some() && !unsupported.accepted(kind) {
            let guard = unsupported.probe_lock(kind).lock().await;
            if unsupported.contains(kind) {
                attempts.push(unsupported_kind(kind, value));
                continue;
            }
            // Whoever waited while the first request was answered goes on without
            // the lock: only an unanswered kind is probed alone.
            (!unsupported.accepted(kind)).then_some(guard)
        } else {
            None
        };
        // Servers that compare userName/emails case-sensitively: once seen, the
        // lower-cased value goes first on this connection; either way the other form
        // is tried before "not found".
        let lower = value.to_lowercase();
        let folds = matches!(kind, LookupKind::UserName | LookupKind::Email) && lower != value;
        let lower_first = folds && unsupported.case_sensitive(kind);
        let (first_value, second_value) = if lower_first {
            (lower.as_str(), value)
        } else {
            (value, lower.as_str())
        };
        let first_filter = match (&filter, lower_first) {
            (Some(_), true) => kind
                .filter_attr()
                .and_then(|a| Filter::eq(a, first_value).ok()),
            (f, _) => f.clone(),
        };
        let request = match &first_filter {
            None => request,
            Some(f) => format!("GET /Users?filter={}", f.expression()),
        };
        let mut result = send(client, kind, first_value, first_filter.as_ref()).await;
        let mut extra_requests = 0;
        let mut request = request;
        if folds && matches!(&result, Ok(h) if h.is_empty()) {
            if let Some(f2) = kind
                .filter_attr()
                .and_then(|a| Filter::eq(a, second_value).ok())
            {
                let again = send(client, kind, second_value, Some(&f2)).await;
                extra_requests = 1;
                request = format!("{request}, then GET /Users?filter={}", f2.expression());
                if matches!(&again, Ok(h) if !h.is_empty()) && !lower_first {
                    unsupported.set_case_sensitive(kind);
                }
                result = again;
            }
        }
        if probe.is_some() {
            match &result {
                Err(ScimError::InvalidFilter { .. }) => unsupported.insert(kind),
                Ok(_) => unsupported.accept(kind),
                Err(_) => {}
            }
        }
        drop(probe);

        let mut attempt = Attempt {
            kind,
            value: value.to_string(),
            request,
            result: AttemptResult::NotFound,
            requests: 1 + extra_requests,
        };
        match result {
            Ok(hits) if hits.is_empty() => attempts.push(attempt),
            Ok(mut hits) if hits.len() == 1 => {
                attempt.result = AttemptResult::Hits(1);
                attempts.push(attempt);
                let scim = hits.remove(0);
                let why = contradictions(user, &scim, &options.aliases);
                if !why.is_empty() {
                    // A claim another identifier contradicts: try the other kinds,
                    // but this user can no longer be a plain match.
                    if !contradicted
                        .iter()
                        .any(|c: &Contradicted| c.user.id.is_some() && c.user.id == scim.id)
                    {
                        contradicted.push(Contradicted {
                            kind,
                            user: scim,
                            why,
                        });
                    }
                    continue;
                }
                let mut out = outcome(
                    MatchStatus::Matched {
                        active: scim.is_active(),
                    },
                    attempts,
                );
                out.matched_by = Some(kind);
                out.warnings.extend(external_id_warning(user, &scim));
                if !contradicted.is_empty() {
                    // Another identifier found someone else: both identities are
                    // shown, and nobody is a plan target until the admin decides.
                    let mut reasons = Vec::new();
                    for c in &contradicted {
                        reasons.push(format!(
                            "{} {:?} found another SCIM user, {} ({}): {}",
                            c.kind.label(),
                            user.lookup_value(c.kind).unwrap_or(""),
                            c.user.id.as_deref().unwrap_or("?"),
                            c.user.user_name,
                            c.why.join("; ")
                        ));
                    }
                    out.status = MatchStatus::Conflict;
                    out.error = Some(reasons.join("; "));
                    out.candidates = contradicted.into_iter().map(|c| c.user).collect();
                }
                out.user = Some(scim);
                return Looked {
                    outcome: out,
                    auth_failure: None,
                    stop: None,
                };
            }
            Ok(hits) => {
                attempt.result = AttemptResult::Hits(hits.len());
                attempts.push(attempt);
                let mut out = outcome(MatchStatus::Ambiguous, attempts);
                out.matched_by = Some(kind);
                out.candidates = hits;
                return Looked {
                    outcome: out,
                    auth_failure: None,
                    stop: None,
                };
            }
            Err(ScimError::InvalidFilter { detail }) => {
                unsupported.insert(kind);
                attempt.result = AttemptResult::Unsupported(detail);
                attempts.push(attempt);
            }
            Err(e @ ScimError::Unauthorized { .. }) => {
                let text = e.to_string();
                attempt.result = AttemptResult::Error(text.clone());
                attempts.push(attempt);
                let mut out = outcome(MatchStatus::Error, attempts);
                out.error = Some(text.clone());
                return Looked {
                    outcome: out,
                    auth_failure: Some(text),
                    stop: None,
                };
            }
            Err(
                e @ (ScimError::Stopped { .. }
                | ScimError::WaitTooLong { .. }
                | ScimError::Cancelled),
            ) => {
                let text = e.to_string();
                attempt.requests = requests_for(&e);
                attempt.result = AttemptResult::Error(text.clone());
                attempts.push(attempt);
                let mut out = outcome(MatchStatus::Error, attempts);
                out.error = Some(text.clone());
                let stop = match e {
                    ScimError::Stopped { reason } => Some(reason),
                    ScimError::WaitTooLong { .. } => Some(text),
                    _ => None,
                };
                return Looked {
                    outcome: out,
                    auth_failure: None,
                    stop,
                };
            }
            Err(e) => {
                let text = e.to_string();
                attempt.requests = requests_for(&e);
                attempt.result = AttemptResult::Error(text.clone());
                attempts.push(attempt);
                last_error = Some(text);
            }
        }
    }

    let sent = attempts
        .iter()
        .any(|a| a.requests > 0 || !a.request.is_empty());
    let mut out = outcome(MatchStatus::NotFound, attempts);
    if !contradicted.is_empty() {
        // Every hit was contradicted by another identifier: a conflict, shown with
        // the SCIM user found and why it is not this user.
        let reasons: Vec<String> = contradicted
            .iter()
            .map(|c| {
                format!(
                    "found by {} as {} ({}): {}",
                    c.kind.label(),
                    c.user.id.as_deref().unwrap_or("?"),
                    c.user.user_name,
                    c.why.join("; ")
                )
            })
            .collect();
        let mut hits = contradicted.into_iter();
        let first = hits.next().expect("not empty");
        out.status = MatchStatus::Conflict;
        out.matched_by = Some(first.kind);
        out.warnings.extend(external_id_warning(user, &first.user));
        out.user = Some(first.user);
        out.candidates = hits.map(|c| c.user).collect();
        out.error = Some(reasons.join("; "));
        return Looked {
            outcome: out,
            auth_failure: None,
            stop: None,
        };
    }
    if let Some(e) = last_error {
        out.status = MatchStatus::Error;
        out.error = Some(e);
    } else if !sent {
        // Nothing could be asked: "not found" would claim a search that never happened.
        out.status = MatchStatus::Error;
        let why: Vec<String> = out
            .attempts
            .iter()
            .filter_map(|a| match &a.result {
                AttemptResult::Skipped(why) => Some(why.clone()),
                _ => None,
            })
            .collect();
        out.error = Some(if why.is_empty() {
            "no lookup is configured".to_string()
        } else {
            format!("no lookup could be sent ({})", why.join("; "))
        });
    }
    Looked {
        outcome: out,
        auth_failure: None,
        stop: None,
    }
}

/// Looks every job up with at most `options.concurrency` at once, sending an event per
/// start and finish. Cancelling stops new lookups; those in flight finish and are sent.
///
/// A bounded pool of `options.concurrency` workers pulls jobs from a shared queue, so
/// nothing is allocated per job up front: `jobs` may be a `Vec` or a lazy iterator
/// that makes each job when a worker asks for it (`navscim lookup` does that for
/// 100,000 users). Every job that started gets exactly one `Finished` (a panic inside
/// a lookup becomes an `Error` outcome). A 401/403 stops the batch like a cancellation
/// and is reported in [`BatchSummary::auth_failure`].
pub async fn run_batch<J>(
    client: ScimClient,
    jobs: J,
    options: LookupOptions,
    unsupported: Unsupported,
    cancel: CancellationToken,
    events: UnboundedSender<LookupEvent>,
) -> BatchSummary
where
    J: IntoIterator<Item = LookupJob>,
    J::IntoIter: Send + 'static,
{
    let jobs = jobs.into_iter();
    let most = jobs.size_hint().1.unwrap_or(usize::MAX);
    let workers = options.concurrency.max(1).min(most.max(1));
    let stop = cancel.child_token();
    // Cancelling interrupts the client's waits (rate, Retry-After, retries); the
    // breaker stops every request after a failure streak.
    let client = client.guarded(stop.clone(), Some(Breaker::new(Some(BREAKER_AFTER))));
    let shared = Arc::new(Batch {
        client,
        options,
        unsupported,
        queue: Mutex::new(Box::new(jobs)),
        stop,
        events,
        auth_failure: Mutex::new(None),
        stopped: Mutex::new(None),
    });
    // Worker 0 times its first lookup; the others start spread over that time (see
    // `stagger`), so answers do not come back in waves of `concurrency` at once.
    let (first_tx, first_rx) = tokio::sync::watch::channel(None::<Duration>);
    let mut first_tx = Some(first_tx);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..workers {
        let start = match i {
            0 => Start::First(first_tx.take().expect("one first worker")),
            _ => Start::Staggered {
                first: first_rx.clone(),
                slot: i,
                of: workers,
            },
        };
        set.spawn(worker(shared.clone(), start));
    }
    let mut finished = 0;
    while let Some(done) = set.join_next().await {
        // Workers catch panics of lookups themselves; a JoinError would only come
        // from the runtime shutting down.
        finished += done.unwrap_or(0);
    }
    let cancelled = {
        let mut queue = lock(&shared.queue);
        match queue.size_hint() {
            // Without making the jobs left (a lazy queue would build each one).
            (low, Some(high)) if low == high => low,
            _ => queue.by_ref().count(),
        }
    };
    let auth_failure = lock(&shared.auth_failure).clone();
    let stopped = lock(&shared.stopped).clone();
    BatchSummary {
        finished,
        cancelled,
        auth_failure,
        stopped,
    }
}

struct Batch {
    client: ScimClient,
    options: LookupOptions,
    unsupported: Unsupported,
    queue: Mutex<Box<dyn Iterator<Item = LookupJob> + Send>>,
    stop: CancellationToken,
    events: UnboundedSender<LookupEvent>,
    auth_failure: Mutex<Option<String>>,
    stopped: Mutex<Option<String>>,
}

/// How a worker begins.
enum Start {
    /// Times its first lookup and tells the others.
    First(tokio::sync::watch::Sender<Option<Duration>>),
    /// Waits for the first lookup, then `slot / of` of its duration.
    Staggered {
        first: tokio::sync::watch::Receiver<Option<Duration>>,
        slot: usize,
        of: usize,
    },
}

/// The longest a worker waits to start: a slow first lookup (retries) says little
/// about the server's latency.
const MAX_STAGGER: Duration = Duration::from_millis(500);

/// Spreads the workers' first requests over one lookup's time. Started together,
/// `concurrency` lookups keep coming back together, and the answers of each wave queue
/// for the CPU (measured: the last of a wave of 64 waited ~3 ms on two cores, 15% of a
/// 20 ms latency). Spread once, they stay spread. Costs at most one lookup's time.
async fn stagger(
    b: &Batch,
    first: &mut tokio::sync::watch::Receiver<Option<Duration>>,
    slot: usize,
    of: usize,
) {
    let took = tokio::select! {
        r = first.wait_for(Option::is_some) => r.ok().and_then(|v| *v),
        _ = b.stop.cancelled() => None,
    };
    let Some(took) = took else { return };
    let delay = took.min(MAX_STAGGER).mul_f64(slot as f64 / of as f64);
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = b.stop.cancelled() => {}
    }
}

async fn worker(b: Arc<Batch>, start: Start) -> usize {
    let mut finished = 0;
    let mut first = match start {
        Start::First(tx) => Some((tx, std::time::Instant::now())),
        Start::Staggered {
            mut first,
            slot,
            of,
        } => {
            stagger(&b, &mut first, slot, of).await;
            None
        }
    };
    loop {
        let job = {
            let mut queue = lock(&b.queue);
            if b.stop.is_cancelled() {
                break;
            }
            queue.next()
        };
        let Some(job) = job else { break };
        let _ = b.events.send(LookupEvent::Started(job.index));
        let looked = AssertUnwindSafe(lookup_inner(
            &b.client,
            &job.user,
            &b.options,
            &b.unsupported,
        ))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            let mut out = outcome(MatchStatus::Error, Vec::new());
            out.error = Some(format!("internal error during the lookup: {what}"));
            Looked {
                outcome: out,
                auth_failure: None,
                stop: None,
            }
        });
        if let Some(e) = looked.auth_failure {
            lock(&b.auth_failure).get_or_insert(e);
            b.stop.cancel();
        }
        if let Some(why) = looked.stop.or_else(|| b.client.stopped()) {
            lock(&b.stopped).get_or_insert(why);
            b.stop.cancel();
        }
        let _ = b
            .events
            .send(LookupEvent::Finished(job.index, Box::new(looked.outcome)));
        finished += 1;
        if let Some((tx, started)) = first.take() {
            let _ = tx.send(Some(started.elapsed()));
        }
    }
    // No job at all (or cancelled): the sender drops here and the others start at once.
    drop(first);
    finished
}

/// Verifies a SCIM id typed by the admin (link by hand): `GET /Users/{id}`.
pub async fn verify_link(
    client: &ScimClient,
    scim_id: &str,
) -> Result<Option<ScimUser>, ScimError> {
    client.get_user(scim_id).await
}

/// One job per user of the directory (index = position in `directory.users`). The
/// job's user carries only what a lookup reads (key, email, user name, ids, the seats'
/// unique ids): names and sources stay in the directory, which keeps 100,000 jobs small.
/// A person with several seats keeps them all, so [`DirUser::external_id`] declines to
/// pick one and the lookup reports the person as ambiguous.
pub fn jobs_for(directory: &Directory) -> Vec<LookupJob> {
    directory
        .users
        .iter()
        .enumerate()
        .map(|(index, u)| LookupJob::new(index, u))
        .collect()
}

impl LookupJob {
    /// The job for the directory's user at `index`: a copy of the user with only what
    /// a lookup reads (see [`jobs_for`]).
    pub fn new(index: usize, user: &DirUser) -> LookupJob {
        LookupJob {
            index,
            user: lean(user),
        }
    }
}

/// A copy of `user` with only the fields a lookup reads.
fn lean(user: &DirUser) -> DirUser {
    let seat = |s: &Seat| Seat {
        license_status: None,
        is_admin: s.is_admin,
        seat_id: None,
        unique_user_id: s.unique_user_id.clone(),
    };
    DirUser {
        key: user.key.clone(),
        email: user.email.clone(),
        user_name: user.user_name.clone(),
        idp_id: user.idp_id.clone(),
        first_name: None,
        last_name: None,
        display_name: None,
        in_idp: user.in_idp,
        idp_enabled: user.idp_enabled,
        seat: user.seat.as_ref().map(seat),
        other_seats: user.other_seats.iter().map(seat).collect(),
        sources: Vec::new(),
        duplicate_rows: user.duplicate_rows,
        stored_scim_id: user.stored_scim_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::Email;

    fn scim(id: &str, user_name: &str, ext: Option<&str>, emails: &[&str]) -> ScimUser {
        ScimUser {
            schemas: vec![],
            id: Some(id.into()),
            external_id: ext.map(Into::into),
            user_name: user_name.into(),
            name: None,
            display_name: None,
            emails: emails
                .iter()
                .map(|e| Email {
                    value: e.to_string(),
                    kind: None,
                    primary: None,
                })
                .collect(),
            active: None,
            extra: Default::default(),
        }
    }

    #[test]
    fn exact_comparison() {
        let u = scim("1", " Ada@Example.COM ", Some("E1"), &["ADA@example.com"]);
        assert!(is_exact_hit(LookupKind::UserName, "ada@example.com", &u));
        assert!(!is_exact_hit(LookupKind::UserName, "ada@example.co", &u));
        assert!(is_exact_hit(LookupKind::Email, " ada@EXAMPLE.com", &u));
        assert!(is_exact_hit(LookupKind::ExternalId, "E1", &u));
        assert!(!is_exact_hit(LookupKind::ExternalId, "e1", &u));
        assert!(!is_exact_hit(LookupKind::ExternalId, "E1 ", &u));
        assert!(is_exact_hit(LookupKind::StoredId, "1", &u));
        assert!(!is_exact_hit(LookupKind::StoredId, "2", &u));
    }

    #[test]
    fn duplicates_by_id_count_once() {
        let a = scim("1", "a@x", None, &[]);
        let hits = exact_hits(LookupKind::UserName, "a@x", vec![a.clone(), a]);
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn unsupported_is_shared_by_clones() {
        let u = Unsupported::default();
        let c = u.clone();
        c.insert(LookupKind::ExternalId);
        assert!(u.contains(LookupKind::ExternalId));
        assert_eq!(u.kinds(), vec![LookupKind::ExternalId]);
        u.clear();
        assert!(!c.contains(LookupKind::ExternalId));
    }
}
