//! The two bottom lines: the latest notice, then the mode badge and key hints.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::theme::Theme;
use crate::app::state::State;

/// The latest notice on one line. One that does not fit is cut with "… M" at the end
/// (the message log, `M`, has it whole); the notices say the essential first.
pub fn render_notice(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    if let Some(notice) = &state.notice {
        let style = theme.level(notice.level);
        let text = format!(" {}", notice.text);
        let width = area.width as usize;
        let line = if text.chars().count() > width && width > 4 {
            let cut: String = text.chars().take(width - 3).collect();
            Line::from(vec![
                Span::styled(cut, style),
                Span::styled("…", style),
                Span::raw(" "),
                Span::styled("M", theme.key()),
            ])
        } else {
            Line::from(Span::styled(text, style))
        };
        frame.render_widget(Paragraph::new(line), area);
    }
}

/// The badge, then the hints of the current key context, as many as fit.
pub fn render_hints(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let badge = format!(" {} ", state.connection.permissions.badge());
    let mut width = badge.chars().count();
    let mut spans = vec![Span::styled(
        badge,
        theme.badge(&state.connection.permissions),
    )];
    for (key, hint) in state.key_hints() {
        let needed = 2 + key.chars().count() + 1 + hint.chars().count();
        if width + needed > area.width as usize {
            break;
        }
        width += needed;
        spans.push(Span::raw("  "));
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {hint}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
