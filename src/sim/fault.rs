//! Server behaviours the simulator can reproduce on demand (`navscim sim --fault NAME`),
//! each one a way real SCIM servers have answered that a client must not believe
//! blindly. Tests and the demo use them; see `../shared/field-cases/`.

use std::fmt;

/// One non-standard server behaviour. Several can be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// List responses spell their members `resources`, `totalresults`, `startindex`,
    /// `itemsperpage` (RFC 7643 section 2.1: attribute names are case-insensitive).
    ResourcesLowercase,
    /// List responses spell their members `RESOURCES`, `TOTALRESULTS`, …
    ResourcesUppercase,
    /// List responses carry `totalResults` but no `Resources` member at all.
    TotalWithoutResources,
    /// `GET /Users?filter=…` ignores the filter and answers a page of every user
    /// ([`super::SimConfig::page_size`] of them) with `totalResults` = all users.
    FilterIgnored,
    /// `active` is sent as the string `"True"` / `"False"`.
    ActiveAsString,
    /// An `id` made only of digits is sent as a JSON number (`"id": 20011`).
    NumericId,
    /// `userName eq` and `emails.value eq` compare case-sensitively.
    CaseSensitiveFilter,
    /// `PATCH /Users/{id}` answers 204 No Content and changes nothing.
    NoOpPatch,
    /// `PATCH /Users/{id}` answers 404 although `GET /Users/{id}` finds the user,
    /// and changes nothing.
    NotFoundAfterRead,
    /// `GET /Users/{id}` answers the user without its `id`.
    IdMissing,
    /// Every `/Users` request is answered 200 with an HTML page (`text/html`), like a
    /// proxy's or a login page.
    HtmlAnswers,
}

/// Every fault, in the order `--help` lists them.
pub const ALL_FAULTS: [Fault; 11] = [
    Fault::ResourcesLowercase,
    Fault::ResourcesUppercase,
    Fault::TotalWithoutResources,
    Fault::FilterIgnored,
    Fault::ActiveAsString,
    Fault::NumericId,
    Fault::CaseSensitiveFilter,
    Fault::NoOpPatch,
    Fault::NotFoundAfterRead,
    Fault::IdMissing,
    Fault::HtmlAnswers,
];

impl Fault {
    /// The name `--fault` takes.
    pub fn name(self) -> &'static str {
        match self {
            Fault::ResourcesLowercase => "resources-lowercase",
            Fault::ResourcesUppercase => "resources-uppercase",
            Fault::TotalWithoutResources => "total-without-resources",
            Fault::FilterIgnored => "filter-ignored",
            Fault::ActiveAsString => "active-as-string",
            Fault::NumericId => "numeric-id",
            Fault::CaseSensitiveFilter => "case-sensitive-filter",
            Fault::NoOpPatch => "no-op-patch",
            Fault::NotFoundAfterRead => "404-after-read",
            Fault::IdMissing => "id-missing",
            Fault::HtmlAnswers => "html-answers",
        }
    }

    /// Parses a name (case-insensitive, `_` for `-` accepted).
    pub fn parse(s: &str) -> Result<Fault, String> {
        let want = s.trim().to_ascii_lowercase().replace('_', "-");
        ALL_FAULTS
            .into_iter()
            .find(|f| f.name() == want)
            .ok_or_else(|| {
                format!(
                    "unknown fault {s:?} (expected one of: {})",
                    ALL_FAULTS.map(Fault::name).join(", ")
                )
            })
    }

    /// Parses a comma-separated list.
    pub fn parse_list(s: &str) -> Result<Vec<Fault>, String> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Fault::parse)
            .collect()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in ALL_FAULTS {
            assert_eq!(Fault::parse(f.name()), Ok(f));
        }
        assert_eq!(
            Fault::parse_list("Resources_Lowercase, 404-after-read").unwrap(),
            vec![Fault::ResourcesLowercase, Fault::NotFoundAfterRead]
        );
        assert!(Fault::parse("nope").unwrap_err().contains("filter-ignored"));
    }
}
