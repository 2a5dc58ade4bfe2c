//! `navscim lookup` run as a binary against the embedded simulator (and a tiny axum
//! server): the demo fixtures' exact categories, JSON and CSV results, exit codes,
//! clear messages for bad input, and that the token never appears anywhere.

use crate::support;

use std::collections::BTreeMap;
use std::process::Output;

use navscim::import::demo;
use navscim::sim::{self, SimConfig, SimHandle};
use serde_json::Value;
use support::{stderr, TestDir};

const TOKEN: &str = "tok-L00kup-5ecr3t-NEVER-SHOWN";

/// The test's directory; `run` is `navscim lookup ARGS` (see `support::TestDir`).
struct Env(TestDir);

impl std::ops::Deref for Env {
    type Target = TestDir;
    fn deref(&self) -> &TestDir {
        &self.0
    }
}

impl Env {
    fn new() -> Self {
        Env(TestDir::new())
    }

    /// Runs `navscim lookup ARGS` off the async runtime (the simulator runs on it).
    async fn run(self, args: Vec<String>, token: Option<&'static str>) -> (Env, Output) {
        tokio::task::spawn_blocking(move || {
            let mut all = vec!["lookup"];
            all.extend(args.iter().map(String::as_str));
            let out = self.command(&all, token).output().unwrap();
            (self, out)
        })
        .await
        .unwrap()
    }
}

/// No token on stdout, stderr, or in any file (logs, results).
fn assert_no_token(env: &Env, out: &Output) {
    support::assert_no_token(out, &env.all_files_text(), TOKEN, "5ecr3t");
}

async fn demo_sim(config: SimConfig) -> SimHandle {
    sim::start(SimConfig {
        token: TOKEN.into(),
        seed_csv: Some(demo::SALESNAV_USERS_CSV.into()),
        ..config
    })
    .await
    .unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/demo/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn manifest() -> Value {
    serde_json::from_str(demo::MANIFEST_JSON).unwrap()
}

fn emails(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fixtures_json_has_the_manifest_categories() {
    let sim = demo_sim(SimConfig::default()).await;
    let env = Env::new();
    let out_path = env.path("results.json");
    let (env, out) = env
        .run(
            args(&[
                &fixture("idp_okta.csv"),
                &fixture("salesnav_users.csv"),
                "--base-url",
                sim.base_url(),
                "--concurrency",
                "16",
                "--out",
                out_path.to_str().unwrap(),
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "results go to the file");
    let m = manifest();
    let people = &m["people"];
    let n = |k: &str| people[k].as_u64().unwrap() as usize;
    let results: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let total = n("matched") + n("mismatch") + n("ambiguous") + n("orphans") + n("not_found");
    assert_eq!(results.len(), total);

    let pick =
        |f: &dyn Fn(&Value) -> bool| -> Vec<&Value> { results.iter().filter(|r| f(r)).collect() };
    let status = |r: &Value, s: &str| r["status"] == s;
    let warned = |r: &Value| !r["warnings"].as_array().unwrap().is_empty();
    let orphan = |r: &Value| r["orphan"] == true;

    assert_eq!(
        pick(&|r| status(r, "matched") && !orphan(r) && !warned(r)).len(),
        n("matched")
    );
    let mut mismatched: Vec<String> = pick(&|r| status(r, "matched") && !orphan(r) && warned(r))
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect();
    mismatched.sort();
    let mut want: Vec<String> = m["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["email"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(mismatched, want);

    let mut orphans: Vec<String> = pick(&|r| orphan(r))
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "matched", "{r:#}");
            assert_eq!(r["presence"], "orphan_seat");
            r["key"].as_str().unwrap().to_string()
        })
        .collect();
    orphans.sort();
    assert_eq!(orphans, emails(&m["orphans"]));

    let mut not_found: Vec<String> = pick(&|r| status(r, "not_found"))
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    not_found.sort();
    assert_eq!(not_found, emails(&m["not_found"]));

    let ambiguous = pick(&|r| status(r, "ambiguous"));
    assert_eq!(ambiguous.len(), n("ambiguous"));
    for r in &ambiguous {
        let cands = r["candidates"].as_array().unwrap();
        assert_eq!(cands.len(), 2, "{r:#}");
        for c in cands {
            assert!(r["detail"]
                .as_str()
                .unwrap()
                .contains(c["id"].as_str().unwrap()));
        }
    }
    assert!(pick(&|r| status(r, "error")).is_empty());

    // Stable shape of one record.
    let r = pick(&|r| r["email"] == "amanda.rivera@northwind.example")[0];
    for key in [
        "email",
        "user_name",
        "external_id",
        "name",
        "status",
        "active",
        "scim_id",
        "matched_by",
        "orphan",
        "presence",
        "is_admin",
        "license_status",
        "sources",
        "candidates",
        "detail",
    ] {
        assert!(r.get(key).is_some(), "missing {key}: {r:#}");
    }
    assert_eq!(r["matched_by"], "external_id");
    assert_eq!(r["active"], true);
    assert_eq!(r["external_id"], "E100299");
    assert!(r["scim_id"].as_str().unwrap().len() == 16);
    // `navscim plan` reads this for the grace period; seeded users are dated in the past.
    assert!(
        r["scim_created"]
            .as_str()
            .unwrap()
            .starts_with(&navscim::sim::SEED_CREATED[..19]),
        "{r:#}"
    );
    let sources = r["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[1]["file"], "salesnav_users.csv");
    assert_eq!(sources[1]["line"], 2);

    let err = stderr(&out);
    assert!(err.contains("1035 users: 990 matched"), "{err}");
    assert!(err.contains("40 not found"), "{err}");
    assert!(err.contains("5 ambiguous"), "{err}");
    assert!(err.contains("25 orphan seats"), "{err}");
    assert!(err.contains("requests"), "{err}");
    // No progress bar when stderr is not a terminal.
    assert!(!err.contains("ETA"), "{err}");
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_results_and_stdout_json() {
    let sim = demo_sim(SimConfig::default()).await;
    let env = Env::new();
    let out_path = env.path("results.csv");
    let (env, out) = env
        .run(
            args(&[
                &fixture("idp_okta.csv"),
                &fixture("salesnav_users.csv"),
                "--base-url",
                sim.base_url(),
                "--out",
                out_path.to_str().unwrap(),
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut rdr = csv::Reader::from_path(&out_path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        vec![
            "email",
            "user_name",
            "external_id",
            "name",
            "status",
            "active",
            "scim_id",
            "matched_by",
            "orphan",
            "presence",
            "is_admin",
            "license_status",
            "sources",
            "candidates",
            "detail"
        ]
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut orphans = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        *counts.entry(rec[4].to_string()).or_default() += 1;
        if &rec[8] == "true" {
            orphans += 1;
        }
        if &rec[4] == "ambiguous" {
            assert_eq!(rec[13].split("; ").count(), 2, "candidate ids: {rec:?}");
        }
    }
    assert_eq!(counts["matched"], 990);
    assert_eq!(counts["not_found"], 40);
    assert_eq!(counts["ambiguous"], 5);
    assert_eq!(orphans, 25);
    assert_no_token(&env, &out);

    // Without --out: JSON on stdout, nothing else there.
    let env = Env::new();
    let (env, out) = env
        .run(
            args(&[
                &fixture("salesnav_users.csv"),
                "--base-url",
                sim.base_url(),
                "--precedence",
                "user_name",
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    // The export alone: 1000 rows, the 5 case-variant pairs merge into one person each.
    assert_eq!(results.len(), 995);
    assert!(results.iter().all(|r| r["presence"] == "unknown"));
    assert_eq!(
        results
            .iter()
            .filter(|r| r["status"] == "ambiguous")
            .count(),
        5
    );
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_exits_3_without_hammering() {
    let sim = demo_sim(SimConfig::default()).await;
    let env = Env::new();
    let out_path = env.path("x.json");
    let (env, out) = env
        .run(
            args(&[
                &fixture("idp_okta.csv"),
                "--base-url",
                sim.base_url(),
                "--out",
                out_path.to_str().unwrap(),
            ]),
            Some("wrong-token-value"),
        )
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    // Only the preflight request reached the server.
    let gets = sim.stats().requests["GET"];
    assert_eq!(gets, 1);
    assert!(!out_path.exists(), "nothing looked up, nothing written");
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_exits_4() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new();
    let url = format!("http://127.0.0.1:{port}/scim");
    let (env, out) = env
        .run(
            args(&[&fixture("idp_okta.csv"), "--base-url", &url]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("Unreachable"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_no_token(&env, &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_errors_exit_1_and_are_written_as_error() {
    // A server whose every search fails with a 400 that is not retried.
    let app = axum::Router::new().fallback(|req: axum::extract::Request| async move {
        use axum::response::IntoResponse;
        if req.uri().path().ends_with("/ServiceProviderConfig") {
            return axum::http::StatusCode::NOT_FOUND.into_response();
        }
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400", "scimType": "invalidValue", "detail": "no such tenant"
            })),
        )
            .into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/scim", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let env = Env::new();
    let users = env.write("users.csv", "Email,Name\na@x.example,A\nb@x.example,B\n");
    let (env, out) = env
        .run(
            args(&[users.to_str().unwrap(), "--base-url", &url]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r["status"], "error");
        assert!(r["detail"].as_str().unwrap().contains("no such tenant"));
    }
    assert!(stderr(&out).contains("2 errors"), "{}", stderr(&out));
    assert_no_token(&env, &out);
}

/// Results are written while the lookups run, so an output file that cannot be created
/// stops the run before any user is looked up (exit 2), not after all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_output_file_stops_before_any_lookup() {
    let sim = demo_sim(SimConfig::default()).await;
    let env = Env::new();
    let out_path = env.path("no-such-dir/results.json");
    let (env, out) = env
        .run(
            args(&[
                &fixture("idp_okta.csv"),
                "--base-url",
                sim.base_url(),
                "--out",
                out_path.to_str().unwrap(),
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert!(!out_path.exists());
    // Only the connection check reached the server.
    assert!(sim.stats().requests["GET"] <= 1, "{:?}", sim.stats());
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_explained_with_exit_2() {
    let sim = demo_sim(SimConfig::default()).await;
    let url = sim.base_url().to_string();

    // Unmappable columns: the candidates and the exact --map to pass.
    let env = Env::new();
    let file = env.write("people.csv", "Correo,Nombre\nana@northwind.example,Ana\n");
    let (env, out) = env
        .run(
            args(&[file.to_str().unwrap(), "--base-url", &url]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("people.csv"), "{err}");
    assert!(err.contains("\"Correo\""), "{err}");
    assert!(err.contains("--map people.csv:"), "{err}");
    assert_eq!(sim.stats().requests["GET"], 0, "nothing sent");

    // …and the suggested syntax works, per file or for every file.
    for map in ["people.csv:email=Correo", "email=Correo"] {
        let (env2, out) = Env::new()
            .run(
                args(&[file.to_str().unwrap(), "--base-url", &url, "--map", map]),
                Some(TOKEN),
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "{map}: {}", stderr(&out));
        let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(results[0]["status"], "not_found");
        assert_no_token(&env2, &out);
    }

    // Bad rows: reported with file:line:column, good rows still looked up.
    let rows = env.write(
        "rows.csv",
        "Email,Name\nnot-an-email,A\namanda.rivera@northwind.example,Amanda\n",
    );
    let (env, out) = env
        .run(
            args(&[rows.to_str().unwrap(), "--base-url", &url]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rows.csv:2: column \"Email\""),
        "{}",
        stderr(&out)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["status"], "matched");

    // Options and files.
    for (bad, what) in [
        (vec!["missing.csv"], "missing.csv"),
        (
            vec![rows.to_str().unwrap(), "--precedence", "phone"],
            "--precedence",
        ),
        (
            vec![rows.to_str().unwrap(), "--out", "results.txt"],
            ".json or .csv",
        ),
        (
            vec![rows.to_str().unwrap(), "--map", "other.csv:email=X"],
            "other.csv",
        ),
        (
            vec![rows.to_str().unwrap(), "--map", "colour=X"],
            "unknown field",
        ),
        (
            vec![rows.to_str().unwrap(), "--domain-alias", "nodomain"],
            "alias=canonical",
        ),
        (
            vec![rows.to_str().unwrap(), "--rate-limit", "0"],
            "--rate-limit",
        ),
    ] {
        let mut a = args(&bad);
        a.extend(args(&["--base-url", &url]));
        let (_, out) = Env::new().run(a, Some(TOKEN)).await;
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(what), "{bad:?}: {}", stderr(&out));
    }

    // No token.
    let (env, out) = env
        .run(args(&[rows.to_str().unwrap(), "--base-url", &url]), None)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("NAVSCIM_TOKEN"), "{}", stderr(&out));
    let _ = env;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_and_domain_aliases() {
    let sim = demo_sim(SimConfig::default()).await;
    let env = Env::new();
    // The IdP knows these people under another domain of the same company.
    let idp = env.write(
        "idp.csv",
        "Username,Email,First Name,Last Name\n\
         amanda.rivera@northwind-corp.example,amanda.rivera@northwind-corp.example,Amanda,Rivera\n\
         andrew.lewis2@northwind-corp.example,andrew.lewis2@northwind-corp.example,Andrew,Lewis\n",
    );
    let (env, out) = env
        .run(
            args(&[
                idp.to_str().unwrap(),
                &fixture("salesnav_users.csv"),
                "--base-url",
                sim.base_url(),
                "--domain-alias",
                "northwind-corp.example=northwind.example",
                "--ignore",
                "kenneth.campbell@northwind.example,E100597",
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_key = |k: &str| results.iter().find(|r| r["key"] == k).unwrap();
    let amanda = by_key("amanda.rivera@northwind.example");
    assert_eq!(amanda["presence"], "both", "{amanda:#}");
    assert_eq!(amanda["status"], "matched");
    assert_eq!(
        by_key("kenneth.campbell@northwind.example")["status"],
        "ignored"
    );
    assert_eq!(
        by_key("jessica.walker@northwind.example")["status"],
        "ignored"
    );
    assert_eq!(
        results.iter().filter(|r| r["status"] == "ignored").count(),
        2
    );
    assert!(stderr(&out).contains("2 ignored"), "{}", stderr(&out));
    assert_no_token(&env, &out);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_from_an_earlier_run_are_tried_first() {
    let sim = demo_sim(SimConfig::default()).await;
    let env = Env::new();
    let first = env.path("first.json");
    let files = [fixture("idp_okta.csv"), fixture("salesnav_users.csv")];
    let (env, out) = env
        .run(
            args(&[
                &files[0],
                &files[1],
                "--base-url",
                sim.base_url(),
                "--out",
                first.to_str().unwrap(),
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let gets_before = sim.stats().requests["GET"];
    let (env, out) = env
        .run(
            args(&[
                &files[0],
                &files[1],
                "--base-url",
                sim.base_url(),
                "--ids",
                first.to_str().unwrap(),
            ]),
            Some(TOKEN),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_id = results
        .iter()
        .filter(|r| r["matched_by"] == "stored_id")
        .count();
    assert_eq!(by_id, 990);
    // 1 preflight + 990 GET by id + 5 ambiguous (userName) + 40 x 3 not found.
    assert_eq!(sim.stats().requests["GET"] - gets_before, 1 + 990 + 5 + 120);
    assert_no_token(&env, &out);
    sim.shutdown().await;
}
