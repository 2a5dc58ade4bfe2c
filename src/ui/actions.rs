//! The Actions pane: the plan under review (every operation with its reason, every
//! excluded user with why, the exact requests), what the gates say, the typed
//! confirmation, and the running batch's progress. Only the rows on screen are built.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::overlay::centered;
use super::table::{Column, TableRow};
use super::theme::Theme;
use super::users::thousands;
use crate::app::actions::reducer::{refusal_short, table_height};
use crate::app::actions::{
    ActionsState, BatchProgress, ConfirmFocus, OpStatus, PlanOrigin, PlanReview, PlanView,
};
use crate::app::notice::Level;
use crate::app::state::State;
use crate::apply;
use crate::plan::{exclusion_name, OpKind};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let actions = &state.actions;
    let block = Block::bordered()
        .title(title(actions))
        .border_style(theme.border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(review) = &actions.review else {
        render_empty(frame, inner, state, theme);
        render_prompt(frame, area, state, theme);
        return;
    };
    let [header, table] = crate::app::layout::actions_areas(inner);
    render_header(frame, header, state, review, theme);
    // The table shows as many rows as the reducer pages by.
    let rows =
        table_height((state.size.0, state.size.1)).min(table.height.saturating_sub(1) as usize);
    render_table(frame, table, actions, review, rows, theme);
    if actions.details_open {
        render_details(frame, area, actions, review, theme);
    }
    if actions.confirm.is_some() {
        render_confirm(frame, area, state, review, theme);
    }
    render_prompt(frame, area, state, theme);
}

fn title(actions: &ActionsState) -> String {
    match (&actions.review, &actions.batch) {
        (None, _) => " Actions ".into(),
        (Some(r), Some(b)) if b.running() => format!(
            " Actions · applying {} operations{} ",
            r.to_do(),
            b.id.as_deref()
                .map(|id| format!(" · batch {id}"))
                .unwrap_or_default()
        ),
        (Some(r), _) => format!(
            " Actions · plan: {} operations, {} excluded ",
            thousands(r.plan.operations.len()),
            thousands(r.plan.excluded.len())
        ),
    }
}

fn render_empty(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let actions = &state.actions;
    let mut lines = vec![
        Line::raw(""),
        Line::styled(" No plan to review.", theme.title()),
        Line::raw(""),
        Line::raw(" A plan lists every change navscim would make, and who is left out and why."),
        Line::raw(" Make one:"),
        Line::from(vec![
            Span::raw("   · Users pane (2): mark users, then "),
            Span::styled("D", theme.key()),
            Span::raw(" deactivate, "),
            Span::styled("E", theme.key()),
            Span::raw(" reactivate, "),
            Span::styled("C", theme.key()),
            Span::raw(" create"),
        ]),
        Line::raw("   · Usage pane (3): mark idle or never-activated seats and send them here"),
        Line::from(vec![
            Span::raw("   · "),
            Span::styled("o", theme.key()),
            Span::raw(" opens a plan file written by navscim plan … --out"),
        ]),
        Line::raw(""),
        Line::styled(
            format!(
                " Nothing is sent until you apply a plan, pass the gates ({}) and type its count.",
                state.connection.permissions.badge()
            ),
            theme.dim(),
        ),
    ];
    if let Some(batch) = actions.last_batch.as_deref() {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::raw(format!(" Last batch: {batch} · ")),
            Span::styled("u", theme.key()),
            Span::raw(" undoes it"),
        ]));
    }
    if !actions.unfinished.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            " Unfinished batches in the journal (a crash or kill stopped them):",
            theme.level(Level::Warn),
        ));
        for (i, u) in actions.unfinished.iter().enumerate().take(5) {
            let done = u.done_count();
            lines.push(Line::raw(format!(
                "   {} {} · {} · {done} of {} done · {}",
                if i == 0 { "▶" } else { " " },
                u.id,
                u.started.format("%Y-%m-%d %H:%M UTC"),
                u.total,
                u.status
            )));
        }
        lines.push(Line::from(vec![
            Span::raw("   "),
            Span::styled("R", theme.key()),
            Span::raw(
                " reviews the first one; applying it finishes it, re-reading every target first",
            ),
        ]));
    }
    frame.render_widget(
        Paragraph::new(super::with_margin(lines)).wrap(Wrap { trim: false }),
        super::margin(area),
    );
}

fn render_header(frame: &mut Frame, area: Rect, state: &State, review: &PlanReview, theme: &Theme) {
    let actions = &state.actions;
    let [summary, excluded, gates, progress] =
        Layout::vertical([Constraint::Length(1); 4]).areas(area);

    // 1. What the plan does and where it came from.
    let counts = &review.op_counts;
    let mut spans = vec![Span::styled(" Plan ", theme.title())];
    if counts.is_empty() {
        spans.push(Span::raw("no operations"));
    }
    for (i, (kind, n)) in counts.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(", "));
        }
        spans.push(Span::styled(format!("{kind} {n}"), theme.label()));
    }
    spans.push(Span::styled(
        format!(
            " · {} · {} matched users",
            review.origin.describe(),
            thousands(review.plan.matched_users)
        ),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), summary);

    // 2. Who is left out, by reason.
    let by_reason = &review.excluded_by_reason;
    let excluded_text = if by_reason.is_empty() {
        " Excluded: nobody".to_string()
    } else {
        format!(
            " Excluded {}: {}",
            review.plan.excluded.len(),
            by_reason
                .iter()
                .map(|(why, c)| format!("{} {c}", exclusion_name(*why).replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut line = vec![Span::raw(excluded_text)];
    if review.hidden_marked > 0 {
        line.push(Span::styled(
            format!(" · {}", hidden_words(review.hidden_marked)),
            theme.level(Level::Warn),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(line)), excluded);

    // 3. The gates.
    let gate_line = if actions.refusals.is_empty() {
        Line::from(vec![
            Span::styled(" Gates ✓ ", theme.ok()),
            Span::raw(format!(
                "{} · limit {} operations / {}% · admins and protected users left out",
                state.connection.permissions.badge(),
                actions.thresholds.max_count,
                actions.thresholds.max_percent
            )),
        ])
    } else {
        let all: Vec<String> = actions.refusals.iter().map(refusal_short).collect();
        Line::from(vec![
            Span::styled(" Gates ✗ ", theme.level(Level::Error)),
            Span::raw(all.join(" · ")),
        ])
    };
    frame.render_widget(Paragraph::new(gate_line), gates);

    // 4. Progress of the batch, or the notes and the way forward.
    match &actions.batch {
        Some(batch) => render_progress(frame, progress, batch, theme),
        None => {
            let text = match review.notes.first() {
                Some(note) if review.notes.len() > 1 => format!(
                    " {note} (+{} more notes: Enter)",
                    review.notes.len() - 1
                ),
                Some(note) => format!(" {note}"),
                None => " e: excluded users / exact requests · Enter: details · x: apply (typed confirmation)".into(),
            };
            frame.render_widget(Paragraph::new(Line::styled(text, theme.dim())), progress);
        }
    }
}

/// Marked users the source pane's filter hid: they are in the plan all the same.
fn hidden_words(n: usize) -> String {
    format!("{n} marked users were hidden by the filter (they are in the plan)")
}

fn render_progress(frame: &mut Frame, area: Rect, batch: &BatchProgress, theme: &Theme) {
    let total = batch.total().max(1);
    let done = batch.done();
    // A resumed batch counts what its earlier run did apart, so the parts add up to
    // the whole ("55/55 · applied 30 · already 0 · failed 1" left 24 unexplained).
    let before = if batch.done_before > 0 {
        format!(" · done before {}", batch.done_before)
    } else {
        String::new()
    };
    let counts = format!(
        "{done}/{}{before} · applied {} · already {} · failed {}",
        batch.total(),
        batch.applied,
        batch.already,
        batch.failed
    );
    let rate = batch
        .rate()
        .map(|r| format!(" · {r:.1}/s"))
        .unwrap_or_default();
    // What needs the admin's attention comes first, so it survives a narrow terminal.
    let (style, label) = if let Some(summary) = &batch.summary {
        let style = if summary.all_succeeded() {
            theme.ok()
        } else {
            theme.level(Level::Warn)
        };
        let status = summary.status.as_str().to_uppercase();
        (style, format!("{status} · u undoes · {counts}{rate}"))
    } else if let Some(reason) = &batch.paused {
        (
            theme.level(Level::Warn),
            format!("PAUSED: {reason} · p resumes, c cancels · {counts}"),
        )
    } else if let Some(reason) = &batch.stopping {
        (theme.level(Level::Warn), format!("{reason} · {counts}"))
    } else if batch.pause_requested {
        (theme.level(Level::Warn), format!("pausing… · {counts}"))
    } else {
        let eta = batch
            .eta()
            .map(|d| format!(" · ETA {}s", d.as_secs()))
            .unwrap_or_default();
        (
            theme.label(),
            format!("{counts}{rate}{eta} · p pause · c cancel"),
        )
    };
    // A text bar, not a Gauge: it stays readable without colour and over SSH.
    let width = 20usize;
    let filled = (done * width / total).min(width);
    let bar = format!(" [{}{}] ", "█".repeat(filled), "·".repeat(width - filled));
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(bar, style),
            Span::styled(label, style),
        ])),
        area,
    );
}

fn render_table(
    frame: &mut Frame,
    area: Rect,
    actions: &ActionsState,
    review: &PlanReview,
    height: usize,
    theme: &Theme,
) {
    let total = review.rows(actions.view);
    let start = actions.table.offset.min(total);
    let end = (start + height).min(total);
    let focus = |position: usize| {
        if position == actions.table.cursor {
            theme.focus()
        } else {
            Style::new()
        }
    };
    // Columns as wide as their content (the shared table renderer); short of space,
    // the email gets the larger share.
    let (columns, rows): (Vec<Column>, Vec<TableRow>) = match actions.view {
        PlanView::Operations => {
            let statuses = actions.batch.as_ref().map(|b| &b.statuses);
            let mut columns = Vec::new();
            if statuses.is_some() {
                columns.push(Column::new("Status").min(7));
            }
            columns.extend([
                Column::new("Op").min(10),
                Column::new("Name").min(12).max(30).weight(2),
                Column::new("Email").min(16).weight(4),
                Column::new("Reason").min(8).weight(1),
            ]);
            let rows = (start..end)
                .map(|i| {
                    let op = &review.plan.operations[i];
                    let mut row = TableRow::new(focus(i));
                    if let Some(statuses) = statuses {
                        let status = statuses.get(i).cloned().unwrap_or_default();
                        row = row.styled(status.label(), status_style(&status, theme));
                    }
                    let reason = match statuses.and_then(|s| s.get(i)) {
                        Some(OpStatus::Failed(detail)) => detail.clone(),
                        _ => op.reason.clone(),
                    };
                    row.styled(apply::op_name(op.op), op_style(op.op, theme))
                        .cell(op.name.clone())
                        .cell(op.email.clone().unwrap_or_default())
                        .styled(reason, theme.dim())
                })
                .collect();
            (columns, rows)
        }
        PlanView::Excluded => {
            let columns = vec![
                Column::new("Why").min(12).max(24),
                Column::new("Name").min(12).max(30).weight(2),
                Column::new("Email").min(16).weight(4),
                Column::new("Detail").min(8).weight(2),
            ];
            let rows = (start..end)
                .map(|i| {
                    let ex = &review.plan.excluded[i];
                    TableRow::new(focus(i))
                        .cell(exclusion_name(ex.why).replace('_', " "))
                        .cell(ex.name.clone())
                        .cell(ex.email.clone().unwrap_or_default())
                        .styled(ex.detail.clone(), theme.dim())
                })
                .collect();
            (columns, rows)
        }
        PlanView::Requests => {
            let columns = vec![
                Column::new("#").min(3),
                Column::new("Request (sent only if the re-read shows it is still needed)"),
            ];
            let rows = (start..end)
                .map(|i| {
                    let r = &review.requests[i];
                    TableRow::new(focus(i))
                        .cell((r.seq + 1).to_string())
                        .cell(r.to_string())
                })
                .collect();
            (columns, rows)
        }
    };
    let title = format!(
        "{} {}{}",
        actions.view.title(),
        thousands(total),
        if total > height {
            format!(" · {}-{}", start + 1, end)
        } else {
            String::new()
        }
    );
    super::table::render(frame, area, &columns, rows, theme);
    // The view's name and position sit on the pane's bottom border.
    let label = format!(" {title} · e switches ");
    let width = (label.chars().count() as u16).min(area.width);
    let at = Rect {
        x: area.x + area.width.saturating_sub(width),
        y: area.y + area.height,
        width,
        height: 1,
    };
    if at.y < frame.area().height {
        frame.render_widget(Paragraph::new(Line::styled(label, theme.dim())), at);
    }
}

fn status_style(status: &OpStatus, theme: &Theme) -> Style {
    match status {
        OpStatus::Applied | OpStatus::Already | OpStatus::DoneBefore => theme.ok(),
        OpStatus::Failed(_) => theme.level(Level::Error),
        OpStatus::Running => theme.label(),
        OpStatus::Pending => theme.dim(),
    }
}

fn op_style(op: OpKind, theme: &Theme) -> Style {
    match op {
        OpKind::Deactivate | OpKind::Delete => theme.level(Level::Warn),
        OpKind::Reactivate | OpKind::Create => theme.ok(),
    }
}

fn render_details(
    frame: &mut Frame,
    area: Rect,
    actions: &ActionsState,
    review: &PlanReview,
    theme: &Theme,
) {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<14}"), theme.label()),
            Span::raw(value),
        ])
    };
    let mut lines = Vec::new();
    let i = actions.table.cursor;
    match actions.view {
        PlanView::Operations => {
            let Some(op) = review.plan.operations.get(i) else {
                return;
            };
            lines.push(field("Operation", apply::op_name(op.op).to_string()));
            lines.push(field("Name", op.name.clone()));
            lines.push(field("Email", op.email.clone().unwrap_or_default()));
            lines.push(field(
                "SCIM id",
                op.scim_id.clone().unwrap_or_else(|| "(new user)".into()),
            ));
            lines.push(field("Reason", op.reason.clone()));
            let e = &op.evidence;
            if let Some(d) = e.idle_days {
                lines.push(field("Idle days", d.to_string()));
            }
            if let Some(d) = e.last_active {
                lines.push(field("Last active", d.to_string()));
            }
            if e.never_activated == Some(true) {
                lines.push(field("Activity", "never activated".into()));
            }
            for (name, v) in [
                ("Days active", e.days_active),
                ("Searches", e.searches),
                ("Profile views", e.profile_views),
                ("InMails sent", e.inmails_sent),
            ] {
                if let Some(v) = v {
                    lines.push(field(name, v.to_string()));
                }
            }
            if let Some(l) = &e.license_status {
                lines.push(field("Licence", l.clone()));
            }
            for s in &e.sources {
                lines.push(field("Source", s.clone()));
            }
            if let Some(r) = review.requests.iter().find(|r| r.seq == i) {
                // The body is in the Requests view (e): it would not fit here at 80x24.
                lines.push(field("Request", format!("{} {}", r.method, r.path)));
            }
            if let Some(OpStatus::Failed(detail)) =
                actions.batch.as_ref().and_then(|b| b.statuses.get(i))
            {
                lines.push(Line::styled(
                    format!("Failed: {detail}"),
                    theme.level(Level::Error),
                ));
            }
        }
        PlanView::Excluded => {
            let Some(ex) = review.plan.excluded.get(i) else {
                return;
            };
            lines.push(field("Excluded", exclusion_name(ex.why).replace('_', " ")));
            lines.push(field("Name", ex.name.clone()));
            lines.push(field("Email", ex.email.clone().unwrap_or_default()));
            lines.push(field("SCIM id", ex.scim_id.clone().unwrap_or_default()));
            lines.push(field("Why", ex.detail.clone()));
        }
        PlanView::Requests => {
            let Some(r) = review.requests.get(i) else {
                return;
            };
            lines.push(field("Request", format!("{} {}", r.method, r.path)));
            if let Some(body) = &r.body {
                lines.push(field("Body", body.to_string()));
            }
            lines.push(Line::styled(
                "Before sending, navscim re-reads the user: already in the target state means no request.",
                theme.dim(),
            ));
        }
    }
    // Notes about the whole plan (e.g. what an undo cannot reverse).
    if !review.notes.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("About this plan", theme.label()));
        for note in &review.notes {
            lines.push(Line::raw(format!("· {note}")));
        }
    }
    // Tall enough for the wrapped lines (a request body is longer than a row).
    let width = area.width.saturating_sub(4).min(100);
    let inner = width.saturating_sub(2).max(1) as usize;
    let height: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let rect = centered(area, width, height as u16 + 2);
    let block = Block::bordered()
        .title(" Details — Esc closes ")
        .border_style(theme.overlay_border());
    super::render_dialog(frame, rect, block, lines);
}

fn render_confirm(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    review: &PlanReview,
    theme: &Theme,
) {
    let Some(dialog) = &state.actions.confirm else {
        return;
    };
    let to_do = review.to_do();
    let mut lines = vec![Line::raw("")];
    for (&kind, n) in &review.op_counts {
        let what = match kind {
            "deactivate" => "deactivate (PATCH active=false)",
            "reactivate" => "reactivate (PATCH active=true)",
            "create" => "create (POST /Users)",
            other => other,
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {n:>6} ",), theme.title()),
            Span::raw(format!("to {what}")),
        ]));
    }
    if let PlanOrigin::Resume { done, .. } = &review.origin {
        let before = done.iter().filter(|d| **d).count();
        lines.push(Line::raw(format!(
            "  {before:>6} done before (not sent again)"
        )));
    }
    lines.push(Line::raw(format!(
        "  {:>6} excluded (not changed)",
        review.plan.excluded.len()
    )));
    if review.hidden_marked > 0 {
        lines.push(Line::styled(
            format!("  {}", hidden_words(review.hidden_marked)),
            theme.level(Level::Warn),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("  Server  ", theme.label()),
        Span::raw(state.connection.base_url.value.clone()),
    ]));
    if let Some(tenant) = &state.tenant {
        lines.push(Line::from(vec![
            Span::styled("  Tenant  ", theme.label()),
            Span::styled(tenant.clone(), theme.title()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw(format!("  Type {to_do} to confirm: ")),
        Span::styled(format!("{:<8}", dialog.typed.value), theme.editing()),
    ]));
    lines.push(match &dialog.error {
        Some(e) => Line::styled(format!("  {e}"), theme.level(Level::Error)),
        None => Line::raw(""),
    });
    let button = |label: &str, focused: bool| {
        let text = format!("[ {label} ]");
        if focused {
            Span::styled(format!("▶{text}"), theme.focus())
        } else {
            Span::raw(format!(" {text}"))
        }
    };
    lines.push(Line::from(vec![
        Span::raw("      "),
        button("Cancel", dialog.focus == ConfirmFocus::Cancel),
        Span::raw("    "),
        button(
            &format!("Apply {to_do}"),
            dialog.focus == ConfirmFocus::Apply,
        ),
    ]));
    let rect = centered(area, 64.min(area.width), lines.len() as u16 + 2);
    let block = Block::bordered()
        .title(" Apply this plan? ")
        .title_bottom(Line::from(format!(" {} ", state.field_hint())).right_aligned())
        .border_style(theme.overlay_border());
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn render_prompt(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if let Some(input) = &state.actions.prompt {
        let title = "Open a plan file (JSON)";
        super::overlay::render_prompt(frame, area, title, input, &state.field_hint(), theme);
    }
}
