//! Command line: parse arguments, pick the TUI or a headless command.

pub fn main() -> i32 {
    0
}
