//! `navscim completions bash|zsh|fish` and `navscim man`: shell completions and a
//! man page (roff), both generated from the clap definitions, so they never drift
//! from the options navscim takes.

use std::io::{self, Write};

use clap::{CommandFactory, ValueEnum};

use super::Cli;

/// The shells completions are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// The completion script for `shell` (source it, or put it where the shell looks:
/// e.g. `~/.local/share/bash-completion/completions/navscim`). Generated in memory:
/// clap_complete panics on a write error, which a closed pipe must not cause.
pub fn completions(shell: CompletionShell) -> Vec<u8> {
    let mut out = Vec::new();
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "navscim", &mut out);
    out
}

/// Writes the man page, navscim(1), in roff (`navscim man > navscim.1; man ./navscim.1`).
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Runs `completions` or `man` on stdout; the exit code.
pub fn run(what: Option<CompletionShell>) -> i32 {
    let mut stdout = io::stdout().lock();
    let result = match what {
        Some(shell) => stdout
            .write_all(&completions(shell))
            .and_then(|_| stdout.flush()),
        None => man(&mut stdout).and_then(|_| stdout.flush()),
    };
    match result {
        Ok(()) => super::exit::SUCCESS,
        // `navscim man | head`: the reader has what it wanted.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => super::exit::SUCCESS,
        Err(e) => {
            eprintln!("navscim: writing to stdout failed: {e}");
            super::exit::FAILURE
        }
    }
}
