//! The runtime: the terminal event loop, the effect executor, and a headless driver
//! that runs the same loop without a terminal (tests, screenshots).

pub mod colors;
pub mod connect;
pub mod executor;
pub mod input;
pub mod log;
pub mod terminal;

use std::io;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
#[cfg(not(unix))]
use futures::StreamExt;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::Event;
#[cfg(not(unix))]
use ratatui::crossterm::event::EventStream;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::Terminal;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::app::{reduce, Action, State};
pub use executor::{Executor, Settings};

/// At most ~30 frames a second while work runs; nothing at all while idle.
const FRAME_BUDGET: Duration = Duration::from_millis(33);

/// How often the elapsed times on screen move on while work runs.
const TICK: Duration = Duration::from_secs(1);

/// Where the reducer's `now` comes from: the system clock, or a fixed time (tests and
/// screenshots, so that what they show does not depend on the day they run).
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => at,
        }
    }
}

/// Reduces one action at the clock's time and hands its effects to the executor;
/// returns how many of them will answer.
fn dispatch(state: &mut State, action: Action, executor: &Executor, clock: Clock) -> usize {
    let effects = reduce(state, action, clock.now());
    let answering = effects.iter().filter(|e| e.answers()).count();
    for effect in effects {
        executor.spawn(effect);
    }
    answering
}

/// Turns a terminal event into an action, if it means anything.
pub fn action_from_event(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) => Some(Action::Key(key)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Mouse(mouse) => Some(Action::Mouse(mouse)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// Runs the dashboard until the admin quits. `initial` actions are dispatched first
/// (e.g. the demo's automatic connection test).
pub async fn run_tui(mut state: State, settings: Settings, initial: Vec<Action>) -> io::Result<()> {
    let mut guard = terminal::TerminalGuard::enter(settings.colors, settings.mouse)?;
    let (tx, mut rx) = unbounded_channel();
    let executor = Executor::new(tx, settings);
    let mut events = TerminalInput::new()?;
    let mut hangup = Signals::new()?;

    let size = guard.terminal.size()?;
    dispatch(
        &mut state,
        Action::Resize(size.width, size.height),
        &executor,
        Clock::System,
    );
    for action in initial {
        dispatch(&mut state, action, &executor, Clock::System);
    }
    let mut drawn_revision = 0;
    let mut last_draw = Instant::now() - FRAME_BUDGET;
    // When the next tick is due. A deadline kept across turns of the loop: a
    // `sleep(TICK)` made anew each turn never ends while lookup results arrive every
    // few milliseconds, and then the results kept for the workspace waited for the
    // end of the run (a `kill -9` lost them all).
    let mut next_tick = Instant::now() + TICK;
    while !state.should_quit {
        let draw_due = (state.revision != drawn_revision).then(|| last_draw + FRAME_BUDGET);
        if let Some(due) = draw_due {
            if Instant::now() >= due {
                draw(&mut guard.terminal, &state)?;
                drawn_revision = state.revision;
                last_draw = Instant::now();
                continue;
            }
        }
        tokio::select! {
            batch = events.next() => match batch {
                Some(Ok(batch)) => {
                    for event in batch {
                        if let Some(action) = action_from_event(event) {
                            dispatch(&mut state, action, &executor, Clock::System);
                        }
                    }
                }
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(action) = rx.recv() => {
                dispatch(&mut state, action, &executor, Clock::System);
            }
            _ = tokio::time::sleep_until(draw_due.unwrap_or_else(Instant::now).into()), if draw_due.is_some() => {}
            // Elapsed times move on while work runs; nothing at all while idle.
            _ = tokio::time::sleep_until(next_tick.into()), if state.work_running() => {
                dispatch(&mut state, Action::Tick, &executor, Clock::System);
                next_tick = Instant::now() + TICK;
            }
            _ = hangup.recv() => break,
        }
    }
    // A last tick hands the lookup results kept so far to the workspace writer (a
    // hang-up ends the loop without `q`), which finishes before the workspace closes.
    dispatch(&mut state, Action::Tick, &executor, Clock::System);
    drop(guard);
    executor.close_workspace();
    Ok(())
}

/// The terminal's events. On Unix our own reader and [`input::InputParser`] (a paste
/// whose end marker never comes ends after a timeout instead of holding every key);
/// elsewhere crossterm's event stream.
struct TerminalInput {
    #[cfg(unix)]
    _reader: input::TtyReader,
    #[cfg(unix)]
    bytes: UnboundedReceiver<Vec<u8>>,
    #[cfg(unix)]
    parser: input::InputParser,
    #[cfg(unix)]
    winch: tokio::signal::unix::Signal,
    #[cfg(not(unix))]
    events: EventStream,
}

impl TerminalInput {
    fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            let (reader, bytes) = input::TtyReader::start()?;
            Ok(TerminalInput {
                _reader: reader,
                bytes,
                parser: input::InputParser::new(),
                winch: tokio::signal::unix::signal(
                    tokio::signal::unix::SignalKind::window_change(),
                )?,
            })
        }
        #[cfg(not(unix))]
        Ok(TerminalInput {
            events: EventStream::new(),
        })
    }

    /// The next events (at least one); `None` when the terminal is gone. Cancel-safe:
    /// nothing is taken from the terminal that is not returned.
    async fn next(&mut self) -> Option<io::Result<Vec<Event>>> {
        #[cfg(unix)]
        loop {
            let deadline = self.parser.deadline();
            tokio::select! {
                bytes = self.bytes.recv() => {
                    let events = self.parser.feed(&bytes?, std::time::Instant::now());
                    if !events.is_empty() {
                        return Some(Ok(events));
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(std::time::Instant::now).into()), if deadline.is_some() => {
                    let events = self.parser.flush(std::time::Instant::now());
                    if !events.is_empty() {
                        return Some(Ok(events));
                    }
                }
                _ = self.winch.recv() => {
                    return Some(ratatui::crossterm::terminal::size().map(|(w, h)| vec![Event::Resize(w, h)]));
                }
            }
        }
        #[cfg(not(unix))]
        self.events.next().await.map(|r| r.map(|e| vec![e]))
    }
}

fn draw(terminal: &mut terminal::Tui, state: &State) -> io::Result<()> {
    // A synchronized update lets the terminal show the frame at once, without tearing.
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let result = terminal
        .draw(|frame| crate::ui::render(frame, state))
        .map(|_| ());
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    result
}

/// SIGTERM and SIGHUP (the SSH session went away) end the loop like `q` does.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

/// The event loop without a terminal: dispatch actions, let effects run for real, and
/// render into a buffer. Used by the TUI tests and the screenshot command.
pub struct Driver {
    pub state: State,
    executor: Executor,
    rx: UnboundedReceiver<Action>,
    /// Effects spawned whose answer has not been dispatched yet.
    awaiting: usize,
    /// The reducer's `now`.
    pub clock: Clock,
}

impl Driver {
    /// Must be called inside a tokio runtime.
    pub fn new(state: State, settings: Settings) -> Self {
        let (tx, rx) = unbounded_channel();
        Driver {
            state,
            executor: Executor::new(tx, settings),
            rx,
            awaiting: 0,
            clock: Clock::System,
        }
    }

    pub fn dispatch(&mut self, action: Action) {
        self.awaiting += dispatch(&mut self.state, action, &self.executor, self.clock);
    }

    /// Waits for the next effect result and dispatches it; `false` when none is due.
    pub async fn step(&mut self) -> bool {
        if self.awaiting == 0 {
            return false;
        }
        let Some(action) = self.rx.recv().await else {
            return false;
        };
        if !action.is_progress() {
            self.awaiting -= 1;
        }
        self.dispatch(action);
        true
    }

    /// Feeds effect results back until every effect (and every effect those caused)
    /// has answered. Each effect answers exactly once, so counting answers is exact.
    pub async fn settle(&mut self) {
        while self.step().await {}
    }

    /// Renders the current state at `width` x `height`.
    pub fn render(&self, width: u16, height: u16) -> Buffer {
        render_to_buffer(&self.state, width, height)
    }

    /// Waits for the workspace writer to finish what it was given and closes the
    /// workspace (its lock is free afterwards), as the dashboard does when it ends.
    pub fn close_workspace(&self) {
        self.executor.close_workspace();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.executor.close_workspace();
    }
}

/// Renders `state` into an off-screen buffer.
pub fn render_to_buffer(state: &State, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| crate::ui::render(frame, state))
        .expect("drawing into memory cannot fail");
    terminal.backend().buffer().clone()
}

/// The buffer as plain text lines, for assertions.
pub fn buffer_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
