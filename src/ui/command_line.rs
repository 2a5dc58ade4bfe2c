//! The bottom line: the `:` command line on the notice row, its candidates in a box
//! above it, or an export's prompt (file name, replace the file?) over the pane.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::command_line::{self, LineKind};
use crate::app::state::State;

/// Draws the open line, if any: `body` is the pane's area, `row` the notice row.
pub fn render(frame: &mut Frame, body: Rect, row: Rect, state: &State, theme: &Theme) {
    let Some(line) = &state.command_line.line else {
        return;
    };
    if line.kind != LineKind::Command {
        super::overlay::render_prompt(
            frame,
            body,
            &line.title(state.tab),
            &line.input,
            &state.field_hint(),
            theme,
        );
        return;
    }
    // The line itself, on the notice row.
    let input = &line.input;
    frame.render_widget(Clear, row);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(":", theme.key()),
            Span::raw(input.value.as_str()),
        ])),
        row,
    );
    let x = row.x + 1 + (input.cursor as u16).min(row.width.saturating_sub(2));
    frame.set_cursor_position((x, row.y));

    // The candidates above it, wrapped; the verb typed, with what it does, as title.
    let width = body.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut current: Vec<Span> = Vec::new();
    let mut used = 0;
    for candidate in &line.candidates {
        let needed = candidate.chars().count() + 2;
        if used + needed > width && !current.is_empty() {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        current.push(Span::styled(format!(" {candidate} "), theme.key()));
        used += needed;
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    let typed = input.value.trim_start().trim_start_matches(':');
    let word = typed.split_whitespace().next().unwrap_or("");
    let title = match command_line::verb(&word.to_lowercase()) {
        Some(verb) if typed.contains(char::is_whitespace) || line.candidates.len() <= 1 => {
            format!(" {} — {} ", verb.usage(), verb.help)
        }
        _ if line.candidates.is_empty() => return,
        _ => " Tab completes ".to_string(),
    };
    if lines.is_empty() {
        lines.push(Line::styled(" (type the argument)", theme.dim()));
    }
    let max = body.height.saturating_sub(2) as usize;
    lines.truncate(max.max(1));
    let height = lines.len() as u16 + 2;
    let rect = Rect::new(
        body.x,
        body.y + body.height.saturating_sub(height),
        body.width,
        height.min(body.height),
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(title)
                .border_style(theme.overlay_border()),
        ),
        rect,
    );
}
