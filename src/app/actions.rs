//! The Actions pane's state: the plan under review, the confirmation dialog, and the
//! batch being applied.

use super::keys::Context;
use crate::plan::Plan;

/// Where a plan came from (shown above it, recorded in the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOrigin {
    /// Marked rows of the Users pane.
    Users,
    /// Marked idle / never-activated users of the Usage pane.
    Usage,
    /// A plan file loaded from disk.
    File(String),
    /// The reverse of a journaled batch.
    Undo { batch: String },
}

#[derive(Debug, Clone, Default)]
pub struct ActionsState {
    pub plan: Option<(Plan, PlanOrigin)>,
}

impl ActionsState {
    /// The key context of the pane (overlays aside).
    pub fn context(&self) -> Context {
        Context::Actions
    }

    /// The text field typed into in [`Context::ActionsText`].
    pub fn text_field(&mut self) -> Option<&mut super::state::TextField> {
        None
    }
}
