//! `navscim sim`: run the simulator alone.
//!
//! Prints the base URL as the first line of stdout (and flushes), a short summary on
//! stderr, then serves until Ctrl-C. Exit codes: 0 after Ctrl-C; 2 for bad flags, an
//! unreadable or invalid seed file; 1 when the address cannot be bound or the server
//! fails.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::SimConfig;

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
}

fn parse_rps(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && (0.01..=1_000_000.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is not a number of requests per second between 0.01 and 1000000"
        ))
    }
}

/// Flags of `navscim sim` (DESIGN.md section 6).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7643")]
    pub addr: SocketAddr,
    /// Bearer token clients must present.
    #[arg(long, default_value = "navscim-demo")]
    pub token: String,
    /// Seed users from a Sales Navigator user export CSV, or from a JSON array of
    /// SCIM User resources (ids kept), e.g. a field case's users.json.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Reproduce a non-standard server behaviour (repeatable, or comma-separated):
    /// resources-lowercase, resources-uppercase, total-without-resources,
    /// filter-ignored, active-as-string, numeric-id, case-sensitive-filter,
    /// no-op-patch, 404-after-read, id-missing, html-answers.
    #[arg(long, value_name = "NAME", value_parser = super::Fault::parse_list, action = clap::ArgAction::Append)]
    pub fault: Vec<Vec<super::Fault>>,
    /// Page size of the answers to an ignored filter (with --fault filter-ignored).
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,
    /// Add N deterministic synthetic users after the seed.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1_000_000))]
    pub generate: usize,
    /// Delay every answer by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub latency_ms: u64,
    /// Add a random 0..=MS milliseconds to the latency.
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub jitter_ms: u64,
    /// Requests per second; excess answered 429.
    #[arg(long, value_name = "RPS", value_parser = parse_rps)]
    pub rate_limit: Option<f64>,
    /// Answer 429 without a Retry-After header.
    #[arg(long)]
    pub no_retry_after: bool,
    /// Share (0–1) of requests answered 500/502/503.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fail_rate: f64,
    /// Share (0–1) of requests whose connection is dropped without an answer.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_rate)]
    pub drop_rate: f64,
    /// Share (0–1) of requests answered 200 with an unparsable body.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_rate)]
    pub malformed_rate: f64,
    /// Allow DELETE /Users/{id} (and advertise it).
    #[arg(long)]
    pub allow_delete: bool,
    /// Behave like a generic SCIM server: list users without a filter, more filters.
    #[arg(long)]
    pub allow_list: bool,
    /// Free licences for new users (default unlimited).
    #[arg(long, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=10_000_000))]
    pub seats: Option<usize>,
    /// Seed of every random choice, so runs are repeatable.
    #[arg(long, value_name = "N", default_value_t = 7643)]
    pub random_seed: u64,
    /// Quota, Retry-After, failure-storm and header-echo fault modes.
    #[command(flatten)]
    pub failsafe: super::failsafe::FailsafeArgs,
    /// The identity-provider simulators (--okta, --entra and their knobs).
    #[command(flatten)]
    pub idp: super::idp::IdpSimArgs,
}

impl Default for SimArgs {
    fn default() -> Self {
        SimArgs {
            addr: SocketAddr::from(([127, 0, 0, 1], 7643)),
            token: "navscim-demo".into(),
            seed: None,
            fault: Vec::new(),
            page_size: None,
            generate: 0,
            latency_ms: 0,
            jitter_ms: 0,
            rate_limit: None,
            no_retry_after: false,
            fail_rate: 0.0,
            drop_rate: 0.0,
            malformed_rate: 0.0,
            allow_delete: false,
            allow_list: false,
            seats: None,
            random_seed: 7643,
            failsafe: Default::default(),
            idp: Default::default(),
        }
    }
}

impl SimArgs {
    /// Builds and validates the configuration; reads the seed file (not parsed yet:
    /// [`super::start`] does that and reports line and column).
    pub fn to_config(&self) -> Result<SimConfig, String> {
        let seed_text = match &self.seed {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read seed file {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let (seed_csv, seed_json) = match seed_text {
            Some(t) if super::seed::looks_like_json(&t) => (None, Some(t)),
            other => (other, None),
        };
        let mut faults: Vec<super::Fault> = self.fault.iter().flatten().copied().collect();
        faults.sort();
        faults.dedup();
        let config = SimConfig {
            addr: self.addr,
            token: self.token.clone(),
            seed_csv,
            seed_json,
            faults,
            page_size: self.page_size,
            generate: self.generate,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            rate_limit: self.rate_limit,
            retry_after: !self.no_retry_after,
            fail_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            malformed_rate: self.malformed_rate,
            allow_delete: self.allow_delete,
            allow_list: self.allow_list,
            seats: self.seats,
            random_seed: self.random_seed,
            failsafe: self.failsafe.to_faults(),
        };
        config.validate()?;
        config.failsafe.validate()?;
        if let Some(text) = &config.seed_csv {
            let path = self.seed.as_ref().expect("seed path").display();
            super::seed::parse_seed(text).map_err(|e| format!("{path}: {e}"))?;
        }
        if let Some(text) = &config.seed_json {
            let path = self.seed.as_ref().expect("seed path").display();
            super::seed::parse_json_seed(text).map_err(|e| format!("{path}: {e}"))?;
        }
        Ok(config)
    }
}

fn summary(h: &super::SimHandle) -> String {
    let c = h.config();
    let mut knobs = Vec::new();
    if !c.latency.is_zero() || !c.jitter.is_zero() {
        knobs.push(format!(
            "latency {} ms + jitter {} ms",
            c.latency.as_millis(),
            c.jitter.as_millis()
        ));
    }
    if let Some(r) = c.rate_limit {
        let ra = if c.retry_after { "with" } else { "without" };
        knobs.push(format!("rate limit {r}/s (429 {ra} Retry-After)"));
    }
    for (name, v) in [
        ("fail", c.fail_rate),
        ("drop", c.drop_rate),
        ("malformed", c.malformed_rate),
    ] {
        if v > 0.0 {
            knobs.push(format!("{name} rate {v}"));
        }
    }
    knobs.extend(c.failsafe.describe());
    if c.allow_list {
        knobs.push("listing allowed".into());
    }
    for f in &c.faults {
        knobs.push(format!("fault {f}"));
    }
    if c.allow_delete {
        knobs.push("DELETE allowed".into());
    }
    let seats = match h.seats_free() {
        Some(n) => format!("{n} free seats"),
        None => "unlimited seats".into(),
    };
    let knobs = if knobs.is_empty() {
        "no faults".to_string()
    } else {
        knobs.join(", ")
    };
    format!(
        "navscim sim: serving the Sales Navigator SCIM simulator at {}\n\
         token: {} · users: {} · {seats} · random seed {}\n\
         knobs: {knobs}\n\
         stats: GET {}/_sim/stats · Ctrl-C to stop",
        h.base_url(),
        c.token,
        h.user_count(),
        c.random_seed,
        h.base_url(),
    )
}

/// Runs until Ctrl-C. Prints the base URL as the first line of stdout. Returns the exit code.
pub async fn run(args: SimArgs) -> i32 {
    let config = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("navscim sim: {e}");
            return 2;
        }
    };
    if !config.addr.ip().is_loopback() {
        eprintln!(
            "navscim sim: warning: listening on {} (not loopback); anyone who can reach it \
             and knows the token can use it",
            config.addr
        );
    }
    let handle = match super::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("navscim sim: {e}");
            return match e.kind() {
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => 2,
                _ => 1,
            };
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", handle.base_url());
        let _ = out.flush();
    }
    eprintln!("{}", summary(&handle));
    let idp_sims = match args.idp.start().await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("navscim sim: identity-provider simulator: {e}");
            handle.shutdown().await;
            return 1;
        }
    };
    let code = match tokio::signal::ctrl_c().await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("navscim sim: cannot wait for Ctrl-C: {e}");
            1
        }
    };
    eprintln!("navscim sim: stopping");
    for h in idp_sims {
        h.shutdown().await;
    }
    handle.shutdown().await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parse(argv: &[&str]) -> Result<SimArgs, clap::Error> {
        Wrap::try_parse_from(std::iter::once("sim").chain(argv.iter().copied())).map(|w| w.args)
    }

    #[test]
    fn defaults_match() {
        let a = parse(&[]).unwrap();
        let d = SimArgs::default();
        assert_eq!(a.addr, d.addr);
        assert_eq!(a.token, d.token);
        assert_eq!(a.random_seed, d.random_seed);
        let c = a.to_config().unwrap();
        assert!(c.retry_after);
        assert_eq!(c.rate_limit, None);
        assert_eq!(c.addr.port(), 7643);
    }

    #[test]
    fn faults_and_a_json_seed() {
        let dir = std::env::temp_dir().join(format!("navscim-sim-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let seed = dir.join("users.json");
        std::fs::write(
            &seed,
            r#"[{"id":"u-1","userName":"a@x.example","active":"False"}]"#,
        )
        .unwrap();
        let a = parse(&[
            "--fault",
            "filter-ignored,numeric-id",
            "--fault",
            "404-after-read",
            "--page-size",
            "10",
            "--seed",
            seed.to_str().unwrap(),
        ])
        .unwrap();
        let c = a.to_config().unwrap();
        assert_eq!(
            c.faults,
            vec![
                super::super::Fault::FilterIgnored,
                super::super::Fault::NumericId,
                super::super::Fault::NotFoundAfterRead
            ]
        );
        assert_eq!(c.page_size, Some(10));
        assert!(c.seed_csv.is_none() && c.seed_json.is_some());
        assert!(parse(&["--fault", "nonsense"]).is_err());
        std::fs::write(
            &seed,
            r#"[{"id":"u-1","userName":"a@x.example","active":"maybe"}]"#,
        )
        .unwrap();
        let err = parse(&["--seed", seed.to_str().unwrap()])
            .unwrap()
            .to_config()
            .unwrap_err();
        assert!(err.contains("user #1") && err.contains("active"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags_to_config() {
        let a = parse(&[
            "--addr",
            "127.0.0.1:0",
            "--token",
            "t0k",
            "--generate",
            "5",
            "--latency-ms",
            "20",
            "--jitter-ms",
            "5",
            "--rate-limit",
            "12.5",
            "--no-retry-after",
            "--fail-rate",
            "0.1",
            "--drop-rate",
            "0",
            "--malformed-rate",
            "1",
            "--allow-delete",
            "--allow-list",
            "--seats",
            "3",
            "--random-seed",
            "42",
        ])
        .unwrap();
        let c = a.to_config().unwrap();
        assert_eq!(c.addr.port(), 0);
        assert_eq!(c.token, "t0k");
        assert_eq!(c.generate, 5);
        assert_eq!(c.latency, Duration::from_millis(20));
        assert_eq!(c.jitter, Duration::from_millis(5));
        assert_eq!(c.rate_limit, Some(12.5));
        assert!(!c.retry_after);
        assert_eq!(c.fail_rate, 0.1);
        assert_eq!(c.malformed_rate, 1.0);
        assert!(c.allow_delete && c.allow_list);
        assert_eq!(c.seats, Some(3));
        assert_eq!(c.random_seed, 42);
    }

    #[test]
    fn bad_flags() {
        assert!(parse(&["--fail-rate", "1.5"]).is_err());
        assert!(parse(&["--drop-rate", "-0.1"]).is_err());
        assert!(parse(&["--malformed-rate", "x"]).is_err());
        assert!(parse(&["--rate-limit", "0"]).is_err());
        assert!(parse(&["--addr", "nowhere"]).is_err());
        // Validation also holds when SimArgs is built by hand.
        let a = SimArgs {
            fail_rate: 2.0,
            ..SimArgs::default()
        };
        assert!(a.to_config().unwrap_err().contains("fail rate"));
        let a = SimArgs {
            token: String::new(),
            ..SimArgs::default()
        };
        assert!(a.to_config().is_err());
        let a = SimArgs {
            seed: Some("/nonexistent/seed.csv".into()),
            ..SimArgs::default()
        };
        assert!(a.to_config().unwrap_err().contains("/nonexistent/seed.csv"));
    }

    #[test]
    fn bad_seed_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seed.csv");
        std::fs::write(
            &p,
            "invited_email_address;unique_user_id\r\na@b.c;1\r\n;2\r\n",
        )
        .unwrap();
        let a = SimArgs {
            seed: Some(p.clone()),
            ..SimArgs::default()
        };
        let e = a.to_config().unwrap_err();
        assert!(e.contains("seed.csv"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("invited_email_address"), "{e}");
    }

    #[tokio::test]
    async fn run_returns_2_on_bad_config() {
        let a = SimArgs {
            drop_rate: 7.0,
            ..SimArgs::default()
        };
        assert_eq!(run(a).await, 2);
    }
}
