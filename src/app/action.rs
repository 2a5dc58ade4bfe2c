//! Everything that can happen: terminal input and the results of effects.

use std::path::PathBuf;
use std::time::Duration;

use crate::import::{Import, ImportError};
use crate::matching::LookupOutcome;
use crate::scim::{ClientStats, ScimUser};

use ratatui::crossterm::event::KeyEvent;

use super::keys::Command;
use super::pane::actions::state::{LoadedPlan, UnfinishedBatch};
use super::pane::connection::state::{ConnectionFailure, ConnectionSummary};

#[derive(Debug, Clone)]
pub enum Action {
    /// A key press from the terminal; resolved through the key table by the reducer.
    Key(KeyEvent),
    /// Bracketed paste from the terminal.
    Paste(String),
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
    ProfileSaved { result: Result<PathBuf, String> },
    /// An effect's task died instead of answering (a bug): say so, keep running.
    EffectFailed(String),
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
        error: Option<String>,
    },
    /// The answer to `Effect::VerifyLink`.
    LinkVerified {
        index: usize,
        scim_id: String,
        result: Result<Option<Box<ScimUser>>, String>,
    },
    /// The answer to `Effect::ExportUsers`: the path and rows written.
    Exported {
        result: Result<(PathBuf, usize), String>,
    },
    /// The answer to `Effect::ExportUsers` without `overwrite` when a file is there:
    /// nothing was written; the admin is asked.
    ExportExists { path: PathBuf },
    // Actions pane.
    /// At start: look for batches a crash or kill left unfinished.
    CheckJournal,
    /// The answer to `Effect::FindUnfinished`.
    UnfinishedFound { batches: Vec<UnfinishedBatch> },
    /// The answer to `Effect::LoadPlan` and `Effect::BuildUndo`: a plan for review.
    PlanLoaded { result: Result<LoadedPlan, String> },
    /// Progress of `Effect::ApplyPlan` / `Effect::ResumeBatch`, stamped with the
    /// runtime's clock.
    ApplyProgress {
        event: Box<crate::apply::ApplyEvent>,
        at: Duration,
    },
    /// The final answer to `Effect::ApplyPlan` / `Effect::ResumeBatch`: the batch's
    /// summary, or why it could not start (refused by a gate, journal busy…).
    ApplyDone {
        result: Result<Box<crate::apply::BatchSummary>, String>,
    },
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
