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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
