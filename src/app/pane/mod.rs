//! One folder per pane, each with its state and its reducer. A pane reducer changes
//! its own pane (reading others where it must) and asks for reactions of other panes
//! through [`crate::app::event::Event`]s, never by calling their reducers.

pub mod actions;
pub mod connection;
pub mod usage;
pub mod users;
