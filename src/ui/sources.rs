//! The Users pane's sources list (issue 12): the files loaded, the identity-provider
//! connections with their settings (a secret only by where it comes from) and status,
//! and the form that adds a connection.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use ratatui::Frame;

use super::overlay::centered;
use super::theme::Theme;
use super::users::thousands;
use crate::app::notice::Level;
use crate::app::state::State;
use crate::app::users::sources::{FormRow, SourceForm, SourceStatus, SourcesState};

/// Draws the list over the Users pane (and the form over the list).
pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let sources = &state.users.sources;
    let lines = list_lines(state, sources, theme);
    super::overlay::render_scrolled(frame, area, "Sources", lines, 0, theme);
    if let Some(form) = &sources.form {
        render_form(frame, area, form, theme);
    }
}

fn list_lines(state: &State, sources: &SourcesState, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("Files", theme.title())];
    let files: Vec<_> = state
        .users
        .files
        .iter()
        .filter(|f| !f.name.starts_with("okta:") && !f.name.starts_with("entra:"))
        .collect();
    if files.is_empty() && state.usage.report.is_none() {
        lines.push(Line::styled(
            "  none (L on the Users pane loads a CSV export)",
            theme.dim(),
        ));
    }
    for f in files {
        lines.push(Line::raw(format!(
            "  {} — {} · {} rows · {} new users",
            f.name,
            f.format,
            thousands(f.rows),
            thousands(f.new_users)
        )));
    }
    if let Some(report) = &state.usage.report {
        lines.push(Line::raw(format!("  {} — usage report", report.file)));
    }
    lines.push(Line::raw(""));
    let saved = if sources.persist {
        format!(
            "saved in profile {}; secrets by reference only",
            sources.profile
        )
    } else {
        "this session only".to_string()
    };
    lines.push(Line::from(vec![
        Span::styled("Identity providers", theme.title()),
        Span::styled(format!("  ({saved})"), theme.dim()),
    ]));
    if sources.connections.is_empty() {
        lines.push(Line::styled(
            "  none: a adds an Okta connection, A an Entra ID one",
            theme.dim(),
        ));
    }
    for (i, c) in sources.connections.iter().enumerate() {
        let cursor = i == sources.cursor;
        let (status, style) = match &c.status {
            SourceStatus::Idle => ("not read yet (r reads, t tests)".to_string(), theme.dim()),
            SourceStatus::Testing => ("testing …".to_string(), theme.dim()),
            SourceStatus::Reading => ("reading …".to_string(), theme.dim()),
            SourceStatus::Tested(lines) => (
                format!("test passed: {}", lines.last().cloned().unwrap_or_default()),
                theme.ok(),
            ),
            SourceStatus::Read { users } => (
                format!("read: {} users merged", thousands(*users)),
                theme.ok(),
            ),
            SourceStatus::Failed(why) => (format!("failed: {why}"), theme.level(Level::Error)),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {}", if cursor { ">" } else { " " }, c.label()),
                theme.row(false, cursor),
            ),
            Span::raw("  "),
            Span::styled(status, style),
        ]));
        lines.push(Line::styled(
            format!("    {}", sources.describe(i)),
            theme.dim(),
        ));
        if let (true, SourceStatus::Tested(report)) = (cursor, &c.status) {
            for line in report {
                lines.push(Line::raw(format!("    {line}")));
            }
        }
    }
    lines
}

fn render_form(frame: &mut Frame, area: Rect, form: &SourceForm, theme: &Theme) {
    let height = form.rows.len() as u16 + 4;
    let rect = centered(area, area.width.saturating_sub(6).min(96), height);
    let block = Block::bordered()
        .title(format!(" {} ", form.title()))
        .title_bottom(
            Line::from(" Tab next field · ← → secret's source · Enter add · Esc cancel ")
                .right_aligned(),
        )
        .border_style(theme.overlay_border());
    let inner = block.inner(rect);
    let mut lines = Vec::new();
    let mut cursor = None;
    for (i, row) in form.rows.iter().enumerate() {
        let focused = i == form.focus;
        let (label, value, style) = match row {
            FormRow::Text { label, field } => {
                if focused {
                    cursor = Some((lines.len() as u16, field.cursor as u16));
                }
                let style = if focused && field.selected {
                    theme.editing()
                } else {
                    ratatui::style::Style::default()
                };
                (*label, field.value.clone(), style)
            }
            FormRow::SecretKind(kind) => (
                "Secret comes from",
                format!("‹ {} ›", kind.label()),
                ratatui::style::Style::default(),
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}{label:<34}", if focused { "> " } else { "  " }),
                if focused {
                    theme.focus()
                } else {
                    theme.label()
                },
            ),
            Span::styled(value, style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "  The secret itself is never stored: name where navscim reads it.",
        theme.dim(),
    ));
    super::render_dialog(frame, rect, block, lines);
    if let Some((row, col)) = cursor {
        let x = inner.x + (36 + col).min(inner.width.saturating_sub(1));
        frame.set_cursor_position((x, inner.y + row));
    }
}
