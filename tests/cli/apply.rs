//! `navscim apply` and `navscim journal` as a binary against the embedded simulator:
//! read-only by default, thresholds, dry run, confirmation, exit codes, JSON, journal
//! list/show/export/undo, and no token anywhere.

use crate::apply_support;
use crate::support;

use std::path::PathBuf;
use std::process::Output;

use apply_support::*;
use navscim::plan::{OpKind, Plan};
use navscim::sim::SimHandle;
use support::TestDir;
use tokio::process::Command;

/// The test's directory (see `support::TestDir`).
struct Env(TestDir);

impl Env {
    fn new() -> Self {
        Env(TestDir::new())
    }

    fn data(&self) -> PathBuf {
        self.0.data()
    }

    async fn run_with(&self, args: &[&str], token: &str) -> Output {
        let mut cmd = Command::from(self.0.command(args, Some(token)));
        cmd.stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap()
    }

    async fn run(&self, args: &[&str]) -> Output {
        let out = self.run_with(args, TOKEN).await;
        for t in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(t).contains("5Ecr3t"),
                "token leaked"
            );
        }
        out
    }

    fn write_plan(&self, p: &Plan) -> String {
        let path = self.0.root().join("plan.json");
        std::fs::write(&path, serde_json::to_vec_pretty(p).unwrap()).unwrap();
        path.display().to_string()
    }

    fn journal_files(&self) -> usize {
        std::fs::read_dir(self.data().join("journal"))
            .map(|rd| rd.count())
            .unwrap_or(0)
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn deactivate_plan(sim: &SimHandle, n: usize) -> (Plan, Vec<String>) {
    let users = active_users(sim, n);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        sim.user_count(),
    );
    (p, users.into_iter().map(|u| u.id.unwrap()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_by_default_changes_nothing() {
    let sim = start_sim(50, |_| {}).await;
    let env = Env::new();
    let (p, _) = deactivate_plan(&sim, 3);
    let plan = env.write_plan(&p);
    let o = env
        .run(&["apply", &plan, "--base-url", sim.base_url(), "--yes"])
        .await;
    assert_eq!(o.status.code(), Some(6), "{}", err(&o));
    assert!(err(&o).contains("--allow-deprovision"), "{}", err(&o));
    assert!(err(&o).contains("nothing was sent"));
    assert_eq!(writes(&sim), 0);
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
    assert_eq!(env.journal_files(), 0);
    // Provisioning does not allow deprovisioning.
    let o = env
        .run(&[
            "apply",
            &plan,
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-provision",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(6));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["refused"][0]["gate"], "not_permitted");
    assert_eq!(v["sent"], 0);
    assert_eq!(writes(&sim), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_threshold_is_refused_until_the_limit_is_raised() {
    let sim = start_sim(400, |_| {}).await;
    let env = Env::new();
    let (p, ids) = deactivate_plan(&sim, 60);
    let plan = env.write_plan(&p);
    let base = ["apply", &plan, "--base-url", sim.base_url(), "--yes"];
    let mut args = base.to_vec();
    args.push("--allow-deprovision");
    let o = env.run(&args).await;
    assert_eq!(o.status.code(), Some(6), "{}", err(&o));
    assert!(err(&o).contains("--max-count"), "{}", err(&o));
    assert_eq!(writes(&sim), 0);
    args.extend(["--max-count", "60"]);
    let o = env.run(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("completed"), "{}", out(&o));
    for id in &ids {
        assert!(!sim.user(id).unwrap().is_active());
    }

    // By share: 5 of 10 matched users.
    let sim = start_sim(10, |_| {}).await;
    let (mut p, _) = deactivate_plan(&sim, 5);
    p.matched_users = 10;
    let plan = env.write_plan(&p);
    let mut args = vec![
        "apply",
        &plan,
        "--base-url",
        sim.base_url(),
        "--yes",
        "--allow-deprovision",
    ];
    let o = env.run(&args).await;
    assert_eq!(o.status.code(), Some(6));
    assert!(err(&o).contains("50.0%") && err(&o).contains("--max-percent"));
    assert_eq!(writes(&sim), 0);
    args.extend(["--max-percent", "50"]);
    let o = env.run(&args).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_list_file_refuses() {
    let sim = start_sim(20, |_| {}).await;
    let env = Env::new();
    let (p, ids) = deactivate_plan(&sim, 2);
    let plan = env.write_plan(&p);
    let list = env.0.root().join("protected.txt");
    std::fs::write(&list, format!("# our admins\n{}\n", ids[1])).unwrap();
    let o = env
        .run(&[
            "apply",
            &plan,
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-deprovision",
            "--protected",
            list.to_str().unwrap(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(6), "{}", err(&o));
    assert!(err(&o).contains("protected"), "{}", err(&o));
    assert_eq!(writes(&sim), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_requests_and_sends_nothing() {
    let sim = start_sim(20, |_| {}).await;
    let env = Env::new();
    let (p, ids) = deactivate_plan(&sim, 3);
    let plan = env.write_plan(&p);
    let o = env
        .run(&[
            "apply",
            &plan,
            "--base-url",
            sim.base_url(),
            "--dry-run",
            "--allow-deprovision",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    for id in &ids {
        assert!(text.contains(&format!("PATCH /Users/{id} ")), "{text}");
    }
    assert!(
        text.contains(r#"{"op":"replace","path":"active","value":false}"#),
        "{text}"
    );
    assert!(text.contains("Gates: pass"));
    // Without the permission, the dry run says it would be refused.
    let o = env
        .run(&["apply", &plan, "--base-url", sim.base_url(), "--dry-run"])
        .await;
    assert_eq!(o.status.code(), Some(6));
    assert!(out(&o).contains("would be refused"));
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
    assert_eq!(env.journal_files(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_and_without_yes_nothing_is_sent() {
    let sim = start_sim(20, |_| {}).await;
    let env = Env::new();
    let (p, _) = deactivate_plan(&sim, 2);
    let plan = env.write_plan(&p);
    let o = env
        .run(&[
            "apply",
            &plan,
            "--base-url",
            sim.base_url(),
            "--allow-deprovision",
        ])
        .await;
    assert_eq!(o.status.code(), Some(6));
    assert!(err(&o).contains("--yes"), "{}", err(&o));
    assert_eq!(writes(&sim), 0);
}

impl Env {
    /// Runs navscim on a pseudo-terminal (util-linux `script`, part of every Debian
    /// base system) so it asks for the typed confirmation; `typed` is what the admin
    /// types. Returns the exit code and everything the terminal showed.
    fn run_on_terminal(&self, args: &[&str], typed: &str) -> (Option<i32>, String) {
        use std::io::Write;
        let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_navscim"))
            .chain(args.iter().copied())
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let mut child = std::process::Command::new("script")
            .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
            .env("NAVSCIM_CONFIG_DIR", self.0.config())
            .env("NAVSCIM_DATA_DIR", self.data())
            .env("NAVSCIM_TOKEN", TOKEN)
            .env_remove(navscim::journal::CRASH_ENV)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs the command on a pseudo-terminal");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(typed.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let shown = format!("{}{}", out(&o), err(&o));
        assert!(!shown.contains("5Ecr3t"), "token leaked");
        (o.status.code(), shown)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_count_must_be_typed() {
    let sim = start_sim(20, |_| {}).await;
    let env = Env::new();
    let (p, ids) = deactivate_plan(&sim, 3);
    let plan = env.write_plan(&p);
    let args = [
        "apply",
        &plan,
        "--base-url",
        sim.base_url(),
        "--allow-deprovision",
    ];
    // A wrong count: refused, nothing sent.
    let sim_url = sim.base_url().to_string();
    let (code, shown) = tokio::task::block_in_place(|| env.run_on_terminal(&args, "2\n"));
    assert_eq!(code, Some(6), "{shown}");
    assert!(shown.contains("Type 3 to go ahead"), "{shown}");
    assert!(
        shown.contains(&sim_url),
        "the prompt names the server: {shown}"
    );
    assert!(shown.contains("not confirmed; nothing was sent"), "{shown}");
    assert_eq!(writes(&sim), 0);
    // The right count: every operation applied once.
    let (code, shown) = tokio::task::block_in_place(|| env.run_on_terminal(&args, "3\n"));
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(writes(&sim), 3);
    for id in &ids {
        assert_eq!(sim.user(id).unwrap().active, Some(false));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_bad_plans_failures_breaker_and_auth() {
    let sim = start_sim(20, |_| {}).await;
    let env = Env::new();
    // Not a plan.
    let bad = env.0.root().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let o = env.run(&["apply", bad.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not a valid plan"), "{}", err(&o));

    // One reactivation of a user that does not exist fails: exit 1, JSON summary.
    let (mut p, _) = deactivate_plan(&sim, 2);
    p.operations
        .push(op_id(OpKind::Reactivate, "00000000deadbeef"));
    let plan = env.write_plan(&p);
    let o = env
        .run(&[
            "apply",
            &plan,
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-deprovision",
            "--allow-provision",
            "--json",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["applied"], 2);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["status"], "failed");
    assert!(v["failures"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("no longer exists"));

    // Every request fails: the circuit breaker stops the batch.
    let failing = start_sim(30, |c| c.fail_rate = 1.0).await;
    let (p, _) = deactivate_plan(&failing, 12);
    let plan = env.write_plan(&p);
    let args = [
        "apply",
        &plan,
        "--base-url",
        failing.base_url(),
        "--yes",
        "--allow-deprovision",
        "--concurrency",
        "1",
        "--breaker",
        "3",
        "--max-percent",
        "100",
    ];
    let o = env.run(&args).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("circuit breaker"), "{}", out(&o));
    assert!(out(&o).contains("3 consecutive failures"), "{}", out(&o));
    assert_eq!(failing.stats().changes.len(), 0);

    // A wrong token: authentication fails, the breaker trips at once, exit 3.
    let (p, _) = deactivate_plan(&sim, 3);
    let plan = env.write_plan(&p);
    let o = env
        .run_with(
            &[
                "apply",
                &plan,
                "--base-url",
                sim.base_url(),
                "--yes",
                "--allow-deprovision",
                "--concurrency",
                "1",
            ],
            "wrong-token",
        )
        .await;
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_list_show_export_and_undo() {
    let sim = start_sim(30, |_| {}).await;
    let env = Env::new();
    let (p, ids) = deactivate_plan(&sim, 4);
    let plan = env.write_plan(&p);
    let o = env
        .run(&[
            "apply",
            &plan,
            "--base-url",
            sim.base_url(),
            "--yes",
            "--allow-deprovision",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    let o = env.run(&["journal", "list", "--json"]).await;
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0]["status"], "completed");
    assert_eq!(batches[0]["counts"]["applied"], 4);
    let id = batches[0]["batch"].as_str().unwrap().to_string();

    let o = env.run(&["journal", "list"]).await;
    assert!(out(&o).contains(&id) && out(&o).contains("completed"));
    // The columns line up under their headings: a batch id is 24 characters.
    let text = out(&o);
    let mut lines = text.lines();
    let (head, row) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(
        head.find("KIND"),
        row.find(" apply ").map(|i| i + 1),
        "\n{head}\n{row}"
    );

    let o = env.run(&["journal", "show", &id[..18]]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("DEPROVISION"), "{}", out(&o));
    assert!(out(&o).contains("deactivated"), "{}", out(&o));

    let csv_path = env.0.root().join("audit.csv");
    let o = env
        .run(&[
            "journal",
            "export",
            "last",
            "--out",
            csv_path.to_str().unwrap(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("batch,batch_kind,"));
    assert!(csv.contains(&ids[0]) && csv.contains(",applied,"));

    // Undo needs provisioning (it reactivates).
    let o = env
        .run(&["journal", "undo", &id, "--yes", "--allow-deprovision"])
        .await;
    assert_eq!(o.status.code(), Some(6), "{}", err(&o));
    let o = env
        .run(&["journal", "undo", &id, "--yes", "--allow-provision"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    for id in &ids {
        assert!(sim.user(id).unwrap().is_active());
        assert_eq!(sim.stats().changes.get(id), Some(&2));
    }
    let o = env.run(&["journal", "list", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let batches = v["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1]["kind"], "undo");
    assert_eq!(batches[1]["undo_of"], id.as_str());

    // Unknown batch: usage error.
    let o = env.run(&["journal", "show", "nope"]).await;
    assert_eq!(o.status.code(), Some(2));

    // The token is nowhere under the data directory (journal, logs).
    let all = all_text(&env.data());
    assert!(!all.contains(TOKEN) && !all.contains("5Ecr3t"));
}
