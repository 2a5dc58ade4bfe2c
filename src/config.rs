//! Profiles and token sources, stored in the platform's config directory.
//!
//! `NAVSCIM_CONFIG_DIR` and `NAVSCIM_DATA_DIR` override the platform directories (tests
//! and scripted runs use them so nothing touches the admin's real profile).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::Token;

/// The base URL the LinkedIn guides give; the admin can change it.
pub const DEFAULT_BASE_URL: &str = "https://api.linkedin.com/scim";
/// The environment variable the token is read from by default.
pub const DEFAULT_TOKEN_ENV: &str = "NAVSCIM_TOKEN";
/// How long a `--token-command` may run.
const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the bearer token comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// An environment variable's name.
    Env(String),
    /// A file only its owner can read.
    File(PathBuf),
    /// A shell command printing the token (e.g. a password manager's CLI).
    Command(String),
    /// Pasted into the Connection pane. Never serialised: see [`Profile`].
    #[serde(skip)]
    Pasted(Token),
    /// Stored beside the profile (mode 0600) because the admin asked for it.
    Stored,
}

impl TokenSource {
    /// A description for messages; never the token itself.
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Env(var) => format!("environment variable {var}"),
            TokenSource::File(path) => format!("file {}", path.display()),
            TokenSource::Command(cmd) => format!("command `{cmd}`"),
            TokenSource::Pasted(_) => "pasted token".into(),
            TokenSource::Stored => "token stored with the profile".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("environment variable {0} is not set or empty")]
    EnvMissing(String),
    #[error("no environment variable name given")]
    EnvNameEmpty,
    #[error("cannot read token file {path}: {reason}")]
    FileUnreadable { path: String, reason: String },
    #[error(
        "token file {path} can be read by group or others (mode {mode:o}); run: chmod 600 {path}"
    )]
    FileTooOpen { path: String, mode: u32 },
    #[error("token file {0} is empty")]
    FileEmpty(String),
    /// The command line is not quoted (it may hold the secret, e.g. `echo …`), nor is
    /// anything the command printed.
    #[error("the --token-command {reason}")]
    CommandFailed { command: String, reason: String },
    #[error("the --token-command printed nothing")]
    CommandEmpty(String),
    #[error("no token pasted")]
    PastedEmpty,
    #[error("no token is stored for profile {0}")]
    StoredMissing(String),
}

/// Reads the token from its source. `profile` names the stored token, if that is the source.
pub fn resolve_token(source: &TokenSource, profile: &str) -> Result<Token, TokenError> {
    let token = match source {
        TokenSource::Env(var) => {
            if var.trim().is_empty() {
                return Err(TokenError::EnvNameEmpty);
            }
            let value = std::env::var(var).unwrap_or_default();
            if value.trim().is_empty() {
                return Err(TokenError::EnvMissing(var.clone()));
            }
            Token::new(value.trim())
        }
        TokenSource::File(path) => read_token_file(path)?,
        TokenSource::Command(cmd) => run_token_command(cmd)?,
        TokenSource::Pasted(token) => {
            if token.is_empty() {
                return Err(TokenError::PastedEmpty);
            }
            Token::new(token.expose().trim())
        }
        TokenSource::Stored => {
            let path = stored_token_path(profile);
            read_token_file(&path).map_err(|e| match e {
                TokenError::FileUnreadable { .. } => TokenError::StoredMissing(profile.into()),
                other => other,
            })?
        }
    };
    Ok(token)
}

fn read_token_file(path: &Path) -> Result<Token, TokenError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| TokenError::FileUnreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TokenError::FileTooOpen { path: shown, mode });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::FileUnreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(TokenError::FileEmpty(shown));
    }
    Ok(Token::new(value))
}

fn run_token_command(command: &str) -> Result<Token, TokenError> {
    let failed = |reason: String| TokenError::CommandFailed {
        command: command.to_string(),
        reason,
    };
    if command.trim().is_empty() {
        return Err(failed("is empty: no command given".into()));
    }
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("could not be started: {e}")))?;
    // Read output on threads so a chatty command cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut stderr = child.stderr.take().expect("stderr was piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child
            .try_wait()
            .map_err(|e| failed(format!("could not be watched: {e}")))?
        {
            Some(status) => break status,
            None if started.elapsed() > TOKEN_COMMAND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "was still running after {}s",
                    TOKEN_COMMAND_TIMEOUT.as_secs()
                )));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = out
        .join()
        .map_err(|_| failed("could not be read".into()))?
        .map_err(|_| failed("printed something that is not UTF-8 text".into()))?;
    // Never quoted: a failing secret source may print the secret (or part of it) on
    // either stream.
    let _ = err.join();
    if !status.success() {
        let reason = match status.code() {
            Some(code) => format!(
                "exited with code {code} (its output is not shown: it may hold the secret; run the command yourself to see it)"
            ),
            None => "was killed by a signal (its output is not shown: it may hold the secret)"
                .to_string(),
        };
        return Err(failed(reason));
    }
    let value = stdout.trim();
    if value.is_empty() {
        return Err(TokenError::CommandEmpty(command.to_string()));
    }
    Ok(Token::new(value))
}

/// A saved connection. The pasted token is never part of it (see [`TokenSource::Stored`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub base_url: String,
    /// `None`: the token is pasted each time navscim starts.
    #[serde(default)]
    pub token: Option<TokenSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// A label for the tenant (e.g. `Acme EMEA`): shown in the dashboard's title bar
    /// and apply confirmation, since a base URL is the same for every LinkedIn tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The dashboard takes the mouse (wheel, clicks on tabs and rows), as `--mouse`
    /// does. Off unless set (`"mouse": true` in `config.json`); the dashboard never
    /// changes it, saving a profile keeps it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mouse: bool,
}

impl Profile {
    pub fn new_default() -> Self {
        Profile {
            name: "default".into(),
            base_url: DEFAULT_BASE_URL.into(),
            token: Some(TokenSource::Env(DEFAULT_TOKEN_ENV.into())),
            ca_file: None,
            tenant: None,
            mouse: false,
        }
    }
}

/// `config.json` in the config directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub last_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// navscim's directory for profiles.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NAVSCIM_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "navscim")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".navscim"))
}

/// navscim's directory for logs and the journal.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NAVSCIM_DATA_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "navscim")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".navscim"))
}

fn config_path() -> PathBuf {
    config_dir().join("config.json")
}

fn stored_token_path(profile: &str) -> PathBuf {
    config_dir().join("tokens").join(safe_file_name(profile))
}

/// A profile name as a file name: anything but ASCII letters, digits, `-` and `_`
/// becomes `_`, so no name can climb out of its folder.
pub fn safe_file_name(profile: &str) -> String {
    profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Reads `config.json`; a missing file is an empty configuration.
pub fn load() -> Result<ConfigFile, String> {
    let path = config_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: line {}, column {}: {}",
                path.display(),
                e.line(),
                e.column(),
                e
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The profile to open: `name`, else the last used one, else `None` (first run).
pub fn pick_profile(config: &ConfigFile, name: Option<&str>) -> Option<Profile> {
    let name = name.or(config.last_profile.as_deref())?;
    config.profiles.get(name).cloned()
}

/// Saves `profile` as the last used one, and the token beside it (mode 0600) when given.
pub fn save_profile(profile: &Profile, token: Option<&Token>) -> Result<PathBuf, String> {
    let mut config = load()?;
    config.last_profile = Some(profile.name.clone());
    let profile =
        keep_what_the_dashboard_does_not_edit(profile, config.profiles.get(&profile.name));
    config
        .profiles
        .insert(profile.name.clone(), profile.clone());
    let path = config_path();
    let text = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
    write_private(&path, text.as_bytes())?;
    if let Some(token) = token {
        write_private(&stored_token_path(&profile.name), token.expose().as_bytes())?;
    }
    Ok(path)
}

/// `profile` as the dashboard saves it, with what the dashboard has no field for
/// (the mouse setting, the CA file) taken from the `saved` profile of that name, so a
/// save from the Connection pane never drops them.
fn keep_what_the_dashboard_does_not_edit(profile: &Profile, saved: Option<&Profile>) -> Profile {
    let mut profile = profile.clone();
    if let Some(saved) = saved {
        profile.mouse = saved.mouse;
        if profile.ca_file.is_none() {
            profile.ca_file = saved.ca_file.clone();
        }
    }
    profile
}

/// Writes a file readable by its owner only, via a temporary file and a rename.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let shown = path.display();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("{shown}: {e}"))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{shown}: {e}"))
}

/// The protected users: `protected.txt` in the config directory (always read when it
/// exists) plus `extra` lists. One email or SCIM id a line, `#` comments.
pub fn load_protected(extra: &[PathBuf]) -> Result<crate::plan::ProtectedUsers, String> {
    let mut protected = crate::plan::ProtectedUsers::default();
    let mut files = vec![];
    let default_list = config_dir().join("protected.txt");
    if default_list.exists() {
        files.push(default_list);
    }
    files.extend(extra.iter().cloned());
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| format!("cannot read the protected list {}: {e}", f.display()))?;
        let p = crate::plan::ProtectedUsers::parse_list(&text);
        protected.emails.extend(p.emails);
        protected.scim_ids.extend(p.scim_ids);
    }
    Ok(protected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_dashboard_save_keeps_the_saved_mouse_setting_and_ca_file() {
        let saved = Profile {
            name: "prod".into(),
            base_url: "https://old.example/scim".into(),
            token: None,
            ca_file: Some(PathBuf::from("/etc/corp-ca.pem")),
            tenant: None,
            mouse: true,
        };
        let from_dashboard = Profile {
            base_url: "https://new.example/scim".into(),
            ca_file: None,
            mouse: false,
            ..saved.clone()
        };
        let kept = keep_what_the_dashboard_does_not_edit(&from_dashboard, Some(&saved));
        assert_eq!(kept.base_url, "https://new.example/scim");
        assert_eq!(kept.ca_file, saved.ca_file);
        assert!(kept.mouse);
        let first = keep_what_the_dashboard_does_not_edit(&from_dashboard, None);
        assert_eq!(first, from_dashboard);
    }

    #[test]
    fn token_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve_token(&TokenSource::File(path.clone()), "p").unwrap_err();
        assert!(
            matches!(err, TokenError::FileTooOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let token = resolve_token(&TokenSource::File(path), "p").unwrap();
        assert_eq!(token.expose(), "abc");
    }

    #[test]
    fn token_command_output_is_trimmed_and_failure_explained() {
        let ok = resolve_token(&TokenSource::Command("printf ' tok-1 \\n'".into()), "p");
        assert_eq!(ok.unwrap().expose(), "tok-1");
        let err =
            resolve_token(&TokenSource::Command("echo nope >&2; exit 3".into()), "p").unwrap_err();
        // Issue 14: a failing secret source's output is never quoted (it may hold the
        // secret); the exit code is, once ("exit status exit status: 1" no more).
        assert!(err.to_string().contains("exited with code 3"), "{err}");
        let err = resolve_token(
            &TokenSource::Command(
                "echo tok-on-stderr-1234 >&2; echo tok-on-stdout-5678; exit 1".into(),
            ),
            "p",
        )
        .unwrap_err();
        assert!(!err.to_string().contains("tok-on"), "{err}");
        assert!(!err.to_string().contains("exit status"), "{err}");
        let empty = resolve_token(&TokenSource::Command("true".into()), "p").unwrap_err();
        assert!(matches!(empty, TokenError::CommandEmpty(_)));
    }

    #[test]
    fn pasted_token_is_never_serialised() {
        let profile = Profile {
            name: "x".into(),
            base_url: DEFAULT_BASE_URL.into(),
            token: Some(TokenSource::Pasted(Token::new("very-secret"))),
            ca_file: None,
            tenant: None,
            mouse: false,
        };
        let text = serde_json::to_string(&profile);
        // Serialising a pasted source is refused outright rather than written.
        assert!(text.is_err() || !text.unwrap().contains("very-secret"));
    }
}
