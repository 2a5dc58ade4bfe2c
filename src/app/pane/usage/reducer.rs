//! The Usage pane's part of the reducer: the usage report's arrival (and the questions
//! it may raise: date order, report period), the pane's commands, and handing the
//! marked users to the Actions pane as a deactivation plan. Pure: the time comes in
//! with the call of `reduce` (`Outbox::now`).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};

use super::state::{is_idle, DateOrderQuestion, PlanPreview, UsagePrompt, UsagePromptKind};
use super::state::{UsageReport, UsageState};
use crate::app::effect::{Effect, ImportSource};
use crate::app::event::{Event, Outbox};
use crate::app::keys::Command;
use crate::app::notice::{error, info, warn, Level, Notice};
use crate::app::pane::actions::state::PlanOrigin;
use crate::app::pane::users::state::{LoadSummary, UsersState};
use crate::app::state::{State, Tab};
use crate::app::table;
use crate::app::text_field::{TextEdit, TextField};
use crate::import::{DateOrder, Import, ImportOptions, NeedsDateOrder, ReportPeriod};
use crate::plan::{
    build_deprovision_plan, build_deprovision_plan_for_marked, exclusion_name, tally_deprovision,
    CandidateSource, DeprovisionParams, DeprovisionTally, ExclusionReason, Plan, PlanCandidate,
    PlanContext, PlanInput, UsageData,
};
use crate::usage::{self, IDLE_PRESETS};

/// Rows of the Usage table that fit on screen: the terminal minus the tab bar, notice,
/// hints, the pane's border, the summary and chart, the filter line and the header.
pub fn table_height(size: (u16, u16)) -> usize {
    let summary = summary_height(size) as usize;
    (size.1 as usize)
        .saturating_sub(1 + 1 + 1 + 2 + summary + 1 + 1)
        .max(1)
}

/// Lines of the summary and chart block: more room on tall terminals.
pub fn summary_height(size: (u16, u16)) -> u16 {
    if size.1 >= 40 {
        9
    } else {
        6
    }
}

/// A command while the Usage pane has focus. Returns whether anything visible changed.
pub fn command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let height = table_height(state.size);
    if state.usage.date_order.is_some() {
        return date_order_command(state, command, out);
    }
    if state.usage.prompt.is_some() {
        return prompt_command(state, command, out);
    }
    let usage = &mut state.usage;
    if usage.details_open {
        if command == Command::Close {
            usage.details_open = false;
            return true;
        }
        return table::scroll(&mut usage.details_scroll, command);
    }
    if let Some(changed) = table::pane_command(usage, command, height, &mut state.notice) {
        return changed;
    }
    match command {
        Command::Details => {
            if usage.cursor_row().is_none() {
                return false;
            }
            usage.details_open = true;
            usage.details_scroll = 0;
        }
        Command::MarkIdle => {
            let t = usage.threshold;
            let n = usage.mark_shown_where(|a| is_idle(a, t));
            usage.table.recount_hidden_marks();
            state.notice = Some(marked_notice(&state.usage, n, &format!("idle >{t}d")));
        }
        Command::MarkNeverActivated => {
            let n = usage.mark_shown_where(|a| a.is_never_activated());
            usage.table.recount_hidden_marks();
            state.notice = Some(marked_notice(&state.usage, n, "never activated"));
        }
        Command::CycleThreshold => {
            let next = IDLE_PRESETS
                .iter()
                .copied()
                .find(|p| *p > usage.threshold)
                .unwrap_or(IDLE_PRESETS[0]);
            set_threshold(state, next);
        }
        Command::CustomThreshold => {
            let current = usage.threshold.to_string();
            open_prompt(usage, UsagePromptKind::Threshold, current)
        }
        Command::GracePeriod => {
            let current = usage.grace_days.to_string();
            open_prompt(usage, UsagePromptKind::Grace, current)
        }
        Command::ReportPeriod => {
            if usage.report.as_ref().is_some_and(|r| r.period_from_file) {
                state.notice = Some(info(
                    "The report states its period; it is used as is".into(),
                ));
                return true;
            }
            if usage.report.is_none() {
                return false;
            }
            open_prompt(usage, UsagePromptKind::Period, String::new())
        }
        Command::LoadFile => open_prompt(usage, UsagePromptKind::LoadFile, String::new()),
        Command::Copy => {
            let rows = usage.rows();
            let emails: Vec<String> = usage
                .targets()
                .iter()
                .filter_map(|&r| rows.get(r).and_then(|row| row.email.clone()))
                .collect();
            let Some((copy, notice)) = Effect::copy_emails(emails) else {
                return false;
            };
            state.notice = Some(notice);
            out.push(copy);
        }
        Command::SendToActions => send_to_actions(state, out),
        _ => return false,
    }
    state.usage.table.scroll_into_view(height);
    true
}

fn marked_notice(usage: &UsageState, added: usize, what: &str) -> Notice {
    let hint = if usage.table.marks.is_empty() {
        ""
    } else {
        " · d sends them to Actions"
    };
    info(format!(
        "Marked {added} {what} · {} marked{hint}",
        usage.table.marks.len()
    ))
}

fn open_prompt(usage: &mut UsageState, kind: UsagePromptKind, value: String) {
    usage.prompt = Some(UsagePrompt {
        kind,
        input: TextField::selected(value),
    });
}

fn set_threshold(state: &mut State, days: u32) {
    let usage = &mut state.usage;
    usage.threshold = days;
    usage.resummarize();
    usage.refresh_view();
    preview_due(state);
    let s = &state.usage.summary;
    state.notice = Some(info(format!(
        "Idle threshold: more than {days} days ({} users idle)",
        s.idle.idle_over_threshold
    )));
}

fn prompt_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    match command {
        Command::EditCancel => {
            let prompt = state.usage.prompt.take();
            if prompt.is_some_and(|p| p.kind == UsagePromptKind::Period) {
                if let Some(today) = state.usage.today {
                    state.notice = Some(info(format!(
                        "Idle days are measured to today, {today} (the report states no period; R asks again)"
                    )));
                }
            }
        }
        Command::EditCommit => {
            let prompt = state.usage.prompt.take().expect("checked by the caller");
            let value = prompt.input.value.trim().to_string();
            match prompt.kind {
                UsagePromptKind::Threshold | UsagePromptKind::Grace => {
                    let Ok(days) = value.parse::<u32>() else {
                        state.notice = Some(error(format!(
                            "{value:?} is not a number of days (a whole number, e.g. 45)"
                        )));
                        state.usage.prompt = Some(prompt);
                        return true;
                    };
                    if prompt.kind == UsagePromptKind::Threshold {
                        set_threshold(state, days);
                    } else {
                        state.usage.grace_days = days;
                        preview_due(state);
                        state.notice = Some(info(format!(
                            "Grace period: users provisioned less than {days} days before the as-of date are left alone"
                        )));
                    }
                }
                UsagePromptKind::Period => match parse_period(&value) {
                    Ok(period) => set_period(state, period),
                    Err(e) => {
                        state.notice = Some(error(e));
                        state.usage.prompt = Some(prompt);
                    }
                },
                UsagePromptKind::LoadFile => {
                    if value.is_empty() {
                        return true;
                    }
                    state.notice = Some(info(format!("Loading {value} …")));
                    out.push(Effect::import_files(
                        vec![ImportSource::Path(value.into())],
                        false,
                    ));
                }
            }
        }
        _ => return false,
    }
    true
}

/// `YYYY-MM-DD` (the end) or `START..END`.
fn parse_period(text: &str) -> Result<ReportPeriod, String> {
    let date = |s: &str| -> Result<NaiveDate, String> {
        s.trim()
            .parse::<NaiveDate>()
            .map_err(|_| format!("{:?} is not a date (YYYY-MM-DD)", s.trim()))
    };
    let period = match text.split_once("..") {
        Some((start, end)) => ReportPeriod {
            start: Some(date(start)?),
            end: Some(date(end)?),
        },
        None => ReportPeriod {
            start: None,
            end: Some(date(text)?),
        },
    };
    if let (Some(s), Some(e)) = (period.start, period.end) {
        if s > e {
            return Err(format!("the period starts ({s}) after it ends ({e})"));
        }
    }
    Ok(period)
}

fn set_period(state: &mut State, period: ReportPeriod) {
    let Some(report) = state.usage.report.as_mut() else {
        return;
    };
    report.period = Some(period);
    let end = period.end.expect("parse_period always sets the end");
    state.usage.as_of = Some((end, "end of the report period (as typed)".into()));
    state.usage.recompute();
    preview_due(state);
    state.notice = Some(info(format!("Idle days are measured to {end}")));
}

fn date_order_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let order = match command {
        Command::DayFirst => DateOrder::DayFirst,
        Command::MonthFirst => DateOrder::MonthFirst,
        Command::EditCancel | Command::Close => {
            if let Some(q) = state.usage.date_order.take() {
                state.notice = Some(warn(format!("Not imported: {}", q.needs.file)));
            }
            return true;
        }
        _ => return false,
    };
    let question = state
        .usage
        .date_order
        .take()
        .expect("checked by the caller");
    state.notice = Some(info(format!(
        "Importing {} with dates read as {} (--date-order {})",
        question.needs.file,
        order.pattern(),
        match order {
            DateOrder::DayFirst => "dmy",
            DateOrder::MonthFirst => "mdy",
        }
    )));
    out.push(Effect::ImportFiles {
        sources: vec![question.source],
        options: ImportOptions {
            date_order: Some(order),
            ..ImportOptions::default()
        },
        lookup_after: false,
    });
    true
}

/// A key typed into a Usage pane text field (filter, custom threshold). Returns false
/// for keys that are commands.
pub fn edit_text(state: &mut State, edit: TextEdit) -> bool {
    let Some(field) = state.usage.text_field() else {
        return false;
    };
    field.edit(edit);
    text_changed(state);
    true
}

/// Terminal paste into the Usage pane's text field, if one is open.
pub fn paste(state: &mut State, text: &str) -> bool {
    if state.usage.context() != crate::app::keys::Context::UsageText {
        return false;
    }
    if let Some(field) = state.usage.text_field() {
        field.insert_str(text.trim());
    }
    text_changed(state);
    true
}

/// After a keystroke in [`crate::app::keys::Context::UsageText`]: the filter follows it.
fn text_changed(state: &mut State) {
    let usage = &mut state.usage;
    if usage.prompt.is_none() && usage.table.filter_editing {
        usage.refresh_view();
        usage.table.to_top();
    }
}

/// [`Event::UsageImported`]: usage reports the Users pane's loader imported, and
/// reports that need the admin to say how to read their dates. Sets the load's notice
/// (what the Users pane took from the same load, and what this pane took).
///
/// [`Event::UsageImported`]: crate::app::event::Event::UsageImported
pub fn usage_imported(
    state: &mut State,
    imports: Vec<Import>,
    questions: Vec<(ImportSource, NeedsDateOrder)>,
    loaded: LoadSummary,
    now: DateTime<Utc>,
) {
    let notice = take_usage_reports(state, imports, questions, now);
    state.notice = Some(loaded.notice(notice));
}

/// The Usage pane's part of a load; returns its notice.
fn take_usage_reports(
    state: &mut State,
    imports: Vec<Import>,
    questions: Vec<(ImportSource, NeedsDateOrder)>,
    now: DateTime<Utc>,
) -> Option<Notice> {
    let mut notice = None;
    for (source, needs) in questions {
        if state.usage.date_order.is_none() {
            notice = Some(warn(format!(
                "Say how to read the dates (Usage pane, 3) · {}",
                needs.file
            )));
            state.usage.date_order = Some(DateOrderQuestion { source, needs });
        } else {
            notice = Some(error(needs.to_string()));
        }
    }
    let replaced = state.usage.report.as_ref().map(|r| r.file.clone());
    let Some(import) = imports.into_iter().last() else {
        return notice;
    };
    let report = UsageReport::from_import(&import);
    let problems = report.problems.len();
    let period = report.period;
    state.usage.report = Some(report);
    state.usage.table.clear_marks();
    state.usage.table.to_top();
    state.usage.details_open = false;
    state.usage.as_of = None;
    state.usage.today = Some(now.date_naive());
    let today = state.usage.today;
    set_as_of(&mut state.usage, today);
    if period.and_then(|p| p.end).is_none() {
        // Asked, never guessed: the period prompt, defaulting to today.
        open_prompt(&mut state.usage, UsagePromptKind::Period, String::new());
    }
    rejoin(state);
    let usage = &state.usage;
    let s = &usage.summary;
    // The counts first (the status line at 80 columns), the file names last.
    let mut text = format!(
        "Usage report: {} rows, {} joined to {} users, {} joined nobody",
        s.rows, s.joined_rows, s.joined_users, s.unmatched_rows
    );
    if problems > 0 {
        text.push_str(&format!(", {problems} problems (details list them)"));
    }
    if state.tab != Tab::Usage {
        text.push_str(" · 3 shows it");
    }
    text.push_str(&format!(" · {}", import.file));
    if let Some(old) = replaced {
        text.push_str(&format!(" (replaces {old})"));
    }
    Some(if problems > 0 {
        warn(text)
    } else {
        notice
            .filter(|n| n.level != Level::Info)
            .unwrap_or(info(text))
    })
}

/// A usage report read back from the workspace at start: shown as it was loaded (its
/// period as the file stated it; idle days to today when it states none). No notice:
/// the workspace's own notice says what was restored.
pub fn restore_report(
    state: &mut State,
    stored: crate::workspace::StoredUsageReport,
    now: DateTime<Utc>,
) {
    let rows_read = stored.rows.len();
    state.usage.report = Some(UsageReport {
        file: stored.path,
        rows: stored.rows,
        period: stored.period,
        period_from_file: stored.period.is_some_and(|p| p.end.is_some()),
        date_order: None,
        rows_read,
        duplicates_merged: 0,
        problems: Vec::new(),
    });
    state.usage.table.clear_marks();
    state.usage.table.to_top();
    state.usage.today = Some(now.date_naive());
    let today = state.usage.today;
    set_as_of(&mut state.usage, today);
    rejoin(state);
}

/// The as-of date as `navscim plan deprovision` chooses it (no `--as-of` here).
fn set_as_of(usage: &mut UsageState, today: Option<NaiveDate>) {
    let period = usage.period().copied();
    usage.as_of = match (period.and_then(|p| p.end), today) {
        (Some(_), _) => {
            // `today` does not matter when the report states its end.
            let (d, why) = usage::default_as_of(None, period.as_ref(), NaiveDate::MIN);
            Some((d, why.to_string()))
        }
        (None, Some(today)) => {
            let (d, why) = usage::default_as_of(None, period.as_ref(), today);
            Some((d, why.to_string()))
        }
        (None, None) => None,
    };
}

fn rejoin(state: &mut State) {
    if state.usage.report.is_none() {
        return;
    }
    state
        .usage
        .rejoin(&state.users.directory, &state.users.aliases);
    state.usage.table.scroll_into_view(table_height(state.size));
    preview_due(state);
}

/// The directory gained users or details: join the report again.
pub fn directory_changed(state: &mut State) {
    rejoin(state);
}

/// Lookup results changed (a batch finished, a link was made, the pane was shown):
/// refresh what a plan would do. O(users), never per keystroke.
pub fn users_changed(state: &mut State) {
    let users = (state.users.changes, state.users.progress.running);
    if state.usage.preview_of != Some(users) {
        preview_due(state);
    }
}

/// The preview's inputs changed (the report, the join, the as-of date, the threshold,
/// the grace period, or lookup results): computed again before the pane is shown.
fn preview_due(state: &mut State) {
    state.usage.preview_due = true;
    state.usage.preview = None;
}

/// At the end of every action: the preview, if due and the Usage pane is on screen
/// (the only place it is shown). O(users) then; nothing otherwise, so a workspace
/// reopened on another pane or lookups finishing there do not pay for it.
pub fn settle(state: &mut State) {
    if state.usage.preview_due && state.tab == Tab::Usage {
        refresh_preview(state);
    }
}

/// Directory user `i` as the planning code sees them (as `navscim plan` reads the
/// Users pane's export).
fn candidate(users: &UsersState, i: usize) -> PlanCandidate {
    let (user, row) = (&users.directory.users[i], &users.rows[i]);
    PlanCandidate::from_directory(user, row.outcome.as_deref(), row.ignored)
}

/// The Users pane's users as a [`CandidateSource`]: each candidate made when the
/// planning code reads it, so a count over every user never holds them all.
struct UsersCandidates<'a>(&'a UsersState);

impl CandidateSource for UsersCandidates<'_> {
    fn count(&self) -> usize {
        self.0.directory.users.len().min(self.0.rows.len())
    }
    fn candidate(&self, i: usize) -> std::borrow::Cow<'_, PlanCandidate> {
        std::borrow::Cow::Owned(candidate(self.0, i))
    }
    fn is_admin(&self, i: usize) -> bool {
        // What `PlanCandidate::from_directory` takes for `is_admin`.
        self.0.directory.users[i].is_admin()
    }
}

/// Every directory user as the planning code sees them.
fn candidates(users: &UsersState) -> Vec<PlanCandidate> {
    let source = UsersCandidates(users);
    (0..source.count()).map(|i| candidate(users, i)).collect()
}

fn params(usage: &UsageState, marked: bool) -> DeprovisionParams {
    DeprovisionParams {
        idle_days: usage.threshold,
        grace_days: usage.grace_days,
        // Marking a never-activated user is the admin's choice to include them; the
        // preview is the headless default.
        include_never_activated: marked,
        // The admin marked them: show why any is left out.
        list_not_idle: marked,
    }
}

fn plan_for(
    state: &State,
    marked: Option<&BTreeSet<usize>>,
    created_at: DateTime<Utc>,
) -> Option<Plan> {
    let usage = &state.usage;
    let report = usage.report.as_ref()?;
    let (as_of, as_of_source) = usage.as_of.clone()?;
    let candidates = candidates(&state.users);
    let data = UsageData {
        rows: &report.rows,
        period: report.period.as_ref(),
        join: &usage.join,
    };
    let ctx = PlanContext {
        as_of,
        as_of_source,
        created_at,
        inputs: vec![
            PlanInput {
                kind: "tui_users".into(),
                path: state
                    .users
                    .files
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                rows: candidates.len(),
            },
            PlanInput {
                kind: "usage_report".into(),
                path: report.file.clone(),
                rows: report.rows.len(),
            },
        ],
    };
    // The admin's protected list (protected.txt); admins are excluded by the planner.
    let protected = state.actions.protected.clone();
    let aliases = &state.users.aliases;
    Some(match marked {
        Some(m) => build_deprovision_plan_for_marked(
            &candidates,
            m,
            Some(data),
            &params(usage, true),
            &protected,
            aliases,
            ctx,
        ),
        None => build_deprovision_plan(
            &candidates,
            Some(data),
            &params(usage, false),
            &protected,
            aliases,
            ctx,
        ),
    })
}

/// What `navscim plan deprovision` would do with every user now: the same decisions
/// as [`plan_for`] with nothing marked, counted without making the plan
/// ([`tally_deprovision`]).
fn refresh_preview(state: &mut State) {
    state.usage.preview_due = false;
    state.usage.preview_of = Some((state.users.changes, state.users.progress.running));
    state.usage.preview = preview_tally(state).map(|tally| {
        let excluded = tally.excluded_in_order();
        PlanPreview {
            operations: tally.operations,
            in_grace: tally
                .excluded
                .get(exclusion_name(ExclusionReason::RecentlyProvisioned))
                .copied()
                .unwrap_or(0),
            excluded,
            provisional: state.users.progress.running,
        }
    });
}

/// The preview's counts: `None` without a report or an as-of date (as [`plan_for`]).
fn preview_tally(state: &State) -> Option<DeprovisionTally> {
    let usage = &state.usage;
    let report = usage.report.as_ref()?;
    let (as_of, _) = usage.as_of.as_ref()?;
    let data = UsageData {
        rows: &report.rows,
        period: report.period.as_ref(),
        join: &usage.join,
    };
    Some(tally_deprovision(
        &UsersCandidates(&state.users),
        Some(data),
        &params(usage, false),
        &state.actions.protected,
        &state.users.aliases,
        *as_of,
    ))
}

/// `d`: the marked users become a deactivation plan in the Actions pane.
fn send_to_actions(state: &mut State, out: &mut Outbox) {
    let usage = &state.usage;
    if usage.table.marks.is_empty() {
        state.notice = Some(warn(
            "Nothing is marked: i marks the idle users shown, n the never-activated, space one user"
                .into(),
        ));
        return;
    }
    if usage.as_of.is_none() {
        state.notice = Some(warn(
            "The as-of date is not known yet: answer the report-period question first".into(),
        ));
        return;
    }
    build_and_send(state, out);
}

fn build_and_send(state: &mut State, out: &mut Outbox) {
    let now = out.now;
    let (users, no_user) = state.usage.marked_users();
    let Some(plan) = plan_for(state, Some(&users), now) else {
        return;
    };
    let ops = plan.operations.len();
    let excluded = plan.excluded.len();
    let mut text = format!(
        "Plan of {} marked users: {ops} to deactivate, {excluded} left out, each with why",
        users.len()
    );
    if no_user > 0 {
        text.push_str(&format!(
            "; {no_user} marked rows joined no user and are not in it"
        ));
    }
    let hidden = state.usage.hidden_marks();
    out.emit(Event::ReviewPlan {
        plan: Box::new(plan),
        origin: PlanOrigin::Usage,
        hidden_marked: hidden,
        notes: Vec::new(),
        notice: Some(info(text)),
    });
}

/// The rows in view (filter and sort applied), as `x` and `:export` write them on the
/// Usage pane; why not when no usage report is loaded.
pub fn export_content(state: &State) -> Result<crate::app::effect::ExportContent, String> {
    let usage = &state.usage;
    if usage.report.is_none() {
        return Err("No usage report loaded: nothing to export (L loads one)".into());
    }
    let users = &state.users;
    let rows = usage
        .table
        .view
        .iter()
        .filter_map(|&r| {
            let row = usage.rows().get(r)?;
            let user = usage.row_user.get(r).copied().flatten().map(|u| {
                let who = users
                    .directory
                    .users
                    .get(u)
                    .map(|d| d.email.clone().unwrap_or_else(|| d.key.clone()))
                    .unwrap_or_default();
                let status = users
                    .rows
                    .get(u)
                    .map(|row| row.status())
                    .unwrap_or(crate::matching::MatchStatus::Pending);
                (who, status.name())
            });
            Some(usage::UsageExportRow::new(
                row,
                usage.activity_of(r),
                usage.threshold,
                usage.as_of.as_ref().map(|(d, _)| *d),
                user,
            ))
        })
        .collect();
    Ok(crate::app::effect::ExportContent::Usage(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::pane::connection::ConnectionState;
    use crate::app::testing::{now, reduce};
    use crate::app::Action;
    use crate::import::{import_str, ImportOptions};
    use crate::matching::{LookupOutcome, MatchStatus};

    const SN: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
        ann@corp.example,Ann,Lee,E1,S1,ACTIVE,,NONE,\n\
        bob@corp.example,Bob,Ray,E2,S2,ACTIVE,,NONE,\n\
        cy@corp.example,Cy,Twombly,E3,S3,ACTIVE,,FULL_ADMIN,\n\
        dee@corp.example,Dee,Park,E4,S4,PENDING,,NONE,\n";

    /// ISO dates, no period: the pane must ask for it.
    const USAGE_NO_PERIOD: &str =
        "Email,Name,Last Active Date,Days Active,Searches,Profile Views\n\
        ann@corp.example,Ann Lee,2025-01-01,3,10,4\n\
        bob@corp.example,Bob Ray,2025-05-20,30,99,40\n\
        cy@corp.example,Cy Twombly,2024-12-01,1,1,1\n\
        dee@corp.example,Dee Park,,,,\n\
        gone@corp.example,Gone Away,2025-02-01,2,2,2\n";

    fn state_with_users() -> State {
        let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
        reduce(&mut s, Action::Resize(80, 24));
        let import = import_str("sn.csv", SN, &ImportOptions::default()).unwrap();
        reduce(
            &mut s,
            Action::FilesImported {
                results: vec![(ImportSource::Path("sn.csv".into()), Ok(import))],
                lookup_after: false,
            },
        );
        for i in 0..4 {
            let user: crate::scim::ScimUser = serde_json::from_value(serde_json::json!({
                "id": format!("id{i}"), "userName": "x", "active": true,
                "meta": {"created": "2024-01-01T00:00:00Z"}
            }))
            .unwrap();
            reduce(
                &mut s,
                Action::LookupFinished {
                    batch: 1,
                    index: i,
                    outcome: Box::new(LookupOutcome {
                        status: MatchStatus::Matched { active: true },
                        matched_by: None,
                        user: Some(user),
                        candidates: vec![],
                        attempts: vec![],
                        error: None,
                        warnings: vec![],
                    }),
                    at: std::time::Duration::from_millis(1),
                    stats: Default::default(),
                },
            );
        }
        s.tab = Tab::Usage;
        s
    }

    fn load_usage(s: &mut State, text: &str) -> Vec<Effect> {
        let import = import_str("usage.csv", text, &ImportOptions::default()).unwrap();
        reduce(
            s,
            Action::FilesImported {
                results: vec![(ImportSource::Path("usage.csv".into()), Ok(import))],
                lookup_after: false,
            },
        )
    }

    fn cmd(s: &mut State, c: Command) -> Vec<Effect> {
        reduce(s, Action::Command(c))
    }

    #[test]
    fn a_report_without_a_period_asks_and_defaults_to_today() {
        let mut s = state_with_users();
        // The reducer is given the time with the action: no clock round trip.
        let effects = load_usage(&mut s, USAGE_NO_PERIOD);
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(
            s.usage.prompt.as_ref().map(|p| p.kind),
            Some(UsagePromptKind::Period)
        );
        let (as_of, why) = s.usage.as_of.clone().unwrap();
        assert_eq!(as_of.to_string(), "2025-06-01");
        assert!(why.starts_with("today"), "{why}");
        // The admin types the period's end: idle days are measured to it.
        for c in "2025-05-31".chars() {
            reduce(
                &mut s,
                Action::Key(ratatui::crossterm::event::KeyEvent::new(
                    ratatui::crossterm::event::KeyCode::Char(c),
                    ratatui::crossterm::event::KeyModifiers::NONE,
                )),
            );
        }
        cmd(&mut s, Command::EditCommit);
        assert!(s.usage.prompt.is_none());
        assert_eq!(s.usage.as_of.as_ref().unwrap().0.to_string(), "2025-05-31");
        // ann: last active 2025-01-01 → 150 days.
        assert_eq!(s.usage.activity[0].idle_days(), Some(150));
        assert!(s.usage.activity[3].is_never_activated());
        assert_eq!(s.usage.summary.unmatched_rows, 1);
        assert_eq!(s.usage.summary.joined_users, 4);
        assert_eq!(s.usage.summary.idle.never_activated, 1);
        assert_eq!(s.usage.summary.idle.idle_over_threshold, 2, "ann and cy");
    }

    #[test]
    fn bad_period_and_threshold_values_are_refused_with_the_reason() {
        let mut s = state_with_users();
        load_usage(&mut s, USAGE_NO_PERIOD);
        s.usage.prompt.as_mut().unwrap().input = TextField::new("31/05/2025");
        cmd(&mut s, Command::EditCommit);
        assert!(s.usage.prompt.is_some(), "asked again");
        assert!(s.notice.as_ref().unwrap().text.contains("is not a date"));
        s.usage.prompt.as_mut().unwrap().input = TextField::new("2025-06-01..2025-05-01");
        cmd(&mut s, Command::EditCommit);
        assert!(s.notice.as_ref().unwrap().text.contains("after it ends"));
        s.usage.prompt.as_mut().unwrap().input = TextField::new("2025-03-01..2025-05-31");
        cmd(&mut s, Command::EditCommit);
        assert_eq!(
            s.usage.period().unwrap().start.unwrap().to_string(),
            "2025-03-01"
        );
        cmd(&mut s, Command::CustomThreshold);
        s.usage.prompt.as_mut().unwrap().input = TextField::new("lots");
        cmd(&mut s, Command::EditCommit);
        assert!(s.notice.as_ref().unwrap().text.contains("not a number"));
        s.usage.prompt.as_mut().unwrap().input = TextField::new("10");
        cmd(&mut s, Command::EditCommit);
        assert_eq!(s.usage.threshold, 10);
        assert_eq!(s.usage.summary.idle.idle_over_threshold, 3, "bob too");
        cmd(&mut s, Command::CycleThreshold);
        assert_eq!(s.usage.threshold, 30);
        cmd(&mut s, Command::CycleThreshold);
        cmd(&mut s, Command::CycleThreshold);
        assert_eq!(s.usage.threshold, 90);
        cmd(&mut s, Command::CycleThreshold);
        assert_eq!(s.usage.threshold, 30);
    }

    #[test]
    fn marking_idle_and_sending_builds_a_plan_with_evidence_and_exclusions() {
        let mut s = state_with_users();
        load_usage(&mut s, USAGE_NO_PERIOD);
        cmd(&mut s, Command::EditCancel);
        // Nothing marked: nothing happens.
        assert!(cmd(&mut s, Command::SendToActions).is_empty());
        assert!(s
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("Nothing is marked"));
        assert!(s.actions.review.is_none());

        cmd(&mut s, Command::MarkIdle);
        cmd(&mut s, Command::MarkNeverActivated);
        // ann (idle 151), cy (admin, idle 182), dee (never activated); not gone (idle,
        // but no user holds that seat) unless marked by hand.
        assert_eq!(s.usage.table.marks, BTreeSet::from([0, 2, 3]));
        cmd(&mut s, Command::Bottom);
        cmd(&mut s, Command::Mark);
        assert_eq!(s.usage.table.marks, BTreeSet::from([0, 2, 3, 4]));
        let effects = cmd(&mut s, Command::SendToActions);
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(s.tab, Tab::Actions);
        let review = s.actions.review.as_ref().unwrap();
        let (plan, origin) = (&review.plan, &review.origin);
        assert_eq!(*origin, PlanOrigin::Usage);
        assert_eq!(plan.created_at, now());
        let emails: Vec<&str> = plan
            .operations
            .iter()
            .map(|o| o.email.as_deref().unwrap())
            .collect();
        assert_eq!(emails, vec!["dee@corp.example", "ann@corp.example"]);
        let ann = &plan.operations[1];
        assert_eq!(ann.evidence.idle_days, Some(151));
        assert_eq!(ann.evidence.last_active.unwrap().to_string(), "2025-01-01");
        assert_eq!(ann.evidence.searches, Some(10));
        assert!(ann.evidence.sources[0].starts_with("usage usage.csv:"));
        assert_eq!(plan.excluded.len(), 1);
        assert_eq!(plan.excluded[0].email.as_deref(), Some("cy@corp.example"));
        assert!(s
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("1 marked rows joined no user"));
    }

    /// The preview as the plan of every user states it (what the preview was computed
    /// from before it was counted without making the plan).
    fn preview_from_plan(s: &State) -> PlanPreview {
        let plan = plan_for(s, None, DateTime::<Utc>::UNIX_EPOCH).unwrap();
        let counts = &plan.parameters["counts"]["excluded"];
        let excluded: Vec<(&'static str, usize)> = crate::plan::EXCLUSION_REASONS
            .iter()
            .map(|w| exclusion_name(*w))
            .filter_map(|name| counts[name].as_u64().map(|n| (name, n as usize)))
            .collect();
        let in_grace = excluded
            .iter()
            .find(|(n, _)| *n == "recently_provisioned")
            .map(|(_, n)| *n)
            .unwrap_or(0);
        PlanPreview {
            operations: plan.operations.len(),
            excluded,
            provisional: s.users.progress.running,
            in_grace,
        }
    }

    #[test]
    fn the_preview_counts_what_the_plan_of_every_user_decides() {
        let mut s = state_with_users();
        load_usage(&mut s, USAGE_NO_PERIOD);
        cmd(&mut s, Command::EditCancel);
        // Ann protected by the admin's list; Bob ignored on the Users pane.
        s.actions.protected.add_email("ANN@corp.example");
        s.users.rows[1].ignored = true;
        s.users.changes += 1;
        for threshold in [30, 60, 90, 200] {
            for grace in [0, 30, 600] {
                s.usage.threshold = threshold;
                s.usage.grace_days = grace;
                refresh_preview(&mut s);
                let preview = s.usage.preview.clone().unwrap();
                assert_eq!(
                    preview,
                    preview_from_plan(&s),
                    "{threshold} d, grace {grace}"
                );
            }
        }
        let names: Vec<&str> = s
            .usage
            .preview
            .as_ref()
            .unwrap()
            .excluded
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert!(
            names.contains(&"protected") && names.contains(&"ignored") && names.contains(&"admin"),
            "{names:?}"
        );
    }

    #[test]
    fn the_preview_is_computed_when_the_usage_pane_is_shown_not_before() {
        let mut s = state_with_users();
        s.tab = Tab::Users;
        load_usage(&mut s, USAGE_NO_PERIOD);
        cmd(&mut s, Command::EditCancel);
        // Another pane on screen: nothing computed yet, but due.
        assert_eq!(s.usage.preview, None);
        assert!(s.usage.preview_due);
        cmd(
            &mut s,
            Command::GoTab(Tab::ALL.iter().position(|t| *t == Tab::Usage).unwrap()),
        );
        assert_eq!(s.tab, Tab::Usage);
        assert!(!s.usage.preview_due);
        let shown = s.usage.preview.clone().expect("computed when shown");
        assert_eq!(shown, preview_from_plan(&s));
        assert_eq!(shown.operations, 1, "ann, idle 151 days: {shown:?}");
        // A change while the pane is shown is computed within the same action.
        cmd(&mut s, Command::CycleThreshold);
        assert!(!s.usage.preview_due);
        assert_eq!(s.usage.preview.clone().unwrap(), preview_from_plan(&s));
    }

    #[test]
    fn an_ambiguous_date_order_is_asked_and_the_answer_reimports() {
        let text = "Email,Last Active Date,Days Active\nann@corp.example,03/04/2025,2\n";
        let err = import_str("usage.csv", text, &ImportOptions::default()).unwrap_err();
        let mut s = state_with_users();
        reduce(
            &mut s,
            Action::FilesImported {
                results: vec![(ImportSource::Path("usage.csv".into()), Err(err))],
                lookup_after: false,
            },
        );
        assert!(s.usage.date_order.is_some());
        assert_eq!(s.key_context(), crate::app::keys::Context::UsageDateOrder);
        let effects = cmd(&mut s, Command::DayFirst);
        match &effects[..] {
            [Effect::ImportFiles { options, .. }] => {
                assert_eq!(options.date_order, Some(DateOrder::DayFirst));
                let import = import_str("usage.csv", text, options).unwrap();
                assert_eq!(
                    import.usage_rows()[0].last_active.unwrap().to_string(),
                    "2025-04-03"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(s.usage.date_order.is_none());
    }
}
