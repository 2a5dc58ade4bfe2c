//! The Users pane and identity (issue 10): a hand link to a SCIM user whose identity
//! contradicts the row, or that another user already holds, asks for confirmation
//! showing both identities; `conflict` has its filter, count and details. Reducer
//! level, no network.

use std::time::Duration;

use navscim::app::connection::ConnectionState;
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::users::{PromptKind, StatusFilter};
use navscim::app::Action;

use crate::harness::reduce;
use navscim::import::{import_str, ImportOptions};
use navscim::matching::{LookupKind, LookupOutcome, MatchStatus};
use navscim::runtime::{buffer_text, render_to_buffer};
use navscim::scim::ScimUser;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const SN: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n\
    ann@corp.example,Ann,Lee,E1,S1,ACTIVE,,NONE,\n\
    bob@corp.example,Bob,Ray,E2,S2,ACTIVE,,NONE,\n";

fn key(s: &mut State, code: KeyCode) {
    reduce(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}

fn scim(id: &str, email: &str, ext: &str) -> ScimUser {
    serde_json::from_value(serde_json::json!({
        "id": id, "userName": email, "externalId": ext,
        "emails": [{"value": email, "primary": true}], "active": true
    }))
    .unwrap()
}

fn loaded() -> State {
    let mut s = State::new(ConnectionState::new("p", "https://scim.example"), true);
    reduce(&mut s, Action::Resize(120, 30));
    let import = import_str("sn.csv", SN, &ImportOptions::default()).unwrap();
    reduce(
        &mut s,
        Action::FilesImported {
            results: vec![(
                navscim::app::ImportSource::Path("sn.csv".into()),
                Ok(import),
            )],
            lookup_after: false,
        },
    );
    s.tab = Tab::Users;
    s
}

fn matched(s: &mut State, index: usize, user: ScimUser) {
    reduce(
        s,
        Action::LookupFinished {
            batch: 1,
            index,
            outcome: Box::new(LookupOutcome {
                status: MatchStatus::Matched { active: true },
                matched_by: Some(LookupKind::ExternalId),
                user: Some(user),
                candidates: vec![],
                attempts: vec![],
                error: None,
                warnings: vec![],
            }),
            at: Duration::from_millis(5),
            stats: Default::default(),
        },
    );
}

fn verified(s: &mut State, index: usize, user: ScimUser) {
    let id = user.id.clone().unwrap();
    reduce(
        s,
        Action::LinkVerified {
            index,
            scim_id: id,
            result: Ok(Some(Box::new(user))),
        },
    );
}

/// Ann's row linked by hand to Bob's SCIM user: a confirmation with both identities;
/// Esc or anything but `yes` leaves Ann unlinked; `yes` links (the admin's decision).
#[test]
fn a_hand_link_to_a_contradicting_scim_user_asks_first() {
    let mut s = loaded();
    let bob = scim("s-2", "bob@corp.example", "E2");
    verified(&mut s, 0, bob.clone());
    let Some(prompt) = &s.users.prompt else {
        panic!("no confirmation: {:?}", s.users.rows[0]);
    };
    let PromptKind::ConfirmLink { index, why, .. } = &prompt.kind else {
        panic!("{:?}", prompt.kind);
    };
    assert_eq!(*index, 0);
    assert!(
        why.iter().any(|w| w.contains("bob@corp.example")),
        "{why:?}"
    );
    assert_eq!(s.users.rows[0].status(), MatchStatus::Pending);
    let text = buffer_text(&render_to_buffer(&s, 120, 30));
    assert!(
        text.contains("ann@corp.example") && text.contains("bob@corp.example"),
        "{text}"
    );

    // Anything but yes: not linked.
    typed(&mut s, "no");
    key(&mut s, KeyCode::Enter);
    assert!(s.users.prompt.is_none());
    assert_eq!(s.users.rows[0].status(), MatchStatus::Pending);
    assert!(!s.users.rows[0].linked);

    // Esc: not linked either.
    verified(&mut s, 0, bob.clone());
    key(&mut s, KeyCode::Esc);
    assert!(s.users.prompt.is_none());
    assert!(!s.users.rows[0].linked);

    // yes: linked, by the admin's explicit decision.
    verified(&mut s, 0, bob);
    typed(&mut s, "yes");
    key(&mut s, KeyCode::Enter);
    assert!(s.users.rows[0].linked);
    assert_eq!(s.users.rows[0].scim_id(), Some("s-2"));
}

/// A link to a SCIM user another row already holds asks first too, and a link that
/// agrees with the row is made at once.
#[test]
fn a_hand_link_to_an_already_held_scim_user_asks_first() {
    let mut s = loaded();
    // Bob matched to s-2; Ann's row carries no contradicting identifier for "s-2"
    // only if the SCIM user agrees with Ann: give it Ann's email and id, held by Bob.
    let shared = scim("s-2", "ann@corp.example", "E1");
    matched(&mut s, 1, scim("s-2", "bob@corp.example", "E2"));
    verified(&mut s, 0, shared);
    let Some(prompt) = &s.users.prompt else {
        panic!("no confirmation");
    };
    let PromptKind::ConfirmLink { why, .. } = &prompt.kind else {
        panic!("{:?}", prompt.kind);
    };
    assert!(
        why.iter()
            .any(|w| w.contains("already held by bob@corp.example")),
        "{why:?}"
    );
    key(&mut s, KeyCode::Esc);

    // Agreeing and free: linked without a question.
    verified(&mut s, 0, scim("s-1", "ann@corp.example", "E1"));
    assert!(s.users.prompt.is_none());
    assert!(s.users.rows[0].linked);
    assert_eq!(
        s.users.rows[0].status(),
        MatchStatus::Matched { active: true }
    );
}

/// Two rows on one SCIM user become conflicts when the batch ends; the filter, the
/// counts and the details know them.
#[test]
fn conflicts_have_a_filter_a_count_and_details_side_by_side() {
    let mut s = loaded();
    let shared = scim("s-9", "ann@corp.example", "E1");
    // Bob's row reached Ann's SCIM user (say, by a stale stored id) and agrees on
    // nothing: the lookup would have said conflict; here both rows claim s-9.
    matched(&mut s, 0, shared.clone());
    let mut lookalike = shared;
    lookalike.emails.push(navscim::scim::Email {
        value: "bob@corp.example".into(),
        kind: None,
        primary: None,
    });
    lookalike.external_id = Some("E2".into());
    matched(&mut s, 1, lookalike);
    reduce(
        &mut s,
        Action::LookupBatchDone {
            batch: 1,
            cancelled: 0,
            error: None,
        },
    );
    for i in 0..2 {
        assert_eq!(s.users.rows[i].status(), MatchStatus::Conflict, "{i}");
    }
    assert!(navscim::app::users::reducer::summary(&s.users).contains("2 conflict"));
    while s.users.status_filter != StatusFilter::Conflict {
        reduce(&mut s, Action::Command(Command::CycleStatusFilter));
    }
    assert_eq!(s.users.table.view.len(), 2);
    reduce(&mut s, Action::Command(Command::Details));
    let text = buffer_text(&render_to_buffer(&s, 120, 30));
    assert!(text.contains("In the exports"), "{text}");
    assert!(text.contains("SCIM user s-9"), "{text}");
    assert!(text.contains("same SCIM user"), "{text}");
}

/// `R` with a typed value that finds another person's SCIM user: not a match but a
/// conflict, and the confirmation with both identities is offered.
#[test]
fn a_relookup_by_a_typed_value_that_finds_someone_else_asks_first() {
    let mut s = loaded();
    key(&mut s, KeyCode::Char('R'));
    typed(&mut s, "bob@corp.example");
    let effects = reduce(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let job_user = match &effects[..] {
        [navscim::app::Effect::LookupUsers { jobs, .. }] => jobs[0].user.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(job_user.user_name.as_deref(), Some("bob@corp.example"));
    // The engine compared the hit with the job (whose userName is the typed value)
    // and called it a match; the reducer compares it with Ann's row.
    matched(&mut s, 0, scim("s-2", "bob@corp.example", "E2"));
    assert_eq!(s.users.rows[0].status(), MatchStatus::Conflict);
    let Some(prompt) = &s.users.prompt else {
        panic!("no confirmation");
    };
    assert!(matches!(
        prompt.kind,
        PromptKind::ConfirmLink { index: 0, .. }
    ));
    typed(&mut s, "yes");
    key(&mut s, KeyCode::Enter);
    assert!(s.users.rows[0].linked);
    assert_eq!(s.users.rows[0].scim_id(), Some("s-2"));
}
