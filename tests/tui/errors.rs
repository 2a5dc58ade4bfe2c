//! Effect errors reach the dashboard typed ([`AppError`]): the reducer decides by the
//! error's kind what the admin is told and what changes, and no secret gets through.

use crate::harness::{demo_session, reduce, screen};
use navscim::app::state::Tab;
use navscim::app::Action;
use navscim::error::{AppError, ErrorKind, InputPlace};
use navscim::scim::ScimError;
use navscim::workspace::WorkspaceError;

fn notice(s: &navscim::app::state::State) -> String {
    s.notice.as_ref().expect("a notice").text.clone()
}

/// A link check the server refused for the token says where the token is fixed; any
/// other failure does not send the admin there.
#[test]
fn a_refused_token_on_a_link_check_points_to_the_connection_pane() {
    let mut s = demo_session(true);
    let refused = AppError::from(ScimError::Unauthorized {
        status: 401,
        detail: "invalid token".into(),
    });
    assert_eq!(refused.kind, ErrorKind::Auth);
    reduce(
        &mut s,
        Action::LinkVerified {
            index: 0,
            scim_id: "abc123".into(),
            result: Err(refused),
        },
    );
    let text = notice(&s);
    assert!(
        text.starts_with("Not linked: could not verify SCIM id abc123: "),
        "{text}"
    );
    assert!(
        text.contains("fix the token on the Connection pane (1)"),
        "{text}"
    );

    let down = AppError::from(ScimError::Network("connection refused".into()));
    reduce(
        &mut s,
        Action::LinkVerified {
            index: 0,
            scim_id: "abc123".into(),
            result: Err(down),
        },
    );
    let text = notice(&s);
    assert!(text.contains("connection refused"), "{text}");
    assert!(!text.contains("Connection pane"), "{text}");
}

/// A write refused because the workspace is no longer this session's (another navscim
/// took it, or it is a read-only view) makes the dashboard read-only: said in the
/// notice and the title's badge, and nothing more is sent to the writer.
#[test]
fn a_workspace_write_refused_as_locked_makes_the_dashboard_read_only() {
    let mut s = demo_session(true);
    s.workspace.writable = true;
    let locked = AppError::from(WorkspaceError::Locked {
        path: "/tmp/ws.navscim".into(),
        holder: "pid 4242".into(),
    });
    reduce(
        &mut s,
        Action::WorkspaceWritten {
            what: "Saving a note",
            result: Err(locked),
        },
    );
    let text = notice(&s);
    assert!(text.contains("in use by another navscim"), "{text}");
    assert!(text.contains("read-only"), "{text}");
    assert!(!s.workspace.writable, "still written to");
    assert_eq!(s.workspace.badge(), Some("workspace read-only"));
    s.tab = Tab::Users;
    assert!(screen(&s, 120, 40).contains("workspace read-only"));

    // Any other failed write leaves the workspace writable (the next write may work).
    let mut s = demo_session(true);
    s.workspace.writable = true;
    reduce(
        &mut s,
        Action::WorkspaceWritten {
            what: "Saving a note",
            result: Err(AppError::from(WorkspaceError::Storage {
                path: "/tmp/ws.navscim".into(),
                message: "disk I/O error".into(),
            })),
        },
    );
    assert!(s.workspace.writable);
    assert!(notice(&s).contains("disk I/O error"), "{}", notice(&s));
}

/// A plan file that is not a valid plan is named with its line and the field that is
/// wrong, first in the notice.
#[test]
fn a_plan_that_cannot_be_read_names_its_file_line_and_field() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(
        &path,
        "{\n  \"version\": 1,\n  \"created_at\": \"2026-01-01T00:00:00Z\"\n}\n",
    )
    .unwrap();
    let err = navscim::plan::Plan::read(&path).unwrap_err();
    let file = path.display().to_string();
    assert_eq!(
        err.kind,
        ErrorKind::Input(InputPlace {
            file: file.clone(),
            line: Some(4),
            field: Some("inputs".into()),
        })
    );
    assert_eq!(err.exit_code(), navscim::cli::exit::USAGE);
    // The CLI's words are unchanged.
    assert_eq!(
        navscim::plan::Plan::load(&path).unwrap_err(),
        err.message,
        "navscim apply's message"
    );

    let mut s = demo_session(true);
    reduce(&mut s, Action::PlanLoaded { result: Err(err) });
    let text = notice(&s);
    assert!(
        text.starts_with(&format!(
            "Plan not loaded ({file}, line 4, field \"inputs\"): "
        )),
        "{text}"
    );
    assert!(text.contains("missing field `inputs`"), "{text}");
}

/// An error that carries a registered secret (a library's or a server's words that
/// echo it) does not put it in the notice, even when built without `AppError::new`.
#[test]
fn no_secret_reaches_the_notice_through_an_effect_error() {
    let secret = "effect-error-secret-7c41a9e2";
    let _token = navscim::secret::Token::new(secret);
    let mut s = demo_session(true);
    let leaky = AppError {
        kind: ErrorKind::Io,
        message: format!("cannot write the profile: header Authorization: Bearer {secret}"),
    };
    reduce(&mut s, Action::ProfileSaved { result: Err(leaky) });
    let text = notice(&s);
    assert!(text.starts_with("Profile not saved: "), "{text}");
    assert!(!text.contains(secret), "{text}");
    for (w, h) in [(80, 24), (200, 50)] {
        assert!(!screen(&s, w, h).contains(secret));
    }
}

/// An effect whose task died is reported once, as a bug, naming the effect only.
#[test]
fn an_effect_that_died_is_reported_as_a_bug_naming_the_effect() {
    let mut s = demo_session(true);
    reduce(
        &mut s,
        Action::EffectFailed(AppError::bug("Exporting the users")),
    );
    let n = s.notice.as_ref().unwrap();
    assert_eq!(n.level, navscim::app::notice::Level::Error);
    assert_eq!(
        n.text,
        "Internal error: Exporting the users failed unexpectedly (see the log)"
    );
}

/// Credentials an identity provider refused are fixed in the sources list, not on the
/// Connection pane (the SCIM token is not the one refused).
#[test]
fn refused_source_credentials_point_to_the_sources_list() {
    let mut s = demo_session(true);
    let refused = AppError::from(navscim::idp::IdpError::Auth {
        provider: "okta",
        detail: "E0000011: Invalid token provided".into(),
    });
    assert_eq!(refused.kind, ErrorKind::SourceAuth);
    assert_eq!(refused.exit_code(), navscim::cli::exit::AUTH);
    reduce(
        &mut s,
        Action::SourceTested {
            source: "okta:0oa1".into(),
            result: Err(refused),
        },
    );
    let text = notice(&s);
    assert!(
        text.starts_with("okta:0oa1: test failed: okta: the credentials were refused"),
        "{text}"
    );
    assert!(text.contains("sources list"), "{text}");
    assert!(!text.contains("Connection pane"), "{text}");
}
