//! The Users pane's sources list (issue 12): adding an Okta connection through the
//! form against the Okta simulator fills the Users pane; the demo fills it from the
//! simulated Okta and Entra ID alone; removing a connection; a wrong secret shows an
//! error, never the secret.

use std::io::Write;

use crate::harness::{self, press, screen, typed};
use navscim::app::effect::{Effect, ImportSource};
use navscim::app::keys::Command;
use navscim::app::state::{State, Tab};
use navscim::app::users::sources::{SourceStatus, SourcesState};
use navscim::app::Action;
use navscim::config::TokenSource;
use navscim::idp::cli::{EntraSettings, IdpSettings, OktaSettings};
use navscim::import::demo;
use navscim::matching::MatchStatus;
use navscim::runtime::{Driver, Settings};
use navscim::sim::idp::okta as okta_sim;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const APP: &str = "LinkedIn Sales Navigator";

fn manifest(key: &str) -> usize {
    let m: serde_json::Value = serde_json::from_str(demo::MANIFEST_JSON).unwrap();
    m["people"][key].as_u64().unwrap() as usize
}

/// A secret file (mode 0600) holding `secret`.
fn secret_file(secret: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(secret.as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    f
}

/// The demo SCIM simulator and a dashboard on the Users pane with no source yet.
async fn empty_dashboard() -> (navscim::sim::SimHandle, Driver) {
    let sim = navscim::sim::start(navscim::cli::tui::demo_sim_config(
        std::time::Duration::ZERO,
    ))
    .await
    .unwrap();
    let mut state =
        navscim::cli::tui::demo_state(sim.base_url(), &navscim::cli::ConnectionArgs::default());
    state.no_color = true;
    state.users.sources = SourcesState::from_settings("test", IdpSettings::default(), false);
    let mut driver = Driver::new(state, Settings::default());
    driver.clock = harness::clock();
    driver.dispatch(Action::Resize(100, 30));
    driver.dispatch(Action::Command(Command::GoTab(1)));
    (sim, driver)
}

fn key(driver: &mut Driver, code: KeyCode) {
    driver.dispatch(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_text(driver: &mut Driver, text: &str) {
    for c in text.chars() {
        key(driver, KeyCode::Char(c));
    }
}

/// `o`, `a`, then the Okta form filled in as an admin does: org URL, app label, the
/// token's source switched to a file, its path; Enter.
fn add_okta(driver: &mut Driver, org_url: &str, token_file: &std::path::Path) {
    type_text(driver, "o");
    assert!(driver.state.users.sources.open);
    type_text(driver, "a");
    assert!(driver.state.users.sources.form.is_some());
    type_text(driver, org_url);
    key(driver, KeyCode::Tab);
    type_text(driver, APP);
    key(driver, KeyCode::Tab);
    key(driver, KeyCode::Right); // environment variable → file
    key(driver, KeyCode::Tab);
    type_text(driver, &token_file.display().to_string());
    key(driver, KeyCode::Enter);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_an_okta_source_through_the_overlay_lists_its_users() {
    let okta = okta_sim::start(okta_sim::OktaSimConfig::default())
        .await
        .unwrap();
    let (sim, mut driver) = empty_dashboard().await;
    let token = secret_file(okta_sim::DEMO_TOKEN);
    add_okta(&mut driver, okta.base_url(), token.path());
    let sources = &driver.state.users.sources;
    assert!(sources.form.is_none());
    assert_eq!(sources.connections.len(), 1);
    assert_eq!(sources.connections[0].status, SourceStatus::Reading);
    let settings = sources.settings.okta.as_ref().unwrap();
    assert_eq!(settings.org_url, okta.base_url());
    assert_eq!(
        settings.token,
        TokenSource::File(token.path().to_path_buf())
    );
    driver.settle().await;

    let users = &driver.state.users;
    assert_eq!(
        users.sources.connections[0].status,
        SourceStatus::Read { users: 1010 }
    );
    assert_eq!(users.directory.len(), 1010);
    // Looked up as after a CSV load: nobody is left pending.
    assert!(users
        .rows
        .iter()
        .all(|r| !matches!(r.status(), MatchStatus::Pending | MatchStatus::LookingUp)));
    let listed = screen(&driver.state, 100, 30);
    assert!(
        listed.contains("okta:LinkedIn Sales Navigator  read: 1,010 users merged"),
        "{listed}"
    );
    assert!(listed.contains("token from file"), "{listed}");
    // Closed: the Users pane lists the users read from Okta, with where they came from.
    key(&mut driver, KeyCode::Esc);
    let text = screen(&driver.state, 100, 30);
    let first = driver.state.users.directory.users[0].email.clone().unwrap();
    assert!(text.contains(&first), "{text}");
    assert!(text.contains("Users · 1,010 from 1 source"), "{text}");
    key(&mut driver, KeyCode::Enter);
    let details = screen(&driver.state, 100, 30);
    assert!(details.contains("Okta, via group Sales EMEA"), "{details}");
    okta.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_shows_an_error_without_the_secret() {
    let okta = okta_sim::start(okta_sim::OktaSimConfig::default())
        .await
        .unwrap();
    let (sim, mut driver) = empty_dashboard().await;
    let secret = "wrong-Secret-4242-quux";
    let token = secret_file(secret);
    add_okta(&mut driver, okta.base_url(), token.path());
    driver.settle().await;
    match &driver.state.users.sources.connections[0].status {
        SourceStatus::Failed(why) => assert!(why.contains("credentials were refused"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(driver.state.users.directory.len(), 0);
    // The test (t) fails the same way.
    type_text(&mut driver, "t");
    driver.settle().await;
    let text = screen(&driver.state, 100, 30);
    assert!(text.contains("failed:"), "{text}");
    assert!(text.contains("credentials were refused"), "{text}");
    // Nowhere: not on screen, in the message log, in the state.
    for shown in [
        text,
        screen(&driver.state, 200, 50),
        format!("{:?}", driver.state.messages),
        format!("{:?}", driver.state),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains("4242-quux"), "{shown}");
    }
    okta.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fills_users_from_the_simulated_okta_and_entra_id_alone() {
    let (sim, idp, mut driver) = harness::live_idp_demo(Settings::default(), (100, 30)).await;
    // The start-up load reads both connections with the export and the usage report,
    // and no identity-provider CSV.
    driver.settle().await;
    let users = &driver.state.users;
    let names: Vec<&str> = users.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "okta:LinkedIn Sales Navigator",
            "entra:LinkedIn Sales Navigator",
            demo::SALESNAV_USERS_NAME
        ]
    );
    for c in &users.sources.connections {
        assert_eq!(
            c.status,
            SourceStatus::Read { users: 1010 },
            "{}",
            c.label()
        );
    }
    // The same people as the demo's CSV session, looked up with the same results.
    let count = |s: MatchStatus| users.rows.iter().filter(|r| r.status() == s).count();
    let matched = users
        .rows
        .iter()
        .filter(|r| matches!(r.status(), MatchStatus::Matched { .. }))
        .count();
    assert_eq!(users.directory.len(), 1035);
    assert_eq!(
        matched,
        manifest("matched") + manifest("mismatch") + manifest("orphans")
    );
    assert_eq!(count(MatchStatus::Ambiguous), manifest("ambiguous"));
    assert_eq!(count(MatchStatus::NotFound), manifest("not_found"));
    assert_eq!(count(MatchStatus::Error), 0);
    assert_eq!(users.orphan_count(), manifest("orphans"));
    assert!(driver.state.usage.report.is_some());
    // The sources list names both connections and the files.
    driver.dispatch(Action::Command(Command::GoTab(1)));
    driver.dispatch(Action::Command(Command::Sources));
    let text = screen(&driver.state, 100, 30);
    for line in [
        "okta:LinkedIn Sales Navigator  read: 1,010 users merged",
        "entra:LinkedIn Sales Navigator  read: 1,010 users merged",
        demo::SALESNAV_USERS_NAME,
        demo::USAGE_NAME,
        "this session only",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains(okta_sim::DEMO_TOKEN), "{text}");
    idp.shutdown().await;
    sim.shutdown().await;
}

fn saved_pair() -> IdpSettings {
    IdpSettings {
        okta: Some(OktaSettings {
            org_url: "https://example.okta.com".into(),
            token: TokenSource::Env("OKTA_T".into()),
            bearer: false,
        }),
        entra: Some(EntraSettings {
            tenant: "contoso.example".into(),
            client_id: "11111111-2222-4333-8444-555555555555".into(),
            secret: TokenSource::File("/run/secrets/entra".into()),
            login_url: None,
            graph_url: None,
        }),
        sources: vec![format!("okta:{APP}"), format!("entra:{APP}")],
    }
}

#[test]
fn removing_a_source_drops_it_from_the_list_and_the_profile() {
    let mut state = State::new(
        navscim::app::connection::ConnectionState::new("p", "https://scim.example"),
        true,
    );
    state.users.sources = SourcesState::from_settings("p", saved_pair(), true);
    harness::reduce(&mut state, Action::Resize(100, 30));
    state.tab = Tab::Users;
    press(&mut state, KeyCode::Char('o'));
    let text = screen(&state, 100, 30);
    assert!(text.contains("  entra:LinkedIn Sales Navigator"), "{text}");
    assert!(text.contains("tenant contoso.example"), "{text}");
    assert!(text.contains("saved in profile p"), "{text}");
    press(&mut state, KeyCode::Char('j'));
    let effects = press(&mut state, KeyCode::Char('d'));
    // Saved without the Entra ID connection (and its settings, no other uses them).
    match &effects[..] {
        [Effect::SaveSources { profile, settings }] => {
            assert_eq!(profile, "p");
            assert_eq!(settings.sources, [format!("okta:{APP}")]);
            assert!(settings.entra.is_none());
            assert!(settings.okta.is_some());
        }
        other => panic!("{other:?}"),
    }
    let text = screen(&state, 100, 30);
    assert!(!text.contains("tenant contoso.example"), "{text}");
    assert!(
        text.contains("Removed entra:LinkedIn Sales Navigator"),
        "{text}"
    );
    assert!(text.contains("> okta:LinkedIn Sales Navigator"), "{text}");
    // A refresh reads the one left.
    let effects = press(&mut state, KeyCode::Char('R'));
    match &effects[..] {
        [Effect::ImportFiles { sources, .. }] => match &sources[..] {
            [ImportSource::Idp(spec)] => assert_eq!(spec.label(), format!("okta:{APP}")),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_form_refuses_a_connection_without_its_org_url_and_help_lists_the_keys() {
    let mut state = State::new(
        navscim::app::connection::ConnectionState::new("p", "https://scim.example"),
        true,
    );
    harness::reduce(&mut state, Action::Resize(100, 30));
    state.tab = Tab::Users;
    // In the key table of the Users pane, so help lists it.
    let binding = navscim::app::keys::bindings_for(navscim::app::keys::Context::Users)
        .find(|b| b.command == Command::Sources)
        .unwrap();
    assert_eq!(binding.keys_label(), "o");
    assert_eq!(
        binding.help,
        "Sources: files and Okta / Entra ID connections"
    );
    press(&mut state, KeyCode::Char('o'));
    press(&mut state, KeyCode::Char('a'));
    press(&mut state, KeyCode::Tab);
    typed(&mut state, APP);
    let effects = press(&mut state, KeyCode::Enter);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(state.users.sources.form.is_some());
    let notice = state.notice.clone().unwrap().text;
    assert!(notice.contains("org URL is missing"), "{notice}");
    assert!(state.users.sources.connections.is_empty());
}
