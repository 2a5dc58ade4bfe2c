//! One-line notices say the essential first (issue 13, item 4): at 80x24 the status
//! line shows the counts of a load, what a gate refused and a batch's outcome; what
//! does not fit ends in "… M" and the message log keeps the whole line.

use crate::harness::{demo_session, press, reduce, screen};
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::{Action, ImportSource};
use navscim::import::{demo, import_str, ImportOptions};
use ratatui::crossterm::event::KeyCode;

/// The status line (the notice) of the screen at `w` x `h`.
fn status_line(s: &State, w: u16, h: u16) -> String {
    let text = screen(s, w, h);
    text.lines().nth(h as usize - 2).unwrap_or("").to_string()
}

#[test]
fn a_load_of_files_with_long_names_shows_its_counts_first_at_80_columns() {
    let mut s = navscim::cli::tui::demo_state(
        "https://scim.demo.example/v2",
        &navscim::cli::ConnectionArgs::default(),
    );
    s.no_color = true;
    reduce(&mut s, Action::Resize(80, 24));
    s.tab = Tab::Users;
    let long = "/home/admin/Downloads/exports/2026-03/sales-navigator";
    let okta = format!("{long}/okta-assignments-final-v2.csv");
    let seats = format!("{long}/seat-holders-export-march.csv");
    let results = [
        (okta.as_str(), demo::IDP_OKTA_CSV),
        (seats.as_str(), demo::SALESNAV_USERS_CSV),
    ]
    .into_iter()
    .map(|(name, text)| {
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let source = ImportSource::Embedded { name, text };
        (source, import_str(name, text, &ImportOptions::default()))
    })
    .collect();
    reduce(
        &mut s,
        Action::FilesImported {
            results,
            lookup_after: false,
        },
    );
    let n = s.users.directory.users.len();
    assert!(n > 1000);
    let line = status_line(&s, 80, 24);
    let count = format!(" {n} new users");
    assert!(line.starts_with(&count), "{count:?} first in {line:?}");
    assert!(
        line.ends_with("… M"),
        "cut, and says where the rest is: {line:?}"
    );
    // The whole line is in the message log, file names included.
    let (_, last) = s.messages.back().expect("logged");
    assert!(
        last.text.contains("okta-assignments-final-v2.csv"),
        "{}",
        last.text
    );
    assert!(
        last.text.contains("seat-holders-export-march.csv"),
        "{}",
        last.text
    );
}

#[test]
fn a_gate_refusal_says_what_stands_in_the_way_first_at_80_columns() {
    let mut s = demo_session(true);
    s.tab = Tab::Users;
    reduce(&mut s, Action::Command(Command::PlanDeactivate));
    assert!(s.actions.review.is_some(), "a plan to review");
    s.tab = Tab::Actions;
    press(&mut s, KeyCode::Char('x'));
    assert!(s.actions.confirm.is_none(), "read-only: refused");
    let line = status_line(&s, 80, 24);
    assert!(
        line.starts_with(" Refused, nothing sent: Deprovisioning not ticked (pane 1)"),
        "{line:?}"
    );
    // Wide enough, the whole sentence shows, uncut.
    let wide = status_line(&s, 200, 50);
    assert!(
        wide.contains("tick Deprovisioning on the Connection pane (1)"),
        "{wide:?}"
    );
    assert!(!wide.contains("… M"), "{wide:?}");
}

#[test]
fn a_batch_summary_shows_its_counts_and_what_next_first_at_80_columns() {
    let mut s = demo_session(true);
    s.tab = Tab::Actions;
    let summary = navscim::apply::BatchSummary {
        batch: "20260302T100000Z-7f3a9c2e41d0".into(),
        journal: "/tmp/journal/20260302T100000Z-7f3a9c2e41d0.jsonl".into(),
        total: 10,
        applied: 3,
        already: 0,
        failed: 1,
        not_started: 6,
        status: navscim::journal::EndStatus::Cancelled,
        reason: Some("cancelled by the admin: requests in flight finished".into()),
        failures: Vec::new(),
        requests_sent: 4,
        elapsed_ms: 1200,
    };
    reduce(
        &mut s,
        Action::ApplyDone {
            result: Ok(Box::new(summary)),
        },
    );
    let line = status_line(&s, 80, 24);
    assert!(
        line.starts_with(" Batch cancelled: 3 applied, 1 failed, 6 not done · R resumes, u undoes"),
        "{line:?}"
    );
    let (_, last) = s.messages.back().expect("logged");
    assert!(
        last.text.ends_with("batch 20260302T100000Z-7f3a9c2e41d0"),
        "{}",
        last.text
    );
}
