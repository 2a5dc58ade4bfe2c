//! SCIM 2.0 client for the Sales Navigator SCIM service (and any RFC 7644 server).
//!
//! One client is shared by the TUI and every headless command.

pub mod breaker;
pub mod client;
pub mod error;
pub mod filter;
mod limiter;
pub mod model;
mod retry;

pub use breaker::Breaker;
pub use client::{ClientConfig, ClientStats, ConnectionReport, ProbeMethod, ScimClient};
pub use error::{ErrorCategory, ScimError};
pub use filter::{Filter, FilterAttr};
pub use model::{
    Email, ErrorBody, ListResponse, Name, NewUser, PatchOp, ScimUser, ServiceProviderConfig,
    UserList,
};
