//! The Actions pane.

pub mod reducer;
pub mod state;

pub use state::*;
