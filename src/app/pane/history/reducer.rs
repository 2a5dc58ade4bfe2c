//! The History pane's part of the reducer: read the journal and the workspace's
//! snapshots when the pane is shown, move over the batches, show one, and hand undo
//! and resume to the Actions pane's existing flows (review, gates, typed count).
//! Nothing is applied from here. Pure.

use std::path::PathBuf;

use super::state::{BatchOutcome, JournalBatch, JournalListing, JournalView, TrendView};
use crate::app::effect::Effect;
use crate::app::event::{Event, Outbox};
use crate::app::keys::Command;
use crate::app::notice::{error, info, warn};
use crate::app::state::State;
use crate::workspace::Snapshot;

/// Rows per series in the trend chart at a terminal of `size`: taller terminals get
/// taller sparklines.
pub fn trend_rows_per_series(size: (u16, u16)) -> u16 {
    match size.1 {
        43.. => 3,
        33.. => 2,
        _ => 1,
    }
}

/// Series the trend chart draws (active, inactive, not found, orphan, idle, reclaimed).
pub const TREND_SERIES: u16 = 6;

/// The trend block's height: its border, a summary line, the series and the axis
/// line; with nothing to draw, its border and the five lines that say why.
pub fn trend_height(trend: &TrendView, size: (u16, u16)) -> u16 {
    match trend {
        TrendView::Loaded { snapshots, .. } if !snapshots.is_empty() => {
            2 + 1 + TREND_SERIES * trend_rows_per_series(size) + 1
        }
        _ => 2 + 5,
    }
}

/// Rows of the batch list that fit: the terminal minus the tab bar, notice and hints,
/// the trend block, the list's border and its header.
pub fn table_height(trend: &TrendView, size: (u16, u16)) -> usize {
    (size.1 as usize)
        .saturating_sub(3 + trend_height(trend, size) as usize + 2 + 1)
        .max(1)
}

/// Keeps the cursor's row on screen (after a resize).
pub fn scroll_into_view(state: &mut State) {
    let height = table_height(&state.history.trend, state.size);
    let rows = state.history.batches().len();
    state.history.table.keep_over(rows, height);
}

/// The pane is shown: read the journal and the workspace's snapshots, unless they were
/// read and nothing changed them since (`HistoryState::read`: a batch ended, an undo or
/// resume started, a run was recorded, `R`). What was read before stays on screen until
/// the new answer arrives.
pub fn opened(state: &mut State, out: &mut Outbox) {
    let history = &mut state.history;
    if std::mem::replace(&mut history.read, true) {
        return;
    }
    history.seq += 1;
    let seq = history.seq;
    if !matches!(history.journal, JournalView::Loaded(_)) {
        history.journal = JournalView::Loading;
    }
    out.push(Effect::ListJournal { seq });
    match state.workspace_path.clone() {
        None => history.trend = TrendView::NoWorkspace,
        Some(path) => {
            if !matches!(history.trend, TrendView::Loaded { .. }) {
                history.trend = TrendView::Loading;
            }
            out.push(Effect::ReadTrend { seq, path });
        }
    }
}

/// The answer to `Effect::ListJournal`: the batches, newest first. The cursor stays
/// on the batch it was on.
pub fn journal_listed(
    state: &mut State,
    seq: u64,
    result: Result<JournalListing, crate::error::AppError>,
) -> bool {
    let history = &mut state.history;
    if seq != history.seq {
        return false;
    }
    let keep = history.selected().map(|b| b.id.clone());
    history.journal = match result {
        Ok(listing) => {
            if let Some(i) = keep.and_then(|id| listing.batches.iter().position(|b| b.id == id)) {
                history.table.cursor = i;
            }
            JournalView::Loaded(listing)
        }
        Err(e) => {
            history.details_open = false;
            JournalView::Failed(e.message)
        }
    };
    if history.batches().is_empty() {
        history.details_open = false;
    }
    scroll_into_view(state);
    true
}

/// The answer to `Effect::ReadTrend`.
pub fn trend_read(
    state: &mut State,
    seq: u64,
    path: PathBuf,
    result: Result<Vec<Snapshot>, crate::error::AppError>,
) -> bool {
    if seq != state.history.seq {
        return false;
    }
    state.history.trend = match result {
        Ok(snapshots) => TrendView::Loaded { path, snapshots },
        Err(e) => TrendView::Failed(e.message),
    };
    // The chart's height changed with what it draws: the list's with it.
    scroll_into_view(state);
    true
}

/// A command while the History pane has focus. Returns whether anything visible changed.
pub fn command(state: &mut State, command: Command, out: &mut Outbox) -> bool {
    let height = table_height(&state.history.trend, state.size);
    let rows = state.history.batches().len();
    if state.history.details_open {
        match command {
            Command::Close | Command::Details => {
                state.history.details_open = false;
                state.history.details_scroll = 0;
            }
            Command::Up | Command::Down | Command::PageUp | Command::PageDown => {
                let lines = state.history.selected().map_or(0, |b| b.detail_lines());
                // The details fill the pane: the terminal minus the bars and the border.
                let visible = (state.size.1 as usize).saturating_sub(3 + 2);
                let max = u16::try_from(lines.saturating_sub(visible)).unwrap_or(u16::MAX);
                let scroll = &mut state.history.details_scroll;
                crate::app::table::scroll(scroll, command);
                *scroll = (*scroll).min(max);
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
        | Command::PageDown => return state.history.table.move_over(rows, command, height),
        Command::Details => {
            if rows == 0 {
                return false;
            }
            state.history.details_open = true;
            state.history.details_scroll = 0;
        }
        Command::Undo => undo(state, out),
        Command::ResumeBatch => resume(state, out),
        Command::RefreshHistory => {
            state.history.read = false;
            opened(state, out);
        }
        _ => return false,
    }
    true
}

/// Refuses to act on a batch from another server than the Connection pane's: an undo
/// or a resume goes to the server the batch ran against, or nowhere.
fn other_server(state: &State, batch: &JournalBatch, what: &str) -> Option<String> {
    let current = state.connection.base_url.value.trim();
    (!crate::plan::same_server(&batch.base_url, current)).then(|| {
        format!(
            "Batch {} ran against {}, the Connection pane is set to {}: {what} it there (set the base URL on pane 1)",
            batch.id,
            batch.base_url,
            if current.is_empty() { "no server" } else { current }
        )
    })
}

/// Refusals shared by undo and resume: nothing selected, a batch running.
fn checked_selection(state: &mut State, what: &str) -> Option<JournalBatch> {
    let Some(batch) = state.history.selected().cloned() else {
        state.notice = Some(info(format!(
            "No batch to {what}: the journal is empty (apply a plan on the Actions pane, 4)"
        )));
        return None;
    };
    if state.actions.batch_running() {
        state.notice = Some(error(format!(
            "A batch is running: wait for it to finish before you {what} another"
        )));
        return None;
    }
    if batch.outcome == BatchOutcome::Running {
        state.notice = Some(error(format!(
            "Batch {} is being run by another navscim: wait for it to end",
            batch.id
        )));
        return None;
    }
    Some(batch)
}

/// `u`: build the reverse plan of the batch under the cursor with the Actions pane's
/// undo flow; it arrives there for review (`Action::PlanLoaded`), never applied here.
fn undo(state: &mut State, out: &mut Outbox) {
    state.history.read = false;
    let Some(batch) = checked_selection(state, "undo") else {
        return;
    };
    if batch.outcome == BatchOutcome::Interrupted {
        state.notice = Some(warn(format!(
            "Batch {} was interrupted: resume it first (r), then undo it",
            batch.id
        )));
        return;
    }
    if batch.counts.applied == 0 {
        state.notice = Some(info(format!(
            "Batch {} changed nothing ({} already so, {} failed): nothing to undo",
            batch.id, batch.counts.already, batch.counts.failed
        )));
        return;
    }
    if let Some(refusal) = other_server(state, &batch, "undo") {
        state.notice = Some(error(refusal));
        return;
    }
    out.push(Effect::BuildUndo {
        batch: batch.id.clone(),
    });
    state.notice = Some(info(format!(
        "Building the undo plan of batch {}: review it on the Actions pane",
        batch.id
    )));
}

/// `r`: the batch under the cursor, if unfinished, goes to the Actions pane's resume
/// flow for review; applying it there finishes it (re-reading every target first).
fn resume(state: &mut State, out: &mut Outbox) {
    state.history.read = false;
    let Some(batch) = checked_selection(state, "resume") else {
        return;
    };
    let Some(found) = batch.resumable.clone() else {
        state.notice = Some(info(format!(
            "Batch {} is complete: nothing to resume",
            batch.id
        )));
        return;
    };
    if let Some(refusal) = other_server(state, &batch, "resume") {
        state.notice = Some(error(refusal));
        return;
    }
    out.emit(Event::ResumeFromJournal(Box::new(found)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::pane::actions::state::{PlanOrigin, UnfinishedBatch};
    use crate::app::pane::connection::ConnectionState;
    use crate::app::pane::history::state::JournalOp;
    use crate::app::state::Tab;
    use crate::app::testing::reduce;
    use crate::app::Action;
    use crate::journal::{BatchKind, Counts, EndStatus};
    use crate::plan::OpKind;

    const SERVER: &str = "https://scim.example/v2";

    fn state() -> State {
        let mut s = State::new(ConnectionState::new("default", SERVER), true);
        s.tab = Tab::History;
        s
    }

    fn batch(id: &str, outcome: BatchOutcome, applied: usize) -> JournalBatch {
        let plan = crate::plan::Plan {
            version: crate::plan::PLAN_VERSION,
            created_at: crate::app::testing::now(),
            inputs: vec![],
            parameters: serde_json::Value::Null,
            matched_users: 10,
            operations: vec![],
            excluded: vec![],
            target: None,
        };
        JournalBatch {
            id: id.into(),
            kind: BatchKind::Apply,
            undo_of: None,
            started: crate::app::testing::now(),
            ended: None,
            operator: "admin@host".into(),
            base_url: SERVER.into(),
            profile: None,
            tenant: None,
            plan_file: None,
            outcome,
            counts: Counts {
                applied,
                not_started: 1,
                ..Counts::default()
            },
            ops: vec![JournalOp {
                op: OpKind::Deactivate,
                target: "a@example.test".into(),
                state: "applied",
                detail: "active=false".into(),
                attempts: 1,
            }],
            notes: vec![],
            resumable: outcome.resumable().then(|| UnfinishedBatch {
                id: id.into(),
                path: format!("/j/{id}.jsonl").into(),
                base_url: SERVER.into(),
                started: crate::app::testing::now(),
                total: 2,
                counts: Counts::default(),
                status: "interrupted".into(),
                plan: Box::new(plan),
                done: vec![true, false],
            }),
        }
    }

    fn listed(s: &mut State, batches: Vec<JournalBatch>) {
        let seq = s.history.seq;
        reduce(
            s,
            Action::JournalListed {
                seq,
                result: Ok(JournalListing {
                    dir: "/j".into(),
                    batches,
                    errors: vec![],
                }),
            },
        );
    }

    fn notice(s: &State) -> String {
        s.notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }

    #[test]
    fn showing_the_pane_reads_the_journal_and_the_workspace_or_says_there_is_none() {
        let mut s = state();
        s.tab = crate::app::state::Tab::Connection;
        let effects = reduce(&mut s, Action::Command(Command::GoTab(4)));
        assert_eq!(s.tab, Tab::History);
        assert!(
            matches!(&effects[..], [Effect::ListJournal { seq: 1 }]),
            "{effects:?}"
        );
        assert_eq!(s.history.trend, TrendView::NoWorkspace);
        assert_eq!(s.history.journal, JournalView::Loading);

        s.workspace_path = Some("/w/default.sqlite".into());
        let effects = reduce(&mut s, Action::Command(Command::RefreshHistory));
        assert!(
            matches!(&effects[..], [Effect::ListJournal { seq: 2 }, Effect::ReadTrend { seq: 2, path }] if path.to_str() == Some("/w/default.sqlite")),
            "{effects:?}"
        );
    }

    /// Shown twice with nothing changed in between: one read. A finished batch makes
    /// the next showing read again.
    #[test]
    fn showing_the_pane_twice_reads_once_until_something_changes() {
        let mut s = state();
        let reads = |effects: &[Effect]| {
            effects
                .iter()
                .filter(|e| matches!(e, Effect::ListJournal { .. }))
                .count()
        };
        let mut shown = 0;
        for _ in 0..2 {
            reduce(&mut s, Action::Command(Command::GoTab(0)));
            shown += reads(&reduce(&mut s, Action::Command(Command::GoTab(4))));
        }
        assert_eq!(shown, 1);
        reduce(
            &mut s,
            Action::ApplyDone {
                result: Err(crate::error::AppError::io("stopped")),
            },
        );
        reduce(&mut s, Action::Command(Command::GoTab(0)));
        let effects = reduce(&mut s, Action::Command(Command::GoTab(4)));
        assert_eq!(reads(&effects), 1, "{effects:?}");
    }

    #[test]
    fn an_older_answer_never_replaces_a_newer_one_and_the_cursor_follows_its_batch() {
        let mut s = state();
        s.history.seq = 2;
        reduce(
            &mut s,
            Action::JournalListed {
                seq: 1,
                result: Ok(JournalListing::default()),
            },
        );
        assert_eq!(s.history.journal, JournalView::NotLoaded);
        listed(
            &mut s,
            vec![
                batch("b2", BatchOutcome::Complete, 1),
                batch("b1", BatchOutcome::Complete, 1),
            ],
        );
        reduce(&mut s, Action::Command(Command::Down));
        assert_eq!(s.history.selected().unwrap().id, "b1");
        // A new batch arrives on top: the cursor stays on b1.
        listed(
            &mut s,
            vec![
                batch("b3", BatchOutcome::Complete, 1),
                batch("b2", BatchOutcome::Complete, 1),
                batch("b1", BatchOutcome::Complete, 1),
            ],
        );
        assert_eq!(s.history.selected().unwrap().id, "b1");
        reduce(
            &mut s,
            Action::TrendRead {
                seq: 1,
                path: "/w".into(),
                result: Ok(vec![]),
            },
        );
        assert_eq!(s.history.trend, TrendView::NotLoaded);
    }

    #[test]
    fn undo_builds_the_reverse_plan_through_the_actions_flow_and_applies_nothing() {
        let mut s = state();
        listed(&mut s, vec![batch("b1", BatchOutcome::Complete, 2)]);
        let effects = reduce(&mut s, Action::Command(Command::Undo));
        match &effects[..] {
            [Effect::BuildUndo { batch }] => assert_eq!(batch, "b1"),
            other => panic!("{other:?}"),
        }
        assert!(s.actions.batch.is_none());
    }

    #[test]
    fn undo_is_refused_for_an_interrupted_batch_one_that_changed_nothing_or_another_server() {
        for (b, server, expect) in [
            (
                batch("b1", BatchOutcome::Interrupted, 2),
                SERVER,
                "resume it first",
            ),
            (
                batch("b1", BatchOutcome::Complete, 0),
                SERVER,
                "nothing to undo",
            ),
            (
                batch("b1", BatchOutcome::Running, 1),
                SERVER,
                "another navscim",
            ),
            (
                batch("b1", BatchOutcome::Complete, 2),
                "https://other.example/scim",
                "ran against https://scim.example/v2",
            ),
        ] {
            let mut s = state();
            s.connection.base_url.value = server.into();
            listed(&mut s, vec![b]);
            let effects = reduce(&mut s, Action::Command(Command::Undo));
            assert!(effects.is_empty(), "{effects:?}");
            assert!(notice(&s).contains(expect), "{}", notice(&s));
        }
    }

    #[test]
    fn resume_hands_an_unfinished_batch_to_actions_for_review_and_a_complete_one_is_not_resumed() {
        let mut s = state();
        listed(
            &mut s,
            vec![
                batch("b2", BatchOutcome::Complete, 1),
                batch("b1", BatchOutcome::Stopped(EndStatus::Cancelled), 1),
            ],
        );
        let effects = reduce(&mut s, Action::Command(Command::ResumeBatch));
        assert!(effects.is_empty());
        assert!(notice(&s).contains("complete: nothing to resume"));
        assert!(s.actions.review.is_none());
        reduce(&mut s, Action::Command(Command::Down));
        let effects = reduce(&mut s, Action::Command(Command::ResumeBatch));
        assert!(effects.is_empty(), "nothing is sent: {effects:?}");
        assert_eq!(s.tab, Tab::Actions);
        let review = s.actions.review.as_ref().expect("the batch for review");
        assert!(matches!(&review.origin, PlanOrigin::Resume { batch, .. } if batch == "b1"));
        assert!(s.actions.batch.is_none());
    }

    #[test]
    fn enter_shows_the_batch_and_esc_closes_it() {
        let mut s = state();
        reduce(&mut s, Action::Command(Command::Details));
        assert!(!s.history.details_open, "no batch, nothing to show");
        listed(&mut s, vec![batch("b1", BatchOutcome::Complete, 1)]);
        // Nine lines (eight of header, one operation) in five visible rows.
        s.size = (80, 10);
        reduce(&mut s, Action::Command(Command::Details));
        assert!(s.history.details_open);
        assert_eq!(s.key_context(), crate::app::keys::Context::Details);
        reduce(&mut s, Action::Command(Command::Down));
        assert_eq!(s.history.details_scroll, 1);
        reduce(&mut s, Action::Command(Command::PageDown));
        assert_eq!(s.history.details_scroll, 4, "no further than the last line");
        reduce(&mut s, Action::Command(Command::Close));
        assert!(!s.history.details_open);
    }
}
