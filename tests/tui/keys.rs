//! The key table is the one source of what a key does: the README's key table and
//! the help overlay are checked against it.

use std::collections::BTreeSet;

use navscim::app::keys::{self, Command, Context};
use navscim::app::state::State;
use navscim::app::Action;

use crate::harness::{reduce, screen};

/// The backticked keys in the first column of the README's `## Keys` table, with
/// ranges such as `1`–`4` spelled out.
fn readme_keys() -> BTreeSet<String> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Keys\n")
        .nth(1)
        .expect("the README has a Keys section");
    let section = section.split("\n## ").next().unwrap();
    let mut keys = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first = row.split(" | ").next().unwrap().trim_start_matches("| ");
        let ticked: Vec<&str> = first.split('`').skip(1).step_by(2).collect();
        for (i, key) in ticked.iter().enumerate() {
            keys.insert(key.to_string());
            // `1`–`4`: the keys between are meant too.
            let dash = first.split('`').nth(2 * i + 2).unwrap_or("");
            if dash == "–" {
                let (from, to) = (
                    key.chars().next().unwrap(),
                    ticked[i + 1].chars().next().unwrap(),
                );
                for c in from..=to {
                    keys.insert(c.to_string());
                }
            }
        }
    }
    keys
}

/// The labels of every key the table binds in `contexts`.
fn bound_keys(contexts: &[Context]) -> BTreeSet<String> {
    keys::all()
        .filter(|b| contexts.contains(&b.context))
        .flat_map(|b| b.keys.iter().map(|k| k.label()))
        .collect()
}

#[test]
fn the_readme_key_table_names_only_bound_keys_and_every_pane_key() {
    let readme = readme_keys();
    let everywhere = bound_keys(&[
        Context::Global,
        Context::Connection,
        Context::TextEdit,
        Context::Typing,
        Context::Users,
        Context::UsersFilter,
        Context::Prompt,
        Context::Details,
        Context::Mapping,
        Context::Help,
        Context::QuitConfirm,
        Context::Usage,
        Context::UsageText,
        Context::UsageDateOrder,
        Context::Actions,
        Context::ActionsText,
        Context::History,
    ]);
    let unbound: Vec<_> = readme.difference(&everywhere).collect();
    assert!(
        unbound.is_empty(),
        "README names keys no binding has: {unbound:?}"
    );
    // Every key of a pane itself (dialogs and overlays aside) is in the README.
    let panes = bound_keys(&[
        Context::Global,
        Context::Connection,
        Context::Users,
        Context::Usage,
        Context::Actions,
        Context::History,
    ]);
    let missing: Vec<_> = panes.difference(&readme).collect();
    assert!(missing.is_empty(), "README's key table lacks {missing:?}");
}

#[test]
fn help_while_typing_lists_the_editing_keys() {
    let mut s = State::new(
        navscim::app::connection::ConnectionState::new("default", "https://scim.example"),
        false,
    );
    reduce(&mut s, Action::Command(Command::Activate));
    assert_eq!(s.key_context(), Context::TextEdit);
    reduce(&mut s, Action::Command(Command::Help));
    let text = screen(&s, 80, 40);
    for binding in keys::all().filter(|b| b.context == Context::Typing) {
        assert!(
            text.contains(binding.help),
            "{:?} not in help:\n{text}",
            binding.help
        );
        assert!(
            text.contains(&binding.keys_label()),
            "{:?} not in help",
            binding.keys_label()
        );
    }
}
