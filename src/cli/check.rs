//! `navscim check`: test the connection, print what the server supports.

use serde_json::json;

use super::error::{CliError, Report};
use super::{exit, exit_code_for, CheckArgs, ConnectionArgs};
use crate::app::connection::ConnectionFailure;
use crate::runtime::connect::{connect, test_within};
use crate::runtime::executor::{filter_problem, summarize};
use crate::scim::ScimError;

pub async fn run(conn: &ConnectionArgs, args: &CheckArgs) -> i32 {
    let fail = |code: i32, failure: ConnectionFailure, base_url: &str| {
        if args.json {
            let out = json!({
                "ok": false,
                "base_url": base_url,
                "error": { "headline": failure.headline, "detail": failure.detail, "exit_code": code },
            });
            println!(
                "{}",
                crate::sanitize::json_for_terminal(&format!("{out:#}"))
            );
            code
        } else {
            let message = format!("{}: {}", failure.headline, failure.detail);
            Report::plain(false).fail(CliError::new(code, message))
        }
    };

    let (profile, _) = match conn.resolve() {
        Ok(p) => p,
        Err(e) => {
            let failure = ConnectionFailure {
                headline: "Configuration problem".into(),
                detail: e,
            };
            return fail(exit::USAGE, failure, "");
        }
    };
    let base_url = profile.base_url.clone();
    let setup = conn.client_setup(&profile);
    let budget = setup.timeout();
    let client = match connect(setup).await {
        Ok(c) => c,
        Err(e) => {
            let failure = e.failure();
            return fail(CliError::from(e).code, failure, &base_url);
        }
    };
    let (result, waited) = test_within(&client, budget).await;
    match result {
        Ok(report) if report.filter_problem.is_some() => {
            let failure = filter_problem(&report).expect("checked");
            fail(exit::SERVER, failure, &base_url)
        }
        Ok(report) => {
            let s = summarize(&report);
            if args.json {
                let out = json!({
                    "ok": true,
                    "base_url": base_url,
                    "latency_ms": s.latency.as_millis() as u64,
                    "probe": s.probe,
                    "supports": { "filter": s.filter, "patch": s.patch, "delete": s.delete, "bulk": s.bulk },
                    // Proved by a lookup for a value that cannot exist answering nobody
                    // (a server that answered users fails the check instead).
                    "filters_honoured": s.filter,
                });
                println!(
                    "{}",
                    crate::sanitize::json_for_terminal(&format!("{out:#}"))
                );
            } else {
                let yn = |b: bool| if b { "yes" } else { "no" };
                println!(
                    "Connected to {base_url} in {} ms; token valid (checked via {}).",
                    s.latency.as_millis(),
                    s.probe
                );
                println!(
                    "Supports: filter {}, patch {}, delete {}, bulk {}.",
                    yn(s.filter),
                    yn(s.patch),
                    yn(s.delete),
                    yn(s.bulk)
                );
                if s.filter {
                    println!(
                        "Filters are honoured: a lookup for a value that cannot exist found nobody."
                    );
                }
                println!("Reuse this token in navscim and your IdP: generating a new one invalidates it.");
            }
            exit::SUCCESS
        }
        Err(e) => {
            let mut failure = ConnectionFailure::from_scim(&e);
            if matches!(e, ScimError::Timeout(_)) {
                failure.detail = format!(
                    "no answer from {base_url} after waiting {:.1} s (--timeout {} s). {}",
                    waited.as_secs_f64(),
                    budget.as_secs(),
                    "Check the base URL, the network and HTTPS_PROXY."
                );
            }
            fail(exit_code_for(e.category()), failure, &base_url)
        }
    }
}
