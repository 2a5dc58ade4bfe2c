//! The Usage pane's state: the usage report joined to the users, the idle model's
//! answers, and the pane's own view (filter, sort, cursor, marks).

use super::keys::Context;

#[derive(Debug, Clone, Default)]
pub struct UsageState {}

impl UsageState {
    /// The key context of the pane (overlays aside).
    pub fn context(&self) -> Context {
        Context::Usage
    }

    /// The text field typed into in [`Context::UsageText`].
    pub fn text_field(&mut self) -> Option<&mut super::state::TextField> {
        None
    }
}
