//! Colours and emphasis. With `NO_COLOR` every role falls back to bold, reverse or
//! underline, so focus and selection stay visible on a monochrome terminal.

use ratatui::style::{Modifier, Style};

use crate::app::notice::Level;
use crate::plan::Permissions;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    /// The colour of each slot (the defaults, or a theme file's).
    pub palette: crate::theme::Palette,
}

impl Theme {
    /// The default colours, or none.
    pub fn new(no_color: bool) -> Self {
        Self::with_palette(no_color, crate::theme::Palette::default())
    }

    /// `palette`'s colours (a theme file's), or none: without colour the palette is
    /// not used at all.
    pub fn with_palette(no_color: bool, palette: crate::theme::Palette) -> Self {
        Theme {
            color: !no_color,
            palette,
        }
    }

    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color {
            colored
        } else {
            plain
        }
    }

    pub fn title(&self) -> Style {
        self.pick(
            Style::new()
                .fg(self.palette.title)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn tab_active(&self) -> Style {
        self.pick(
            Style::new()
                .fg(self.palette.tab_active_fg)
                .bg(self.palette.tab_active_bg)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn tab_inactive(&self) -> Style {
        Style::new()
    }

    /// The focused row or the cursor row of a table.
    pub fn focus(&self) -> Style {
        self.pick(
            Style::new()
                .fg(self.palette.focus_fg)
                .bg(self.palette.focus_bg),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }

    /// A table row: marked rows bold, the cursor row focused.
    pub fn row(&self, marked: bool, cursor: bool) -> Style {
        if cursor {
            self.focus()
        } else if marked {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    /// A field being edited.
    pub fn editing(&self) -> Style {
        self.pick(
            Style::new()
                .fg(self.palette.editing_fg)
                .bg(self.palette.editing_bg),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
        )
    }

    pub fn label(&self) -> Style {
        self.pick(Style::new().fg(self.palette.label), Style::new())
    }

    pub fn dim(&self) -> Style {
        self.pick(
            Style::new().fg(self.palette.dim),
            Style::new().add_modifier(Modifier::DIM),
        )
    }

    pub fn key(&self) -> Style {
        self.pick(
            Style::new()
                .fg(self.palette.key)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub fn ok(&self) -> Style {
        self.pick(Style::new().fg(self.palette.ok), Style::new())
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Info => self.pick(Style::new().fg(self.palette.info), Style::new()),
            Level::Warn => self.pick(
                Style::new()
                    .fg(self.palette.warn)
                    .add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Level::Error => self.pick(
                Style::new()
                    .fg(self.palette.error)
                    .add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ),
        }
    }

    /// The mode badge: calm when read-only, loud when changes are allowed.
    pub fn badge(&self, permissions: &Permissions) -> Style {
        let colored = if permissions.is_read_only() {
            Style::new()
                .fg(self.palette.read_only_fg)
                .bg(self.palette.read_only_bg)
        } else if permissions.deprovisioning {
            Style::new()
                .fg(self.palette.deprovision_fg)
                .bg(self.palette.deprovision_bg)
        } else {
            Style::new()
                .fg(self.palette.provision_fg)
                .bg(self.palette.provision_bg)
        };
        self.pick(
            colored.add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }

    pub fn border(&self) -> Style {
        self.pick(Style::new().fg(self.palette.border), Style::new())
    }

    pub fn overlay_border(&self) -> Style {
        self.pick(Style::new().fg(self.palette.overlay_border), Style::new())
    }
}
