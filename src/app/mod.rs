//! The application core: state, actions, effects and the pure reducer. No I/O here.
//!
//! - [`action`]: what can happen (terminal input, effect results); [`effect`]: what the
//!   reducer asks the runtime to do; [`event`]: named reactions between panes.
//! - [`command_line`]: the `:` verbs (one table), parsed and completed purely, and
//!   the bottom line that types them (and an export's file name).
//! - [`reducer`]: the root reducer, which only routes; [`pane`]: one folder per pane,
//!   each with its state and its reducer.
//! - Shared leaves, importing nothing else from `app`: [`keys`] (the key table),
//!   [`notice`], [`text_field`], [`spec`], [`table`].

pub mod action;
pub mod command_line;
pub mod effect;
pub mod event;
pub mod keys;
pub mod layout;
pub mod notice;
pub mod pane;
pub mod reducer;
pub mod spec;
pub mod state;
pub mod table;
#[cfg(test)]
pub(crate) mod testing;
pub mod text_field;
pub mod workspace;

pub use action::Action;
pub use effect::{Effect, ImportSource};
pub use pane::{actions, connection, history, usage, users};
pub use reducer::reduce;
pub use spec::ConnectionSpec;
pub use state::State;
