//! Shared by the CLI tests (`cli_check`, `cli_lookup`, `cli_plan`, `cli_apply`): a
//! private directory for navscim's configuration, data and the test's files; the
//! binary run with nothing from the environment that could change what it does (no
//! token, no proxy, no crash hook) and with trace logging, so that the no-token check
//! also reads the logs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        TestDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to `name` in the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// navscim's configuration directory (`NAVSCIM_CONFIG_DIR`).
    pub fn config(&self) -> PathBuf {
        self.path("config")
    }

    /// navscim's data directory (`NAVSCIM_DATA_DIR`: logs, journal).
    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// `navscim ARGS` with this directory's configuration and data, trace logging,
    /// and `NAVSCIM_TOKEN` set only when `token` is given.
    pub fn command(&self, args: &[&str], token: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_navscim"));
        cmd.args(args)
            .env("NAVSCIM_CONFIG_DIR", self.config())
            .env("NAVSCIM_DATA_DIR", self.data())
            .env("NAVSCIM_LOG", "trace")
            .env_remove("NAVSCIM_TOKEN")
            .env_remove(navscim::journal::CRASH_ENV)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY");
        if let Some(t) = token {
            cmd.env("NAVSCIM_TOKEN", t);
        }
        cmd
    }

    /// The text of every file under navscim's configuration and data directories.
    pub fn navscim_files_text(&self) -> String {
        let mut all = String::new();
        collect(&self.data(), &mut all);
        collect(&self.config(), &mut all);
        all
    }

    /// The text of every file in the directory (navscim's and the test's).
    pub fn all_files_text(&self) -> String {
        let mut all = String::new();
        collect(self.root(), &mut all);
        all
    }
}

fn collect(dir: &Path, out: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Neither the token nor a telling piece of it (`fragment`) appears on stdout, on
/// stderr or in `files`.
pub fn assert_no_token(out: &Output, files: &str, token: &str, fragment: &str) {
    for (what, text) in [
        ("stdout", stdout(out)),
        ("stderr", stderr(out)),
        ("files", files.into()),
    ] {
        assert!(!text.contains(token), "token leaked in {what}: {text}");
        assert!(
            !text.contains(fragment),
            "part of the token leaked in {what}"
        );
    }
}
