//! Panes that are not built yet say so plainly instead of pretending.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::state::Tab;

pub fn render(frame: &mut Frame, area: Rect, tab: Tab, theme: &Theme) {
    let what = match tab {
        Tab::Users => "load identity-provider and Sales Navigator exports, look every user up over SCIM, triage the unmatched",
        Tab::Usage => "import the Sales Navigator usage report, find idle and never-activated seats",
        Tab::Actions => "review a plan, apply it with live progress, undo a batch",
        Tab::Connection => "",
    };
    let block = Block::bordered()
        .title(format!(" {} ", tab.title()))
        .border_style(theme.border());
    let text = vec![
        Line::raw(""),
        Line::styled("  Not built yet.", theme.title()),
        Line::raw(""),
        Line::raw(format!("  This pane will {what}.")),
    ];
    frame.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        area,
    );
}
