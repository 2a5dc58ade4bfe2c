//! One folder per pane, each with its state and its reducer. A pane reducer changes
//! its own pane (reading others where it must) and asks for reactions of other panes
//! through [`crate::app::event::Event`]s, never by calling their reducers.
//!
//! Adding a pane: a folder `pane/NAME/` with `state.rs` (its state, and `context()`
//! for the key table), `reducer.rs` (`command`, plus `edit_text` / `paste` if it has
//! text fields, plus the handlers of the effect results it owns) and `mod.rs`; a
//! field on [`crate::app::state::State`], a [`crate::app::state::Tab`], its key
//! contexts and bindings in [`crate::app::keys`], the routes in
//! [`crate::app::reducer`], and `ui/NAME.rs`. A table it shows owns a
//! [`crate::app::table::TableState`] (filtered: implement
//! [`crate::app::table::FilteredPane`] and call `table::pane_command`).
//!
//! Adding a cross-pane flow: a variant of [`crate::app::event::Event`] named by what
//! happened, emitted by the pane where it happens (`out.emit(…)`), routed by the root
//! reducer's `on_event` to a handler in the reducing pane's `reducer.rs`. Events are
//! drained in order within the same `reduce` call; `out.now` is the action's time.

pub mod actions;
pub mod connection;
pub mod history;
pub mod usage;
pub mod users;
