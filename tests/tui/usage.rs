//! The Usage pane: the real reducer, effects and embedded simulator with the demo
//! fixtures, rendered through TestBackend. What an admin sees must equal the
//! fixtures' manifest and what `navscim plan deprovision` computes headless.

use crate::harness::{self, press as key, reduce, screen, typed};
use navscim::app::actions::PlanOrigin;
use navscim::app::keys::Command;
use navscim::app::state::Tab;
use navscim::app::usage::ActivityFilter;
use navscim::app::Action;
use navscim::import::demo;
use navscim::plan::exclusion_name;
use navscim::runtime::{buffer_text, render_to_buffer, Driver, Settings};
use navscim::sim;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;

fn manifest() -> serde_json::Value {
    serde_json::from_str(demo::MANIFEST_JSON).unwrap()
}

/// The demo with every lookup finished, on the Usage pane at 80x24.
async fn settled_demo() -> (sim::SimHandle, Driver) {
    let (sim, mut driver) = harness::live_demo(Settings::default(), (80, 24)).await;
    driver.settle().await;
    driver.dispatch(Action::Command(Command::GoTab(2)));
    assert_eq!(driver.state.tab, Tab::Usage);
    (sim, driver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_and_chart_show_the_manifest_counts_at_80x24() {
    let (sim, driver) = settled_demo().await;
    let m = manifest();
    let usage = &driver.state.usage;
    // The report's own figures.
    assert_eq!(usage.summary.rows, 988);
    assert_eq!(usage.summary.joined_rows, 985);
    assert_eq!(
        usage.summary.unmatched_rows,
        m["usage"]["not_in_salesnav"].as_array().unwrap().len()
    );
    assert_eq!(
        usage.summary.idle.never_activated as u64,
        m["usage"]["never_activated"].as_u64().unwrap()
    );
    let hist = &m["usage"]["idle_days_histogram_of_rows_with_a_date"];
    let want: Vec<usize> = ["0-30", "31-60", "61-90", "91-180", "181-400"]
        .iter()
        .map(|k| hist[k].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(usage.summary.idle.buckets.to_vec(), want);
    // As of the report period's end, as `navscim plan deprovision` chooses it.
    let (as_of, why) = usage.as_of.clone().unwrap();
    assert_eq!(as_of.to_string(), m["report_period"][1].as_str().unwrap());
    assert_eq!(why, "end of the usage report period");

    let text = screen(&driver.state, 80, 24);
    for expected in [
        "Usage · usage.csv · as of 2025-05-31",
        "988 seats · 985 matched (980 users) · 3 no user",
        "Active ≤30d 484 · ≤60d 721 · ≤90d 808",
        "Idle >90d 97 · never activated 80 · unknown 0",
        "Plan at 90d: 66 to deactivate · grace 30d",
        "Left out: admin 7 · not matched 45",
        // The chart: its title, one bar per bucket with its count, the bucket labels.
        "Idle days",
        "484",
        "237",
        "87",
        "71",
        "26",
        "≤30   ≤60   ≤90  ≤180  >180",
        // The table's header and the status bar's hints.
        "Idle d Email",
        "i mark idle  n mark never  d plan",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // Every row of the table fits: the first rows are readable, not cut mid-cell.
    assert!(text.contains("amanda.rivera@northwind.example"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_give_the_headless_plans_figures() {
    let (sim, mut driver) = settled_demo().await;
    let s = &mut driver.state;
    // t cycles 90 → 30 → 60 → 90.
    for (days, ops) in [(30, 381), (60, 152), (90, 66)] {
        key(s, KeyCode::Char('t'));
        assert_eq!(s.usage.threshold, days);
        let preview = s.usage.preview.clone().unwrap();
        assert!(!preview.provisional);
        assert_eq!(preview.operations, ops, "threshold {days}");
        let excluded: std::collections::BTreeMap<&str, usize> =
            preview.excluded.iter().copied().collect();
        assert_eq!(excluded["admin"], 7);
        assert_eq!(excluded["not_matched"], 45);
        assert_eq!(excluded["already_inactive"], 42);
        assert_eq!(excluded["never_activated"], 80);
        assert_eq!(excluded["not_idle"], 861 - ops);
        let text = screen(s, 80, 24);
        assert!(
            text.contains(&format!("Plan at {days}d: {ops} to deactivate")),
            "{text}"
        );
    }
    // A custom threshold through the prompt.
    key(s, KeyCode::Char('T'));
    key(s, KeyCode::Backspace);
    key(s, KeyCode::Backspace);
    typed(s, "180");
    key(s, KeyCode::Enter);
    assert_eq!(s.usage.threshold, 180);
    assert_eq!(
        s.usage.summary.idle.idle_over_threshold, 26,
        "the 181+ bucket"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_idle_users_sends_a_plan_with_per_user_evidence_to_actions() {
    let (sim, mut driver) = settled_demo().await;
    // Nothing marked: a notice, no plan.
    driver.dispatch(Action::Key(KeyEvent::new(
        KeyCode::Char('d'),
        KeyModifiers::NONE,
    )));
    driver.settle().await;
    assert!(driver.state.actions.review.is_none());
    assert!(driver
        .state
        .notice
        .as_ref()
        .unwrap()
        .text
        .starts_with("Nothing is marked"));

    for c in ['i', 'd'] {
        driver.dispatch(Action::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    assert_eq!(driver.state.usage.table.marks.len(), 97);
    driver.settle().await;
    assert_eq!(driver.state.tab, Tab::Actions);
    let review = driver.state.actions.review.clone().expect("a plan");
    let (plan, origin) = (review.plan, review.origin);
    assert_eq!(origin, PlanOrigin::Usage);
    assert_eq!(
        plan.operations.len(),
        66,
        "the same 66 as the headless plan"
    );
    assert_eq!(plan.parameters["idle_days"], 90);
    assert_eq!(plan.parameters["as_of"], "2025-05-31");
    assert_eq!(plan.parameters["marked_users"], 97);
    for op in &plan.operations {
        assert!(!op.scim_id.as_deref().unwrap().is_empty(), "{op:?}");
        let e = &op.evidence;
        let idle = e.idle_days.unwrap();
        assert!(idle > 90, "{op:?}");
        let last = e.last_active.unwrap();
        assert_eq!(
            op.reason,
            format!("idle {idle} days (threshold 90), last active {last}")
        );
        assert!(e.days_active.is_some() && e.searches.is_some(), "{op:?}");
        assert!(e.sources[0].starts_with("usage usage.csv:"), "{op:?}");
        assert!(e.sources.iter().any(|s| s.starts_with("user ")), "{op:?}");
    }
    // Admins, inactive and unmatched users among the marked are left out, with why.
    let reasons: std::collections::BTreeSet<&str> = plan
        .excluded
        .iter()
        .map(|e| exclusion_name(e.why))
        .collect();
    assert!(reasons.contains("admin") || reasons.contains("already_inactive"));
    assert_eq!(plan.operations.len() + plan.excluded.len(), 97);
    let admins = manifest()["admins"].clone();
    for op in &plan.operations {
        assert!(!admins
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str() == op.email.as_deref()));
    }

    // Never-activated users, marked on purpose, are included with their evidence.
    let s = &mut driver.state;
    s.tab = Tab::Usage;
    key(s, KeyCode::Char('A'));
    key(s, KeyCode::Char('n'));
    assert_eq!(s.usage.table.marks.len(), 80);
    driver.dispatch(Action::Key(KeyEvent::new(
        KeyCode::Char('d'),
        KeyModifiers::NONE,
    )));
    driver.settle().await;
    let plan = driver.state.actions.review.clone().unwrap().plan;
    assert_eq!(plan.operations.len(), 80);
    assert!(plan.operations.iter().all(
        |o| o.evidence.never_activated == Some(true) && o.reason.starts_with("never activated")
    ));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_and_sort_keep_the_marks() {
    let (sim, mut driver) = settled_demo().await;
    let s = &mut driver.state;
    key(s, KeyCode::Char('i'));
    let marked = s.usage.table.marks.clone();
    assert_eq!(marked.len(), 97);
    // The idle filter shows exactly the marked rows.
    key(s, KeyCode::Char('f'));
    assert_eq!(s.usage.activity_filter, ActivityFilter::Idle);
    assert_eq!(
        s.usage.table.view.len(),
        100,
        "97 joined + 3 seats of nobody"
    );
    // Sorting by idle days puts the most idle first; marks stay on the same rows.
    key(s, KeyCode::Char('s'));
    let first = s.usage.table.view[0];
    let idle = |r: usize| s.usage.activity[r].idle_days().unwrap();
    assert!(s.usage.table.view.iter().all(|&r| idle(r) <= idle(first)));
    assert_eq!(s.usage.table.marks, marked);
    // A text filter that hides them all says so in the title.
    key(s, KeyCode::Char('/'));
    typed(s, "zzzz-nobody");
    key(s, KeyCode::Enter);
    assert_eq!(s.usage.table.view.len(), 0);
    let text = screen(s, 120, 30);
    assert!(
        text.contains("97 marked (97 hidden by the filter)"),
        "{text}"
    );
    key(s, KeyCode::Char('F'));
    assert_eq!(s.usage.table.view.len(), 988);
    assert_eq!(s.usage.table.marks, marked);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_show_the_usage_row_and_the_user_it_joined() {
    let (sim, mut driver) = settled_demo().await;
    let s = &mut driver.state;
    // The seats nobody holds.
    while s.usage.activity_filter != ActivityFilter::NoUser {
        key(s, KeyCode::Char('f'));
    }
    assert_eq!(s.usage.table.view.len(), 3);
    key(s, KeyCode::Enter);
    let text = screen(s, 120, 50);
    assert!(text.contains("former.user1@northwind.example"), "{text}");
    assert!(text.contains("Source row      usage.csv:"), "{text}");
    assert!(text.contains("Joined no user"), "{text}");
    assert!(text.contains("no user with this email"), "{text}");
    key(s, KeyCode::Esc);
    assert!(!s.usage.details_open);
    // A joined, idle user: metrics, the verdict, the user's own source rows.
    key(s, KeyCode::Char('F'));
    key(s, KeyCode::Char('f'));
    key(s, KeyCode::Char('s'));
    key(s, KeyCode::Char('g'));
    key(s, KeyCode::Enter);
    let text = screen(s, 120, 80);
    for expected in [
        "Source row      usage.csv:",
        "Activity        idle ",
        "As of           2025-05-31 (end of the usage report period)",
        "Idle > 90 d     yes: idle for more than 90 days",
        "Searches",
        "Joined user (by email)",
        "SCIM id         ",
        "Provisioned     2024-01-15",
        "idp_okta.csv:",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_colour_the_cursor_and_marks_stay_visible_and_help_lists_the_keys() {
    let (sim, mut driver) = settled_demo().await;
    let s = &mut driver.state;
    assert!(s.no_color);
    key(s, KeyCode::Char(' '));
    let buffer = render_to_buffer(s, 80, 24);
    let text = buffer_text(&buffer);
    // Row 0 is marked (●) and the cursor moved to row 1, shown reversed.
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.contains("Idle d Email"))
        .unwrap();
    assert!(lines[header + 1].contains('●'), "{text}");
    let cursor_y = (header + 2) as u16;
    assert!(buffer[(5, cursor_y)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(5, cursor_y + 1)]
        .modifier
        .contains(Modifier::REVERSED));
    key(s, KeyCode::Char('?'));
    let text = screen(s, 100, 60);
    assert!(text.contains("Usage pane"), "{text}");
    assert!(
        text.contains("Mark every user shown idle for more than the threshold"),
        "{text}"
    );
    assert!(
        text.contains("Send the marked users to Actions as a deactivation plan"),
        "{text}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_follows_changes_made_on_the_users_pane() {
    let (sim, mut driver) = settled_demo().await;
    let s = &mut driver.state;
    assert_eq!(s.usage.preview.clone().unwrap().operations, 66);
    // Unchanged users: showing the pane again keeps the preview as it was computed.
    let computed_for = s.usage.preview_of;
    reduce(s, Action::Command(Command::GoTab(1)));
    reduce(s, Action::Command(Command::GoTab(2)));
    assert_eq!(s.usage.preview_of, computed_for);
    // Ignore every matched user on the Users pane: nobody is left to deactivate.
    reduce(s, Action::Command(Command::GoTab(1)));
    while s.users.status_filter != navscim::app::users::StatusFilter::Matched {
        reduce(s, Action::Command(Command::CycleStatusFilter));
    }
    reduce(s, Action::Command(Command::MarkAllShown));
    reduce(s, Action::Command(Command::Ignore));
    reduce(s, Action::Command(Command::GoTab(2)));
    assert_ne!(s.usage.preview_of, computed_for);
    assert_eq!(s.usage.preview.clone().unwrap().operations, 0);
    sim.shutdown().await;
}
