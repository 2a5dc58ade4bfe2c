//! The Users pane's part of the reducer: commands and effect results. Pure.

use std::time::Duration;

use super::state::{LoadSummary, LookupProgress, MappingDialog, Prompt, PromptKind, UsersState};
use crate::app::effect::{Effect, ExportContent, ImportSource};
use crate::app::event::{Event, Outbox};
use crate::app::keys::{Command, Context};
use crate::app::notice::{error, failed, info, warn};
use crate::app::state::{State, Tab};
use crate::app::table;
use crate::app::text_field::{TextEdit, TextField};
use crate::app::workspace::{self, WorkspaceOp};
use crate::error::{AppError, ErrorKind};
use crate::import::{ColumnRef, ImportError, ImportOptions, MappingOverride};
use crate::lookup::{LookupJob, LookupOptions};
use crate::matching::{
    Attempt, AttemptResult, LookupKind, LookupOutcome, MatchStatus, OutcomeSummary,
};
use crate::report::UserReport;
use crate::scim::{ClientStats, ScimUser};

/// Rows of the Users table that fit on screen: the terminal minus the tab bar, notice,
/// hints, the pane's border, the progress line and the table header.
pub fn table_height(size: (u16, u16)) -> usize {
    (size.1 as usize)
        .saturating_sub(1 + 1 + 1 + 2 + 2 + 1)
        .max(1)
}

/// Starts a lookup batch for `indices` (with optional per-user overrides).
fn start_lookups(
    state: &mut State,
    jobs: Vec<LookupJob>,
    mut options: LookupOptions,
    out: &mut Outbox,
) {
    if jobs.is_empty() {
        return;
    }
    options.aliases = state.users.aliases.clone();
    if state.connection.base_url.value.trim().is_empty() {
        state.notice = Some(error(
            "Set the base URL on the Connection pane first".into(),
        ));
        return;
    }
    let users = &mut state.users;
    if !users.progress.running {
        // A new run: progress starts from zero, keeping the connection's counters.
        users.progress = LookupProgress {
            batch: users.progress.batch,
            requests: users.progress.requests,
            retries: users.progress.retries,
            throttled: users.progress.throttled,
            ..LookupProgress::default()
        };
        users.progress.started_at = None;
    }
    users.progress.batch += 1;
    users.progress.last_event = Some(state.now);
    users.progress.total += jobs.len();
    users.progress.running = true;
    users.progress.cancelling = false;
    users.running_batches.insert(users.progress.batch);
    for job in &jobs {
        users.update_row(job.index, |row| row.queued = true);
    }
    let batch = users.progress.batch;
    out.push(Effect::LookupUsers {
        batch,
        spec: state.connection.spec(),
        jobs,
        options,
    });
    state.users.refresh_view();
}

fn jobs_for(users: &UsersState, indices: &[usize]) -> Vec<LookupJob> {
    indices
        .iter()
        .filter(|&&i| {
            let row = &users.rows[i];
            !row.ignored && !row.queued && !row.looking_up
        })
        .map(|&i| LookupJob {
            index: i,
            user: users.directory.users[i].clone(),
        })
        .collect()
}

/// [`Event::LookUp`]: looks these users up (new users after a load; users a batch
/// changed, so the table shows the server's state rather than what navscim expects
/// it to be). A `quiet` batch says nothing when it ends well.
pub fn look_up(state: &mut State, indices: &[usize], quiet: bool, out: &mut Outbox) {
    let jobs = jobs_for(&state.users, indices);
    let before = state.users.progress.batch;
    start_lookups(state, jobs, LookupOptions::default(), out);
    if quiet && state.users.progress.batch != before {
        let batch = state.users.progress.batch;
        state.users.quiet_batches.insert(batch);
    }
}

/// Keys of the column-mapping dialog.
fn mapping_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let users = &mut state.users;
    let Some(dialog) = users.mapping.as_mut() else {
        return false;
    };
    let columns = dialog.needs.headers.len();
    match command {
        Command::Up => dialog.focus = dialog.focus.saturating_sub(1),
        Command::Down => dialog.focus = (dialog.focus + 1).min(dialog.choices.len() - 1),
        Command::Left | Command::Right => {
            // Cycle through "no column" and every column of the file.
            let (_, choice) = &mut dialog.choices[dialog.focus];
            let slot = choice.map(|c| c + 1).unwrap_or(0);
            let slots = columns + 1;
            let next = if command == Command::Right {
                (slot + 1) % slots
            } else {
                (slot + slots - 1) % slots
            };
            *choice = next.checked_sub(1);
        }
        Command::EditCancel | Command::Close => {
            let dialog = users.mapping.take().expect("checked above");
            state.notice = Some(warn(format!("Not imported: {}", dialog.needs.file)));
        }
        Command::EditCommit | Command::Activate => {
            let dialog = users.mapping.take().expect("checked above");
            let mut mapping = MappingOverride::default();
            for (field, choice) in &dialog.choices {
                mapping.set(
                    *field,
                    match choice {
                        Some(c) => ColumnRef::Number(c + 1),
                        None => ColumnRef::Ignore,
                    },
                );
            }
            state.notice = Some(info(format!(
                "Importing {} with --map {}",
                dialog.needs.file,
                mapping_text(&dialog)
            )));
            out.push(Effect::ImportFiles {
                sources: vec![dialog.source],
                options: ImportOptions {
                    format: Some(dialog.needs.format),
                    mapping: Some(mapping),
                    date_order: None,
                },
                lookup_after: dialog.lookup_after,
            });
        }
        _ => return false,
    }
    true
}

/// The dialog's choices as the `--map` text a script would pass.
pub fn mapping_text(dialog: &MappingDialog) -> String {
    dialog
        .choices
        .iter()
        .map(|(field, choice)| match choice {
            Some(c) => format!(
                "{}=\"{}\"",
                field.name(),
                dialog
                    .needs
                    .headers
                    .get(*c)
                    .map(String::as_str)
                    .unwrap_or("?")
            ),
            None => format!("{}=-", field.name()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A key typed into the `/` filter (the view follows every keystroke) or a prompt.
/// Returns false for keys that are commands.
pub fn edit_text(state: &mut State, edit: TextEdit) -> bool {
    let users = &mut state.users;
    let filtering = users.context() == Context::UsersFilter;
    let field = if filtering {
        Some(&mut users.table.filter)
    } else {
        users.prompt.as_mut().map(|p| &mut p.input)
    };
    let Some(field) = field else { return false };
    field.edit(edit);
    if filtering {
        users.refresh_view();
        users.table.to_top();
    }
    true
}

/// Terminal paste into the `/` filter or a prompt.
pub fn paste(state: &mut State, text: &str) -> bool {
    if state.users.context() == Context::SourceForm {
        return super::sources::paste(state, text);
    }
    let users = &mut state.users;
    let field = match users.context() {
        Context::UsersFilter => Some(&mut users.table.filter),
        Context::Prompt => users.prompt.as_mut().map(|p| &mut p.input),
        _ => None,
    };
    let Some(field) = field else { return false };
    field.insert_str(text.trim());
    users.refresh_view();
    true
}

/// The export of the view shown (the rows as the filter and sort show them): what
/// `x` and `:export` write on the Users pane. Rows of which only the summary is in
/// memory are made from it and listed to be completed from the stored outcomes.
pub fn export_content(state: &State) -> (ExportContent, Vec<workspace::CompleteRow>) {
    let users = &state.users;
    let mut complete = Vec::new();
    let rows: Vec<UserReport> = users
        .table
        .view
        .iter()
        .enumerate()
        .map(|(at, &i)| {
            let (user, row, presence) =
                (&users.directory.users[i], &users.rows[i], users.presence(i));
            match (row.full.as_deref(), row.outcome.as_deref()) {
                (None, Some(summary)) => {
                    complete.push(workspace::CompleteRow {
                        at,
                        user: Box::new(user.clone()),
                        presence,
                        ignored: row.ignored,
                    });
                    UserReport::from_summary(user, presence, summary, row.ignored)
                }
                (full, _) => UserReport::new(user, presence, full, row.ignored),
            }
        })
        .collect();
    (ExportContent::Users(rows), complete)
}

/// `D` / `E` / `C`: the Actions pane builds a plan from the marked users (or the
/// cursor's), unless there is nobody to plan for.
fn request_plan(state: &mut State, kind: crate::plan::OpKind, out: &mut Outbox) -> bool {
    if state.users.targets().is_empty() {
        state.notice = Some(warn(
            "No user to plan for: mark users with Space first".into(),
        ));
        return true;
    }
    out.emit(Event::PlanFromUsers(kind));
    true
}

/// Commands of the Users pane and its filter, prompt and details contexts.
pub fn command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let height = table_height(state.size);
    if state.users.mapping.is_some() {
        return mapping_command(state, command, out);
    }
    if state.users.sources.open {
        return super::sources::command(state, command, out);
    }
    let users = &mut state.users;
    if users.details_open || users.files_open {
        if command == Command::Close {
            users.details_open = false;
            users.files_open = false;
            return true;
        }
        return table::scroll(&mut users.details_scroll, command);
    }
    if users.prompt.is_some() {
        return prompt_command(state, command, out);
    }
    if let Some(changed) = table::pane_command(users, command, height, &mut state.notice) {
        return changed;
    }
    match command {
        Command::PlanDeactivate => {
            return request_plan(state, crate::plan::OpKind::Deactivate, out)
        }
        Command::PlanReactivate => {
            return request_plan(state, crate::plan::OpKind::Reactivate, out)
        }
        Command::PlanCreate => return request_plan(state, crate::plan::OpKind::Create, out),
        Command::Files => {
            users.files_open = true;
            users.details_scroll = 0;
        }
        Command::Sources => super::sources::open(state),
        Command::Details => {
            if let Some(index) = users.cursor_user() {
                users.details_open = true;
                users.details_scroll = 0;
                workspace::read_details(state, index, out);
            }
        }
        Command::Relookup => {
            let targets = users.targets();
            let jobs = jobs_for(users, &targets);
            let n = jobs.len();
            start_lookups(state, jobs, LookupOptions::default(), out);
            if n > 0 {
                state.notice = Some(info(format!("Looking {n} users up again")));
            }
        }
        Command::RelookupBy => {
            if users.targets().is_empty() {
                return false;
            }
            users.prompt = Some(Prompt {
                kind: PromptKind::Relookup(LookupKind::UserName),
                input: TextField::default(),
            });
        }
        Command::Link => {
            if users.cursor_user().is_none() {
                return false;
            }
            users.prompt = Some(Prompt {
                kind: PromptKind::Link,
                input: TextField::default(),
            });
        }
        Command::LoadFile => {
            users.prompt = Some(Prompt {
                kind: PromptKind::LoadFile,
                input: TextField::default(),
            })
        }
        Command::Note => {
            let Some(index) = users.cursor_user() else {
                return false;
            };
            users.prompt = Some(Prompt {
                kind: PromptKind::Note { index },
                input: TextField::default(),
            });
        }
        Command::RefreshStale => {
            let hours = state.workspace.settings.stale_after_hours;
            state.users.prompt = Some(Prompt {
                kind: PromptKind::RefreshStale,
                input: TextField::selected(format!("{hours}h")),
            });
        }
        Command::Ignore => {
            let targets = users.targets();
            // If any target is not ignored yet, ignore them all; else un-ignore them all.
            let ignore = targets.iter().any(|&i| !users.rows[i].ignored);
            for &i in &targets {
                users.update_row(i, |row| row.ignored = ignore);
            }
            users.refresh_view();
            let keys = targets
                .iter()
                .map(|&i| users.directory.users[i].key.clone())
                .collect();
            workspace::write(
                state,
                out,
                WorkspaceOp::SetIgnored {
                    keys,
                    reason: ignore.then(|| "ignored on the Users pane".to_string()),
                },
            );
            state.notice = Some(info(format!(
                "{} {} user{}",
                if ignore { "Ignored" } else { "Un-ignored" },
                targets.len(),
                if targets.len() == 1 { "" } else { "s" }
            )));
        }
        Command::LookupRemaining => {
            let remaining = users.remaining();
            if remaining.is_empty() {
                state.notice = Some(info(
                    "Every user is looked up (none pending, none in error)".into(),
                ));
                return true;
            }
            let jobs = jobs_for(users, &remaining);
            state.notice = Some(info(format!(
                "Looking up {} users not done (pending, error)",
                jobs.len()
            )));
            start_lookups(state, jobs, LookupOptions::default(), out);
        }
        Command::Copy => {
            let emails: Vec<String> = users
                .targets()
                .iter()
                .filter_map(|&i| users.directory.users[i].email.clone())
                .collect();
            let Some((copy, notice)) = Effect::copy_emails(emails) else {
                return false;
            };
            state.notice = Some(notice);
            out.push(copy);
        }
        Command::CancelWork => {
            if !users.progress.running {
                return false;
            }
            users.progress.cancelling = true;
            out.push(Effect::CancelLookups);
            state.notice = Some(warn(
                "Cancelling: lookups in flight finish, no new ones start".into(),
            ));
        }
        _ => return false,
    }
    state.users.table.scroll_into_view(height);
    true
}

fn prompt_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let users = &mut state.users;
    let Some(prompt) = users.prompt.as_mut() else {
        return false;
    };
    match command {
        Command::EditCancel => users.prompt = None,
        Command::NextKind => {
            if let PromptKind::Relookup(kind) = prompt.kind {
                let kinds = [
                    LookupKind::UserName,
                    LookupKind::Email,
                    LookupKind::ExternalId,
                ];
                let at = kinds.iter().position(|k| *k == kind).unwrap_or(0);
                prompt.kind = PromptKind::Relookup(kinds[(at + 1) % kinds.len()]);
            }
        }
        Command::EditCommit => {
            let prompt = users.prompt.take().expect("checked above");
            let value = prompt.input.value.trim().to_string();
            match prompt.kind {
                PromptKind::Relookup(kind) => relookup_by(state, kind, &value, out),
                PromptKind::Link => {
                    if value.is_empty() {
                        state.notice = Some(error("No SCIM id typed".into()));
                        return true;
                    }
                    let Some(index) = state.users.cursor_user() else {
                        return true;
                    };
                    state.notice = Some(info(format!("Verifying SCIM id {value} …")));
                    out.push(Effect::VerifyLink {
                        index,
                        scim_id: value,
                        spec: state.connection.spec(),
                    });
                }
                PromptKind::LoadFile => {
                    if value.is_empty() {
                        return true;
                    }
                    state.notice = Some(info(format!("Loading {value} …")));
                    out.push(Effect::import_files(
                        vec![ImportSource::Path(value.into())],
                        true,
                    ));
                }
                PromptKind::Note { index } => {
                    if value.is_empty() {
                        return true;
                    }
                    add_note(state, index, value, out);
                }
                PromptKind::RefreshStale => refresh_stale(state, &value, out),
                PromptKind::ConfirmLink { index, user, .. } => {
                    let id = user.id.clone().unwrap_or_default();
                    if value.eq_ignore_ascii_case("yes") {
                        // The admin's decision on a conflict: kept with the link.
                        if let Some(u) = state.users.directory.users.get(index) {
                            let key = u.key.clone();
                            workspace::write(
                                state,
                                out,
                                WorkspaceOp::ResolveConflict {
                                    key,
                                    resolution: "link".into(),
                                    scim_id: Some(id.clone()),
                                },
                            );
                        }
                        link_confirmed(state, index, id, Ok(Some(user)), out);
                        mark_cross_conflicts(&mut state.users);
                        state.users.refresh_view();
                    } else {
                        state.notice = Some(info(format!(
                            "Not linked to SCIM id {id} (type yes to link anyway)"
                        )));
                    }
                }
            }
        }
        _ => return false,
    }
    true
}

/// `N`: a note about the user, shown in their details and kept in the workspace.
fn add_note(state: &mut State, index: usize, text: String, out: &mut Outbox) {
    let Some(user) = state.users.directory.users.get(index) else {
        return;
    };
    let key = user.key.clone();
    state
        .users
        .notes
        .entry(key.clone())
        .or_default()
        .push((out.now, text.clone()));
    state.notice = Some(info(format!(
        "Note added to {}{}",
        user.email.as_deref().unwrap_or(&key),
        if state.workspace.writable {
            ""
        } else {
            " (not saved: no writable workspace)"
        }
    )));
    workspace::write(state, out, WorkspaceOp::AddNote { key, text });
}

/// `u`: looks up again the users whose result is older than `age` (e.g. `24h`),
/// which becomes the stale threshold. Each goes by its stored SCIM id first (a hand
/// link, else the id of its last match: one `GET /Users/{id}`), then, if that finds
/// nobody, the usual identifiers.
fn refresh_stale(state: &mut State, age: &str, out: &mut Outbox) {
    let hours = match crate::workspace::parse_age(age) {
        Ok(d) if d.as_secs() >= 3600 => d.as_secs() / 3600,
        Ok(_) => {
            state.notice = Some(error(format!(
                "{age:?}: the stale threshold is at least 1h"
            )));
            return;
        }
        Err(e) => {
            state.notice = Some(error(e));
            return;
        }
    };
    workspace::set_stale_hours(state, hours, out);
    let stale = workspace::stale_rows(state, out.now);
    if stale.is_empty() {
        state.notice = Some(info(format!(
            "No result is older than {hours} h (e looks up the users never looked up)"
        )));
        return;
    }
    let users = &state.users;
    let mut by_id = 0;
    let jobs: Vec<LookupJob> = jobs_for(users, &stale)
        .into_iter()
        .map(|mut job| {
            if job.user.stored_scim_id.is_none() {
                job.user.stored_scim_id = users.rows[job.index].scim_id().map(str::to_string);
            }
            if job.user.stored_scim_id.is_some() {
                by_id += 1;
            }
            job
        })
        .collect();
    let n = jobs.len();
    state.notice = Some(info(format!(
        "Refreshing {n} results older than {hours} h ({by_id} by stored SCIM id first)"
    )));
    if !state.users.progress.running {
        state.workspace.refreshing = true;
    }
    // The default precedence tries the stored SCIM id first.
    start_lookups(state, jobs, LookupOptions::default(), out);
}

/// Looks the targets up by one identifier kind; a typed value replaces the user's own
/// (only sensible for a single target, so a value with several targets is refused).
fn relookup_by(state: &mut State, kind: LookupKind, value: &str, out: &mut Outbox) {
    let users = &state.users;
    let targets = users.targets();
    if !value.is_empty() && targets.len() > 1 {
        state.notice = Some(error(format!(
            "A typed value applies to one user; {} are marked. Leave it empty to use each user's own {}.",
            targets.len(),
            kind.label()
        )));
        return;
    }
    let mut jobs = jobs_for(users, &targets);
    if !value.is_empty() {
        for job in &mut jobs {
            let user = &mut job.user;
            match kind {
                LookupKind::UserName => user.user_name = Some(value.to_string()),
                LookupKind::Email => user.email = Some(value.to_string()),
                LookupKind::ExternalId => {
                    user.idp_id = Some(value.to_string());
                    if let Some(seat) = user.seat.as_mut() {
                        seat.unique_user_id = None;
                    }
                }
                LookupKind::StoredId => user.stored_scim_id = Some(value.to_string()),
            }
        }
    }
    let options = LookupOptions {
        precedence: vec![kind],
        ..LookupOptions::default()
    };
    state.notice = Some(info(format!(
        "Looking {} up by {}",
        if jobs.len() == 1 {
            "1 user".to_string()
        } else {
            format!("{} users", jobs.len())
        },
        kind.label()
    )));
    start_lookups(state, jobs, options, out);
}

pub fn files_imported(
    state: &mut State,
    results: Vec<(ImportSource, Result<crate::import::Import, ImportError>)>,
    lookup_after: bool,
    out: &mut Outbox,
) {
    super::sources::imported(state, &results);
    // A file loaded again (in this session, or before a restart: the workspace lists
    // a file by its absolute path, an embedded file by its name, an identity
    // provider's listing by its label) updates its entry in the sources list.
    for (source, result) in &results {
        if let Ok(import) = result {
            let name = match source {
                ImportSource::Path(path) => path.display().to_string(),
                ImportSource::Embedded { name, .. } => name.to_string(),
                ImportSource::Idp(spec) => spec.label(),
            };
            state
                .users
                .files
                .retain(|f| f.name != name && f.name != import.file);
        }
    }
    let files_before = state.users.files.len();
    let mut failures = Vec::new();
    let mut imports = Vec::new();
    // Usage reports belong to the Usage pane, and so do their date-order questions.
    let mut usage_imports = Vec::new();
    let mut date_questions = Vec::new();
    for (source, result) in results {
        if let Ok(import) = &result {
            workspace::record_source(state, out, &source, import);
        }
        match result {
            Ok(import) if import.detection.format.kind() == crate::import::FileKind::Usage => {
                usage_imports.push(import)
            }
            Err(ImportError::NeedsDateOrder(needs)) => date_questions.push((source, needs)),
            Err(ImportError::NeedsMapping(needs)) if state.users.mapping.is_none() => {
                // Ask: the column-mapping dialog, seeded with navscim's best guesses.
                let mut choices = Vec::new();
                for problem in &needs.problems {
                    for field in &problem.fields {
                        if choices.iter().any(|(f, _)| f == field) {
                            continue;
                        }
                        let guess = needs
                            .proposed
                            .get(*field)
                            .or_else(|| problem.candidates.first().copied());
                        choices.push((*field, guess));
                    }
                }
                if choices.is_empty() {
                    failures.push(ImportError::NeedsMapping(needs).to_string());
                    continue;
                }
                state.tab = Tab::Users;
                state.users.mapping = Some(MappingDialog {
                    source,
                    lookup_after,
                    needs,
                    choices,
                    focus: 0,
                });
            }
            Err(e) => failures.push(e.to_string()),
            ok => imports.push(ok),
        }
    }
    let user_files = !imports.is_empty();
    let new_users = state.users.add_imports(imports);
    if user_files {
        out.emit(Event::DirectoryChanged);
        // Only a writable workspace takes the users (`save_users` copies every user
        // into the write): without one, nothing is copied for nothing.
        if state.workspace.writable {
            workspace::save_users(state, out);
        }
    }
    let files = &state.users.files[files_before..];
    let loaded = LoadSummary {
        failures,
        files: files
            .iter()
            .map(|f| format!("{} ({}, {} rows)", f.name, f.format, f.rows))
            .collect(),
        problems: files.iter().map(|f| f.problems.len()).sum(),
        new_users: new_users.len(),
    };
    if usage_imports.is_empty() && date_questions.is_empty() {
        state.notice = Some(loaded.notice(None));
    } else {
        // The Usage pane takes its reports and completes the notice.
        out.emit(Event::UsageImported {
            imports: usage_imports,
            questions: date_questions,
            loaded,
        });
    }
    if lookup_after && !new_users.is_empty() {
        out.emit(Event::LookUp {
            users: new_users,
            quiet: false,
        });
    }
    if state.tab == Tab::Connection && files_before == 0 && !state.connection.demo {
        state.tab = Tab::Users;
    }
}

pub fn lookup_started(state: &mut State, batch: u64, index: usize, at: Duration) {
    let _ = batch;
    let progress = &mut state.users.progress;
    progress.started_at.get_or_insert(at);
    progress.started += 1;
    progress.last_event = Some(state.now);
    state.users.update_row(index, |row| {
        row.queued = false;
        row.looking_up = true;
    });
}

/// A lookup answered: the row shows its summary, and the full outcome goes to the
/// workspace ([`workspace::outcome_arrived`]).
pub fn lookup_finished(
    state: &mut State,
    index: usize,
    outcome: Box<LookupOutcome>,
    at: Duration,
    stats: ClientStats,
    out: &mut Outbox,
) {
    let users = &mut state.users;
    if index >= users.rows.len() {
        return;
    }
    // The lookup compared the hit with the job's identity; a value typed for `R`
    // replaced one identifier there, so the hit is checked again against the user as
    // the exports describe them: a contradiction is a conflict, not a match.
    let mut outcome = outcome;
    if let (MatchStatus::Matched { .. }, Some(scim), Some(user)) = (
        outcome.status,
        outcome.user.as_ref(),
        users.directory.users.get(index),
    ) {
        let why = crate::matching::contradictions(user, scim, &users.aliases);
        if !why.is_empty() {
            // Found by a value typed for `R`: the admin may confirm it as a link.
            if users.prompt.is_none() {
                users.prompt = Some(Prompt {
                    kind: PromptKind::ConfirmLink {
                        index,
                        user: Box::new(scim.clone()),
                        why: why.clone(),
                    },
                    input: TextField::default(),
                });
            }
            outcome.mark_conflict(&why.join("; "), false);
        }
    }
    let summary = Box::new(OutcomeSummary::of(&outcome));
    users.update_row(index, |row| {
        row.queued = false;
        row.looking_up = false;
        row.linked = false;
        row.outcome = Some(summary);
        row.full = None;
    });
    let progress = &mut users.progress;
    progress.done += 1;
    progress.last_event = Some(state.now);
    let start = *progress.started_at.get_or_insert(at);
    progress.elapsed = at.saturating_sub(start);
    progress.requests = stats.requests;
    progress.retries = stats.retries;
    progress.throttled = stats.throttled;
    // The view depends on statuses only when a status filter or status sort is on;
    // otherwise skip the O(n) refresh per result.
    if users.status_filter != Default::default()
        || matches!(
            users.table.sort,
            Some((super::state::SortColumn::Status, _))
        )
    {
        users.refresh_view();
        users.table.scroll_into_view(table_height(state.size));
    }
    workspace::outcome_arrived(state, index, outcome, out);
}

pub fn batch_done(
    state: &mut State,
    batch: u64,
    cancelled: usize,
    failure: Option<AppError>,
    out: &mut Outbox,
) {
    out.emit(Event::UsersChanged);
    let users = &mut state.users;
    users.running_batches.remove(&batch);
    // Jobs that never ran are no longer queued once no batch is left to run them.
    if users.running_batches.is_empty() {
        let waiting: Vec<usize> = (0..users.rows.len())
            .filter(|&i| users.rows[i].queued || users.rows[i].looking_up)
            .collect();
        for i in waiting {
            users.update_row(i, |row| {
                row.queued = false;
                row.looking_up = false;
            });
        }
    }
    if users.running_batches.is_empty() {
        users.progress.running = false;
        users.progress.cancelling = false;
        mark_cross_conflicts(users);
    }
    users.refresh_view();
    if users.quiet_batches.remove(&batch) && failure.is_none() && cancelled == 0 {
        return;
    }
    state.notice = Some(match failure {
        // A refused token stops the batch: say so, not "cancelled" (the admin did
        // not), and where to fix it.
        Some(e) if e.kind == ErrorKind::Auth => error(format!(
            "Lookups stopped: the server refused the token ({e}); fix the token on the Connection pane (1), then e looks up the rest"
        )),
        Some(e) => failed("Lookups could not run", &e),
        None if cancelled > 0 => warn(format!(
            "Lookups cancelled: {cancelled} users not looked up (e looks them up)"
        )),
        None => {
            let counts = summary(&state.users);
            info(format!("Lookups done: {counts}"))
        }
    });
}

/// "955 active · 29 inactive · 40 not found …" for the notice line.
pub fn summary(users: &UsersState) -> String {
    users
        .status_counts()
        .iter()
        .map(|(s, n)| format!("{n} {}", s.label()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Marks the users whose identity conflicts only across users (two users on one SCIM
/// user, one seat id naming different people; see
/// [`crate::matching::cross_conflicts`]). Users linked by hand keep their link (the
/// admin decided); the others sharing it become conflicts.
fn mark_cross_conflicts(users: &mut UsersState) {
    let marks = {
        let rows = &users.rows;
        crate::matching::cross_conflicts(&users.directory, |i| {
            rows.get(i)
                .filter(|r| !r.ignored)
                .and_then(|r| r.outcome.as_deref())
                .map(|o| (o.status, o.scim_id()))
        })
    };
    for (i, why, not_found_too) in marks {
        if users.rows.get(i).is_some_and(|r| r.linked) {
            continue;
        }
        users.update_row(i, |row| {
            row.mark_conflict(&why, not_found_too);
        });
    }
}

/// Why a hand link of `index` to `user` needs the admin's confirmation: the SCIM
/// user's identity contradicts the row's, or another user already holds it.
fn link_doubts(state: &State, index: usize, user: &ScimUser) -> Vec<String> {
    let users = &state.users;
    let Some(dir_user) = users.directory.users.get(index) else {
        return Vec::new();
    };
    let mut why = crate::matching::contradictions(dir_user, user, &users.aliases);
    if let Some(id) = user.id.as_deref() {
        for (j, row) in users.rows.iter().enumerate() {
            if j != index
                && matches!(
                    row.status(),
                    MatchStatus::Matched { .. } | MatchStatus::Conflict
                )
                && row.scim_id() == Some(id)
            {
                let other = &users.directory.users[j];
                why.push(format!(
                    "SCIM user {id} is already held by {}",
                    other.email.as_deref().unwrap_or(&other.key)
                ));
            }
        }
    }
    why
}

pub fn link_verified(
    state: &mut State,
    index: usize,
    scim_id: String,
    result: Result<Option<Box<ScimUser>>, AppError>,
    out: &mut Outbox,
) {
    if state.users.rows.get(index).is_none() {
        return;
    }
    let result = match result {
        Ok(Some(user)) if user.id.as_deref() != Some(scim_id.as_str()) => Err(AppError::new(
            ErrorKind::Server,
            format!(
                "the answer to GET /Users/{scim_id} carries {} (it does not prove who holds the id)",
                match user.id.as_deref() {
                    Some(other) => format!("the id {other:?}"),
                    None => "no id".to_string(),
                }
            ),
        )),
        Ok(Some(user)) => {
            let why = link_doubts(state, index, &user);
            if !why.is_empty() {
                state.users.prompt = Some(Prompt {
                    kind: PromptKind::ConfirmLink { index, user, why },
                    input: TextField::default(),
                });
                state.notice = Some(warn(format!(
                    "SCIM user {scim_id} does not agree with this user: type yes to link anyway"
                )));
                return;
            }
            Ok(Some(user))
        }
        other => other,
    };
    link_confirmed(state, index, scim_id, result, out);
}

/// Makes a verified (or confirmed) hand link.
fn link_confirmed(
    state: &mut State,
    index: usize,
    scim_id: String,
    result: Result<Option<Box<ScimUser>>, AppError>,
    out: &mut Outbox,
) {
    out.emit(Event::UsersChanged);
    let Some(row) = state.users.rows.get(index) else {
        return;
    };
    let request = format!("GET /Users/{scim_id}");
    match result {
        Ok(Some(user)) => {
            let user = *user;
            let active = user.is_active();
            // The earlier attempts, when this session still holds them.
            let mut attempts = row
                .full
                .as_ref()
                .map(|o| o.attempts.clone())
                .unwrap_or_default();
            attempts.push(Attempt {
                kind: LookupKind::StoredId,
                value: scim_id.clone(),
                request,
                result: AttemptResult::Hits(1),
                requests: 1,
            });
            let warnings =
                crate::matching::external_id_warning(&state.users.directory.users[index], &user)
                    .into_iter()
                    .collect();
            let outcome = Box::new(LookupOutcome {
                status: MatchStatus::Matched { active },
                matched_by: Some(LookupKind::StoredId),
                user: Some(user),
                candidates: Vec::new(),
                attempts,
                error: None,
                warnings,
            });
            let summary = Box::new(OutcomeSummary::of(&outcome));
            state.users.update_row(index, |row| {
                row.outcome = Some(summary);
                row.full = None;
                row.linked = true;
                row.ignored = false;
            });
            state.users.directory.users[index].stored_scim_id = Some(scim_id.clone());
            state.users.refresh_view();
            let key = state.users.directory.users[index].key.clone();
            workspace::write(
                state,
                out,
                WorkspaceOp::SetLink {
                    key,
                    scim_id: Some(scim_id.clone()),
                },
            );
            workspace::save_outcome(state, index, outcome, out);
            state.notice = Some(info(format!("Linked to SCIM id {scim_id}")));
        }
        Ok(None) => {
            state.notice = Some(error(format!("Not linked: no SCIM user has id {scim_id}")))
        }
        Err(e) => {
            state.notice = Some(failed(
                &format!("Not linked: could not verify SCIM id {scim_id}"),
                &e,
            ))
        }
    }
}
