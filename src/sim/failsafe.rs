//! Fault modes for "fails safe and says so" (issue 14): a spent daily quota, far
//! `Retry-After`s (seconds and HTTP dates), failure storms, and error bodies that echo
//! the request headers (the bearer token) in several encodings.
//!
//! Each mode answers every `/Users` request (collection or single user, any method)
//! after the token check; `/ServiceProviderConfig` and `/_sim/stats` are left alone,
//! as a real quota or outage of the user API would. Kept apart from the simulator's
//! other knobs ([`FailsafeFaults`] is one field of [`super::SimConfig`], and
//! [`FailsafeArgs`] one flattened group of `navscim sim` flags).

use std::time::{Duration, SystemTime};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// How an echoed header block is written into the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EchoForm {
    /// As sent, in a JSON string (`/` left alone).
    Raw,
    /// JSON with `/` escaped as `\/` (what PHP's `json_encode` writes).
    JsonSlash,
    /// Percent-encoded, as a query string would carry it.
    Percent,
}

/// The fault modes of this module; all off by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailsafeFaults {
    /// The day's quota is spent: every `/Users` request is answered 429 with a
    /// LinkedIn-style JSON body (`serviceErrorCode`, `status`, `message`) and **no**
    /// `Retry-After`.
    pub daily_quota: bool,
    /// Every `/Users` request is answered 429 with `Retry-After: <seconds>`.
    pub retry_after_secs: Option<u64>,
    /// Every `/Users` request is answered 429 with `Retry-After: <HTTP date>` that
    /// many seconds ahead.
    pub retry_after_date_secs: Option<u64>,
    /// A failure storm: every `/Users` request is answered with this 5xx status and a
    /// SCIM error body (no `Retry-After`).
    pub storm_status: Option<u16>,
    /// Every `/Users` request is answered 400 with a body that quotes the request
    /// headers (the `Authorization` line included) in this form, after `echo_pad`
    /// characters of text, so the token can be placed across a snippet's cut.
    pub echo_headers: Option<EchoForm>,
    /// Characters of text before the echoed headers.
    pub echo_pad: usize,
}

impl FailsafeFaults {
    /// Whether any mode is on.
    pub fn any(&self) -> bool {
        *self != FailsafeFaults::default()
    }

    /// Checks the values: a storm status must be 500–599.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(s) = self.storm_status {
            if !(500..=599).contains(&s) {
                return Err(format!("the storm status must be 500–599, not {s}"));
            }
        }
        Ok(())
    }

    /// Words for the simulator's start-up summary.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.daily_quota {
            out.push("daily quota spent (429, no Retry-After)".to_string());
        }
        if let Some(s) = self.retry_after_secs {
            out.push(format!("429 with Retry-After: {s}"));
        }
        if let Some(s) = self.retry_after_date_secs {
            out.push(format!("429 with Retry-After as an HTTP date {s} s ahead"));
        }
        if let Some(s) = self.storm_status {
            out.push(format!("failure storm (every /Users request {s})"));
        }
        if let Some(f) = self.echo_headers {
            out.push(format!("error bodies echo the request headers ({f:?})"));
        }
        out
    }
}

/// `navscim sim` flags for [`FailsafeFaults`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FailsafeArgs {
    /// Answer every /Users request 429 with a LinkedIn-style body and no Retry-After
    /// (the day's quota is spent).
    #[arg(long)]
    pub daily_quota: bool,
    /// Answer every /Users request 429 with Retry-After: SECS.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub retry_after_secs: Option<u64>,
    /// Answer every /Users request 429 with Retry-After as an HTTP date SECS ahead.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub retry_after_date: Option<u64>,
    /// A failure storm: answer every /Users request with this 5xx status.
    #[arg(long, value_name = "STATUS", value_parser = clap::value_parser!(u16).range(500..=599))]
    pub storm: Option<u16>,
    /// Answer every /Users request 400 with a body that echoes the request headers
    /// (the bearer token included), in this form.
    #[arg(long, value_enum, value_name = "FORM")]
    pub echo_headers: Option<EchoForm>,
    /// Characters of text before the echoed headers.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub echo_pad: u64,
}

impl FailsafeArgs {
    pub fn to_faults(&self) -> FailsafeFaults {
        FailsafeFaults {
            daily_quota: self.daily_quota,
            retry_after_secs: self.retry_after_secs,
            retry_after_date_secs: self.retry_after_date,
            storm_status: self.storm,
            echo_headers: self.echo_headers,
            echo_pad: self.echo_pad as usize,
        }
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The answer a mode gives to a `/Users` request, if a mode is on.
pub(crate) fn answer(f: &FailsafeFaults, headers: &HeaderMap) -> Option<Response> {
    if let Some(form) = f.echo_headers {
        let mut block = String::new();
        for name in [header::AUTHORIZATION, header::USER_AGENT, header::ACCEPT] {
            if let Some(v) = headers.get(&name).and_then(|v| v.to_str().ok()) {
                block.push_str(&format!("{}: {v}\n", name.as_str()));
            }
        }
        let pad = "x".repeat(f.echo_pad);
        let body = match form {
            EchoForm::Raw => json!({
                "status": 400,
                "detail": format!("{pad} rejected; request headers were: {block}"),
            })
            .to_string(),
            EchoForm::JsonSlash => json!({
                "status": 400,
                "detail": format!("{pad} rejected; request headers were: {block}"),
            })
            .to_string()
            .replace('/', "\\/"),
            EchoForm::Percent => {
                let enc: String = percent_encoding::utf8_percent_encode(
                    &block,
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .to_string();
                json!({
                    "status": 400,
                    "detail": format!("{pad} rejected; echo={enc}"),
                })
                .to_string()
            }
        };
        return Some(json_response(StatusCode::BAD_REQUEST, body));
    }
    if let Some(status) = f.storm_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.as_u16().to_string(),
            "detail": "The user service is failing (failure storm injected by the simulator)",
        });
        return Some(json_response(status, body.to_string()));
    }
    let quota_body = || {
        json!({
            "serviceErrorCode": 101,
            "status": 429,
            "message": "Resource level throttle DAY limit for calls to this resource is reached.",
        })
        .to_string()
    };
    if f.daily_quota {
        return Some(json_response(StatusCode::TOO_MANY_REQUESTS, quota_body()));
    }
    let retry_after = if let Some(s) = f.retry_after_secs {
        Some(s.to_string())
    } else {
        f.retry_after_date_secs
            .map(|s| httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(s)))
    };
    if let Some(value) = retry_after {
        let mut r = json_response(StatusCode::TOO_MANY_REQUESTS, quota_body());
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Some(r);
    }
    None
}
