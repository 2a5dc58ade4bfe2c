//! navscim — a terminal dashboard for LinkedIn Sales Navigator seats over SCIM 2.0.
//!
//! Data flows one way (see DESIGN.md section 4):
//! terminal events and effect results become [`app::Action`]s, the pure
//! [`app::reduce`] is the only place state changes and returns [`app::Effect`]s,
//! the [`runtime`] executes effects and feeds their results back as actions, and
//! [`ui::render`] draws the state.

pub mod app;
pub mod apply;
pub mod batch_lock;
pub mod cli;
pub mod config;
pub mod error;
pub mod idp;
pub mod import;
pub mod journal;
pub mod lookup;
pub mod matching;
pub mod plan;
pub mod report;
pub mod runtime;
pub mod sanitize;
pub mod scim;
pub mod secret;
pub mod sim;
pub mod theme;
pub mod ui;
pub mod usage;
pub mod workspace;
