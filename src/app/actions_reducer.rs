//! The Actions pane's part of the reducer.

use super::actions::PlanOrigin;
use super::effect::Effect;
use super::keys::Command;
use super::state::{State, Tab};
use crate::plan::Plan;

/// A command while the Actions pane has focus. Returns whether anything visible changed.
pub(super) fn command(state: &mut State, command: Command, effects: &mut Vec<Effect>) -> bool {
    let _ = (state, command, effects);
    false
}

/// After a keystroke in [`super::keys::Context::ActionsText`].
pub(super) fn text_changed(state: &mut State) {
    let _ = state;
}

/// Hands a plan to the Actions pane for review (from the Users or Usage pane, a file,
/// or an undo) and shows it. Nothing is applied here.
pub fn receive_plan(state: &mut State, plan: Plan, origin: PlanOrigin) {
    state.actions.plan = Some((plan, origin));
    state.tab = Tab::Actions;
}
