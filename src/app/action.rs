//! Everything that can happen: terminal input and the results of effects.

use std::path::PathBuf;

use ratatui::crossterm::event::KeyEvent;

use super::keys::Command;
use super::state::{ConnectionFailure, ConnectionSummary};

#[derive(Debug, Clone)]
pub enum Action {
    /// A key press from the terminal; resolved through the key table by the reducer.
    Key(KeyEvent),
    /// Bracketed paste from the terminal.
    Paste(String),
    /// The terminal changed size: everything must be drawn again.
    Resize,
    /// A command without a key (tests, scripted screenshots).
    Command(Command),
    /// The answer to `Effect::TestConnection { seq }`.
    ConnectionTested {
        seq: u64,
        result: Result<ConnectionSummary, ConnectionFailure>,
    },
    /// The answer to `Effect::SaveProfile`.
    ProfileSaved { result: Result<PathBuf, String> },
    /// An effect's task died instead of answering (a bug): say so, keep running.
    EffectFailed(String),
}
