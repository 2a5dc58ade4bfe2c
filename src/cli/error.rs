//! Errors at the command line's edge, and the one place they become output.
//!
//! A command returns a [`CliError`] (an exit code from [`super::exit`] and the words
//! for the admin); [`Report::fail`] prints it the way the command reports (its name
//! on stderr, or JSON on stdout with `--json`) and returns the exit code.

use serde_json::json;

use super::exit;
use crate::error::AppError;
use crate::runtime::connect::ConnectError;

/// An error a command ends with: the process exit code and what the admin reads.
/// Never holds a token (the errors it is made from name the token's source only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// One of [`super::exit`].
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }

    /// A usage or configuration problem (exit 2).
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError::new(exit::USAGE, message.to_string())
    }
}

impl From<AppError> for CliError {
    /// The exit code of the error's kind (the mapping the dashboard shares).
    fn from(e: AppError) -> Self {
        CliError::new(e.exit_code(), e.message)
    }
}

impl From<ConnectError> for CliError {
    /// A token that cannot be read is a configuration problem (2); a client that cannot
    /// be set up, by its error's category; a dead token task, a failure (1).
    fn from(e: ConnectError) -> Self {
        AppError::from(e).into()
    }
}

/// How a command reports an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Report {
    /// `navscim lookup: …` instead of `navscim: …`.
    pub command: Option<&'static str>,
    /// `{"ok": false, "error": …, "exit_code": …}` on stdout instead of stderr.
    pub json: bool,
}

impl Report {
    /// `navscim COMMAND: …` on stderr.
    pub fn named(command: &'static str) -> Self {
        Report {
            command: Some(command),
            json: false,
        }
    }

    /// `navscim: …` on stderr, or JSON on stdout when `json`.
    pub fn plain(json: bool) -> Self {
        Report {
            command: None,
            json,
        }
    }

    /// Prints `err` and returns its exit code; the error is logged too.
    pub fn fail(self, err: CliError) -> i32 {
        tracing::warn!(exit_code = err.code, "{}", err.message);
        // Messages quote files and server answers: no secret, no raw control character.
        let message = crate::sanitize::for_terminal(&crate::secret::scrub(&err.message));
        if self.json {
            let out = json!({ "ok": false, "error": message, "exit_code": err.code });
            println!(
                "{}",
                crate::sanitize::json_for_terminal(&format!("{out:#}"))
            );
        } else {
            match self.command {
                Some(command) => eprintln!("navscim {command}: {message}"),
                None => eprintln!("navscim: {message}"),
            }
        }
        err.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{TokenError, TokenSource};
    use crate::runtime::connect::{connect, ClientSetup};
    use crate::scim::ScimError;

    #[test]
    fn connection_errors_carry_their_exit_code_and_words() {
        let token = CliError::from(ConnectError::Token(TokenError::EnvMissing(
            "NAVSCIM_TOKEN".into(),
        )));
        assert_eq!(token.code, exit::USAGE);
        assert!(token.message.starts_with("No token: "), "{}", token.message);
        assert!(token.message.contains("NAVSCIM_TOKEN"), "{}", token.message);

        let config = CliError::from(ConnectError::Client(ScimError::Config("bad".into())));
        assert_eq!(config.code, exit::USAGE);
        assert!(config.message.starts_with("Configuration problem: "));

        let task = CliError::from(ConnectError::TokenTask("it died".into()));
        assert_eq!(task.code, exit::FAILURE);
    }

    #[tokio::test]
    async fn the_client_factory_names_the_token_source_it_could_not_read() {
        let setup = ClientSetup {
            base_url: "https://scim.example".into(),
            token: TokenSource::Env("NAVSCIM_TEST_UNSET_TOKEN_VARIABLE".into()),
            profile: "default".into(),
            ca_file: None,
            concurrency: None,
            rate_limit: None,
            timeout: None,
            connect_timeout: None,
        };
        let Err(err) = connect(setup).await else {
            panic!("a client without a token");
        };
        assert!(matches!(
            err,
            ConnectError::Token(TokenError::EnvMissing(_))
        ));
        let err = CliError::from(err);
        assert_eq!(err.code, exit::USAGE);
        assert!(err.message.contains("NAVSCIM_TEST_UNSET_TOKEN_VARIABLE"));
    }
}
