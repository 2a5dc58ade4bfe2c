//! The Users pane: live lookup progress, filters, and a table that renders only the
//! rows on screen, so 100,000 users cost the same per frame as 1,000.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::overlay::centered;
use super::theme::Theme;
use crate::app::notice::Level;
use crate::app::state::State;
use crate::app::users::{StatusFilter, StoredDetails, UsersState};
use crate::matching::{AttemptResult, MatchStatus, Presence};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let users = &state.users;
    let block = Block::bordered()
        .title(title(users))
        .border_style(theme.border());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if users.directory.is_empty() {
        render_empty(frame, inner, users, theme);
    } else {
        let [progress, filters, table] = crate::app::layout::users_areas(inner);
        frame.render_widget(
            Paragraph::new(progress_line(users, state.waited_on_lookups(), theme)),
            progress,
        );
        frame.render_widget(Paragraph::new(filter_line(users, theme)), filters);
        render_table(frame, table, users, state.now, theme);
    }
    if users.details_open {
        render_details(frame, area, state, theme);
    }
    if users.files_open {
        render_files(frame, area, users, theme);
    }
    if users.sources.open {
        super::sources::render(frame, area, state, theme);
    }
    if let Some(dialog) = &users.mapping {
        render_mapping(frame, area, dialog, theme);
    }
    if let Some(prompt) = &users.prompt {
        if let crate::app::users::PromptKind::ConfirmLink { index, user, why } = &prompt.kind {
            render_confirm_link(frame, area, users, *index, user, why, theme);
        }
        super::overlay::render_prompt(
            frame,
            area,
            &prompt.title(),
            &prompt.input,
            &state.field_hint(),
            theme,
        );
    }
}

/// The source user and a SCIM user side by side, with why they disagree: the
/// details of a `conflict` and the confirmation of a doubtful hand link.
fn identity_lines(
    user: &crate::matching::DirUser,
    scim: &crate::scim::ScimUser,
    why: &[String],
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let row = |name: &str, ours: String, theirs: String, style: ratatui::style::Style| {
        Line::from(vec![
            Span::styled(format!("{name:<12}"), theme.label()),
            Span::styled(format!("{ours:<40} "), style),
            Span::styled(theirs, style),
        ])
    };
    lines.push(row(
        "",
        "In the exports".into(),
        format!("SCIM user {}", scim.id.as_deref().unwrap_or("(no id)")),
        theme.title(),
    ));
    let differs = |a: &str, b: &str| {
        if !a.is_empty() && !b.is_empty() && a.trim().to_lowercase() != b.trim().to_lowercase() {
            theme.level(Level::Error)
        } else {
            ratatui::style::Style::default()
        }
    };
    let email = user.email.clone().unwrap_or_default();
    let scim_email = scim.primary_email().unwrap_or_default().to_string();
    lines.push(row(
        "Email",
        email.clone(),
        scim_email.clone(),
        differs(&email, &scim_email),
    ));
    let un = user.user_name.clone().unwrap_or_default();
    lines.push(row(
        "userName",
        un.clone(),
        scim.user_name.clone(),
        differs(&un, &scim.user_name),
    ));
    let ext = user.external_id().unwrap_or_default().to_string();
    let scim_ext = scim.external_id.clone().unwrap_or_default();
    lines.push(row(
        "externalId",
        ext.clone(),
        scim_ext.clone(),
        differs(&ext, &scim_ext),
    ));
    let name = user.name();
    let scim_name = scim
        .display_name
        .clone()
        .or_else(|| {
            scim.name.as_ref().map(|n| {
                [n.given_name.as_deref(), n.family_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .unwrap_or_default();
    lines.push(row(
        "Name",
        name,
        scim_name,
        ratatui::style::Style::default(),
    ));
    for w in why {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<12}", "Why"), theme.label()),
            Span::styled(w.clone(), theme.level(Level::Error)),
        ]));
    }
    lines
}

/// The confirmation of a hand link whose SCIM user disagrees with the row.
fn render_confirm_link(
    frame: &mut Frame,
    area: Rect,
    users: &UsersState,
    index: usize,
    scim: &crate::scim::ScimUser,
    why: &[String],
    theme: &Theme,
) {
    let Some(user) = users.directory.users.get(index) else {
        return;
    };
    let lines = identity_lines(user, scim, why, theme);
    super::overlay::render_scrolled(
        frame,
        area,
        "This link contradicts what the exports say",
        lines,
        0,
        theme,
    );
}

fn title(users: &UsersState) -> String {
    // Sources, not files: an Okta or Entra ID connection is one too.
    let mut t = format!(
        " Users · {} from {} source{}",
        thousands(users.directory.len()),
        users.files.len(),
        if users.files.len() == 1 { "" } else { "s" }
    );
    let orphans = users.orphan_count();
    if orphans > 0 {
        t.push_str(&format!(" · {orphans} orphan seats"));
    }
    super::push_marks(&mut t, users.table.marks.len(), users.hidden_marks());
    t.push(' ');
    t
}

fn render_empty(frame: &mut Frame, area: Rect, users: &UsersState, theme: &Theme) {
    let mut lines = vec![
        Line::raw(""),
        Line::styled("No users loaded yet.", theme.title()),
        Line::raw(""),
        Line::raw("Press L to load a CSV: identity-provider app assignments (Okta, Entra ID,"),
        Line::raw("any file with emails) or the Sales Navigator user export. navscim looks"),
        Line::raw("every user up over SCIM, one by one: the service cannot list users."),
        Line::raw(""),
        Line::raw("Or press o for the sources: read the app's assignments straight from Okta"),
        Line::raw("or Microsoft Entra ID, refreshed whenever you ask."),
    ];
    for problem in &users.unmapped {
        lines.push(Line::raw(""));
        lines.push(Line::styled(problem.to_string(), theme.level(Level::Error)));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// `done/total · what it waits for · counts · rate · ETA · requests`.
fn progress_line(users: &UsersState, waited: Option<u64>, theme: &Theme) -> Line<'static> {
    let p = &users.progress;
    let mut spans = Vec::new();
    if p.running {
        let verb = if p.cancelling {
            "Cancelling"
        } else {
            "Looking up"
        };
        spans.push(Span::styled(
            format!("{verb} {}/{} ", thousands(p.done), thousands(p.total)),
            theme.level(Level::Warn),
        ));
        if let Some(secs) = waited {
            let in_flight = p.started.saturating_sub(p.done);
            let what = if in_flight == 0 {
                "for the connection".to_string()
            } else {
                format!("for the server's answer to {in_flight} lookups")
            };
            spans.push(Span::styled(
                format!("· waiting {secs} s {what} · c cancels "),
                theme.level(Level::Warn),
            ));
        }
    }
    for (status, n) in users.status_counts() {
        spans.push(Span::styled(
            format!("{} {}", thousands(n), status.label()),
            status_style(status, theme),
        ));
        spans.push(Span::raw(" · "));
    }
    if p.total > 0 {
        spans.push(Span::styled(format!("{:.0}/s", p.rate()), theme.dim()));
        if let Some(eta) = p.eta() {
            spans.push(Span::styled(
                format!(" · ETA {}s", eta.as_secs()),
                theme.dim(),
            ));
        }
        spans.push(Span::styled(
            format!(
                " · {} req · {} retries · {} throttled",
                thousands(p.requests as usize),
                p.retries,
                p.throttled
            ),
            theme.dim(),
        ));
    } else if spans.last().is_some() {
        spans.pop();
    }
    if !p.running {
        // Nothing is queued while no run is on: the pending and error counts are it
        // (from the kept counts, not a pass over every row each frame).
        let remaining: usize = users
            .status_counts()
            .into_iter()
            .filter(|(s, _)| matches!(s, MatchStatus::Pending | MatchStatus::Error))
            .map(|(_, n)| n)
            .sum();
        if remaining > 0 {
            // Essential first: the key that finishes the job, before the counters.
            spans.insert(
                0,
                Span::styled(
                    format!("{} not done · e looks them up · ", thousands(remaining)),
                    theme.level(Level::Warn),
                ),
            );
        }
    }
    Line::from(spans)
}

fn filter_line(users: &UsersState, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    let filter_style = if users.table.filter_editing {
        theme.editing()
    } else {
        Style::new()
    };
    spans.push(Span::styled("/", theme.key()));
    let text = if users.table.filter.value.is_empty() && !users.table.filter_editing {
        "filter".to_string()
    } else {
        users.table.filter.value.clone()
    };
    spans.push(Span::styled(
        format!("{text:<16}"),
        if users.table.filter.value.is_empty() && !users.table.filter_editing {
            theme.dim()
        } else {
            filter_style
        },
    ));
    spans.push(Span::raw("  "));
    spans.push(Span::styled("f", theme.key()));
    let status = users.status_filter.label();
    spans.push(Span::styled(
        format!(" {status}"),
        if users.status_filter == StatusFilter::All {
            Style::new()
        } else {
            theme.level(Level::Warn)
        },
    ));
    spans.push(Span::raw("  "));
    spans.push(Span::styled("s", theme.key()));
    let sort = match users.table.sort {
        None => " file order".to_string(),
        Some((column, descending)) => {
            format!(" {} {}", column.label(), if descending { "↓" } else { "↑" })
        }
    };
    spans.push(Span::raw(sort));
    spans.push(Span::styled(
        format!(
            "   {} of {} shown",
            thousands(users.table.view.len()),
            thousands(users.directory.len())
        ),
        theme.dim(),
    ));
    Line::from(spans)
}

fn status_style(status: MatchStatus, theme: &Theme) -> Style {
    match status {
        MatchStatus::Matched { active: true } => theme.ok(),
        MatchStatus::Matched { active: false } => theme.dim(),
        MatchStatus::NotFound | MatchStatus::Ambiguous => theme.level(Level::Warn),
        MatchStatus::Error | MatchStatus::Conflict => theme.level(Level::Error),
        MatchStatus::Ignored | MatchStatus::Pending => theme.dim(),
        MatchStatus::LookingUp => theme.level(Level::Info),
    }
}

fn render_table(
    frame: &mut Frame,
    area: Rect,
    users: &UsersState,
    now: chrono::DateTime<chrono::Utc>,
    theme: &Theme,
) {
    use super::table::{Column, TableRow};
    let height = area.height.saturating_sub(1) as usize;
    let wide = area.width >= 110;
    let extra_wide = area.width >= 150;
    // Narrow terminals (80 columns) keep who and why; wide ones add the ids and seat.
    // Columns are as wide as their content; short of space, the email (who the row
    // is) gets by far the larger share, so at 80 columns it shows whole; the detail
    // (also in the details panel) gets what is left.
    use crate::app::users::UserColumn as C;
    // Sized from the whole view (measured by the reducer), not only the rows shown.
    let content = |c: C| {
        users
            .table
            .content_widths
            .get(c as usize)
            .copied()
            .unwrap_or(0)
    };
    let mut columns = vec![
        Column::fixed("", 2),
        Column::new("Status").min(9).content(content(C::Status)),
        Column::new("Name")
            .min(12)
            .max(30)
            .weight(2)
            .content(content(C::Name)),
        Column::new("Email")
            .min(16)
            .weight(8)
            .content(content(C::Email)),
    ];
    if wide {
        columns.extend([
            Column::new("externalId")
                .min(8)
                .content(content(C::ExternalId)),
            Column::new("Seat").min(6).content(content(C::Seat)),
            // When the result was checked, as the reducer's clock sees it ("3 d ago");
            // at most "59 min ago" wide, so it is not measured.
            Column::new("Checked").min(8).max(10),
        ]);
    }
    if extra_wide {
        columns.extend([
            Column::new("SCIM id")
                .min(8)
                .max(36)
                .content(content(C::ScimId)),
            Column::new("Src").content(content(C::Src)),
        ]);
    }
    columns.push(
        Column::new("Detail")
            .min(8)
            .weight(1)
            .content(content(C::Detail)),
    );

    let rows = super::visible_rows(&users.table, height)
        .map(|(position, index)| {
            let status = users.rows[index].status();
            let marked = users.table.marks.contains(&index);
            let cell = |c: C| users.cell(index, c).into_owned();
            let mut cells = TableRow::new(theme.row(marked, position == users.table.cursor))
                .cell(if marked { "●" } else { " " })
                .styled(cell(C::Status), status_style(status, theme))
                .cell(cell(C::Name))
                .cell(cell(C::Email));
            if wide {
                let checked = users.rows[index]
                    .checked_at
                    .map(|at| crate::app::workspace::age(now, at))
                    .unwrap_or_default();
                cells = cells
                    .cell(cell(C::ExternalId))
                    .cell(cell(C::Seat))
                    .styled(checked, theme.dim());
            }
            if extra_wide {
                cells = cells.cell(cell(C::ScimId)).cell(cell(C::Src));
            }
            cells.styled(cell(C::Detail), theme.dim())
        })
        .collect();
    super::table::render(frame, area, &columns, rows, theme);
}

fn render_details(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let users = &state.users;
    let Some(index) = users.cursor_user() else {
        return;
    };
    let user = &users.directory.users[index];
    let row = &users.rows[index];
    let mut lines: Vec<Line> = Vec::new();
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<14}"), theme.label()),
            Span::raw(value),
        ])
    };
    lines.push(field("Status", row.status().label().to_string()));
    if let Some(at) = row.checked_at {
        lines.push(field(
            "Checked",
            format!(
                "{} ({})",
                at.format("%Y-%m-%d %H:%M UTC"),
                crate::app::workspace::age(state.now, at)
            ),
        ));
    }
    if row.linked {
        // The admin's own decision, kept in the workspace: said apart from how the
        // lookup found the user ("by stored id").
        lines.push(field(
            "Linked",
            format!(
                "by hand to SCIM id {} (verified by GET when linked)",
                row.scim_id().unwrap_or("?")
            ),
        ));
    }
    for (at, text) in users.notes.get(&user.key).into_iter().flatten() {
        lines.push(field(
            "Note",
            format!("{} ({})", text, at.format("%Y-%m-%d %H:%M")),
        ));
    }
    // The full outcome: held by this session, or read from the workspace on opening.
    let full = users.full_outcome(index);
    if row.status() == MatchStatus::Conflict {
        if let Some(o) = full {
            let why: Vec<String> = o
                .error
                .as_deref()
                .map(|e| e.split("; ").map(str::to_string).collect())
                .unwrap_or_default();
            if let Some(scim) = o.user.as_ref() {
                lines.extend(identity_lines(user, scim, &why, theme));
            }
            for other in &o.candidates {
                lines.extend(identity_lines(user, other, &[], theme));
            }
            lines.push(Line::raw(""));
        }
    }
    lines.push(field("Name", user.name()));
    lines.push(field("Email", user.email.clone().unwrap_or_default()));
    lines.push(field(
        "User name",
        user.user_name.clone().unwrap_or_default(),
    ));
    lines.push(field("IdP id", user.idp_id.clone().unwrap_or_default()));
    let presence = match users.presence(index) {
        Presence::Both => "in the IdP file(s) and the Sales Navigator export",
        Presence::OrphanSeat => {
            "ORPHAN SEAT: in the Sales Navigator export, in no IdP file (likely a leaver)"
        }
        Presence::Missing => "MISSING: in an IdP file, not in the Sales Navigator export",
        Presence::Unknown => "only one kind of file loaded",
    };
    lines.push(field("Presence", presence.to_string()));
    if !user.other_seats.is_empty() {
        lines.push(field(
            "Seats",
            format!(
                "{} seats for this one person: no single seat id identifies them",
                1 + user.other_seats.len()
            ),
        ));
    }
    for seat in user.seat.iter().chain(&user.other_seats) {
        lines.push(field(
            "Seat",
            format!(
                "licence {} · seat {} · unique_user_id {}{}",
                seat.license_status
                    .as_ref()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_else(|| "?".into()),
                seat.seat_id.clone().unwrap_or_default(),
                seat.unique_user_id.clone().unwrap_or_default(),
                if seat.is_admin {
                    " · ADMIN (protected)"
                } else {
                    ""
                }
            ),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Source rows", theme.title()));
    for source in &user.sources {
        // An identity provider's assignment is named by how it reaches the user (its
        // "line" is only the user's place in the listing); a file by file:line.
        let idp = crate::app::users::state::idp_listing(&source.file);
        lines.push(Line::raw(if idp {
            format!("  {}", source.file)
        } else {
            format!("  {source}")
        }));
    }
    if user.duplicate_rows > 0 {
        lines.push(Line::raw(format!(
            "  (+{} duplicate rows merged)",
            user.duplicate_rows
        )));
    }
    if let (None, Some(summary)) = (full, row.outcome.as_deref()) {
        lines.push(Line::raw(""));
        let key = user.key.as_str();
        let why = match &users.stored_details {
            StoredDetails::Failed(k, why) if k == key => {
                format!("The full result could not be read from the workspace: {why}")
            }
            StoredDetails::Read(k, None) if k == key => {
                "The workspace holds no full result for this user".to_string()
            }
            _ => "Reading the full result from the workspace…".to_string(),
        };
        lines.push(Line::styled(why, theme.dim()));
        if !summary.detail.is_empty() {
            lines.push(field("Result", summary.detail.clone()));
        }
        if let Some(scim) = &summary.scim {
            lines.push(field("SCIM id", scim.id.clone()));
        }
    }
    if let Some(outcome) = full {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Lookups tried", theme.title()));
        for attempt in &outcome.attempts {
            let result = match &attempt.result {
                AttemptResult::Hits(1) => "1 exact hit".to_string(),
                AttemptResult::Hits(n) => format!("{n} exact hits"),
                AttemptResult::NotFound => "no exact hit".to_string(),
                AttemptResult::Unsupported(d) => format!("unsupported by the server: {d}"),
                AttemptResult::Error(e) => format!("error: {e}"),
                AttemptResult::Skipped(why) => format!("skipped: {why}"),
            };
            lines.push(Line::raw(format!(
                "  {:<13} {}",
                attempt.kind.label(),
                attempt.request
            )));
            lines.push(Line::styled(
                format!(
                    "  {:<13} → {result} ({} request{})",
                    "",
                    attempt.requests,
                    if attempt.requests == 1 { "" } else { "s" }
                ),
                theme.dim(),
            ));
        }
        for warning in &outcome.warnings {
            lines.push(Line::styled(
                format!("  ⚠ {warning}"),
                theme.level(Level::Warn),
            ));
        }
        if let Some(error) = &outcome.error {
            lines.push(Line::styled(
                format!("  last error: {error}"),
                theme.level(Level::Error),
            ));
        }
        let resources: Vec<&crate::scim::ScimUser> = outcome
            .user
            .iter()
            .chain(outcome.candidates.iter())
            .collect();
        for (i, resource) in resources.iter().enumerate() {
            lines.push(Line::raw(""));
            let heading = if outcome.user.is_some() && i == 0 {
                "SCIM resource".to_string()
            } else {
                format!("Candidate {}", i + 1 - usize::from(outcome.user.is_some()))
            };
            lines.push(Line::styled(heading, theme.title()));
            let json = serde_json::to_string_pretty(resource).unwrap_or_default();
            lines.extend(json.lines().map(|l| Line::raw(format!("  {l}"))));
        }
    }
    super::overlay::render_scrolled(
        frame,
        area,
        &user.name(),
        lines,
        users.details_scroll,
        theme,
    );
}

/// 12345 -> "12,345".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn render_mapping(
    frame: &mut Frame,
    area: Rect,
    dialog: &crate::app::users::MappingDialog,
    theme: &Theme,
) {
    let mut lines = vec![
        Line::raw(format!(
            "navscim cannot tell which column holds these fields ({}).",
            dialog.needs.format.label()
        )),
        Line::raw(format!("Columns: {}", dialog.needs.headers.join(" · "))),
        Line::raw(""),
    ];
    for (i, (field, choice)) in dialog.choices.iter().enumerate() {
        let column = match choice {
            Some(c) => format!(
                "‹ {} › (column {})",
                dialog
                    .needs
                    .headers
                    .get(*c)
                    .map(String::as_str)
                    .unwrap_or("?"),
                c + 1
            ),
            None => "‹ no column ›".to_string(),
        };
        let style = if i == dialog.focus {
            theme.focus()
        } else {
            Style::new()
        };
        let marker = if i == dialog.focus { "▶ " } else { "  " };
        lines.push(Line::styled(
            format!("{marker}{:<16} {column}", field.label()),
            style,
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "Headless: --map {}",
            crate::app::users::reducer::mapping_text(dialog)
        ),
        theme.dim(),
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, area.width.saturating_sub(4).min(100), height);
    let block = Block::bordered()
        .title(format!(" Map the columns of {} ", dialog.needs.file))
        .border_style(theme.overlay_border());
    super::render_dialog(frame, rect, block, lines);
}

/// The loaded files, what each brought, and every problem with its file:line:column.
fn render_files(frame: &mut Frame, area: Rect, users: &UsersState, theme: &Theme) {
    let mut lines: Vec<Line> = Vec::new();
    if users.files.is_empty() {
        lines.push(Line::raw("No file loaded yet (L loads one)."));
    }
    for file in &users.files {
        lines.push(Line::styled(
            format!("{} — {}", file.name, file.format),
            theme.title(),
        ));
        lines.push(Line::raw(format!(
            "  {} rows read · {} new users · {} duplicate rows merged · {} problems",
            thousands(file.rows),
            thousands(file.new_users),
            file.duplicates_merged,
            file.problems.len()
        )));
        for problem in &file.problems {
            lines.push(Line::styled(
                format!("  {problem}"),
                theme.level(Level::Warn),
            ));
        }
        lines.push(Line::raw(""));
    }
    for failure in &users.unmapped {
        lines.push(Line::styled(failure.to_string(), theme.level(Level::Error)));
    }
    super::overlay::render_scrolled(
        frame,
        area,
        "Loaded files",
        lines,
        users.details_scroll,
        theme,
    );
}
