//! CSV importers: identity-provider assignments (Okta, Entra ID, generic), the Sales
//! Navigator user export and the Sales Navigator usage report (DESIGN.md section 2).
//!
//! Pure library code: the only I/O is [`import_path`] / [`reader::read_path`] reading
//! the given file. Everything else works on `(display_name, bytes)` so the TUI, the
//! tests and the embedded demo fixtures ([`demo`]) need no files on disk.
//!
//! The pipeline is:
//!
//! 1. [`reader::read_table`]: decode (UTF-8 with or without BOM, UTF-16 with BOM;
//!    anything else is decoded as Windows-1252 **with a warning**), find the header
//!    line (skipping an Excel `sep=;` line and a report preamble), sniff the delimiter
//!    (`,` `;` TAB), parse records with their physical line numbers, skip blank
//!    lines, report rows with too many or too few fields.
//! 2. [`detect::detect`]: recognise the format from the headers, with a confidence
//!    and a reason.
//! 3. [`mapping::resolve_mapping`]: map logical [`Field`]s to columns by aliases; when
//!    it cannot decide, [`ImportError::NeedsMapping`] tells the UI what to ask. An
//!    explicit [`MappingOverride`] (`--map email="Work Email",external_id=EmployeeNumber`)
//!    settles it.
//! 4. [`records`]: build [`IdpUser`] / [`SalesNavUser`] / [`UsageRow`] records; bad
//!    values become one [`Diagnostic`] each (`file:line: column "X": …`), good rows
//!    still load, duplicates are merged with a count.
//!
//! Ambiguous slash dates (`03/04/2025`) are resolved from the whole file
//! ([`dates`]); if nothing disambiguates them, [`ImportError::NeedsDateOrder`]
//! asks, and [`ImportOptions::date_order`] answers. Nothing is guessed silently.

pub mod dates;
pub mod demo;
pub mod detect;
pub mod invisible;
pub mod mapping;
pub mod reader;
pub mod records;
pub mod values;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use dates::{DateOrder, NeedsDateOrder};
pub use detect::{detect, Detection, FileKind, Format};
pub use mapping::{
    parse_map_override, resolve_mapping, ColumnMapping, ColumnRef, Field, MappingOverride,
    MappingProblem, NeedsMapping, ProblemKind,
};
pub use reader::{read_path, read_table, Encoding, Row, Table};
pub use records::{
    DuplicateGroup, IdpUser, ImportData, LicenseStatus, ReportPeriod, SalesNavUser, UsageRow,
};
pub use values::{is_valid_email, normalize_email};

/// Where a record came from: the file's display name and the **physical** line (1-based)
/// on which the record starts (quoted newlines and skipped blank lines are counted).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    pub file: String,
    pub line: u64,
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One problem (or warning) in an input file, formatted as
/// `users.csv:17: column "Email": "bob@" is not an email address`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub file: String,
    /// Physical line, 1-based; `None` for file-level messages.
    pub line: Option<u64>,
    /// The column's header as written in the file.
    pub column: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn file_level(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn at_line(file: &str, line: u64, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: Some(line),
            column: None,
            message: message.into(),
        }
    }

    pub fn at_cell(file: &str, line: u64, column: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: Some(line),
            column: Some(column.to_string()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Everything here may come from the file: shown, never obeyed by the terminal.
        let shown = crate::sanitize::escape_value;
        write!(f, "{}", shown(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(col) = &self.column {
            write!(f, ": column \"{}\"", shown(col))?;
        }
        write!(f, ": {}", shown(&self.message))
    }
}

/// Why a file could not be imported at all. Row-level problems are not errors: they
/// are [`Import::errors`] and the good rows still load.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportError {
    /// The file could not be read.
    Io { file: String, message: String },
    /// No header line: the file is empty or holds only blank lines.
    Empty { file: String },
    /// The columns could not be mapped automatically; ask the admin (column-mapping
    /// dialog or `--map`) and import again with [`ImportOptions::mapping`].
    NeedsMapping(NeedsMapping),
    /// Slash dates whose order (DD/MM or MM/DD) nothing in the file decides; ask and
    /// import again with [`ImportOptions::date_order`].
    NeedsDateOrder(NeedsDateOrder),
    /// A `--map` override names a column the file does not have.
    BadOverride { file: String, message: String },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Io { file, message } => write!(f, "{file}: cannot read: {message}"),
            ImportError::Empty { file } => write!(f, "{file}: the file has no header line"),
            ImportError::NeedsMapping(nm) => write!(f, "{nm}"),
            ImportError::NeedsDateOrder(nd) => write!(f, "{nd}"),
            ImportError::BadOverride { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// Choices the admin made (or the caller forces); all default to automatic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOptions {
    /// Force the format instead of recognising it from the headers.
    pub format: Option<Format>,
    /// Explicit column choices; fields not named are still mapped automatically.
    pub mapping: Option<MappingOverride>,
    /// How to read ambiguous slash dates.
    pub date_order: Option<DateOrder>,
}

/// A successfully imported file: its records, and the per-row problems.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub file: String,
    pub detection: Detection,
    pub headers: Vec<String>,
    pub mapping: ColumnMapping,
    pub encoding: Encoding,
    pub delimiter: u8,
    pub data: ImportData,
    /// One per bad row or value; those rows are not in `data`.
    pub errors: Vec<Diagnostic>,
    /// Things worth telling the admin that did not stop a row (encoding, unknown
    /// status values, duplicates with differing values…).
    pub warnings: Vec<Diagnostic>,
    /// Rows merged into an earlier row with the same normalised identity.
    pub duplicates: Vec<DuplicateGroup>,
    /// Data rows read (non-blank), before errors and merging.
    pub rows_read: usize,
    /// Usage reports: the period, from columns or a preamble line.
    pub report_period: Option<ReportPeriod>,
    /// Usage reports: the order used for slash dates, if any were present.
    pub date_order: Option<DateOrder>,
}

impl Import {
    /// Rows removed by merging duplicates.
    pub fn duplicates_merged(&self) -> usize {
        self.duplicates.iter().map(|d| d.merged_lines.len()).sum()
    }

    pub fn idp_users(&self) -> &[IdpUser] {
        match &self.data {
            ImportData::Idp(v) => v,
            _ => &[],
        }
    }

    pub fn salesnav_users(&self) -> &[SalesNavUser] {
        match &self.data {
            ImportData::SalesNav(v) => v,
            _ => &[],
        }
    }

    pub fn usage_rows(&self) -> &[UsageRow] {
        match &self.data {
            ImportData::Usage(v) => v,
            _ => &[],
        }
    }
}

/// Import a file from memory. `file` is the name shown in messages (e.g. `users.csv`).
pub fn import_bytes(file: &str, bytes: &[u8], opts: &ImportOptions) -> Result<Import, ImportError> {
    let table = read_table(file, bytes)?;
    import_table(table, opts)
}

/// [`import_bytes`] for text already in memory (e.g. an `include_str!` fixture).
pub fn import_str(file: &str, text: &str, opts: &ImportOptions) -> Result<Import, ImportError> {
    import_bytes(file, text.as_bytes(), opts)
}

/// Read and import a file; its display name is the file name without directories.
pub fn import_path(path: &Path, opts: &ImportOptions) -> Result<Import, ImportError> {
    let table = read_path(path)?;
    import_table(table, opts)
}

/// Import an already-read [`Table`].
pub fn import_table(table: Table, opts: &ImportOptions) -> Result<Import, ImportError> {
    let detection = match opts.format {
        Some(format) => Detection {
            format,
            confidence: 1.0,
            reason: "format chosen explicitly".into(),
        },
        None => detect(&table.headers),
    };
    // navscim's own export maps itself: its identifiers, its name; its `status` and
    // `active` are lookup results, not whether the IdP enables the user.
    let own = (opts.mapping.is_none() && detect::is_own_export(&table.headers)).then(|| {
        let mut m = MappingOverride::default();
        for (field, header) in [
            (Field::Email, "email"),
            (Field::UserName, "user_name"),
            (Field::ExternalId, "external_id"),
            (Field::DisplayName, "name"),
        ] {
            m.set(field, ColumnRef::Header(header.into()));
        }
        m.set(Field::Enabled, ColumnRef::Ignore);
        m
    });
    let mapping = resolve_mapping(
        &table.file,
        detection.format,
        &table.headers,
        own.as_ref().or(opts.mapping.as_ref()),
    )?;
    records::build(table, detection, mapping, opts)
}
