//! Named reactions of one pane to another, and the outbox a reducer writes to.
//!
//! A pane reducer never calls another pane's reducer. When something it did matters to
//! another pane (the Users pane's lookups changed what a Usage plan would do; the
//! Usage pane built a plan for the Actions pane to review), it emits an [`Event`]. The
//! root reducer ([`super::reduce`]) drains the queue after the action, in order, and
//! routes each event to the pane that reacts to it (as gitui's `InternalEvent` does).
//! Events a reaction emits are drained in the same call, so one action's consequences
//! are complete when `reduce` returns.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::effect::{Effect, ImportSource};
use super::notice::Notice;
use super::pane::actions::state::{PlanOrigin, UnfinishedBatch};
use super::pane::users::state::LoadSummary;
use crate::import::{Import, NeedsDateOrder};
use crate::plan::{OpKind, Plan};

/// A cross-pane reaction, named by what happened.
#[derive(Debug)]
pub enum Event {
    /// The Users pane's lookup results changed (a batch finished, a link was made or
    /// verified). Usage refreshes what a plan would do.
    UsersChanged,
    /// The directory gained users or details (files loaded). Usage joins its report again.
    DirectoryChanged,
    /// The Users pane's loader imported usage reports, and found reports whose slash
    /// dates need the admin to say their order. Usage takes them.
    UsageImported {
        imports: Vec<Import>,
        questions: Vec<(ImportSource, NeedsDateOrder)>,
        /// What the same load added to the Users pane (the notice tells both).
        loaded: LoadSummary,
    },
    /// A permission checkbox on the Connection pane changed. Actions re-checks the gates.
    PermissionsChanged,
    /// `D` / `E` / `C` on the Users pane: Actions builds a plan of `kind` from the
    /// Users pane's marked users (or the cursor's) and shows it for review.
    PlanFromUsers(OpKind),
    /// A pane built a plan: Actions shows it for review. `hidden_marked` counts marked
    /// users the source pane's filter hides (the confirmation shows it).
    ReviewPlan {
        plan: Box<Plan>,
        origin: PlanOrigin,
        hidden_marked: usize,
        notes: Vec<String>,
        /// What to tell the admin once the plan is shown, instead of the default.
        notice: Option<Notice>,
    },
    /// Look these users (indices into the Users pane's directory) up: new users after
    /// a load, or users a batch changed (`quiet`: no notice when all goes well). Users
    /// starts the lookups.
    LookUp { users: Vec<usize>, quiet: bool },
    /// `r` on the History pane: a batch the journal says is unfinished. Actions shows
    /// it for review; applying it there finishes it.
    ResumeFromJournal(Box<UnfinishedBatch>),
}

/// What one call of [`super::reduce`] produces besides the state change: effects for
/// the runtime and events for the other panes. Also carries the call's clock.
#[derive(Debug)]
pub struct Outbox {
    /// The wall-clock time of the action, given by the caller of `reduce` (the runtime
    /// reads the clock; tests pass a fixed one). The reducer reads no clock itself.
    pub now: DateTime<Utc>,
    pub effects: Vec<Effect>,
    events: VecDeque<Event>,
}

impl Outbox {
    pub fn new(now: DateTime<Utc>) -> Self {
        Outbox {
            now,
            effects: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Asks the runtime to do something.
    pub fn push(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    /// Asks another pane to react.
    pub fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The next event to route, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}
