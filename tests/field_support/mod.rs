//! Shared by `identity` and `server_answers`: the field cases (`fixtures/field-cases`,
//! copied from `../shared/field-cases`), a simulator seeded with a case's SCIM users
//! and fault modes, a client, lookups of a case's exports, and `navscim` as a binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use navscim::import::{import_str, Import, ImportOptions};
use navscim::lookup::{lookup_one, LookupOptions, Unsupported};
use navscim::matching::{cross_conflicts, Directory, DomainAliases, LookupOutcome};
use navscim::scim::{ClientConfig, ScimClient};
use navscim::secret::Token;
use navscim::sim::{self, Fault, SimConfig, SimHandle};

pub const TOKEN: &str = "tok-ident-5ecr3t-NEVER-SHOWN";

/// `fixtures/field-cases/<case>/<file>`.
pub fn case_path(case: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/field-cases")
        .join(case)
        .join(file)
}

pub fn case_text(case: &str, file: &str) -> String {
    std::fs::read_to_string(case_path(case, file)).unwrap()
}

/// A simulator holding `users_json` (SCIM users, ids kept) with `faults` on.
pub async fn sim_json(
    users_json: &str,
    faults: &[Fault],
    tweak: impl FnOnce(&mut SimConfig),
) -> SimHandle {
    let mut cfg = SimConfig {
        token: TOKEN.into(),
        seed_json: Some(users_json.to_string()),
        faults: faults.to_vec(),
        ..SimConfig::default()
    };
    tweak(&mut cfg);
    sim::start(cfg).await.unwrap()
}

pub fn client(sim: &SimHandle) -> ScimClient {
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    cfg.max_retries = 1;
    cfg.backoff_base = Duration::from_millis(1);
    cfg.backoff_max = Duration::from_millis(5);
    cfg.timeout = Duration::from_secs(5);
    ScimClient::new(cfg).unwrap()
}

pub fn import(name: &str, text: &str) -> Import {
    import_str(name, text, &ImportOptions::default()).unwrap()
}

/// Looks every user of `directory` up one after the other (deterministic order) and
/// applies the cross-user conflicts, as `navscim lookup` does.
pub async fn look_up_all(client: &ScimClient, directory: &Directory) -> Vec<LookupOutcome> {
    let unsupported = Unsupported::default();
    let options = LookupOptions::default();
    let mut outs = Vec::new();
    for u in &directory.users {
        outs.push(lookup_one(client, u, &options, &unsupported).await);
    }
    let marks = cross_conflicts(directory, |i| outs.get(i).map(|o| (o.status, o.scim_id())));
    for (i, why, not_found_too) in marks {
        outs[i].mark_conflict(&why, not_found_too);
    }
    outs
}

pub fn directory(imports: &[Import]) -> Directory {
    Directory::build(imports, &DomainAliases::default())
}

/// The outcome of the user whose key (normalised email) is `key`.
pub fn outcome_of<'a>(dir: &Directory, outs: &'a [LookupOutcome], key: &str) -> &'a LookupOutcome {
    &outs[dir.index_of(key).unwrap_or_else(|| panic!("no user {key}"))]
}

/// `navscim ARGS` with a private configuration and data directory, off the runtime.
pub async fn navscim(dir: &Path, args: Vec<String>) -> std::process::Output {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_navscim"))
            .args(&args)
            .env("NAVSCIM_CONFIG_DIR", dir.join("config"))
            .env("NAVSCIM_DATA_DIR", dir.join("data"))
            .env("NAVSCIM_TOKEN", TOKEN)
            .env_remove(navscim::journal::CRASH_ENV)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Lookup results (JSON) as values.
pub fn results(path: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The result row whose email is `email`.
pub fn row<'a>(rows: &'a [serde_json::Value], email: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("no row for {email}: {rows:#?}"))
}
