//! `reduce(&mut State, Action, now) -> Vec<Effect>`: the only place state changes.
//!
//! Pure: no I/O, no clock (the caller passes `now`), no randomness. This root reducer
//! only routes: global commands (tabs, help, quit) are handled here, everything else
//! goes to the reducer of the pane it belongs to (`super::pane::*::reducer`), and the
//! cross-pane [`Event`]s those emit are drained here, in order, before returning.
//!
//! Safety rules (read-only, thresholds, protected users) are enforced in the pane
//! reducers and the shared planning code, never only in key handling: every key goes
//! through [`super::keys::resolve`] into a [`Command`], and commands are what the
//! reducers act on.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};

use super::action::Action;
use super::command_line::{self, Step};
use super::effect::Effect;
use super::event::{Event, Outbox};
use super::keys::{self, Command, Context, Key};
use super::notice::{error, warn};
use super::pane::{actions, connection, history, usage, users};
use super::state::{Overlay, State, Tab};
use super::text_field::TextEdit;

/// Applies `action` at wall-clock time `now` and returns what the runtime should do.
pub fn reduce(state: &mut State, action: Action, now: DateTime<Utc>) -> Vec<Effect> {
    let mut out = Outbox::new(now);
    state.now = now;
    let notice_before = state.notice.clone();
    let mut changed = route(state, action, &mut out);
    while let Some(event) = out.next_event() {
        on_event(state, event, &mut out);
        changed = true;
    }
    super::workspace::persist_changes(state, &mut out);
    usage::reducer::settle(state);
    if state.notice != notice_before {
        if let Some(notice) = &state.notice {
            // Every notice is kept: the status line shows one, the log all.
            if state.messages.len() == super::state::MESSAGE_LOG_LEN {
                state.messages.pop_front();
            }
            state.messages.push_back((now, notice.clone()));
        }
    }
    if changed {
        state.revision += 1;
    }
    out.effects
}

/// Hands an action to the reducer it belongs to. Returns whether anything visible changed.
fn route(state: &mut State, action: Action, out: &mut Outbox) -> bool {
    match action {
        Action::Key(key) => on_key(state, key, out),
        Action::Paste(text) => on_paste(state, &text),
        Action::Mouse(event) => on_mouse(state, event, out),
        Action::Resize(width, height) => {
            state.size = (width, height);
            state
                .users
                .table
                .scroll_into_view(users::reducer::table_height(state.size));
            state
                .usage
                .table
                .scroll_into_view(usage::reducer::table_height(state.size));
            actions::reducer::scroll_into_view(state);
            history::reducer::scroll_into_view(state);
            true
        }
        Action::Command(command) => on_command(state, command, out),
        Action::Tick => {
            // Lookup results kept so far go to the workspace once a second.
            super::workspace::flush(state, out);
            state.work_running()
        }
        Action::LoadFiles {
            sources,
            lookup_after,
        } => super::workspace::load_files(state, sources, lookup_after, out),
        Action::FilesImported {
            results,
            lookup_after,
        } => {
            users::reducer::files_imported(state, results, lookup_after, out);
            true
        }
        Action::LookupStarted { batch, index, at } => {
            users::reducer::lookup_started(state, batch, index, at);
            true
        }
        Action::LookupFinished {
            index,
            outcome,
            at,
            stats,
            ..
        } => {
            users::reducer::lookup_finished(state, index, outcome, at, stats, out);
            true
        }
        Action::LookupBatchDone {
            batch,
            cancelled,
            error,
        } => {
            users::reducer::batch_done(state, batch, cancelled, error, out);
            super::workspace::lookups_done(state, out);
            true
        }
        Action::LinkVerified {
            index,
            scim_id,
            result,
        } => {
            users::reducer::link_verified(state, index, scim_id, result, out);
            true
        }
        Action::Exported { what, result } => command_line::reducer::exported(state, what, result),
        Action::ExportExists { job } => command_line::reducer::export_exists(state, job),
        Action::ConnectionTested { seq, result } => connection::reducer::tested(state, seq, result),
        Action::ProfileSaved { result } => connection::reducer::profile_saved(state, result),
        Action::EffectFailed(err) => {
            connection::reducer::effect_failed(state);
            state.notice = Some(super::notice::failed("Internal error", &err));
            true
        }
        Action::CheckJournal => actions::reducer::check_journal(out),
        Action::UnfinishedFound { batches } => actions::reducer::unfinished_found(state, batches),
        Action::PlanLoaded { result } => actions::reducer::plan_loaded(state, result),
        Action::ApplyProgress { event, at } => actions::reducer::apply_progress(state, *event, at),
        Action::JournalListed { seq, result } => {
            history::reducer::journal_listed(state, seq, result)
        }
        Action::TrendRead { seq, path, result } => {
            history::reducer::trend_read(state, seq, path, result)
        }
        Action::ApplyDone { result } => {
            // The journal changed: the History pane reads it again when shown.
            state.history.read = false;
            if let Ok(summary) = &result {
                // The batch's snapshot (the journal stays the record of what was sent).
                super::workspace::write(
                    state,
                    out,
                    super::workspace::WorkspaceOp::RecordBatch {
                        batch: summary.batch.clone(),
                    },
                );
            }
            actions::reducer::apply_done(state, result, out)
        }
        Action::OpenWorkspace => super::workspace::open(state, out),
        Action::WorkspaceLoaded { result } => {
            super::workspace::loaded(state, result, out);
            true
        }
        Action::WorkspaceWritten { what, result } => super::workspace::written(state, what, result),
        Action::OutcomeRead { key, result } => {
            super::workspace::outcome_read(state, key, result);
            true
        }
        Action::ReadSources { files } => {
            users::sources::read_all(state, files, out);
            true
        }
        Action::SourceTested { source, result } => users::sources::tested(state, source, result),
        Action::SourcesSaved { result } => users::sources::saved(state, result),
    }
}

/// Routes a cross-pane event to the pane that reacts to it.
fn on_event(state: &mut State, event: Event, out: &mut Outbox) {
    match event {
        Event::UsersChanged => usage::reducer::users_changed(state),
        Event::DirectoryChanged => usage::reducer::directory_changed(state),
        Event::UsageImported {
            imports,
            questions,
            loaded,
        } => usage::reducer::usage_imported(state, imports, questions, loaded, out.now),
        Event::PermissionsChanged => actions::reducer::permissions_changed(state, out),
        Event::PlanFromUsers(kind) => actions::reducer::plan_from_users(state, kind, out.now),
        Event::ReviewPlan {
            plan,
            origin,
            hidden_marked,
            notes,
            notice,
        } => actions::reducer::review_plan(state, *plan, origin, hidden_marked, notes, notice),
        Event::LookUp { users, quiet } => users::reducer::look_up(state, &users, quiet, out),
        Event::ResumeFromJournal(found) => actions::reducer::review_resume(state, *found),
    }
}

/// A key press: through the key table, in the context of what has focus. In a text
/// field, printable keys and the editing keys (the `Typing` bindings) edit it; other
/// keys are commands. Returns whether anything visible changed.
fn on_key(state: &mut State, event: KeyEvent, out: &mut Outbox) -> bool {
    let context = state.key_context();
    let Some(key) = Key::from_event(&event) else {
        return false;
    };
    let command = keys::resolve(context, key);
    if context.is_text_entry() {
        let edit = match (key, command) {
            (Key::Char(c), _) => Some(TextEdit::Insert(c)),
            (_, Some(Command::Edit(edit))) => Some(edit),
            _ => None,
        };
        if let Some(edit) = edit {
            return edit_text(state, context, edit);
        }
    }
    match command {
        Some(command) => on_command(state, command, out),
        None => false,
    }
}

/// An edit of the active text field, routed to the pane that owns it.
fn edit_text(state: &mut State, context: Context, edit: TextEdit) -> bool {
    match context {
        Context::UsersFilter | Context::Prompt => users::reducer::edit_text(state, edit),
        Context::UsageText => usage::reducer::edit_text(state, edit),
        Context::ActionsText => actions::reducer::edit_text(state, edit),
        Context::TextEdit => connection::reducer::edit_text(state, edit),
        Context::SourceForm => users::sources::edit_text(state, edit),
        Context::CommandLine => command_line::reducer::edit_text(state, edit),
        _ => false,
    }
}

/// Terminal paste goes to the text field of the pane shown, if one takes it.
fn on_paste(state: &mut State, text: &str) -> bool {
    if state.overlay != Overlay::None {
        return false;
    }
    if state.command_line.line.is_some() {
        return command_line::reducer::paste(state, text);
    }
    match state.tab {
        Tab::Users => users::reducer::paste(state, text),
        Tab::Usage => usage::reducer::paste(state, text),
        Tab::Connection => connection::reducer::paste(state, text),
        Tab::Actions | Tab::History => false,
    }
}

fn on_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let global = matches!(
        command,
        Command::Quit
            | Command::ForceQuit
            | Command::Help
            | Command::Messages
            | Command::NextTab
            | Command::PrevTab
            | Command::GoTab(_)
    );
    if state.overlay == Overlay::None
        && state.command_line.line.is_some()
        && command != Command::ForceQuit
    {
        if command == Command::EditCommit {
            return match command_line::reducer::commit(state, out) {
                Some(invocation) => run_invocation(state, &invocation, out),
                None => true,
            };
        }
        return command_line::reducer::command(state, command);
    }
    if state.overlay == Overlay::None && !global {
        match command {
            Command::CommandLine => return command_line::reducer::open_command(state),
            // `x` / `w`: the export of the pane shown, by the line every export shares.
            Command::Export => return command_line::reducer::open_export(state),
            _ => {}
        }
        return match state.tab {
            Tab::Users => users::reducer::command(state, command, out),
            Tab::Usage => usage::reducer::command(state, command, out),
            Tab::Actions => actions::reducer::command(state, command, out),
            Tab::Connection => connection::reducer::command(state, command, out),
            Tab::History => history::reducer::command(state, command, out),
        };
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
                    out.push(Effect::ControlBatch(crate::apply::Control::Cancel));
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
        Command::Messages => {
            state.overlay = Overlay::Messages {
                scroll: u16::try_from(state.messages.len()).unwrap_or(u16::MAX),
            }
        }
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
                usage::reducer::users_changed(state);
            }
            if state.tab == Tab::History && before != Tab::History {
                // The journal and the workspace are read from disk each time.
                history::reducer::opened(state, out);
            }
        }
        Command::Up | Command::Down | Command::PageUp | Command::PageDown
            if matches!(
                state.overlay,
                Overlay::Help { .. } | Overlay::Messages { .. }
            ) =>
        {
            let visible = state.size.1.saturating_sub(3);
            let lines = u16::try_from(state.messages.len()).unwrap_or(u16::MAX);
            let help_max = super::layout::help_max_scroll(state);
            match &mut state.overlay {
                Overlay::Help { scroll } => {
                    // Never past the last line: what is drawn is what the state says.
                    super::table::scroll(scroll, command);
                    *scroll = (*scroll).min(help_max);
                }
                Overlay::Messages { scroll } => {
                    // Opened past the end (the newest shown): scroll from what is shown.
                    *scroll = (*scroll).min(lines.saturating_sub(visible));
                    super::table::scroll(scroll, command);
                }
                _ => {}
            }
        }
        _ => return false,
    }
    true
}

/// Runs a `:` line: each step as its key would (the same commands, through
/// [`on_command`]), or says why it cannot run on the pane shown.
fn run_invocation(
    state: &mut State,
    invocation: &command_line::Invocation,
    out: &mut Outbox,
) -> bool {
    let steps = match invocation.steps(state.tab) {
        Ok(steps) => steps,
        Err(e) => {
            state.notice = Some(error(e));
            return true;
        }
    };
    for step in steps {
        match step {
            Step::Command(command) => {
                if let Command::SetFilter(_) = command {
                    // A filter chooses the table's rows: it goes to the table, not to
                    // a details view left open (where it would be dropped unsaid).
                    match state.tab {
                        Tab::Users => state.users.details_open = false,
                        Tab::Usage => state.usage.details_open = false,
                        _ => {}
                    }
                }
                on_command(state, command, out);
            }
            Step::TextFilter(text) => match state.tab {
                Tab::Users => super::table::set_text_filter(
                    &mut state.users,
                    &text,
                    users::reducer::table_height(state.size),
                ),
                Tab::Usage => super::table::set_text_filter(
                    &mut state.usage,
                    &text,
                    usage::reducer::table_height(state.size),
                ),
                _ => {}
            },
            Step::Export(path) => {
                command_line::reducer::export_to(state, path, out);
            }
        }
    }
    true
}

/// Rows (or lines) one notch of the mouse wheel scrolls.
pub const WHEEL_STEP: usize = 3;

/// A mouse report, hit-tested against [`super::layout`] (the layout the screen is
/// drawn with, at `state.size`): the wheel scrolls what is under the pointer (the
/// help or message log when open, a pane's details, the pane's table); a left click
/// on a tab shows that pane, on a table row moves the cursor there. Returns whether
/// anything visible changed.
fn on_mouse(state: &mut State, event: MouseEvent, out: &mut Outbox) -> bool {
    use super::layout;
    let Some(screen) = layout::screen(layout::full(state.size)) else {
        return false;
    };
    let at = ratatui::layout::Position::new(event.column, event.row);
    let command = match event.kind {
        MouseEventKind::ScrollUp => Command::Up,
        MouseEventKind::ScrollDown => Command::Down,
        MouseEventKind::Down(MouseButton::Left) => return on_click(state, at, screen, out),
        _ => return false,
    };
    let by = |state: &mut State, out: &mut Outbox| {
        (0..WHEEL_STEP).fold(false, |moved, _| on_command(state, command, out) | moved)
    };
    match state.overlay {
        Overlay::Help { .. } => {
            let rect = layout::help_rect(layout::full(state.size), layout::help_line_count(state));
            rect.contains(at) && by(state, out)
        }
        Overlay::Messages { .. } => by(state, out),
        Overlay::QuitConfirm => false,
        Overlay::None if !screen.body.contains(at) => false,
        Overlay::None => match state.pane_context() {
            // A pane's details (or file list) over its table: they scroll.
            Context::Details | Context::History => by(state, out),
            Context::Users | Context::Usage | Context::Actions => {
                let Some(table) = layout::table_area(state) else {
                    return false;
                };
                let delta = WHEEL_STEP as isize;
                let delta = if command == Command::Up {
                    -delta
                } else {
                    delta
                };
                match state.tab {
                    Tab::Users => {
                        let len = state.users.table.view.len();
                        state.users.table.wheel(delta, len, table.rows)
                    }
                    Tab::Usage => {
                        let len = state.usage.table.view.len();
                        state.usage.table.wheel(delta, len, table.rows)
                    }
                    Tab::Actions => {
                        let len = state.actions.rows();
                        state.actions.table.wheel(delta, len, table.rows)
                    }
                    _ => false,
                }
            }
            _ => false,
        },
    }
}

/// A left click at `at`: on a tab, that pane (as its number key does, so not while
/// text is typed or over an overlay); on a row of the pane's table, the cursor there.
fn on_click(
    state: &mut State,
    at: ratatui::layout::Position,
    screen: super::layout::Screen,
    out: &mut Outbox,
) -> bool {
    if state.overlay != Overlay::None || state.key_context().is_text_entry() {
        return false;
    }
    if screen.tabs.contains(at) {
        return match super::layout::tab_at(state, screen.tabs.width, at.x) {
            Some(tab) if tab != state.tab => on_command(state, Command::GoTab(tab.index()), out),
            _ => false,
        };
    }
    if !matches!(
        state.pane_context(),
        Context::Users | Context::Usage | Context::Actions
    ) {
        return false;
    }
    let Some(row) = super::layout::table_area(state).and_then(|t| t.row_at(at.x, at.y)) else {
        return false;
    };
    match state.tab {
        Tab::Users => {
            let len = state.users.table.view.len();
            state.users.table.click(row, len)
        }
        Tab::Usage => {
            let len = state.usage.table.view.len();
            state.usage.table.click(row, len)
        }
        Tab::Actions => {
            let len = state.actions.rows();
            state.actions.table.click(row, len)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::pane::connection::{
        ConnField, ConnectionFailure, ConnectionState, ConnectionSummary, TestStatus,
        TokenSourceKind,
    };
    use crate::app::testing::reduce;
    use crate::config::TokenSource;
    use crate::plan::ChangeKind;
    use crate::secret::Token;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
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
        assert_eq!(s.tab, Tab::History);
        reduce(&mut s, key(KeyCode::Tab));
        assert_eq!(s.tab, Tab::Connection);
        reduce(&mut s, ch('5'));
        assert_eq!(s.tab, Tab::History);
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
        // The value opens selected (issue 13): End keeps it to append.
        reduce(&mut s, key(KeyCode::End));
        // 'q' and '2' are text while editing, not quit / tab switch.
        for c in "/q2".chars() {
            reduce(&mut s, ch(c));
        }
        assert!(!s.should_quit);
        assert_eq!(s.connection.base_url.value, "https://scim.example/q2");
        reduce(&mut s, key(KeyCode::Esc));
        assert_eq!(s.connection.base_url.value, "https://scim.example");
        reduce(&mut s, key(KeyCode::Enter));
        reduce(&mut s, key(KeyCode::End));
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
