//! The Connection pane's state: base URL, token source, permissions, the connection test.

use std::time::Duration;

use crate::app::spec::ConnectionSpec;
use crate::app::text_field::TextField;
use crate::config::{TokenError, TokenSource};
use crate::plan::Permissions;
use crate::scim::ScimError;
use crate::secret::Token;

/// Where the token comes from, as chosen on the Connection pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSourceKind {
    Paste,
    Env,
    File,
    Command,
}

impl TokenSourceKind {
    pub const ALL: [TokenSourceKind; 4] = [
        TokenSourceKind::Paste,
        TokenSourceKind::Env,
        TokenSourceKind::File,
        TokenSourceKind::Command,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TokenSourceKind::Paste => "Paste",
            TokenSourceKind::Env => "Env var",
            TokenSourceKind::File => "File",
            TokenSourceKind::Command => "Command",
        }
    }

    pub fn next(self) -> Self {
        let i = TokenSourceKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(0);
        TokenSourceKind::ALL[(i + 1) % TokenSourceKind::ALL.len()]
    }

    pub fn prev(self) -> Self {
        let i = TokenSourceKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(0);
        TokenSourceKind::ALL[(i + TokenSourceKind::ALL.len() - 1) % TokenSourceKind::ALL.len()]
    }
}

/// The focusable rows of the Connection pane, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnField {
    BaseUrl,
    TokenSource,
    TokenValue,
    StoreToken,
    TestButton,
    Provisioning,
    Deprovisioning,
    SaveButton,
}

/// The outcome of "Test connection", reduced to what the pane shows.
#[derive(Debug, Clone, PartialEq)]
pub enum TestStatus {
    NotRun,
    Running,
    Passed(ConnectionSummary),
    Failed(ConnectionFailure),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSummary {
    pub latency: Duration,
    /// "ServiceProviderConfig" or "filtered lookup".
    pub probe: String,
    pub filter: bool,
    pub patch: bool,
    pub delete: bool,
    pub bulk: bool,
}

/// A failed test, in the admin's words: what happened and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionFailure {
    pub headline: String,
    pub detail: String,
}

impl ConnectionFailure {
    /// The words for a SCIM error, shared by the Connection pane and `navscim check`.
    pub fn from_scim(err: &ScimError) -> Self {
        let (headline, advice) = match err {
            ScimError::Unauthorized { status: 403, .. } => (
                "Token refused (HTTP 403)",
                "The token is valid but lacks rights for SCIM. Check the SCIM configuration in Account Center.",
            ),
            ScimError::Unauthorized { .. } => (
                "Token rejected (HTTP 401)",
                "The token is wrong or expired. Reuse the token your identity provider already uses: generating a new one invalidates the old one.",
            ),
            ScimError::Tls(_) => (
                "TLS failed",
                "The server's certificate is not trusted. Behind TLS inspection, pass your company's CA with --ca-file.",
            ),
            ScimError::Timeout(_) => (
                "Timed out",
                "No answer in time. Check the base URL, the network and HTTPS_PROXY.",
            ),
            ScimError::Network(_) => (
                "Unreachable",
                "Could not connect. Check the base URL, DNS, the network and HTTPS_PROXY.",
            ),
            ScimError::Redirect { .. } => (
                "Redirected",
                "The server redirected; navscim never sends the token to another address. Use the final URL as the base URL.",
            ),
            ScimError::Config(_) | ScimError::EmptyFilterValue { .. } => {
                ("Configuration problem", "Fix the setting named above.")
            }
            ScimError::NotFound => (
                "Not a SCIM endpoint (HTTP 404)",
                "Check the base URL: resource paths such as /Users are appended to it.",
            ),
            _ => (
                "Unexpected answer",
                "The server answered, but not like a SCIM service. Check the base URL.",
            ),
        };
        ConnectionFailure {
            headline: headline.to_string(),
            detail: format!("{err}. {advice}"),
        }
    }

    pub fn from_token(err: &TokenError) -> Self {
        ConnectionFailure {
            headline: "No token".to_string(),
            detail: err.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectionState {
    pub profile: String,
    pub base_url: TextField,
    pub source_kind: TokenSourceKind,
    /// The pasted token. Rendered masked, never echoed.
    pub pasted: Token,
    pub env_var: TextField,
    pub file_path: TextField,
    pub command: TextField,
    /// Store the pasted token with the profile (file mode 0600). Off by default.
    pub store_token: bool,
    pub permissions: Permissions,
    pub focus: ConnField,
    /// The focused text field takes typed keys.
    pub editing: bool,
    /// The value before editing started, restored by Esc.
    pub edit_backup: Option<EditBackup>,
    /// The pasted token is selected (editing just opened on it): the next typed key
    /// replaces it.
    pub secret_selected: bool,
    pub test: TestStatus,
    /// Bumped for every test so a late answer to an older one is ignored.
    pub test_seq: u64,
    /// When the running test started (shown as the time waited so far).
    pub test_started: Option<chrono::DateTime<chrono::Utc>>,
    /// Running against the embedded simulator: nothing is saved to the admin's profile.
    pub demo: bool,
}

impl ConnectionState {
    /// The rows shown, in order; the stored-token checkbox only applies to a pasted token.
    pub fn fields(&self) -> Vec<ConnField> {
        let mut fields = vec![
            ConnField::BaseUrl,
            ConnField::TokenSource,
            ConnField::TokenValue,
        ];
        if self.source_kind == TokenSourceKind::Paste && !self.demo {
            fields.push(ConnField::StoreToken);
        }
        fields.extend([
            ConnField::TestButton,
            ConnField::Provisioning,
            ConnField::Deprovisioning,
        ]);
        if !self.demo {
            fields.push(ConnField::SaveButton);
        }
        fields
    }

    /// The text field a focused row edits, if it is a text row.
    pub fn focused_text(&mut self) -> Option<&mut TextField> {
        match (self.focus, self.source_kind) {
            (ConnField::BaseUrl, _) => Some(&mut self.base_url),
            (ConnField::TokenValue, TokenSourceKind::Env) => Some(&mut self.env_var),
            (ConnField::TokenValue, TokenSourceKind::File) => Some(&mut self.file_path),
            (ConnField::TokenValue, TokenSourceKind::Command) => Some(&mut self.command),
            _ => None,
        }
    }

    /// The text field a focused row shows, if it is a text row (read-only).
    pub fn focused_field(&self) -> Option<&TextField> {
        match (self.focus, self.source_kind) {
            (ConnField::BaseUrl, _) => Some(&self.base_url),
            (ConnField::TokenValue, TokenSourceKind::Env) => Some(&self.env_var),
            (ConnField::TokenValue, TokenSourceKind::File) => Some(&self.file_path),
            (ConnField::TokenValue, TokenSourceKind::Command) => Some(&self.command),
            _ => None,
        }
    }

    /// Where to connect and how to get the token, as the runtime's effects need it.
    pub fn spec(&self) -> ConnectionSpec {
        ConnectionSpec {
            base_url: self.base_url.value.trim().to_string(),
            token: self.token_source(),
            profile: self.profile.clone(),
        }
    }

    /// The token source as the shared config code understands it.
    pub fn token_source(&self) -> TokenSource {
        match self.source_kind {
            TokenSourceKind::Paste => TokenSource::Pasted(self.pasted.clone()),
            TokenSourceKind::Env => TokenSource::Env(self.env_var.value.trim().to_string()),
            TokenSourceKind::File => TokenSource::File(self.file_path.value.trim().into()),
            TokenSourceKind::Command => TokenSource::Command(self.command.value.trim().to_string()),
        }
    }
}

/// What Esc restores when an edit is abandoned.
#[derive(Debug, Clone)]
pub enum EditBackup {
    Text(TextField),
    Secret(Token),
}

impl ConnectionState {
    pub fn new(profile: impl Into<String>, base_url: impl Into<String>) -> Self {
        ConnectionState {
            profile: profile.into(),
            base_url: TextField::new(base_url),
            source_kind: TokenSourceKind::Env,
            pasted: Token::new(""),
            env_var: TextField::new(crate::config::DEFAULT_TOKEN_ENV),
            file_path: TextField::default(),
            command: TextField::default(),
            store_token: false,
            permissions: Permissions::default(),
            focus: ConnField::BaseUrl,
            editing: false,
            edit_backup: None,
            secret_selected: false,
            test: TestStatus::NotRun,
            test_seq: 0,
            test_started: None,
            demo: false,
        }
    }
}
