//! The History pane: the journal of every batch (undo and resume, after a restart
//! too) and the workspace's trend of seats over time.

pub mod reducer;
pub mod state;

pub use state::*;
