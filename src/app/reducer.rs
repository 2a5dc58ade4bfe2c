//! `reduce(&mut State, Action) -> Vec<Effect>`: the only place state changes.
//!
//! Pure: no I/O, no clock, no randomness. Safety rules (read-only, thresholds,
//! protected users) are enforced here and in the shared planning code, never only in
//! key handling: every key goes through [`super::keys::resolve`] into a [`Command`],
//! and commands are what this module acts on.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use super::effect::{ConnectionSpec, Effect};
use super::keys::{self, Command, Context, Key};
use super::state::{
    ConnField, ConnectionState, Level, Notice, Overlay, State, Tab, TestStatus, TokenSourceKind,
};
use crate::config::{Profile, TokenSource};
use crate::secret::Token;

pub fn reduce(state: &mut State, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    let changed = match action {
        Action::Key(key) => on_key(state, key, &mut effects),
        Action::Paste(text) => on_paste(state, &text),
        Action::Resize(width, height) => {
            state.size = (width, height);
            state
                .users
                .scroll_into_view(super::users_reducer::table_height(state.size));
            state
                .usage
                .scroll_into_view(super::usage_reducer::table_height(state.size));
            super::actions_reducer::scroll_into_view(state);
            true
        }
        Action::LoadFiles {
            sources,
            lookup_after,
        } => {
            effects.push(super::users_reducer::import(sources, lookup_after));
            false
        }
        Action::FilesImported {
            results,
            lookup_after,
        } => {
            super::users_reducer::files_imported(state, results, lookup_after, &mut effects);
            true
        }
        Action::LookupStarted { batch, index, at } => {
            super::users_reducer::lookup_started(state, batch, index, at);
            true
        }
        Action::LookupFinished {
            index,
            outcome,
            at,
            stats,
            ..
        } => {
            super::users_reducer::lookup_finished(state, index, outcome, at, stats);
            true
        }
        Action::LookupBatchDone {
            batch,
            cancelled,
            error,
        } => {
            super::users_reducer::batch_done(state, batch, cancelled, error);
            super::usage_reducer::users_changed(state);
            true
        }
        Action::LinkVerified {
            index,
            scim_id,
            result,
        } => {
            super::users_reducer::link_verified(state, index, scim_id, result);
            super::usage_reducer::users_changed(state);
            true
        }
        Action::Exported { result } => {
            state.notice = Some(match result {
                Ok((path, n)) => info(format!("Exported {n} users to {}", path.display())),
                Err(e) => error(format!("Export failed: {e}")),
            });
            true
        }
        Action::Command(command) => on_command(state, command, &mut effects),
        Action::ClockRead { now, purpose } => {
            match purpose {
                super::effect::ClockPurpose::UsersPlan(kind) => {
                    super::actions_reducer::plan_from_users(state, kind, now);
                }
                purpose => super::usage_reducer::clock_read(state, now, purpose),
            }
            true
        }
        Action::ConnectionTested { seq, result } => {
            // A late answer to an older test must not overwrite the newer one.
            if seq != state.connection.test_seq {
                return effects;
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
        Action::EffectFailed(message) => {
            if state.connection.test == TestStatus::Running {
                state.connection.test = TestStatus::NotRun;
            }
            state.notice = Some(error(message));
            true
        }
        Action::CheckJournal => {
            effects.push(Effect::FindUnfinished { also: None });
            false
        }
        Action::UnfinishedFound { batches } => {
            super::actions_reducer::unfinished_found(state, batches)
        }
        Action::PlanLoaded { result } => super::actions_reducer::plan_loaded(state, result),
        Action::ApplyProgress { event, at } => {
            super::actions_reducer::apply_progress(state, *event, at)
        }
        Action::ApplyDone { result } => {
            super::actions_reducer::apply_done(state, result, &mut effects)
        }
        Action::ProfileSaved { result } => {
            state.notice = Some(match result {
                Ok(path) => info(format!("Profile saved to {}", path.display())),
                Err(e) => error(format!("Profile not saved: {e}")),
            });
            true
        }
    };
    if changed {
        state.revision += 1;
    }
    effects
}

pub(super) fn info(text: String) -> Notice {
    Notice {
        level: Level::Info,
        text,
    }
}

pub(super) fn warn(text: String) -> Notice {
    Notice {
        level: Level::Warn,
        text,
    }
}

pub(super) fn error(text: String) -> Notice {
    Notice {
        level: Level::Error,
        text,
    }
}

/// Returns whether anything visible changed.
fn on_key(state: &mut State, event: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    if event.kind == KeyEventKind::Release {
        return false;
    }
    let context = state.key_context();
    if context.is_text_entry() && edit_text(state, context, &event) {
        match context {
            Context::UsersFilter => {
                // The view follows every keystroke.
                state.users.refresh_view();
                state.users.cursor = 0;
                state.users.offset = 0;
            }
            Context::UsageText => super::usage_reducer::text_changed(state),
            Context::ActionsText => super::actions_reducer::text_changed(state),
            _ => {}
        }
        return true;
    }
    let Some(key) = Key::from_event(&event) else {
        return false;
    };
    match keys::resolve(context, key) {
        Some(command) => on_command(state, command, effects),
        None => false,
    }
}

/// Typing into the active text field. Returns false for keys that are commands instead.
fn edit_text(state: &mut State, context: Context, event: &KeyEvent) -> bool {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    let field = match context {
        Context::UsersFilter => Some(&mut state.users.filter),
        Context::Prompt => state.users.prompt.as_mut().map(|p| &mut p.input),
        Context::UsageText => state.usage.text_field(),
        Context::ActionsText => state.actions.text_field(),
        _ => None,
    };
    if let Some(field) = field {
        return edit_field(field, event, ctrl);
    }
    let conn = &mut state.connection;
    if conn.focus == ConnField::TokenValue && conn.source_kind == TokenSourceKind::Paste {
        // The secret is edited blind: append and delete only, never shown.
        let mut value = conn.pasted.expose().to_string();
        match event.code {
            KeyCode::Char(c) if !ctrl => value.push(c),
            KeyCode::Backspace => {
                value.pop();
            }
            _ => return false,
        }
        conn.pasted = Token::new(value);
        return true;
    }
    let Some(field) = conn.focused_text() else {
        return false;
    };
    edit_field(field, event, ctrl)
}

fn edit_field(field: &mut super::state::TextField, event: &KeyEvent, ctrl: bool) -> bool {
    match event.code {
        KeyCode::Char(c) if !ctrl => field.insert(c),
        KeyCode::Char('u') if ctrl => field.clear(),
        KeyCode::Backspace => field.backspace(),
        KeyCode::Delete => field.delete(),
        KeyCode::Left => field.left(),
        KeyCode::Right => field.right(),
        KeyCode::Home => field.home(),
        KeyCode::End => field.end(),
        _ => return false,
    }
    true
}

fn on_paste(state: &mut State, text: &str) -> bool {
    if state.overlay != Overlay::None {
        return false;
    }
    if state.tab == Tab::Users {
        let field = match state.key_context() {
            Context::UsersFilter => Some(&mut state.users.filter),
            Context::Prompt => state.users.prompt.as_mut().map(|p| &mut p.input),
            _ => None,
        };
        let Some(field) = field else { return false };
        field.insert_str(text.trim());
        state.users.refresh_view();
        return true;
    }
    if state.tab == Tab::Usage && state.key_context() == Context::UsageText {
        if let Some(field) = state.usage.text_field() {
            field.insert_str(text.trim());
        }
        super::usage_reducer::text_changed(state);
        return true;
    }
    if state.tab != Tab::Connection {
        return false;
    }
    let conn = &mut state.connection;
    if conn.focus == ConnField::TokenValue && conn.source_kind == TokenSourceKind::Paste {
        // A pasted token replaces the old one whole; surrounding whitespace is noise.
        conn.pasted = Token::new(text.trim());
        conn.editing = false;
        conn.edit_backup = None;
        state.notice = Some(info(format!(
            "Token pasted ({} characters). It is kept in memory only{}.",
            text.trim().chars().count(),
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

fn on_command(state: &mut State, command: Command, effects: &mut Vec<Effect>) -> bool {
    let global = matches!(
        command,
        Command::Quit
            | Command::ForceQuit
            | Command::Help
            | Command::NextTab
            | Command::PrevTab
            | Command::GoTab(_)
    );
    if state.overlay == Overlay::None && !global {
        match state.tab {
            Tab::Users => return super::users_reducer::command(state, command, effects),
            Tab::Usage => return super::usage_reducer::command(state, command, effects),
            Tab::Actions => return super::actions_reducer::command(state, command, effects),
            Tab::Connection => {}
        }
    }
    match command {
        Command::Quit | Command::ForceQuit => {
            if state.actions.quit_when_stopped {
                // Asked twice: leave now; the journal lets the next start finish it.
                state.should_quit = true;
            } else if state.work_running() {
                state.overlay = Overlay::QuitConfirm;
            } else {
                state.should_quit = true;
            }
        }
        Command::Confirm => {
            if state.overlay == Overlay::QuitConfirm {
                state.overlay = Overlay::None;
                if state.actions.batch_running() {
                    // Let the requests in flight finish and be journaled, then quit.
                    state.actions.quit_when_stopped = true;
                    effects.push(Effect::ControlBatch(crate::apply::Control::Cancel));
                    if let Some(batch) = state.actions.batch.as_mut() {
                        batch.stopping = Some("quitting: requests in flight finish".into());
                    }
                    state.notice = Some(warn(
                        "Stopping the batch, then quitting (q again quits at once; the journal keeps what is unfinished)".into(),
                    ));
                } else {
                    state.should_quit = true;
                }
            }
        }
        Command::Help => state.overlay = Overlay::Help { scroll: 0 },
        Command::Close => state.overlay = Overlay::None,
        Command::NextTab | Command::PrevTab | Command::GoTab(_) => {
            let before = state.tab;
            state.tab = match command {
                Command::NextTab => state.tab.next(),
                Command::PrevTab => state.tab.prev(),
                Command::GoTab(i) => Tab::ALL.get(i).copied().unwrap_or(state.tab),
                _ => state.tab,
            };
            if state.tab == Tab::Usage && before != Tab::Usage {
                // Lookup results may have changed since the pane was last shown.
                super::usage_reducer::users_changed(state);
            }
        }
        Command::Up | Command::Down | Command::PageUp | Command::PageDown
            if matches!(state.overlay, Overlay::Help { .. }) =>
        {
            scroll_help(state, command)
        }
        Command::EditCommit => finish_edit(state, true),
        Command::EditCancel => finish_edit(state, false),
        _ if state.tab == Tab::Connection => return connection_command(state, command, effects),
        _ => return false,
    }
    true
}

fn scroll_help(state: &mut State, command: Command) {
    if let Overlay::Help { scroll } = &mut state.overlay {
        *scroll = match command {
            Command::Up => scroll.saturating_sub(1),
            Command::PageUp => scroll.saturating_sub(10),
            Command::Down => scroll.saturating_add(1),
            Command::PageDown => scroll.saturating_add(10),
            _ => *scroll,
        };
    }
}

fn finish_edit(state: &mut State, keep: bool) {
    let conn = &mut state.connection;
    let backup = conn.edit_backup.take();
    conn.editing = false;
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
        conn.base_url = super::state::TextField::new(trimmed);
    }
}

pub use super::state::EditBackup;

fn connection_command(state: &mut State, command: Command, effects: &mut Vec<Effect>) -> bool {
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
        Command::Toggle => return toggle_focused(state, effects),
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
                state.notice = Some(info(
                    "Editing: Enter keeps the value, Esc abandons it".into(),
                ));
            }
            ConnField::TokenSource => {
                conn.source_kind = conn.source_kind.next();
                conn.test = TestStatus::NotRun;
            }
            ConnField::TestButton => start_test(state, effects),
            ConnField::SaveButton => save_profile(state, effects),
            ConnField::StoreToken | ConnField::Provisioning | ConnField::Deprovisioning => {
                return toggle_focused(state, effects)
            }
        },
        Command::TestConnection => start_test(state, effects),
        Command::SaveProfile => save_profile(state, effects),
        _ => return false,
    }
    true
}

fn toggle_focused(state: &mut State, effects: &mut Vec<Effect>) -> bool {
    let changed = toggle_connection_box(state);
    if changed {
        super::actions_reducer::permissions_changed(state, effects);
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

fn start_test(state: &mut State, effects: &mut Vec<Effect>) {
    let conn = &mut state.connection;
    let base_url = conn.base_url.value.trim().to_string();
    if base_url.is_empty() {
        state.notice = Some(error("Enter the SCIM base URL first".into()));
        return;
    }
    conn.test_seq += 1;
    conn.test = TestStatus::Running;
    state.notice = Some(info(format!("Testing {base_url} …")));
    effects.push(Effect::TestConnection {
        seq: conn.test_seq,
        spec: ConnectionSpec {
            base_url,
            token: conn.token_source(),
            profile: conn.profile.clone(),
        },
    });
}

fn save_profile(state: &mut State, effects: &mut Vec<Effect>) {
    let conn = &state.connection;
    if conn.demo {
        state.notice = Some(info("Demo mode: nothing is saved to your profile".into()));
        return;
    }
    let (token, stored) = profile_token(conn);
    effects.push(Effect::SaveProfile {
        profile: Profile {
            name: conn.profile.clone(),
            base_url: conn.base_url.value.trim().to_string(),
            token,
            ca_file: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::{ChangeKind, ConnectionFailure, ConnectionSummary};
    use std::time::Duration;

    fn state() -> State {
        State::new(
            ConnectionState::new("default", "https://scim.example"),
            false,
        )
    }

    fn key(code: KeyCode) -> Action {
        Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ch(c: char) -> Action {
        key(KeyCode::Char(c))
    }

    fn focus(state: &mut State, field: ConnField) {
        reduce(state, Action::Command(Command::Top));
        for _ in 0..10 {
            if state.connection.focus == field {
                return;
            }
            reduce(state, Action::Command(Command::Down));
        }
        panic!("{field:?} not reachable");
    }

    #[test]
    fn starts_read_only_and_badge_says_so() {
        let s = state();
        assert!(s.connection.permissions.is_read_only());
        assert_eq!(s.connection.permissions.badge(), "READ-ONLY");
        assert!(!s.connection.permissions.allows(ChangeKind::Provision));
        assert!(!s.connection.permissions.allows(ChangeKind::Deprovision));
    }

    #[test]
    fn each_checkbox_grants_only_its_own_kind_of_change() {
        let mut s = state();
        focus(&mut s, ConnField::Deprovisioning);
        reduce(&mut s, ch(' '));
        assert!(s.connection.permissions.allows(ChangeKind::Deprovision));
        assert!(!s.connection.permissions.allows(ChangeKind::Provision));
        assert_eq!(s.connection.permissions.badge(), "DEPROVISION");
        reduce(&mut s, key(KeyCode::Enter));
        assert!(s.connection.permissions.is_read_only());
    }

    #[test]
    fn space_elsewhere_grants_nothing() {
        let mut s = state();
        for field in [
            ConnField::BaseUrl,
            ConnField::TokenSource,
            ConnField::TestButton,
        ] {
            focus(&mut s, field);
            reduce(&mut s, ch(' '));
        }
        for tab in ['2', '3', '4'] {
            reduce(&mut s, ch(tab));
            reduce(&mut s, ch(' '));
            reduce(&mut s, key(KeyCode::Enter));
        }
        assert!(s.connection.permissions.is_read_only());
    }

    #[test]
    fn tabs_cycle_and_number_keys_jump() {
        let mut s = state();
        reduce(&mut s, key(KeyCode::Tab));
        assert_eq!(s.tab, Tab::Users);
        reduce(&mut s, key(KeyCode::BackTab));
        reduce(&mut s, key(KeyCode::BackTab));
        assert_eq!(s.tab, Tab::Actions);
        reduce(&mut s, ch('3'));
        assert_eq!(s.tab, Tab::Usage);
    }

    #[test]
    fn help_opens_scrolls_and_closes() {
        let mut s = state();
        reduce(&mut s, ch('?'));
        assert_eq!(s.overlay, Overlay::Help { scroll: 0 });
        reduce(&mut s, ch('j'));
        assert_eq!(s.overlay, Overlay::Help { scroll: 1 });
        // Keys of the pane underneath do nothing while help is open.
        reduce(&mut s, ch('2'));
        assert_eq!(s.tab, Tab::Connection);
        reduce(&mut s, key(KeyCode::Esc));
        assert_eq!(s.overlay, Overlay::None);
    }

    #[test]
    fn quit_is_immediate_when_idle_and_asks_while_work_runs() {
        let mut s = state();
        reduce(&mut s, ch('q'));
        assert!(s.should_quit);

        let mut s = state();
        reduce(&mut s, ch('t'));
        assert!(s.work_running());
        reduce(&mut s, ch('q'));
        assert!(!s.should_quit);
        assert_eq!(s.overlay, Overlay::QuitConfirm);
        reduce(&mut s, ch('n'));
        assert_eq!(s.overlay, Overlay::None);
        reduce(&mut s, ch('q'));
        reduce(&mut s, ch('y'));
        assert!(s.should_quit);
    }

    #[test]
    fn editing_base_url_types_and_esc_restores() {
        let mut s = state();
        focus(&mut s, ConnField::BaseUrl);
        reduce(&mut s, key(KeyCode::Enter));
        assert!(s.connection.editing);
        // 'q' and '2' are text while editing, not quit / tab switch.
        for c in "/q2".chars() {
            reduce(&mut s, ch(c));
        }
        assert!(!s.should_quit);
        assert_eq!(s.connection.base_url.value, "https://scim.example/q2");
        reduce(&mut s, key(KeyCode::Esc));
        assert_eq!(s.connection.base_url.value, "https://scim.example");
        reduce(&mut s, key(KeyCode::Enter));
        reduce(&mut s, key(KeyCode::Backspace));
        reduce(&mut s, key(KeyCode::Enter));
        assert_eq!(s.connection.base_url.value, "https://scim.exampl");
        assert!(!s.connection.editing);
    }

    #[test]
    fn pasted_token_is_held_but_never_in_a_notice_or_debug_dump() {
        let mut s = state();
        focus(&mut s, ConnField::TokenSource);
        while s.connection.source_kind != TokenSourceKind::Paste {
            reduce(&mut s, ch('l'));
        }
        focus(&mut s, ConnField::TokenValue);
        reduce(&mut s, Action::Paste("  tok-SECRET-123 \n".into()));
        assert_eq!(s.connection.pasted.expose(), "tok-SECRET-123");
        let notice = s.notice.clone().unwrap().text;
        assert!(notice.contains("14 characters"), "{notice}");
        assert!(!format!("{s:?}").contains("SECRET"));
        let effects = reduce(&mut s, ch('t'));
        assert!(!format!("{effects:?}").contains("SECRET"));
        match &effects[..] {
            [Effect::TestConnection { spec, .. }] => match &spec.token {
                TokenSource::Pasted(t) => assert_eq!(t.expose(), "tok-SECRET-123"),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stale_test_answers_are_ignored() {
        let mut s = state();
        reduce(&mut s, ch('t'));
        reduce(&mut s, ch('t'));
        let summary = ConnectionSummary {
            latency: Duration::from_millis(5),
            probe: "ServiceProviderConfig".into(),
            filter: true,
            patch: true,
            delete: false,
            bulk: false,
        };
        reduce(
            &mut s,
            Action::ConnectionTested {
                seq: 1,
                result: Ok(summary.clone()),
            },
        );
        assert_eq!(s.connection.test, TestStatus::Running);
        let failure = ConnectionFailure {
            headline: "Token rejected".into(),
            detail: "401".into(),
        };
        reduce(
            &mut s,
            Action::ConnectionTested {
                seq: 2,
                result: Err(failure.clone()),
            },
        );
        assert_eq!(s.connection.test, TestStatus::Failed(failure));
    }

    #[test]
    fn saving_never_puts_an_unstored_pasted_token_in_the_profile() {
        let mut s = state();
        s.connection.source_kind = TokenSourceKind::Paste;
        s.connection.pasted = Token::new("abc");
        let effects = reduce(&mut s, Action::Command(Command::SaveProfile));
        match &effects[..] {
            [Effect::SaveProfile { profile, token }] => {
                assert_eq!(profile.token, None);
                assert!(token.is_none());
            }
            other => panic!("{other:?}"),
        }
        s.connection.store_token = true;
        let effects = reduce(&mut s, Action::Command(Command::SaveProfile));
        match &effects[..] {
            [Effect::SaveProfile { profile, token }] => {
                assert_eq!(profile.token, Some(TokenSource::Stored));
                assert_eq!(token.as_ref().unwrap().expose(), "abc");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn demo_never_saves_a_profile() {
        let mut s = state();
        s.connection.demo = true;
        assert!(reduce(&mut s, Action::Command(Command::SaveProfile)).is_empty());
    }

    #[test]
    fn unbound_keys_do_not_mark_dirty() {
        let mut s = state();
        let before = s.revision;
        reduce(&mut s, ch('z'));
        assert_eq!(s.revision, before);
        reduce(&mut s, ch('j'));
        assert!(s.revision > before);
    }
}
