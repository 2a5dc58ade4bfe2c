//! Runs effects as tokio tasks and sends their results back as actions.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use futures::FutureExt;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::app::actions::PlanOrigin;
use crate::app::actions::{LoadedPlan, UnfinishedBatch};
use crate::app::connection::{ConnectionFailure, ConnectionSummary};
use crate::app::history::{JournalBatch, JournalListing};
use crate::app::workspace::{Opened, WorkspaceOp};
use crate::app::{Action, ConnectionSpec, Effect, ImportSource};
use crate::apply::{self, Batch, BatchMeta, BreakerAction, Control, RunOptions};
use crate::config;
use crate::error::{AppError, ErrorKind, InputPlace};
use crate::import;
use crate::journal::{self, BatchLog, BatchStatus};
use crate::lookup::{self, LookupEvent, LookupJob, LookupOptions, Unsupported};
use crate::plan::Plan;
use crate::report;
use crate::scim::{ClientStats, ConnectionReport, ProbeMethod, ScimClient};
use crate::workspace::{Workspace, WorkspaceError};

/// Settings that apply to every connection this session makes.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub ca_file: Option<PathBuf>,
    /// Write OSC 52 clipboard sequences to the terminal (off when headless).
    pub clipboard: bool,
    /// Requests per second for lookups (`None`: unlimited).
    pub rate_limit: Option<f64>,
    /// Where batches are journaled (`None`: the platform's data directory).
    pub journal_dir: Option<PathBuf>,
    /// Request timeout, and the whole connection test's (`--timeout`; `None`: 30 s).
    pub timeout: Option<std::time::Duration>,
    /// Connect timeout (`--connect-timeout`; `None`: 10 s).
    pub connect_timeout: Option<std::time::Duration>,
    /// What colours the terminal shows (decided once at start-up).
    pub colors: super::colors::ColorSupport,
    /// Take the mouse (`--mouse` or the profile's setting); off by default, when
    /// no mouse code at all is sent to the terminal.
    pub mouse: bool,
}

/// The session's SCIM client, kept while the connection settings stay the same, with
/// what the server was found not to support.
struct Connection {
    spec: ConnectionSpec,
    client: ScimClient,
    unsupported: Unsupported,
}

/// Spawns effects. Every effect that answers does so with exactly one final action —
/// even if its task panics — so a headless driver can count answers to know when work
/// has settled (progress actions aside).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    tx: UnboundedSender<Action>,
    settings: Settings,
    connection: Mutex<Option<Arc<Connection>>>,
    /// Cancels every running lookup batch; replaced after use.
    cancel: Mutex<CancellationToken>,
    /// The runtime's clock: lookup progress is stamped with time since this instant.
    clock: Instant,
    /// Steers the running batch, if any (with a number, so a finished batch clears
    /// only its own channel).
    batch_control: Mutex<Option<(u64, watch::Sender<Control>)>>,
    /// The workspace writer: one thread owning the open workspace, doing its reads
    /// and writes in the order the reducer asked (started by the first workspace
    /// effect; [`Executor::close_workspace`] ends it).
    workspace: Mutex<Option<WorkspaceWriter>>,
}

/// The workspace writer's end: its queue and its thread.
struct WorkspaceWriter {
    queue: std::sync::mpsc::Sender<WorkspaceOp>,
    thread: std::thread::JoinHandle<()>,
}

impl Executor {
    pub fn new(tx: UnboundedSender<Action>, settings: Settings) -> Self {
        Executor {
            inner: Arc::new(Inner {
                tx,
                settings,
                connection: Mutex::new(None),
                cancel: Mutex::new(CancellationToken::new()),
                clock: Instant::now(),
                batch_control: Mutex::new(None),
                workspace: Mutex::new(None),
            }),
        }
    }

    /// Queues a workspace read or write: done in order by the writer thread, which
    /// answers each with one action.
    fn workspace(&self, op: WorkspaceOp) {
        let mut slot = self.inner.workspace.lock().expect("not poisoned");
        let writer = slot.get_or_insert_with(|| {
            let (queue, rx) = std::sync::mpsc::channel();
            let tx = self.inner.tx.clone();
            let journal_dir = self.inner.journal_dir();
            let thread = std::thread::Builder::new()
                .name("navscim-workspace".into())
                .spawn(move || workspace_writer(rx, tx, journal_dir))
                .expect("a thread can be started");
            WorkspaceWriter { queue, thread }
        });
        if let Err(e) = writer.queue.send(op) {
            let opening = matches!(e.0, WorkspaceOp::Open { .. });
            let failed = workspace_failed(
                e.0.name(),
                opening,
                AppError::new(ErrorKind::Bug, "the workspace writer stopped (see the log)"),
            );
            let _ = self.inner.tx.send(failed);
        }
    }

    /// Finishes what the workspace writer was given and closes the workspace
    /// (releasing its lock). Called when the dashboard ends; later workspace effects
    /// start a new writer.
    pub fn close_workspace(&self) {
        let writer = self.inner.workspace.lock().expect("not poisoned").take();
        if let Some(WorkspaceWriter { queue, thread }) = writer {
            drop(queue);
            let _ = thread.join();
        }
    }

    pub fn spawn(&self, effect: Effect) {
        let effect = match effect {
            Effect::Workspace(op) => {
                tracing::debug!(
                    "{}",
                    super::log::effect_started(&Effect::Workspace(op.clone()))
                );
                self.workspace(op);
                return;
            }
            other => other,
        };
        // Steering a batch must not race its start: the control channel exists from
        // the moment the batch is asked for (a cancel sent while the token is resolved
        // or the journal header written is what the runner starts with), and controls
        // are applied here, in order, not in a task of their own.
        let control = match &effect {
            Effect::ControlBatch(control) => {
                if let Some((_, tx)) = self
                    .inner
                    .batch_control
                    .lock()
                    .expect("not poisoned")
                    .as_ref()
                {
                    tx.send_replace(*control);
                }
                return;
            }
            Effect::ApplyPlan { .. } | Effect::ResumeBatch { .. } => {
                let (tx, rx) = watch::channel(Control::Run);
                let mut slot = self.inner.batch_control.lock().expect("not poisoned");
                let id = slot.as_ref().map_or(1, |(id, _)| id + 1);
                *slot = Some((id, tx));
                Some((id, rx))
            }
            _ => None,
        };
        let inner = self.inner.clone();
        tracing::info!("{}", super::log::effect_started(&effect));
        tokio::spawn(async move {
            let what = effect.name();
            let answers = effect.answers();
            let is_batch = control.is_some();
            let task = EffectTask {
                name: what,
                future: Box::pin(run(effect, &inner, control)),
            };
            let action = match AssertUnwindSafe(task).catch_unwind().await {
                Ok(action) => action,
                // A batch always ends with ApplyDone, so the pane never stays "running".
                Err(_) if is_batch => Some(Action::ApplyDone {
                    result: Err(AppError::bug(what)),
                }),
                Err(_) => Some(Action::EffectFailed(AppError::bug(what))),
            };
            match action {
                Some(action) => {
                    match super::log::outcome(&action) {
                        Some(Ok(words)) => tracing::info!("{what}: {words}"),
                        Some(Err(words)) => tracing::warn!("{what}: {words}"),
                        None => {}
                    }
                    let _ = inner.tx.send(action);
                }
                None => debug_assert!(!answers, "{what} must answer"),
            }
        });
    }
}

/// An effect's future, polled with the thread marked as running that effect (see
/// [`super::terminal::in_effect`]): a panic in it is logged as the effect's and caught
/// here, and the dashboard goes on.
struct EffectTask<F> {
    name: &'static str,
    future: std::pin::Pin<Box<F>>,
}

impl<F: std::future::Future> std::future::Future for EffectTask<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let name = self.name;
        super::terminal::in_effect(name, || self.future.as_mut().poll(cx))
    }
}

/// `spawn_blocking` for an effect's blocking work (files, the journal, the token),
/// still marked as the effect's.
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, tokio::task::JoinError> {
    match super::terminal::current_effect() {
        Some(name) => {
            tokio::task::spawn_blocking(move || super::terminal::in_effect(name, f)).await
        }
        None => tokio::task::spawn_blocking(f).await,
    }
}

impl Inner {
    /// The client for `spec`, reused while the spec is unchanged.
    async fn connection(&self, spec: &ConnectionSpec) -> Result<Arc<Connection>, AppError> {
        if let Some(c) = self.connection.lock().expect("not poisoned").as_ref() {
            if c.spec == *spec {
                return Ok(c.clone());
            }
        }
        let client = connect_typed(spec, &self.settings).await?;
        let conn = Arc::new(Connection {
            spec: spec.clone(),
            client,
            unsupported: Unsupported::default(),
        });
        *self.connection.lock().expect("not poisoned") = Some(conn.clone());
        Ok(conn)
    }
}

/// The control channel of a batch effect: its number and the runner's end.
type BatchControl = Option<(u64, watch::Receiver<Control>)>;

async fn run(effect: Effect, inner: &Inner, control: BatchControl) -> Option<Action> {
    let settings = &inner.settings;
    Some(match effect {
        Effect::TestConnection { seq, spec } => Action::ConnectionTested {
            seq,
            result: test_connection(spec, settings).await,
        },
        Effect::SaveProfile { profile, token } => {
            // The configuration file is the one thing written: a failure is I/O.
            let result = blocking(move || config::save_profile(&profile, token.as_ref()))
                .await
                .map_err(AppError::from)
                .and_then(|r| r.map_err(AppError::io));
            Action::ProfileSaved { result }
        }
        Effect::ImportFiles {
            sources,
            options,
            lookup_after,
        } => {
            // Identity providers are read at once (each over its own connection),
            // files on the blocking pool; the answers keep the sources' order.
            let reads = sources.into_iter().map(|source| {
                let options = options.clone();
                async move {
                    let result = match &source {
                        ImportSource::Idp(spec) => read_idp(spec, settings).await,
                        file => {
                            let file = file.clone();
                            blocking(move || match &file {
                                ImportSource::Path(path) => import::import_path(path, &options),
                                ImportSource::Embedded { name, text } => {
                                    import::import_str(name, text, &options)
                                }
                                ImportSource::Idp(_) => unreachable!("matched above"),
                            })
                            .await
                            .unwrap_or_else(|e| {
                                Err(import::ImportError::Io {
                                    file: "?".into(),
                                    message: e.to_string(),
                                })
                            })
                        }
                    };
                    // The file as the workspace records it (absolute, links resolved),
                    // so a file loaded again is known as the same one after a restart.
                    let source = match source {
                        ImportSource::Path(path) => {
                            ImportSource::Path(std::fs::canonicalize(&path).unwrap_or(path))
                        }
                        other => other,
                    };
                    (source, result)
                }
            });
            let results = futures::future::join_all(reads).await;
            Action::FilesImported {
                results,
                lookup_after,
            }
        }
        Effect::TestSource { spec } => {
            let source = spec.label();
            let spec = with_ca_file(&spec, settings);
            let result = crate::idp::cli::read(&spec, &|_| {})
                .await
                .map(|listing| crate::idp::cli::test_report(&listing))
                .map_err(AppError::from);
            Action::SourceTested { source, result }
        }
        Effect::SaveSources { profile, settings } => {
            let result = blocking(move || crate::idp::cli::save_settings(&profile, &settings))
                .await
                .map_err(AppError::from)
                .and_then(|r| r.map_err(AppError::io));
            Action::SourcesSaved { result }
        }
        Effect::LookupUsers {
            batch,
            spec,
            jobs,
            options,
        } => lookup_batch(inner, batch, spec, jobs, options).await,
        Effect::CancelLookups => {
            let mut cancel = inner.cancel.lock().expect("not poisoned");
            cancel.cancel();
            *cancel = CancellationToken::new();
            return None;
        }
        Effect::VerifyLink {
            index,
            scim_id,
            spec,
        } => {
            let result = match inner.connection(&spec).await {
                Ok(conn) => lookup::verify_link(&conn.client, &scim_id)
                    .await
                    .map(|u| u.map(Box::new))
                    .map_err(AppError::from),
                Err(e) => Err(e),
            };
            Action::LinkVerified {
                index,
                scim_id,
                result,
            }
        }
        Effect::CopyToClipboard { text } => {
            if settings.clipboard {
                use base64::Engine;
                use std::io::Write;
                let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "\x1b]52;c;{encoded}\x07");
                let _ = out.flush();
            }
            return None;
        }
        Effect::FindUnfinished { also } => {
            let dir = inner.journal_dir();
            let batches = blocking(move || find_unfinished(&dir, also))
                .await
                .unwrap_or_default();
            Action::UnfinishedFound { batches }
        }
        Effect::LoadPlan { path } => {
            let result = blocking(move || {
                let mut plan = Plan::read(&path)?;
                // The lookup results the plan names are input files of the plan's.
                let data_error = |e: String| {
                    let file = path.display().to_string();
                    AppError::input(
                        InputPlace {
                            file,
                            ..InputPlace::default()
                        },
                        e,
                    )
                };
                // The share gate's base from the data the plan names, not its word.
                let notes = apply::base_from_data(&mut plan, &path)
                    .map_err(data_error)?
                    .into_iter()
                    .collect();
                // Admins by the SCIM ids the same data gives them (the gates protect
                // them, whatever the file says).
                let admin_ids = apply::admin_ids_from_data(&plan, &path).map_err(data_error)?;
                Ok(Box::new(LoadedPlan {
                    plan,
                    origin: PlanOrigin::File(path.display().to_string()),
                    notes,
                    admin_ids,
                }))
            })
            .await
            .unwrap_or_else(|e| Err(e.into()));
            Action::PlanLoaded { result }
        }
        Effect::BuildUndo { batch } => {
            let dir = inner.journal_dir();
            let result = blocking(move || {
                let path = journal::find(&dir, &batch)?;
                let log = journal::read_batch(&path)?;
                let (plan, notes) = apply::undo_plan(&log);
                Ok(Box::new(LoadedPlan {
                    plan,
                    origin: PlanOrigin::Undo {
                        batch: log.id().to_string(),
                    },
                    notes,
                    admin_ids: Vec::new(),
                }))
            })
            .await
            .unwrap_or_else(|e| Err(e.into()));
            Action::PlanLoaded { result }
        }
        Effect::ApplyPlan {
            spec,
            plan,
            gates,
            kind,
            undo_of,
            plan_file,
        } => {
            let dir = inner.journal_dir();
            let meta = BatchMeta {
                kind,
                undo_of,
                plan_file,
                base_url: spec.base_url.clone(),
            };
            let start = move || Batch::start(&dir, *plan, &gates, meta);
            apply_batch(inner, &spec, start, control).await
        }
        Effect::ResumeBatch { spec, path, gates } => {
            let base_url = spec.base_url.clone();
            let start = move || Batch::resume(&path, &gates, Some(&base_url));
            apply_batch(inner, &spec, start, control).await
        }
        // Applied in `Executor::spawn`.
        Effect::ControlBatch(_) => return None,
        Effect::ListJournal { seq } => {
            let dir = inner.journal_dir();
            let result = blocking(move || list_journal(dir))
                .await
                .map_err(AppError::from);
            Action::JournalListed { seq, result }
        }
        Effect::ReadTrend { seq, path } => {
            let shown = path.clone();
            let result = blocking(move || read_trend(&path))
                .await
                .unwrap_or_else(|e| Err(e.into()));
            Action::TrendRead {
                seq,
                path: shown,
                result,
            }
        }
        // Queued to the workspace writer in `Executor::spawn`.
        Effect::Workspace(_) => return None,
        Effect::Export(job) => {
            let what = job.content.kind();
            blocking(move || export(job))
                .await
                .unwrap_or_else(|e| Action::Exported {
                    what,
                    result: Err(e.into()),
                })
        }
    })
}

/// Runs an export (blocking): a file already there is not replaced unless the job says
/// so (`Action::ExportExists`), else [`write_export`] answers `Action::Exported`.
fn export(job: Box<crate::app::effect::ExportJob>) -> Action {
    if !job.overwrite && job.path.exists() {
        return Action::ExportExists { job };
    }
    let what = job.content.kind();
    let result = write_export(*job).map_err(AppError::io);
    Action::Exported { what, result }
}

/// Writes an export (blocking): the Users view as `report` writes it, the Usage view
/// as CSV, the plan as `navscim plan --out` writes it. Answers the path and rows.
fn write_export(job: crate::app::effect::ExportJob) -> Result<(PathBuf, usize), String> {
    use crate::app::effect::ExportContent;
    let n = job.content.len();
    match &job.content {
        ExportContent::Users(rows) => report::write_reports(&job.path, rows)?,
        ExportContent::Usage(rows) => crate::usage::write_usage_csv(&job.path, rows)?,
        ExportContent::Plan(plan) => plan.write_file(&job.path)?,
    }
    Ok((job.path, n))
}

/// The workspace writer's thread: opens the workspace when asked, then does each
/// write in order (one transaction each), answering every one. Ends when the queue
/// closes, closing the workspace.
fn workspace_writer(
    rx: std::sync::mpsc::Receiver<WorkspaceOp>,
    tx: tokio::sync::mpsc::UnboundedSender<Action>,
    journal_dir: PathBuf,
) {
    let mut ws: Option<Workspace> = None;
    while let Ok(op) = rx.recv() {
        let what = op.name();
        let opening = matches!(op, WorkspaceOp::Open { .. });
        // Marked as the effect's: a panic in it is logged by the hook with its name and
        // caught here (the terminal stays the dashboard's), answered once.
        let action = caught(what, || workspace_op(&mut ws, op, &journal_dir))
            .unwrap_or_else(|| workspace_failed(what, opening, AppError::bug(what)));
        if let Action::WorkspaceWritten { result: Err(e), .. } = &action {
            tracing::warn!("workspace: {what} failed: {e}");
        }
        let _ = tx.send(action);
    }
}

/// Runs `f` as the effect `what` ([`super::terminal::in_effect`]) and catches its
/// panic (`None`): the panic hook logs it with the effect's name and leaves the
/// terminal alone, since the dashboard goes on.
fn caught<R>(what: &'static str, f: impl FnOnce() -> R) -> Option<R> {
    std::panic::catch_unwind(AssertUnwindSafe(|| super::terminal::in_effect(what, f))).ok()
}

/// The answer of a workspace effect that could not be done.
fn workspace_failed(what: &'static str, opening: bool, why: AppError) -> Action {
    if opening {
        Action::WorkspaceLoaded { result: Err(why) }
    } else {
        Action::WorkspaceWritten {
            what,
            result: Err(why),
        }
    }
}

/// Opens the workspace at `path` for the dashboard: for writing if its lock is free,
/// else read-only (another navscim has it). A damaged or newer file is moved aside by
/// the engine, and a new workspace started in its place; the problem is reported.
fn open_workspace(path: &std::path::Path) -> Result<(Workspace, Option<String>), AppError> {
    match Workspace::open_shared(path) {
        Ok(ws) => Ok((ws, None)),
        Err(e @ WorkspaceError::Corrupt { .. })
        | Err(
            e @ WorkspaceError::Newer {
                kept_as: Some(_), ..
            },
        ) => {
            let problem = e.to_string();
            Workspace::open_shared(path)
                .map(|ws| (ws, Some(problem.clone())))
                .map_err(|e2| {
                    let e2 = AppError::from(e2);
                    let words = format!("{problem}; then: {e2}");
                    AppError::new(e2.kind, words)
                })
        }
        Err(e) => Err(e.into()),
    }
}

/// One workspace effect on the writer's thread.
fn workspace_op(
    ws: &mut Option<Workspace>,
    op: WorkspaceOp,
    journal_dir: &std::path::Path,
) -> Action {
    let what = op.name();
    if let WorkspaceOp::Open { path } = op {
        *ws = None;
        let result = open_workspace(&path).and_then(|(w, problem)| {
            // Summaries only: a full outcome is read when its details are shown.
            let loaded = w.load_summaries()?;
            let opened = Opened {
                path: w.path().to_path_buf(),
                loaded: Box::new(loaded),
                read_only: w.read_only().map(str::to_string),
                problem,
            };
            *ws = Some(w);
            Ok(Box::new(opened))
        });
        return Action::WorkspaceLoaded { result };
    }
    // Reads, answered with their own actions.
    let op = match op {
        WorkspaceOp::ReadOutcome { key } => {
            let result = match ws.as_ref() {
                Some(w) => w
                    .outcome(&key)
                    .map(|o| o.map(Box::new))
                    .map_err(AppError::from),
                None => Err(AppError::new(ErrorKind::Bug, "no workspace is open")),
            };
            return Action::OutcomeRead { key, result };
        }
        WorkspaceOp::ExportUsers { mut job, complete } => {
            if let (Some(w), crate::app::effect::ExportContent::Users(rows)) =
                (ws.as_ref(), &mut job.content)
            {
                complete_users_export(w, rows, complete);
            }
            return export(job);
        }
        op => op,
    };
    let Some(w) = ws.as_mut() else {
        let none = AppError::new(ErrorKind::Bug, "no workspace is open");
        return workspace_failed(what, false, none);
    };
    let result = match op {
        WorkspaceOp::Open { .. } => {
            let twice = AppError::new(ErrorKind::Bug, "the workspace was opened twice");
            return workspace_failed(what, true, twice);
        }
        WorkspaceOp::ReplaceUsers(directory) => w.replace_users(&directory).map(|()| None),
        WorkspaceOp::RecordSource {
            source,
            import,
            aliases,
            at,
        } => {
            let (shown, bytes) = match &source {
                ImportSource::Path(path) => match std::fs::read(path) {
                    Ok(bytes) => (
                        std::fs::canonicalize(path)
                            .unwrap_or_else(|_| path.clone())
                            .display()
                            .to_string(),
                        bytes,
                    ),
                    Err(e) => {
                        let place = InputPlace {
                            file: path.display().to_string(),
                            ..InputPlace::default()
                        };
                        let why = format!("cannot read {}: {e}", path.display());
                        return workspace_failed(what, false, AppError::input(place, why));
                    }
                },
                ImportSource::Embedded { name, text } => {
                    (name.to_string(), text.as_bytes().to_vec())
                }
                // An identity-provider listing has no file: its content is who it
                // assigned, so a refresh that drops someone shows them as gone.
                ImportSource::Idp(spec) => {
                    let who = crate::workspace::source_identities(&import, &aliases);
                    (spec.label(), serde_json::to_vec(&who).unwrap_or_default())
                }
            };
            w.record_source(&shown, &bytes, &import, &aliases, at)
        }
        WorkspaceOp::WriteOutcomes(outcomes) => w.write_outcomes(&outcomes).map(|()| None),
        WorkspaceOp::SetLink { key, scim_id } => {
            w.set_link(&key, scim_id.as_deref()).map(|()| None)
        }
        WorkspaceOp::SetIgnored { keys, reason } => {
            w.set_ignored_all(&keys, reason.as_deref()).map(|()| None)
        }
        WorkspaceOp::AddNote { key, text } => w.add_note(&key, &text).map(|_| None),
        WorkspaceOp::ResolveConflict {
            key,
            resolution,
            scim_id,
        } => w
            .resolve_conflict(&key, &resolution, scim_id.as_deref())
            .map(|()| None),
        WorkspaceOp::SetSettings(settings) => w.set_settings(&settings).map(|()| None),
        WorkspaceOp::SavePlan { plan, origin } => w
            .save_plan(plan.as_deref(), origin.as_deref())
            .map(|()| None),
        WorkspaceOp::RecordRun { kind, server } => w
            .record_run(kind, Some(server.as_str()).filter(|s| !s.is_empty()))
            .map(|_| None),
        WorkspaceOp::MarkConflicts(marks) => w.mark_conflicts(&marks).map(|()| None),
        // Answered above, before the writes; never a panic on the writer thread.
        WorkspaceOp::ReadOutcome { .. } | WorkspaceOp::ExportUsers { .. } => {
            return workspace_failed(what, false, AppError::bug(what));
        }
        WorkspaceOp::RecordBatch { batch } => {
            let log =
                journal::find(journal_dir, &batch).and_then(|path| journal::read_batch(&path));
            match log {
                Ok(log) => w.record_batch(&log).map(|_| None),
                Err(e) => return workspace_failed(what, false, e.into()),
            }
        }
    };
    Action::WorkspaceWritten {
        what,
        result: result.map_err(AppError::from),
    }
}

/// Completes the rows of a Users export of which the dashboard held only a summary,
/// from the stored outcomes. A row whose outcome cannot be read keeps its summary (and
/// the log says so).
fn complete_users_export(
    w: &Workspace,
    rows: &mut [crate::report::UserReport],
    complete: Vec<crate::app::workspace::CompleteRow>,
) {
    let mut unread = 0;
    for c in complete {
        match w.outcome(&c.user.key) {
            Ok(Some(stored)) => {
                if let Some(row) = rows.get_mut(c.at) {
                    *row = crate::report::UserReport::new(
                        &c.user,
                        c.presence,
                        Some(&stored.outcome),
                        c.ignored,
                    );
                }
            }
            Ok(None) | Err(_) => unread += 1,
        }
    }
    if unread > 0 {
        tracing::warn!(
            "users export: {unread} rows written from their summaries (the stored result could not be read)"
        );
    }
}

/// `spec` with the session's CA file (`--ca-file`), as every client of the session.
fn with_ca_file(
    spec: &crate::idp::cli::SourceSpec,
    settings: &Settings,
) -> crate::idp::cli::SourceSpec {
    crate::idp::cli::SourceSpec {
        ca_file: spec.ca_file.clone().or_else(|| settings.ca_file.clone()),
        ..spec.clone()
    }
}

/// Reads an identity-provider connection (the one reader, [`crate::idp::cli::read`])
/// into an import, as a file would be: its users, the listing's warnings as the
/// import's; a failure (already scrubbed of the secret) as a source that could not be
/// read.
async fn read_idp(
    spec: &crate::idp::cli::SourceSpec,
    settings: &Settings,
) -> Result<import::Import, import::ImportError> {
    let spec = with_ca_file(spec, settings);
    match crate::idp::cli::read(&spec, &|_| {}).await {
        Ok(listing) => {
            tracing::info!("{}", crate::idp::cli::describe(&listing));
            let mut import = listing.to_import();
            import.warnings.extend(
                listing
                    .warnings
                    .iter()
                    .map(|w| import::Diagnostic::file_level(&listing.source, w.clone())),
            );
            Ok(import)
        }
        Err(e) => Err(import::ImportError::Io {
            file: spec.label(),
            message: e.to_string(),
        }),
    }
}

/// Runs one lookup batch, forwarding progress as actions; answers `LookupBatchDone`.
async fn lookup_batch(
    inner: &Inner,
    batch: u64,
    spec: ConnectionSpec,
    jobs: Vec<LookupJob>,
    options: LookupOptions,
) -> Action {
    let conn = match inner.connection(&spec).await {
        Ok(conn) => conn,
        Err(e) => {
            return Action::LookupBatchDone {
                batch,
                cancelled: jobs.len(),
                error: Some(e),
            }
        }
    };
    let cancel = inner.cancel.lock().expect("not poisoned").clone();
    let before = conn.client.stats();
    let users = jobs.len();
    let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    let run = lookup::run_batch(
        conn.client.clone(),
        jobs,
        options,
        conn.unsupported.clone(),
        cancel,
        events_tx,
    );
    let forward = async {
        while let Some(event) = events_rx.recv().await {
            let at = inner.clock.elapsed();
            let action = match event {
                LookupEvent::Started(index) => Action::LookupStarted { batch, index, at },
                LookupEvent::Finished(index, outcome) => Action::LookupFinished {
                    batch,
                    index,
                    outcome,
                    at,
                    stats: conn.client.stats(),
                },
            };
            let _ = inner.tx.send(action);
        }
    };
    // The engine drops its sender when done, which ends `forward` after the last event.
    let (summary, ()) = tokio::join!(run, forward);
    log_requests(
        &format!("lookup batch {batch} ({users} users)"),
        before,
        conn.client.stats(),
    );
    Action::LookupBatchDone {
        batch,
        cancelled: summary.cancelled,
        // A refused token stops the batch: say so, not "cancelled" (the admin did not).
        // A refused token stops the batch (the reducer says where to fix it).
        error: match (summary.auth_failure, summary.stopped) {
            (Some(e), _) => Some(AppError::new(ErrorKind::Auth, e)),
            // The breaker tripped on the server's answers, or it asks to wait too long.
            (None, Some(why)) => Some(AppError::new(
                ErrorKind::Server,
                format!("Lookups stopped: {why}"),
            )),
            (None, None) => None,
        },
    }
}

impl Inner {
    fn journal_dir(&self) -> PathBuf {
        self.settings
            .journal_dir
            .clone()
            .unwrap_or_else(journal::default_dir)
    }
}

/// Interrupted batches (and `also`, if it stopped unfinished), newest first.
fn find_unfinished(dir: &std::path::Path, also: Option<String>) -> Vec<UnfinishedBatch> {
    let mut logs: Vec<BatchLog> = journal::list(dir)
        .0
        .into_iter()
        .filter(|l| match l.status() {
            BatchStatus::Completed => false,
            BatchStatus::Interrupted => !journal::is_locked(&l.path),
            BatchStatus::Stopped(_) => also.as_deref() == Some(l.id()),
        })
        .collect();
    logs.sort_by_key(|l| std::cmp::Reverse(l.header.at));
    logs.into_iter().map(UnfinishedBatch::from_log).collect()
}

/// Every batch of the journal in `dir`, newest first, with the files that could not
/// be read named (the same reading as `navscim journal list`).
fn list_journal(dir: PathBuf) -> JournalListing {
    let (logs, errors) = journal::list(&dir);
    let batches = logs
        .into_iter()
        .rev()
        .map(|log| {
            let locked = log.status() == BatchStatus::Interrupted && journal::is_locked(&log.path);
            JournalBatch::from_log(log, locked)
        })
        .collect();
    JournalListing {
        dir,
        batches,
        errors: errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// The workspace's snapshots, oldest first, read through a read-only view (no lock
/// taken, nothing written: the session's own workspace may be open for writing). No
/// workspace file yet is no snapshot yet.
fn read_trend(path: &std::path::Path) -> Result<Vec<crate::workspace::Snapshot>, AppError> {
    match Workspace::open_read_only(path) {
        Ok(ws) => Ok(ws.history()?),
        Err(WorkspaceError::Missing(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Opens the batch (`start` checks the gates and writes or reopens the journal), runs
/// it with the session's client, forwarding its events; answers `ApplyDone`.
async fn apply_batch(
    inner: &Inner,
    spec: &ConnectionSpec,
    start: impl FnOnce() -> Result<Batch, apply::ApplyError> + Send + 'static,
    control: BatchControl,
) -> Action {
    let Some((id, control_rx)) = control else {
        return Action::ApplyDone {
            result: Err(AppError::new(
                ErrorKind::Bug,
                "internal error: a batch without its control channel",
            )),
        };
    };
    let result = run_batch(inner, spec, start, control_rx).await;
    let mut slot = inner.batch_control.lock().expect("not poisoned");
    if slot.as_ref().is_some_and(|(current, _)| *current == id) {
        *slot = None;
    }
    Action::ApplyDone { result }
}

async fn run_batch(
    inner: &Inner,
    spec: &ConnectionSpec,
    start: impl FnOnce() -> Result<Batch, apply::ApplyError> + Send + 'static,
    control_rx: watch::Receiver<Control>,
) -> Result<Box<apply::BatchSummary>, AppError> {
    let conn = inner.connection(spec).await?;
    let batch = match blocking(start).await {
        Ok(Ok(batch)) => batch,
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => {
            let e = AppError::from(e);
            let words = format!("opening the journal failed: {e}");
            return Err(AppError::new(e.kind, words));
        }
    };
    let options = RunOptions {
        on_breaker: BreakerAction::Pause,
        ..RunOptions::default()
    };
    let before = conn.client.stats();
    let (events_tx, mut events_rx) = tokio::sync::mpsc::unbounded_channel();
    let run = apply::run(&conn.client, batch, &options, control_rx, events_tx);
    let forward = async {
        while let Some(event) = events_rx.recv().await {
            let at = inner.clock.elapsed();
            let _ = inner.tx.send(Action::ApplyProgress {
                event: Box::new(event),
                at,
            });
        }
    };
    let (summary, ()) = tokio::join!(run, forward);
    log_requests(
        &format!("batch {}", summary.batch),
        before,
        conn.client.stats(),
    );
    Ok(Box::new(summary))
}

/// The retry summary of a piece of work: the SCIM requests it made (`before` and
/// `after` are the session client's counters), retried and throttled.
fn log_requests(work: &str, before: ClientStats, after: ClientStats) {
    tracing::info!(
        requests = after.requests.saturating_sub(before.requests),
        retries = after.retries.saturating_sub(before.retries),
        throttled = after.throttled.saturating_sub(before.throttled),
        "{work}: SCIM requests, retries and 429s"
    );
}

/// Resolves the token, builds a client and tests it. Shared words with `navscim check`.
pub async fn test_connection(
    spec: ConnectionSpec,
    settings: &Settings,
) -> Result<ConnectionSummary, ConnectionFailure> {
    let client = connect(&spec, settings).await?;
    let budget = settings.timeout.unwrap_or(super::connect::DEFAULT_TIMEOUT);
    let report = super::connect::test_within(&client, budget)
        .await
        .0
        .map_err(|e| ConnectionFailure::from_scim(&e))?;
    if let Some(problem) = filter_problem(&report) {
        return Err(problem);
    }
    Ok(summarize(&report))
}

/// A server that answered users to a filter for a value that cannot exist does not
/// honour filters: every lookup against it would be a guess, so the test fails and
/// says so (shared with `navscim check`).
pub fn filter_problem(report: &ConnectionReport) -> Option<ConnectionFailure> {
    report.filter_problem.as_ref().map(|p| ConnectionFailure {
        headline: "The server does not honour filters".into(),
        detail: format!(
            "{p}. Lookups against it cannot tell who exists: they end in error, never \
             in \"not found\". Check the base URL (a proxy or another endpoint?) or ask \
             the vendor."
        ),
    })
}

/// A client for `spec` with the session's settings (through the one client factory).
pub async fn connect(
    spec: &ConnectionSpec,
    settings: &Settings,
) -> Result<ScimClient, ConnectionFailure> {
    client_for(spec, settings).await.map_err(|e| e.failure())
}

/// [`connect`] with a typed error, for the effects that answer with an [`AppError`].
async fn connect_typed(spec: &ConnectionSpec, settings: &Settings) -> Result<ScimClient, AppError> {
    Ok(client_for(spec, settings).await?)
}

async fn client_for(
    spec: &ConnectionSpec,
    settings: &Settings,
) -> Result<ScimClient, super::connect::ConnectError> {
    let setup = super::connect::ClientSetup {
        ca_file: settings.ca_file.clone(),
        rate_limit: settings.rate_limit,
        timeout: settings.timeout,
        connect_timeout: settings.connect_timeout,
        ..super::connect::ClientSetup::from_spec(spec)
    };
    super::connect::connect(setup).await
}

pub fn summarize(report: &ConnectionReport) -> ConnectionSummary {
    let spc = report.service_provider_config.as_ref();
    ConnectionSummary {
        latency: report.latency,
        probe: match report.probe {
            ProbeMethod::ServiceProviderConfig => "ServiceProviderConfig".into(),
            ProbeMethod::FilteredLookup => "a filtered lookup".into(),
        },
        filter: report.filter_supported,
        patch: report.patch_supported,
        delete: report.delete_supported,
        bulk: spc.map(|c| c.bulk.supported).unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace writer's work runs marked as its effect, so a panic in it is the
    /// effect's for the panic hook (logged with the effect's name, the terminal left to
    /// the running dashboard) and is caught; the mark ends with it.
    #[test]
    fn workspace_work_is_marked_as_its_effect_and_its_panic_caught() {
        super::super::terminal::install_panic_hook();
        let seen = caught("Saving a note", super::super::terminal::current_effect);
        assert_eq!(seen, Some(Some("Saving a note")));
        let died: Option<()> = caught("Saving a note", || panic!("in the writer"));
        assert_eq!(died, None);
        assert_eq!(super::super::terminal::current_effect(), None);
    }

    /// Ignoring many users (marked users, `i` on Users) is one workspace transaction,
    /// not one per user.
    #[test]
    fn ignoring_many_users_is_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Some(Workspace::open(&dir.path().join("ws.sqlite")).unwrap());
        let before = ws.as_ref().unwrap().commits();
        let keys: Vec<String> = ["ann", "bob", "cat"]
            .iter()
            .map(|n| format!("{n}@corp.example"))
            .collect();
        let op = WorkspaceOp::SetIgnored {
            keys: keys.clone(),
            reason: Some("left".into()),
        };
        let action = workspace_op(&mut ws, op, dir.path());
        assert!(
            matches!(action, Action::WorkspaceWritten { result: Ok(_), .. }),
            "{action:?}"
        );
        let ws = ws.unwrap();
        assert_eq!(ws.commits() - before, 1, "one transaction for the lot");
        let ignores = ws.load().unwrap().ignores;
        assert!(keys.iter().all(|k| ignores[k] == "left"), "{ignores:?}");
    }
}
