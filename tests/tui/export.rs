//! Export asks before replacing a file (issue 13, item 6), naming it; and navscim's own
//! export loads back as a list of users (not "0 new users").

use crate::harness::{demo_session, key_event, screen};
use navscim::app::command_line::LineKind;
use navscim::app::state::{State, Tab};
use navscim::app::{Action, ImportSource};
use navscim::runtime::{Driver, Settings};
use ratatui::crossterm::event::KeyCode;

fn press(d: &mut Driver, code: KeyCode) {
    d.dispatch(key_event(code));
}

fn typed(d: &mut Driver, text: &str) {
    for c in text.chars() {
        press(d, KeyCode::Char(c));
    }
}

async fn export_to(d: &mut Driver, path: &std::path::Path) {
    press(d, KeyCode::Char('x'));
    typed(d, &path.display().to_string());
    press(d, KeyCode::Enter);
    d.settle().await;
}

fn notice(s: &State) -> String {
    s.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_asks_before_replacing_a_file_and_its_output_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.csv");
    let mut state = demo_session(true);
    state.tab = Tab::Users;
    let mut d = Driver::new(state, Settings::default());
    d.clock = crate::harness::clock();
    export_to(&mut d, &path).await;
    assert!(
        notice(&d.state).starts_with("Exported 1035 users"),
        "{}",
        notice(&d.state)
    );
    let first = std::fs::read_to_string(&path).unwrap();

    // Again to the same file, with a narrower view: asked first, nothing written.
    press(&mut d, KeyCode::Char('f'));
    let shown = d.state.users.table.view.len();
    assert!(shown < 1035);
    export_to(&mut d, &path).await;
    assert!(matches!(
        d.state.command_line.line.as_ref().map(|l| &l.kind),
        Some(LineKind::Overwrite(_))
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "untouched");
    for (w, h) in [(80u16, 24u16), (200, 50)] {
        let text = screen(&d.state, w, h);
        assert!(text.contains("overwrite it?"), "{w}x{h}:\n{text}");
        assert!(
            text.contains("users.csv exists"),
            "the path is named:\n{text}"
        );
    }
    // Esc keeps the file.
    press(&mut d, KeyCode::Esc);
    d.settle().await;
    assert!(d.state.command_line.line.is_none());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "kept");
    // y replaces it.
    export_to(&mut d, &path).await;
    typed(&mut d, "y");
    press(&mut d, KeyCode::Enter);
    d.settle().await;
    assert!(
        notice(&d.state).starts_with(&format!("Exported {shown} users")),
        "{}",
        notice(&d.state)
    );
    assert_ne!(std::fs::read_to_string(&path).unwrap(), first, "replaced");

    // The export loads back into a fresh dashboard as its users.
    let mut fresh = navscim::cli::tui::demo_state(
        "https://scim.demo.example/v2",
        &navscim::cli::ConnectionArgs::default(),
    );
    fresh.tab = Tab::Users;
    let mut d = Driver::new(fresh, Settings::default());
    d.dispatch(Action::LoadFiles {
        sources: vec![ImportSource::Path(path.clone())],
        lookup_after: false,
    });
    d.settle().await;
    assert_eq!(
        d.state.users.directory.users.len(),
        shown,
        "{}",
        notice(&d.state)
    );
    assert!(
        notice(&d.state).starts_with(&format!("{shown} new users")),
        "{}",
        notice(&d.state)
    );
    assert!(d.state.users.mapping.is_none(), "no column mapping asked");
}
