//! The Users pane.

pub mod reducer;
pub mod sources;
pub mod state;

pub use state::*;
