//! The Connection pane: where to connect, how to get the token, what navscim may change.

pub mod reducer;
pub mod state;

pub use state::*;
