//! The one key table. The reducer resolves key presses through it, the status bar shows
//! its hints and the help overlay lists it, so the three can never disagree.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::text_field::TextEdit;

/// What a key means in a given context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    ForceQuit,
    Help,
    /// Open the message log: every notice of the session, newest last.
    Messages,
    Close,
    NextTab,
    PrevTab,
    GoTab(usize),
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    /// Enter: edit the focused text, toggle the focused checkbox, press the focused button.
    Activate,
    /// Space: toggle the focused checkbox.
    Toggle,
    Left,
    Right,
    TestConnection,
    SaveProfile,
    Confirm,
    /// Text editing: finish (Enter) and abandon (Esc).
    EditCommit,
    EditCancel,
    /// Text editing inside the field (printable keys insert without a binding).
    Edit(TextEdit),
    // Users pane.
    Filter,
    CycleStatusFilter,
    /// `:users unmatched`, `:usage idle`: the pane's own filter set to the `n`-th of
    /// its cycle (`f`'s order).
    SetFilter(usize),
    ClearFilters,
    Sort,
    SortReverse,
    Mark,
    RangeMark,
    MarkAllShown,
    ClearMarks,
    Details,
    Relookup,
    RelookupBy,
    Link,
    Ignore,
    /// Look up every user not done: pending (never looked up, e.g. no token at
    /// start) and in error.
    LookupRemaining,
    Copy,
    LoadFile,
    Export,
    CancelWork,
    /// In the re-look-up prompt: the next identifier kind.
    NextKind,
    /// The loaded files and the problems found in them.
    Files,
    /// Users pane: add a note to the user under the cursor (kept in the workspace).
    Note,
    /// Users pane: look up again the results older than the stale threshold, by
    /// stored SCIM id first.
    RefreshStale,
    /// Users pane: turn the marked users (or the cursor's) into a plan.
    PlanDeactivate,
    PlanReactivate,
    PlanCreate,
    // Usage pane (see USAGE_BINDINGS).
    /// Mark every shown user idle for more than the threshold.
    MarkIdle,
    /// Mark every shown user who never activated the licence.
    MarkNeverActivated,
    /// The next idle-threshold preset (30/60/90 days).
    CycleThreshold,
    /// Type a custom idle threshold.
    CustomThreshold,
    /// Type the grace period for recently provisioned users.
    GracePeriod,
    /// Type the report period (when the report states none).
    ReportPeriod,
    /// Send the marked users to the Actions pane as a deactivation plan.
    SendToActions,
    /// Slash dates are DD/MM/YYYY.
    DayFirst,
    /// Slash dates are MM/DD/YYYY.
    MonthFirst,
    // Actions pane (see ACTIONS_BINDINGS).
    /// Operations → excluded users → requests (dry run).
    CycleView,
    /// Check the gates and open the confirmation.
    ApplyPlan,
    /// Raise the limits to fit the plan under review (that plan only).
    RaiseLimits,
    PauseResume,
    Undo,
    OpenPlan,
    ResumeBatch,
    DiscardPlan,
    /// In the confirmation: Cancel ↔ Apply.
    SwitchFocus,
    // Users pane: the sources list (issue 12).
    /// Open the sources list: files loaded and identity-provider connections.
    Sources,
    AddOkta,
    AddEntra,
    /// Read the selected connection's assignments again and merge them.
    RefreshSource,
    /// Read the journal and the workspace's snapshots again (History pane).
    RefreshHistory,
    RefreshAllSources,
    RemoveSource,
    // The command line.
    /// `:` opens the command line.
    CommandLine,
    /// Tab in the command line: complete the verb or its argument.
    Complete,
}

/// Where the keyboard focus is; each binding belongs to one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Applies in every pane context (not in overlays or while editing text).
    Global,
    /// Applies in every context that types text ([`Context::is_text_entry`]): the
    /// editing keys.
    Typing,
    Connection,
    /// Typing into a text field: printable keys insert, see [`BINDINGS`] for the rest.
    TextEdit,
    Users,
    /// Typing the Users pane's `/` filter (the view follows every keystroke).
    UsersFilter,
    /// A one-line prompt (re-look up, link, load, export).
    Prompt,
    /// The details of one user.
    Details,
    /// The column-mapping dialog.
    Mapping,
    Help,
    QuitConfirm,
    // Usage pane contexts.
    Usage,
    /// Typing into a Usage pane text field (filter, custom threshold).
    UsageText,
    /// Choosing the order of ambiguous slash dates in a usage report.
    UsageDateOrder,

    // Actions pane contexts.
    Actions,
    /// Typing into an Actions pane text field (the confirmation count, a plan path).
    ActionsText,
    /// The History pane: the journal's batches and the trend.
    History,
    /// The Users pane's sources list.
    Sources,
    /// The form adding an identity-provider connection.
    SourceForm,
    /// The bottom line: the `:` command line, an export's file name, or whether to
    /// replace the file.
    CommandLine,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Typing => "Typing into a field",
            Context::Connection => "Connection pane",
            Context::TextEdit => "Editing a field",
            Context::Users => "Users pane",
            Context::UsersFilter => "Filtering",
            Context::Prompt => "Prompt",
            Context::Details => "User details",
            Context::Mapping => "Column mapping",
            Context::Help => "Help",
            Context::QuitConfirm => "Quit?",
            Context::Usage => "Usage pane",
            Context::UsageText => "Typing",
            Context::UsageDateOrder => "Date order",
            Context::Actions => "Actions pane",
            Context::ActionsText => "Typing",
            Context::History => "History pane",
            Context::Sources => "Sources",
            Context::SourceForm => "Adding a connection",
            Context::CommandLine => "Command line",
        }
    }

    /// Whether the global bindings also apply here.
    pub fn inherits_global(self) -> bool {
        matches!(
            self,
            Context::Connection
                | Context::Users
                | Context::Usage
                | Context::Actions
                | Context::History
        )
    }

    /// The context whose bindings also apply here: the global ones in a pane, the
    /// editing keys in a text field.
    pub fn inherited(self) -> Option<Context> {
        if self.inherits_global() {
            Some(Context::Global)
        } else if self.is_text_entry() {
            Some(Context::Typing)
        } else {
            None
        }
    }

    /// Contexts where printable keys type text.
    pub fn is_text_entry(self) -> bool {
        matches!(
            self,
            Context::TextEdit
                | Context::UsersFilter
                | Context::Prompt
                | Context::UsageText
                | Context::ActionsText
                | Context::SourceForm
                | Context::CommandLine
        )
    }
}

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
    Delete,
}

impl Key {
    /// Normalises a terminal key event; releases and repeats of modifiers are ignored.
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        Some(match event.code {
            KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
            KeyCode::Tab => Key::Tab,
            KeyCode::BackTab => Key::BackTab,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Delete => Key::Delete,
            _ => return None,
        })
    }

    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "Space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Tab => "Tab".into(),
            Key::BackTab => "Shift-Tab".into(),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::Backspace => "Backspace".into(),
            Key::Delete => "Del".into(),
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    /// Shown in the status bar when set (keep it to one or two words).
    pub hint: Option<&'static str>,
    /// Shown in the help overlay.
    pub help: &'static str,
    pub command: Command,
}

impl Binding {
    /// "Tab / Shift-Tab"-style label of all keys.
    pub fn keys_label(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
    }
}

const fn b(
    context: Context,
    keys: &'static [Key],
    hint: Option<&'static str>,
    help: &'static str,
    command: Command,
) -> Binding {
    Binding {
        context,
        keys,
        hint,
        help,
        command,
    }
}

use Context as C;

#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    // Everywhere (panes).
    b(C::Global, &[Key::Char('?')], Some("help"), "Show this help", Command::Help),
    b(C::Global, &[Key::Char(':')], None, "Command line: :users, :usage unmatched, :export FILE…", Command::CommandLine),
    b(C::Global, &[Key::Char('M')], None, "Message log: every notice of this session", Command::Messages),
    b(C::Global, &[Key::Char('q')], Some("quit"), "Quit (asks first while work runs)", Command::Quit),
    b(C::Global, &[Key::Ctrl('c')], None, "Quit (asks first while work runs)", Command::ForceQuit),
    b(C::Global, &[Key::Tab], Some("next pane"), "Next pane", Command::NextTab),
    b(C::Global, &[Key::BackTab], None, "Previous pane", Command::PrevTab),
    b(C::Global, &[Key::Char('1')], None, "Connection pane", Command::GoTab(0)),
    b(C::Global, &[Key::Char('2')], None, "Users pane", Command::GoTab(1)),
    b(C::Global, &[Key::Char('3')], None, "Usage pane", Command::GoTab(2)),
    b(C::Global, &[Key::Char('4')], None, "Actions pane", Command::GoTab(3)),
    b(C::Global, &[Key::Char('5')], None, "History pane: the journal and the trend", Command::GoTab(4)),
    // Connection pane.
    b(C::Connection, &[Key::Up, Key::Char('k')], None, "Previous field", Command::Up),
    b(C::Connection, &[Key::Down, Key::Char('j')], Some("move"), "Next field", Command::Down),
    b(C::Connection, &[Key::Char('g'), Key::Home], None, "First field", Command::Top),
    b(C::Connection, &[Key::Char('G'), Key::End], None, "Last field", Command::Bottom),
    b(C::Connection, &[Key::Enter], Some("edit/toggle"), "Edit the field, toggle the box or press the button", Command::Activate),
    b(C::Connection, &[Key::Char(' ')], None, "Toggle the focused checkbox", Command::Toggle),
    b(C::Connection, &[Key::Left, Key::Char('h')], None, "Previous token source", Command::Left),
    b(C::Connection, &[Key::Right, Key::Char('l')], None, "Next token source", Command::Right),
    b(C::Connection, &[Key::Char('t')], Some("test"), "Test the connection", Command::TestConnection),
    b(C::Connection, &[Key::Esc], None, "Cancel the running connection test", Command::CancelWork),
    b(C::Connection, &[Key::Ctrl('s')], Some("save"), "Save the profile", Command::SaveProfile),
    // Users pane.
    b(C::Users, &[Key::Up, Key::Char('k')], None, "Previous user", Command::Up),
    b(C::Users, &[Key::Down, Key::Char('j')], None, "Next user", Command::Down),
    b(C::Users, &[Key::Char('g'), Key::Home], None, "First user", Command::Top),
    b(C::Users, &[Key::Char('G'), Key::End], None, "Last user", Command::Bottom),
    b(C::Users, &[Key::PageUp], None, "Page up", Command::PageUp),
    b(C::Users, &[Key::PageDown], None, "Page down", Command::PageDown),
    b(C::Users, &[Key::Char('e')], Some("look up rest"), "Look up every user not done (pending, error)", Command::LookupRemaining),
    b(C::Users, &[Key::Char('u')], None, "Refresh stale results (by stored SCIM id first)", Command::RefreshStale),
    b(C::Users, &[Key::Char('/')], Some("filter"), "Filter by text (name, email, ids)", Command::Filter),
    b(C::Users, &[Key::Char('f')], Some("status"), "Next status filter (unmatched, matched, orphan seats…)", Command::CycleStatusFilter),
    b(C::Users, &[Key::Char('F')], None, "Clear text and status filters", Command::ClearFilters),
    b(C::Users, &[Key::Char('s')], None, "Sort by the next column", Command::Sort),
    b(C::Users, &[Key::Char('S')], None, "Reverse the sort", Command::SortReverse),
    b(C::Users, &[Key::Char(' ')], Some("mark"), "Mark / unmark the user and move down", Command::Mark),
    b(C::Users, &[Key::Char('v')], None, "Mark the range from the last mark to here", Command::RangeMark),
    b(C::Users, &[Key::Char('a')], None, "Mark every user shown", Command::MarkAllShown),
    b(C::Users, &[Key::Char('A')], None, "Clear all marks", Command::ClearMarks),
    b(C::Users, &[Key::Enter], Some("details"), "Details: lookups tried, SCIM resource, source rows", Command::Details),
    b(C::Users, &[Key::Char('r')], Some("re-look up"), "Look the marked users (or this one) up again", Command::Relookup),
    b(C::Users, &[Key::Char('R')], None, "Look up by another identifier you type", Command::RelookupBy),
    b(C::Users, &[Key::Char('l')], None, "Link this user to a SCIM id by hand", Command::Link),
    b(C::Users, &[Key::Char('i')], None, "Ignore / un-ignore the marked users (or this one)", Command::Ignore),
    b(C::Users, &[Key::Char('D')], Some("plan deactivate"), "Plan: deactivate the marked users (or this one)", Command::PlanDeactivate),
    b(C::Users, &[Key::Char('E')], None, "Plan: reactivate (enable) the marked inactive users", Command::PlanReactivate),
    b(C::Users, &[Key::Char('C')], None, "Plan: create the marked users not found over SCIM", Command::PlanCreate),
    b(C::Users, &[Key::Char('y')], None, "Copy the marked emails (OSC 52)", Command::Copy),
    b(C::Users, &[Key::Char('L')], Some("load"), "Load a CSV export", Command::LoadFile),
    b(C::Users, &[Key::Char('x')], None, "Export the view to CSV or JSON", Command::Export),
    b(C::Users, &[Key::Char('c')], None, "Cancel running lookups", Command::CancelWork),
    b(C::Users, &[Key::Char('p')], None, "Loaded files and every problem found in them", Command::Files),
    // Last, so its hint shows only where the others fit too.
    b(C::Users, &[Key::Char('N')], Some("note"), "Add a note to this user (kept in the workspace)", Command::Note),
    b(C::Users, &[Key::Char('o')], Some("sources"), "Sources: files and Okta / Entra ID connections", Command::Sources),
    b(C::UsersFilter, &[Key::Enter], Some("keep"), "Keep the filter", Command::EditCommit),
    b(C::UsersFilter, &[Key::Esc], Some("clear"), "Clear the filter", Command::EditCancel),
    b(C::UsersFilter, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
    b(C::Prompt, &[Key::Enter], Some("ok"), "Go", Command::EditCommit),
    b(C::Prompt, &[Key::Esc], Some("cancel"), "Cancel", Command::EditCancel),
    b(C::Prompt, &[Key::Tab], Some("kind"), "Another identifier kind (re-look up)", Command::NextKind),
    b(C::Prompt, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
    b(C::Mapping, &[Key::Up, Key::Char('k')], None, "Previous field", Command::Up),
    b(C::Mapping, &[Key::Down, Key::Char('j')], Some("field"), "Next field", Command::Down),
    b(C::Mapping, &[Key::Left, Key::Char('h')], None, "Previous column", Command::Left),
    b(C::Mapping, &[Key::Right, Key::Char('l')], Some("column"), "Next column", Command::Right),
    b(C::Mapping, &[Key::Enter], Some("import"), "Import with this mapping", Command::EditCommit),
    b(C::Mapping, &[Key::Esc], Some("skip file"), "Do not import the file", Command::EditCancel),
    b(C::Mapping, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
    b(C::Details, &[Key::Esc, Key::Enter], Some("close"), "Close the details", Command::Close),
    b(C::Details, &[Key::Up, Key::Char('k')], None, "Scroll up", Command::Up),
    b(C::Details, &[Key::Down, Key::Char('j')], Some("scroll"), "Scroll down", Command::Down),
    b(C::Details, &[Key::PageUp], None, "Page up", Command::PageUp),
    b(C::Details, &[Key::PageDown], None, "Page down", Command::PageDown),
    b(C::Details, &[Key::Char('q')], None, "Quit", Command::Quit),
    // Editing a text field: printable keys type, the terminal's paste inserts.
    b(C::TextEdit, &[Key::Enter], Some("ok"), "Keep the new value", Command::EditCommit),
    b(C::TextEdit, &[Key::Esc], Some("cancel"), "Abandon the change", Command::EditCancel),
    b(C::TextEdit, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
    // Typing into any field (printable keys insert; a value there when the field
    // opens is selected, so the first key replaces it; the pasted token is blind).
    b(C::Typing, &[Key::Left], None, "Cursor left", Command::Edit(TextEdit::Left)),
    b(C::Typing, &[Key::Right], None, "Cursor right", Command::Edit(TextEdit::Right)),
    b(C::Typing, &[Key::Home], None, "Cursor to the start", Command::Edit(TextEdit::Home)),
    b(C::Typing, &[Key::End], None, "Cursor to the end", Command::Edit(TextEdit::End)),
    b(C::Typing, &[Key::Backspace], None, "Delete the character before the cursor", Command::Edit(TextEdit::Backspace)),
    b(C::Typing, &[Key::Delete], None, "Delete the character under the cursor", Command::Edit(TextEdit::Delete)),
    b(C::Typing, &[Key::Ctrl('u')], Some("clear"), "Clear the field", Command::Edit(TextEdit::Clear)),
    // Overlays.
    b(C::Help, &[Key::Esc, Key::Char('?'), Key::Char('q'), Key::Char('M')], Some("close"), "Close help / the message log", Command::Close),
    b(C::Help, &[Key::Up, Key::Char('k')], None, "Scroll up", Command::Up),
    b(C::Help, &[Key::Down, Key::Char('j')], Some("scroll"), "Scroll down", Command::Down),
    b(C::Help, &[Key::PageUp], None, "Page up", Command::PageUp),
    b(C::Help, &[Key::PageDown], None, "Page down", Command::PageDown),
    b(C::QuitConfirm, &[Key::Char('y')], Some("quit"), "Quit and cancel running work", Command::Confirm),
    b(C::QuitConfirm, &[Key::Esc, Key::Char('n')], Some("stay"), "Stay", Command::Close),
    b(C::QuitConfirm, &[Key::Ctrl('c')], None, "Quit now", Command::Confirm),
];

/// The Usage pane's bindings (kept apart so each pane's keys read together).
#[rustfmt::skip]
pub static USAGE_BINDINGS: &[Binding] = &[
    b(C::Usage, &[Key::Char('i')], Some("mark idle"), "Mark every user shown idle for more than the threshold", Command::MarkIdle),
    b(C::Usage, &[Key::Char('n')], Some("mark never"), "Mark every user shown who never activated the licence", Command::MarkNeverActivated),
    b(C::Usage, &[Key::Char('d')], Some("plan"), "Send the marked users to Actions as a deactivation plan", Command::SendToActions),
    b(C::Usage, &[Key::Char('t')], Some("30/60/90"), "Idle threshold: next preset (30, 60, 90 days)", Command::CycleThreshold),
    b(C::Usage, &[Key::Char('T')], None, "Idle threshold: type a custom number of days", Command::CustomThreshold),
    b(C::Usage, &[Key::Char('P')], None, "Grace period for recently provisioned users (days)", Command::GracePeriod),
    b(C::Usage, &[Key::Char('R')], None, "Report period (when the report states none)", Command::ReportPeriod),
    b(C::Usage, &[Key::Char('/')], Some("filter"), "Filter by text (name, email)", Command::Filter),
    b(C::Usage, &[Key::Char('f')], None, "Next filter: idle, never, active, unknown, no user", Command::CycleStatusFilter),
    b(C::Usage, &[Key::Char('F')], None, "Clear text and activity filters", Command::ClearFilters),
    b(C::Usage, &[Key::Char('s')], None, "Sort by the next column (idle days, name, email…)", Command::Sort),
    b(C::Usage, &[Key::Char('S')], None, "Reverse the sort", Command::SortReverse),
    b(C::Usage, &[Key::Char(' ')], Some("mark"), "Mark / unmark the user and move down", Command::Mark),
    b(C::Usage, &[Key::Char('v')], None, "Mark the range from the last mark to here", Command::RangeMark),
    b(C::Usage, &[Key::Char('a')], None, "Mark every user shown", Command::MarkAllShown),
    b(C::Usage, &[Key::Char('A')], None, "Clear all marks", Command::ClearMarks),
    b(C::Usage, &[Key::Enter], Some("details"), "Details: activity, metrics, the usage row and the user", Command::Details),
    b(C::Usage, &[Key::Char('y')], None, "Copy the marked emails (OSC 52)", Command::Copy),
    b(C::Usage, &[Key::Char('L')], None, "Load a usage report (CSV)", Command::LoadFile),
    b(C::Usage, &[Key::Char('x')], None, "Export the rows in view to CSV (asks to replace a file)", Command::Export),
    b(C::Usage, &[Key::Up, Key::Char('k')], None, "Previous row", Command::Up),
    b(C::Usage, &[Key::Down, Key::Char('j')], None, "Next row", Command::Down),
    b(C::Usage, &[Key::Char('g'), Key::Home], None, "First row", Command::Top),
    b(C::Usage, &[Key::Char('G'), Key::End], None, "Last row", Command::Bottom),
    b(C::Usage, &[Key::PageUp], None, "Page up", Command::PageUp),
    b(C::Usage, &[Key::PageDown], None, "Page down", Command::PageDown),
    b(C::UsageText, &[Key::Enter], Some("ok"), "Keep the filter / use the value", Command::EditCommit),
    b(C::UsageText, &[Key::Esc], Some("cancel"), "Clear the filter / cancel", Command::EditCancel),
    b(C::UsageText, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
    b(C::UsageDateOrder, &[Key::Char('d')], Some("DD/MM/YYYY"), "Read the slash dates day first", Command::DayFirst),
    b(C::UsageDateOrder, &[Key::Char('m')], Some("MM/DD/YYYY"), "Read the slash dates month first", Command::MonthFirst),
    b(C::UsageDateOrder, &[Key::Esc], Some("skip file"), "Do not import the file", Command::EditCancel),
    b(C::UsageDateOrder, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
];

/// The Actions pane's bindings.
#[rustfmt::skip]
pub static ACTIONS_BINDINGS: &[Binding] = &[
    b(C::Actions, &[Key::Up, Key::Char('k')], None, "Previous row", Command::Up),
    b(C::Actions, &[Key::Down, Key::Char('j')], None, "Next row", Command::Down),
    b(C::Actions, &[Key::Char('g'), Key::Home], None, "First row", Command::Top),
    b(C::Actions, &[Key::Char('G'), Key::End], None, "Last row", Command::Bottom),
    b(C::Actions, &[Key::PageUp], None, "Page up", Command::PageUp),
    b(C::Actions, &[Key::PageDown], None, "Page down", Command::PageDown),
    b(C::Actions, &[Key::Char('x')], Some("apply…"), "Apply: check the gates, then type the count to confirm", Command::ApplyPlan),
    b(C::Actions, &[Key::Char('e')], Some("excluded/requests"), "Operations / excluded users / exact requests (dry run)", Command::CycleView),
    b(C::Actions, &[Key::Enter], Some("details"), "Details: reason, evidence and sources of the row", Command::Details),
    b(C::Actions, &[Key::Char('+')], None, "Raise the limits (50 ops, 20%) for this plan only", Command::RaiseLimits),
    b(C::Actions, &[Key::Char('p')], Some("pause"), "Pause / resume the running batch", Command::PauseResume),
    b(C::Actions, &[Key::Char('c')], None, "Cancel the running batch (requests in flight finish)", Command::CancelWork),
    b(C::Actions, &[Key::Char('u')], Some("undo"), "Undo the last batch: review its reverse plan", Command::Undo),
    b(C::Actions, &[Key::Char('R')], None, "Resume an unfinished batch from the journal", Command::ResumeBatch),
    b(C::Actions, &[Key::Char('o')], None, "Open a plan file (navscim plan … --out)", Command::OpenPlan),
    b(C::Actions, &[Key::Char('D')], None, "Discard the plan (nothing is sent)", Command::DiscardPlan),
    b(C::Actions, &[Key::Char('w')], None, "Write the plan to a file that navscim apply takes", Command::Export),
    b(C::ActionsText, &[Key::Enter], Some("ok"), "Apply (focus on Apply, count typed) / open the file", Command::EditCommit),
    b(C::ActionsText, &[Key::Tab, Key::BackTab], Some("Cancel/Apply"), "Move focus between Cancel and Apply", Command::SwitchFocus),
    b(C::ActionsText, &[Key::Esc], Some("cancel"), "Cancel: nothing is sent", Command::EditCancel),
    b(C::ActionsText, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
];

/// The History pane's bindings.
#[rustfmt::skip]
pub static HISTORY_BINDINGS: &[Binding] = &[
    b(C::History, &[Key::Up, Key::Char('k')], None, "Newer batch", Command::Up),
    b(C::History, &[Key::Down, Key::Char('j')], None, "Older batch", Command::Down),
    b(C::History, &[Key::Char('g'), Key::Home], None, "Newest batch", Command::Top),
    b(C::History, &[Key::Char('G'), Key::End], None, "Oldest batch", Command::Bottom),
    b(C::History, &[Key::PageUp], None, "Page up", Command::PageUp),
    b(C::History, &[Key::PageDown], None, "Page down", Command::PageDown),
    b(C::History, &[Key::Enter], Some("show"), "Show the batch: each operation and its result", Command::Details),
    b(C::History, &[Key::Char('R')], None, "Read the journal and the workspace again", Command::RefreshHistory),
    b(C::History, &[Key::Char('u')], Some("undo"), "Undo the batch: review its reverse plan on Actions", Command::Undo),
    b(C::History, &[Key::Char('r')], Some("resume"), "Resume the unfinished batch: review it on Actions", Command::ResumeBatch),
];

/// The Users pane's sources list and its add form (issue 12).
#[rustfmt::skip]
pub static SOURCES_BINDINGS: &[Binding] = &[
    b(C::Sources, &[Key::Up, Key::Char('k')], None, "Previous connection", Command::Up),
    b(C::Sources, &[Key::Down, Key::Char('j')], None, "Next connection", Command::Down),
    b(C::Sources, &[Key::Char('a')], Some("add Okta"), "Add an Okta connection", Command::AddOkta),
    b(C::Sources, &[Key::Char('A')], Some("add Entra ID"), "Add an Entra ID connection", Command::AddEntra),
    b(C::Sources, &[Key::Char('t')], Some("test"), "Test: sign in, find the app, count assignments", Command::TestConnection),
    b(C::Sources, &[Key::Char('r')], Some("refresh"), "Read the assignments again and merge the users", Command::RefreshSource),
    b(C::Sources, &[Key::Char('R')], None, "Refresh every connection", Command::RefreshAllSources),
    b(C::Sources, &[Key::Char('d')], Some("remove"), "Remove the connection (and from the profile)", Command::RemoveSource),
    b(C::Sources, &[Key::Esc, Key::Char('o')], Some("close"), "Close the sources list", Command::Close),
    b(C::Sources, &[Key::Char('q')], None, "Quit", Command::Quit),
    b(C::Sources, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
    b(C::SourceForm, &[Key::Tab, Key::Down], Some("next"), "Next field", Command::Down),
    b(C::SourceForm, &[Key::BackTab, Key::Up], None, "Previous field", Command::Up),
    b(C::SourceForm, &[Key::Enter], Some("add"), "Add the connection and read its users", Command::EditCommit),
    b(C::SourceForm, &[Key::Esc], Some("cancel"), "Cancel: nothing is added", Command::EditCancel),
    b(C::SourceForm, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
];

/// The bottom line's bindings: the `:` command line and the export prompts.
#[rustfmt::skip]
pub static COMMAND_LINE_BINDINGS: &[Binding] = &[
    b(C::CommandLine, &[Key::Enter], Some("ok"), "Run the command / use the file name", Command::EditCommit),
    b(C::CommandLine, &[Key::Tab], Some("complete"), "Complete the verb or its argument", Command::Complete),
    b(C::CommandLine, &[Key::Up], Some("history"), "Earlier command of this session", Command::Up),
    b(C::CommandLine, &[Key::Down], None, "Later command (back to what you typed)", Command::Down),
    b(C::CommandLine, &[Key::Esc], Some("cancel"), "Cancel: nothing runs", Command::EditCancel),
    b(C::CommandLine, &[Key::Ctrl('c')], None, "Quit", Command::ForceQuit),
];

/// Every binding of every table: what help lists and the reducer resolves through.
pub fn all() -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .chain(USAGE_BINDINGS.iter())
        .chain(ACTIONS_BINDINGS.iter())
        .chain(HISTORY_BINDINGS.iter())
        .chain(SOURCES_BINDINGS.iter())
        .chain(COMMAND_LINE_BINDINGS.iter())
}

/// The bindings that apply in `context`, own ones first, then the inherited ones
/// ([`Context::inherited`]).
pub fn bindings_for(context: Context) -> impl Iterator<Item = &'static Binding> {
    let own = all().filter(move |b| b.context == context);
    let inherited = context.inherited();
    let global = all().filter(move |b| Some(b.context) == inherited);
    own.chain(global)
}

/// The command a key means in `context`, if any.
pub fn resolve(context: Context, key: Key) -> Option<Command> {
    bindings_for(context)
        .find(|b| b.keys.contains(&key))
        .map(|b| b.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for context in [
            Context::Connection,
            Context::TextEdit,
            Context::Users,
            Context::UsersFilter,
            Context::Prompt,
            Context::Details,
            Context::Mapping,
            Context::Help,
            Context::QuitConfirm,
            Context::Usage,
            Context::UsageText,
            Context::UsageDateOrder,
            Context::Actions,
            Context::ActionsText,
            Context::History,
            Context::Sources,
            Context::SourceForm,
            Context::CommandLine,
        ] {
            let mut seen = Vec::new();
            for binding in bindings_for(context) {
                for key in binding.keys {
                    assert!(!seen.contains(key), "{key:?} bound twice in {context:?}");
                    seen.push(*key);
                }
            }
        }
    }

    #[test]
    fn help_texts_fit_the_help_overlay_at_80_columns() {
        // The overlay is 76 wide: border, indent and an 18-column key column leave 56.
        for binding in all() {
            assert!(
                binding.help.chars().count() <= 56,
                "{:?} is too long for help at 80 columns",
                binding.help
            );
        }
    }

    #[test]
    fn shift_tab_is_back_tab() {
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), Some(Key::BackTab));
        assert_eq!(
            resolve(Context::Connection, Key::BackTab),
            Some(Command::PrevTab)
        );
    }
}
