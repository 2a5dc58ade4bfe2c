//! `navscim sim`: run the simulator alone.
// INTERFACE STUB — filled in by the simulator work.

/// Flags of `navscim sim` (DESIGN.md section 6).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {}

/// Runs until Ctrl-C. Prints the base URL as the first line of stdout. Returns the exit code.
pub async fn run(args: SimArgs) -> i32 {
    let _ = args;
    todo!("simulator work")
}
