//! The simulator's user store: records, indexes, licences, and the SCIM semantics of
//! create / replace / patch / delete. No I/O and no async here; the server wraps a
//! [`Store`] in a `RwLock` and keeps critical sections short.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::filter::{self, Attr, Expr, Op, Value as FValue};
use super::seed::SeedUser;
use super::{splitmix64, SIM_EXTENSION_SCHEMA};
use crate::scim::model::{Email, Name, ScimUser, USER_SCHEMA};

/// Licence state of one user (the simulator's extension attribute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// Whether the user holds one of the organisation's seats.
    pub assigned: bool,
    /// `ACTIVE`, `PENDING` (assigned, not yet activated by the user), `INACTIVE`,
    /// `REVOKED` (taken back by deactivation), `UNASSIGNED` (no seat was free), or
    /// whatever a seed file said.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub external_id: Option<String>,
    pub user_name: String,
    pub name: Option<Name>,
    pub display_name: Option<String>,
    pub emails: Vec<Email>,
    pub active: bool,
    pub license: License,
    pub seat_id: Option<String>,
    pub teamlink_status: Option<String>,
    pub admin_permission: Option<String>,
    pub groups: Option<String>,
    /// Other attributes a client sent (e.g. `title`, the enterprise extension), kept
    /// verbatim and echoed back.
    pub extra: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: u64,
}

impl UserRecord {
    /// The wire form, with `meta` and the simulator extension.
    pub fn to_scim(&self, base_url: &str) -> ScimUser {
        let mut extra = self.extra.clone();
        let mut ext = Map::new();
        ext.insert("licenseAssigned".into(), json!(self.license.assigned));
        ext.insert("licenseStatus".into(), json!(self.license.status));
        let opt = |ext: &mut Map<String, Value>, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                ext.insert(k.into(), json!(v));
            }
        };
        opt(&mut ext, "seatId", &self.seat_id);
        opt(
            &mut ext,
            "teamlinkExtendLicenseStatus",
            &self.teamlink_status,
        );
        opt(&mut ext, "adminPermission", &self.admin_permission);
        opt(&mut ext, "groups", &self.groups);
        extra.insert(SIM_EXTENSION_SCHEMA.into(), Value::Object(ext));
        extra.insert(
            "meta".into(),
            json!({
                "resourceType": "User",
                "created": self.created.to_rfc3339_opts(SecondsFormat::Millis, true),
                "lastModified": self.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
                "location": format!("{base_url}/Users/{}", self.id),
                "version": format!("W/\"{}\"", self.version),
            }),
        );
        ScimUser {
            schemas: vec![USER_SCHEMA.into(), SIM_EXTENSION_SCHEMA.into()],
            id: Some(self.id.clone()),
            external_id: self.external_id.clone(),
            user_name: self.user_name.clone(),
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            emails: self.emails.clone(),
            active: Some(self.active),
            extra,
        }
    }

    fn matches(&self, e: &Expr) -> bool {
        match e {
            Expr::And(a, b) => self.matches(a) && self.matches(b),
            Expr::Or(a, b) => self.matches(a) || self.matches(b),
            Expr::Not(a) => !self.matches(a),
            Expr::Cmp { attr, op, value } => {
                if *attr == Attr::Active {
                    return match (op, value) {
                        (Op::Pr, _) => true,
                        (Op::Eq, FValue::Bool(b)) => self.active == *b,
                        (Op::Ne, FValue::Bool(b)) => self.active != *b,
                        _ => false,
                    };
                }
                let name = self.name.as_ref();
                let vals: Vec<&str> = match attr {
                    Attr::Id => vec![&self.id],
                    Attr::ExternalId => self.external_id.iter().map(|s| s.as_str()).collect(),
                    Attr::UserName => vec![&self.user_name],
                    Attr::EmailsValue => self.emails.iter().map(|e| e.value.as_str()).collect(),
                    Attr::DisplayName => self.display_name.iter().map(|s| s.as_str()).collect(),
                    Attr::GivenName => name
                        .and_then(|n| n.given_name.as_deref())
                        .into_iter()
                        .collect(),
                    Attr::FamilyName => name
                        .and_then(|n| n.family_name.as_deref())
                        .into_iter()
                        .collect(),
                    Attr::Active => unreachable!(),
                };
                match (op, value) {
                    (Op::Pr, _) => vals.iter().any(|v| !v.is_empty()),
                    (Op::Ne, FValue::Str(w)) => {
                        !vals.iter().any(|v| filter::cmp_str(*attr, Op::Eq, v, w))
                    }
                    (_, FValue::Str(w)) => vals.iter().any(|v| filter::cmp_str(*attr, *op, v, w)),
                    _ => false,
                }
            }
        }
    }
}

/// Why a store operation failed; the server maps it to a SCIM error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(String),
    /// 409 `uniqueness`.
    Uniqueness(String),
    /// 400 with the given `scimType`.
    Bad {
        scim_type: &'static str,
        detail: String,
    },
}

fn bad<T>(scim_type: &'static str, detail: impl Into<String>) -> Result<T, StoreError> {
    Err(StoreError::Bad {
        scim_type,
        detail: detail.into(),
    })
}

/// Checks that a parsed filter makes sense for the simulator's attribute types.
pub fn validate_filter(e: &Expr) -> Result<(), filter::FilterError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            validate_filter(a)?;
            validate_filter(b)
        }
        Expr::Not(a) => validate_filter(a),
        Expr::Cmp { attr, op, value } => {
            let ok = match (attr, op, value) {
                (_, Op::Pr, _) => true,
                (Attr::Active, Op::Eq | Op::Ne, FValue::Bool(_)) => true,
                (Attr::Active, _, _) => false,
                (_, _, FValue::Str(_)) => true,
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(filter::FilterError(format!(
                    "operator or value type does not fit attribute {attr:?}"
                )))
            }
        }
    }
}

/// What a client sent to create or replace a user.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub name: Option<Name>,
    pub display_name: Option<String>,
    pub emails: Vec<Email>,
    pub active: Option<bool>,
    pub extra: Map<String, Value>,
}

/// Takes a key out of a JSON object, matching its name case-insensitively
/// (SCIM attribute names are case-insensitive).
fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let k = map.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    map.remove(&k)
}

fn opt_string(v: Option<Value>, attr: &str) -> Result<Option<String>, StoreError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => bad(
            "invalidValue",
            format!("{attr} must be a string, got {other}"),
        ),
    }
}

fn parse_bool(v: &Value, attr: &str) -> Result<bool, StoreError> {
    match v {
        Value::Bool(b) => Ok(*b),
        // Entra ID has been known to send "True"/"False" as strings.
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => bad(
            "invalidValue",
            format!("{attr} must be a boolean, got {other}"),
        ),
    }
}

fn parse_name(v: Value) -> Result<Option<Name>, StoreError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(mut m) => {
            let given_name = opt_string(take_ci(&mut m, "givenName"), "name.givenName")?;
            let family_name = opt_string(take_ci(&mut m, "familyName"), "name.familyName")?;
            let formatted = opt_string(take_ci(&mut m, "formatted"), "name.formatted")?;
            if given_name.is_none() && family_name.is_none() && formatted.is_none() {
                return Ok(None);
            }
            Ok(Some(Name {
                given_name,
                family_name,
                formatted,
            }))
        }
        other => bad(
            "invalidValue",
            format!("name must be an object, got {other}"),
        ),
    }
}

fn parse_email(v: Value) -> Result<Email, StoreError> {
    let Value::Object(mut m) = v else {
        return bad("invalidValue", "each of emails must be an object");
    };
    let Some(value) = opt_string(take_ci(&mut m, "value"), "emails.value")? else {
        return bad("invalidValue", "emails.value is required");
    };
    let kind = opt_string(take_ci(&mut m, "type"), "emails.type")?;
    let primary = match take_ci(&mut m, "primary") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_bool(&v, "emails.primary")?),
    };
    Ok(Email {
        value,
        kind,
        primary,
    })
}

fn parse_emails(v: Value) -> Result<Vec<Email>, StoreError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.into_iter().map(parse_email).collect(),
        obj @ Value::Object(_) => Ok(vec![parse_email(obj)?]),
        other => bad(
            "invalidValue",
            format!("emails must be an array, got {other}"),
        ),
    }
}

impl UserInput {
    /// Reads a POST/PUT body. `id`, `meta`, `schemas` and the simulator extension
    /// (read-only) are ignored.
    pub fn from_json(v: Value) -> Result<UserInput, StoreError> {
        let Value::Object(mut m) = v else {
            return bad("invalidSyntax", "the body must be a JSON object");
        };
        let user_name = match take_ci(&mut m, "userName") {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return bad("invalidValue", "userName is required")
            }
            Some(other) => {
                return bad(
                    "invalidValue",
                    format!("userName must be a string, got {other}"),
                )
            }
        };
        let external_id = opt_string(take_ci(&mut m, "externalId"), "externalId")?;
        let name = match take_ci(&mut m, "name") {
            Some(v) => parse_name(v)?,
            None => None,
        };
        let display_name = opt_string(take_ci(&mut m, "displayName"), "displayName")?;
        let emails = match take_ci(&mut m, "emails") {
            Some(v) => parse_emails(v)?,
            None => Vec::new(),
        };
        let active = match take_ci(&mut m, "active") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_bool(&v, "active")?),
        };
        for k in ["id", "meta", "schemas", SIM_EXTENSION_SCHEMA] {
            take_ci(&mut m, k);
        }
        Ok(UserInput {
            user_name,
            external_id,
            name,
            display_name,
            emails,
            active,
            extra: m,
        })
    }
}

/// All users, with indexes for the lookups the Sales Navigator service supports.
#[derive(Debug)]
pub struct Store {
    slots: Vec<Option<UserRecord>>,
    by_id: HashMap<String, usize>,
    by_user_name: HashMap<String, Vec<usize>>,
    by_external_id: HashMap<String, Vec<usize>>,
    by_email: HashMap<String, Vec<usize>>,
    live: usize,
    next_seq: u64,
    /// Free seats; `None` = unlimited.
    seats_free: Option<usize>,
}

/// What a stored user is found by: its id, folded userName, externalId, folded emails.
struct IndexKeys {
    id: String,
    user_name: String,
    external_id: Option<String>,
    emails: Vec<String>,
}

fn push_idx(map: &mut HashMap<String, Vec<usize>>, key: String, idx: usize) {
    let v = map.entry(key).or_default();
    if !v.contains(&idx) {
        v.push(idx);
        v.sort_unstable();
    }
}

fn pull_idx(map: &mut HashMap<String, Vec<usize>>, key: &str, idx: usize) {
    if let Some(v) = map.get_mut(key) {
        v.retain(|&i| i != idx);
        if v.is_empty() {
            map.remove(key);
        }
    }
}

/// Deterministic, opaque-looking SCIM id for the n-th user created.
pub fn make_id(seq: u64) -> String {
    format!(
        "{:016x}",
        splitmix64(seq.wrapping_add(0x6e61_7673_6369_6d00))
    )
}

impl Store {
    pub fn new(seats: Option<usize>) -> Store {
        Store {
            slots: Vec::new(),
            by_id: HashMap::new(),
            by_user_name: HashMap::new(),
            by_external_id: HashMap::new(),
            by_email: HashMap::new(),
            live: 0,
            next_seq: 0,
            seats_free: seats,
        }
    }

    /// Makes room for `n` more users (avoids rehashing while seeding).
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.by_id.reserve(n);
        self.by_user_name.reserve(n);
        self.by_external_id.reserve(n);
        self.by_email.reserve(n);
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn seats_free(&self) -> Option<usize> {
        self.seats_free
    }

    fn next_id(&mut self) -> String {
        let id = make_id(self.next_seq);
        self.next_seq += 1;
        id
    }

    /// The lookup keys of the user in slot `idx` (none for an empty slot).
    fn index_keys(&self, idx: usize) -> Option<IndexKeys> {
        let u = self.slots[idx].as_ref()?;
        Some(IndexKeys {
            id: u.id.clone(),
            user_name: filter::fold(&u.user_name),
            external_id: u.external_id.clone(),
            emails: u.emails.iter().map(|e| filter::fold(&e.value)).collect(),
        })
    }

    fn index(&mut self, idx: usize) {
        let Some(keys) = self.index_keys(idx) else {
            return;
        };
        self.by_id.insert(keys.id, idx);
        push_idx(&mut self.by_user_name, keys.user_name, idx);
        if let Some(ext) = keys.external_id {
            push_idx(&mut self.by_external_id, ext, idx);
        }
        for e in keys.emails {
            push_idx(&mut self.by_email, e, idx);
        }
    }

    fn unindex(&mut self, idx: usize) {
        let Some(keys) = self.index_keys(idx) else {
            return;
        };
        self.by_id.remove(&keys.id);
        pull_idx(&mut self.by_user_name, &keys.user_name, idx);
        if let Some(ext) = keys.external_id {
            pull_idx(&mut self.by_external_id, &ext, idx);
        }
        for e in keys.emails {
            pull_idx(&mut self.by_email, &e, idx);
        }
    }

    fn insert(&mut self, rec: UserRecord) -> usize {
        let idx = self.slots.len();
        self.slots.push(Some(rec));
        self.index(idx);
        self.live += 1;
        idx
    }

    /// Adds a seed user as-is (duplicates allowed: that is how "ambiguous" arises).
    /// Seed users hold a licence when active; `seats` counts only additional seats.
    pub fn add_seed(&mut self, s: &SeedUser, now: DateTime<Utc>) -> String {
        let id = self.next_id();
        let display = format!("{} {}", s.first_name, s.last_name)
            .trim()
            .to_string();
        let name = (!s.first_name.is_empty() || !s.last_name.is_empty()).then(|| Name {
            given_name: Some(s.first_name.clone()).filter(|x| !x.is_empty()),
            family_name: Some(s.last_name.clone()).filter(|x| !x.is_empty()),
            formatted: Some(display.clone()),
        });
        let active = s.active();
        let rec = UserRecord {
            id: id.clone(),
            external_id: s.external_id.clone(),
            user_name: s.email.clone(),
            name,
            display_name: Some(display).filter(|d| !d.is_empty()),
            emails: vec![Email {
                value: s.email.clone(),
                kind: Some("work".into()),
                primary: Some(true),
            }],
            active,
            license: License {
                assigned: active,
                status: s.license_status.clone(),
            },
            seat_id: s.seat_id.clone(),
            teamlink_status: s.teamlink_status.clone(),
            admin_permission: s.admin_permission.clone(),
            groups: s.groups.clone(),
            extra: Map::new(),
            created: now,
            last_modified: now,
            version: 1,
        };
        self.insert(rec);
        id
    }

    /// Adds a SCIM User resource as-is, keeping its id (one is made when it has
    /// none). Active users hold a licence.
    pub fn add_scim(&mut self, u: &ScimUser, now: DateTime<Utc>) -> String {
        let id = match u.id.as_deref().filter(|i| !i.trim().is_empty()) {
            Some(i) => i.to_string(),
            None => self.next_id(),
        };
        let active = u.is_active();
        let mut extra = u.extra.clone();
        extra.remove("meta");
        let rec = UserRecord {
            id: id.clone(),
            external_id: u.external_id.clone(),
            user_name: u.user_name.clone(),
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            emails: u.emails.clone(),
            active,
            license: License {
                assigned: active,
                status: if active { "ACTIVE" } else { "INACTIVE" }.into(),
            },
            seat_id: None,
            teamlink_status: None,
            admin_permission: None,
            groups: None,
            extra,
            created: now,
            last_modified: now,
            version: 1,
        };
        self.insert(rec);
        id
    }

    /// Changes a user's userName and/or externalId in place (for tests: "the
    /// identity changed between plan and apply"). `false` when there is no such user.
    pub fn rename(
        &mut self,
        id: &str,
        user_name: Option<&str>,
        external_id: Option<Option<&str>>,
    ) -> bool {
        let Some(&idx) = self.by_id.get(id) else {
            return false;
        };
        self.unindex(idx);
        if let Some(rec) = self.slots[idx].as_mut() {
            if let Some(un) = user_name {
                rec.user_name = un.to_string();
                if let Some(e) = rec.emails.first_mut() {
                    e.value = un.to_string();
                }
            }
            if let Some(ext) = external_id {
                rec.external_id = ext.map(str::to_string);
            }
            rec.version += 1;
        }
        self.index(idx);
        true
    }

    pub fn get(&self, id: &str) -> Option<&UserRecord> {
        self.by_id.get(id).and_then(|&i| self.slots[i].as_ref())
    }

    /// Every user, in creation order.
    pub fn all(&self) -> impl Iterator<Item = &UserRecord> {
        self.slots.iter().flatten()
    }

    /// Slot indexes of the users matching `filter` (all users for `None`), in
    /// creation order. Single `eq` comparisons on id, userName, externalId and
    /// emails.value use the indexes; everything else scans.
    pub fn matching(&self, filter: Option<&Expr>) -> Vec<usize> {
        let Some(e) = filter else {
            return (0..self.slots.len())
                .filter(|&i| self.slots[i].is_some())
                .collect();
        };
        if let Expr::Cmp {
            attr,
            op: Op::Eq,
            value: FValue::Str(v),
        } = e
        {
            let hits = match attr {
                Attr::Id => Some(self.by_id.get(v).map(|&i| vec![i]).unwrap_or_default()),
                Attr::UserName => Some(
                    self.by_user_name
                        .get(&filter::fold(v))
                        .cloned()
                        .unwrap_or_default(),
                ),
                Attr::ExternalId => Some(self.by_external_id.get(v).cloned().unwrap_or_default()),
                Attr::EmailsValue => Some(
                    self.by_email
                        .get(&filter::fold(v))
                        .cloned()
                        .unwrap_or_default(),
                ),
                _ => None,
            };
            if let Some(h) = hits {
                return h;
            }
        }
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.as_ref().is_some_and(|u| u.matches(e)))
            .map(|(i, _)| i)
            .collect()
    }

    pub fn at(&self, idx: usize) -> Option<&UserRecord> {
        self.slots.get(idx).and_then(|s| s.as_ref())
    }

    /// 409 when another user holds `user_name` (case-insensitively) or `external_id`;
    /// `None` is not checked (a value the request leaves as it was).
    fn check_unique(
        &self,
        user_name: Option<&str>,
        external_id: Option<&str>,
        except: Option<usize>,
    ) -> Result<(), StoreError> {
        let others =
            |v: Option<&Vec<usize>>| v.is_some_and(|v| v.iter().any(|&i| Some(i) != except));
        if let Some(user_name) = user_name {
            if others(self.by_user_name.get(&filter::fold(user_name))) {
                return Err(StoreError::Uniqueness(format!(
                    "a user with userName {user_name:?} already exists"
                )));
            }
        }
        if let Some(ext) = external_id {
            if others(self.by_external_id.get(ext)) {
                return Err(StoreError::Uniqueness(format!(
                    "a user with externalId {ext:?} already exists"
                )));
            }
        }
        Ok(())
    }

    fn take_seat(&mut self) -> bool {
        match &mut self.seats_free {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }

    fn release_seat(&mut self) {
        if let Some(n) = &mut self.seats_free {
            *n += 1;
        }
    }

    /// Applies licence rules when `active` goes from `was` to `rec.active`.
    fn relicense(&mut self, was: bool, rec: &mut UserRecord) {
        match (was, rec.active, rec.license.assigned) {
            (true, false, true) => {
                self.release_seat();
                rec.license = License {
                    assigned: false,
                    status: "REVOKED".into(),
                };
            }
            (false, true, false) => {
                rec.license = self.assign_seat();
            }
            _ => {}
        }
    }

    /// A licence for a user becoming active: a seat if one is free (`PENDING` until
    /// the user accepts it), else `UNASSIGNED`.
    fn assign_seat(&mut self) -> License {
        if self.take_seat() {
            License {
                assigned: true,
                status: "PENDING".into(),
            }
        } else {
            License {
                assigned: false,
                status: "UNASSIGNED".into(),
            }
        }
    }

    /// `POST /Users`.
    pub fn create(
        &mut self,
        input: UserInput,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, StoreError> {
        self.check_unique(Some(&input.user_name), input.external_id.as_deref(), None)?;
        let active = input.active.unwrap_or(true);
        let license = if !active {
            License {
                assigned: false,
                status: "INACTIVE".into(),
            }
        } else {
            self.assign_seat()
        };
        let id = self.next_id();
        let rec = UserRecord {
            id,
            external_id: input.external_id,
            user_name: input.user_name,
            name: input.name,
            display_name: input.display_name,
            emails: input.emails,
            active,
            license,
            seat_id: None,
            teamlink_status: None,
            admin_permission: None,
            groups: None,
            extra: input.extra,
            created: now,
            last_modified: now,
            version: 1,
        };
        self.insert(rec.clone());
        Ok(rec)
    }

    fn commit(
        &mut self,
        idx: usize,
        mut rec: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, StoreError> {
        let old = self.slots[idx].as_ref().expect("live slot").clone();
        if rec != old {
            // Only an identifier the request changes must be free: a seed may hold two
            // users with one userName (that is how "ambiguous" arises), and a real
            // server does not refuse to deactivate one of them for it.
            let user_name = (filter::fold(&rec.user_name) != filter::fold(&old.user_name))
                .then_some(rec.user_name.as_str());
            let external_id = rec
                .external_id
                .as_deref()
                .filter(|_| rec.external_id != old.external_id);
            self.check_unique(user_name, external_id, Some(idx))?;
            self.relicense(old.active, &mut rec);
            rec.version = old.version + 1;
            rec.last_modified = now;
            self.unindex(idx);
            self.slots[idx] = Some(rec.clone());
            self.index(idx);
        }
        Ok(rec)
    }

    fn slot_of(&self, id: &str) -> Result<usize, StoreError> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// `PUT /Users/{id}`: replaces the client-writable attributes. An absent `active`
    /// keeps the current value (a partial PUT must not silently reactivate anyone).
    pub fn replace(
        &mut self,
        id: &str,
        input: UserInput,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, StoreError> {
        let idx = self.slot_of(id)?;
        let mut rec = self.slots[idx].as_ref().expect("live slot").clone();
        rec.user_name = input.user_name;
        rec.external_id = input.external_id;
        rec.name = input.name;
        rec.display_name = input.display_name;
        rec.emails = input.emails;
        if let Some(a) = input.active {
            rec.active = a;
        }
        rec.extra = input.extra;
        self.commit(idx, rec, now)
    }

    /// `PATCH /Users/{id}` with the operations of a PatchOp body. All or nothing.
    pub fn patch(
        &mut self,
        id: &str,
        ops: &[Value],
        now: DateTime<Utc>,
    ) -> Result<UserRecord, StoreError> {
        let idx = self.slot_of(id)?;
        let mut rec = self.slots[idx].as_ref().expect("live slot").clone();
        for op in ops {
            apply_op(&mut rec, op)?;
        }
        self.commit(idx, rec, now)
    }

    /// `DELETE /Users/{id}`; frees the seat.
    pub fn delete(&mut self, id: &str) -> Result<(), StoreError> {
        let idx = self.slot_of(id)?;
        if self.slots[idx].as_ref().is_some_and(|u| u.license.assigned) {
            self.release_seat();
        }
        self.unindex(idx);
        self.slots[idx] = None;
        self.live -= 1;
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Add,
    Replace,
    Remove,
}

fn apply_op(rec: &mut UserRecord, op: &Value) -> Result<(), StoreError> {
    let Value::Object(m) = op else {
        return bad("invalidSyntax", "each operation must be an object");
    };
    let mut m = m.clone();
    let kind = match take_ci(&mut m, "op") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("add") => PatchKind::Add,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("replace") => PatchKind::Replace,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("remove") => PatchKind::Remove,
        Some(other) => return bad("invalidSyntax", format!("unknown patch op {other}")),
        None => return bad("invalidSyntax", "operation without op"),
    };
    let path = match take_ci(&mut m, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => return bad("invalidPath", format!("path must be a string, got {other}")),
    };
    let value = take_ci(&mut m, "value");
    match (kind, path) {
        (PatchKind::Remove, None) => bad("noTarget", "remove needs a path"),
        (PatchKind::Remove, Some(p)) => set_path(rec, &p, None, kind),
        (_, Some(p)) => {
            let Some(v) = value else {
                return bad("invalidValue", format!("operation on {p} without a value"));
            };
            set_path(rec, &p, Some(v), kind)
        }
        (_, None) => match value {
            // Entra ID: {"op":"Replace","value":{"active":false,"name.givenName":"X"}}
            Some(Value::Object(obj)) => {
                for (k, v) in obj {
                    if k.eq_ignore_ascii_case("name") {
                        if let Value::Object(nm) = v {
                            for (nk, nv) in nm {
                                set_path(rec, &format!("name.{nk}"), Some(nv), kind)?;
                            }
                            continue;
                        }
                    }
                    set_path(rec, &k, Some(v), kind)?;
                }
                Ok(())
            }
            Some(other) => bad(
                "invalidValue",
                format!("an operation without path needs an object value, got {other}"),
            ),
            None => bad("invalidValue", "operation without path or value"),
        },
    }
}

/// `emails[type eq "work"].value` → `Some("work")`.
fn email_type_path(p: &str) -> Option<String> {
    let lower = p.to_ascii_lowercase();
    let rest = lower.strip_prefix("emails[")?;
    let (inner, tail) = rest.split_once(']')?;
    if tail != ".value" && !tail.is_empty() {
        return None;
    }
    let (attr, val) = inner.split_once(" eq ")?;
    if attr.trim() != "type" {
        return None;
    }
    let val = val.trim().strip_prefix('"')?.strip_suffix('"')?;
    // Keep the original case of the type value.
    let start = p.to_ascii_lowercase().find(val)?;
    Some(p[start..start + val.len()].to_string())
}

fn set_path(
    rec: &mut UserRecord,
    path: &str,
    value: Option<Value>,
    kind: PatchKind,
) -> Result<(), StoreError> {
    let lower = path.to_ascii_lowercase();
    let core = "urn:ietf:params:scim:schemas:core:2.0:user:";
    let key = lower.strip_prefix(core).unwrap_or(&lower);
    let name = |rec: &mut UserRecord| rec.name.get_or_insert_with(Name::default).clone();
    match key {
        "active" => match value {
            Some(v) => rec.active = parse_bool(&v, "active")?,
            None => return bad("mutability", "active cannot be removed"),
        },
        "username" => match opt_string(value, "userName")? {
            Some(s) if !s.trim().is_empty() => rec.user_name = s,
            _ => return bad("mutability", "userName is required and cannot be removed"),
        },
        "externalid" => rec.external_id = opt_string(value, "externalId")?,
        "displayname" => rec.display_name = opt_string(value, "displayName")?,
        "name" => {
            rec.name = match value {
                Some(v) => parse_name(v)?,
                None => None,
            }
        }
        "name.givenname" | "name.familyname" | "name.formatted" => {
            let v = opt_string(value, path)?;
            let mut n = name(rec);
            match key {
                "name.givenname" => n.given_name = v,
                "name.familyname" => n.family_name = v,
                _ => n.formatted = v,
            }
            rec.name = (n != Name::default()).then_some(n);
        }
        "emails" => match value {
            None => rec.emails.clear(),
            Some(v) => {
                let new = parse_emails(v)?;
                if kind == PatchKind::Add {
                    for e in new {
                        if !rec.emails.iter().any(|x| x.value == e.value) {
                            rec.emails.push(e);
                        }
                    }
                } else {
                    rec.emails = new;
                }
            }
        },
        _ if key.starts_with("emails[") => {
            let Some(t) = email_type_path(path) else {
                return bad("invalidPath", format!("unsupported path {path}"));
            };
            let pos = rec.emails.iter().position(|e| {
                e.kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(&t))
            });
            match (opt_string(value, "emails.value")?, pos) {
                (None, Some(i)) => {
                    rec.emails.remove(i);
                }
                (None, None) => {}
                (Some(v), Some(i)) => rec.emails[i].value = v,
                (Some(v), None) => rec.emails.push(Email {
                    value: v,
                    kind: Some(t),
                    primary: rec.emails.is_empty().then_some(true),
                }),
            }
        }
        "id" | "meta" | "schemas" => {
            return bad("mutability", format!("{path} is read-only"));
        }
        _ if lower.starts_with(&SIM_EXTENSION_SCHEMA.to_ascii_lowercase()) => {
            return bad(
                "mutability",
                "the licence extension is read-only: licences follow `active` and the seat pool",
            );
        }
        _ if lower.starts_with("urn:") => {
            // Another extension, e.g. the enterprise one: keep it in `extra`.
            let Some(split) = path.rfind(':') else {
                return bad("invalidPath", format!("unsupported path {path}"));
            };
            let (urn, attr) = (&path[..split], &path[split + 1..]);
            if attr.is_empty() || attr.contains(['[', ']']) {
                return bad("invalidPath", format!("unsupported path {path}"));
            }
            let entry = rec
                .extra
                .entry(urn.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let obj = entry.as_object_mut().expect("object");
            match value {
                Some(v) => {
                    obj.insert(attr.to_string(), v);
                }
                None => {
                    obj.remove(attr);
                }
            }
        }
        _ if lower.contains(['.', '[', ']', ' ']) => {
            return bad("invalidPath", format!("unsupported path {path}"));
        }
        _ => {
            // A simple attribute the simulator does not model (title, locale, …).
            let existing = rec
                .extra
                .keys()
                .find(|k| k.eq_ignore_ascii_case(path))
                .cloned();
            let k = existing.unwrap_or_else(|| path.to_string());
            match value {
                Some(v) => {
                    rec.extra.insert(k, v);
                }
                None => {
                    rec.extra.remove(&k);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(un: &str, ext: Option<&str>) -> UserInput {
        UserInput {
            user_name: un.into(),
            external_id: ext.map(Into::into),
            emails: vec![Email {
                value: un.into(),
                kind: Some("work".into()),
                primary: Some(true),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn ids_are_distinct_and_stable() {
        assert_eq!(make_id(0), make_id(0));
        assert_ne!(make_id(0), make_id(1));
        assert_eq!(make_id(0).len(), 16);
    }

    #[test]
    fn uniqueness_and_seats() {
        let now = Utc::now();
        let mut s = Store::new(Some(1));
        let a = s.create(input("A@x.com", Some("E1")), now).unwrap();
        assert!(a.license.assigned);
        assert!(matches!(
            s.create(input("a@X.COM", None), now),
            Err(StoreError::Uniqueness(_))
        ));
        assert!(matches!(
            s.create(input("b@x.com", Some("E1")), now),
            Err(StoreError::Uniqueness(_))
        ));
        let b = s.create(input("b@x.com", Some("e1")), now).unwrap();
        assert!(!b.license.assigned);
        assert_eq!(b.license.status, "UNASSIGNED");
        // Deactivating a frees a seat; reactivating b takes it.
        s.patch(
            &a.id,
            &[json!({"op":"replace","path":"active","value":false})],
            now,
        )
        .unwrap();
        assert_eq!(s.seats_free(), Some(1));
        s.patch(
            &b.id,
            &[json!({"op":"replace","path":"active","value":false})],
            now,
        )
        .unwrap();
        let b = s
            .patch(
                &b.id,
                &[json!({"op":"Replace","value":{"active":"True"}})],
                now,
            )
            .unwrap();
        assert!(b.license.assigned);
        assert_eq!(s.seats_free(), Some(0));
    }

    /// Seeded duplicates (two users, one userName in two cases; one externalId) can
    /// still be deactivated: only an identifier the request changes must be free. The
    /// demo's Michelle Ramirez got 409 "already exists" on a PATCH of `active` alone.
    #[test]
    fn seeded_duplicates_can_be_changed_but_not_renamed_onto_each_other() {
        let now = Utc::now();
        let mut s = Store::new(None);
        let seed = |email: &str, ext: &str| SeedUser {
            email: email.into(),
            first_name: "Mia".into(),
            last_name: "Ray".into(),
            external_id: Some(ext.into()),
            seat_id: None,
            license_status: "ACTIVE".into(),
            teamlink_status: None,
            admin_permission: None,
            groups: None,
        };
        let a = s.add_seed(&seed("Mia.Ray@x.com", "E1"), now);
        let b = s.add_seed(&seed("mia.ray@x.com", "E1"), now);
        let off = [json!({"op":"replace","path":"active","value":false})];
        assert!(!s.patch(&a, &off, now).unwrap().active);
        assert!(!s.patch(&b, &off, now).unwrap().active);
        // A change of case in one's own userName is not a clash either.
        s.patch(
            &a,
            &[json!({"op":"replace","path":"userName","value":"MIA.RAY@x.com"})],
            now,
        )
        .unwrap();
        // Taking another user's identifier still is.
        let c = s.create(input("c@x.com", Some("E3")), now).unwrap();
        for clash in [
            json!({"op":"replace","path":"userName","value":"Mia.Ray@X.com"}),
            json!({"op":"replace","path":"externalId","value":"E1"}),
        ] {
            assert!(matches!(
                s.patch(&c.id, &[clash], now),
                Err(StoreError::Uniqueness(_))
            ));
        }
    }

    #[test]
    fn patch_paths() {
        let now = Utc::now();
        let mut s = Store::new(None);
        let a = s.create(input("a@x.com", None), now).unwrap();
        let r = s
            .patch(
                &a.id,
                &[
                    json!({"op":"replace","path":"emails[type eq \"work\"].value","value":"new@x.com"}),
                    json!({"op":"add","value":{"name.givenName":"Ann","title":"CTO"}}),
                    json!({"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"42"}),
                ],
                now,
            )
            .unwrap();
        assert_eq!(r.emails[0].value, "new@x.com");
        assert_eq!(r.name.unwrap().given_name.as_deref(), Some("Ann"));
        assert_eq!(r.extra["title"], "CTO");
        assert_eq!(r.version, 2);
        assert_eq!(
            s.matching(Some(
                &filter::parse("emails.value eq \"NEW@x.com\"").unwrap()
            ))
            .len(),
            1
        );
        assert!(s
            .matching(Some(&filter::parse("emails.value eq \"a@x.com\"").unwrap()))
            .is_empty());
        // Failing op leaves the record untouched.
        let err = s.patch(
            &a.id,
            &[
                json!({"op":"replace","path":"displayName","value":"X"}),
                json!({"op":"replace","path":"name.bogus[","value":"X"}),
            ],
            now,
        );
        assert!(err.is_err());
        assert_eq!(s.get(&a.id).unwrap().display_name, None);
    }
}
