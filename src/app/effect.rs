//! What the reducer asks the runtime to do. Plain data: no I/O happens here.

use crate::config::{Profile, TokenSource};
use crate::secret::Token;

/// Where to connect and how to get the token; resolved by the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSpec {
    pub base_url: String,
    pub token: TokenSource,
    /// Names the stored token when `token` is [`TokenSource::Stored`].
    pub profile: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Resolve the token and test the connection; answer with `Action::ConnectionTested`.
    TestConnection { seq: u64, spec: ConnectionSpec },
    /// Write the profile (and the pasted token, only if the admin chose to store it).
    SaveProfile {
        profile: Profile,
        token: Option<Token>,
    },
}

impl Effect {
    /// A short name for messages about the effect itself.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::TestConnection { .. } => "Testing the connection",
            Effect::SaveProfile { .. } => "Saving the profile",
        }
    }
}
