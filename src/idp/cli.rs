//! Command-line options of identity-provider sources.
