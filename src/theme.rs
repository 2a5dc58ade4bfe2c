//! The dashboard's colours by slot ([`Palette`]) and the theme file that overrides
//! them: `theme.toml` in the config directory, or `--theme PATH`.
//!
//! The file is a small subset of TOML: one `slot = value` a line, `#` comments and
//! blank lines. A value is an ANSI colour name (`"cyan"`, `"lightred"`, `"darkgray"`),
//! a 256-colour index (`208` or `"208"`), or `"#rrggbb"`. Whatever the file says, the
//! terminal's colour depth still decides what is sent (16 colours where no more are
//! announced, none for `TERM=dumb`; `NO_COLOR` wins): see [`crate::runtime::colors`].

use std::path::{Path, PathBuf};

use ratatui::style::Color;

/// The file looked for in the config directory when `--theme` is not given.
pub const THEME_FILE: &str = "theme.toml";

macro_rules! palette {
    ($($slot:ident = $default:expr, $doc:literal;)*) => {
        /// The colour of each slot of the dashboard (the defaults are the 16 ANSI
        /// colours, shown by every colour terminal).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Palette {
            $(#[doc = $doc] pub $slot: Color,)*
        }

        impl Default for Palette {
            fn default() -> Self {
                Palette { $($slot: $default,)* }
            }
        }

        /// Every slot's name, in the order of [`Palette`]'s fields.
        pub const SLOTS: &[&str] = &[$(stringify!($slot),)*];

        impl Palette {
            /// The slot named `name`, to set.
            fn slot_mut(&mut self, name: &str) -> Option<&mut Color> {
                match name {
                    $(stringify!($slot) => Some(&mut self.$slot),)*
                    _ => None,
                }
            }
        }
    };
}

palette! {
    title = Color::Cyan, "Titles, headers, the app name.";
    tab_active_fg = Color::Black, "The active tab's text.";
    tab_active_bg = Color::Cyan, "The active tab's background.";
    focus_fg = Color::Black, "The cursor row and focused field: text.";
    focus_bg = Color::Cyan, "The cursor row and focused field: background.";
    editing_fg = Color::Black, "A field being edited: text.";
    editing_bg = Color::Yellow, "A field being edited: background.";
    label = Color::Gray, "Field labels.";
    dim = Color::DarkGray, "Secondary text (details, times).";
    key = Color::Yellow, "Key names in hints and help.";
    ok = Color::Green, "Success.";
    info = Color::Cyan, "Information notices.";
    warn = Color::Yellow, "Warnings.";
    error = Color::Red, "Errors.";
    read_only_fg = Color::Black, "The READ-ONLY badge: text.";
    read_only_bg = Color::Green, "The READ-ONLY badge: background.";
    provision_fg = Color::Black, "The badge when provisioning is allowed: text.";
    provision_bg = Color::Yellow, "The badge when provisioning is allowed: background.";
    deprovision_fg = Color::White, "The badge when deprovisioning is allowed: text.";
    deprovision_bg = Color::Red, "The badge when deprovisioning is allowed: background.";
    border = Color::DarkGray, "Pane borders.";
    overlay_border = Color::Cyan, "Borders of overlays and dialogs.";
}

/// A theme file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("cannot read the theme file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("theme file {path}, line {line}: {problem}")]
    Invalid {
        path: String,
        line: usize,
        problem: String,
    },
}

/// The palette of `--theme PATH` if given, else of `theme.toml` in `config_dir` if
/// there is one, else the defaults.
pub fn load(explicit: Option<&Path>, config_dir: &Path) -> Result<Palette, ThemeError> {
    let path: PathBuf = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let path = config_dir.join(THEME_FILE);
            if !path.exists() {
                return Ok(Palette::default());
            }
            path
        }
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    parse(&text, &shown)
}

/// The default palette with the slots `text` sets; `path` names the file in errors.
pub fn parse(text: &str, path: &str) -> Result<Palette, ThemeError> {
    let mut palette = Palette::default();
    for (n, raw) in text.lines().enumerate() {
        let invalid = |problem: String| ThemeError::Invalid {
            path: path.to_string(),
            line: n + 1,
            problem,
        };
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            return Err(invalid(format!(
                "tables ({line}) are not used: write slot = colour lines only"
            )));
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(invalid(format!("expected slot = colour, found {line:?}")));
        };
        let name = name.trim();
        let value = value.trim();
        let Some(slot) = palette.slot_mut(name) else {
            return Err(invalid(format!(
                "unknown colour slot {name:?}; known slots: {}",
                SLOTS.join(", ")
            )));
        };
        *slot = parse_value(value).map_err(|e| invalid(format!("{name}: {e}")))?;
    }
    Ok(palette)
}

/// `line` without a `#` comment (a `#` inside quotes is part of the value).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// One value: a quoted name, index or `#rrggbb`, or a bare index.
fn parse_value(value: &str) -> Result<Color, String> {
    let inner = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.trim(),
        None if value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty() => value,
        None => {
            return Err(format!(
                "{value} is not a colour: quote it, e.g. \"cyan\", \"#1e90ff\" or 208"
            ))
        }
    };
    if let Some(hex) = inner.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
        return Err(format!("{inner:?} is not #rrggbb (six hex digits)"));
    }
    if inner.chars().all(|c| c.is_ascii_digit()) && !inner.is_empty() {
        return inner
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| format!("{inner} is not a colour index from 0 to 255"));
    }
    let color = match inner
        .to_ascii_lowercase()
        .replace(['_', '-', ' '], "")
        .as_str()
    {
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" | "brightblack" => Color::DarkGray,
        "lightred" | "brightred" => Color::LightRed,
        "lightgreen" | "brightgreen" => Color::LightGreen,
        "lightyellow" | "brightyellow" => Color::LightYellow,
        "lightblue" | "brightblue" => Color::LightBlue,
        "lightmagenta" | "brightmagenta" => Color::LightMagenta,
        "lightcyan" | "brightcyan" => Color::LightCyan,
        "white" | "brightwhite" => Color::White,
        "default" | "reset" => Color::Reset,
        _ => {
            return Err(format!(
                "{inner:?} is not a colour: an ANSI name (black, red, green, yellow, blue, \
                 magenta, cyan, gray, darkgray, lightred … white, default), 0-255, or #rrggbb"
            ))
        }
    };
    Ok(color)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_indices_and_hex_set_their_slots_the_rest_stay() {
        let p = parse(
            "# my colours\n\ntitle = \"magenta\"\nkey = 208  # orange\nborder = \"#1e90FF\"\nerror=\"LightRed\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(p.title, Color::Magenta);
        assert_eq!(p.key, Color::Indexed(208));
        assert_eq!(p.border, Color::Rgb(0x1e, 0x90, 0xff));
        assert_eq!(p.error, Color::LightRed);
        assert_eq!(p.ok, Palette::default().ok);
    }

    #[test]
    fn a_bad_file_names_the_file_line_and_field_never_panics() {
        let err = parse("title = \"cyan\"\nkey = \"#12345\"\n", "/x/theme.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/x/theme.toml"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("key:"), "{text}");
        let err = parse("\n\ntitel = \"red\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3") && err.contains("\"titel\""), "{err}");
        assert!(err.contains("known slots: title, tab_active_fg"), "{err}");
        for bad in [
            "key = 256",
            "key = red",
            "key = \"purple\"",
            "key",
            "[colors]",
            "key = \"",
            "= \"red\"",
            "key = \"#zzzzzz\"",
            "key = \"\u{e9}\u{e9}\"",
        ] {
            let err = parse(bad, "t.toml").unwrap_err().to_string();
            assert!(err.contains("t.toml, line 1"), "{bad}: {err}");
        }
        let missing = load(
            Some(Path::new("/nonexistent/navscim-theme.toml")),
            Path::new("/"),
        );
        assert!(matches!(missing, Err(ThemeError::Unreadable { .. })));
    }

    #[test]
    fn without_a_file_the_defaults() {
        let dir = std::env::temp_dir().join("navscim-theme-none");
        assert_eq!(load(None, &dir).unwrap(), Palette::default());
    }
}
