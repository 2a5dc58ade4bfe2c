//! Contract tests of the embedded Sales Navigator SCIM simulator, over real HTTP.

use std::time::{Duration, Instant};

use navscim::scim::model::ScimUser;
use navscim::sim::{self, SimConfig, SimHandle, SIM_EXTENSION_SCHEMA};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Excel-flavoured seed: BOM, CRLF, `;`, quoted fields, odd header case, tricky values.
const SEED: &str = "\u{feff}Invited_Email_Address;preferred_first_name;PREFERRED_LAST_NAME;unique_user_id;seat_id;sales_license_current_status;teamlink_extend_license_current_status;admin_permission;groups\r\n\
ann.lee@example.com;Ann;Lee;E100;S1;ACTIVE;ACTIVE;ADMIN;\"Sales; EMEA\"\r\n\
bob+sales@example.com;Bob;\"O'Brien, Jr\";\"q\"\"uote\\back+plus\";S2;pending;;;\r\n\
zoë@exämple.com;Zoë;Ørsted;É-200;S3;Inactive;;;\r\n\
Dup@Example.com;Dee;One;E300;S4;ACTIVE;;;\r\n\
dup@example.COM;Dee;Two;;S5;revoked;;;\r\n";

struct Sim {
    h: SimHandle,
    c: Client,
}

impl Sim {
    async fn new(cfg: SimConfig) -> Sim {
        let h = sim::start(cfg).await.expect("simulator starts");
        Sim {
            h,
            c: Client::new(),
        }
    }

    async fn seeded(mut cfg: SimConfig) -> Sim {
        cfg.seed_csv = Some(SEED.into());
        Sim::new(cfg).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.h.base_url(), path)
    }

    fn req(&self, m: Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(m, self.url(path))
            .bearer_auth(self.h.token())
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let r = rb.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON {e}: {text}"))
        };
        (status, v)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.req(Method::GET, path)).await
    }

    async fn filter(&self, f: &str) -> (StatusCode, Value) {
        self.send(self.req(Method::GET, "/Users").query(&[("filter", f)]))
            .await
    }

    async fn post(&self, body: Value) -> (StatusCode, Value) {
        self.send(self.req(Method::POST, "/Users").json(&body))
            .await
    }

    async fn patch(&self, id: &str, ops: Value) -> (StatusCode, Value) {
        let body = json!({"schemas": [PATCH], "Operations": ops});
        self.send(self.req(Method::PATCH, &format!("/Users/{id}")).json(&body))
            .await
    }

    async fn stats(&self) -> Value {
        let (s, v) = self.get("/_sim/stats").await;
        assert_eq!(s, 200);
        v
    }

    fn id_of(&self, user_name: &str) -> String {
        self.h
            .users()
            .into_iter()
            .find(|u| u.user_name == user_name)
            .and_then(|u| u.id)
            .expect("seeded user")
    }
}

fn assert_scim_error(v: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(v["schemas"], json!([ERROR]), "{v}");
    assert_eq!(v["status"], json!(status.to_string()), "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    if let Some(t) = scim_type {
        assert_eq!(v["scimType"], json!(t), "{v}");
    }
}

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

fn new_user(user_name: &str, external_id: Option<&str>) -> Value {
    let mut u = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "New", "familyName": "User"},
        "displayName": "New User",
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
    });
    if let Some(e) = external_id {
        u["externalId"] = json!(e);
    }
    u
}

#[tokio::test]
async fn auth_is_required() {
    let s = Sim::seeded(SimConfig::default()).await;
    let r = s.c.get(s.url("/Users/x")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_scim_error(&r.json().await.unwrap(), 401, None);

    for bad in ["wrong", "navscim-dem", "navscim-demo2"] {
        let r =
            s.c.get(s.url("/ServiceProviderConfig"))
                .bearer_auth(bad)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
    }
    let r = s.c.get(s.url("/_sim/stats")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r =
        s.c.get(s.url("/Users/x"))
            .basic_auth("navscim-demo", Some(""))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 401);
    // The right token works.
    assert_eq!(s.get("/ServiceProviderConfig").await.0, 200);
    s.h.shutdown().await;
}

#[tokio::test]
async fn listing_is_refused_by_default() {
    let s = Sim::seeded(SimConfig::default()).await;
    let (st, v) = s.get("/Users").await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("tooMany"));
    let (st, _) = s.get("/Users?startIndex=1&count=10").await;
    assert_eq!(st, 400);
    let (st, _) = s.filter("  ").await;
    assert_eq!(st, 400);
    s.h.shutdown().await;
}

#[tokio::test]
async fn listing_with_allow_list_paginates() {
    let s = Sim::new(SimConfig {
        allow_list: true,
        generate: 25,
        ..SimConfig::default()
    })
    .await;
    let (st, v) = s.get("/Users").await;
    assert_eq!(st, 200);
    assert_eq!(v["schemas"], json!([LIST]));
    assert_eq!(v["totalResults"], 25);
    assert_eq!(v["itemsPerPage"], 25);
    assert_eq!(v["startIndex"], 1);

    let (_, p1) = s.get("/Users?startIndex=1&count=10").await;
    let (_, p2) = s.get("/Users?startIndex=11&count=10").await;
    let (_, p3) = s.get("/Users?startIndex=21&count=10").await;
    let (_, p4) = s.get("/Users?startIndex=31&count=10").await;
    assert_eq!(p1["itemsPerPage"], 10);
    assert_eq!(p2["startIndex"], 11);
    assert_eq!(p3["itemsPerPage"], 5);
    assert_eq!(p4["itemsPerPage"], 0);
    assert_eq!(p4["totalResults"], 25);
    let mut all = user_names(&p1);
    all.extend(user_names(&p2));
    all.extend(user_names(&p3));
    let expected: Vec<String> = s.h.users().into_iter().map(|u| u.user_name).collect();
    assert_eq!(all, expected);
    let (_, z) = s.get("/Users?count=0").await;
    assert_eq!(z["totalResults"], 25);
    assert_eq!(z["itemsPerPage"], 0);

    // More filters in generic mode.
    let first = &s.h.users()[0];
    let fam = first.name.as_ref().unwrap().family_name.clone().unwrap();
    let (st, v) = s
        .filter(&format!(
            "name.familyName eq \"{}\" and userName co \"{}\"",
            fam.to_uppercase(),
            &first.user_name[..3]
        ))
        .await;
    assert_eq!(st, 200);
    assert!(user_names(&v).contains(&first.user_name));
    let (_, v) = s.filter("userName sw \"ZZZ\" or active eq false").await;
    let inactive = s.h.users().iter().filter(|u| !u.is_active()).count();
    assert!(inactive > 0);
    assert_eq!(v["totalResults"], inactive);
    let (_, v) = s
        .filter(&format!("id eq \"{}\"", first.id.as_ref().unwrap()))
        .await;
    assert_eq!(v["totalResults"], 1);
    let (_, v) = s.filter("emails.value ew \"example.org\"").await;
    assert!(user_names(&v).iter().all(|u| u.ends_with("example.org")));
    let (st, v) = s.filter("title eq \"x\"").await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("invalidFilter"));
    s.h.shutdown().await;
}

#[tokio::test]
async fn supported_filters() {
    let s = Sim::seeded(SimConfig::default()).await;
    // externalId: exact, with ", \ and + in the value.
    let (st, v) = s.filter(r#"externalId eq "q\"uote\\back+plus""#).await;
    assert_eq!(st, 200);
    assert_eq!(v["schemas"], json!([LIST]));
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["startIndex"], 1);
    assert_eq!(v["itemsPerPage"], 1);
    assert_eq!(user_names(&v), ["bob+sales@example.com"]);
    // externalId is case-sensitive.
    let (_, v) = s.filter(r#"externalId eq "e100""#).await;
    assert_eq!(v["totalResults"], 0);
    assert_eq!(v["Resources"], json!([]));
    let (_, v) = s.filter(r#"externalId eq "E100""#).await;
    assert_eq!(user_names(&v), ["ann.lee@example.com"]);
    // Non-ASCII, raw and escaped.
    let (_, v) = s.filter(r#"externalId eq "É-200""#).await;
    assert_eq!(v["totalResults"], 1);
    let (_, v) = s.filter(r#"externalId eq "\u00c9-200""#).await;
    assert_eq!(v["totalResults"], 1);
    // userName: case-insensitive, also for non-ASCII; + survives URL encoding.
    let (_, v) = s.filter(r#"userName eq "ANN.LEE@EXAMPLE.COM""#).await;
    assert_eq!(user_names(&v), ["ann.lee@example.com"]);
    let (_, v) = s.filter(r#"USERNAME EQ "ZOË@EXÄMPLE.COM""#).await;
    assert_eq!(user_names(&v), ["zoë@exämple.com"]);
    let (_, v) = s.filter(r#"userName eq "Bob+Sales@example.com""#).await;
    assert_eq!(user_names(&v), ["bob+sales@example.com"]);
    let (_, v) = s.filter(r#"userName eq "bob sales@example.com""#).await;
    assert_eq!(v["totalResults"], 0);
    // emails.value: case-insensitive; case-variant duplicates give several resources.
    let (_, v) = s.filter(r#"emails.value eq "dup@example.com""#).await;
    assert_eq!(v["totalResults"], 2);
    assert_eq!(user_names(&v), ["Dup@Example.com", "dup@example.COM"]);
    let (_, v) = s.filter(r#"userName eq "DUP@EXAMPLE.COM""#).await;
    assert_eq!(v["totalResults"], 2);
    let (_, v) = s.filter(r#"emails.value eq "nobody@example.com""#).await;
    assert_eq!(v["totalResults"], 0);

    // The seed mapped onto SCIM attributes.
    let (_, v) = s.filter(r#"userName eq "ann.lee@example.com""#).await;
    let u = &v["Resources"][0];
    assert_eq!(u["externalId"], "E100");
    assert_eq!(u["name"]["givenName"], "Ann");
    assert_eq!(u["name"]["familyName"], "Lee");
    assert_eq!(u["displayName"], "Ann Lee");
    assert_eq!(u["emails"][0]["value"], "ann.lee@example.com");
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(u["active"], true);
    let ext = &u[SIM_EXTENSION_SCHEMA];
    assert_eq!(ext["licenseAssigned"], true);
    assert_eq!(ext["licenseStatus"], "ACTIVE");
    assert_eq!(ext["seatId"], "S1");
    assert_eq!(ext["adminPermission"], "ADMIN");
    assert_eq!(ext["groups"], "Sales; EMEA");
    assert_eq!(u["meta"]["resourceType"], "User");
    // PENDING is active, Inactive/revoked are not; an empty unique_user_id → no externalId.
    let by = |n: &str| s.h.users().into_iter().find(|u| u.user_name == n).unwrap();
    assert!(by("bob+sales@example.com").is_active());
    assert_eq!(
        by("bob+sales@example.com")
            .name
            .unwrap()
            .family_name
            .unwrap(),
        "O'Brien, Jr"
    );
    assert!(!by("zoë@exämple.com").is_active());
    assert!(!by("dup@example.COM").is_active());
    assert_eq!(by("dup@example.COM").external_id, None);
    s.h.shutdown().await;
}

#[tokio::test]
async fn other_filters_are_invalid() {
    let s = Sim::seeded(SimConfig::default()).await;
    for f in [
        r#"displayName eq "Ann Lee""#,
        r#"userName co "ann""#,
        r#"userName sw "ann""#,
        r#"userName eq "ann.lee@example.com" and externalId eq "E100""#,
        r#"id eq "abc""#,
        r#"active eq true"#,
        r#"userName pr"#,
        r#"userName eq ann"#,
        r#"userName eq "unterminated"#,
        r#"userName eq "bad \q escape""#,
        r#"emails[type eq "work"].value eq "ann.lee@example.com""#,
        r#"title eq "x""#,
        "userName",
        "((",
    ] {
        let (st, v) = s.filter(f).await;
        assert_eq!(st, 400, "{f}");
        assert_scim_error(&v, 400, Some("invalidFilter"));
    }
    s.h.shutdown().await;
}

#[tokio::test]
async fn get_by_id_and_404() {
    let s = Sim::seeded(SimConfig::default()).await;
    let id = s.id_of("ann.lee@example.com");
    let (st, v) = s.get(&format!("/Users/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["userName"], "ann.lee@example.com");
    let meta = &v["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(
        meta["location"],
        json!(format!("{}/Users/{id}", s.h.base_url()))
    );
    assert!(meta["created"].as_str().unwrap().ends_with('Z'));
    assert!(meta["lastModified"].is_string());
    assert_eq!(meta["version"], "W/\"1\"");
    let u: ScimUser = serde_json::from_value(v).unwrap();
    assert_eq!(Some(u.clone()), s.h.user(&id));

    let (st, v) = s.get("/Users/does-not-exist").await;
    assert_eq!(st, 404);
    assert_scim_error(&v, 404, None);
    let (st, v) = s.get("/Nope").await;
    assert_eq!(st, 404);
    assert_scim_error(&v, 404, None);

    // Ids are deterministic: the same seed gives the same ids.
    let s2 = Sim::seeded(SimConfig::default()).await;
    assert_eq!(s2.id_of("ann.lee@example.com"), id);
    s.h.shutdown().await;
    s2.h.shutdown().await;
}

#[tokio::test]
async fn post_creates_and_refuses_duplicates() {
    let s = Sim::seeded(SimConfig::default()).await;
    let r = s
        .req(Method::POST, "/Users")
        .json(&new_user("carol@example.com", Some("E900")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(loc, format!("{}/Users/{id}", s.h.base_url()));
    assert_eq!(v["meta"]["location"], json!(loc));
    assert_eq!(v["userName"], "carol@example.com");
    assert_eq!(v["externalId"], "E900");
    assert_eq!(v["active"], true);
    assert_eq!(v[SIM_EXTENSION_SCHEMA]["licenseAssigned"], true);
    assert_eq!(v[SIM_EXTENSION_SCHEMA]["licenseStatus"], "PENDING");
    let (_, found) = s.filter(r#"externalId eq "E900""#).await;
    assert_eq!(found["Resources"][0]["id"], json!(id));

    for (body, what) in [
        (new_user("CAROL@Example.COM", None), "userName case variant"),
        (new_user("ann.lee@example.com", None), "seeded userName"),
        (new_user("other@example.com", Some("E900")), "externalId"),
        (
            new_user("other2@example.com", Some("E100")),
            "seeded externalId",
        ),
    ] {
        let (st, v) = s.post(body).await;
        assert_eq!(st, 409, "{what}");
        assert_scim_error(&v, 409, Some("uniqueness"));
    }
    // externalId is case-sensitive, so a case variant is a different one.
    let (st, _) = s.post(new_user("dave@example.com", Some("e900"))).await;
    assert_eq!(st, 201);

    // Bad bodies.
    let (st, v) = s.post(json!({"displayName": "no userName"})).await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("invalidValue"));
    let (st, v) = s
        .send(
            s.req(Method::POST, "/Users")
                .header("content-type", "application/scim+json")
                .body("{not json"),
        )
        .await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("invalidSyntax"));
    let st = s.stats().await;
    assert_eq!(st["changes"][&id], 1);
    s.h.shutdown().await;
}

#[tokio::test]
async fn seats_run_out_first_come_first_served() {
    let s = Sim::seeded(SimConfig {
        seats: Some(1),
        ..SimConfig::default()
    })
    .await;
    assert_eq!(s.h.seats_free(), Some(1));
    let (st, a) = s.post(new_user("first@example.com", None)).await;
    assert_eq!(st, 201);
    assert_eq!(a[SIM_EXTENSION_SCHEMA]["licenseAssigned"], true);
    let (st, b) = s.post(new_user("second@example.com", None)).await;
    assert_eq!(st, 201, "the user is created without a licence");
    assert_eq!(b[SIM_EXTENSION_SCHEMA]["licenseAssigned"], false);
    assert_eq!(b[SIM_EXTENSION_SCHEMA]["licenseStatus"], "UNASSIGNED");
    assert_eq!(s.h.seats_free(), Some(0));

    // Deactivating a seeded licensed user returns the seat; reactivating the
    // seatless user (deactivate, then activate) takes it.
    let ann = s.id_of("ann.lee@example.com");
    let (st, v) = s
        .patch(
            &ann,
            json!([{"op":"replace","path":"active","value":false}]),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v[SIM_EXTENSION_SCHEMA]["licenseStatus"], "REVOKED");
    assert_eq!(s.h.seats_free(), Some(1));
    let bid = b["id"].as_str().unwrap();
    s.patch(bid, json!([{"op":"replace","path":"active","value":false}]))
        .await;
    let (_, v) = s
        .patch(bid, json!([{"op":"replace","path":"active","value":true}]))
        .await;
    assert_eq!(v[SIM_EXTENSION_SCHEMA]["licenseAssigned"], true);
    assert_eq!(s.h.seats_free(), Some(0));
    // The licence extension is read-only.
    let (st, v) = s
        .patch(
            bid,
            json!([{"op":"replace","path":format!("{SIM_EXTENSION_SCHEMA}:licenseAssigned"),"value":true}]),
        )
        .await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("mutability"));
    s.h.shutdown().await;
}

#[tokio::test]
async fn patch_both_forms() {
    let s = Sim::seeded(SimConfig::default()).await;
    let id = s.id_of("ann.lee@example.com");
    // navscim's form.
    let (st, v) = s
        .patch(&id, json!([{"op":"replace","path":"active","value":false}]))
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["active"], false);
    assert_eq!(v["meta"]["version"], "W/\"2\"");
    assert!(!s.h.user(&id).unwrap().is_active());
    // Entra's form: capitalised op, no path, value object (string booleans too).
    let (st, v) = s
        .patch(&id, json!([{"op":"Replace","value":{"active":true}}]))
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["active"], true);
    let (_, v) = s
        .patch(&id, json!([{"op":"REPLACE","value":{"active":"False"}}]))
        .await;
    assert_eq!(v["active"], false);
    // Several attributes, dotted keys, filtered email path.
    let (st, v) = s
        .patch(
            &id,
            json!([
                {"op":"Add","value":{"name.givenName":"Annie","displayName":"Annie Lee"}},
                {"op":"replace","path":"emails[type eq \"work\"].value","value":"annie@example.com"},
                {"op":"replace","path":"externalId","value":"E101"},
            ]),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["name"]["givenName"], "Annie");
    assert_eq!(v["displayName"], "Annie Lee");
    assert_eq!(v["emails"][0]["value"], "annie@example.com");
    let (_, f) = s.filter(r#"emails.value eq "ANNIE@example.com""#).await;
    assert_eq!(f["totalResults"], 1);
    let (_, f) = s.filter(r#"externalId eq "E101""#).await;
    assert_eq!(f["totalResults"], 1);
    let (_, f) = s.filter(r#"externalId eq "E100""#).await;
    assert_eq!(f["totalResults"], 0);
    // Errors: unknown op, bad value, missing Operations, unknown user, uniqueness.
    let (st, v) = s
        .patch(
            &id,
            json!([{"op":"frobnicate","path":"active","value":true}]),
        )
        .await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("invalidSyntax"));
    let (st, v) = s
        .patch(
            &id,
            json!([{"op":"replace","path":"active","value":"maybe"}]),
        )
        .await;
    assert_eq!(st, 400);
    assert_scim_error(&v, 400, Some("invalidValue"));
    let (st, _) = s
        .send(
            s.req(Method::PATCH, &format!("/Users/{id}"))
                .json(&json!({"schemas":[PATCH]})),
        )
        .await;
    assert_eq!(st, 400);
    let (st, v) = s
        .patch(
            "nope",
            json!([{"op":"replace","path":"active","value":false}]),
        )
        .await;
    assert_eq!(st, 404);
    assert_scim_error(&v, 404, None);
    let (st, v) = s
        .patch(
            &id,
            json!([{"op":"replace","path":"userName","value":"BOB+SALES@example.com"}]),
        )
        .await;
    assert_eq!(st, 409);
    assert_scim_error(&v, 409, Some("uniqueness"));
    // Failed PATCHes changed nothing.
    assert_eq!(s.h.user(&id).unwrap().user_name, "ann.lee@example.com");
    s.h.shutdown().await;
}

#[tokio::test]
async fn put_replaces() {
    let s = Sim::seeded(SimConfig::default()).await;
    let id = s.id_of("ann.lee@example.com");
    let (st, v) = s
        .send(s.req(Method::PUT, &format!("/Users/{id}")).json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ann.lee@example.com",
            "name": {"givenName": "Ann", "familyName": "Lee-Smith"},
            "emails": [{"value": "ann.lee@example.com", "type": "work", "primary": true}],
            "active": false,
            "title": "Director",
        })))
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["name"]["familyName"], "Lee-Smith");
    assert_eq!(v["active"], false);
    assert_eq!(v["title"], "Director");
    assert!(
        v.get("externalId").is_none(),
        "PUT without externalId clears it"
    );
    assert!(v.get("displayName").is_none());
    assert_eq!(v["meta"]["version"], "W/\"2\"");
    let (st, _) = s
        .send(
            s.req(Method::PUT, "/Users/nope")
                .json(&new_user("x@example.com", None)),
        )
        .await;
    assert_eq!(st, 404);
    let (st, v) = s
        .send(
            s.req(Method::PUT, &format!("/Users/{id}"))
                .json(&new_user("zoë@exämple.com", None)),
        )
        .await;
    assert_eq!(st, 409);
    assert_scim_error(&v, 409, Some("uniqueness"));
    assert_eq!(s.stats().await["changes"][&id], 1);
    s.h.shutdown().await;
}

#[tokio::test]
async fn delete_refused_unless_allowed() {
    let s = Sim::seeded(SimConfig::default()).await;
    let id = s.id_of("ann.lee@example.com");
    let (st, v) = s.send(s.req(Method::DELETE, &format!("/Users/{id}"))).await;
    assert_eq!(st, 405);
    assert_scim_error(&v, 405, None);
    assert!(v["detail"].as_str().unwrap().contains("not supported"));
    assert!(s.h.user(&id).is_some());
    let (_, spc) = s.get("/ServiceProviderConfig").await;
    assert_eq!(spc["delete"], json!({"supported": false}));
    assert!(s.stats().await["changes"].get(&id).is_none());
    s.h.shutdown().await;

    let s = Sim::seeded(SimConfig {
        allow_delete: true,
        seats: Some(0),
        ..SimConfig::default()
    })
    .await;
    let (_, spc) = s.get("/ServiceProviderConfig").await;
    assert_eq!(spc["delete"], json!({"supported": true}));
    let r = s
        .req(Method::DELETE, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(s.h.user(&id).is_none());
    assert_eq!(s.h.seats_free(), Some(1), "the seat is freed");
    assert_eq!(s.get(&format!("/Users/{id}")).await.0, 404);
    let (st, _) = s.send(s.req(Method::DELETE, &format!("/Users/{id}"))).await;
    assert_eq!(st, 404);
    let (_, f) = s.filter(r#"userName eq "ann.lee@example.com""#).await;
    assert_eq!(f["totalResults"], 0);
    assert_eq!(s.stats().await["changes"][&id], 1);
    s.h.shutdown().await;
}

#[tokio::test]
async fn service_provider_config() {
    let s = Sim::new(SimConfig::default()).await;
    let (st, v) = s.get("/ServiceProviderConfig").await;
    assert_eq!(st, 200);
    assert_eq!(v["patch"]["supported"], true);
    assert_eq!(v["bulk"]["supported"], false);
    assert_eq!(v["filter"]["supported"], true);
    assert!(v["filter"]["maxResults"].as_u64().unwrap() > 0);
    assert_eq!(v["sort"]["supported"], false);
    assert_eq!(v["etag"]["supported"], false);
    assert_eq!(v["changePassword"]["supported"], false);
    let parsed: navscim::scim::model::ServiceProviderConfig = serde_json::from_value(v).unwrap();
    assert!(parsed.patch.supported && !parsed.bulk.supported);
    s.h.shutdown().await;
}

#[tokio::test]
async fn stats_count_requests_and_changes() {
    let s = Sim::seeded(SimConfig::default()).await;
    let st = s.stats().await;
    assert_eq!(
        st,
        json!({"requests":{"DELETE":0,"GET":0,"PATCH":0,"POST":0,"PUT":0},"throttled":0,"changes":{}})
    );
    let ann = s.id_of("ann.lee@example.com");
    let bob = s.id_of("bob+sales@example.com");
    s.get(&format!("/Users/{ann}")).await;
    s.filter(r#"userName eq "x@y.z""#).await;
    s.c.get(s.url("/Users/x")).send().await.unwrap(); // 401 still counts
    s.patch(
        &ann,
        json!([{"op":"replace","path":"active","value":false}]),
    )
    .await;
    s.patch(
        &ann,
        json!([{"op":"replace","path":"active","value":false}]),
    )
    .await; // no-op PATCH, still counted as a change
    s.patch(
        &bob,
        json!([{"op":"replace","path":"active","value":"nope"}]),
    )
    .await; // failed: not a change
    let (_, c) = s.post(new_user("new@example.com", None)).await;
    let new_id = c["id"].as_str().unwrap().to_string();
    s.post(new_user("new@example.com", None)).await; // 409: not a change
    s.send(
        s.req(Method::PUT, &format!("/Users/{new_id}"))
            .json(&new_user("new@example.com", None)),
    )
    .await;
    s.send(s.req(Method::DELETE, &format!("/Users/{bob}")))
        .await; // refused
    let st: sim::SimStats = serde_json::from_value(s.stats().await).unwrap();
    assert_eq!(st.requests["GET"], 3);
    assert_eq!(st.requests["PATCH"], 3);
    assert_eq!(st.requests["POST"], 2);
    assert_eq!(st.requests["PUT"], 1);
    assert_eq!(st.requests["DELETE"], 1);
    assert_eq!(st.throttled, 0);
    assert_eq!(st.changes.len(), 2, "{:?}", st.changes);
    assert_eq!(st.changes[&ann], 2);
    assert_eq!(st.changes[&new_id], 2);
    assert_eq!(st, s.h.stats());
    s.h.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let s = Sim::seeded(SimConfig {
        rate_limit: Some(0.01), // one request, then a token every 100 s
        ..SimConfig::default()
    })
    .await;
    assert_eq!(s.get("/ServiceProviderConfig").await.0, 200);
    let mut bodies = Vec::new();
    for _ in 0..4 {
        let r = s
            .req(Method::GET, "/ServiceProviderConfig")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let ra: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        // Capacity returns in (just under) 100 s: whole seconds, rounded up.
        assert!((99..=100).contains(&ra), "{ra}");
        bodies.push(r.json::<Value>().await.unwrap());
    }
    // Alternating shapes: SCIM error, LinkedIn API error.
    assert_scim_error(&bodies[0], 429, None);
    assert_eq!(bodies[1]["status"], 429);
    assert!(bodies[1]["serviceErrorCode"].as_u64().is_some());
    assert!(bodies[1]["message"].is_string());
    assert_scim_error(&bodies[2], 429, None);
    assert_eq!(bodies[3]["status"], 429);
    let st = s.stats().await; // stats are exempt from the limit
    assert_eq!(st["throttled"], 4);
    assert_eq!(st["requests"]["GET"], 5);
    s.h.shutdown().await;

    let s = Sim::new(SimConfig {
        rate_limit: Some(0.01),
        retry_after: false,
        ..SimConfig::default()
    })
    .await;
    s.get("/ServiceProviderConfig").await;
    let r = s
        .req(Method::GET, "/ServiceProviderConfig")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    s.h.shutdown().await;
}

#[tokio::test]
async fn fail_rate_one_gives_only_5xx_and_no_effect() {
    let s = Sim::seeded(SimConfig {
        fail_rate: 1.0,
        ..SimConfig::default()
    })
    .await;
    let id = s.id_of("ann.lee@example.com");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let r = s
            .req(Method::GET, &format!("/Users/{id}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_server_error(), "{}", r.status());
        seen.insert(r.status().as_u16());
    }
    assert!(seen.iter().all(|c| [500, 502, 503].contains(c)));
    assert!(seen.len() > 1, "a mix of 5xx: {seen:?}");
    let r = s
        .req(Method::PATCH, &format!("/Users/{id}"))
        .json(&navscim::scim::model::PatchOp::set_active(false))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_server_error());
    assert!(s.h.user(&id).unwrap().is_active());
    assert!(s.stats().await["changes"].as_object().unwrap().is_empty());
    s.h.shutdown().await;
}

#[tokio::test]
async fn malformed_rate_one_gives_unparsable_bodies() {
    let s = Sim::seeded(SimConfig {
        malformed_rate: 1.0,
        ..SimConfig::default()
    })
    .await;
    for _ in 0..10 {
        let r = s
            .req(Method::GET, "/Users")
            .query(&[("filter", r#"userName eq "ann.lee@example.com""#)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    s.h.shutdown().await;
}

#[tokio::test]
async fn drop_rate_one_gives_connection_errors() {
    let s = Sim::seeded(SimConfig {
        drop_rate: 1.0,
        ..SimConfig::default()
    })
    .await;
    let id = s.id_of("ann.lee@example.com");
    for _ in 0..5 {
        let res = s.req(Method::GET, &format!("/Users/{id}")).send().await;
        let err = match res {
            Err(e) => e,
            Ok(r) => panic!("expected a connection error, got {}", r.status()),
        };
        assert!(!err.is_status(), "{err:?}");
    }
    let res = s
        .req(Method::PATCH, &format!("/Users/{id}"))
        .json(&navscim::scim::model::PatchOp::set_active(false))
        .send()
        .await;
    assert!(res.is_err());
    assert!(
        s.h.user(&id).unwrap().is_active(),
        "a dropped request has no effect"
    );
    let st = s.stats().await;
    assert_eq!(st["requests"]["GET"], 5);
    assert_eq!(st["requests"]["PATCH"], 1);
    s.h.shutdown().await;
}

#[tokio::test]
async fn latency_is_applied() {
    let s = Sim::seeded(SimConfig {
        latency: Duration::from_millis(120),
        jitter: Duration::from_millis(30),
        ..SimConfig::default()
    })
    .await;
    for _ in 0..3 {
        let t = Instant::now();
        let (st, _) = s.get("/ServiceProviderConfig").await;
        assert_eq!(st, 200);
        assert!(
            t.elapsed() >= Duration::from_millis(120),
            "{:?}",
            t.elapsed()
        );
    }
    // Stats are not delayed (no upper bound asserted, just that they work).
    s.stats().await;
    s.h.shutdown().await;
}

#[tokio::test]
async fn faults_are_repeatable_for_a_random_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let s = Sim::new(SimConfig {
            fail_rate: 0.5,
            malformed_rate: 0.3,
            random_seed: seed,
            ..SimConfig::default()
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..40 {
            let r = s
                .req(Method::GET, "/ServiceProviderConfig")
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            let ok_json = serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_ok();
            out.push(if st == 200 && !ok_json { 1 } else { st });
        }
        s.h.shutdown().await;
        out
    }
    let a = run(1).await;
    assert_eq!(a, run(1).await);
    assert_ne!(a, run(2).await);
    assert!(a.contains(&200) && a.contains(&1) && a.iter().any(|&c| c >= 500));
}

#[tokio::test]
async fn generated_users_and_seed_errors() {
    let s = Sim::seeded(SimConfig {
        generate: 50,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(s.h.user_count(), 55);
    let users = s.h.users();
    assert_eq!(users[0].user_name, "ann.lee@example.com", "seed first");
    let generated = &users[5..];
    assert!(generated.iter().any(|u| !u.is_active()));
    assert!(generated.iter().all(|u| u.id.is_some() && u.name.is_some()));
    let g = &generated[0];
    let (_, v) = s.filter(&format!("userName eq \"{}\"", g.user_name)).await;
    assert_eq!(v["totalResults"], 1);
    s.h.shutdown().await;

    let bad = "invited_email_address;unique_user_id\r\nok@example.com;1\r\nnot-an-email;2\r\n";
    let err = sim::start(SimConfig {
        seed_csv: Some(bad.into()),
        ..SimConfig::default()
    })
    .await
    .err()
    .expect("bad seed is refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    let msg = err.to_string();
    assert!(
        msg.contains("line 3") && msg.contains("invited_email_address"),
        "{msg}"
    );

    let err = sim::start(SimConfig {
        seed_csv: Some("email;name\r\na@b.c;x\r\n".into()),
        ..SimConfig::default()
    })
    .await
    .err()
    .expect("missing column is refused");
    assert!(err.to_string().contains("invited_email_address"), "{err}");

    let err = sim::start(SimConfig {
        fail_rate: 1.5,
        ..SimConfig::default()
    })
    .await
    .err()
    .expect("bad knob");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_are_counted_exactly_once() {
    let s = Sim::new(SimConfig {
        generate: 300,
        ..SimConfig::default()
    })
    .await;
    let ids: Vec<String> = s.h.users().into_iter().filter_map(|u| u.id).collect();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let rb = s
                .req(Method::PATCH, &format!("/Users/{id}"))
                .json(&navscim::scim::model::PatchOp::set_active(false));
            tokio::spawn(async move { rb.send().await.map(|r| r.status()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    let st = s.h.stats();
    assert_eq!(st.requests["PATCH"], ids.len() as u64);
    assert_eq!(st.changes.len(), ids.len());
    assert!(st.changes.values().all(|&n| n == 1));
    assert!(s.h.users().iter().all(|u| !u.is_active()));
    s.h.shutdown().await;
}

#[tokio::test]
async fn rate_limit_retry_after_reflects_refill() {
    let s = Sim::new(SimConfig {
        rate_limit: Some(0.5), // a token every 2 s
        ..SimConfig::default()
    })
    .await;
    assert_eq!(s.get("/ServiceProviderConfig").await.0, 200);
    let r = s
        .req(Method::GET, "/ServiceProviderConfig")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let ra: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&ra), "{ra}");
    s.h.shutdown().await;
}
