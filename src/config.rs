//! Profiles and token sources.
