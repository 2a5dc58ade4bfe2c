//! Ctrl-C (SIGINT) and SIGTERM, as one stream of interrupts for the headless commands:
//! the first stops the batch (no new request, no retry; requests in flight finish and
//! are journaled), the second exits at once.

/// Interrupt requests: SIGINT (Ctrl-C) and, on Unix, SIGTERM.
pub struct Interrupts {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    /// Interrupts received so far.
    pub count: u32,
}

impl Interrupts {
    /// Starts listening (call inside the runtime).
    pub fn new() -> Interrupts {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Interrupts {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
                count: 0,
            }
        }
        #[cfg(not(unix))]
        Interrupts { count: 0 }
    }

    /// Waits for the next interrupt and returns how many there were so far.
    pub async fn recv(&mut self) -> u32 {
        #[cfg(unix)]
        {
            let int = async {
                match &mut self.int {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let term = async {
                match &mut self.term {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = int => {}
                _ = term => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        self.count += 1;
        self.count
    }
}

impl Default for Interrupts {
    fn default() -> Self {
        Interrupts::new()
    }
}
