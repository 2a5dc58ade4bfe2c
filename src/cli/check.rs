//! `navscim check`: test the connection, print what the server supports.

use serde_json::json;

use super::{exit, exit_code_for, CheckArgs, ConnectionArgs};
use crate::app::state::ConnectionFailure;
use crate::config;
use crate::runtime::executor::summarize;
use crate::scim::{ClientConfig, ScimClient};

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
        } else {
            eprintln!(
                "navscim: {}",
                crate::sanitize::for_terminal(&format!("{}: {}", failure.headline, failure.detail))
            );
        }
        code
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
    let source = profile
        .token
        .clone()
        .expect("resolve() always sets a source");
    let name = profile.name.clone();
    let token =
        match tokio::task::spawn_blocking(move || config::resolve_token(&source, &name)).await {
            Ok(Ok(token)) => token,
            Ok(Err(e)) => return fail(exit::USAGE, ConnectionFailure::from_token(&e), &base_url),
            Err(e) => {
                let failure = ConnectionFailure {
                    headline: "No token".into(),
                    detail: e.to_string(),
                };
                return fail(exit::FAILURE, failure, &base_url);
            }
        };
    let mut config = ClientConfig::new(base_url.clone(), token);
    config.ca_file = profile.ca_file.clone();
    let client = match ScimClient::new(config) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                exit_code_for(e.category()),
                ConnectionFailure::from_scim(&e),
                &base_url,
            )
        }
    };
    match client.test_connection().await {
        Ok(report) => {
            let s = summarize(&report);
            if args.json {
                let out = json!({
                    "ok": true,
                    "base_url": base_url,
                    "latency_ms": s.latency.as_millis() as u64,
                    "probe": s.probe,
                    "supports": { "filter": s.filter, "patch": s.patch, "delete": s.delete, "bulk": s.bulk },
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
                println!("Reuse this token in navscim and your IdP: generating a new one invalidates it.");
            }
            exit::SUCCESS
        }
        Err(e) => fail(
            exit_code_for(e.category()),
            ConnectionFailure::from_scim(&e),
            &base_url,
        ),
    }
}
