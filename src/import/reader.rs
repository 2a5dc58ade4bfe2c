//! Reading real-world CSV: encodings, BOMs, line endings, delimiter sniffing, a
//! preamble before the header, blank lines, and rows of the wrong width.
//!
//! Encoding policy: UTF-8 (with or without BOM) and UTF-16 with a BOM (Excel's
//! "Unicode Text") are decoded exactly. Anything that is not valid UTF-8 is decoded
//! as **Windows-1252** (what old Excel writes on Western-European Windows), and a
//! warning names the first offending line so the admin can check accented names.
//! Decoding therefore never fails.

use std::path::Path;

use super::mapping::Field;
use super::values::normalize_header;
use super::{Diagnostic, ImportError};

/// How the bytes were decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Not valid UTF-8; decoded as Windows-1252 (a warning was issued).
    Windows1252,
}

/// One data record: its physical start line (1-based) and its fields (one
/// allocation per row: `fields.get(i)` gives `Option<&str>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub fields: csv::StringRecord,
}

/// A parsed CSV file: headers and data rows, before any interpretation.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub file: String,
    pub encoding: Encoding,
    pub delimiter: u8,
    /// Header cells as written (trimmed; empty ones become `(column N)`).
    pub headers: Vec<String>,
    pub header_line: u64,
    /// Non-blank lines before the header (report titles, `Report period: …`), with
    /// their physical line numbers. An Excel `sep=;` line is consumed, not kept.
    pub preamble: Vec<(u64, String)>,
    /// Rows with the header's width (extra trailing empty cells are trimmed).
    pub rows: Vec<Row>,
    /// Rows left out: too many or too few fields.
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Read a file from disk; its display name is the file name without directories.
pub fn read_path(path: &Path) -> Result<Table, ImportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| ImportError::Io {
        file: name.clone(),
        message: e.to_string(),
    })?;
    read_table(&name, &bytes)
}

/// Decode bytes to text (see the module docs for the policy).
pub fn decode(bytes: &[u8]) -> (String, Encoding, Option<u64>) {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return match std::str::from_utf8(rest) {
            Ok(s) => (s.to_string(), Encoding::Utf8Bom, None),
            Err(e) => {
                let line = line_of_offset(rest, e.valid_up_to());
                (windows_1252(rest), Encoding::Windows1252, Some(line))
            }
        };
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return (utf16(rest, u16::from_le_bytes), Encoding::Utf16Le, None);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return (utf16(rest, u16::from_be_bytes), Encoding::Utf16Be, None);
    }
    // UTF-16 whose BOM a tool stripped (Excel "Unicode text" passed through a script):
    // mostly-ASCII text has a zero byte in every other position.
    match utf16_without_bom(bytes) {
        Some(Encoding::Utf16Le) => {
            return (utf16(bytes, u16::from_le_bytes), Encoding::Utf16Le, None)
        }
        Some(Encoding::Utf16Be) => {
            return (utf16(bytes, u16::from_be_bytes), Encoding::Utf16Be, None)
        }
        _ => {}
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), Encoding::Utf8, None),
        Err(e) => {
            let line = line_of_offset(bytes, e.valid_up_to());
            (windows_1252(bytes), Encoding::Windows1252, Some(line))
        }
    }
}

/// UTF-16 LE or BE without a BOM, told from where the zero bytes are in the first
/// 4 KiB: at least a third of the code units have a zero high byte on one side and
/// (almost) none on the other. Text in UTF-8 or Windows-1252 has no zero bytes.
fn utf16_without_bom(bytes: &[u8]) -> Option<Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zero_odd = sample
        .chunks_exact(2)
        .filter(|c| c[1] == 0 && c[0] != 0)
        .count();
    let zero_even = sample
        .chunks_exact(2)
        .filter(|c| c[0] == 0 && c[1] != 0)
        .count();
    let most = pairs / 3;
    let few = pairs / 50;
    if zero_odd >= most.max(1) && zero_even <= few {
        Some(Encoding::Utf16Le)
    } else if zero_even >= most.max(1) && zero_odd <= few {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

fn utf16(bytes: &[u8], conv: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|c| conv([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Windows-1252 as the WHATWG encoding standard defines it (total: every byte maps).
fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}',
        '\u{017D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
        '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}',
        '\u{9D}', '\u{017E}', '\u{0178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

/// Count delimiter candidates outside double quotes; the most frequent wins
/// (`,` on a tie or when none occurs).
pub fn sniff_delimiter(line: &str) -> u8 {
    let (mut comma, mut semi, mut tab) = (0usize, 0usize, 0usize);
    let mut in_quotes = false;
    for c in line.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => comma += 1,
            ';' if !in_quotes => semi += 1,
            '\t' if !in_quotes => tab += 1,
            _ => {}
        }
    }
    if tab > comma && tab >= semi {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

/// Split one line into cells (for header detection only; the csv crate parses data).
fn split_line(line: &str, delim: u8) -> Vec<String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(line.as_bytes());
    let mut rec = csv::StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => rec.iter().map(|s| s.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// How many cells of a line look like known headers.
fn header_score(cells: &[String]) -> usize {
    cells
        .iter()
        .filter(|c| {
            let n = normalize_header(c);
            !n.is_empty() && Field::ALL.iter().any(|f| f.alias_score(&n) >= 50)
        })
        .count()
}

/// Decode and parse. Fails only when there is no header line at all.
pub fn read_table(file: &str, bytes: &[u8]) -> Result<Table, ImportError> {
    let (mut text, encoding, bad_line) = decode(bytes);
    let mut warnings = Vec::new();
    if let Some(line) = bad_line {
        warnings.push(Diagnostic::file_level(
            file,
            format!(
                "not valid UTF-8 (first at line {line}); decoded as Windows-1252 — \
                 check accented names, or save the file as \"CSV UTF-8\""
            ),
        ));
    }
    if !text.contains('\n') && text.contains('\r') {
        // Classic Mac line endings: make them countable lines.
        text = text.replace('\r', "\n");
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);

    // Physical lines with their byte offsets.
    let mut lines: Vec<(u64, usize, &str)> = Vec::new();
    let mut offset = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        lines.push((i as u64 + 1, offset, raw.trim_end_matches('\r')));
        offset += raw.len() + 1;
    }
    let non_blank: Vec<&(u64, usize, &str)> = lines
        .iter()
        .filter(|(_, _, l)| !l.trim().is_empty())
        .take(20)
        .collect();
    let Some(first) = non_blank.first() else {
        return Err(ImportError::Empty {
            file: file.to_string(),
        });
    };

    // Excel's `sep=;` directive.
    let mut forced_delim = None;
    let mut start = 0usize;
    let fl = first.2.trim().trim_matches('"');
    if let Some(d) = fl.strip_prefix("sep=").or_else(|| fl.strip_prefix("SEP=")) {
        let d = if d == "\\t" { "\t" } else { d };
        if d.len() == 1 && matches!(d.as_bytes()[0], b',' | b';' | b'\t' | b'|') {
            forced_delim = Some(d.as_bytes()[0]);
            start = 1;
        }
    }
    let candidates = &non_blank[start.min(non_blank.len())..];
    let Some(default_header) = candidates.first() else {
        return Err(ImportError::Empty {
            file: file.to_string(),
        });
    };
    // The header is the first line with at least two recognisable headers; failing
    // that, the first non-blank line. Lines before it are the preamble.
    // Preamble lines are short (a title, `Report period: …`, `Start date,2025-03-01`),
    // so the search stops at the first line with more than two non-empty cells: a
    // data row is never taken for the header.
    let mut header = *default_header;
    for cand in candidates {
        let d = forced_delim.unwrap_or_else(|| sniff_delimiter(cand.2));
        let cells = split_line(cand.2, d);
        if header_score(&cells) >= 2 {
            header = cand;
            break;
        }
        if cells.iter().filter(|c| !c.is_empty()).count() > 2 {
            break;
        }
    }
    let (header_line, header_offset, _) = *header;
    let preamble: Vec<(u64, String)> = candidates
        .iter()
        .take_while(|(n, _, _)| *n < header_line)
        .map(|(n, _, l)| (*n, l.trim().to_string()))
        .collect();

    let delimiter = forced_delim.unwrap_or_else(|| sniff_delimiter(header.2));
    let body = &text[header_offset..];
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body.as_bytes());
    // Physical lines come from byte offsets (the csv crate's own line counter skips
    // blank lines and some CRLF endings): line = header line + newlines before it.
    let newlines: Vec<usize> = body
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect();
    // A record's position is where the csv reader started, before the blank lines
    // it skipped; step over those line terminators to the record's first byte.
    let body_bytes = body.as_bytes();
    let line_at = |byte: u64| {
        let mut b = (byte as usize).min(body_bytes.len());
        while b < body_bytes.len() && matches!(body_bytes[b], b'\r' | b'\n') {
            b += 1;
        }
        header_line + newlines.partition_point(|&n| n < b) as u64
    };
    let mut headers: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first_record = true;
    let mut consecutive_errors = 0;
    loop {
        let line_before = line_at(rdr.position().byte());
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => consecutive_errors = 0,
            Err(e) => {
                consecutive_errors += 1;
                errors.push(Diagnostic::at_line(
                    file,
                    line_before,
                    format!("unreadable row: {e}"),
                ));
                if consecutive_errors > 100 {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(header_line, |p| line_at(p.byte()));
        if first_record {
            first_record = false;
            headers = record
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let h = h.trim().trim_start_matches('\u{feff}').trim();
                    if h.is_empty() {
                        format!("(column {})", i + 1)
                    } else {
                        h.to_string()
                    }
                })
                .collect();
            // Trailing empty header cells (`a,b,c,,`) are Excel padding.
            while headers.len() > 1 && headers.last().is_some_and(|h| h.starts_with("(column ")) {
                headers.pop();
            }
            continue;
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // blank line, or `;;;;` from Excel
        }
        let mut fields = record.clone();
        while fields.len() > headers.len()
            && fields
                .iter()
                .next_back()
                .is_some_and(|f| f.trim().is_empty())
        {
            fields.truncate(fields.len() - 1);
        }
        if fields.len() != headers.len() {
            let mut msg = format!(
                "expected {} fields (as in the header), found {}",
                headers.len(),
                fields.len()
            );
            if let Some(f) = fields.iter().find(|f| f.trim_end().contains('\n')) {
                let extra = f.trim_end().matches('\n').count() as u64;
                msg.push_str(&format!(
                    " (a quoted field spans lines {line}–{}: is a quote unclosed?)",
                    line + extra
                ));
            }
            errors.push(Diagnostic::at_line(file, line, msg));
            continue;
        }
        rows.push(Row { line, fields });
    }
    if headers.is_empty() {
        return Err(ImportError::Empty {
            file: file.to_string(),
        });
    }
    Ok(Table {
        file: file.to_string(),
        encoding,
        delimiter,
        headers,
        header_line,
        preamble,
        rows,
        errors,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff() {
        assert_eq!(sniff_delimiter("a,b,c"), b',');
        assert_eq!(sniff_delimiter("a;b;c"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("\"a;b\",c"), b',');
        assert_eq!(sniff_delimiter("abc"), b',');
    }

    #[test]
    fn cp1252() {
        let (s, enc, line) = decode(b"name\nJos\xe9 \x80\n");
        assert_eq!(s, "name\nJosé €\n");
        assert_eq!(enc, Encoding::Windows1252);
        assert_eq!(line, Some(2));
    }

    #[test]
    fn utf16le() {
        let mut b = vec![0xFF, 0xFE];
        for u in "a\tb\n1\t2\n".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let t = read_table("x.txt", &b).unwrap();
        assert_eq!(t.encoding, Encoding::Utf16Le);
        // The same without its BOM (LE and BE) is still recognised.
        for (encode, want) in [
            (u16::to_le_bytes as fn(u16) -> [u8; 2], Encoding::Utf16Le),
            (u16::to_be_bytes as fn(u16) -> [u8; 2], Encoding::Utf16Be),
        ] {
            let text = "Email,Name\nada@x.io,Ada\n";
            let bytes: Vec<u8> = text.encode_utf16().flat_map(encode).collect();
            let (decoded, enc, _) = decode(&bytes);
            assert_eq!(enc, want);
            assert_eq!(decoded, text);
        }
        assert_eq!(t.delimiter, b'\t');
        assert_eq!(t.rows[0].fields, vec!["1", "2"]);
    }
}
