//! What the reducer asks the runtime to do. Plain data: no I/O happens here.

use std::path::PathBuf;

use crate::apply::{Control, Gates};
use crate::config::Profile;
use crate::journal::BatchKind;
use crate::lookup::{LookupJob, LookupOptions};
use crate::plan::Plan;
use crate::secret::Token;

pub use super::spec::ConnectionSpec;

/// A CSV file to import: on disk, or compiled in (the demo fixtures).
/// A source of users to import: a CSV file on disk, or compiled in (the demo
/// fixtures), or an identity provider's app assignments (issue 12: read over its API
/// and merged exactly like a file).
#[derive(Debug, Clone, PartialEq)]
pub enum ImportSource {
    Path(PathBuf),
    Embedded {
        name: &'static str,
        text: &'static str,
    },
    /// An identity-provider connection of the Users pane's sources list (its secret by
    /// reference only).
    Idp(Box<crate::idp::cli::SourceSpec>),
}

#[derive(Debug, Clone)]
pub enum Effect {
    /// Resolve the token and test the connection; answer with `Action::ConnectionTested`.
    TestConnection { seq: u64, spec: ConnectionSpec },
    /// Write the profile (and the pasted token, only if the admin chose to store it).
    SaveProfile {
        profile: Profile,
        token: Option<Token>,
    },
    /// Import files; answer with `Action::FilesImported`. `options` apply to every file
    /// (the column-mapping dialog re-imports one file with the admin's mapping).
    ImportFiles {
        sources: Vec<ImportSource>,
        options: crate::import::ImportOptions,
        lookup_after: bool,
    },
    /// Look users up; answer with `LookupStarted`/`LookupFinished` per user, then
    /// `LookupBatchDone`.
    LookupUsers {
        batch: u64,
        spec: ConnectionSpec,
        jobs: Vec<LookupJob>,
        options: LookupOptions,
    },
    /// Stop starting new lookups in every running batch (no answer of its own: each
    /// batch answers with `LookupBatchDone`).
    CancelLookups,
    /// `GET /Users/{id}` to verify a hand link; answer with `Action::LinkVerified`.
    VerifyLink {
        index: usize,
        scim_id: String,
        spec: ConnectionSpec,
    },
    /// Put text on the admin's clipboard through the terminal (OSC 52; works over SSH).
    CopyToClipboard { text: String },
    /// Write a pane's export (the Users or Usage view, the plan under review) to a
    /// file; answer with `Action::Exported`, or `Action::ExportExists` (nothing
    /// written) when the file is there and `overwrite` is not set.
    Export(Box<ExportJob>),
    // Actions pane.
    /// List the journal's interrupted batches (plus batch `also` if it stopped unfinished
    /// in this session); answer with `Action::UnfinishedFound`.
    FindUnfinished { also: Option<String> },
    /// Read a plan file; answer with `Action::PlanLoaded`.
    LoadPlan { path: PathBuf },
    /// Build the reverse plan of a journaled batch; answer with `Action::PlanLoaded`.
    BuildUndo { batch: String },
    /// Journal and run a plan; the gates are checked again before the journal header is
    /// written. Answer with `Action::ApplyProgress` events, then `Action::ApplyDone`.
    ApplyPlan {
        spec: ConnectionSpec,
        plan: Box<Plan>,
        gates: Gates,
        kind: BatchKind,
        undo_of: Option<String>,
        plan_file: Option<String>,
    },
    /// Finish an unfinished batch (gates checked again against its plan, same server
    /// only). Answers like `ApplyPlan`.
    ResumeBatch {
        spec: ConnectionSpec,
        path: PathBuf,
        gates: Gates,
    },
    /// Pause, resume or cancel the running batch (no answer of its own).
    ControlBatch(Control),
    // History pane.
    /// Read every batch of the journal (the directory the runtime journals into);
    /// answer with `Action::JournalListed`.
    ListJournal { seq: u64 },
    /// Open the workspace at `path` read-only and read its snapshots; answer with
    /// `Action::TrendRead`.
    ReadTrend { seq: u64, path: PathBuf },
    /// Read or write the workspace: done by the runtime's one workspace writer, in
    /// the order asked; answers [`super::Action::WorkspaceLoaded`] (opening) or
    /// [`super::Action::WorkspaceWritten`].
    Workspace(super::workspace::WorkspaceOp),
    // Users pane: the sources list (issue 12).
    /// Test an identity-provider connection as `navscim sources test` does; answer
    /// with `Action::SourceTested`.
    TestSource {
        spec: Box<crate::idp::cli::SourceSpec>,
    },
    /// Save the profile's identity-provider settings (never a secret); answer with
    /// `Action::SourcesSaved`.
    SaveSources {
        profile: String,
        settings: crate::idp::cli::IdpSettings,
    },
}

impl Effect {
    /// `y`: put these emails on the clipboard, one a line, with the notice that says
    /// so; `None` when there are none.
    pub fn copy_emails(emails: Vec<String>) -> Option<(Effect, super::notice::Notice)> {
        if emails.is_empty() {
            return None;
        }
        let notice = super::notice::info(format!(
            "Copied {} emails to the clipboard (OSC 52)",
            emails.len()
        ));
        let text = emails.join("\n");
        Some((Effect::CopyToClipboard { text }, notice))
    }

    /// Import `sources` with the default options (the column-mapping dialog imports
    /// again with the admin's choices).
    pub fn import_files(sources: Vec<ImportSource>, lookup_after: bool) -> Effect {
        Effect::ImportFiles {
            sources,
            options: crate::import::ImportOptions::default(),
            lookup_after,
        }
    }

    /// A short name for messages about the effect itself.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::TestConnection { .. } => "Testing the connection",
            Effect::SaveProfile { .. } => "Saving the profile",
            Effect::ImportFiles { .. } => "Importing files",
            Effect::LookupUsers { .. } => "Looking users up",
            Effect::CancelLookups => "Cancelling lookups",
            Effect::VerifyLink { .. } => "Verifying the link",
            Effect::CopyToClipboard { .. } => "Copying",
            Effect::Export(_) => "Exporting",
            Effect::FindUnfinished { .. } => "Reading the journal",
            Effect::LoadPlan { .. } => "Reading the plan",
            Effect::BuildUndo { .. } => "Building the undo plan",
            Effect::ApplyPlan { .. } => "Applying the plan",
            Effect::ResumeBatch { .. } => "Resuming the batch",
            Effect::ControlBatch(_) => "Steering the batch",
            Effect::ListJournal { .. } => "Reading the journal",
            Effect::ReadTrend { .. } => "Reading the workspace's history",
            Effect::Workspace(_) => "Using the workspace",
            Effect::TestSource { .. } => "Testing the source",
            Effect::SaveSources { .. } => "Saving the sources",
        }
    }

    /// Whether the effect answers with exactly one final action (progress aside).
    pub fn answers(&self) -> bool {
        !matches!(
            self,
            Effect::CancelLookups | Effect::CopyToClipboard { .. } | Effect::ControlBatch(_)
        )
    }
}

/// What a pane exports, and to where (`Effect::Export`). Built by the pane from what it
/// shows (the rows in view, filter and sort applied; the plan under review).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportJob {
    pub path: PathBuf,
    pub content: ExportContent,
    /// Replace a file already there (the admin said so); else a file there is
    /// answered with `Action::ExportExists` and left alone.
    pub overwrite: bool,
}

/// The rows or the plan an export writes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportContent {
    /// The Users pane's view: `.csv` or `.json` by the file name ([`crate::report`]).
    Users(Vec<crate::report::UserReport>),
    /// The Usage pane's view, as CSV ([`crate::usage::UsageExportRow`]).
    Usage(Vec<crate::usage::UsageExportRow>),
    /// The plan under review, as `navscim plan --out` writes it ([`Plan::write_file`]),
    /// stamped with the server, profile and tenant it is for.
    Plan(Box<Plan>),
}

impl ExportContent {
    /// What was exported, for the answer.
    pub fn kind(&self) -> ExportKind {
        match self {
            ExportContent::Users(_) => ExportKind::Users,
            ExportContent::Usage(_) => ExportKind::Usage,
            ExportContent::Plan(_) => ExportKind::Plan,
        }
    }

    /// Rows written (users, usage rows, or the plan's operations).
    pub fn len(&self) -> usize {
        match self {
            ExportContent::Users(rows) => rows.len(),
            ExportContent::Usage(rows) => rows.len(),
            ExportContent::Plan(plan) => plan.operations.len(),
        }
    }

    /// Whether there is no row (or no operation) in it.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which export an `Action::Exported` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Users,
    Usage,
    Plan,
}

impl ExportKind {
    /// "Exported 12 users to a.csv": what the admin reads once the file is written.
    pub fn done(self, n: usize, path: &std::path::Path) -> String {
        match self {
            ExportKind::Users => format!("Exported {n} users to {}", path.display()),
            ExportKind::Usage => format!("Exported {n} usage rows to {}", path.display()),
            ExportKind::Plan => format!(
                "Exported the plan ({n} operations) to {} (navscim apply FILE takes it)",
                path.display()
            ),
        }
    }
}
