//! The status bar's one-line notices and the helpers every reducer builds them with.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// One line in the status bar, replaced by the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

/// An informational notice.
pub fn info(text: String) -> Notice {
    Notice {
        level: Level::Info,
        text,
    }
}

/// A warning: something needs the admin's attention.
pub fn warn(text: String) -> Notice {
    Notice {
        level: Level::Warn,
        text,
    }
}

/// An error: something failed or was refused.
pub fn error(text: String) -> Notice {
    Notice {
        level: Level::Error,
        text,
    }
}
