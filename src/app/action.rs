//! Everything that can happen: terminal input and the results of effects.
//!
//! An effect that fails answers with an [`AppError`]: its kind (what the reducer
//! decides on) and the admin's words, never a secret.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::AppError;
use crate::import::{Import, ImportError};
use crate::matching::LookupOutcome;
use crate::scim::{ClientStats, ScimUser};

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use super::keys::Command;
use super::pane::actions::state::{LoadedPlan, UnfinishedBatch};
use super::pane::connection::state::{ConnectionFailure, ConnectionSummary};

#[derive(Debug, Clone)]
pub enum Action {
    /// A key press from the terminal; resolved through the key table by the reducer.
    Key(KeyEvent),
    /// Bracketed paste from the terminal.
    Paste(String),
    /// A mouse report (only with `--mouse`: the terminal sends none otherwise).
    /// Column and row are 0-based cells; the reducer hit-tests them against
    /// [`super::layout`].
    Mouse(MouseEvent),
    /// The terminal's size (sent at start and on every change).
    Resize(u16, u16),
    /// A command without a key (tests, scripted screenshots).
    Command(Command),
    /// A second passed while work runs (sent by the runtime only then): the elapsed
    /// times on screen move on.
    Tick,
    /// The answer to `Effect::TestConnection { seq }`.
    ConnectionTested {
        seq: u64,
        result: Result<ConnectionSummary, ConnectionFailure>,
    },
    /// The answer to `Effect::SaveProfile`.
    ProfileSaved { result: Result<PathBuf, AppError> },
    /// An effect's task died instead of answering (a bug): say so, keep running.
    EffectFailed(AppError),
    /// Load these files (from the command line or the demo); optionally look the new
    /// users up.
    LoadFiles {
        sources: Vec<super::effect::ImportSource>,
        lookup_after: bool,
    },
    /// The answer to `Effect::ImportFiles`: one result per file, in order, with the
    /// file it came from (so a file that needs a column mapping can be imported again).
    FilesImported {
        results: Vec<(super::effect::ImportSource, Result<Import, ImportError>)>,
        lookup_after: bool,
    },
    /// Progress of `Effect::LookupUsers`. `at` is the runtime's clock (time since it
    /// started), so the reducer can compute rates without reading a clock itself.
    LookupStarted {
        batch: u64,
        index: usize,
        at: Duration,
    },
    LookupFinished {
        batch: u64,
        index: usize,
        outcome: Box<LookupOutcome>,
        at: Duration,
        stats: ClientStats,
    },
    /// The final answer to `Effect::LookupUsers`; `error` when the batch could not run
    /// at all (no token, bad base URL).
    LookupBatchDone {
        batch: u64,
        cancelled: usize,
        error: Option<AppError>,
    },
    /// The answer to `Effect::VerifyLink`.
    LinkVerified {
        index: usize,
        scim_id: String,
        result: Result<Option<Box<ScimUser>>, AppError>,
    },
    /// The answer to `Effect::Export`: what was exported, the path and rows written.
    Exported {
        what: super::effect::ExportKind,
        result: Result<(PathBuf, usize), AppError>,
    },
    /// The answer to `Effect::Export` without `overwrite` when a file is there:
    /// nothing was written; the admin is asked, and `y` writes this same job.
    ExportExists { job: Box<super::effect::ExportJob> },
    // Actions pane.
    /// At start: look for batches a crash or kill left unfinished.
    CheckJournal,
    /// The answer to `Effect::FindUnfinished`.
    UnfinishedFound { batches: Vec<UnfinishedBatch> },
    /// The answer to `Effect::LoadPlan` and `Effect::BuildUndo`: a plan for review.
    PlanLoaded {
        result: Result<Box<LoadedPlan>, AppError>,
    },
    /// Progress of `Effect::ApplyPlan` / `Effect::ResumeBatch`, stamped with the
    /// runtime's clock.
    ApplyProgress {
        event: Box<crate::apply::ApplyEvent>,
        at: Duration,
    },
    /// The final answer to `Effect::ApplyPlan` / `Effect::ResumeBatch`: the batch's
    /// summary, or why it could not start (refused by a gate, journal busy…).
    ApplyDone {
        result: Result<Box<crate::apply::BatchSummary>, AppError>,
    },
    // History pane.
    /// The answer to `Effect::ListJournal { seq }`: every batch of the journal, newest
    /// first, or why the directory could not be read.
    JournalListed {
        seq: u64,
        result: Result<super::pane::history::state::JournalListing, AppError>,
    },
    /// The answer to `Effect::ReadTrend { seq, path }`: the workspace's snapshots,
    /// oldest first (none when there is no workspace file at `path` yet).
    TrendRead {
        seq: u64,
        path: PathBuf,
        result: Result<Vec<crate::workspace::Snapshot>, AppError>,
    },
    // The workspace.
    /// At start: open the workspace at `State::workspace_path` (if any) and read it.
    OpenWorkspace,
    /// The answer to `WorkspaceOp::Open`: what the workspace holds, or why it cannot
    /// be used (the dashboard then runs without its memory).
    WorkspaceLoaded {
        result: Result<Box<super::workspace::Opened>, AppError>,
    },
    /// The answer to every other `Effect::Workspace`: `what` was written (for a file
    /// loaded again: what changed since last time), or why not.
    WorkspaceWritten {
        what: &'static str,
        result: Result<Option<crate::workspace::SourceChanges>, AppError>,
    },
    /// The answer to `WorkspaceOp::ReadOutcome`: user `key`'s stored full outcome
    /// (none stored: `None`), for the details view.
    OutcomeRead {
        key: String,
        result: Result<Option<Box<crate::workspace::StoredOutcome>>, AppError>,
    },
    // Users pane: the sources list (issue 12).
    /// Read every identity-provider connection of the sources list and load `files`
    /// with them, in one load, then look the new users up (at start: the demo's
    /// simulators, a profile's saved connections).
    ReadSources {
        files: Vec<super::effect::ImportSource>,
    },
    /// The answer to `Effect::TestSource`: `source` is the connection (`okta:APP`);
    /// the lines `navscim sources test` prints, or why it failed (no secret in it).
    SourceTested {
        source: String,
        result: Result<Vec<String>, AppError>,
    },
    /// The answer to `Effect::SaveSources`: the file written.
    SourcesSaved { result: Result<PathBuf, AppError> },
}

impl Action {
    /// Progress reports are not an effect's final answer (see `Effect::answers`).
    pub fn is_progress(&self) -> bool {
        matches!(
            self,
            Action::LookupStarted { .. }
                | Action::LookupFinished { .. }
                | Action::ApplyProgress { .. }
        )
    }
}
