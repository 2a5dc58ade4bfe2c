//! Unit-test helpers: the reducer at a fixed time.

use chrono::{DateTime, Utc};

use super::{Action, Effect, State};

/// The time every unit test's actions happen at: 2025-06-01 09:00 UTC.
pub fn now() -> DateTime<Utc> {
    "2025-06-01T09:00:00Z".parse().expect("a valid time")
}

/// [`super::reduce`] at [`now`].
pub fn reduce(state: &mut State, action: Action) -> Vec<Effect> {
    super::reduce(state, action, now())
}
