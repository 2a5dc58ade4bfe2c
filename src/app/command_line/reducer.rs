//! The bottom line's reducer: opening it (`:`, or an export's `x` / `w`), editing and
//! completing what is typed, recalling earlier lines, and what Enter and Esc do. What
//! a `:` line runs is up to the root reducer ([`super::Invocation::steps`] through
//! its routes), so a verb and its key share one implementation.

use std::path::PathBuf;

use super::{complete, Line, LineKind};
use crate::app::effect::{Effect, ExportJob, ExportKind};
use crate::app::event::Outbox;
use crate::app::keys::Command;
use crate::app::notice::{error, failed, info, warn};
use crate::app::pane::{actions, usage, users};
use crate::app::state::{State, Tab};
use crate::app::text_field::{TextEdit, TextField};
use crate::app::workspace::WorkspaceOp;

/// How many command lines the session keeps for Up / Down.
pub const HISTORY_LEN: usize = 100;

/// `:`: the command line opens, empty, with every verb as a candidate.
pub fn open_command(state: &mut State) -> bool {
    state.command_line.line = Some(Line::new(LineKind::Command, TextField::default()));
    true
}

/// `x` (Users, Usage) / `w` (Actions): asks for the export's file name, a default
/// selected (typing replaces it).
pub fn open_export(state: &mut State) -> bool {
    let default = match state.tab {
        Tab::Users => "navscim-users.csv",
        Tab::Usage => "navscim-usage.csv",
        Tab::Actions => "navscim-plan.json",
        Tab::Connection | Tab::History => return false,
    };
    state.command_line.line = Some(Line::new(LineKind::Export, TextField::selected(default)));
    true
}

/// A key-table command while the line is open (Enter aside: see [`commit`]).
pub fn command(state: &mut State, command: Command) -> bool {
    let history_len = state.command_line.history.len();
    let Some(line) = state.command_line.line.as_mut() else {
        return false;
    };
    let is_command = line.kind == LineKind::Command;
    match command {
        Command::EditCancel => {
            if let LineKind::Overwrite(job) = &line.kind {
                state.notice = Some(info(format!(
                    "Not exported; {} kept as it was",
                    job.path.display()
                )));
            }
            state.command_line.line = None;
        }
        Command::Complete if is_command => {
            let done = complete(&line.input.value);
            line.input = TextField::new(done.line);
            line.candidates = done.candidates;
            line.recall = None;
        }
        Command::Up if is_command => {
            let at = match &line.recall {
                Some((0, _)) => return false,
                Some((i, _)) => i - 1,
                None if history_len == 0 => return false,
                None => history_len - 1,
            };
            let typed = match line.recall.take() {
                Some((_, typed)) => typed,
                None => line.input.value.clone(),
            };
            line.input = TextField::new(state.command_line.history[at].clone());
            line.recall = Some((at, typed));
            line.candidates = complete(&line.input.value).candidates;
        }
        Command::Down if is_command => {
            let Some((at, typed)) = line.recall.take() else {
                return false;
            };
            if at + 1 < history_len {
                line.input = TextField::new(state.command_line.history[at + 1].clone());
                line.recall = Some((at + 1, typed));
            } else {
                line.input = TextField::new(typed);
            }
            line.candidates = complete(&line.input.value).candidates;
        }
        _ => return false,
    }
    true
}

/// Typing into the line: the candidates follow what is typed.
pub fn edit_text(state: &mut State, edit: TextEdit) -> bool {
    let Some(line) = state.command_line.line.as_mut() else {
        return false;
    };
    line.input.edit(edit);
    if line.kind == LineKind::Command {
        line.candidates = complete(&line.input.value).candidates;
        line.recall = None;
    }
    true
}

/// A terminal paste into the line: one line of text.
pub fn paste(state: &mut State, text: &str) -> bool {
    let Some(line) = state.command_line.line.as_mut() else {
        return false;
    };
    line.input.insert_str(text.trim());
    if line.kind == LineKind::Command {
        line.candidates = complete(&line.input.value).candidates;
    }
    true
}

/// Enter: the line closes. A `:` line is kept in the history and parsed: its
/// invocation is returned for the root reducer to run (a mistake is said, naming
/// it). An export's file name exports; `y` to the overwrite question replaces.
pub fn commit(state: &mut State, out: &mut Outbox) -> Option<super::Invocation> {
    let line = state.command_line.line.take()?;
    let value = line.input.value.trim().to_string();
    match line.kind {
        LineKind::Command => {
            if value.is_empty() {
                return None;
            }
            let history = &mut state.command_line.history;
            if history.last() != Some(&value) {
                if history.len() == HISTORY_LEN {
                    history.remove(0);
                }
                history.push(value.clone());
            }
            match super::parse(&value) {
                Ok(invocation) => return Some(invocation),
                Err(e) => state.notice = Some(error(e.to_string())),
            }
        }
        LineKind::Export => {
            if !value.is_empty() {
                export_to(state, PathBuf::from(value), out);
            }
        }
        LineKind::Overwrite(mut job) => {
            if matches!(value.to_lowercase().as_str(), "y" | "yes") {
                job.overwrite = true;
                out.push(Effect::Export(job));
            } else {
                state.notice = Some(info(format!(
                    "Not exported; {} kept as it was",
                    job.path.display()
                )));
            }
        }
    }
    None
}

/// Exports the pane shown to `path`: the Users view, the Usage rows in view, the plan
/// under review. The one export path of `x`, `w` and `:export`; a file there is not
/// replaced before the admin says so ([`export_exists`]).
pub fn export_to(state: &mut State, path: PathBuf, out: &mut Outbox) -> bool {
    let mut to_complete = Vec::new();
    let content = match state.tab {
        Tab::Users => {
            let (content, rows) = users::reducer::export_content(state);
            to_complete = rows;
            Ok(content)
        }
        Tab::Usage => usage::reducer::export_content(state).and_then(|c| {
            let csv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            if csv {
                Ok(c)
            } else {
                Err(format!(
                    "{}: the Usage export is CSV: name the file .csv",
                    path.display()
                ))
            }
        }),
        Tab::Actions => actions::reducer::export_content(state),
        Tab::Connection | Tab::History => Err(format!(
            "Nothing to export on the {} pane (Users, Usage and Actions export)",
            state.tab.title()
        )),
    };
    match content {
        Ok(content) => {
            let job = Box::new(ExportJob {
                path,
                content,
                overwrite: false,
            });
            // Rows of which only the summary is in memory are completed from the
            // workspace first (the writer does it, after the writes before it).
            if to_complete.is_empty() {
                out.push(Effect::Export(job));
            } else {
                let op = WorkspaceOp::ExportUsers {
                    job: job.clone(),
                    complete: to_complete,
                };
                if !crate::app::workspace::read(state, out, op) {
                    out.push(Effect::Export(job));
                }
            }
        }
        Err(e) => state.notice = Some(error(e)),
    }
    true
}

/// The export's file is there already: nothing was written; the line asks before
/// replacing it, naming it, and `y` writes this same job.
pub fn export_exists(state: &mut State, job: Box<ExportJob>) -> bool {
    state.notice = Some(warn(format!(
        "Not exported yet: {} exists · y replaces it, Esc keeps it",
        job.path.display()
    )));
    state.command_line.line = Some(Line::new(LineKind::Overwrite(job), TextField::default()));
    true
}

/// The export's answer.
pub fn exported(
    state: &mut State,
    what: ExportKind,
    result: Result<(PathBuf, usize), crate::error::AppError>,
) -> bool {
    state.notice = Some(match result {
        Ok((path, n)) => info(what.done(n, &path)),
        Err(e) => failed("Export failed", &e),
    });
    true
}
