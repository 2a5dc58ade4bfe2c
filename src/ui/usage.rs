//! The Usage pane.

use ratatui::layout::Rect;
use ratatui::Frame;

use super::theme::Theme;
use crate::app::state::{State, Tab};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let _ = state;
    super::placeholder::render(frame, area, Tab::Usage, theme);
}
