//! RFC 7644 filter building: `attr eq "value"` with quotes and backslashes escaped.
// INTERFACE STUB — filled in by the SCIM client work.

use super::ScimError;

/// The attributes navscim looks users up by, in the default precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterAttr {
    ExternalId,
    UserName,
    Email,
}

impl FilterAttr {
    /// The SCIM attribute path as it appears in a filter.
    pub fn scim_path(self) -> &'static str {
        match self {
            FilterAttr::ExternalId => "externalId",
            FilterAttr::UserName => "userName",
            FilterAttr::Email => "emails.value",
        }
    }
}

/// An `eq` filter on one attribute. Built only through [`Filter::eq`], which refuses
/// empty values, so an empty filter can never be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    attr: FilterAttr,
    value: String,
}

impl Filter {
    pub fn eq(attr: FilterAttr, value: &str) -> Result<Filter, ScimError> {
        let _ = (attr, value);
        todo!("SCIM client work")
    }

    pub fn attr(&self) -> FilterAttr {
        self.attr
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// The filter expression, e.g. `userName eq "a\"b@x.com"` (not yet URL-encoded).
    pub fn expression(&self) -> String {
        todo!("SCIM client work")
    }
}
