//! Lookup benchmarks (DESIGN.md section 7). Plain timing, no harness:
//!
//!     cargo bench --bench lookup            # everything (about a minute)
//!     cargo bench --bench lookup -- import  # only the import + merge part
//!     cargo bench --bench lookup -- latency ratelimit
//!
//! 1. import: import + Directory merge of generated 100,000-row CSVs; time and peak
//!    memory (VmHWM from /proc/self/status; run first so the peak is the import's).
//! 2. latency: lookup throughput against the simulator with 20 ms latency at
//!    concurrency 8/32/64, against the bound users × latency / concurrency.
//! 3. ratelimit: the simulator limits requests per second below that bound; achieved
//!    rate against the limit, with the client's own limiter set to the limit and
//!    without it (429 storms, with and without Retry-After). Every lookup must finish
//!    and be right: lost lookups are counted and reported.

use std::io::Write;
use std::time::{Duration, Instant};

use navscim::import::{import_path, ImportOptions};
use navscim::lookup::{jobs_for, run_batch, LookupEvent, LookupJob, LookupOptions, Unsupported};
use navscim::matching::{DirUser, Directory, DomainAliases, LookupKind, MatchStatus};
use navscim::scim::{ClientConfig, ScimClient};
use navscim::secret::Token;
use navscim::sim::{self, SimConfig, SimHandle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "bench-token";

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

/// The 1-minute load average: how busy the (shared) machine is.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn bench_import() {
    const ROWS: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let idp = dir.path().join("okta_100k.csv");
    let sn = dir.path().join("salesnav_100k.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&idp).unwrap());
        writeln!(
            f,
            "Username,Email,First Name,Last Name,Display Name,Status,Employee Number,Department"
        )
        .unwrap();
        for i in 0..ROWS {
            writeln!(
                f,
                "user.{i}@corp.example,User.{i}@corp.example,First{i},Last{i},First{i} Last{i},ACTIVE,E{i:07},Sales"
            )
            .unwrap();
        }
        let mut f = std::io::BufWriter::new(std::fs::File::create(&sn).unwrap());
        writeln!(f, "invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups").unwrap();
        // Half the IdP users hold a seat; as many seats belong to people not in the IdP.
        for i in (0..ROWS).step_by(2).chain(ROWS..ROWS + ROWS / 2) {
            writeln!(
                f,
                "user.{i}@corp.example,First{i},Last{i},E{i:07},S{i},ACTIVE,,NONE,Sales"
            )
            .unwrap();
        }
    }
    let opts = ImportOptions::default();
    let aliases = DomainAliases::default();

    let base_rss = status_kb("VmRSS:");
    let cpu = cpu_time();
    let t = Instant::now();
    let one = import_path(&idp, &opts).unwrap();
    let t_import = t.elapsed();
    let hwm_import = status_kb("VmHWM:");
    let rss_import = status_kb("VmRSS:");
    let directory = Directory::build(std::slice::from_ref(&one), &aliases);
    let t_total = t.elapsed();
    let cpu_one = cpu_time() - cpu;
    let rss_dir = status_kb("VmRSS:");
    let jobs = jobs_for(&directory);
    let hwm_one = status_kb("VmHWM:");
    println!(
        "  memory: peak during import {:.0} MB, imported records {:.0} MB, + directory {:.0} MB, \
         + lookup jobs (a copy of each user) {:.0} MB",
        mb(hwm_import),
        mb(rss_import.saturating_sub(base_rss)),
        mb(rss_dir.saturating_sub(rss_import)),
        mb(status_kb("VmRSS:").saturating_sub(rss_dir)),
    );
    println!(
        "import+merge, 1 file x {ROWS} rows (Okta): import {:.0} ms, merge {:.0} ms, total {:.0} ms \
         (CPU {:.0} ms, load {}); {} users; peak RSS {:.0} MB (baseline {:.0} MB)",
        t_import.as_secs_f64() * 1e3,
        (t_total - t_import).as_secs_f64() * 1e3,
        t_total.as_secs_f64() * 1e3,
        cpu_one.as_secs_f64() * 1e3,
        load(),
        directory.len(),
        mb(hwm_one),
        mb(base_rss),
    );
    assert_eq!(jobs.len(), ROWS);
    drop((one, directory, jobs));

    let cpu = cpu_time();
    let t = Instant::now();
    let imports = vec![
        import_path(&idp, &opts).unwrap(),
        import_path(&sn, &opts).unwrap(),
    ];
    let t_import = t.elapsed();
    let directory = Directory::build(&imports, &aliases);
    let t_total = t.elapsed();
    let cpu_two = cpu_time() - cpu;
    println!(
        "import+merge, Okta {ROWS} rows + Sales Navigator {} rows: import {:.0} ms, merge {:.0} ms, \
         total {:.0} ms (CPU {:.0} ms); {} users; peak RSS {:.0} MB",
        ROWS,
        t_import.as_secs_f64() * 1e3,
        (t_total - t_import).as_secs_f64() * 1e3,
        t_total.as_secs_f64() * 1e3,
        cpu_two.as_secs_f64() * 1e3,
        directory.len(),
        mb(status_kb("VmHWM:")),
    );
}

fn client(base: &str, concurrency: usize, rate_limit: Option<f64>) -> ScimClient {
    let mut c = ClientConfig::new(base, Token::new(TOKEN));
    c.concurrency = concurrency;
    c.rate_limit = rate_limit;
    c.max_retries = 30;
    c.backoff_base = Duration::from_millis(50);
    c.backoff_max = Duration::from_secs(2);
    ScimClient::new(c).unwrap()
}

fn jobs_from(sim: &SimHandle, n: usize) -> Vec<LookupJob> {
    sim.users()
        .into_iter()
        .take(n)
        .enumerate()
        .map(|(index, u)| LookupJob {
            index,
            user: DirUser {
                key: u.user_name.to_lowercase(),
                email: Some(u.user_name.clone()),
                user_name: None,
                idp_id: None,
                first_name: None,
                last_name: None,
                display_name: None,
                in_idp: true,
                idp_enabled: None,
                seat: None,
                other_seats: Vec::new(),
                sources: vec![],
                duplicate_rows: 0,
                stored_scim_id: None,
            },
        })
        .collect()
}

struct Run {
    elapsed: Duration,
    finished: usize,
    lost: usize,
    wrong: usize,
    requests: u64,
    throttled: u64,
    /// CPU time of the whole process (client and simulator) during the run.
    cpu: Duration,
    /// When each lookup finished, in order, from the start.
    finished_at: Vec<Duration>,
    /// Lookups in flight at once (started, not finished), the most and on average.
    max_in_flight: usize,
    mean_in_flight: f64,
    /// The simulator's actual mean latency during the run (arrival to the end of its
    /// sleep), when it had any.
    sim_latency: Option<Duration>,
}

impl Run {
    /// Lookups per second between the `from` share of the run and its end: the
    /// sustained rate, without the simulator's initial one-second burst allowance.
    fn steady_rate(&self, from: f64) -> f64 {
        let k1 = ((self.finished_at.len() as f64) * from) as usize;
        let k2 = self.finished_at.len() - 1;
        (k2 - k1) as f64 / (self.finished_at[k2] - self.finished_at[k1]).as_secs_f64()
    }
}

/// One lookup per user (userName only, every user exists), so requests = users.
async fn run(
    sim: &SimHandle,
    client: &ScimClient,
    jobs: Vec<LookupJob>,
    concurrency: usize,
) -> Run {
    let n = jobs.len();
    let expected: Vec<String> = jobs.iter().map(|j| j.user.email.clone().unwrap()).collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = LookupOptions {
        precedence: vec![LookupKind::UserName],
        concurrency,
        ..LookupOptions::default()
    };
    let before = client.stats();
    let delays_before = sim.delay_totals();
    let cpu = cpu_time();
    let t = Instant::now();
    let batch = tokio::spawn(run_batch(
        client.clone(),
        jobs,
        options,
        Unsupported::default(),
        CancellationToken::new(),
        tx,
    ));
    let mut done = vec![false; n];
    let mut wrong = 0;
    let mut finished_at = Vec::with_capacity(n);
    let (mut in_flight, mut max_in_flight) = (0usize, 0usize);
    let (mut area, mut last) = (0.0f64, Duration::ZERO);
    while let Some(e) = rx.recv().await {
        let now = t.elapsed();
        area += in_flight as f64 * (now - last).as_secs_f64();
        last = now;
        match &e {
            LookupEvent::Started(_) => {
                in_flight += 1;
                max_in_flight = max_in_flight.max(in_flight);
            }
            LookupEvent::Finished(..) => in_flight -= 1,
        }
        if let LookupEvent::Finished(i, o) = e {
            finished_at.push(t.elapsed());
            done[i] = true;
            let right = matches!(o.status, MatchStatus::Matched { .. })
                && o.user.as_ref().map(|u| &u.user_name) == Some(&expected[i]);
            if !right {
                wrong += 1;
            }
        }
    }
    let summary = batch.await.unwrap();
    let elapsed = t.elapsed();
    let cpu = cpu_time() - cpu;
    let after = client.stats();
    let delays_after = sim.delay_totals();
    let delayed = delays_after.0 - delays_before.0;
    let sim_latency = (delayed > 0).then(|| (delays_after.1 - delays_before.1) / delayed as u32);
    Run {
        elapsed,
        finished: summary.finished,
        lost: done.iter().filter(|d| !**d).count(),
        wrong,
        requests: after.requests - before.requests,
        throttled: after.throttled - before.throttled,
        cpu,
        finished_at,
        max_in_flight,
        mean_in_flight: area / elapsed.as_secs_f64(),
        sim_latency,
    }
}

async fn bench_latency() {
    const USERS: usize = 2000;
    let latency = Duration::from_millis(20);
    let sim = sim::start(SimConfig {
        token: TOKEN.into(),
        generate: USERS,
        latency,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // What client and simulator manage together on this machine with no latency at
    // all: the ceiling any latency run can reach.
    let fast = sim::start(SimConfig {
        token: TOKEN.into(),
        generate: USERS,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for concurrency in [8usize, 64] {
        let c = client(fast.base_url(), concurrency, None);
        let _ = run(&fast, &c, jobs_from(&fast, concurrency), concurrency).await;
        let r = run(&fast, &c, jobs_from(&fast, USERS), concurrency).await;
        println!(
            "latency 0 (ceiling), {USERS} users, concurrency {concurrency:>2}: {:.2} s, {:.0} lookups/s, \
             {:.2} ms a lookup per worker; CPU {:.0} us/request, {:.0}% of one core; load {}",
            r.elapsed.as_secs_f64(),
            USERS as f64 / r.elapsed.as_secs_f64(),
            r.elapsed.as_secs_f64() * 1e3 * concurrency as f64 / USERS as f64,
            r.cpu.as_secs_f64() * 1e6 / r.requests as f64,
            100.0 * r.cpu.as_secs_f64() / r.elapsed.as_secs_f64(),
            load(),
        );
    }
    fast.shutdown().await;

    let mut runs: Vec<(Duration, usize)> =
        [8usize, 32, 64].into_iter().map(|c| (latency, c)).collect();
    // Where latency dominates the fixed cost of a request on this machine (see
    // BENCHMARKS.md), closer to a real service's latency.
    runs.push((Duration::from_millis(100), 64));
    let slow = sim::start(SimConfig {
        token: TOKEN.into(),
        generate: USERS,
        latency: Duration::from_millis(100),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for (latency, concurrency) in runs {
        let sim = if latency == Duration::from_millis(100) {
            &slow
        } else {
            &sim
        };
        let c = client(sim.base_url(), concurrency, None);
        // Warm the connection pool (not timed).
        let _ = run(sim, &c, jobs_from(sim, concurrency), concurrency).await;
        let r = run(sim, &c, jobs_from(sim, USERS), concurrency).await;
        let bound = latency.as_secs_f64() * r.requests as f64 / concurrency as f64;
        println!(
            "latency {} ms, {USERS} users, concurrency {concurrency:>2}: {:.2} s (bound {:.2} s) \
             = {:.1}% of the limit; {:.0} lookups/s; {} requests; lost {}, wrong {}; \
             CPU {:.2} s = {:.0} us/request, {:.0}% of one core; load {}; in flight: max {}, mean {:.1}; \
             simulator's actual latency: mean {:.2} ms",
            latency.as_millis(),
            r.elapsed.as_secs_f64(),
            bound,
            100.0 * bound / r.elapsed.as_secs_f64(),
            USERS as f64 / r.elapsed.as_secs_f64(),
            r.requests,
            r.lost,
            r.wrong,
            r.cpu.as_secs_f64(),
            r.cpu.as_secs_f64() * 1e6 / r.requests as f64,
            100.0 * r.cpu.as_secs_f64() / r.elapsed.as_secs_f64(),
            load(),
            r.max_in_flight,
            r.mean_in_flight,
            r.sim_latency.unwrap_or_default().as_secs_f64() * 1e3,
        );
        assert_eq!(r.finished, USERS);
    }
    sim.shutdown().await;
    slow.shutdown().await;
}

async fn bench_rate_limit() {
    const USERS: usize = 1500;
    const LIMIT: f64 = 200.0;
    const CONCURRENCY: usize = 32;
    let latency = Duration::from_millis(20);
    // users x latency / concurrency = 0.94 s; the rate limit allows 6.5 s (7.5 s at 200/s
    // less the simulator's initial burst of 200).
    for (label, client_limit, retry_after) in [
        ("client limiter at the limit", Some(LIMIT), true),
        ("no client limiter, 429 + Retry-After", None, true),
        ("no client limiter, 429 without Retry-After", None, false),
    ] {
        let sim = sim::start(SimConfig {
            token: TOKEN.into(),
            generate: USERS,
            latency,
            rate_limit: Some(LIMIT),
            retry_after,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let c = client(sim.base_url(), CONCURRENCY, client_limit);
        let r = run(&sim, &c, jobs_from(&sim, USERS), CONCURRENCY).await;
        let achieved = USERS as f64 / r.elapsed.as_secs_f64();
        let steady = r.steady_rate(0.3);
        // The fastest any client can be: the first LIMIT requests at once (the bucket
        // starts full), the rest at LIMIT a second.
        let best = (USERS as f64 - LIMIT) / LIMIT;
        println!(
            "rate limit {LIMIT:.0}/s, {USERS} users, concurrency {CONCURRENCY}, {label}: {:.2} s \
             = {:.1}% of the fastest possible ({best:.2} s); \
             sustained (last 70%) {:.0} lookups/s = {:.1}% of the limit (whole run {:.0}/s, \
             helped by the simulator's 1 s burst allowance); {} requests, {} throttled (429); \
             lost {}, wrong {}; load {}",
            r.elapsed.as_secs_f64(),
            100.0 * best / r.elapsed.as_secs_f64(),
            steady,
            100.0 * steady / LIMIT,
            achieved,
            r.requests,
            r.throttled,
            r.lost,
            r.wrong,
            load(),
        );
        assert_eq!(r.lost, 0);
        sim.shutdown().await;
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    println!(
        "navscim lookup benchmarks ({} CPUs)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    if want("import") {
        bench_import();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if want("latency") {
        rt.block_on(bench_latency());
    }
    if want("ratelimit") {
        rt.block_on(bench_rate_limit());
    }
    if args.iter().any(|a| a == "diag") {
        rt.block_on(diag());
    }
}

/// Where does the time go? Direct client calls, raw reqwest, a trivial server.
pub async fn diag() {
    use futures::StreamExt;
    const N: usize = 640;
    const C: usize = 64;
    let latency = Duration::from_millis(100);
    let sim = sim::start(SimConfig {
        token: TOKEN.into(),
        generate: 100,
        latency,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let trivial = {
        let app = axum::Router::new().fallback(|| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            axum::Json(serde_json::json!({"Resources": []}))
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/scim", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        url
    };
    for (label, base) in [("sim", sim.base_url().to_string()), ("trivial", trivial)] {
        let c = client(&base, C, None);
        let f = navscim::scim::Filter::eq(navscim::scim::FilterAttr::UserName, "x@y.z").unwrap();
        let t = Instant::now();
        futures::stream::iter(0..N)
            .map(|_| {
                let (c, f) = (c.clone(), f.clone());
                async move { c.find_users(&f).await.map(|_| ()).unwrap() }
            })
            .buffer_unordered(C)
            .collect::<Vec<_>>()
            .await;
        let e = t.elapsed();
        println!(
            "diag {label}: ScimClient {N} requests at {C}: {:.2} s = {:.0}% of the bound",
            e.as_secs_f64(),
            100.0 * (N / C) as f64 * 0.1 / e.as_secs_f64()
        );
        let raw = reqwest::Client::new();
        let url = format!("{base}/Users?filter=userName%20eq%20%22x%40y.z%22");
        let t = Instant::now();
        futures::stream::iter(0..N)
            .map(|_| {
                let (raw, url) = (raw.clone(), url.clone());
                async move {
                    raw.get(&url)
                        .bearer_auth(TOKEN)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                }
            })
            .buffer_unordered(C)
            .collect::<Vec<_>>()
            .await;
        let e = t.elapsed();
        println!(
            "diag {label}: raw reqwest {N} requests at {C}: {:.2} s = {:.0}% of the bound",
            e.as_secs_f64(),
            100.0 * (N / C) as f64 * 0.1 / e.as_secs_f64()
        );
    }
}
