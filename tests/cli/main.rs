//! The headless commands (`check`, `lookup`, `plan`, `apply`) run as the admin runs
//! them: the built binary with a private configuration and data directory
//! ([`support`], the one CLI test harness).

#[path = "../apply_support/mod.rs"]
mod apply_support;
#[path = "../plan_support/mod.rs"]
mod plan_support;
mod support;

mod apply;
mod check;
mod idp;
mod log;
mod lookup;
mod plan;
mod shell;
mod workspace;
