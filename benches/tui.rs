//! TUI benchmarks (DESIGN.md section 7): frame time with 1,000 vs 100,000 users, a
//! filter keystroke over 100,000 users, bytes written for a one-row cursor move and
//! while idle, and memory for 100,000 users.
//!
//! Run: `cargo bench --bench tui` (figures go to BENCHMARKS.md).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use navscim::app::connection::ConnectionState;
use navscim::app::state::{State, Tab};
use navscim::app::Action;
use navscim::import::{import_str, ImportOptions};
use navscim::runtime::render_to_buffer;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

const HEADER: &str = "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n";
const FIRST: [&str; 8] = [
    "Ann", "Bob", "Chen", "Dana", "Eve", "Farid", "Greta", "Hugo",
];
const LAST: [&str; 8] = [
    "Smith", "Lee", "Okafor", "Novak", "Garcia", "Kim", "Rossi", "Berg",
];

/// The reducer at a fixed time (what is measured does not depend on the date).
fn reduce(state: &mut State, action: Action) {
    let now = chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0).unwrap();
    navscim::app::reduce(state, action, now);
}

fn export(n: usize) -> String {
    let mut s = String::with_capacity(n * 90);
    s.push_str(HEADER);
    for i in 0..n {
        let (f, l) = (FIRST[i % 8], LAST[(i / 8) % 8]);
        s.push_str(&format!(
            "{}.{}{}@corp.example,{f},{l},E{i},S{i},ACTIVE,,NONE,\n",
            f.to_lowercase(),
            l.to_lowercase(),
            i
        ));
    }
    s
}

fn state_with(n: usize) -> State {
    let mut s = State::new(ConnectionState::new("bench", "https://scim.example"), false);
    reduce(&mut s, Action::Resize(120, 40));
    let import = import_str("bench.csv", &export(n), &ImportOptions::default()).unwrap();
    reduce(
        &mut s,
        Action::FilesImported {
            results: vec![(
                navscim::app::ImportSource::Path("bench.csv".into()),
                Ok(import),
            )],
            lookup_after: false,
        },
    );
    s.tab = Tab::Users;
    s
}

fn key(s: &mut State, code: KeyCode) {
    reduce(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn frame_time(state: &State, frames: u32) -> Duration {
    // Warm up once, then average.
    render_to_buffer(state, 120, 40);
    let start = Instant::now();
    for _ in 0..frames {
        std::hint::black_box(render_to_buffer(state, 120, 40));
    }
    start.elapsed() / frames
}

/// A writer that counts what the terminal backend would send over SSH.
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<Vec<u8>>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    println!("# navscim TUI benchmarks (120x40 terminal)");

    let small = state_with(1_000);
    let t_small = frame_time(&small, 200);
    let build = Instant::now();
    let mut big = state_with(100_000);
    let t_build = build.elapsed();
    let rss = peak_rss_mb();
    let t_big = frame_time(&big, 200);
    println!(
        "frame, Users pane, 1,000 users:    {:>8.1} µs",
        t_small.as_secs_f64() * 1e6
    );
    println!(
        "frame, Users pane, 100,000 users:  {:>8.1} µs",
        t_big.as_secs_f64() * 1e6
    );
    println!(
        "ratio 100k/1k:                     {:>8.2} (target ≤ 1.5)",
        t_big.as_secs_f64() / t_small.as_secs_f64()
    );
    println!(
        "import + merge + view of 100,000 users (in-memory CSV): {:.0} ms",
        t_build.as_secs_f64() * 1e3
    );
    if let Some(mb) = rss {
        println!("peak RSS with 100,000 users loaded: {mb:.0} MB (target < 200 MB)");
    }

    // Filter keystrokes: type "smith" one key at a time, then clear it.
    key(&mut big, KeyCode::Char('/'));
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    let word = "okafor1";
    for c in word.chars() {
        let start = Instant::now();
        key(&mut big, KeyCode::Char(c));
        let t = start.elapsed();
        worst = worst.max(t);
        total += t;
    }
    println!(
        "filter keystroke over 100,000 users: mean {:.1} ms, worst {:.1} ms (target < 30 ms); {} users shown after \"{word}\"",
        total.as_secs_f64() * 1e3 / word.len() as f64,
        worst.as_secs_f64() * 1e3,
        big.users.table.view.len()
    );
    key(&mut big, KeyCode::Esc);

    // Bytes on the wire: a full first frame, a one-row cursor move, an unchanged frame.
    let counter = Counter::default();
    let backend = CrosstermBackend::new(counter.clone());
    let mut terminal = Terminal::with_options(
        backend,
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 120, 40)),
        },
    )
    .unwrap();
    let mut draw = |s: &State| {
        counter.0.lock().unwrap().clear();
        terminal.draw(|f| navscim::ui::render(f, s)).unwrap();
        counter.0.lock().unwrap().len()
    };
    let full = draw(&big);
    key(&mut big, KeyCode::Down);
    let moved = draw(&big);
    let unchanged = draw(&big);
    println!("bytes written: first full frame {full}, one-row cursor move {moved}, unchanged frame {unchanged}");
    println!("(the runtime does not draw at all while the state's revision is unchanged: idle writes 0 bytes)");
}
