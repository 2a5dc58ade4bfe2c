//! The Usage pane: the summary (seats matched, active within 30/60/90 days, idle,
//! never activated, unknown, what a plan would do), a bar chart of the idle-days
//! distribution, and a table of the report's rows that renders only the rows on
//! screen. Everything shown is computed by the reducer; a frame only reads it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph, Wrap};
use ratatui::Frame;

use super::overlay::centered;
use super::theme::Theme;
use super::users::thousands;
use crate::app::notice::Level;
use crate::app::state::State;
use crate::app::usage::{is_idle, ActivityFilter, UsageState};
use crate::matching::MatchStatus;
use crate::usage::{Activity, IdleSummary, IDLE_BUCKETS, IDLE_PRESETS};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let usage = &state.usage;
    let block = Block::bordered()
        .title(title(usage))
        .border_style(theme.border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if usage.report.is_none() {
        render_empty(frame, inner, theme);
    } else {
        let [top, filters, table] = crate::app::layout::usage_areas(inner, state.size);
        let bar_width: u16 = if top.width >= 108 { 8 } else { 5 };
        let chart_width = 5 * (bar_width + 1) + 1;
        let [summary, chart] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(chart_width)]).areas(top);
        frame.render_widget(
            Paragraph::new(summary_lines(state, theme)).wrap(Wrap { trim: true }),
            summary,
        );
        render_chart(frame, chart, usage, bar_width, theme);
        frame.render_widget(Paragraph::new(filter_line(usage, theme)), filters);
        render_table(frame, table, state, theme);
    }
    if usage.details_open {
        render_details(frame, area, state, theme);
    }
    if let Some(prompt) = &usage.prompt {
        super::overlay::render_prompt(
            frame,
            area,
            &prompt.title(usage),
            &prompt.input,
            &state.field_hint(),
            theme,
        );
    }
    if usage.date_order.is_some() {
        render_date_order(frame, area, usage, theme);
    }
}

fn title(usage: &UsageState) -> String {
    let mut t = String::from(" Usage");
    if let Some(report) = &usage.report {
        t.push_str(&format!(" · {}", report.file));
    }
    match &usage.as_of {
        Some((d, _)) => t.push_str(&format!(" · as of {d}")),
        None if usage.report.is_some() => t.push_str(" · as of ?"),
        None => {}
    }
    super::push_marks(&mut t, usage.table.marks.len(), usage.hidden_marks());
    t.push(' ');
    t
}

fn render_empty(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::raw(""),
        Line::styled("No usage report loaded yet.", theme.title()),
        Line::raw(""),
        Line::raw("Press L to load the usage report exported from Sales Navigator (CSV; the"),
        Line::raw("Users pane's L takes it too). navscim joins it to the users by email, then"),
        Line::raw("shows who is idle or never activated, and sends the ones you mark to the"),
        Line::raw("Actions pane as a deactivation plan."),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn n(v: usize) -> String {
    thousands(v)
}

fn summary_lines(state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let usage = &state.usage;
    let s = &usage.summary;
    let t = usage.threshold;
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} seats", n(s.rows)), theme.title()),
        Span::raw(format!(
            " · {} matched ({} users) · ",
            n(s.joined_rows),
            n(s.joined_users)
        )),
        Span::styled(
            format!("{} no user", n(s.unmatched_rows)),
            if s.unmatched_rows > 0 {
                theme.level(Level::Warn)
            } else {
                Style::new()
            },
        ),
    ])];
    if usage.as_of.is_none() {
        lines.push(Line::styled(
            "Idle days wait for the as-of date (the report states no period).",
            theme.level(Level::Warn),
        ));
        return lines;
    }
    let active: Vec<String> = IDLE_PRESETS
        .iter()
        .zip(s.active_within)
        .map(|(p, v)| format!("≤{p}d {}", n(v)))
        .collect();
    lines.push(Line::raw(format!("Active {}", active.join(" · "))));
    lines.push(Line::from(vec![
        Span::styled(
            format!("Idle >{t}d {}", n(s.idle.idle_over_threshold)),
            theme.level(Level::Warn),
        ),
        Span::raw(" · "),
        Span::styled(
            format!("never activated {}", n(s.idle.never_activated)),
            theme.level(Level::Warn),
        ),
        Span::raw(format!(" · unknown {}", n(s.unknown))),
    ]));
    if let Some(p) = &usage.preview {
        let mut spans = vec![
            Span::raw(format!("Plan at {t}d: ")),
            Span::styled(
                format!("{} to deactivate", n(p.operations)),
                theme.level(Level::Warn),
            ),
            Span::raw(format!(" · grace {}d", usage.grace_days)),
        ];
        if p.provisional {
            spans.push(Span::styled(" (lookups running)", theme.dim()));
        }
        lines.push(Line::from(spans));
        let left: Vec<String> = p
            .excluded
            .iter()
            .filter(|(why, _)| *why != "not_idle")
            .map(|(why, v)| format!("{} {}", why.replace('_', " "), n(*v)))
            .collect();
        if !left.is_empty() {
            lines.push(Line::styled(
                format!("Left out: {}", left.join(" · ")),
                theme.dim(),
            ));
        }
    }
    lines
}

fn render_chart(frame: &mut Frame, area: Rect, usage: &UsageState, bar_width: u16, theme: &Theme) {
    let wide = bar_width >= 8;
    let s = &usage.summary.idle;
    let bars: Vec<Bar> = IDLE_BUCKETS
        .iter()
        .enumerate()
        .map(|(i, (lo, hi))| {
            let label = if wide {
                IdleSummary::bucket_label(i)
            } else {
                match hi {
                    Some(h) => format!("≤{h}"),
                    None => format!(">{}", lo - 1),
                }
            };
            // Buckets wholly beyond the threshold are the idle ones.
            let style = if *lo > i64::from(usage.threshold) {
                theme.level(Level::Warn)
            } else {
                theme.ok()
            };
            Bar::default()
                .value(s.buckets[i] as u64)
                .text_value(n(s.buckets[i]))
                .label(Line::raw(label))
                .style(style)
        })
        .collect();
    let chart = BarChart::default()
        .block(
            Block::bordered()
                .title(" Idle days ")
                .border_style(theme.border()),
        )
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_width)
        .bar_gap(1)
        .value_style(Style::new().add_modifier(Modifier::REVERSED));
    frame.render_widget(chart, area);
}

fn filter_line(usage: &UsageState, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled("/", theme.key())];
    let empty = usage.table.filter.value.is_empty() && !usage.table.filter_editing;
    let text = if empty {
        "filter".to_string()
    } else {
        usage.table.filter.value.clone()
    };
    spans.push(Span::styled(
        format!("{text:<12}"),
        if empty {
            theme.dim()
        } else if usage.table.filter_editing {
            theme.editing()
        } else {
            Style::new()
        },
    ));
    spans.push(Span::styled(" f", theme.key()));
    spans.push(Span::styled(
        format!(" {}", usage.activity_filter.label(usage.threshold)),
        if usage.activity_filter == ActivityFilter::All {
            Style::new()
        } else {
            theme.level(Level::Warn)
        },
    ));
    spans.push(Span::styled("  s", theme.key()));
    spans.push(Span::raw(match usage.table.sort {
        None => " file order".to_string(),
        Some((column, reversed)) => {
            let down = column.largest_first() != reversed;
            format!(" {} {}", column.label(), if down { "↓" } else { "↑" })
        }
    }));
    spans.push(Span::styled("  t", theme.key()));
    spans.push(Span::raw(format!(" >{}d", usage.threshold)));
    spans.push(Span::styled(
        format!(
            "  {} of {}",
            n(usage.table.view.len()),
            n(usage.summary.rows)
        ),
        theme.dim(),
    ));
    Line::from(spans)
}

/// "143", "≥92" (a lower bound), "≤91?" (active, undated), "never".
fn idle_text(activity: Option<&Activity>) -> String {
    match activity {
        None => "?".into(),
        Some(Activity::NeverActivated) => "never".into(),
        Some(Activity::Idle {
            days,
            at_least: true,
            ..
        }) => format!("≥{days}"),
        Some(Activity::Idle { days, .. }) => days.to_string(),
        Some(Activity::Undated { at_most: Some(m) }) => format!("≤{m}?"),
        Some(Activity::Undated { at_most: None }) => "?".into(),
    }
}

fn opt(v: Option<u32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The joined user's state in a word: what the plan will make of them.
fn user_text(state: &State, user: Option<usize>) -> (String, Style) {
    let theme = Theme::with_palette(state.no_color, state.palette);
    let Some(u) = user else {
        return ("no user".into(), theme.level(Level::Warn));
    };
    let users = &state.users;
    let status = users
        .rows
        .get(u)
        .map(|r| r.status())
        .unwrap_or(MatchStatus::Pending);
    if users.directory.users.get(u).is_some_and(|d| d.is_admin()) {
        return ("admin".into(), theme.dim());
    }
    let style = match status {
        MatchStatus::Matched { active: true } => theme.ok(),
        MatchStatus::NotFound | MatchStatus::Ambiguous | MatchStatus::Error => {
            theme.level(Level::Warn)
        }
        _ => theme.dim(),
    };
    (status.label().to_string(), style)
}

fn render_table(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    use super::table::{Column, TableRow};
    let usage = &state.usage;
    let rows_data = usage.rows();
    let height = area.height.saturating_sub(1) as usize;
    let wide = area.width >= 110;
    let extra_wide = area.width >= 150;
    // Columns as wide as their content; short of space, the email gets the larger
    // share of what is above the minimums.
    use crate::app::usage::UsageColumn as C;
    // Sized from the whole view (measured by the reducer), not only the rows shown.
    let content = |c: C| {
        usage
            .table
            .content_widths
            .get(c as usize)
            .copied()
            .unwrap_or(0)
    };
    let mut columns = vec![
        Column::fixed("", 1),
        Column::new("Idle d").min(6),
        Column::new("Email")
            .min(16)
            .weight(4)
            .content(content(C::Email)),
    ];
    if wide {
        columns.push(
            Column::new("Name")
                .min(12)
                .max(30)
                .weight(2)
                .content(content(C::Name)),
        );
    }
    columns.extend([
        Column::new("Last active").min(10),
        Column::new("Days").min(4),
        Column::new("Srch").min(4),
    ]);
    if wide {
        columns.extend([
            Column::new("Views").min(5),
            Column::new("InMail").min(5),
            Column::new("Leads").min(5),
        ]);
    }
    if extra_wide {
        columns.extend([
            Column::new("Accts").min(5),
            Column::new("Lists").min(5),
            Column::new("SSI").min(3),
            Column::new("Licence")
                .min(7)
                .max(30)
                .content(content(C::Licence)),
            Column::new("Line").min(4).content(content(C::Line)),
        ]);
    }
    columns.push(Column::new("User").min(8).weight(2));

    let rows = super::visible_rows(&usage.table, height)
        .map(|(position, r)| {
            let row = &rows_data[r];
            let activity = usage.activity_of(r);
            let marked = usage.table.marks.contains(&r);
            let idle_style = match activity {
                Some(a) if a.is_never_activated() || is_idle(a, usage.threshold) => {
                    theme.level(Level::Warn)
                }
                _ => Style::new(),
            };
            let mut cells = TableRow::new(theme.row(marked, position == usage.table.cursor))
                .cell(if marked { "●" } else { " " })
                .styled(idle_text(activity), idle_style)
                .cell(row.email.clone().unwrap_or_default());
            if wide {
                cells = cells.cell(row.name.clone().unwrap_or_default());
            }
            cells = cells
                .cell(row.last_active.map(|d| d.to_string()).unwrap_or_default())
                .cell(opt(row.days_active))
                .cell(opt(row.searches));
            if wide {
                cells = cells
                    .cell(opt(row.profile_views))
                    .cell(opt(row.inmails_sent))
                    .cell(opt(row.leads_saved));
            }
            if extra_wide {
                cells = cells
                    .cell(opt(row.accounts_saved))
                    .cell(opt(row.lists_created))
                    .cell(row.ssi.map(|v| format!("{v:.0}")).unwrap_or_default())
                    .cell(row.license_type.clone().unwrap_or_default())
                    .cell(row.source.line.to_string());
            }
            let (user, user_style) = user_text(state, usage.row_user.get(r).copied().flatten());
            cells.styled(user, user_style)
        })
        .collect();
    super::table::render(frame, area, &columns, rows, theme);
}

fn render_details(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let usage = &state.usage;
    let Some(r) = usage.cursor_row() else {
        return;
    };
    let Some(row) = usage.rows().get(r) else {
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<16}"), theme.label()),
            Span::raw(value),
        ])
    };
    lines.push(Line::styled("Usage row", theme.title()));
    lines.push(field("Source row", row.source.to_string()));
    lines.push(field("Email", row.email.clone().unwrap_or_default()));
    lines.push(field("Name", row.name.clone().unwrap_or_default()));
    lines.push(field(
        "Licence type",
        row.license_type.clone().unwrap_or_default(),
    ));
    let activity = usage.activity_of(r);
    lines.push(field(
        "Activity",
        activity
            .map(Activity::describe)
            .unwrap_or_else(|| "not judged yet (no as-of date)".into()),
    ));
    if let Some((as_of, why)) = &usage.as_of {
        lines.push(field("As of", format!("{as_of} ({why})")));
    }
    if let Some(a) = activity {
        let verdict = match (a.is_never_activated(), a.idle_beyond(usage.threshold)) {
            (true, _) => "never activated (marked with n)".to_string(),
            (false, Some(true)) => format!("yes: idle for more than {} days", usage.threshold),
            (false, Some(false)) => format!("no: active within {} days", usage.threshold),
            (false, None) => "cannot tell from the report".to_string(),
        };
        lines.push(field(&format!("Idle > {} d", usage.threshold), verdict));
    }
    lines.push(Line::raw(""));
    match usage.row_user.get(r).copied().flatten() {
        Some(u) => {
            let link = usage.join.link(u);
            let by = match link.map(|l| l.by) {
                Some(crate::usage::JoinedBy::Name) => "by exact full name (no email match)",
                _ => "by email",
            };
            lines.push(Line::styled(format!("Joined user ({by})"), theme.title()));
            let users = &state.users;
            let user = &users.directory.users[u];
            let outcome = users.rows.get(u).and_then(|r| r.outcome.as_deref());
            lines.push(field("Name", user.name()));
            lines.push(field("Email", user.email.clone().unwrap_or_default()));
            let status = users
                .rows
                .get(u)
                .map(|r| r.status())
                .unwrap_or(MatchStatus::Pending);
            lines.push(field("SCIM status", status.label().to_string()));
            if let Some(id) = outcome.and_then(|o| o.scim_id()) {
                lines.push(field("SCIM id", id.to_string()));
            }
            let created = outcome.filter(|o| o.scim.is_some()).and_then(|o| o.created);
            lines.push(field(
                "Provisioned",
                match created {
                    Some(d) => d.to_string(),
                    None => "unknown (no meta.created): the grace period cannot apply".into(),
                },
            ));
            if let Some((as_of, _)) = &usage.as_of {
                if let Some(g) = crate::usage::within_grace(created, *as_of, usage.grace_days) {
                    lines.push(field("Grace period", format!("{g}: left alone")));
                }
            }
            if user.is_admin() {
                lines.push(field(
                    "Admin",
                    "a Sales Navigator admin: never in a deprovision plan".into(),
                ));
            }
            lines.push(Line::styled("Source rows", theme.title()));
            for source in &user.sources {
                lines.push(Line::raw(format!("  {source}")));
            }
            if let Some(link) = link.filter(|l| l.rows.len() > 1) {
                lines.push(Line::styled(
                    format!(
                        "{} usage rows for this user (the most recent activity counts)",
                        link.rows.len()
                    ),
                    theme.title(),
                ));
                for &other in &link.rows {
                    if let Some(o) = usage.rows().get(other) {
                        lines.push(Line::raw(format!(
                            "  {} · {}",
                            o.source,
                            idle_text(usage.activity_of(other))
                        )));
                    }
                }
            }
        }
        None => {
            lines.push(Line::styled("Joined no user", theme.level(Level::Warn)));
            let why = usage
                .join
                .unmatched
                .binary_search_by_key(&r, |m| m.row)
                .ok()
                .map(|i| usage.join.unmatched[i].why.clone())
                .unwrap_or_default();
            lines.push(field("Why", why));
            lines.push(Line::raw(
                "  Not in any loaded user file: a seat nobody in your exports holds.",
            ));
        }
    }
    let mut metrics: Vec<Line> = vec![Line::raw(""), Line::styled("Metrics", theme.title())];
    let dash = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_else(|| "–".into());
    metrics.push(field(
        "Last active",
        row.last_active.map(|d| d.to_string()).unwrap_or("–".into()),
    ));
    metrics.push(field("Days since", dash(row.days_since_active)));
    metrics.push(field("Days active", dash(row.days_active)));
    metrics.push(field("Searches", dash(row.searches)));
    metrics.push(field("Profile views", dash(row.profile_views)));
    metrics.push(field("InMails sent", dash(row.inmails_sent)));
    metrics.push(field("Leads saved", dash(row.leads_saved)));
    metrics.push(field("Accounts saved", dash(row.accounts_saved)));
    metrics.push(field("Lists created", dash(row.lists_created)));
    metrics.push(field(
        "SSI",
        row.ssi.map(|v| v.to_string()).unwrap_or("–".into()),
    ));
    lines.extend(metrics);
    if let Some(report) = &usage.report {
        let own: Vec<&crate::import::Diagnostic> = report
            .problems
            .iter()
            .filter(|p| p.line == Some(row.source.line))
            .collect();
        if !own.is_empty() {
            lines.push(Line::styled("Problems on this line", theme.title()));
            for p in own {
                lines.push(Line::styled(format!("  {p}"), theme.level(Level::Warn)));
            }
        }
    }
    let title = row
        .email
        .clone()
        .or_else(|| row.name.clone())
        .unwrap_or_else(|| row.source.to_string());
    super::overlay::render_scrolled(frame, area, &title, lines, usage.details_scroll, theme);
}

fn render_date_order(frame: &mut Frame, area: Rect, usage: &UsageState, theme: &Theme) {
    let Some(q) = &usage.date_order else {
        return;
    };
    let sample = q.needs.samples.first().map(|(_, v)| v.clone());
    let mut lines = vec![
        Line::raw(q.needs.to_string()),
        Line::raw(""),
        Line::from(vec![
            Span::styled("  d  ", theme.key()),
            Span::raw("DD/MM/YYYY (day first)"),
        ]),
        Line::from(vec![
            Span::styled("  m  ", theme.key()),
            Span::raw("MM/DD/YYYY (month first)"),
        ]),
        Line::from(vec![
            Span::styled("  Esc", theme.key()),
            Span::raw("  do not import the file"),
        ]),
    ];
    if let Some(s) = sample {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("navscim does not guess: {s} is a different day in each order."),
            theme.dim(),
        ));
    }
    let width = area.width.saturating_sub(4).min(90);
    let height = (lines.len() as u16 + 4).min(area.height);
    let rect = centered(area, width, height);
    let block = Block::bordered()
        .title(format!(" How are the dates in {} written? ", q.needs.file))
        .border_style(theme.overlay_border());
    super::render_dialog(frame, rect, block, lines);
}
