//! Helpers shared by the apply / journal tests (not a test target of its own).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use navscim::plan::{Evidence, OpKind, Operation, Plan, PLAN_VERSION};
use navscim::scim::{ClientConfig, ScimClient, ScimUser};
use navscim::secret::Token;
use navscim::sim::{self, SimConfig, SimHandle};

pub const TOKEN: &str = "tok-apply-5Ecr3t-NEVER-IN-JOURNAL";

pub async fn start_sim(generate: usize, tweak: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut cfg = SimConfig {
        token: TOKEN.into(),
        generate,
        ..SimConfig::default()
    };
    tweak(&mut cfg);
    sim::start(cfg).await.expect("simulator starts")
}

pub fn client(sim: &SimHandle, tweak: impl FnOnce(&mut ClientConfig)) -> ScimClient {
    let mut cfg = ClientConfig::new(sim.base_url(), Token::new(TOKEN));
    cfg.backoff_base = Duration::from_millis(1);
    cfg.backoff_max = Duration::from_millis(20);
    cfg.timeout = Duration::from_secs(5);
    tweak(&mut cfg);
    ScimClient::new(cfg).expect("client")
}

pub fn op(kind: OpKind, u: &ScimUser) -> Operation {
    Operation {
        op: kind,
        scim_id: u.id.clone(),
        email: Some(u.user_name.clone()),
        user_name: Some(u.user_name.clone()),
        external_id: u.external_id.clone(),
        name: u.display_name.clone().unwrap_or_default(),
        reason: "test".into(),
        evidence: Evidence::default(),
        new_user: None,
    }
}

pub fn op_id(kind: OpKind, id: &str) -> Operation {
    Operation {
        op: kind,
        scim_id: Some(id.into()),
        email: Some(format!("{id}@example.test")),
        user_name: None,
        external_id: None,
        name: String::new(),
        reason: "test".into(),
        evidence: Evidence::default(),
        new_user: None,
    }
}

pub fn plan(operations: Vec<Operation>, matched_users: usize) -> Plan {
    Plan {
        version: PLAN_VERSION,
        created_at: Utc::now(),
        inputs: vec![],
        parameters: serde_json::Value::Null,
        matched_users,
        operations,
        excluded: vec![],
        target: None,
    }
}

pub fn active_users(sim: &SimHandle, n: usize) -> Vec<ScimUser> {
    let users: Vec<_> = sim
        .users()
        .into_iter()
        .filter(|u| u.is_active())
        .take(n)
        .collect();
    assert_eq!(users.len(), n, "the simulator has {n} active users");
    users
}

/// State-changing requests the simulator received (any answer).
pub fn writes(sim: &SimHandle) -> u64 {
    let s = sim.stats();
    ["POST", "PATCH", "PUT", "DELETE"]
        .iter()
        .map(|m| s.requests.get(*m).copied().unwrap_or(0))
        .sum()
}

/// Every file under `dir`, concatenated (to look for leaked secrets).
pub fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&all_text(&p));
            } else if let Ok(b) = std::fs::read(&p) {
                out.push_str(&String::from_utf8_lossy(&b));
            }
        }
    }
    out
}
