//! Shared by the plan tests: the demo fixtures turned into lookup results.
//!
//! The lookup results are made without a network: the Directory is built from the demo
//! identity-provider and Sales Navigator exports, and each user gets the outcome the
//! embedded simulator (seeded from the same Sales Navigator export) gives the lookup
//! engine: not in the export → not found; two seats for one email → ambiguous;
//! otherwise matched, active when the seat is ACTIVE or PENDING (the simulator's rule).
#![allow(dead_code)]

use std::collections::HashMap;

use chrono::NaiveDate;
use navscim::import::{demo, import_str, Import, ImportOptions};
use navscim::matching::{identity_key, Directory, DomainAliases, LookupOutcome, MatchStatus};
use navscim::report::UserReport;
use navscim::scim::ScimUser;

pub fn import(name: &str, text: &str) -> Import {
    import_str(name, text, &ImportOptions::default()).unwrap()
}

pub fn demo_usage() -> Import {
    import(demo::USAGE_NAME, demo::USAGE_CSV)
}

pub fn demo_directory() -> Directory {
    Directory::build(
        &[
            import(demo::IDP_OKTA_NAME, demo::IDP_OKTA_CSV),
            import(demo::SALESNAV_USERS_NAME, demo::SALESNAV_USERS_CSV),
        ],
        &DomainAliases::default(),
    )
}

/// The lookup results `navscim lookup idp_okta.csv salesnav_users.csv` gives against
/// the demo simulator, as Users-pane report rows.
pub fn demo_reports() -> Vec<UserReport> {
    let dir = demo_directory();
    demo_outcomes(&dir)
        .iter()
        .zip(&dir.users)
        .map(|(outcome, u)| UserReport::new(u, dir.presence(u), Some(outcome), false))
        .collect()
}

/// What the demo simulator answers for each user of `dir` (built from the demo
/// exports), by the rule above.
pub fn demo_outcomes(dir: &Directory) -> Vec<LookupOutcome> {
    let sn = import(demo::SALESNAV_USERS_NAME, demo::SALESNAV_USERS_CSV);
    let mut seats: HashMap<String, usize> = HashMap::new();
    for u in sn.salesnav_users() {
        if let Some(e) = &u.email {
            *seats
                .entry(identity_key(e, &DomainAliases::default()))
                .or_default() += 1;
        }
    }
    dir.users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let status = match &u.seat {
                None => MatchStatus::NotFound,
                Some(_) if seats.get(&u.key).copied().unwrap_or(0) > 1 => MatchStatus::Ambiguous,
                Some(seat) => MatchStatus::Matched {
                    active: matches!(
                        seat.license_status.as_ref().map(|s| s.as_str()),
                        Some("ACTIVE") | Some("PENDING") | None
                    ),
                },
            };
            let user = match status {
                MatchStatus::Matched { active } => Some(ScimUser {
                    schemas: vec![],
                    id: Some(format!("sim-{i:04}")),
                    external_id: u.external_id().map(Into::into),
                    user_name: u.email.clone().unwrap_or_default(),
                    name: None,
                    display_name: None,
                    emails: vec![],
                    active: Some(active),
                    extra: Default::default(),
                }),
                _ => None,
            };
            LookupOutcome {
                status,
                matched_by: None,
                user,
                candidates: vec![],
                attempts: vec![],
                error: None,
                warnings: vec![],
            }
        })
        .collect()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The demo report's period end: the "today" of every demo plan.
pub fn demo_as_of() -> NaiveDate {
    date("2025-05-31")
}
