//! Wire model: SCIM User, ListResponse, PatchOp, ServiceProviderConfig, error bodies.

use serde::{Deserialize, Serialize};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    pub value: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// A SCIM User as returned by a server. Unknown attributes are kept in `extra` so the
/// details view can show the raw resource.
///
/// Read leniently where the meaning is clear ([`ScimUser::from_json`]): member names in
/// any case (RFC 7643 section 2.1), `"active": "True"`/`"false"` strings, a numeric
/// `id` or `externalId`. Any other unexpected value is an error naming the attribute
/// and what came.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    /// RFC 7643: absent means active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ScimUser {
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }

    /// The primary email (`primary: true`), else the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| self.emails.first())
            .map(|e| e.value.as_str())
    }

    /// Reads a User resource leniently (see the type's docs). The error names the
    /// attribute and what came, e.g. `attribute "active": expected true or false, got "maybe"`.
    pub fn from_json(value: serde_json::Value) -> Result<ScimUser, String> {
        let serde_json::Value::Object(map) = value else {
            return Err(format!("expected a User object, got {}", json_kind(&value)));
        };
        let mut user = ScimUser {
            schemas: Vec::new(),
            id: None,
            external_id: None,
            user_name: String::new(),
            name: None,
            display_name: None,
            emails: Vec::new(),
            active: None,
            extra: serde_json::Map::new(),
        };
        for (key, v) in map {
            match key.to_ascii_lowercase().as_str() {
                "schemas" => {
                    user.schemas = match v {
                        serde_json::Value::Array(items) => items
                            .into_iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .collect(),
                        serde_json::Value::String(s) => vec![s],
                        _ => Vec::new(),
                    }
                }
                "id" => user.id = lenient_id("id", v)?,
                "externalid" => user.external_id = lenient_id("externalId", v)?,
                "username" => {
                    user.user_name = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        other => return Err(unexpected("userName", "a string", &other)),
                    }
                }
                "displayname" => user.display_name = opt_str("displayName", v)?,
                "name" => user.name = lenient_name(v)?,
                "emails" => user.emails = lenient_emails(v)?,
                "active" => user.active = lenient_bool("active", &v)?,
                _ => {
                    user.extra.insert(key, v);
                }
            }
        }
        Ok(user)
    }
}

impl<'de> Deserialize<'de> for ScimUser {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        ScimUser::from_json(v).map_err(serde::de::Error::custom)
    }
}

/// The JSON type of a value, for error messages.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn unexpected(attr: &str, expected: &str, got: &serde_json::Value) -> String {
    let shown = match got {
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => json_kind(got).to_string(),
        other => {
            let mut t = other.to_string();
            if t.chars().count() > 60 {
                t = t.chars().take(60).collect::<String>() + "…";
            }
            t
        }
    };
    format!("attribute \"{attr}\": expected {expected}, got {shown}")
}

/// A boolean, or a string `true`/`false` in any case (Entra ID and others send
/// `"True"`/`"False"`).
pub fn lenient_bool(attr: &str, v: &serde_json::Value) -> Result<Option<bool>, String> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Bool(b) => Ok(Some(*b)),
        serde_json::Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        serde_json::Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(unexpected(attr, "true or false", other)),
    }
}

/// An identifier: a string, or a JSON integer read as its decimal digits.
fn lenient_id(attr: &str, v: serde_json::Value) -> Result<Option<String>, String> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        other => Err(unexpected(attr, "a string", &other)),
    }
}

fn opt_str(attr: &str, v: serde_json::Value) -> Result<Option<String>, String> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        other => Err(unexpected(attr, "a string", &other)),
    }
}

fn lenient_name(v: serde_json::Value) -> Result<Option<Name>, String> {
    let map = match v {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Object(m) => m,
        other => return Err(unexpected("name", "an object", &other)),
    };
    let mut name = Name::default();
    for (k, v) in map {
        match k.to_ascii_lowercase().as_str() {
            "givenname" => name.given_name = opt_str("name.givenName", v)?,
            "familyname" => name.family_name = opt_str("name.familyName", v)?,
            "formatted" => name.formatted = opt_str("name.formatted", v)?,
            _ => {}
        }
    }
    Ok(Some(name))
}

fn lenient_emails(v: serde_json::Value) -> Result<Vec<Email>, String> {
    let items = match v {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Array(items) => items,
        other => return Err(unexpected("emails", "an array", &other)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let serde_json::Value::Object(map) = item else {
            return Err(unexpected("emails", "an array of objects", &item));
        };
        let mut email = Email {
            value: String::new(),
            kind: None,
            primary: None,
        };
        for (k, v) in map {
            match k.to_ascii_lowercase().as_str() {
                "value" => email.value = opt_str("emails.value", v)?.unwrap_or_default(),
                "type" => email.kind = opt_str("emails.type", v)?,
                "primary" => email.primary = lenient_bool("emails.primary", &v)?,
                _ => {}
            }
        }
        out.push(email);
    }
    Ok(out)
}

/// A list response as read: RFC 7643 section 2.1 member names in any case
/// (`Resources`, `resources`, `RESOURCES`, `totalresults`…).
#[derive(Debug, Clone, PartialEq)]
pub struct UserList {
    /// `totalResults`, when the server sent it.
    pub total_results: Option<u64>,
    /// `startIndex`, when sent.
    pub start_index: Option<u64>,
    /// `itemsPerPage`, when sent.
    pub items_per_page: Option<u64>,
    /// Every resource, each read on its own: one that cannot be read is an `Err`
    /// naming the attribute, and the others are still read.
    pub resources: Vec<Result<ScimUser, String>>,
}

impl UserList {
    /// Reads a ListResponse body; an error when it is not an object or its
    /// `Resources` member is not an array.
    pub fn from_json(value: serde_json::Value) -> Result<UserList, String> {
        let serde_json::Value::Object(map) = value else {
            return Err(format!(
                "expected a ListResponse object, got {}",
                json_kind(&value)
            ));
        };
        let mut list = UserList {
            total_results: None,
            start_index: None,
            items_per_page: None,
            resources: Vec::new(),
        };
        let count = |attr: &str, v: &serde_json::Value| -> Result<Option<u64>, String> {
            match v {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::Number(n) if n.is_u64() => Ok(n.as_u64()),
                serde_json::Value::String(s) if s.trim().parse::<u64>().is_ok() => {
                    Ok(s.trim().parse().ok())
                }
                other => Err(unexpected(attr, "a whole number", other)),
            }
        };
        for (k, v) in map {
            match k.to_ascii_lowercase().as_str() {
                "totalresults" => list.total_results = count("totalResults", &v)?,
                "startindex" => list.start_index = count("startIndex", &v)?,
                "itemsperpage" => list.items_per_page = count("itemsPerPage", &v)?,
                "resources" => match v {
                    serde_json::Value::Null => {}
                    serde_json::Value::Array(items) => {
                        list.resources = items.into_iter().map(ScimUser::from_json).collect()
                    }
                    other => return Err(unexpected("Resources", "an array", &other)),
                },
                _ => {}
            }
        }
        Ok(list)
    }
}

/// What navscim sends to create a user (`POST /Users`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl NewUser {
    /// The SCIM User resource sent in `POST /Users`: the core schema with `name`,
    /// a primary work e-mail (the user name when no e-mail is given) and `active: true`.
    pub fn to_resource(&self) -> serde_json::Value {
        let mut user = serde_json::Map::new();
        user.insert("schemas".into(), serde_json::json!([USER_SCHEMA]));
        user.insert("userName".into(), self.user_name.clone().into());
        if let Some(ext) = &self.external_id {
            user.insert("externalId".into(), ext.clone().into());
        }
        let name = Name {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            formatted: None,
        };
        if name.given_name.is_some() || name.family_name.is_some() {
            let display = [name.given_name.as_deref(), name.family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            user.insert("displayName".into(), display.into());
            user.insert(
                "name".into(),
                serde_json::to_value(&name).unwrap_or(serde_json::Value::Null),
            );
        }
        let email = self.email.as_deref().unwrap_or(&self.user_name);
        if email.contains('@') {
            user.insert(
                "emails".into(),
                serde_json::json!([{"value": email, "type": "work", "primary": true}]),
            );
        }
        user.insert("active".into(), true.into());
        serde_json::Value::Object(user)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListResponse<T> {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default)]
    pub total_results: usize,
    #[serde(default, rename = "Resources")]
    pub resources: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    pub schemas: Vec<String>,
    #[serde(rename = "Operations")]
    pub operations: Vec<PatchOperation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl PatchOp {
    /// `{"op":"replace","path":"active","value":<active>}` — how Sales Navigator
    /// deactivates (deprovisions) and reactivates a user.
    pub fn set_active(active: bool) -> Self {
        PatchOp {
            schemas: vec![PATCH_SCHEMA.to_string()],
            operations: vec![PatchOperation {
                op: "replace".into(),
                path: Some("active".into()),
                value: Some(serde_json::Value::Bool(active)),
            }],
        }
    }
}

/// The parts of `/ServiceProviderConfig` navscim reads. Unknown parts are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    #[serde(default)]
    pub patch: Supported,
    #[serde(default)]
    pub bulk: Supported,
    #[serde(default)]
    pub filter: FilterSupport,
    #[serde(default)]
    pub change_password: Supported,
    #[serde(default)]
    pub sort: Supported,
    #[serde(default)]
    pub etag: Supported,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Supported {
    #[serde(default)]
    pub supported: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FilterSupport {
    #[serde(default)]
    pub supported: bool,
    #[serde(default)]
    pub max_results: Option<usize>,
}

impl ServiceProviderConfig {
    /// navscim's own convention (the embedded simulator uses it): a non-standard
    /// top-level `"delete": {"supported": true}` in `/ServiceProviderConfig`. Servers
    /// that omit it (Sales Navigator, most RFC 7644 servers) do not advertise DELETE.
    pub fn advertises_delete(raw: &serde_json::Value) -> bool {
        raw.get("delete")
            .and_then(|d| d.get("supported"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }
}

/// An error body as servers send it: either a SCIM error
/// (`{"schemas":[…Error],"status":"404","scimType":…,"detail":…}`, `status` a string or
/// a number) or a LinkedIn API error (`{"message":…,"serviceErrorCode":…,"status":…}`).
/// Every field is optional so that anything JSON-shaped parses.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default, deserialize_with = "lenient_status")]
    pub status: Option<u16>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub scim_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub detail: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub service_error_code: Option<String>,
}

impl ErrorBody {
    /// Parses `body` if it is a JSON object; `None` otherwise.
    pub fn parse(body: &[u8]) -> Option<ErrorBody> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value).ok()
    }

    /// The human-readable part: SCIM `detail`, else LinkedIn `message`, with the
    /// LinkedIn service error code appended when present.
    pub fn text(&self) -> Option<String> {
        let main = self
            .detail
            .as_deref()
            .or(self.message.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (main, self.service_error_code.as_deref()) {
            (Some(m), Some(code)) => Some(format!("{m} (serviceErrorCode {code})")),
            (Some(m), None) => Some(m.to_string()),
            (None, Some(code)) => Some(format!("serviceErrorCode {code}")),
            (None, None) => None,
        }
    }
}

fn lenient_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_error_with_string_or_number_status() {
        let b = ErrorBody::parse(
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad"}"#,
        )
        .unwrap();
        assert_eq!(b.status, Some(400));
        assert_eq!(b.scim_type.as_deref(), Some("invalidFilter"));
        assert_eq!(b.text().as_deref(), Some("bad"));
        let b = ErrorBody::parse(br#"{"status":404,"detail":"no such user"}"#).unwrap();
        assert_eq!(b.status, Some(404));
    }

    #[test]
    fn linkedin_error() {
        let b = ErrorBody::parse(
            br#"{"message":"Not enough permissions","serviceErrorCode":100,"status":403}"#,
        )
        .unwrap();
        assert_eq!(b.status, Some(403));
        assert_eq!(
            b.text().as_deref(),
            Some("Not enough permissions (serviceErrorCode 100)")
        );
    }

    #[test]
    fn non_objects_are_not_error_bodies() {
        assert!(ErrorBody::parse(b"<html>").is_none());
        assert!(ErrorBody::parse(b"[1,2]").is_none());
        assert!(ErrorBody::parse(b"").is_none());
        assert_eq!(ErrorBody::parse(b"{}").unwrap().text(), None);
    }

    #[test]
    fn user_parses_with_extras() {
        let u: ScimUser = serde_json::from_str(
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"a@x.com","active":false,"meta":{"resourceType":"User"}}"#,
        )
        .unwrap();
        assert_eq!(u.id.as_deref(), Some("u1"));
        assert!(!u.is_active());
        assert!(u.extra.contains_key("meta"));
    }

    #[test]
    fn new_user_resource() {
        let n = NewUser {
            user_name: "ada@x.com".into(),
            external_id: Some("e1".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            email: None,
        };
        let v = n.to_resource();
        assert_eq!(v["schemas"][0], USER_SCHEMA);
        assert_eq!(v["userName"], "ada@x.com");
        assert_eq!(v["externalId"], "e1");
        assert_eq!(v["name"]["givenName"], "Ada");
        assert_eq!(v["name"]["familyName"], "Lovelace");
        assert_eq!(v["displayName"], "Ada Lovelace");
        assert_eq!(v["emails"][0]["value"], "ada@x.com");
        assert_eq!(v["active"], true);
    }

    #[test]
    fn delete_convention() {
        assert!(ServiceProviderConfig::advertises_delete(
            &serde_json::json!({"delete": {"supported": true}})
        ));
        assert!(!ServiceProviderConfig::advertises_delete(
            &serde_json::json!({"patch": {"supported": true}})
        ));
        assert!(!ServiceProviderConfig::advertises_delete(
            &serde_json::json!({"delete": {"supported": "yes"}})
        ));
    }
}
