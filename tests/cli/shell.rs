//! `navscim completions bash|zsh|fish` and `navscim man`, generated from the clap
//! definitions: they run, and name the commands and options navscim takes.

use crate::support::{self, TestDir};

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let dir = TestDir::new();
    for (shell, marker) in [
        ("bash", "complete -F _navscim"),
        ("zsh", "#compdef navscim"),
        ("fish", "complete -c navscim"),
    ] {
        let out = dir.command(&["completions", shell], None).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}: {out:?}");
        let text = support::stdout(&out);
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        for word in ["check", "lookup", "apply", "timeout", "connect-timeout"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = dir
        .command(&["completions", "tcsh"], None)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn the_man_page_is_generated_from_the_options() {
    let dir = TestDir::new();
    let out = dir.command(&["man"], None).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = support::stdout(&out);
    assert!(text.contains(".TH navscim 1"), "a roff man page");
    assert!(text.contains(".SH SYNOPSIS"));
    for option in ["base\\-url", "connect\\-timeout", "allow\\-deprovision"] {
        assert!(text.contains(option), "the man page lacks --{option}");
    }
    assert!(text.contains("Exit codes"), "the exit codes are in it");
}
