//! The `:` command line (k9s's habit): verbs typed at the bottom of the screen, each
//! doing what a key already does. [`VERBS`] is the one table of verbs: parsing,
//! completion, help and the README are checked against it, as the key table is.
//!
//! Pure: [`parse`] turns a typed line into an [`Invocation`] (or a [`ParseError`]
//! that names what is wrong and the nearest verb), [`complete`] gives the candidates
//! for Tab, and [`Invocation::steps`] says what running it means: [`Command`]s of the
//! key table (the same ones the keys send), a filter or an export. The root reducer
//! runs the steps; [`reducer`] keeps the line itself (editing, history, the export and
//! overwrite prompts, which share the line's one text field).

pub mod reducer;

use std::path::PathBuf;

use super::effect::ExportJob;
use super::keys::Command;
use super::pane::usage::state::ActivityFilter;
use super::pane::users::state::StatusFilter;
use super::state::Tab;
use super::text_field::TextField;

/// What a verb takes after its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Nothing.
    None,
    /// Optionally, one of the pane's own filters ([`filter_words`]).
    Filter(Tab),
    /// A file name (required).
    File,
    /// Optionally, free text (the rest of the line).
    Text,
}

/// What running a verb does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Does {
    /// Show this pane (with its filter set, for [`Arg::Filter`]).
    Go(Tab),
    /// This key-table command, on the pane shown.
    Run(Command),
    /// Show this pane, then this key-table command there.
    RunOn(Tab, Command),
    /// Export the pane shown to the file named.
    Export,
    /// Set the text filter of the pane shown (`/`'s), or clear it.
    Filter,
}

/// One verb of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verb {
    pub name: &'static str,
    /// Other names that mean the same (`q` for `quit`).
    pub aliases: &'static [&'static str],
    pub arg: Arg,
    /// Shown in help (at most 56 characters, as the keys' help).
    pub help: &'static str,
    pub does: Does,
    /// The panes it works on (empty: every pane); elsewhere it says so.
    pub panes: &'static [Tab],
}

impl Verb {
    /// `:usage [FILTER]`, `:export FILE`: the verb as help and the README show it.
    pub fn usage(&self) -> String {
        let arg = match self.arg {
            Arg::None => "",
            Arg::Filter(_) => " [FILTER]",
            Arg::File => " FILE",
            Arg::Text => " [TEXT]",
        };
        format!(":{}{arg}", self.name)
    }

    fn is_called(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }
}

const fn v(
    name: &'static str,
    aliases: &'static [&'static str],
    arg: Arg,
    help: &'static str,
    does: Does,
    panes: &'static [Tab],
) -> Verb {
    Verb {
        name,
        aliases,
        arg,
        help,
        does,
        panes,
    }
}

const TABLES: &[Tab] = &[Tab::Users, Tab::Usage];
const EXPORTS: &[Tab] = &[Tab::Users, Tab::Usage, Tab::Actions];

/// Every verb of the command line, in the order help lists them.
#[rustfmt::skip]
pub static VERBS: &[Verb] = &[
    v("connection", &[], Arg::None, "Connection pane", Does::Go(Tab::Connection), &[]),
    v("users", &[], Arg::Filter(Tab::Users), "Users pane, by status (unmatched, orphan…)", Does::Go(Tab::Users), &[]),
    v("usage", &[], Arg::Filter(Tab::Usage), "Usage pane, by activity (idle, never, unmatched…)", Does::Go(Tab::Usage), &[]),
    v("actions", &[], Arg::None, "Actions pane: the plan under review", Does::Go(Tab::Actions), &[]),
    v("history", &[], Arg::None, "History pane: the journal and the trend", Does::Go(Tab::History), &[]),
    v("export", &[], Arg::File, "Export this pane: the view (CSV), or the plan", Does::Export, EXPORTS),
    v("filter", &[], Arg::Text, "Filter by text (nothing after it: clear it)", Does::Filter, TABLES),
    v("sort", &[], Arg::None, "Sort by the next column", Does::Run(Command::Sort), TABLES),
    v("reverse", &[], Arg::None, "Reverse the sort", Does::Run(Command::SortReverse), TABLES),
    v("lookup", &[], Arg::None, "Look up every user not done (pending, error)", Does::RunOn(Tab::Users, Command::LookupRemaining), &[]),
    v("refresh", &[], Arg::None, "Refresh stale results (asks how old)", Does::RunOn(Tab::Users, Command::RefreshStale), &[]),
    v("load", &[], Arg::None, "Load a CSV file (asks which)", Does::RunOn(Tab::Users, Command::LoadFile), &[]),
    v("sources", &[], Arg::None, "Sources: files and Okta / Entra ID connections", Does::RunOn(Tab::Users, Command::Sources), &[]),
    v("files", &[], Arg::None, "Loaded files and every problem found in them", Does::RunOn(Tab::Users, Command::Files), &[]),
    v("test", &[], Arg::None, "Test the connection", Does::RunOn(Tab::Connection, Command::TestConnection), &[]),
    v("apply", &[], Arg::None, "Apply the plan: the gates, then the typed count", Does::RunOn(Tab::Actions, Command::ApplyPlan), &[]),
    v("undo", &[], Arg::None, "Undo the last batch: review its reverse plan", Does::RunOn(Tab::Actions, Command::Undo), &[]),
    v("open", &[], Arg::None, "Open a plan file (asks which)", Does::RunOn(Tab::Actions, Command::OpenPlan), &[]),
    v("discard", &[], Arg::None, "Discard the plan under review", Does::RunOn(Tab::Actions, Command::DiscardPlan), &[]),
    v("cancel", &[], Arg::None, "Cancel this pane's running work", Does::Run(Command::CancelWork), &[Tab::Connection, Tab::Users, Tab::Actions]),
    v("messages", &[], Arg::None, "Message log: every notice of this session", Does::Run(Command::Messages), &[]),
    v("help", &[], Arg::None, "Show help", Does::Run(Command::Help), &[]),
    v("quit", &["q"], Arg::None, "Quit (asks first while work runs)", Does::Run(Command::Quit), &[]),
];

/// The verb called `word` (by name or alias).
pub fn verb(word: &str) -> Option<&'static Verb> {
    VERBS.iter().find(|v| v.is_called(word))
}

/// The words that name a pane's own filters, each with its index in the filter's
/// cycle (`f`'s order): the Users pane's status filters, the Usage pane's activity
/// filters (`unmatched` and `no-user`: rows that joined no user). Other panes: none.
pub fn filter_words(tab: Tab) -> Vec<(&'static str, usize)> {
    let mut words = Vec::new();
    match tab {
        Tab::Users => {
            for (i, f) in StatusFilter::CYCLE.iter().enumerate() {
                words.extend(f.keywords().iter().map(|w| (*w, i)));
            }
        }
        Tab::Usage => {
            for (i, f) in ActivityFilter::CYCLE.iter().enumerate() {
                words.extend(f.keywords().iter().map(|w| (*w, i)));
            }
        }
        _ => {}
    }
    words
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub verb: &'static Verb,
    pub arg: Option<ArgValue>,
}

/// A verb's argument, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    /// A filter's index in the pane's cycle.
    Filter(usize),
    File(PathBuf),
    Text(String),
}

/// What running an invocation does, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A key-table command, through the reducer as if its key were pressed.
    Command(Command),
    /// Set the text filter of the pane shown.
    TextFilter(String),
    /// Export the pane shown to this file.
    Export(PathBuf),
}

impl Invocation {
    /// The steps that run it with `tab` shown, or why it cannot run there (a verb that
    /// works on some panes only).
    pub fn steps(&self, tab: Tab) -> Result<Vec<Step>, String> {
        let verb = self.verb;
        if !verb.panes.is_empty() && !verb.panes.contains(&tab) {
            let names: Vec<&str> = verb.panes.iter().map(|t| t.title()).collect();
            return Err(format!(
                ":{} works on the {} pane{}, not on {}",
                verb.name,
                join_or(&names),
                if names.len() > 1 { "s" } else { "" },
                tab.title()
            ));
        }
        Ok(match (verb.does, &self.arg) {
            (Does::Go(to), Some(ArgValue::Filter(i))) => vec![
                Step::Command(Command::GoTab(to.index())),
                Step::Command(Command::SetFilter(*i)),
            ],
            (Does::Go(to), _) => vec![Step::Command(Command::GoTab(to.index()))],
            (Does::Run(command), _) => vec![Step::Command(command)],
            (Does::RunOn(to, command), _) => vec![
                Step::Command(Command::GoTab(to.index())),
                Step::Command(command),
            ],
            (Does::Export, Some(ArgValue::File(path))) => vec![Step::Export(path.clone())],
            (Does::Export, _) => return Err(missing_file(verb)),
            (Does::Filter, Some(ArgValue::Text(text))) => vec![Step::TextFilter(text.clone())],
            (Does::Filter, _) => vec![Step::TextFilter(String::new())],
        })
    }
}

fn missing_file(verb: &Verb) -> String {
    format!(":{} needs a file name: {}", verb.name, verb.usage())
}

fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Why a typed line cannot run; the message names what was typed and what would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    UnknownVerb {
        typed: String,
        nearest: Option<&'static str>,
    },
    /// A verb that takes nothing was given something.
    NoArgument {
        verb: &'static str,
        got: String,
    },
    MissingFile {
        verb: &'static Verb,
    },
    UnknownFilter {
        verb: &'static str,
        got: String,
        nearest: Option<&'static str>,
        choices: Vec<&'static str>,
    },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Empty => write!(f, "Nothing to run: type a verb (Tab lists them)"),
            ParseError::UnknownVerb { typed, nearest } => {
                write!(f, "Unknown command :{typed}")?;
                match nearest {
                    Some(n) => write!(f, " — did you mean :{n}? (Tab lists the verbs)"),
                    None => write!(f, " (Tab lists the verbs, :help shows them)"),
                }
            }
            ParseError::NoArgument { verb, got } => {
                write!(f, ":{verb} takes nothing after it (got {got:?})")
            }
            ParseError::MissingFile { verb } => write!(f, "{}", missing_file(verb)),
            ParseError::UnknownFilter {
                verb,
                got,
                nearest,
                choices,
            } => {
                write!(f, ":{verb} {got}: no such filter")?;
                if let Some(n) = nearest {
                    write!(f, " — did you mean {n}?")?;
                }
                write!(f, " (filters: {})", choices.join(", "))
            }
        }
    }
}

/// Parses a typed line (with or without its leading `:`): the verb, then its argument.
pub fn parse(line: &str) -> Result<Invocation, ParseError> {
    let line = line.trim().trim_start_matches(':').trim_start();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    if word.is_empty() {
        return Err(ParseError::Empty);
    }
    let word_lower = word.to_lowercase();
    let Some(verb) = verb(&word_lower) else {
        return Err(ParseError::UnknownVerb {
            typed: word.to_string(),
            nearest: nearest(
                &word_lower,
                &VERBS.iter().flat_map(names).collect::<Vec<_>>(),
            ),
        });
    };
    let arg = match verb.arg {
        Arg::None if !rest.is_empty() => {
            return Err(ParseError::NoArgument {
                verb: verb.name,
                got: rest.to_string(),
            })
        }
        Arg::None => None,
        Arg::File if rest.is_empty() => return Err(ParseError::MissingFile { verb }),
        Arg::File => Some(ArgValue::File(PathBuf::from(rest))),
        Arg::Text if rest.is_empty() => None,
        Arg::Text => Some(ArgValue::Text(rest.to_string())),
        Arg::Filter(_) if rest.is_empty() => None,
        Arg::Filter(tab) => {
            let words = filter_words(tab);
            let got = rest.to_lowercase();
            match words.iter().find(|(w, _)| *w == got) {
                Some((_, i)) => Some(ArgValue::Filter(*i)),
                None => {
                    return Err(ParseError::UnknownFilter {
                        verb: verb.name,
                        got: rest.to_string(),
                        nearest: nearest(&got, &words.iter().map(|(w, _)| *w).collect::<Vec<_>>()),
                        choices: words.iter().map(|(w, _)| *w).collect(),
                    })
                }
            }
        }
    };
    Ok(Invocation { verb, arg })
}

fn names(verb: &'static Verb) -> impl Iterator<Item = &'static str> {
    std::iter::once(verb.name).chain(verb.aliases.iter().copied())
}

/// The word among `words` nearest to `typed`: one it starts, else the fewest edits
/// (at most half the longer word's length, and at least 1).
pub fn nearest(typed: &str, words: &[&'static str]) -> Option<&'static str> {
    if typed.is_empty() {
        return None;
    }
    if let Some(w) = words.iter().find(|w| w.len() > 1 && w.starts_with(typed)) {
        return Some(w);
    }
    words
        .iter()
        .map(|&w| (edit_distance(typed, w), w))
        .filter(|(d, w)| {
            let longest = typed.chars().count().max(w.chars().count());
            *d <= (longest / 2).max(1)
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, w)| w)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

/// What Tab makes of a line: the line completed as far as the candidates agree, and
/// the candidates themselves (shown under the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub line: String,
    pub candidates: Vec<String>,
}

/// Completes the verb being typed, then its argument (a pane's filter names). One
/// candidate is completed whole (with a space after a verb that takes something);
/// several, as far as they share a beginning.
pub fn complete(line: &str) -> Completion {
    let typed = line.trim_start().trim_start_matches(':');
    match typed.split_once(char::is_whitespace) {
        None => {
            let prefix = typed.to_lowercase();
            let candidates: Vec<&'static Verb> = VERBS
                .iter()
                .filter(|v| names(v).any(|n| n.starts_with(&prefix)))
                .collect();
            let words: Vec<String> = candidates.iter().map(|v| v.name.to_string()).collect();
            let line = match candidates.as_slice() {
                [one] if one.arg == Arg::None => one.name.to_string(),
                [one] => format!("{} ", one.name),
                _ => common_prefix(&words)
                    .filter(|p| p.len() > prefix.len())
                    .unwrap_or_else(|| typed.to_string()),
            };
            Completion {
                line,
                candidates: words,
            }
        }
        Some((word, rest)) => {
            let rest = rest.trim_start();
            let words: Vec<String> = match verb(&word.to_lowercase()).map(|v| v.arg) {
                Some(Arg::Filter(tab)) => {
                    let prefix = rest.to_lowercase();
                    filter_words(tab)
                        .into_iter()
                        .map(|(w, _)| w.to_string())
                        .filter(|w| w.starts_with(&prefix))
                        .collect()
                }
                _ => Vec::new(),
            };
            let arg = match words.as_slice() {
                [one] => one.clone(),
                _ => common_prefix(&words)
                    .filter(|p| p.len() > rest.len())
                    .unwrap_or_else(|| rest.to_string()),
            };
            Completion {
                line: format!("{word} {arg}"),
                candidates: words,
            }
        }
    }
}

fn common_prefix(words: &[String]) -> Option<String> {
    let first = words.first()?;
    let mut len = first.len();
    for w in &words[1..] {
        len = first
            .char_indices()
            .zip(w.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8())
            .min(len);
    }
    Some(first[..len].to_string())
}

/// The bottom line when open: the `:` command line, or a prompt for an export's file
/// name, or the question before an export replaces a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub kind: LineKind,
    pub input: TextField,
    /// Tab's candidates for what is typed (updated as it is typed).
    pub candidates: Vec<String>,
    /// While Up/Down recall earlier lines: which one (index in the history) and what
    /// was typed before recalling.
    pub recall: Option<(usize, String)>,
}

/// What the line is for.
#[derive(Debug, Clone, PartialEq)]
pub enum LineKind {
    /// `:` verbs.
    Command,
    /// The file name of the export of the pane shown (`x` on Users and Usage, `w` on
    /// Actions).
    Export,
    /// The export's file is there already: `y` (or `yes`) writes this job over it.
    Overwrite(Box<ExportJob>),
}

/// The command line's state: the open line, if any, and the lines run this session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandLine {
    pub line: Option<Line>,
    /// Command lines run this session, oldest first (Up recalls the newest).
    pub history: Vec<String>,
}

impl Line {
    pub fn new(kind: LineKind, input: TextField) -> Self {
        let candidates = match kind {
            LineKind::Command => complete(&input.value).candidates,
            _ => Vec::new(),
        };
        Line {
            kind,
            input,
            candidates,
            recall: None,
        }
    }

    /// The title of a prompt line (the command line has none: it shows `:`).
    pub fn title(&self, tab: Tab) -> String {
        match &self.kind {
            LineKind::Command => String::new(),
            LineKind::Export => match tab {
                Tab::Users => "Export the view to (.csv or .json)".into(),
                Tab::Usage => "Export the rows in view to (CSV)".into(),
                _ => "Export the plan under review to (navscim apply takes it)".into(),
            },
            LineKind::Overwrite(job) => format!(
                "{} exists: overwrite it? Type y and Enter (Esc keeps it)",
                job.path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_parse_with_their_arguments() {
        let inv = parse(":usage unmatched").unwrap();
        assert_eq!(inv.verb.name, "usage");
        let no_user = ActivityFilter::CYCLE
            .iter()
            .position(|f| *f == ActivityFilter::NoUser)
            .unwrap();
        assert_eq!(inv.arg, Some(ArgValue::Filter(no_user)));
        assert_eq!(
            inv.steps(Tab::Users).unwrap(),
            vec![
                Step::Command(Command::GoTab(2)),
                Step::Command(Command::SetFilter(no_user))
            ]
        );
        assert_eq!(parse("q").unwrap().verb.name, "quit");
        assert_eq!(parse("  :QUIT ").unwrap().verb.name, "quit");
        let inv = parse("export out dir/a b.csv").unwrap();
        assert_eq!(inv.arg, Some(ArgValue::File("out dir/a b.csv".into())));
        assert_eq!(
            inv.steps(Tab::Usage).unwrap(),
            vec![Step::Export("out dir/a b.csv".into())]
        );
        assert_eq!(parse("filter").unwrap().arg, None);
        assert_eq!(
            parse("lookup").unwrap().steps(Tab::History).unwrap(),
            vec![
                Step::Command(Command::GoTab(1)),
                Step::Command(Command::LookupRemaining)
            ]
        );
    }

    #[test]
    fn errors_name_what_was_typed_and_the_nearest_verb() {
        let e = parse("exprot a.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unknown command :exprot — did you mean :export? (Tab lists the verbs)"
        );
        let e = parse("usr").unwrap_err().to_string();
        assert!(e.contains("did you mean :users?"), "{e}");
        let e = parse("zzzzzz").unwrap_err().to_string();
        assert_eq!(
            e,
            "Unknown command :zzzzzz (Tab lists the verbs, :help shows them)"
        );
        let e = parse("usage idel").unwrap_err().to_string();
        assert!(
            e.starts_with(":usage idel: no such filter — did you mean idle?"),
            "{e}"
        );
        assert!(e.contains("unmatched"), "{e}");
        assert_eq!(
            parse("export").unwrap_err().to_string(),
            ":export needs a file name: :export FILE"
        );
        assert_eq!(
            parse("quit now").unwrap_err().to_string(),
            ":quit takes nothing after it (got \"now\")"
        );
        assert_eq!(parse(":").unwrap_err(), ParseError::Empty);
        let e = parse("sort").unwrap().steps(Tab::Actions).unwrap_err();
        assert_eq!(
            e,
            ":sort works on the Users and Usage panes, not on Actions"
        );
    }

    #[test]
    fn tab_completes_verbs_then_filter_names() {
        let c = complete("us");
        assert_eq!(c.candidates, vec!["users", "usage"]);
        assert_eq!(c.line, "us");
        let c = complete("use");
        assert_eq!(c.line, "users ");
        let c = complete("exp");
        assert_eq!(c.line, "export ");
        let c = complete("mes");
        assert_eq!(c.line, "messages");
        let c = complete("re");
        assert_eq!(c.candidates, vec!["reverse", "refresh"]);
        assert_eq!(c.line, "re");
        let c = complete("usage un");
        assert_eq!(c.candidates, vec!["unknown", "unmatched"]);
        assert_eq!(c.line, "usage un");
        let c = complete("usage unm");
        assert_eq!(c.line, "usage unmatched");
        let c = complete("users o");
        assert_eq!(c.line, "users orphan");
        let c = complete("");
        assert_eq!(c.candidates.len(), VERBS.len());
        assert!(complete("quit x").candidates.is_empty());
        assert!(complete("nosuch ").candidates.is_empty());
    }

    #[test]
    fn every_verb_has_a_unique_name_and_fits_help() {
        let mut seen = std::collections::BTreeSet::new();
        for verb in VERBS {
            for name in names(verb) {
                assert!(seen.insert(name), "{name} named twice");
                let line = if verb.arg == Arg::File {
                    format!("{name} f")
                } else {
                    name.to_string()
                };
                assert_eq!(parse(&line).unwrap().verb.name, verb.name);
            }
            assert!(verb.help.chars().count() <= 56, "{:?} too long", verb.help);
            assert!(
                verb.usage().chars().count() <= 16,
                "{} too long",
                verb.usage()
            );
        }
        for tab in [Tab::Users, Tab::Usage] {
            let mut words = std::collections::BTreeSet::new();
            for (w, _) in filter_words(tab) {
                assert!(words.insert(w), "{w} twice in {tab:?}");
                assert!(!w.contains(' '), "{w}");
            }
        }
    }
}
