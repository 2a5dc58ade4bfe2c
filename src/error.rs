//! Typed errors at the edges: what an effect of the dashboard failed with, and what a
//! command of the CLI exits with, decided in one place.
//!
//! An [`AppError`] is a [`ErrorKind`] (what the reducer decides on, and the exit code
//! through [`ErrorKind::exit_code`], shared with [`crate::cli::error::CliError`]) and the
//! admin's words. It is built from the engine's typed errors (the SCIM client's
//! [`ErrorCategory`], [`ImportError`], [`WorkspaceError`], [`JournalError`],
//! [`ApplyError`], [`IdpError`], [`ConnectError`]), never by guessing from a text. Its
//! message never holds a secret: [`AppError::new`] scrubs every registered secret
//! ([`crate::secret::scrub`]) whatever the text came from. The dashboard's notice text is
//! made from it in one place, [`crate::app::notice::failed`].

use std::fmt;

use crate::apply::ApplyError;
use crate::batch_lock::LockError;
use crate::cli::exit;
use crate::idp::IdpError;
use crate::import::ImportError;
use crate::journal::JournalError;
use crate::runtime::connect::ConnectError;
use crate::scim::{ErrorCategory, ScimError};
use crate::workspace::WorkspaceError;

/// What kind of failure an [`AppError`] is: enough for a reducer to decide what to say
/// and do, and for the CLI to pick its exit code ([`ErrorKind::exit_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The SCIM server refused the token (401/403): fixed on the Connection pane.
    Auth,
    /// An identity provider (Okta, Entra ID) refused the credentials or lacks a
    /// permission: fixed in the sources list.
    SourceAuth,
    /// DNS, connect, TLS, timeout, dropped connection.
    Network,
    /// The server answered, but not as expected (4xx/5xx, malformed body, throttled
    /// past the retries, a filter it ignores).
    Server,
    /// Settings or usage: no token, a bad base URL or CA file, a plan for another
    /// server, a missing setting.
    Config,
    /// A file the admin gave could not be used; where in it, as far as known.
    Input(InputPlace),
    /// The workspace is held by another navscim (or opened read-only): nothing is saved.
    WorkspaceLocked,
    /// The workspace file is damaged (it was kept aside).
    WorkspaceCorrupt,
    /// The workspace was written by a newer navscim.
    WorkspaceNewer,
    /// Another batch runs (journal or server lock): nothing was sent.
    Busy,
    /// A safety gate refused the change, or it conflicts with what the data says:
    /// nothing was sent.
    Refused,
    /// Reading or writing a local file (journal, export, configuration) failed.
    Io,
    /// An effect's task died (a bug): see the log.
    Bug,
}

/// Where in an input file a problem is: the file as the admin named it, and the line
/// (1-based) and field (column or JSON field name) when known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputPlace {
    pub file: String,
    pub line: Option<usize>,
    pub field: Option<String>,
}

impl fmt::Display for InputPlace {
    /// `plan.json, line 3, field "operations"` (only the parts known).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field:?}")?;
        }
        Ok(())
    }
}

impl ErrorKind {
    /// The process exit code for this kind (see [`crate::cli::exit`]): the one mapping
    /// the CLI and the dashboard share. 3 refused credentials, 4 network, 5 unexpected
    /// server answer, 2 settings, input files and workspaces that cannot be used, 6 a
    /// refusal or another batch running (nothing sent), 1 any other failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            ErrorKind::Auth | ErrorKind::SourceAuth => exit::AUTH,
            ErrorKind::Network => exit::NETWORK,
            ErrorKind::Server => exit::SERVER,
            ErrorKind::Config
            | ErrorKind::Input(_)
            | ErrorKind::WorkspaceLocked
            | ErrorKind::WorkspaceCorrupt
            | ErrorKind::WorkspaceNewer => exit::USAGE,
            ErrorKind::Busy | ErrorKind::Refused => exit::REFUSED,
            ErrorKind::Io | ErrorKind::Bug => exit::FAILURE,
        }
    }
}

impl From<ErrorCategory> for ErrorKind {
    fn from(category: ErrorCategory) -> Self {
        match category {
            ErrorCategory::Auth => ErrorKind::Auth,
            ErrorCategory::Network => ErrorKind::Network,
            ErrorCategory::Server => ErrorKind::Server,
            ErrorCategory::Local => ErrorKind::Config,
        }
    }
}

/// A failure an effect answers with (or a command ends with): its kind and the
/// admin's words, scrubbed of every secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    /// What happened, in the admin's words; never a secret.
    pub message: String,
}

impl AppError {
    /// An error of `kind`; the message is scrubbed of every registered secret.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        AppError {
            kind,
            message: crate::secret::scrub(&message.to_string()),
        }
    }

    /// A local file could not be read or written.
    pub fn io(message: impl fmt::Display) -> Self {
        AppError::new(ErrorKind::Io, message)
    }

    /// An input file could not be used, at `place`.
    pub fn input(place: InputPlace, message: impl fmt::Display) -> Self {
        AppError::new(ErrorKind::Input(place), message)
    }

    /// An effect's task died: `what` is the effect's name (never its data).
    pub fn bug(what: &str) -> Self {
        AppError::new(
            ErrorKind::Bug,
            format!("{what} failed unexpectedly (see the log)"),
        )
    }

    /// The exit code of this error ([`ErrorKind::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl From<AppError> for String {
    /// For the engine's callers that still speak in text.
    fn from(e: AppError) -> String {
        e.message
    }
}

impl From<ScimError> for AppError {
    fn from(e: ScimError) -> Self {
        AppError::new(e.category().into(), e)
    }
}

impl From<ConnectError> for AppError {
    /// A token that cannot be read is a setting to fix; a client that cannot be set
    /// up, by its error's category; a dead token task, a bug. In the words of the
    /// connection test (`headline: detail`).
    fn from(e: ConnectError) -> Self {
        let kind = match &e {
            ConnectError::Token(_) => ErrorKind::Config,
            ConnectError::TokenTask(_) => ErrorKind::Bug,
            ConnectError::Client(e) => e.category().into(),
        };
        let failure = e.failure();
        AppError::new(kind, format!("{}: {}", failure.headline, failure.detail))
    }
}

impl From<WorkspaceError> for AppError {
    fn from(e: WorkspaceError) -> Self {
        let kind = match &e {
            WorkspaceError::Locked { .. } | WorkspaceError::ReadOnly { .. } => {
                ErrorKind::WorkspaceLocked
            }
            WorkspaceError::Corrupt { .. } | WorkspaceError::Data { .. } => {
                ErrorKind::WorkspaceCorrupt
            }
            WorkspaceError::Newer { .. } => ErrorKind::WorkspaceNewer,
            WorkspaceError::Missing(_) => ErrorKind::Config,
            WorkspaceError::Storage { .. } => ErrorKind::Io,
        };
        AppError::new(kind, e)
    }
}

impl From<ImportError> for AppError {
    /// Every import error is about the file it names.
    fn from(e: ImportError) -> Self {
        let file = match &e {
            ImportError::Io { file, .. }
            | ImportError::Empty { file }
            | ImportError::BadOverride { file, .. } => file.clone(),
            ImportError::NeedsMapping(n) => n.file.clone(),
            ImportError::NeedsDateOrder(n) => n.file.clone(),
        };
        AppError::input(
            InputPlace {
                file,
                ..InputPlace::default()
            },
            e,
        )
    }
}

impl From<JournalError> for AppError {
    fn from(e: JournalError) -> Self {
        let kind = match &e {
            JournalError::Busy(_) => ErrorKind::Busy,
            JournalError::UnknownBatch(_) | JournalError::Ambiguous(..) => ErrorKind::Config,
            JournalError::Io { .. } | JournalError::Invalid { .. } => ErrorKind::Io,
        };
        AppError::new(kind, e)
    }
}

impl From<LockError> for AppError {
    fn from(e: LockError) -> Self {
        let kind = match &e {
            LockError::Busy { .. } => ErrorKind::Busy,
            LockError::Io { .. } => ErrorKind::Io,
        };
        AppError::new(kind, e)
    }
}

impl From<ApplyError> for AppError {
    /// A gate's refusal is a refusal; another batch running is busy; a batch for
    /// another server is a setting to fix (as `navscim apply` has always exited).
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Refused(_) => AppError::new(ErrorKind::Refused, e),
            ApplyError::Journal(e) => e.into(),
            ApplyError::Locked(e) => e.into(),
            ApplyError::WrongServer { .. } => AppError::new(ErrorKind::Config, e),
        }
    }
}

impl From<IdpError> for AppError {
    fn from(e: IdpError) -> Self {
        let kind = match &e {
            IdpError::Auth { .. } | IdpError::Forbidden { .. } => ErrorKind::SourceAuth,
            IdpError::Network { .. } => ErrorKind::Network,
            IdpError::Server { .. } => ErrorKind::Server,
            IdpError::AppNotFound { .. } | IdpError::AppAmbiguous { .. } | IdpError::Config(_) => {
                ErrorKind::Config
            }
        };
        AppError::new(kind, e)
    }
}

impl From<tokio::task::JoinError> for AppError {
    /// The blocking task running an effect's work died (its panic is logged by the
    /// panic hook, with the effect's name).
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::new(ErrorKind::Bug, format!("the task failed unexpectedly: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_exit_codes_agree_with_the_cli_s() {
        assert_eq!(ErrorKind::from(ErrorCategory::Auth).exit_code(), exit::AUTH);
        assert_eq!(
            ErrorKind::from(ErrorCategory::Network).exit_code(),
            exit::NETWORK
        );
        assert_eq!(
            ErrorKind::from(ErrorCategory::Server).exit_code(),
            exit::SERVER
        );
        assert_eq!(
            ErrorKind::from(ErrorCategory::Local).exit_code(),
            exit::USAGE
        );
        let busy = AppError::from(ApplyError::Locked(LockError::Busy {
            dir: "j".into(),
            holder: "batch 1".into(),
        }));
        assert_eq!(busy.kind, ErrorKind::Busy);
        assert_eq!(busy.exit_code(), exit::REFUSED);
        let wrong = AppError::from(ApplyError::WrongServer {
            batch: "1".into(),
            recorded: "https://a".into(),
            given: "https://b".into(),
        });
        assert_eq!(wrong.exit_code(), exit::USAGE);
        let locked = AppError::from(WorkspaceError::Locked {
            path: "ws.db".into(),
            holder: "pid 1".into(),
        });
        assert_eq!(locked.kind, ErrorKind::WorkspaceLocked);
        assert_eq!(locked.exit_code(), exit::USAGE);
    }

    /// A text from anywhere (a server's body, a library's message) loses a registered
    /// secret on its way into an `AppError`, whatever the conversion.
    #[test]
    fn no_secret_survives_into_an_app_error() {
        let secret = "app-error-secret-9d2e7f41";
        let _token = crate::secret::Token::new(secret);
        let direct = AppError::io(format!("cannot write: {secret} echoed"));
        assert!(!direct.message.contains(secret), "{}", direct.message);
        let scim = AppError::from(ScimError::Http {
            status: 500,
            scim_type: None,
            detail: format!("Authorization: Bearer {secret}"),
        });
        assert_eq!(scim.kind, ErrorKind::Server);
        assert!(!scim.message.contains(secret), "{}", scim.message);
        let idp = AppError::from(IdpError::Auth {
            provider: "okta",
            detail: format!("SSWS {secret}"),
        });
        assert_eq!(idp.kind, ErrorKind::SourceAuth);
        assert!(!idp.to_string().contains(secret), "{idp}");
    }
}
