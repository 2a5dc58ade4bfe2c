//! The Usage pane's part of the reducer.

use super::effect::Effect;
use super::keys::Command;
use super::state::State;

/// A command while the Usage pane has focus. Returns whether anything visible changed.
pub(super) fn command(state: &mut State, command: Command, effects: &mut Vec<Effect>) -> bool {
    let _ = (state, command, effects);
    false
}

/// After a keystroke in [`super::keys::Context::UsageText`].
pub(super) fn text_changed(state: &mut State) {
    let _ = state;
}
