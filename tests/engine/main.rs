//! The engine's tests (import, lookup, planning, apply and journal, the SCIM client and
//! the simulator), in one test binary: each binary links the whole crate, and build
//! time matters on two cores. `scim_logs` and `scim_proxy` stay binaries of their own
//! because they change process-wide state (the tracing subscriber, the environment).

#[path = "../apply_support/mod.rs"]
mod apply_support;
#[path = "../failsafe_support/mod.rs"]
mod failsafe_support;
#[path = "../field_support/mod.rs"]
mod field_support;
#[path = "../plan_support/mod.rs"]
mod plan_support;

mod apply_engine;
mod failsafe_breakers;
mod failsafe_cancel;
mod failsafe_inputs;
mod failsafe_lock;
mod failsafe_secrets;
mod identity;
mod import_common;
mod import_demo;
mod import_errors;
mod import_formats;
mod import_mapping;
mod import_perf;
mod journal_crash;
mod lookup_engine;
mod plan_deprovision;
mod plan_select;
mod scim_client;
mod scim_http;
mod scim_tls;
mod server_answers;
mod sim_contract;
mod workspace;
