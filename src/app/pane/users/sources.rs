//! The Users pane's sources list (issue 12): the CSV files loaded and the
//! identity-provider connections, and the form that adds a connection. Its state and
//! its part of the reducer. Pure.
//!
//! A connection is an identity provider's app (`okta:APP`, `entra:APP`) with the
//! provider's settings (org URL, or tenant and client id, and where the secret comes
//! from: an environment variable, a file or a command — never the secret itself). They
//! are the profile's identity-provider settings ([`crate::idp::cli::IdpSettings`], the
//! ones `navscim sources test --save` writes and `navscim lookup --source` reads), saved
//! by [`Effect::SaveSources`] whenever a connection is added or removed (never in the
//! demo).
//!
//! - Test (`t`): [`Effect::TestSource`], the same sign-in, app search and listing as
//!   `navscim sources test`; answered by [`Action::SourceTested`] with the same lines.
//! - Refresh (`r`, `R` for all): the assignments read again and merged into the
//!   Users pane exactly like a CSV load ([`Effect::ImportFiles`] with an
//!   [`ImportSource::Idp`], answered by `FilesImported`), then the new users looked up.
//! - Remove (`d`): the connection leaves the list and the profile (users already
//!   loaded from it stay until the next start).
//!
//! [`Action::SourceTested`]: crate::app::Action::SourceTested

use std::path::PathBuf;

use crate::app::effect::{Effect, ImportSource};
use crate::app::event::Outbox;
use crate::app::keys::{Command, Context};
use crate::app::notice::{error, failed, info, warn, Level, Notice};
use crate::app::state::State;
use crate::app::text_field::{TextEdit, TextField};
use crate::config::TokenSource;
use crate::error::AppError;
use crate::idp::cli::{
    EntraSettings, IdpSettings, OktaSettings, SourceSpec, DEFAULT_ENTRA_SECRET_ENV,
    DEFAULT_OKTA_TOKEN_ENV,
};
use crate::idp::{Provider, Source};
use crate::import::{Import, ImportError};

/// Where a connection stands, as of the latest answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    /// Neither tested nor read this session.
    Idle,
    Testing,
    Reading,
    /// Tested: what `navscim sources test` says, a line each.
    Tested(Vec<String>),
    /// Read and merged into the Users pane: this many users.
    Read {
        users: usize,
    },
    /// The test or the read failed: why (never a secret; errors are scrubbed).
    Failed(String),
}

/// One identity-provider connection of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpConnection {
    pub provider: Provider,
    /// The app's id or label / display name.
    pub app: String,
    pub status: SourceStatus,
}

impl IdpConnection {
    /// `okta:APP` / `entra:APP`.
    pub fn label(&self) -> String {
        Source::Idp {
            provider: self.provider,
            app: self.app.clone(),
        }
        .to_string()
    }
}

/// Where a secret comes from, as the form offers it (never pasted: a connection is
/// saved, and a secret is saved by reference only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Env,
    File,
    Command,
}

impl SecretKind {
    const ALL: [SecretKind; 3] = [SecretKind::Env, SecretKind::File, SecretKind::Command];

    pub fn label(self) -> &'static str {
        match self {
            SecretKind::Env => "environment variable",
            SecretKind::File => "file (mode 0600)",
            SecretKind::Command => "command (prints the secret)",
        }
    }

    fn source(self, value: &str) -> TokenSource {
        match self {
            SecretKind::Env => TokenSource::Env(value.to_string()),
            SecretKind::File => TokenSource::File(PathBuf::from(value)),
            SecretKind::Command => TokenSource::Command(value.to_string()),
        }
    }
}

/// One row of the add form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormRow {
    /// A text field with its label.
    Text {
        label: &'static str,
        field: TextField,
    },
    /// Where the secret comes from (← → choose).
    SecretKind(SecretKind),
}

/// The form that adds a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceForm {
    pub provider: Provider,
    pub rows: Vec<FormRow>,
    pub focus: usize,
}

// Row labels: also how the form's values are read back.
const ORG_URL: &str = "Org URL";
const APP_OKTA: &str = "App id or label";
const TENANT: &str = "Tenant id";
const CLIENT_ID: &str = "Client id";
const APP_ENTRA: &str = "App id or display name";
const SECRET_REF_OKTA: &str = "Token: variable / path / command";
const SECRET_REF_ENTRA: &str = "Secret: variable / path / command";

impl SourceForm {
    /// An empty form for `provider`, the secret from its default environment variable.
    pub fn new(provider: Provider) -> Self {
        let text = |label| FormRow::Text {
            label,
            field: TextField::default(),
        };
        let rows = match provider {
            Provider::Okta => vec![
                text(ORG_URL),
                text(APP_OKTA),
                FormRow::SecretKind(SecretKind::Env),
                FormRow::Text {
                    label: SECRET_REF_OKTA,
                    field: TextField::selected(DEFAULT_OKTA_TOKEN_ENV),
                },
            ],
            Provider::Entra => vec![
                text(TENANT),
                text(CLIENT_ID),
                FormRow::SecretKind(SecretKind::Env),
                FormRow::Text {
                    label: SECRET_REF_ENTRA,
                    field: TextField::selected(DEFAULT_ENTRA_SECRET_ENV),
                },
                text(APP_ENTRA),
            ],
        };
        SourceForm {
            provider,
            rows,
            focus: 0,
        }
    }

    /// "Add an Okta connection" / "Add an Entra ID connection".
    pub fn title(&self) -> &'static str {
        match self.provider {
            Provider::Okta => "Add an Okta connection",
            Provider::Entra => "Add an Entra ID connection",
        }
    }

    fn value(&self, label: &str) -> String {
        self.rows
            .iter()
            .find_map(|r| match r {
                FormRow::Text { label: l, field } if *l == label => Some(field.value.trim()),
                _ => None,
            })
            .unwrap_or_default()
            .to_string()
    }

    fn secret_kind(&self) -> SecretKind {
        self.rows
            .iter()
            .find_map(|r| match r {
                FormRow::SecretKind(k) => Some(*k),
                _ => None,
            })
            .unwrap_or(SecretKind::Env)
    }

    /// The focused text field, if the focus is on one.
    fn focused_field(&mut self) -> Option<&mut TextField> {
        match self.rows.get_mut(self.focus) {
            Some(FormRow::Text { field, .. }) => Some(field),
            _ => None,
        }
    }

    /// The connection the form describes, or what is missing.
    fn connection(&self) -> Result<(Provider, String, IdpSettings), String> {
        let kind = self.secret_kind();
        let missing = |what: &str| Err(format!("{what} is missing"));
        let (app, secret_ref) = match self.provider {
            Provider::Okta => (self.value(APP_OKTA), self.value(SECRET_REF_OKTA)),
            Provider::Entra => (self.value(APP_ENTRA), self.value(SECRET_REF_ENTRA)),
        };
        if secret_ref.is_empty() {
            return missing("Where the secret comes from");
        }
        let secret = kind.source(&secret_ref);
        let mut settings = IdpSettings::default();
        match self.provider {
            Provider::Okta => {
                let org_url = self.value(ORG_URL);
                if org_url.is_empty() {
                    return missing("The org URL");
                }
                settings.okta = Some(OktaSettings {
                    org_url,
                    token: secret,
                    bearer: false,
                });
            }
            Provider::Entra => {
                let (tenant, client_id) = (self.value(TENANT), self.value(CLIENT_ID));
                if tenant.is_empty() {
                    return missing("The tenant id");
                }
                if client_id.is_empty() {
                    return missing("The client id");
                }
                settings.entra = Some(EntraSettings {
                    tenant,
                    client_id,
                    secret,
                    login_url: None,
                    graph_url: None,
                });
            }
        }
        if app.is_empty() {
            return missing("The app");
        }
        Ok((self.provider, app, settings))
    }
}

/// The sources list of the Users pane.
#[derive(Debug, Clone, Default)]
pub struct SourcesState {
    /// The list is shown (`o` on the Users pane).
    pub open: bool,
    /// The profile's identity-provider settings: the connections' settings, and what
    /// is saved when the list changes.
    pub settings: IdpSettings,
    /// The profile the settings belong to (and that names a stored secret).
    pub profile: String,
    /// Save the list when it changes (false in the demo: its connections are the
    /// embedded simulators, for this session only).
    pub persist: bool,
    /// The connections, in the order of `settings.sources`.
    pub connections: Vec<IdpConnection>,
    /// The selected connection.
    pub cursor: usize,
    pub form: Option<SourceForm>,
}

impl SourcesState {
    /// The list of `profile` from its saved settings (`persist`: save changes).
    pub fn from_settings(profile: &str, settings: IdpSettings, persist: bool) -> Self {
        let mut s = SourcesState {
            settings,
            profile: profile.to_string(),
            persist,
            ..SourcesState::default()
        };
        s.sync();
        s
    }

    /// Rebuilds `connections` from `settings.sources`, keeping known statuses.
    fn sync(&mut self) {
        let old = std::mem::take(&mut self.connections);
        for value in &self.settings.sources {
            let Ok(Source::Idp { provider, app }) = Source::parse(value) else {
                continue;
            };
            let status = old
                .iter()
                .find(|c| c.provider == provider && c.app == app)
                .map(|c| c.status.clone())
                .unwrap_or(SourceStatus::Idle);
            self.connections.push(IdpConnection {
                provider,
                app,
                status,
            });
        }
        self.cursor = self.cursor.min(self.connections.len().saturating_sub(1));
    }

    /// The key context of the list: the form, else the list.
    pub fn context(&self) -> Context {
        if self.form.is_some() {
            Context::SourceForm
        } else {
            Context::Sources
        }
    }

    /// What an effect needs to read connection `index` (`None`: no such connection).
    /// The CA file is the session's, added by the runtime.
    pub fn spec(&self, index: usize) -> Option<SourceSpec> {
        let c = self.connections.get(index)?;
        Some(SourceSpec {
            provider: c.provider,
            app: c.app.clone(),
            settings: self.settings.clone(),
            profile: self.profile.clone(),
            ca_file: None,
        })
    }

    /// The settings' words for connection `index`: where it connects and where its
    /// secret comes from (a command's text is not shown: it may hold the secret).
    pub fn describe(&self, index: usize) -> String {
        let Some(c) = self.connections.get(index) else {
            return String::new();
        };
        let secret = |t: &TokenSource| match t {
            TokenSource::Command(_) => "a command".to_string(),
            other => other.describe(),
        };
        match c.provider {
            Provider::Okta => match &self.settings.okta {
                Some(o) => format!("{} · token from {}", o.org_url, secret(&o.token)),
                None => "no Okta settings".into(),
            },
            Provider::Entra => match &self.settings.entra {
                Some(e) => format!(
                    "tenant {} · client {} · secret from {}",
                    e.tenant,
                    e.client_id,
                    secret(&e.secret)
                ),
                None => "no Entra ID settings".into(),
            },
        }
    }

    fn index_of(&self, label: &str) -> Option<usize> {
        self.connections.iter().position(|c| c.label() == label)
    }
}

/// `o`: opens the list.
pub fn open(state: &mut State) {
    state.users.sources.open = true;
}

/// Commands while the list (or its form) is open.
pub fn command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    if state.users.sources.form.is_some() {
        return form_command(state, command, out);
    }
    let sources = &mut state.users.sources;
    let n = sources.connections.len();
    match command {
        Command::Close => sources.open = false,
        Command::Up => sources.cursor = sources.cursor.saturating_sub(1),
        Command::Down => sources.cursor = (sources.cursor + 1).min(n.saturating_sub(1)),
        Command::AddOkta => sources.form = Some(SourceForm::new(Provider::Okta)),
        Command::AddEntra => sources.form = Some(SourceForm::new(Provider::Entra)),
        Command::TestConnection => {
            let index = sources.cursor;
            let Some(spec) = sources.spec(index) else {
                return false;
            };
            sources.connections[index].status = SourceStatus::Testing;
            state.notice = Some(info(format!("Testing {} …", spec.label())));
            out.push(Effect::TestSource {
                spec: Box::new(spec),
            });
        }
        Command::RefreshSource => {
            let index = sources.cursor;
            if index >= n {
                return false;
            }
            read(state, &[index], Vec::new(), out);
        }
        Command::RefreshAllSources => {
            if n == 0 {
                return false;
            }
            read(state, &(0..n).collect::<Vec<_>>(), Vec::new(), out);
        }
        Command::RemoveSource => {
            let Some(c) = sources.connections.get(sources.cursor) else {
                return false;
            };
            let label = c.label();
            let provider = c.provider;
            sources.settings.sources.retain(|s| *s != label);
            let still_used = sources.settings.sources.iter().any(|s| {
                matches!(Source::parse(s), Ok(Source::Idp { provider: p, .. }) if p == provider)
            });
            if !still_used {
                match provider {
                    Provider::Okta => sources.settings.okta = None,
                    Provider::Entra => sources.settings.entra = None,
                }
            }
            sources.sync();
            save(state, out);
            state.notice = Some(info(format!(
                "Removed {label}; the users read from it stay until navscim starts again"
            )));
        }
        _ => return false,
    }
    true
}

fn form_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let sources = &mut state.users.sources;
    let Some(form) = sources.form.as_mut() else {
        return false;
    };
    match command {
        Command::EditCancel | Command::Close => sources.form = None,
        Command::Up => form.focus = form.focus.saturating_sub(1),
        Command::Down => form.focus = (form.focus + 1).min(form.rows.len() - 1),
        Command::EditCommit => match form.connection() {
            Err(why) => state.notice = Some(error(format!("Not added: {why}"))),
            Ok((provider, app, settings)) => {
                sources.form = None;
                // One Okta org and one Entra ID tenant a profile: the provider's other
                // connections now use these settings too.
                let before = match provider {
                    Provider::Okta => sources.settings.okta != settings.okta,
                    Provider::Entra => sources.settings.entra != settings.entra,
                };
                let shared = before
                    && sources
                        .connections
                        .iter()
                        .any(|c| c.provider == provider && c.app != app);
                match provider {
                    Provider::Okta => sources.settings.okta = settings.okta,
                    Provider::Entra => sources.settings.entra = settings.entra,
                }
                let label = Source::Idp {
                    provider,
                    app: app.clone(),
                }
                .to_string();
                if !sources.settings.sources.contains(&label) {
                    sources.settings.sources.push(label.clone());
                }
                sources.sync();
                let index = sources.index_of(&label).unwrap_or(0);
                sources.cursor = index;
                save(state, out);
                // Added to be used: its users are read (and looked up) at once.
                read(state, &[index], Vec::new(), out);
                if shared {
                    state.notice = Some(warn(format!(
                        "Reading {label} …; the other {} connections use these settings too (one {} a profile)",
                        provider.label(),
                        match provider {
                            Provider::Okta => "Okta org",
                            Provider::Entra => "Entra ID tenant",
                        }
                    )));
                }
            }
        },
        _ => return false,
    }
    true
}

/// Asks the runtime to save the settings (when the list is the profile's).
fn save(state: &mut State, out: &mut Outbox) {
    let sources = &state.users.sources;
    if sources.persist {
        out.push(Effect::SaveSources {
            profile: sources.profile.clone(),
            settings: sources.settings.clone(),
        });
    }
}

/// Reads connections `indices` and imports `files` with them, in one load: the users
/// merge into the Users pane like a CSV load's and the new ones are looked up.
pub fn read(state: &mut State, indices: &[usize], files: Vec<ImportSource>, out: &mut Outbox) {
    let sources = &mut state.users.sources;
    let mut load = Vec::new();
    for &i in indices {
        if let Some(spec) = sources.spec(i) {
            sources.connections[i].status = SourceStatus::Reading;
            load.push(ImportSource::Idp(Box::new(spec)));
        }
    }
    let names: Vec<String> = load
        .iter()
        .filter_map(|s| match s {
            ImportSource::Idp(spec) => Some(spec.label()),
            _ => None,
        })
        .collect();
    load.extend(files);
    if load.is_empty() {
        return;
    }
    if !names.is_empty() {
        state.notice = Some(info(format!("Reading {} …", names.join(", "))));
    }
    // Through the workspace: a load asked for while it is being read waits for it.
    crate::app::workspace::load_files(state, load, true, out);
}

/// [`crate::app::Action::ReadSources`]: every connection, with `files`, in one load.
pub fn read_all(state: &mut State, files: Vec<ImportSource>, out: &mut Outbox) {
    let n = state.users.sources.connections.len();
    read(state, &(0..n).collect::<Vec<_>>(), files, out);
}

/// A load answered: the statuses of the connections it read.
pub fn imported(state: &mut State, results: &[(ImportSource, Result<Import, ImportError>)]) {
    let sources = &mut state.users.sources;
    for (source, result) in results {
        let ImportSource::Idp(spec) = source else {
            continue;
        };
        let Some(i) = sources.index_of(&spec.label()) else {
            continue;
        };
        sources.connections[i].status = match result {
            // One row per provenance, numbered by the user's place in the listing.
            Ok(import) => SourceStatus::Read {
                users: import
                    .idp_users()
                    .iter()
                    .map(|u| u.source.line)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
            },
            // The connection is named on its line already.
            Err(ImportError::Io { message, .. }) => SourceStatus::Failed(message.clone()),
            Err(e) => SourceStatus::Failed(e.to_string()),
        };
    }
}

/// The answer to [`Effect::TestSource`].
pub fn tested(state: &mut State, source: String, result: Result<Vec<String>, AppError>) -> bool {
    let sources = &mut state.users.sources;
    if let Some(i) = sources.index_of(&source) {
        sources.connections[i].status = match &result {
            Ok(lines) => SourceStatus::Tested(lines.clone()),
            Err(e) => SourceStatus::Failed(e.message.clone()),
        };
    }
    state.notice = Some(match result {
        Ok(lines) => info(format!(
            "{source}: test passed: {}",
            lines.last().cloned().unwrap_or_default()
        )),
        Err(e) => failed(&format!("{source}: test failed"), &e),
    });
    true
}

/// The answer to [`Effect::SaveSources`].
pub fn saved(state: &mut State, result: Result<PathBuf, AppError>) -> bool {
    state.notice = Some(match result {
        Ok(path) => info(format!("Sources saved in {} (no secrets)", path.display())),
        // A warning, as before: the sources in use are unchanged.
        Err(e) => Notice {
            level: Level::Warn,
            ..failed("The sources were not saved", &e)
        },
    });
    true
}

/// A key typed into the add form: the focused field, or ← → on the secret's source.
pub fn edit_text(state: &mut State, edit: TextEdit) -> bool {
    let Some(form) = state.users.sources.form.as_mut() else {
        return false;
    };
    if let Some(FormRow::SecretKind(kind)) = form.rows.get_mut(form.focus) {
        let at = SecretKind::ALL.iter().position(|k| k == kind).unwrap_or(0);
        let n = SecretKind::ALL.len();
        *kind = match edit {
            TextEdit::Right | TextEdit::Insert(' ') => SecretKind::ALL[(at + 1) % n],
            TextEdit::Left => SecretKind::ALL[(at + n - 1) % n],
            _ => return false,
        };
        return true;
    }
    match form.focused_field() {
        Some(field) => {
            field.edit(edit);
            true
        }
        None => false,
    }
}

/// Terminal paste into the add form's focused field.
pub fn paste(state: &mut State, text: &str) -> bool {
    let Some(form) = state.users.sources.form.as_mut() else {
        return false;
    };
    match form.focused_field() {
        Some(field) => {
            field.insert_str(text.trim());
            true
        }
        None => false,
    }
}
