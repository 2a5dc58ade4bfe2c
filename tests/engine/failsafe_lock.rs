//! Issue 14, items 5 and 6: one batch per target set at a time (across processes and
//! in one process), and a journal that cannot be read is never "nothing to resume".

use std::time::Duration;

use crate::failsafe_support::*;
use navscim::apply::{ApplyError, Batch, BatchMeta, Gates};
use navscim::journal::BatchKind;
use navscim::plan::{OpKind, Permissions, Thresholds};

fn gates() -> Gates {
    Gates {
        permissions: Permissions {
            provisioning: false,
            deprovisioning: true,
        },
        thresholds: Thresholds {
            max_count: 100,
            max_percent: 100.0,
        },
        ..Gates::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_applies_change_each_target_once() {
    let sim = start_sim(30, |c| c.latency = Duration::from_millis(40)).await;
    let users = active_users(&sim, 12);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        30,
    );
    let url = sim.base_url().to_string();
    let outs = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        let plan_path = env.write("plan.json", &serde_json::to_string(&p).unwrap());
        let args = [
            "apply",
            plan_path.to_str().unwrap(),
            "--base-url",
            &url,
            "--allow-deprovision",
            "--yes",
            "--max-percent",
            "100",
            "--concurrency",
            "2",
        ];
        let spawn = || {
            env.command(&args, Some(TOKEN))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let outs: Vec<_> = [a, b]
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        (env, outs)
    })
    .await
    .unwrap();
    let (_env, outs) = outs;
    let changes = sim.stats().changes;
    for u in &users {
        let id = u.id.as_deref().unwrap();
        assert_eq!(changes.get(id), Some(&1), "{id} changed once: {outs:?}");
        assert_eq!(sim.user(id).unwrap().active, Some(false));
    }
    // Whichever came second was refused naming the running batch, or (if the first had
    // already finished) found every user already inactive and sent nothing.
    for o in &outs {
        let (stdout, stderr) = text(o);
        match o.status.code() {
            Some(0) => assert!(stdout.contains("completed"), "{stdout}"),
            Some(6) => {
                assert!(stderr.contains("another batch is running"), "{stderr}");
                // Named, or (caught in the moment before its journal file exists)
                // said to be starting.
                assert!(
                    stderr.contains("batch 2") || stderr.contains("a batch that is starting"),
                    "names the batch: {stderr}"
                );
            }
            other => panic!("{other:?}: {stdout}{stderr}"),
        }
    }
    sim.shutdown().await;
}

#[test]
fn a_second_batch_on_the_same_journal_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let meta = || BatchMeta {
        kind: BatchKind::Apply,
        undo_of: None,
        plan_file: None,
        base_url: "http://127.0.0.1:9/scim".into(),
    };
    let first = Batch::start(dir.path(), plan(vec![], 1), &gates(), meta()).unwrap();
    let err = Batch::start(dir.path(), plan(vec![], 1), &gates(), meta()).unwrap_err();
    assert!(matches!(err, ApplyError::Locked(_)), "{err:?}");
    assert!(err.to_string().contains(first.id()), "{err}");
    // Resuming the first one from elsewhere is refused too.
    let path = first.journal_path().to_path_buf();
    assert!(Batch::resume(&path, &gates(), None).is_err());
    drop(first);
    // Free again: a new batch starts, and no lock file was left in the journal.
    let again = Batch::start(dir.path(), plan(vec![], 1), &gates(), meta()).unwrap();
    drop(again);
    assert!(std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .all(|e| e.path().extension().is_some_and(|x| x == "jsonl")));
}

#[test]
fn resume_never_says_nothing_to_do_when_the_journal_cannot_be_read() {
    for case in ["headerless", "empty", "file-as-dir"] {
        let env = Env::new();
        let journal = env.journal();
        match case {
            "headerless" => {
                std::fs::create_dir_all(&journal).unwrap();
                std::fs::write(
                    journal.join("20260101T000000000Z-abcd.jsonl"),
                    "{\"type\":\"note\",\"at\":\"2026-01-01T00:00:00Z\",\"text\":\"x\"}\n",
                )
                .unwrap();
            }
            "empty" => {
                std::fs::create_dir_all(&journal).unwrap();
                std::fs::write(journal.join("20260101T000000000Z-abcd.jsonl"), "").unwrap();
            }
            _ => {
                std::fs::create_dir_all(env.data()).unwrap();
                std::fs::write(&journal, "not a directory").unwrap();
            }
        }
        for json in [false, true] {
            let mut args = vec!["journal", "resume"];
            if json {
                args.push("--json");
            }
            let out = env.run(&args, Some(TOKEN));
            let (stdout, stderr) = text(&out);
            assert_ne!(out.status.code(), Some(0), "{case}: {stdout}{stderr}");
            assert!(!stdout.contains("No interrupted batch"), "{case}: {stdout}");
            assert!(!stdout.contains("no interrupted batch"), "{case}: {stdout}");
            let all = format!("{stdout}{stderr}");
            let named = if case == "file-as-dir" {
                "journal".to_string()
            } else {
                "20260101T000000000Z-abcd.jsonl".to_string()
            };
            assert!(all.contains(&named), "{case}: names the file: {all}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_with_another_base_url_is_refused() {
    let sim = start_sim(10, |_| {}).await;
    let users = active_users(&sim, 2);
    let p = plan(
        users.iter().map(|u| op(OpKind::Deactivate, u)).collect(),
        10,
    );
    let url = sim.base_url().to_string();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        let env = Env::new();
        let plan_path = env.write("plan.json", &serde_json::to_string(&p).unwrap());
        let out = env.run(
            &[
                "apply",
                plan_path.to_str().unwrap(),
                "--base-url",
                &url,
                "--allow-deprovision",
                "--yes",
                "--max-percent",
                "100",
            ],
            Some(TOKEN),
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let out = env.run(
            &[
                "journal",
                "undo",
                "last",
                "--base-url",
                "http://127.0.0.1:9/other",
                "--allow-provision",
                "--yes",
                "--max-percent",
                "100",
            ],
            Some(TOKEN),
        );
        (out.status.code(), text(&out).1)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("was run against"), "{stderr}");
    // Nothing was reactivated.
    assert_eq!(sim.stats().changes.values().sum::<u64>(), 2);
    sim.shutdown().await;
}
