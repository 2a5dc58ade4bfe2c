//! The Connection pane: base URL, token source, test, and the two permission boxes.

use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::connection::{ConnField, TestStatus, TokenSourceKind};
use crate::app::state::State;

const LABEL_WIDTH: usize = 15;
/// Longest run of mask characters shown for a pasted token.
const MASK_MAX: usize = 20;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let conn = &state.connection;
    let title = if conn.demo {
        " Connection · demo (embedded simulator) ".to_string()
    } else {
        format!(" Connection · profile {} ", conn.profile)
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border())
        .padding(Padding::horizontal(1));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let mut lines: Vec<Line> = Vec::new();
    let mut cursor: Option<Position> = None;
    for field in conn.fields() {
        let focused = field == conn.focus;
        let editing = focused && conn.editing;
        let (label, value, value_style) = field_row(state, field, theme, editing);
        let marker = if focused { "▶ " } else { "  " };
        let label_style = if focused {
            theme.focus()
        } else {
            theme.label()
        };
        if editing {
            if let Some(col) = edit_cursor_column(state, field) {
                let x = inner.x + (2 + LABEL_WIDTH + col) as u16;
                let y = inner.y + lines.len() as u16;
                if x < inner.right() && y < inner.bottom() {
                    cursor = Some(Position::new(x, y));
                }
            }
        }
        let mut spans = vec![
            Span::styled(marker, label_style),
            Span::styled(format!("{label:<LABEL_WIDTH$}"), label_style),
            Span::styled(value, value_style),
        ];
        if editing {
            let selected =
                if field == ConnField::TokenValue && conn.source_kind == TokenSourceKind::Paste {
                    conn.secret_selected
                } else {
                    conn.focused_field().is_some_and(|f| f.selected)
                };
            let hint = if selected {
                format!("  typing replaces · {}", state.field_hint())
            } else {
                format!("  {}", state.field_hint())
            };
            // Only where it fits on the row (the notice says it too).
            let used: usize = spans.iter().map(|s| s.width()).sum();
            if used + hint.chars().count() <= inner.width as usize {
                spans.push(Span::styled(hint, theme.dim()));
            }
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    lines.extend(test_lines(state, theme));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Reuse the token your identity provider already uses. Generating a new token in \
         Account Center > Settings > Global Settings > SCIM invalidates the old one and \
         breaks provisioning from your IdP.",
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some(position) = cursor {
        frame.set_cursor_position(position);
    }
}

fn checkbox(on: bool) -> &'static str {
    if on {
        "[x]"
    } else {
        "[ ]"
    }
}

/// Label, value text and value style for one row.
fn field_row(
    state: &State,
    field: ConnField,
    theme: &Theme,
    editing: bool,
) -> (&'static str, String, Style) {
    let conn = &state.connection;
    let value_style = if editing {
        theme.editing()
    } else {
        Style::new()
    };
    match field {
        ConnField::BaseUrl => ("Base URL", conn.base_url.value.clone(), value_style),
        ConnField::TokenSource => {
            let choices = TokenSourceKind::ALL
                .iter()
                .map(|k| {
                    if *k == conn.source_kind {
                        format!("(•) {}", k.label())
                    } else {
                        format!("( ) {}", k.label())
                    }
                })
                .collect::<Vec<_>>()
                .join("  ");
            ("Token from", choices, Style::new())
        }
        ConnField::TokenValue => match conn.source_kind {
            TokenSourceKind::Paste => {
                let len = conn.pasted.expose().chars().count();
                let text = if len == 0 {
                    "(none: press Enter, then paste)".to_string()
                } else {
                    format!("{} ({len} characters)", "*".repeat(len.min(MASK_MAX)))
                };
                ("Token", text, value_style)
            }
            TokenSourceKind::Env => ("Variable", conn.env_var.value.clone(), value_style),
            TokenSourceKind::File => {
                let text = if conn.file_path.value.is_empty() && !editing {
                    "(path to a file only you can read)".to_string()
                } else {
                    conn.file_path.value.clone()
                };
                ("File", text, value_style)
            }
            TokenSourceKind::Command => {
                let text = if conn.command.value.is_empty() && !editing {
                    "(e.g. op read op://it/salesnav/token)".to_string()
                } else {
                    conn.command.value.clone()
                };
                ("Command", text, value_style)
            }
        },
        ConnField::StoreToken => (
            "Store token",
            format!(
                "{} keep the pasted token with the profile (mode 0600)",
                checkbox(conn.store_token)
            ),
            Style::new(),
        ),
        ConnField::TestButton => {
            let text = match conn.test {
                TestStatus::Running => "[ Testing… ]",
                _ => "[ Test connection ]",
            };
            ("", text.to_string(), theme.key())
        }
        ConnField::Provisioning => (
            "Provisioning",
            format!(
                "{} allow creating and reactivating users",
                checkbox(conn.permissions.provisioning)
            ),
            Style::new(),
        ),
        ConnField::Deprovisioning => (
            "Deprovisioning",
            format!(
                "{} allow deactivating users",
                checkbox(conn.permissions.deprovisioning)
            ),
            Style::new(),
        ),
        ConnField::SaveButton => ("", "[ Save profile ]".to_string(), theme.key()),
    }
}

/// Column of the text cursor within the value, for fields that show one.
fn edit_cursor_column(state: &State, field: ConnField) -> Option<usize> {
    let conn = &state.connection;
    match (field, conn.source_kind) {
        (ConnField::BaseUrl, _) => Some(conn.base_url.cursor),
        (ConnField::TokenValue, TokenSourceKind::Env) => Some(conn.env_var.cursor),
        (ConnField::TokenValue, TokenSourceKind::File) => Some(conn.file_path.cursor),
        (ConnField::TokenValue, TokenSourceKind::Command) => Some(conn.command.cursor),
        _ => None,
    }
}

fn yes_no(theme: &Theme, name: &str, on: bool) -> Vec<Span<'static>> {
    let (mark, style) = if on {
        ("✓", theme.ok())
    } else {
        ("✗", theme.dim())
    };
    vec![
        Span::raw(format!("{name} ")),
        Span::styled(mark, style),
        Span::raw("   "),
    ]
}

fn test_lines(state: &State, theme: &Theme) -> Vec<Line<'static>> {
    match &state.connection.test {
        TestStatus::NotRun => vec![Line::styled(
            "Not tested yet: press t to test the connection.",
            theme.dim(),
        )],
        TestStatus::Running => {
            let waited = state
                .connection
                .test_started
                .map(|t| state.waited(t))
                .unwrap_or(0);
            vec![Line::from(vec![
                Span::raw(format!("Testing the connection… {waited} s ")),
                Span::styled("· Esc cancels", theme.dim()),
            ])]
        }
        TestStatus::Passed(summary) => {
            let mut caps = vec![Span::raw("  Supports: ")];
            caps.extend(yes_no(theme, "filter", summary.filter));
            caps.extend(yes_no(theme, "patch", summary.patch));
            caps.extend(yes_no(theme, "delete", summary.delete));
            caps.extend(yes_no(theme, "bulk", summary.bulk));
            vec![
                Line::from(vec![
                    Span::styled("✓ Connected", theme.ok()),
                    Span::raw(format!(
                        " in {} ms, token valid (checked via {})",
                        summary.latency.as_millis(),
                        summary.probe
                    )),
                ]),
                Line::from(caps),
            ]
        }
        TestStatus::Failed(failure) => vec![
            Line::styled(
                format!("✗ {}", failure.headline),
                theme.level(crate::app::notice::Level::Error),
            ),
            Line::raw(format!("  {}", failure.detail)),
        ],
    }
}
