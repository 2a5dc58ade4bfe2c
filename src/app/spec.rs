//! Where to connect and how to get the token: what every effect that talks to the
//! SCIM server carries. Built in one place: `ConnectionState::spec` (Connection pane).

use crate::config::TokenSource;

/// Where to connect and how to get the token; resolved by the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSpec {
    pub base_url: String,
    pub token: TokenSource,
    /// Names the stored token when `token` is [`TokenSource::Stored`].
    pub profile: String,
}
