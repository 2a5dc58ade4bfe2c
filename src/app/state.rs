//! Everything the dashboard knows. Changed only by [`super::reduce`]; read by the UI.

use std::time::Duration;

use crate::config::{TokenError, TokenSource};
use crate::scim::ScimError;
use crate::secret::Token;

use super::keys::Context;

/// The four panes, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Connection,
    Users,
    Usage,
    Actions,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Connection, Tab::Users, Tab::Usage, Tab::Actions];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Connection => "Connection",
            Tab::Users => "Users",
            Tab::Usage => "Usage",
            Tab::Actions => "Actions",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

pub use crate::plan::{ChangeKind, Permissions};

/// A single-line text input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextField {
    pub value: String,
    /// Cursor position in characters.
    pub cursor: usize,
}

impl TextField {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let cursor = value.chars().count();
        TextField { value, cursor }
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_index(self.cursor);
        self.value.insert(at, c);
        self.cursor += 1;
    }

    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars().filter(|c| !c.is_control()) {
            self.insert(c);
        }
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            let at = self.byte_index(self.cursor - 1);
            self.value.remove(at);
            self.cursor -= 1;
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.value.chars().count() {
            let at = self.byte_index(self.cursor);
            self.value.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.value.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.value.chars().count();
    }

    pub fn clear(&mut self) {
        self.value.clear();
        self.cursor = 0;
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.value
            .char_indices()
            .nth(chars)
            .map(|(i, _)| i)
            .unwrap_or(self.value.len())
    }
}

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
    pub test: TestStatus,
    /// Bumped for every test so a late answer to an older one is ignored.
    pub test_seq: u64,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// One line in the status bar, replaced by the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// Modal overlays, topmost first in precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help { scroll: u16 },
    QuitConfirm,
}

#[derive(Debug, Clone)]
pub struct State {
    pub tab: Tab,
    pub connection: ConnectionState,
    pub users: super::users::UsersState,
    pub usage: super::usage::UsageState,
    pub actions: super::actions::ActionsState,
    /// The terminal's size, from `Action::Resize`; paging and scrolling need it.
    pub size: (u16, u16),
    pub overlay: Overlay,
    pub notice: Option<Notice>,
    /// Render without colour (NO_COLOR); selection stays visible through reverse video.
    pub no_color: bool,
    pub should_quit: bool,
    /// Bumped by the reducer whenever something visible changed; the runtime draws
    /// only when it differs from the revision it last drew (the dirty flag).
    pub revision: u64,
}

impl State {
    pub fn new(connection: ConnectionState, no_color: bool) -> Self {
        State {
            tab: Tab::Connection,
            connection,
            users: Default::default(),
            usage: Default::default(),
            actions: Default::default(),
            size: (80, 24),
            overlay: Overlay::None,
            notice: None,
            no_color,
            should_quit: false,
            revision: 1,
        }
    }

    /// Whether any background work is running (quitting then asks first).
    pub fn work_running(&self) -> bool {
        matches!(self.connection.test, TestStatus::Running)
            || self.users.progress.running
            || self.actions.batch_running()
    }

    /// The key context that decides what a key press means right now.
    pub fn key_context(&self) -> Context {
        match self.overlay {
            Overlay::Help { .. } => Context::Help,
            Overlay::QuitConfirm => Context::QuitConfirm,
            Overlay::None => self.pane_context(),
        }
    }

    /// The key context of the pane underneath any overlay (what help describes).
    pub fn pane_context(&self) -> Context {
        match self.tab {
            Tab::Connection if self.connection.editing => Context::TextEdit,
            Tab::Connection => Context::Connection,
            Tab::Users if self.users.mapping.is_some() => Context::Mapping,
            Tab::Users if self.users.prompt.is_some() => Context::Prompt,
            Tab::Users if self.users.filter_editing => Context::UsersFilter,
            Tab::Users if self.users.details_open || self.users.files_open => Context::Details,
            Tab::Users => Context::Users,
            Tab::Usage => self.usage.context(),
            Tab::Actions => self.actions.context(),
        }
    }
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
            test: TestStatus::NotRun,
            test_seq: 0,
            demo: false,
        }
    }
}
