//! Everything the dashboard knows. Changed only by [`super::reduce`]; read by the UI.

use super::keys::Context;
use super::notice::Notice;
use super::pane::actions::state::ActionsState;
use super::pane::connection::state::{ConnectionState, TestStatus};
use super::pane::history::state::HistoryState;
use super::pane::usage::state::UsageState;
use super::pane::users::state::UsersState;

/// The panes, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Connection,
    Users,
    Usage,
    Actions,
    /// The journal of batches and the trend of seats over time.
    History,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Connection,
        Tab::Users,
        Tab::Usage,
        Tab::Actions,
        Tab::History,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Connection => "Connection",
            Tab::Users => "Users",
            Tab::Usage => "Usage",
            Tab::Actions => "Actions",
            Tab::History => "History",
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

/// Modal overlays, topmost first in precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help {
        scroll: u16,
    },
    /// The message log; `scroll` past the end shows the newest.
    Messages {
        scroll: u16,
    },
    QuitConfirm,
}

#[derive(Debug, Clone)]
pub struct State {
    pub tab: Tab,
    pub connection: ConnectionState,
    pub users: UsersState,
    pub usage: UsageState,
    pub actions: ActionsState,
    pub history: HistoryState,
    /// The terminal's size, from `Action::Resize`; paging and scrolling need it.
    pub size: (u16, u16),
    pub overlay: Overlay,
    pub notice: Option<Notice>,
    /// Render without colour (NO_COLOR); selection stays visible through reverse video.
    pub no_color: bool,
    /// The colours of the dashboard's slots: the defaults, or the theme file's
    /// (`theme.toml` in the config directory, `--theme PATH`). Unused without colour.
    pub palette: crate::theme::Palette,
    pub should_quit: bool,
    /// Bumped by the reducer whenever something visible changed; the runtime draws
    /// only when it differs from the revision it last drew (the dirty flag).
    pub revision: u64,
    /// The time of the latest action reduced (its `now`): what render measures waits
    /// against ("testing … 12 s"). The Unix epoch before the first action.
    pub now: chrono::DateTime<chrono::Utc>,
    /// Every notice shown this session, oldest first, with its time (at most
    /// [`MESSAGE_LOG_LEN`]; the oldest are dropped first). `M` opens it.
    pub messages: std::collections::VecDeque<(chrono::DateTime<chrono::Utc>, Notice)>,
    /// The workspace (SQLite file) this dashboard remembers in (and the History pane's
    /// trend reads): the profile's, or `--workspace PATH`; `None`: no memory (tests,
    /// or none could be chosen).
    pub workspace_path: Option<std::path::PathBuf>,
    /// What the dashboard knows about its workspace (open, read-only, unsaved results).
    pub workspace: super::workspace::WorkspaceState,
    /// The tenant's label (`--tenant`, the profile's, else the workspace's): shown in
    /// the title bar and the apply confirmation, since a base URL is the same for
    /// every LinkedIn tenant.
    pub tenant: Option<String>,
    /// The bottom line (`:` verbs, an export's file name) and the commands run.
    pub command_line: super::command_line::CommandLine,
}

/// How many notices the message log keeps.
pub const MESSAGE_LOG_LEN: usize = 1000;

impl State {
    pub fn new(connection: ConnectionState, no_color: bool) -> Self {
        State {
            tab: Tab::Connection,
            connection,
            users: Default::default(),
            usage: Default::default(),
            actions: Default::default(),
            history: Default::default(),
            size: (80, 24),
            overlay: Overlay::None,
            notice: None,
            no_color,
            palette: Default::default(),
            should_quit: false,
            revision: 1,
            now: chrono::DateTime::UNIX_EPOCH,
            messages: Default::default(),
            workspace_path: None,
            workspace: Default::default(),
            tenant: None,
            command_line: Default::default(),
        }
    }

    /// Whether any background work is running (quitting then asks first).
    pub fn work_running(&self) -> bool {
        matches!(self.connection.test, TestStatus::Running)
            || self.users.progress.running
            || self.actions.batch_running()
    }

    /// Seconds since `since`, as of the latest action (never negative).
    pub fn waited(&self, since: chrono::DateTime<chrono::Utc>) -> u64 {
        (self.now - since).num_seconds().max(0) as u64
    }

    /// While lookups run and nothing started or answered for 2 s or more: seconds
    /// since the last sign of life (what the progress line says it waits for).
    pub fn waited_on_lookups(&self) -> Option<u64> {
        let p = &self.users.progress;
        let since = p.last_event.filter(|_| p.running)?;
        let secs = self.waited(since);
        (secs >= 2).then_some(secs)
    }

    /// The key context that decides what a key press means right now.
    pub fn key_context(&self) -> Context {
        match self.overlay {
            Overlay::Help { .. } | Overlay::Messages { .. } => Context::Help,
            Overlay::QuitConfirm => Context::QuitConfirm,
            Overlay::None if self.command_line.line.is_some() => Context::CommandLine,
            Overlay::None => self.pane_context(),
        }
    }

    /// Whether `command` does something right now. A key bound in a context may not
    /// in every use of it: Tab picks an identifier kind only in the re-look-up
    /// prompt, and moves between Cancel and Apply only in the confirmation. Hints
    /// (the status line, a field's own line) show only the keys that do.
    pub fn offers(&self, command: super::keys::Command) -> bool {
        use super::keys::Command;
        use super::pane::users::state::PromptKind;
        match command {
            Command::NextKind => matches!(
                self.users.prompt.as_ref().map(|p| &p.kind),
                Some(PromptKind::Relookup(_))
            ),
            Command::SwitchFocus => self.actions.confirm.is_some(),
            // Completion and recall are the `:` line's, not an export prompt's.
            Command::Complete | Command::Up | Command::Down
                if self.key_context() == Context::CommandLine =>
            {
                matches!(
                    self.command_line.line.as_ref().map(|l| &l.kind),
                    Some(super::command_line::LineKind::Command)
                )
            }
            _ => true,
        }
    }

    /// What the keys of the focused context do, from the key table and as offered
    /// ([`State::offers`]): `Enter ok · Esc cancel · Ctrl-U clear` in a text field.
    pub fn key_hints(&self) -> Vec<(String, &'static str)> {
        super::keys::bindings_for(self.key_context())
            .filter(|b| self.offers(b.command))
            .filter_map(|b| Some((b.keys[0].label(), b.hint?)))
            .collect()
    }

    /// [`State::key_hints`] on one line, for a text field's own hint.
    pub fn field_hint(&self) -> String {
        self.key_hints()
            .iter()
            .map(|(key, hint)| format!("{key} {hint}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The key context of the pane underneath any overlay (what help describes).
    pub fn pane_context(&self) -> Context {
        match self.tab {
            Tab::Connection if self.connection.editing => Context::TextEdit,
            Tab::Connection => Context::Connection,
            Tab::Users => self.users.context(),
            Tab::Usage => self.usage.context(),
            Tab::Actions => self.actions.context(),
            Tab::History => self.history.context(),
        }
    }
}
