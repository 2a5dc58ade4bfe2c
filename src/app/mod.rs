//! The application core: state, actions, effects and the pure reducer. No I/O here.

pub mod action;
pub mod effect;
pub mod keys;
pub mod reducer;
pub mod state;

pub use action::Action;
pub use effect::{ConnectionSpec, Effect};
pub use reducer::reduce;
pub use state::State;
