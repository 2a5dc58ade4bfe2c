//! The Actions pane's part of the reducer: review a plan, pass the gates, confirm by
//! typing the count, run it as a journaled batch, pause / cancel, undo. Pure.
//!
//! The gates are checked here (before the confirmation opens and again before the
//! batch starts) with the shared [`crate::apply::Gates`], and once more by
//! [`crate::apply::Batch::start`] in the runtime before the journal header is written:
//! no key handling can get a request past them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::state::{
    BatchProgress, ConfirmDialog, ConfirmFocus, LoadedPlan, OpStatus, PlanOrigin, PlanReview,
    UnfinishedBatch,
};
use crate::app::effect::Effect;
use crate::app::event::{Event, Outbox};
use crate::app::keys::Command;
use crate::app::notice::{error, failed, info, warn};
use crate::app::state::{State, Tab};
use crate::app::text_field::{TextEdit, TextField};
use crate::apply::{ApplyEvent, BatchSummary, Control, Gates};
use crate::error::AppError;
use crate::journal::{BatchKind, EndStatus, Outcome};
use crate::plan::{
    build_deactivate_plan, build_provision_plan, build_reactivate_plan, ChangeKind, OpKind, Plan,
    PlanCandidate, PlanContext, PlanInput, Refusal, Selected, Thresholds,
};

/// Keeps the cursor's row on screen (after a resize).
pub fn scroll_into_view(state: &mut State) {
    let height = table_height(state.size);
    let rows = state.actions.rows();
    state.actions.table.keep_over(rows, height);
}

/// Rows of the plan table that fit: the terminal minus the tab bar, notice and hints,
/// the pane's border, the four header lines and the table's header.
pub fn table_height(size: (u16, u16)) -> usize {
    (size.1 as usize).saturating_sub(3 + 2 + 4 + 1).max(1)
}

/// At start: look for batches a crash or kill left unfinished (nothing visible yet).
pub fn check_journal(out: &mut Outbox) -> bool {
    out.push(Effect::FindUnfinished { also: None });
    false
}

/// [`Event::ReviewPlan`]: a pane built a plan; show it for review, with `notice`
/// instead of the default one once it is shown.
pub fn review_plan(
    state: &mut State,
    plan: Plan,
    origin: PlanOrigin,
    hidden_marked: usize,
    notes: Vec<String>,
    notice: Option<crate::app::notice::Notice>,
) {
    receive_plan_with(state, plan, origin, hidden_marked, notes);
    if let Some(notice) = notice {
        if state.tab == Tab::Actions {
            state.notice = Some(notice);
        }
    }
}

/// Hands a plan to the Actions pane for review (from the Users or Usage pane, a file,
/// or an undo) and shows it. Nothing is applied here.
pub fn receive_plan(state: &mut State, plan: Plan, origin: PlanOrigin) {
    receive_plan_with(state, plan, origin, 0, Vec::new());
}

/// [`receive_plan`] with the number of marked users the source pane's filter hides
/// (the confirmation shows it) and notes for the admin.
pub fn receive_plan_with(
    state: &mut State,
    plan: Plan,
    origin: PlanOrigin,
    hidden_marked: usize,
    notes: Vec<String>,
) {
    receive_review(state, PlanReview::new(plan, origin, hidden_marked, notes));
}

/// Shows `review` on the Actions pane (unless a batch is running) and checks its gates.
fn receive_review(state: &mut State, review: PlanReview) {
    if state.actions.batch_running() {
        state.notice = Some(error(
            "A batch is running: wait for it to finish (or cancel it with c) before reviewing another plan".into(),
        ));
        return;
    }
    let ops = review.plan.operations.len();
    let excluded = review.plan.excluded.len();
    let actions = &mut state.actions;
    actions.review = Some(review);
    actions.plan_seq += 1;
    // A raised limit belongs to the plan it was raised for.
    actions.thresholds = Thresholds::default();
    actions.view = Default::default();
    actions.table.to_top();
    actions.details_open = false;
    actions.confirm = None;
    actions.refusals = Vec::new();
    actions.batch = None;
    state.tab = Tab::Actions;
    state.notice = Some(info(format!(
        "Plan ready for review: {ops} operations, {excluded} users excluded. Nothing is sent until you apply it (x)"
    )));
    refresh_refusals(state);
}

/// The marked users (or the cursor's) become a deactivate / reactivate / create plan,
/// built by the shared planning code (admins and protected users are excluded there),
/// and shown here for review.
///
/// [`Event::PlanFromUsers`](crate::app::event::Event::PlanFromUsers); `now` is the
/// plan's `created_at` and as-of date.
pub fn plan_from_users(state: &mut State, kind: OpKind, now: DateTime<Utc>) {
    let users = &state.users;
    let targets = users.targets();
    if targets.is_empty() {
        return;
    }
    let hidden = if users.table.marks.is_empty() {
        0
    } else {
        users.hidden_marks()
    };
    let candidates: Vec<PlanCandidate> = users
        .directory
        .users
        .iter()
        .zip(&users.rows)
        .map(|(user, row)| PlanCandidate::from_directory(user, row.outcome.as_deref(), row.ignored))
        .collect();
    let selected: Vec<Selected> = targets.iter().map(|&i| Selected::Candidate(i)).collect();
    let ctx = PlanContext {
        as_of: now.date_naive(),
        as_of_source: "today".into(),
        created_at: now,
        inputs: vec![PlanInput {
            kind: "tui_selection".into(),
            path: "Users pane".into(),
            rows: targets.len(),
        }],
    };
    let plan = match kind {
        OpKind::Deactivate => build_deactivate_plan(
            &candidates,
            &selected,
            &state.actions.protected,
            &users.aliases,
            ctx,
        ),
        OpKind::Reactivate => build_reactivate_plan(&candidates, &selected, ctx),
        OpKind::Create => build_provision_plan(&candidates, &selected, ctx),
        OpKind::Delete => return,
    };
    let mut plan = plan;
    // The reason an orphan seat is a leaver is where it was (not) found: say so.
    for op in &mut plan.operations {
        let index = op.email.as_deref().and_then(|e| {
            users
                .directory
                .index_of(&crate::matching::identity_key(e, &users.aliases))
        });
        if index.is_some_and(|i| users.presence(i) == crate::matching::Presence::OrphanSeat) {
            op.reason.push_str(
                "; orphan seat: in the Sales Navigator export, in no identity-provider file",
            );
        }
    }
    receive_plan_with(state, plan, PlanOrigin::Users, hidden, Vec::new());
}

/// The gates for `plan`: the Connection pane's checkboxes, the limits (raised only
/// for the plan under review), the protected list plus every Sales Navigator admin in
/// the loaded exports, by email, user name and looked-up SCIM id. An operation whose
/// email is an admin's under a domain alias is protected too. DELETE is never offered
/// by the dashboard. The SCIM ids a plan file's own lookup results give admins
/// ([`PlanReview::admin_ids`]) are protected too.
pub fn gates(state: &State, review: &PlanReview) -> Gates {
    let plan = &review.plan;
    let users = &state.users;
    let aliases = &users.aliases;
    let mut protected = state.actions.protected.clone();
    for id in &review.admin_ids {
        protected.add_scim_id(id);
    }
    let mut keys: std::collections::HashSet<String> = protected
        .emails
        .iter()
        .map(|e| crate::matching::identity_key(e, aliases))
        .collect();
    for (user, row) in users.directory.users.iter().zip(&users.rows) {
        // Protection follows the SCIM user: a listed user's rows protect the SCIM
        // user they resolved to, like an admin's.
        let listed = [user.email.as_deref(), user.user_name.as_deref()]
            .into_iter()
            .flatten()
            .any(|n| keys.contains(&crate::matching::identity_key(n, aliases)));
        if listed {
            if let Some(id) = row.outcome.as_ref().and_then(|o| o.scim_id()) {
                protected.add_scim_id(id);
            }
        }
        if !user.is_admin() {
            continue;
        }
        for name in [user.email.as_deref(), user.user_name.as_deref()]
            .into_iter()
            .flatten()
        {
            protected.add_email(name);
            keys.insert(crate::matching::identity_key(name, aliases));
        }
        if let Some(id) = row.outcome.as_ref().and_then(|o| o.scim_id()) {
            protected.add_scim_id(id);
        }
    }
    for op in &plan.operations {
        for name in [op.email.as_deref(), op.user_name.as_deref()]
            .into_iter()
            .flatten()
        {
            if keys.contains(&crate::matching::identity_key(name, aliases)) {
                protected.add_email(name);
            }
        }
    }
    Gates {
        permissions: state.connection.permissions,
        thresholds: state.actions.thresholds,
        protected,
        delete_allowed: false,
    }
}

/// The server, profile and tenant this session works on: what a plan applied here
/// must have been built for, and what an exported plan records.
fn session_target(state: &State) -> crate::plan::PlanTarget {
    crate::plan::PlanTarget {
        server: state.connection.spec().base_url,
        profile: state.connection.profile.clone(),
        tenant: state.tenant.clone(),
    }
}

/// The plan under review as a plan file (`w` and `:export` on the Actions pane), in
/// `navscim plan`'s format: it keeps the server, profile and tenant it was built for,
/// and a plan built here records this session's, so `navscim apply` refuses it
/// elsewhere. Why not when no plan is under review.
pub fn export_content(state: &State) -> Result<crate::app::effect::ExportContent, String> {
    let Some(review) = &state.actions.review else {
        return Err(
            "No plan under review: nothing to export (D on Users, d on Usage, o opens one)".into(),
        );
    };
    let mut plan = review.plan.clone();
    if plan.target.is_none() {
        plan.target = Some(Box::new(session_target(state)));
    }
    Ok(crate::app::effect::ExportContent::Plan(Box::new(plan)))
}

/// Checks the plan under review against the gates, and against the server, profile
/// and tenant it was built for (an undo: the server its batch ran on), and keeps what
/// they said.
fn refresh_refusals(state: &mut State) {
    let refusals = match &state.actions.review {
        Some(review) => {
            let mut refusals = gates(state, review)
                .check(&review.plan)
                .err()
                .unwrap_or_default();
            let used = session_target(state);
            if let Err(wrong) = review.plan.check_target(&used) {
                refusals.insert(
                    0,
                    Refusal::WrongTarget {
                        built_for: wrong.built_for.describe(),
                        used: wrong.used.describe(),
                    },
                );
            }
            refusals
        }
        None => Vec::new(),
    };
    state.actions.refusals = refusals;
}

/// Called when a Connection checkbox changes. Unticking the permission a running
/// batch needs cancels it: off means no request that changes anything leaves navscim.
pub fn permissions_changed(state: &mut State, out: &mut Outbox) {
    refresh_refusals(state);
    let permissions = state.connection.permissions;
    let needs_missing = state.actions.review.as_ref().is_some_and(|r| {
        r.plan
            .operations
            .iter()
            .any(|op| !permissions.allows(op.op.change_kind()))
    });
    if state.actions.batch_running() && needs_missing {
        if let Some(batch) = state.actions.batch.as_mut() {
            batch.stopping = Some("cancelled: the permission it needs was unticked".into());
        }
        out.push(Effect::ControlBatch(Control::Cancel));
        state.notice = Some(warn(
            "Permission removed: the running batch is cancelled (requests in flight finish)".into(),
        ));
    }
}

/// A refusal in the dashboard's words: what to do about it here.
pub fn refusal_words(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotPermitted {
            kind: ChangeKind::Provision,
            operations,
        } => format!(
            "{operations} operations create or reactivate users: tick Provisioning on the Connection pane (1)"
        ),
        Refusal::NotPermitted {
            kind: ChangeKind::Deprovision,
            operations,
        } => format!(
            "{operations} operations deactivate users: tick Deprovisioning on the Connection pane (1)"
        ),
        Refusal::TooMany {
            operations,
            max_count,
        } => format!(
            "{operations} operations exceed the limit of {max_count}: + raises it for this plan"
        ),
        Refusal::TooLargeShare {
            operations,
            matched_users,
            percent,
            max_percent,
        } => format!(
            "{operations} operations are {percent:.1}% of {matched_users} matched users, over {max_percent}%: + raises it for this plan"
        ),
        other => other.to_string(),
    }
}

/// The notice of a refusal: what stands in the way in a few words first (the status
/// line at 80 columns shows them), then the whole sentence (kept in the message log).
pub fn refusal_notice(refusal: &Refusal, more: &str) -> String {
    format!(
        "Refused, nothing sent: {}{more} · {}",
        refusal_short(refusal),
        refusal_words(refusal)
    )
}

/// A refusal in a few words, for the pane's one-line gate summary (the full words
/// come with the notice when the admin presses x).
pub fn refusal_short(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotPermitted {
            kind: ChangeKind::Provision,
            ..
        } => "Provisioning not ticked (pane 1)".into(),
        Refusal::NotPermitted {
            kind: ChangeKind::Deprovision,
            ..
        } => "Deprovisioning not ticked (pane 1)".into(),
        Refusal::TooMany {
            operations,
            max_count,
        } => format!("{operations} ops > limit {max_count} (+ raises)"),
        Refusal::TooLargeShare {
            percent,
            max_percent,
            ..
        } => format!("{percent:.1}% of matched > {max_percent}% (+ raises)"),
        Refusal::ProtectedTarget { email, scim_id } => format!(
            "protected user {}",
            email.as_deref().or(scim_id.as_deref()).unwrap_or("?")
        ),
        Refusal::DeleteNotAllowed { .. } => "DELETE not allowed".into(),
        Refusal::UnsupportedVersion { version } => format!("plan version {version} unsupported"),
        Refusal::WrongTarget { built_for, .. } => format!("plan is for {built_for}"),
    }
}

fn is_threshold(r: &Refusal) -> bool {
    matches!(r, Refusal::TooMany { .. } | Refusal::TooLargeShare { .. })
}

/// A command while the Actions pane has focus. Returns whether anything visible changed.
pub fn command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    if state.actions.confirm.is_some() {
        return confirm_command(state, command, out);
    }
    if state.actions.prompt.is_some() {
        return prompt_command(state, command, out);
    }
    if state.actions.details_open {
        match command {
            Command::Close | Command::Details => state.actions.details_open = false,
            Command::Up | Command::Down | Command::PageUp | Command::PageDown => {
                return move_cursor(state, command)
            }
            _ => return false,
        }
        return true;
    }
    match command {
        Command::Up
        | Command::Down
        | Command::Top
        | Command::Bottom
        | Command::PageUp
        | Command::PageDown => return move_cursor(state, command),
        Command::Details => {
            if state.actions.rows() == 0 {
                return false;
            }
            state.actions.details_open = true;
        }
        Command::CycleView => {
            let actions = &mut state.actions;
            actions.view = actions.view.next();
            actions.table.to_top();
        }
        Command::ApplyPlan => open_confirm(state),
        Command::RaiseLimits => raise_limits(state),
        Command::PauseResume => pause_resume(state, out),
        Command::CancelWork => cancel_batch(state, out),
        Command::Undo => undo(state, out),
        Command::OpenPlan => {
            if state.actions.batch_running() {
                state.notice = Some(error("A batch is running".into()));
            } else {
                state.actions.prompt = Some(TextField::default());
            }
        }
        Command::ResumeBatch => resume(state),
        Command::DiscardPlan => {
            if state.actions.batch_running() {
                state.notice = Some(error("A batch is running: cancel it first (c)".into()));
            } else if state.actions.review.take().is_some() {
                state.actions.plan_seq += 1;
                state.actions.batch = None;
                state.actions.refusals.clear();
                state.notice = Some(info("Plan discarded; nothing was sent".into()));
            } else {
                return false;
            }
        }
        _ => return false,
    }
    true
}

/// A key typed into an Actions pane text field (the confirmation count, a plan
/// path). Returns false for keys that are commands.
pub fn edit_text(state: &mut State, edit: TextEdit) -> bool {
    let Some(field) = state.actions.text_field() else {
        return false;
    };
    field.edit(edit);
    text_changed(state);
    true
}

/// After a keystroke in [`crate::app::keys::Context::ActionsText`]: a new attempt at the
/// count clears the last complaint.
fn text_changed(state: &mut State) {
    if let Some(dialog) = state.actions.confirm.as_mut() {
        dialog.error = None;
    }
}

fn move_cursor(state: &mut State, command: Command) -> bool {
    let height = table_height(state.size);
    let rows = state.actions.rows();
    state.actions.table.move_over(rows, command, height)
}

/// `x`: check the gates; open the confirmation only when they pass.
fn open_confirm(state: &mut State) {
    if state.actions.batch_running() {
        state.notice = Some(error("A batch is already running".into()));
        return;
    }
    let Some(review) = &state.actions.review else {
        state.notice = Some(warn(
            "No plan to apply: mark users on the Users (D/E/C) or Usage pane, or open a plan file (o)".into(),
        ));
        return;
    };
    if let Some(summary) = state
        .actions
        .batch
        .as_ref()
        .and_then(|b| b.summary.as_ref())
    {
        if summary.all_succeeded() {
            state.notice = Some(warn(format!(
                "This plan was applied in batch {}: make a new plan, or u to undo it",
                summary.batch
            )));
            return;
        }
    }
    if review.to_do() == 0 {
        state.notice = Some(warn(
            "Nothing to apply: the plan has no operations left".into(),
        ));
        return;
    }
    if state.connection.base_url.value.trim().is_empty() {
        state.notice = Some(error(
            "Set the base URL on the Connection pane first".into(),
        ));
        return;
    }
    if let PlanOrigin::Resume {
        batch, base_url, ..
    } = &review.origin
    {
        let norm = |u: &str| u.trim().trim_end_matches('/').to_string();
        if norm(base_url) != norm(&state.connection.base_url.value) {
            state.notice = Some(error(format!(
                "Refused: set the base URL this batch ran against on pane 1 to finish it · {base_url} · batch {batch}"
            )));
            return;
        }
    }
    refresh_refusals(state);
    if let Some(first) = state.actions.refusals.first() {
        let n = state.actions.refusals.len();
        let more = if n > 1 {
            format!(" (and {} more)", n - 1)
        } else {
            String::new()
        };
        state.notice = Some(error(refusal_notice(first, &more)));
        return;
    }
    state.actions.confirm = Some(ConfirmDialog::default());
}

fn confirm_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let Some(dialog) = state.actions.confirm.as_mut() else {
        return false;
    };
    match command {
        Command::SwitchFocus => {
            dialog.focus = match dialog.focus {
                ConfirmFocus::Cancel => ConfirmFocus::Apply,
                ConfirmFocus::Apply => ConfirmFocus::Cancel,
            };
        }
        Command::EditCancel | Command::Close => {
            state.actions.confirm = None;
            state.notice = Some(info("Not applied; nothing was sent".into()));
        }
        Command::EditCommit => match dialog.focus {
            ConfirmFocus::Cancel => {
                state.actions.confirm = None;
                state.notice = Some(info("Not applied; nothing was sent".into()));
            }
            ConfirmFocus::Apply => {
                let want = state.actions.review.as_ref().map_or(0, PlanReview::to_do);
                if dialog.typed.value.trim() != want.to_string() {
                    dialog.error = Some(format!("Type {want} (the number of operations) to apply"));
                    return true;
                }
                start_batch(state, out);
            }
        },
        _ => return false,
    }
    true
}

/// Confirmed: check the gates once more and hand the batch to the runtime.
fn start_batch(state: &mut State, out: &mut Outbox) {
    state.actions.confirm = None;
    refresh_refusals(state);
    if let Some(first) = state.actions.refusals.first() {
        state.notice = Some(error(refusal_notice(first, "")));
        return;
    }
    let Some(review) = &state.actions.review else {
        return;
    };
    let gates = gates(state, review);
    let spec = state.connection.spec();
    let mut progress = BatchProgress::new(review.plan.operations.len());
    progress.targets = user_rows_of(state, &review.plan);
    let effect = match &review.origin {
        PlanOrigin::Resume { path, done, .. } => {
            for (status, done) in progress.statuses.iter_mut().zip(done) {
                if *done {
                    *status = OpStatus::DoneBefore;
                }
            }
            Effect::ResumeBatch {
                spec,
                path: path.clone(),
                gates,
            }
        }
        origin => Effect::ApplyPlan {
            spec,
            plan: Box::new(review.plan.clone()),
            gates,
            kind: match origin {
                PlanOrigin::Undo { .. } => BatchKind::Undo,
                _ => BatchKind::Apply,
            },
            undo_of: match origin {
                PlanOrigin::Undo { batch } => Some(batch.clone()),
                _ => None,
            },
            plan_file: match origin {
                PlanOrigin::File(path) => Some(path.clone()),
                _ => None,
            },
        },
    };
    state.actions.batch = Some(progress);
    state.actions.view = super::state::PlanView::Operations;
    state.notice = Some(info(format!(
        "Applying {} operations; the journal records each one",
        review.to_do()
    )));
    out.push(effect);
}

fn prompt_command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    match command {
        Command::EditCancel | Command::Close => state.actions.prompt = None,
        Command::EditCommit => {
            let path = state
                .actions
                .prompt
                .take()
                .map(|f| f.value.trim().to_string())
                .unwrap_or_default();
            if path.is_empty() {
                return true;
            }
            out.push(Effect::LoadPlan { path: path.into() });
        }
        _ => return false,
    }
    true
}

/// The Users pane's rows a plan's operations target (by SCIM id, else by identity).
fn user_rows_of(state: &State, plan: &Plan) -> Vec<usize> {
    let users = &state.users;
    let ids: std::collections::HashSet<&str> = plan
        .operations
        .iter()
        .filter_map(|op| op.scim_id.as_deref())
        .collect();
    let mut rows: std::collections::BTreeSet<usize> = users
        .rows
        .iter()
        .enumerate()
        .filter(|(_, row)| {
            row.outcome
                .as_ref()
                .and_then(|o| o.scim_id())
                .is_some_and(|id| ids.contains(id))
        })
        .map(|(i, _)| i)
        .collect();
    for op in plan.operations.iter().filter(|op| op.scim_id.is_none()) {
        if let Some(email) = op.email.as_deref() {
            let key = crate::matching::identity_key(email, &users.aliases);
            rows.extend(users.directory.index_of(&key));
        }
    }
    rows.into_iter().collect()
}

/// `+`: raise the limits just enough for the plan under review (a new plan starts
/// from the defaults again).
fn raise_limits(state: &mut State) {
    let Some(review) = &state.actions.review else {
        return;
    };
    if !state.actions.refusals.iter().any(is_threshold) {
        state.notice = Some(info(
            "The plan is within the limits; nothing to raise".into(),
        ));
        return;
    }
    let ops = review.plan.operations.len();
    let matched = review.plan.matched_users.max(1);
    let share = (ops as f64 * 100.0 / matched as f64).ceil();
    let t = &mut state.actions.thresholds;
    let default = Thresholds::default();
    t.max_count = t.max_count.max(ops).max(default.max_count);
    t.max_percent = t.max_percent.max(share).max(default.max_percent);
    let text = format!(
        "Limits raised for this plan only: {} operations, {}% of matched users",
        t.max_count, t.max_percent
    );
    refresh_refusals(state);
    state.notice = Some(warn(text));
}

fn pause_resume(state: &mut State, out: &mut Outbox) {
    let Some(batch) = state.actions.batch.as_mut().filter(|b| b.running()) else {
        state.notice = Some(info("No batch is running".into()));
        return;
    };
    if batch.stopping.is_some() {
        return;
    }
    if batch.paused.is_some() || batch.pause_requested {
        batch.pause_requested = false;
        out.push(Effect::ControlBatch(Control::Run));
        state.notice = Some(info("Resuming the batch".into()));
    } else {
        batch.pause_requested = true;
        out.push(Effect::ControlBatch(Control::Pause));
        state.notice = Some(info(
            "Pausing: requests in flight finish, nothing new starts".into(),
        ));
    }
}

fn cancel_batch(state: &mut State, out: &mut Outbox) {
    let Some(batch) = state.actions.batch.as_mut().filter(|b| b.running()) else {
        state.notice = Some(info("No batch is running".into()));
        return;
    };
    batch.stopping = Some("cancelling: requests in flight finish, nothing new starts".into());
    out.push(Effect::ControlBatch(Control::Cancel));
    state.notice = Some(warn(
        "Cancelling the batch; what is done stays done and is journaled (u undoes it)".into(),
    ));
}

fn undo(state: &mut State, out: &mut Outbox) {
    if state.actions.batch_running() {
        state.notice = Some(error(
            "Wait for the batch to finish before undoing it".into(),
        ));
        return;
    }
    match &state.actions.last_batch {
        Some(batch) => {
            out.push(Effect::BuildUndo {
                batch: batch.clone(),
            });
            state.notice = Some(info(format!("Building the undo plan of batch {batch}")));
        }
        None => {
            state.notice = Some(warn(
                "No batch to undo in this session (older ones: u on the History pane, 5)".into(),
            ))
        }
    }
}

/// `R`: review the first unfinished batch; applying it then resumes it.
fn resume(state: &mut State) {
    if state.actions.batch_running() {
        state.notice = Some(error("A batch is running".into()));
        return;
    }
    let Some(found) = state.actions.unfinished.first().cloned() else {
        state.notice = Some(info("No unfinished batch in the journal".into()));
        return;
    };
    review_resume(state, found);
}

/// Shows an unfinished batch for review (`R` here, `r` on the History pane:
/// [`Event::ResumeFromJournal`]); applying it then finishes it. Nothing is sent here.
pub fn review_resume(state: &mut State, found: UnfinishedBatch) {
    let done_count = found.done_count();
    let plan = (*found.plan).clone();
    receive_plan_with(
        state,
        plan,
        PlanOrigin::Resume {
            batch: found.id.clone(),
            path: found.path.clone(),
            base_url: found.base_url.clone(),
            done: found.done.clone(),
        },
        0,
        vec![format!(
            "Started {} against {}; {done_count} of {} operations done. Applying re-reads every unfinished target first, so nothing is done twice.",
            found.started.format("%Y-%m-%d %H:%M UTC"),
            found.base_url,
            found.total
        )],
    );
}

/// The answer to `Effect::FindUnfinished`.
pub fn unfinished_found(state: &mut State, batches: Vec<UnfinishedBatch>) -> bool {
    if batches.is_empty() {
        return false;
    }
    let first = &batches[0];
    let more = if batches.len() > 1 {
        format!(" (and {} more)", batches.len() - 1)
    } else {
        String::new()
    };
    state.notice = Some(warn(format!(
        "Unfinished batch ({} operations){more}: R on the Actions pane (4) resumes it · batch {}",
        first.total, first.id
    )));
    state.actions.unfinished = batches;
    true
}

/// The answer to `Effect::LoadPlan` / `Effect::BuildUndo`.
pub fn plan_loaded(state: &mut State, result: Result<Box<LoadedPlan>, AppError>) -> bool {
    match result {
        Ok(loaded) => {
            let loaded = *loaded;
            let mut review = PlanReview::new(loaded.plan, loaded.origin, 0, loaded.notes);
            review.admin_ids = loaded.admin_ids;
            receive_review(state, review);
        }
        Err(e) => state.notice = Some(failed("Plan not loaded", &e)),
    }
    true
}

/// Progress of the running batch.
pub fn apply_progress(state: &mut State, event: ApplyEvent, at: Duration) -> bool {
    let Some(batch) = state.actions.batch.as_mut() else {
        return false;
    };
    match event {
        ApplyEvent::Started {
            batch: id,
            done_before,
            ..
        } => {
            batch.id = Some(id);
            batch.done_before = done_before;
            batch.started_at = Some(at);
        }
        ApplyEvent::OpStarted { seq } => {
            if let Some(s) = batch.statuses.get_mut(seq) {
                *s = OpStatus::Running;
            }
            batch.in_flight += 1;
        }
        ApplyEvent::OpFinished { seq, report } => {
            batch.in_flight = batch.in_flight.saturating_sub(1);
            batch.last_at = Some(at);
            let status = match report.outcome {
                Outcome::Applied => {
                    batch.applied += 1;
                    OpStatus::Applied
                }
                Outcome::Already => {
                    batch.already += 1;
                    OpStatus::Already
                }
                Outcome::Failed => {
                    batch.failed += 1;
                    OpStatus::Failed(report.detail)
                }
            };
            if let Some(s) = batch.statuses.get_mut(seq) {
                *s = status;
            }
        }
        ApplyEvent::Paused { reason } => {
            let text = reason.to_string();
            batch.paused = Some(text.clone());
            batch.pause_requested = false;
            state.notice = Some(warn(format!("Batch paused: p resumes, c cancels · {text}")));
        }
        ApplyEvent::Resumed => {
            batch.paused = None;
            batch.pause_requested = false;
        }
        ApplyEvent::Stopping { reason, .. } => batch.stopping = Some(reason),
        // The final summary arrives with `ApplyDone`.
        ApplyEvent::Finished(_) => return false,
    }
    true
}

/// The end of a batch (or why it could not start).
pub fn apply_done(
    state: &mut State,
    result: Result<Box<BatchSummary>, AppError>,
    out: &mut Outbox,
) -> bool {
    match result {
        Ok(summary) => {
            let summary = *summary;
            state.actions.unfinished.retain(|u| u.id != summary.batch);
            // The counts and what to do next first (the status line at 80 columns),
            // the batch id last (the message log, M, has the whole line).
            let mut text = format!(
                "{} applied, {} failed, {} not done",
                summary.applied, summary.failed, summary.not_started,
            );
            if summary.already > 0 {
                text.push_str(&format!(", {} already done", summary.already));
            }
            let id = &summary.batch;
            state.notice = Some(match summary.status {
                EndStatus::Completed => {
                    info(format!("Batch done: {text} · u undoes it · batch {id}"))
                }
                _ => {
                    // Offer it for resuming, like a batch found at start.
                    out.push(Effect::FindUnfinished {
                        also: Some(summary.batch.clone()),
                    });
                    let reason = summary
                        .reason
                        .as_ref()
                        .map(|r| format!(" · {r}"))
                        .unwrap_or_default();
                    warn(format!(
                        "Batch {}: {text} · R resumes{}{reason} · batch {id}",
                        summary.status.as_str(),
                        if summary.applied > 0 {
                            ", u undoes"
                        } else {
                            ""
                        }
                    ))
                }
            });
            state.actions.last_batch = Some(summary.batch.clone());
            if summary.status != EndStatus::Completed {
                // x now finishes this batch (what is done stays done), not a new one.
                let done: Vec<bool> = state
                    .actions
                    .batch
                    .as_ref()
                    .map(|b| b.statuses.iter().map(OpStatus::is_done).collect())
                    .unwrap_or_default();
                let base_url = state.connection.base_url.value.trim().to_string();
                if let Some(review) = state.actions.review.as_mut() {
                    review.origin = PlanOrigin::Resume {
                        batch: summary.batch.clone(),
                        path: summary.journal.clone().into(),
                        base_url,
                        done,
                    };
                }
            }
            let targets = state
                .actions
                .batch
                .as_ref()
                .map(|b| b.targets.clone())
                .unwrap_or_default();
            // Show the server's state of every user the batch touched.
            out.emit(Event::LookUp {
                users: targets,
                quiet: true,
            });
            let batch = state.actions.batch.get_or_insert_with(Default::default);
            batch.id = Some(summary.batch.clone());
            batch.in_flight = 0;
            batch.pause_requested = false;
            batch.summary = Some(summary);
            if state.actions.quit_when_stopped {
                state.should_quit = true;
            }
        }
        Err(e) => {
            state.actions.batch = None;
            state.notice = Some(failed("Not applied", &e));
            if state.actions.quit_when_stopped {
                state.should_quit = true;
            }
        }
    }
    true
}
