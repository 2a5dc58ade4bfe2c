//! The status bar's one-line notices and the helpers every reducer builds them with.

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

/// An informational notice.
pub fn info(text: String) -> Notice {
    Notice {
        level: Level::Info,
        text,
    }
}

/// A warning: something needs the admin's attention.
pub fn warn(text: String) -> Notice {
    Notice {
        level: Level::Warn,
        text,
    }
}

/// An error: something failed or was refused.
pub fn error(text: String) -> Notice {
    Notice {
        level: Level::Error,
        text,
    }
}

/// The one place an effect's failure becomes a notice: what did not happen (`doing`,
/// e.g. `Export failed`), where in an input file, the error's words, then what to do
/// when its kind says it: a refused token is fixed on the Connection pane, refused
/// identity-provider credentials in the sources list, a locked workspace means nothing
/// is saved. The text is scrubbed of secrets (again: an [`AppError`] already is).
///
/// [`AppError`]: crate::error::AppError
pub fn failed(doing: &str, err: &crate::error::AppError) -> Notice {
    use crate::error::ErrorKind;
    let place = match &err.kind {
        ErrorKind::Input(place) => format!(" ({place})"),
        _ => String::new(),
    };
    let hint = match &err.kind {
        ErrorKind::Auth => " · fix the token on the Connection pane (1)",
        ErrorKind::SourceAuth => " · fix the credentials in the sources list (o on Users)",
        ErrorKind::WorkspaceLocked => " · the workspace is read-only: nothing you do here is saved",
        _ => "",
    };
    error(crate::secret::scrub(&format!(
        "{doing}{place}: {}{hint}",
        err.message
    )))
}
