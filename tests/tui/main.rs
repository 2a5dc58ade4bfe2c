//! The dashboard's tests: the pure reducer driven by keys and actions, the headless
//! runtime against the embedded simulator, and what each pane shows ([`harness`], the
//! one TUI test harness; [`snapshots`], the panes' snapshot tests).

#[path = "../apply_support/mod.rs"]
mod apply_support;
mod harness;
mod hints;
#[path = "../plan_support/mod.rs"]
mod plan_support;

mod actions;
mod colors;
mod columns;
mod command_line;
mod errors;
mod export;
mod history;
mod identity;
mod input;
mod keys;
mod messages;
mod mouse;
mod notices;
mod paste;
mod shell;
mod small;
mod snapshots;
mod sources;
mod stranded;
mod usage;
mod users;
mod waits;
mod workspace;
