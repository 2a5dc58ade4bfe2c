//! The History pane: the journal's batches (newest first) over the trend of seats,
//! one batch shown whole on Enter. Readable without colour: every series of the
//! trend is named on its line and carries its latest value.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::history::reducer::{table_height, trend_height, trend_rows_per_series};
use crate::app::history::{
    BatchOutcome, HistoryState, JournalBatch, JournalListing, JournalView, TrendView,
    DETAIL_HEADER_LINES,
};
use crate::app::notice::Level;
use crate::app::state::State;
use crate::workspace::{Snapshot, SnapshotKind};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let history = &state.history;
    if history.details_open {
        if let Some(batch) = history.selected() {
            render_details(frame, area, batch, history.details_scroll, theme);
            return;
        }
    }
    let trend_h = trend_height(&history.trend, state.size).min(area.height.saturating_sub(5));
    let [list, trend] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(trend_h)]).areas(area);
    render_journal(frame, list, state, theme);
    render_trend(frame, trend, state, theme);
}

fn render_journal(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let history = &state.history;
    let title = match &history.journal {
        JournalView::Loaded(l) if !l.batches.is_empty() => {
            let n = l.batches.len();
            let mut t = format!(
                " History · journal: {n} {}",
                if n == 1 { "batch" } else { "batches" }
            );
            if !l.errors.is_empty() {
                t.push_str(&format!(" · {} unreadable", l.errors.len()));
            }
            t.push(' ');
            t
        }
        _ => " History · journal ".into(),
    };
    let block = Block::bordered().title(title).border_style(theme.border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match &history.journal {
        JournalView::NotLoaded | JournalView::Loading => frame.render_widget(
            Paragraph::new(Line::styled(" Reading the journal…", theme.dim())),
            inner,
        ),
        JournalView::Failed(e) => frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" The journal could not be read: {e}"),
                theme.level(Level::Error),
            ))
            .wrap(Wrap { trim: false }),
            inner,
        ),
        JournalView::Loaded(listing) if listing.batches.is_empty() => {
            render_no_batches(frame, inner, listing, theme)
        }
        JournalView::Loaded(listing) => {
            let (table, errors) = if listing.errors.is_empty() {
                (inner, None)
            } else {
                let [t, e] =
                    Layout::vertical([Constraint::Min(2), Constraint::Length(1)]).areas(inner);
                (t, Some(e))
            };
            let rows = table_height(&history.trend, state.size)
                .min(table.height.saturating_sub(1) as usize);
            render_table(frame, table, history, listing, rows, theme);
            if let (Some(area), Some(first)) = (errors, listing.errors.first()) {
                frame.render_widget(
                    Paragraph::new(Line::styled(
                        format!(" Not read: {first}"),
                        theme.level(Level::Warn),
                    )),
                    area,
                );
            }
        }
    }
}

fn render_no_batches(frame: &mut Frame, area: Rect, listing: &JournalListing, theme: &Theme) {
    let lines = vec![
        Line::styled(" No batches in the journal yet.", theme.title()),
        Line::raw(" Each plan applied on the Actions pane (4) or by navscim apply is a batch:"),
        Line::raw(" when, what happened to each user, how it ended. Here, then:"),
        Line::from(vec![
            Span::raw("   "),
            Span::styled("Enter", theme.key()),
            Span::raw(" shows a batch · "),
            Span::styled("u", theme.key()),
            Span::raw(" undoes it · "),
            Span::styled("r", theme.key()),
            Span::raw(" resumes one left unfinished"),
        ]),
        Line::raw("   (both reviewed on the Actions pane, and applied only there)"),
        Line::styled(format!(" Journal: {}", listing.dir.display()), theme.dim()),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The server without its scheme (the list is narrow; details show it whole).
fn short_server(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

fn outcome_style(outcome: BatchOutcome, theme: &Theme) -> Style {
    match outcome {
        BatchOutcome::Complete => theme.ok(),
        BatchOutcome::Running => theme.level(Level::Info),
        BatchOutcome::Interrupted | BatchOutcome::Stopped(_) => theme.level(Level::Warn),
    }
}

fn render_table(
    frame: &mut Frame,
    area: Rect,
    history: &HistoryState,
    listing: &JournalListing,
    rows: usize,
    theme: &Theme,
) {
    let with_id = area.width >= 118;
    let tenant_w = listing
        .batches
        .iter()
        .filter_map(|b| b.tenant_or_profile())
        .map(|t| t.chars().count())
        .max()
        .map(|w| w.clamp(6, 16) as u16);
    let mut header = Vec::new();
    let mut widths = Vec::new();
    if with_id {
        header.push("Batch");
        widths.push(Constraint::Length(24));
    }
    header.extend(["When (UTC)", "Kind", "OK", "Failed", "Not done", "Outcome"]);
    widths.extend([
        Constraint::Length(16),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(11),
    ]);
    if let Some(w) = tenant_w {
        header.push("Tenant");
        widths.push(Constraint::Length(w));
    }
    header.push("Server");
    widths.push(Constraint::Fill(1));

    let table = &history.table;
    let body: Vec<Row> = listing
        .batches
        .iter()
        .enumerate()
        .skip(table.offset)
        .take(rows)
        .map(|(i, b)| {
            let mut cells = Vec::new();
            if with_id {
                cells.push(Cell::from(b.id.clone()));
            }
            cells.extend([
                Cell::from(b.started.format("%Y-%m-%d %H:%M").to_string()),
                Cell::from(b.kind.as_str()),
                Cell::from(Line::from(b.ok().to_string()).right_aligned()),
                Cell::from(Line::from(b.counts.failed.to_string()).right_aligned()),
                Cell::from(Line::from(b.not_done().to_string()).right_aligned()),
                Cell::from(Span::styled(
                    b.outcome.word(),
                    outcome_style(b.outcome, theme),
                )),
            ]);
            if tenant_w.is_some() {
                cells.push(Cell::from(b.tenant_or_profile().unwrap_or("").to_string()));
            }
            cells.push(Cell::from(short_server(&b.base_url).to_string()));
            let style = if i == table.cursor {
                theme.focus()
            } else {
                Style::new()
            };
            Row::new(cells).style(style)
        })
        .collect();
    let widget = Table::new(body, widths)
        .header(Row::new(header).style(theme.title()))
        .column_spacing(1);
    frame.render_widget(widget, area);
}

/// One line of the trend: its name, the value of each snapshot (`None`: not known
/// then), and what the latest value column says.
struct Series {
    name: String,
    values: Vec<Option<u64>>,
    latest: String,
    color: Color,
}

fn delta(values: &[Option<u64>]) -> String {
    let known: Vec<u64> = values.iter().rev().flatten().copied().take(2).collect();
    match known[..] {
        [now, before] if now != before => {
            format!("{now} ({:+})", now as i64 - before as i64)
        }
        [now, ..] => now.to_string(),
        [] => "–".into(),
    }
}

fn series(snapshots: &[Snapshot]) -> Vec<Series> {
    let count = |f: &dyn Fn(&Snapshot) -> Option<usize>| -> Vec<Option<u64>> {
        snapshots.iter().map(|s| f(s).map(|n| n as u64)).collect()
    };
    let idle_days = snapshots
        .iter()
        .rev()
        .find_map(|s| s.counts.idle.map(|i| i.threshold_days));
    let mut out = vec![
        ("active", count(&|s| Some(s.counts.active)), Color::Green),
        (
            "inactive",
            count(&|s| Some(s.counts.inactive)),
            Color::Yellow,
        ),
        (
            "not found",
            count(&|s| Some(s.counts.by_status.get("not_found").copied().unwrap_or(0))),
            Color::Red,
        ),
        (
            "orphan",
            count(&|s| Some(s.counts.orphan_seats)),
            Color::Magenta,
        ),
    ]
    .into_iter()
    .map(|(name, values, color)| Series {
        name: name.into(),
        latest: delta(&values),
        values,
        color,
    })
    .collect::<Vec<_>>();
    let idle = count(&|s| s.counts.idle.map(|i| i.idle));
    out.push(Series {
        name: match idle_days {
            Some(d) => format!("idle >{d} d"),
            None => "idle".into(),
        },
        latest: if idle_days.is_some() {
            delta(&idle)
        } else {
            "no usage".into()
        },
        values: idle,
        color: Color::Blue,
    });
    let reclaimed = count(&|s| Some(s.seats_reclaimed));
    let total: usize = snapshots.iter().map(|s| s.seats_reclaimed).sum();
    out.push(Series {
        name: "reclaimed".into(),
        latest: format!(
            "{} (all {total})",
            snapshots.last().map_or(0, |s| s.seats_reclaimed)
        ),
        values: reclaimed,
        color: Color::Cyan,
    });
    out
}

fn kind_letter(kind: SnapshotKind) -> char {
    match kind {
        SnapshotKind::Lookup => 'L',
        SnapshotKind::Refresh => 'R',
        SnapshotKind::Batch => 'B',
    }
}

fn render_trend(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = Block::bordered()
        .title(" Seats over time ")
        .border_style(theme.border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let message = |text: Vec<Line<'static>>| Paragraph::new(text).wrap(Wrap { trim: false });
    match &state.history.trend {
        TrendView::NotLoaded | TrendView::Loading => frame.render_widget(
            message(vec![Line::styled(
                " Reading the workspace's history…",
                theme.dim(),
            )]),
            inner,
        ),
        TrendView::NoWorkspace => frame.render_widget(
            message(vec![
                Line::styled(" No workspace: no trend to show.", theme.title()),
                Line::raw(
                    " The trend comes from the workspace's snapshots (one per lookup run and per",
                ),
                Line::raw(" batch). Start navscim with a profile, or with --workspace PATH."),
            ]),
            inner,
        ),
        TrendView::Failed(e) => frame.render_widget(
            message(vec![Line::styled(
                format!(" The workspace's history could not be read: {e}"),
                theme.level(Level::Error),
            )]),
            inner,
        ),
        TrendView::Loaded { path, snapshots } if snapshots.is_empty() => frame.render_widget(
            message(vec![
                Line::styled(" No snapshots yet.", theme.title()),
                Line::raw(
                    " Every lookup run (navscim lookup) and every batch (navscim apply, journal",
                ),
                Line::raw(
                    " undo / resume) records one: seats active, inactive, not found, orphan, idle",
                ),
                Line::raw(" and reclaimed. Their trend shows here."),
                Line::styled(format!(" Workspace: {}", path.display()), theme.dim()),
            ]),
            inner,
        ),
        TrendView::Loaded { snapshots, .. } => render_chart(
            frame,
            inner,
            snapshots,
            trend_rows_per_series(state.size),
            theme,
        ),
    }
}

const LABEL_W: u16 = 12;
const VALUE_W: u16 = 16;

/// The values a sparkline draws for `values`: each series from its lowest value (an
/// eighth of a row, so it still shows) to its highest (the full height), so a change
/// of a few seats in hundreds is visible; a flat series stays at the bottom. Unknown
/// values stay unknown. Returns the values and the sparkline's maximum.
fn scaled(values: &[Option<u64>]) -> (Vec<Option<u64>>, u64) {
    let known = values.iter().flatten().copied();
    let (low, high) = (known.clone().min().unwrap_or(0), known.max().unwrap_or(0));
    let span = high - low;
    if span == 0 {
        return (values.iter().map(|v| v.map(|_| 1)).collect(), 8);
    }
    // low → span (an eighth of 8 × span), high → 8 × span (the full height).
    let data = values
        .iter()
        .map(|v| v.map(|v| (v - low) * 7 + span))
        .collect();
    (data, span * 8)
}

/// A row of the chart: the label, the bars, a gap, then the value.
fn chart_row(area: Rect, spark_w: usize) -> [Rect; 4] {
    Layout::horizontal([
        Constraint::Length(LABEL_W),
        Constraint::Length(spark_w as u16),
        Constraint::Length(2),
        Constraint::Length(VALUE_W),
    ])
    .areas(area)
}

fn render_chart(frame: &mut Frame, area: Rect, snapshots: &[Snapshot], per: u16, theme: &Theme) {
    let room = area.width.saturating_sub(LABEL_W + VALUE_W + 2).max(1) as usize;
    // The newest snapshots that fit, each bar as wide as the room allows (up to 4);
    // the values follow the bars.
    let shown = &snapshots[snapshots.len().saturating_sub(room)..];
    let bar_w = (room / shown.len().max(1)).clamp(1, 4);
    let spark_w = shown.len() * bar_w;
    let first = shown.first().map(|s| s.at);
    let last = shown.last().map(|s| s.at);
    let range = match (first, last) {
        (Some(a), Some(b)) if a != b => format!(
            "{} → {} UTC",
            a.format("%Y-%m-%d %H:%M"),
            b.format("%Y-%m-%d %H:%M")
        ),
        (Some(a), _) => format!("{} UTC", a.format("%Y-%m-%d %H:%M")),
        _ => String::new(),
    };
    let count = if shown.len() < snapshots.len() {
        format!("latest {} of {} snapshots", shown.len(), snapshots.len())
    } else {
        match snapshots.len() {
            1 => "1 snapshot".to_string(),
            n => format!("{n} snapshots"),
        }
    };
    let mut constraints = vec![Constraint::Length(1)];
    constraints.extend(std::iter::repeat_n(Constraint::Length(per), 6));
    constraints.push(Constraint::Length(1));
    constraints.push(Constraint::Min(0));
    let rows = Layout::vertical(constraints).split(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(format!(" {count}, {range}")),
            Span::styled(" · each line low → high", theme.dim()),
        ])),
        rows[0],
    );
    for (i, s) in series(shown).into_iter().enumerate() {
        let [label, spark, _, value] = chart_row(rows[1 + i], spark_w);
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {}", s.name), theme.label())),
            label,
        );
        let (values, max) = scaled(&s.values);
        let data: Vec<Option<u64>> = values
            .iter()
            .flat_map(|v| std::iter::repeat_n(*v, bar_w))
            .collect();
        let style = if theme.color {
            Style::new().fg(s.color)
        } else {
            Style::new()
        };
        frame.render_widget(
            Sparkline::default()
                .data(&data)
                .max(max)
                .absent_value_symbol(" ")
                .style(style),
            spark,
        );
        frame.render_widget(Paragraph::new(Line::raw(s.latest)), value);
    }
    // Under each bar: what the snapshot was taken after.
    let [label, axis, _, legend] = chart_row(rows[7], spark_w);
    let letters: String = shown
        .iter()
        .flat_map(|s| {
            std::iter::once(kind_letter(s.kind)).chain(std::iter::repeat_n(' ', bar_w - 1))
        })
        .collect();
    frame.render_widget(Paragraph::new(Line::styled(" after", theme.dim())), label);
    frame.render_widget(Paragraph::new(Line::raw(letters)), axis);
    // The legend names every letter on the axis (a refresh too), in the room right of
    // the bars, not only the value column's.
    let legend = Rect {
        width: area.right().saturating_sub(legend.x),
        ..legend
    };
    frame.render_widget(
        Paragraph::new(Line::styled(legend_text(shown), theme.dim())),
        legend,
    );
}

/// "L lookup R refresh B batch": the kinds of the snapshots shown, in that order.
fn legend_text(shown: &[Snapshot]) -> String {
    [
        (SnapshotKind::Lookup, "lookup"),
        (SnapshotKind::Refresh, "refresh"),
        (SnapshotKind::Batch, "batch"),
    ]
    .into_iter()
    .filter(|(kind, _)| shown.iter().any(|s| s.kind == *kind))
    .map(|(kind, word)| format!("{} {word}", kind_letter(kind)))
    .collect::<Vec<_>>()
    .join(" ")
}

fn render_details(frame: &mut Frame, area: Rect, batch: &JournalBatch, scroll: u16, theme: &Theme) {
    let block = Block::bordered()
        .title(format!(
            " Batch {} · {} · {} · Esc closes ",
            batch.id,
            batch.kind.as_str(),
            batch.outcome.word()
        ))
        .border_style(theme.overlay_border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let c = &batch.counts;
    let label = |name: &'static str| Span::styled(format!(" {name:<9}"), theme.label());
    let mut lines = vec![
        Line::from(vec![
            label("Started"),
            Span::raw(format!(
                "{} by {}",
                batch.started.format("%Y-%m-%d %H:%M:%S UTC"),
                batch.operator
            )),
        ]),
        Line::from(vec![
            label("Ended"),
            Span::raw(match batch.ended {
                Some(at) => at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                None => "no end recorded (a crash or kill stopped it, or it is running)".into(),
            }),
        ]),
        Line::from(vec![label("Server"), Span::raw(batch.base_url.clone())]),
        Line::from(vec![
            label("Tenant"),
            Span::raw(match (&batch.tenant, &batch.profile) {
                (Some(t), Some(p)) => format!("{t} (profile {p})"),
                (None, Some(p)) => format!("profile {p}"),
                (Some(t), None) => t.clone(),
                (None, None) => "not recorded in its plan".into(),
            }),
        ]),
        Line::from(vec![
            label("Plan"),
            Span::raw(match (&batch.undo_of, &batch.plan_file) {
                (Some(u), _) => format!("undo of batch {u}"),
                (None, Some(f)) => format!("from {f}"),
                (None, None) => "built in the dashboard".into(),
            }),
        ]),
        Line::from(vec![
            label("Result"),
            Span::styled(batch.outcome.word(), outcome_style(batch.outcome, theme)),
            Span::raw(format!(
                ": {} applied, {} already, {} failed, {} in doubt, {} not started",
                c.applied, c.already, c.failed, c.in_doubt, c.not_started
            )),
        ]),
    ];
    for note in &batch.notes {
        lines.push(Line::from(vec![label("Note"), Span::raw(note.clone())]));
    }
    lines.push(Line::raw(""));
    // The target takes what the result and some detail leave, up to 40 columns.
    let target_w = (inner.width as usize).saturating_sub(47).clamp(16, 40);
    lines.push(Line::styled(
        format!(
            " {:<5}{:<11}{:<target_w$} {:<12}{}",
            "#", "Operation", "Target", "Result", "Detail"
        ),
        theme.title(),
    ));
    debug_assert_eq!(lines.len(), DETAIL_HEADER_LINES + batch.notes.len());
    for (i, op) in batch.ops.iter().enumerate() {
        let target: String = op.target.chars().take(target_w).collect();
        let result = if op.attempts > 1 {
            format!("{} ×{}", op.state, op.attempts)
        } else {
            op.state.to_string()
        };
        lines.push(Line::raw(format!(
            " {:<5}{:<11}{:<target_w$} {:<12}{}",
            i,
            op.op.name(),
            target,
            result,
            op.detail
        )));
    }
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}
