//! The application core: state, actions, effects and the pure reducer. No I/O here.

pub mod action;
pub mod actions;
pub mod actions_reducer;
pub mod effect;
pub mod keys;
pub mod reducer;
pub mod state;
pub mod table;
pub mod usage;
pub mod usage_reducer;
pub mod users;
pub mod users_reducer;

pub use action::Action;
pub use effect::{ClockPurpose, ConnectionSpec, Effect, ImportSource};
pub use reducer::reduce;
pub use state::State;
