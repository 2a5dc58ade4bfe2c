//! Modal overlays: the help (generated from the key table) and the quit confirmation.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::keys;
use crate::app::state::State;
use crate::app::text_field::TextField;

/// A one-line prompt centred over `area`, with the terminal cursor in the field.
/// `hint` says what the keys do there ([`State::field_hint`]).
pub fn render_prompt(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    input: &TextField,
    hint: &str,
    theme: &Theme,
) {
    let rect = centered(area, area.width.saturating_sub(4).min(90), 3);
    let hint = if input.selected {
        format!(" typing replaces · {} ", hint)
    } else {
        format!(" {} ", hint)
    };
    let block = Block::bordered()
        .title(format!(" {title} "))
        .title_bottom(Line::from(hint).right_aligned())
        .border_style(theme.overlay_border());
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    let value = if input.selected {
        Span::styled(input.value.as_str(), theme.editing())
    } else {
        Span::raw(input.value.as_str())
    };
    frame.render_widget(Paragraph::new(Line::from(value)).block(block), rect);
    let x = inner.x + (input.cursor as u16).min(inner.width.saturating_sub(1));
    frame.set_cursor_position((x, inner.y));
}

/// A scrollable panel over nearly all of `area` (details, file lists); the scroll
/// never goes past the last line.
pub fn render_scrolled(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'_>>,
    scroll: u16,
    theme: &Theme,
) {
    let rect = centered(
        area,
        area.width.saturating_sub(2),
        area.height.saturating_sub(1),
    );
    let block = Block::bordered()
        .title(format!(" {title} — Esc closes "))
        .border_style(theme.overlay_border());
    let visible = rect.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(visible);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(max_scroll), 0)),
        rect,
    );
}

pub use crate::app::layout::centered;

/// The help lines: the current pane's keys first, then the ones that work everywhere.
pub fn help_lines(state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for context in crate::app::layout::help_sections(state) {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(context.title().to_string(), theme.title()));
        for binding in keys::all().filter(|b| b.context == context) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16}", binding.keys_label()), theme.key()),
                Span::raw(binding.help),
            ]));
        }
    }
    if state.pane_context().inherits_global() {
        // The `:` verbs, from their one table.
        lines.push(Line::raw(""));
        lines.push(Line::styled("Command line (: then Tab)", theme.title()));
        for verb in crate::app::command_line::VERBS {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16}", verb.usage()), theme.key()),
                Span::raw(verb.help),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Read-only until you tick Provisioning or Deprovisioning on the Connection pane.",
        theme.dim(),
    ));
    lines
}

pub fn render_help(frame: &mut Frame, state: &State, scroll: u16, theme: &Theme) {
    let lines = help_lines(state, theme);
    let area = crate::app::layout::help_rect(frame.area(), lines.len() as u16);
    // Never scroll past the last line.
    let visible = area.height.saturating_sub(2);
    let total = lines.len() as u16;
    let max_scroll = total.saturating_sub(visible);
    let scroll = scroll.min(max_scroll);
    // When it does not fit, the title says where the admin is and how to see more.
    let title = if max_scroll > 0 {
        format!(
            " Help {}-{} of {total} — ↓ PgDn more · Esc closes ",
            scroll + 1,
            (scroll + visible).min(total)
        )
    } else {
        " Help — Esc closes ".to_string()
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.overlay_border());
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

/// The message log: every notice of the session, oldest first, with its time (UTC).
pub fn render_messages(frame: &mut Frame, state: &State, scroll: u16, theme: &Theme) {
    let mut lines: Vec<Line> = state
        .messages
        .iter()
        .map(|(at, notice)| {
            Line::from(vec![
                Span::styled(at.format("%H:%M:%S ").to_string(), theme.dim()),
                Span::styled(notice.text.clone(), theme.level(notice.level)),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("No messages yet.", theme.dim()));
    }
    let title = format!("Messages ({}, newest last)", state.messages.len());
    // Over the panes, below the tabs, above the status lines.
    let full = frame.area();
    let area = Rect::new(
        full.x,
        full.y + 1,
        full.width,
        full.height.saturating_sub(2),
    );
    render_scrolled(frame, area, &title, lines, scroll, theme);
}

pub fn render_quit_confirm(frame: &mut Frame, state: &State, theme: &Theme) {
    let batch = state.actions.batch_running();
    let area = centered(frame.area(), 60, if batch { 7 } else { 6 });
    let block = Block::bordered()
        .title(" Quit? ")
        .border_style(theme.overlay_border());
    let mut text = vec![Line::raw("Work is still running. Quitting cancels it.")];
    if batch {
        text.push(Line::raw(
            "The batch stops first: requests in flight finish.",
        ));
    }
    text.extend([
        Line::raw(""),
        Line::from(vec![
            Span::styled(" Stay (n/Esc) ", theme.focus()),
            Span::raw("   "),
            Span::styled("Quit (y)", theme.key()),
        ]),
    ]);
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(text).block(block), area);
}
