//! The Connection pane's reducer: moving between rows, editing the base URL and the
//! token source (the pasted token blind), the permission checkboxes, testing the
//! connection and saving the profile. Pure.

use std::path::PathBuf;

use super::state::{
    ConnField, ConnectionFailure, ConnectionState, ConnectionSummary, EditBackup, TestStatus,
    TokenSourceKind,
};
use crate::app::effect::Effect;
use crate::app::event::{Event, Outbox};
use crate::app::keys::Command;
use crate::app::notice::{error, failed, info, warn, Notice};
use crate::app::state::State;
use crate::app::text_field::{TextEdit, TextField};
use crate::config::{Profile, TokenSource};
use crate::error::AppError;
use crate::secret::Token;

/// Commands while the Connection pane is shown (no overlay). Returns whether anything
/// visible changed.
pub fn command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    match command {
        Command::EditCommit => finish_edit(state, true),
        Command::EditCancel => finish_edit(state, false),
        // Bound in overlays only; nothing to do on the pane itself.
        Command::Confirm | Command::Close | Command::Help => {}
        _ => return connection_command(state, command, out),
    }
    true
}

/// The answer to a connection test; a late answer to an older test is ignored.
pub fn tested(
    state: &mut State,
    seq: u64,
    result: Result<ConnectionSummary, ConnectionFailure>,
) -> bool {
    // A late answer to an older test must not overwrite the newer one.
    if seq != state.connection.test_seq {
        return false;
    }
    match result {
        Ok(summary) => {
            state.notice = Some(info(format!(
                "Connected in {} ms",
                summary.latency.as_millis()
            )));
            state.connection.test = TestStatus::Passed(summary);
        }
        Err(failure) => {
            state.notice = Some(error(failure.headline.clone()));
            state.connection.test = TestStatus::Failed(failure);
        }
    }
    true
}

/// The answer to saving the profile.
pub fn profile_saved(state: &mut State, result: Result<PathBuf, AppError>) -> bool {
    state.notice = Some(match result {
        Ok(path) => info(format!("Profile saved to {}", path.display())),
        Err(e) => failed("Profile not saved", &e),
    });
    true
}

/// An effect's task died: a test that was running will never answer.
pub fn effect_failed(state: &mut State) {
    if state.connection.test == TestStatus::Running {
        state.connection.test = TestStatus::NotRun;
    }
}

/// An edit while a field is being edited. The pasted token is edited blind: typing
/// appends, Backspace deletes, Ctrl-U empties it, and it is never shown; like every
/// field, a token there when editing starts is selected, so the first key replaces
/// it. Returns whether the field took the edit.
pub fn edit_text(state: &mut State, edit: TextEdit) -> bool {
    let conn = &mut state.connection;
    if conn.focus == ConnField::TokenValue && conn.source_kind == TokenSourceKind::Paste {
        let mut value = if conn.secret_selected {
            String::new()
        } else {
            conn.pasted.expose().to_string()
        };
        match edit {
            TextEdit::Insert(c) => value.push(c),
            TextEdit::Backspace => {
                if !conn.secret_selected {
                    value.pop();
                }
            }
            TextEdit::Clear | TextEdit::Delete => value.clear(),
            TextEdit::Left | TextEdit::Right | TextEdit::Home | TextEdit::End => {
                // No cursor in a blind field; a cursor key only keeps the token.
                conn.secret_selected = false;
                return true;
            }
        }
        conn.secret_selected = false;
        conn.pasted = Token::new(value);
        return true;
    }
    match conn.focused_text() {
        Some(field) => {
            field.edit(edit);
            true
        }
        None => false,
    }
}

/// Terminal paste: a pasted token replaces the old one whole (surrounding whitespace
/// and line breaks are noise); into a field being edited, the text is inserted. A
/// paste never starts or ends editing: Enter after a paste into an open field closes
/// it, as after typing.
pub fn paste(state: &mut State, text: &str) -> bool {
    let conn = &mut state.connection;
    if conn.focus == ConnField::TokenValue && conn.source_kind == TokenSourceKind::Paste {
        let token: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let count = token.chars().count();
        conn.pasted = Token::new(token);
        conn.secret_selected = false;
        let next = if conn.editing {
            "Enter keeps it"
        } else {
            "t tests it"
        };
        state.notice = Some(info(format!(
            "Token pasted ({count} characters) · {next} · kept in memory only{}",
            if conn.store_token {
                " until you save"
            } else {
                ""
            }
        )));
        return true;
    }
    if conn.editing {
        if let Some(field) = conn.focused_text() {
            field.insert_str(text);
            return true;
        }
    }
    false
}

fn finish_edit(state: &mut State, keep: bool) {
    let conn = &mut state.connection;
    let backup = conn.edit_backup.take();
    conn.editing = false;
    conn.secret_selected = false;
    if let Some(field) = conn.focused_text() {
        field.selected = false;
    }
    if !keep {
        match backup {
            Some(EditBackup::Text(old)) => {
                if let Some(field) = conn.focused_text() {
                    *field = old;
                }
            }
            Some(EditBackup::Secret(old)) => conn.pasted = old,
            None => {}
        }
    } else if conn.focus == ConnField::BaseUrl {
        let trimmed = conn.base_url.value.trim().trim_end_matches('/').to_string();
        conn.base_url = TextField::new(trimmed);
    }
}

fn connection_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let conn = &mut state.connection;
    let fields = conn.fields();
    let at = fields.iter().position(|f| *f == conn.focus).unwrap_or(0);
    match command {
        Command::Up => conn.focus = fields[at.saturating_sub(1)],
        Command::Down => conn.focus = fields[(at + 1).min(fields.len() - 1)],
        Command::Top => conn.focus = fields[0],
        Command::Bottom => conn.focus = fields[fields.len() - 1],
        Command::Left | Command::Right if conn.focus == ConnField::TokenSource => {
            conn.source_kind = if command == Command::Left {
                conn.source_kind.prev()
            } else {
                conn.source_kind.next()
            };
            conn.test = TestStatus::NotRun;
        }
        Command::Toggle => return toggle_focused(state, out),
        Command::Activate => match conn.focus {
            ConnField::BaseUrl | ConnField::TokenValue => {
                conn.edit_backup = Some(
                    if conn.focus == ConnField::TokenValue
                        && conn.source_kind == TokenSourceKind::Paste
                    {
                        EditBackup::Secret(conn.pasted.clone())
                    } else {
                        match conn.focused_text() {
                            Some(field) => EditBackup::Text(field.clone()),
                            None => return false,
                        }
                    },
                );
                conn.editing = true;
                conn.secret_selected = false;
                if conn.focus == ConnField::TokenValue && conn.source_kind == TokenSourceKind::Paste
                {
                    conn.secret_selected = !conn.pasted.is_empty();
                } else if let Some(field) = conn.focused_text() {
                    field.select_all();
                }
                state.notice = Some(info(format!("Editing: {}", state.field_hint())));
            }
            ConnField::TokenSource => {
                conn.source_kind = conn.source_kind.next();
                conn.test = TestStatus::NotRun;
            }
            ConnField::TestButton => start_test(state, out),
            ConnField::SaveButton => save_profile(state, out),
            ConnField::StoreToken | ConnField::Provisioning | ConnField::Deprovisioning => {
                return toggle_focused(state, out)
            }
        },
        Command::TestConnection => start_test(state, out),
        Command::CancelWork if conn.test == TestStatus::Running => {
            // The answer, when it comes, belongs to an older test and is ignored.
            conn.test_seq += 1;
            conn.test = TestStatus::NotRun;
            let waited = conn
                .test_started
                .take()
                .map(|t| state.waited(t))
                .unwrap_or(0);
            state.notice = Some(info(format!(
                "Connection test cancelled after {waited} s · t tests again"
            )));
        }
        Command::SaveProfile => save_profile(state, out),
        _ => return false,
    }
    true
}

fn toggle_focused(state: &mut State, out: &mut Outbox) -> bool {
    let changed = toggle_connection_box(state);
    if changed {
        out.emit(Event::PermissionsChanged);
    }
    changed
}

fn toggle_connection_box(state: &mut State) -> bool {
    let conn = &mut state.connection;
    match conn.focus {
        ConnField::StoreToken => conn.store_token = !conn.store_token,
        ConnField::Provisioning => {
            conn.permissions.provisioning = !conn.permissions.provisioning;
            state.notice = Some(permission_notice(
                conn.permissions.provisioning,
                "Provisioning",
                "create and reactivate users",
            ));
        }
        ConnField::Deprovisioning => {
            conn.permissions.deprovisioning = !conn.permissions.deprovisioning;
            state.notice = Some(permission_notice(
                conn.permissions.deprovisioning,
                "Deprovisioning",
                "deactivate users",
            ));
        }
        _ => return false,
    }
    true
}

fn permission_notice(on: bool, name: &str, what: &str) -> Notice {
    if on {
        warn(format!(
            "{name} ON: may {what}, after a preview and a typed confirmation"
        ))
    } else {
        info(format!("{name} OFF: navscim will not {what}"))
    }
}

fn start_test(state: &mut State, out: &mut Outbox) {
    let conn = &mut state.connection;
    let spec = conn.spec();
    if spec.base_url.is_empty() {
        state.notice = Some(error("Enter the SCIM base URL first".into()));
        return;
    }
    conn.test_seq += 1;
    conn.test = TestStatus::Running;
    conn.test_started = Some(out.now);
    state.notice = Some(info(format!("Testing {} …", spec.base_url)));
    out.push(Effect::TestConnection {
        seq: conn.test_seq,
        spec,
    });
}

fn save_profile(state: &mut State, out: &mut Outbox) {
    let conn = &state.connection;
    if conn.demo {
        state.notice = Some(info("Demo mode: nothing is saved to your profile".into()));
        return;
    }
    let (token, stored) = profile_token(conn);
    out.push(Effect::SaveProfile {
        profile: Profile {
            name: conn.profile.clone(),
            base_url: conn.base_url.value.trim().to_string(),
            token,
            ca_file: None,
            tenant: state.tenant.clone(),
            mouse: false,
        },
        token: stored,
    });
    state.notice = Some(info("Saving profile …".into()));
}

/// What the profile remembers about the token, and the token to store (if chosen).
fn profile_token(conn: &ConnectionState) -> (Option<TokenSource>, Option<Token>) {
    match conn.token_source() {
        TokenSource::Pasted(token) if conn.store_token && !token.is_empty() => {
            (Some(TokenSource::Stored), Some(token))
        }
        TokenSource::Pasted(_) => (None, None),
        other => (Some(other), None),
    }
}
