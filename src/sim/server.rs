//! The HTTP side of the simulator: routing, auth, fault injection, rate limiting,
//! statistics. One fallback handler does the routing by hand so that every answer,
//! including malformed requests, is a SCIM error rather than an axum default.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

use super::filter::{self, Attr, Expr, Op, Value as FValue};
use super::store::{validate_filter, Store, StoreError, UserInput, UserRecord};
use super::{Fault, SimConfig, SimStats};
use crate::scim::model::{ERROR_SCHEMA, LIST_SCHEMA};

/// `filter.maxResults` in `/ServiceProviderConfig`, and the default page size.
pub const MAX_RESULTS: usize = 200;
const SCIM_JSON: &str = "application/scim+json";
const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];
const MAX_BODY: usize = 1 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Token bucket: `rate` tokens a second, holding at most one second's worth.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    cap: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Bucket {
        let cap = rate.max(1.0);
        Bucket {
            rate,
            cap,
            tokens: cap,
            last: Instant::now(),
        }
    }

    /// `Ok` when the request may pass; otherwise how long until a token is back.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.cap);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// Wakes delayed requests at their deadline, never before it and within a fraction of
/// a millisecond after it.
///
/// `tokio::time::sleep` works in whole milliseconds and, on a busy machine, wakes
/// later still: on the 2-core bench machine a 20 ms sleep lasted 21.8-22.6 ms on
/// average, so a benchmark of a client against "20 ms latency" measured the
/// simulator's timer as much as the client. Here one thread per simulator (started at
/// the first delayed request, ended when the simulator is dropped) keeps the
/// deadlines in a heap and waits on a condition variable with a timeout, which the
/// OS honours to tens of microseconds; the request's task then wakes through a
/// oneshot channel.
struct Timer {
    shared: Arc<TimerShared>,
    started: std::sync::Once,
}

#[derive(Default)]
struct TimerShared {
    queue: Mutex<TimerQueue>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct TimerQueue {
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, u64)>>,
    waiting: HashMap<u64, tokio::sync::oneshot::Sender<()>>,
    next: u64,
    stop: bool,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            shared: Arc::default(),
            started: std::sync::Once::new(),
        }
    }

    async fn sleep_until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        self.started.call_once(|| {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("navscim-sim-timer".into())
                .spawn(move || run_timer(&shared));
            if spawned.is_err() {
                // No thread: every sleeper falls back to tokio's timer below.
                lock(&self.shared.queue).stop = true;
            }
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = {
            let mut q = lock(&self.shared.queue);
            if q.stop {
                false
            } else {
                let id = q.next;
                q.next += 1;
                q.waiting.insert(id, tx);
                q.heap.push(std::cmp::Reverse((at, id)));
                true
            }
        };
        if !queued {
            tokio::time::sleep_until(at.into()).await;
            return;
        }
        self.shared.changed.notify_one();
        // The sender is dropped only when the timer stops: then no wait at all.
        let _ = rx.await;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        lock(&self.shared.queue).stop = true;
        self.shared.changed.notify_one();
    }
}

fn run_timer(shared: &TimerShared) {
    let mut q = lock(&shared.queue);
    loop {
        if q.stop {
            q.waiting.clear();
            return;
        }
        let now = Instant::now();
        match q.heap.peek().map(|e| e.0) {
            Some((at, id)) if at <= now => {
                q.heap.pop();
                if let Some(tx) = q.waiting.remove(&id) {
                    let _ = tx.send(());
                }
            }
            Some((at, _)) => {
                q = shared
                    .changed
                    .wait_timeout(q, at - now)
                    .map(|(q, _)| q)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            None => {
                q = shared.changed.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// State shared by every request.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub base_url: String,
    pub store: RwLock<Store>,
    rng: Mutex<fastrand::Rng>,
    bucket: Option<Mutex<Bucket>>,
    requests: [AtomicU64; 5],
    throttled: AtomicU64,
    /// Requests that were given latency, and the time from their arrival to the end
    /// of that latency, summed (what the simulator actually waited).
    delayed: AtomicU64,
    delayed_nanos: AtomicU64,
    timer: Timer,
    changes: Mutex<HashMap<String, u64>>,
}

impl Shared {
    pub fn new(config: SimConfig, base_url: String, store: Store) -> Shared {
        Shared {
            rng: Mutex::new(fastrand::Rng::with_seed(config.random_seed)),
            bucket: config.rate_limit.map(|r| Mutex::new(Bucket::new(r))),
            config,
            base_url,
            store: RwLock::new(store),
            requests: Default::default(),
            throttled: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            delayed_nanos: AtomicU64::new(0),
            timer: Timer::new(),
            changes: Mutex::new(HashMap::new()),
        }
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests given latency so far, and the time the simulator actually held them
    /// (arrival to the end of the latency), summed.
    pub(crate) fn delay_totals(&self) -> (u64, Duration) {
        (
            self.delayed.load(Ordering::Relaxed),
            Duration::from_nanos(self.delayed_nanos.load(Ordering::Relaxed)),
        )
    }

    pub fn stats(&self) -> SimStats {
        SimStats {
            requests: METHODS
                .iter()
                .zip(&self.requests)
                .map(|(m, n)| (m.to_string(), n.load(Ordering::Relaxed)))
                .collect(),
            throttled: self.throttled.load(Ordering::Relaxed),
            changes: lock(&self.changes)
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        }
    }

    pub fn rename(
        &self,
        id: &str,
        user_name: Option<&str>,
        external_id: Option<Option<&str>>,
    ) -> bool {
        self.write().rename(id, user_name, external_id)
    }

    fn fault(&self, f: Fault) -> bool {
        self.config.faults.contains(&f)
    }

    fn changed(&self, id: &str) {
        *lock(&self.changes).entry(id.to_string()).or_insert(0) += 1;
    }
}

/// Random choices for one request, always drawn in the same order so a run with the
/// same `random_seed` and the same sequence of requests behaves the same.
struct Draw {
    jitter: f64,
    drop: f64,
    fail: f64,
    malformed: f64,
    variant: u8,
}

fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    scim_json(status, &body)
}

fn scim_json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).expect("serialisable");
    (status, [(header::CONTENT_TYPE, SCIM_JSON)], bytes).into_response()
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound(id) => scim_error(
            StatusCode::NOT_FOUND,
            None,
            &format!("Resource {id} not found"),
        ),
        StoreError::Uniqueness(d) => scim_error(StatusCode::CONFLICT, Some("uniqueness"), &d),
        StoreError::Bad { scim_type, detail } => {
            scim_error(StatusCode::BAD_REQUEST, Some(scim_type), &detail)
        }
    }
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = scim_error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        &format!("Method not allowed here; allowed: {allow}"),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Constant-time comparison of the presented token with the configured one.
fn token_ok(headers: &HeaderMap, token: &str) -> bool {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, presented)) = v.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let (a, b) = (presented.trim().as_bytes(), token.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

fn unauthorized() -> Response {
    let mut r = scim_error(
        StatusCode::UNAUTHORIZED,
        None,
        "Missing or invalid bearer token",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"navscim-sim\""),
    );
    r
}

fn throttled(s: &Shared, wait: Duration) -> Response {
    let n = s.throttled.fetch_add(1, Ordering::Relaxed) + 1;
    let detail = "Too many requests: the simulator's rate limit was exceeded";
    let mut r = if n % 2 == 1 {
        scim_error(StatusCode::TOO_MANY_REQUESTS, None, detail)
    } else {
        let body = json!({
            "message": "Resource level throttle APPLICATION limit for calls to this resource is reached.",
            "serviceErrorCode": 101,
            "status": 429,
        });
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    };
    if s.config.retry_after {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// A response whose body fails at once: hyper aborts the connection before the
/// status line leaves, so the client sees a connection error.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("navscim sim: dropped connection"))
    });
    Response::new(Body::from_stream(stream))
}

fn failure(variant: u8) -> Response {
    match variant % 3 {
        0 => scim_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "Internal server error (injected by the simulator)",
        ),
        1 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        _ => scim_error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "Service unavailable (injected by the simulator)",
        ),
    }
}

fn malformed(variant: u8) -> Response {
    let body: &'static str = match variant % 3 {
        0 => "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"totalResults\":1,\"Resources\":[{\"id\":\"",
        1 => "<html><body>Request accepted</body></html>",
        _ => "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":}",
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, SCIM_JSON)], body).into_response()
}

/// The single entry point for every request.
pub(crate) async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    // The latency is counted from here, so the work before the sleep is part of it.
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let Some(rest) = path.strip_prefix("/scim") else {
        return scim_error(
            StatusCode::NOT_FOUND,
            None,
            "Not found: SCIM resources live under /scim",
        );
    };
    let rest = rest.trim_end_matches('/');

    if rest == "/_sim/stats" {
        if !token_ok(&parts.headers, &s.config.token) {
            return unauthorized();
        }
        if parts.method != Method::GET {
            return method_not_allowed("GET");
        }
        return (StatusCode::OK, axum::Json(s.stats())).into_response();
    }

    if let Some(i) = METHODS.iter().position(|m| *m == parts.method.as_str()) {
        s.requests[i].fetch_add(1, Ordering::Relaxed);
    }

    let throttle = s
        .bucket
        .as_ref()
        .and_then(|b| lock(b).take(Instant::now()).err());

    let d = {
        let mut rng = lock(&s.rng);
        Draw {
            jitter: rng.f64(),
            drop: rng.f64(),
            fail: rng.f64(),
            malformed: rng.f64(),
            variant: rng.u8(..),
        }
    };
    let delay = s.config.latency + s.config.jitter.mul_f64(d.jitter);
    if !delay.is_zero() {
        // A deadline fixed at arrival, so the work before the sleep is part of the
        // latency; see `Timer` for why not `tokio::time::sleep`.
        s.timer.sleep_until(arrived + delay).await;
        s.delayed.fetch_add(1, Ordering::Relaxed);
        s.delayed_nanos.fetch_add(
            u64::try_from(arrived.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
    if let Some(wait) = throttle {
        return throttled(&s, wait);
    }
    if !token_ok(&parts.headers, &s.config.token) {
        return unauthorized();
    }
    // Quota, Retry-After, storm and echo modes: every /Users request, no effect.
    if s.config.failsafe.any()
        && rest
            .split('/')
            .nth(1)
            .is_some_and(|seg| seg.eq_ignore_ascii_case("Users"))
    {
        if let Some(r) = super::failsafe::answer(&s.config.failsafe, &parts.headers) {
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                s.throttled.fetch_add(1, Ordering::Relaxed);
            }
            return r;
        }
    }
    // Injected faults are decided before the request is handled: a failed, dropped
    // or malformed answer means the request had no effect.
    if d.drop < s.config.drop_rate {
        return dropped();
    }
    if d.fail < s.config.fail_rate {
        return failure(d.variant);
    }
    if d.malformed < s.config.malformed_rate {
        return malformed(d.variant);
    }

    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return scim_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                "Request body too large or unreadable",
            )
        }
    };
    let segs: Vec<&str> = rest.split('/').skip(1).collect();
    let query = parts.uri.query().unwrap_or("");
    if s.fault(Fault::HtmlAnswers)
        && segs
            .first()
            .is_some_and(|u| u.eq_ignore_ascii_case("Users"))
    {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>",
        )
            .into_response();
    }
    match segs.as_slice() {
        [u] if u.eq_ignore_ascii_case("Users") => match parts.method {
            Method::GET => list_users(&s, query),
            Method::POST => create_user(&s, &bytes),
            _ => method_not_allowed("GET, POST"),
        },
        [u, id] if u.eq_ignore_ascii_case("Users") && !id.is_empty() => {
            let id = percent_decode(id);
            match parts.method {
                Method::GET => get_user(&s, &id),
                Method::PATCH => patch_user(&s, &id, &bytes),
                Method::PUT => put_user(&s, &id, &bytes),
                Method::DELETE => delete_user(&s, &id),
                _ => method_not_allowed("GET, PATCH, PUT, DELETE"),
            }
        }
        [c] if c.eq_ignore_ascii_case("ServiceProviderConfig") => match parts.method {
            Method::GET => service_provider_config(&s),
            _ => method_not_allowed("GET"),
        },
        _ => scim_error(
            StatusCode::NOT_FOUND,
            None,
            &format!("No resource at {path}"),
        ),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn parse_json(bytes: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            &format!("The body is not valid JSON: {e}"),
        ))
    })
}

/// A user in wire form, with the value-level faults applied
/// ([`Fault::ActiveAsString`], [`Fault::NumericId`]).
fn wire_user(s: &Shared, rec: &super::store::UserRecord) -> Value {
    let mut v = serde_json::to_value(rec.to_scim(&s.base_url)).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        if s.fault(Fault::ActiveAsString) {
            if let Some(Value::Bool(b)) = m.get("active").cloned() {
                m.insert(
                    "active".into(),
                    Value::String(if b { "True" } else { "False" }.into()),
                );
            }
        }
        if s.fault(Fault::NumericId) {
            if let Some(n) = m
                .get("id")
                .and_then(Value::as_str)
                .filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|i| i.parse::<u64>().ok())
            {
                m.insert("id".into(), json!(n));
            }
        }
    }
    v
}

fn user_response(s: &Shared, status: StatusCode, rec: &super::store::UserRecord) -> Response {
    let user = wire_user(s, rec);
    let mut r = scim_json(status, &user);
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/Users/{}", s.base_url, rec.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    r
}

/// Whether the Sales Navigator mode (no listing) accepts this filter.
fn sales_navigator_filter(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Cmp {
            attr: Attr::ExternalId | Attr::UserName | Attr::EmailsValue,
            op: Op::Eq,
            value: FValue::Str(_),
        }
    )
}

fn list_users(s: &Shared, query: &str) -> Response {
    let mut filter_text = None;
    let mut start_index = 1usize;
    let mut count = MAX_RESULTS;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k.eq_ignore_ascii_case("filter") {
            filter_text = Some(v.into_owned());
        } else if k.eq_ignore_ascii_case("startIndex") {
            match v.trim().parse::<i64>() {
                Ok(n) => start_index = n.max(1) as usize,
                Err(_) => {
                    return scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidValue"),
                        "startIndex must be an integer",
                    )
                }
            }
        } else if k.eq_ignore_ascii_case("count") {
            match v.trim().parse::<i64>() {
                Ok(n) => count = n.clamp(0, MAX_RESULTS as i64) as usize,
                Err(_) => {
                    return scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidValue"),
                        "count must be an integer",
                    )
                }
            }
        }
    }
    let ignore_filter = s.fault(Fault::FilterIgnored);
    if ignore_filter {
        count = count.min(s.config.page_size.unwrap_or(MAX_RESULTS));
    }
    let expr = match filter_text.as_deref().map(str::trim) {
        _ if ignore_filter => None,
        None | Some("") => {
            if !s.config.allow_list {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("tooMany"),
                    "Listing users is not supported: look users up one by one with a filter \
                     (externalId eq \"…\", userName eq \"…\" or emails.value eq \"…\")",
                );
            }
            None
        }
        Some(f) => {
            let parsed = filter::parse(f).and_then(|e| validate_filter(&e).map(|_| e));
            let e = match parsed {
                Ok(e) => e,
                Err(err) => {
                    return scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidFilter"),
                        &format!("Invalid filter: {err}"),
                    )
                }
            };
            if !s.config.allow_list && !sales_navigator_filter(&e) {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "Unsupported filter: only externalId eq \"…\", userName eq \"…\" and \
                     emails.value eq \"…\" are supported",
                );
            }
            Some(e)
        }
    };
    let resources: Vec<_>;
    let total;
    {
        let store = s.read();
        let mut hits = store.matching(expr.as_ref());
        if s.fault(Fault::CaseSensitiveFilter) {
            if let Some(Expr::Cmp {
                attr: attr @ (Attr::UserName | Attr::EmailsValue),
                op: Op::Eq,
                value: FValue::Str(want),
            }) = expr.as_ref()
            {
                hits.retain(|&i| {
                    store.at(i).is_some_and(|u| match attr {
                        Attr::UserName => u.user_name == *want,
                        _ => u.emails.iter().any(|e| e.value == *want),
                    })
                });
            }
        }
        total = hits.len();
        resources = hits
            .iter()
            .skip(start_index - 1)
            .take(count)
            .filter_map(|&i| store.at(i).cloned())
            .collect();
    }
    let users: Vec<Value> = resources.iter().map(|r| wire_user(s, r)).collect();
    let names: [&str; 4] = if s.fault(Fault::ResourcesLowercase) {
        ["totalresults", "startindex", "itemsperpage", "resources"]
    } else if s.fault(Fault::ResourcesUppercase) {
        ["TOTALRESULTS", "STARTINDEX", "ITEMSPERPAGE", "RESOURCES"]
    } else {
        ["totalResults", "startIndex", "itemsPerPage", "Resources"]
    };
    let mut body = serde_json::Map::new();
    body.insert("schemas".into(), json!([LIST_SCHEMA]));
    body.insert(names[0].into(), json!(total));
    body.insert(names[1].into(), json!(start_index));
    body.insert(names[2].into(), json!(users.len()));
    if !s.fault(Fault::TotalWithoutResources) {
        body.insert(names[3].into(), Value::Array(users));
    }
    scim_json(StatusCode::OK, &Value::Object(body))
}

fn get_user(s: &Shared, id: &str) -> Response {
    let rec = s.read().get(id).cloned();
    match rec {
        Some(r) if s.fault(Fault::IdMissing) => {
            let mut user = wire_user(s, &r);
            if let Value::Object(m) = &mut user {
                m.remove("id");
            }
            scim_json(StatusCode::OK, &user)
        }
        Some(r) => user_response(s, StatusCode::OK, &r),
        None => store_error(StoreError::NotFound(id.to_string())),
    }
}

/// A POST or PUT body as a user, or the SCIM error answer to send instead.
fn user_input(bytes: &Bytes) -> Result<UserInput, Box<Response>> {
    let v = parse_json(bytes)?;
    UserInput::from_json(v).map_err(|e| Box::new(store_error(e)))
}

fn create_user(s: &Shared, bytes: &Bytes) -> Response {
    let input = match user_input(bytes) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let res = s.write().create(input, Utc::now());
    written(s, StatusCode::CREATED, res)
}

/// The answer to a write: the user as stored (and its change announced to watchers),
/// or the store's refusal as a SCIM error.
fn written(s: &Shared, status: StatusCode, res: Result<UserRecord, StoreError>) -> Response {
    match res {
        Ok(rec) => {
            s.changed(&rec.id);
            user_response(s, status, &rec)
        }
        Err(e) => store_error(e),
    }
}

fn patch_user(s: &Shared, id: &str, bytes: &Bytes) -> Response {
    if s.fault(Fault::NoOpPatch) && s.read().get(id).is_some() {
        return StatusCode::NO_CONTENT.into_response();
    }
    if s.fault(Fault::NotFoundAfterRead) {
        return store_error(StoreError::NotFound(id.to_string()));
    }
    let v = match parse_json(bytes) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let ops = v
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
        .map(|(_, v)| v);
    let Some(Value::Array(ops)) = ops else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "A PatchOp body needs an Operations array",
        );
    };
    let res = s.write().patch(id, ops, Utc::now());
    written(s, StatusCode::OK, res)
}

fn put_user(s: &Shared, id: &str, bytes: &Bytes) -> Response {
    let input = match user_input(bytes) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let res = s.write().replace(id, input, Utc::now());
    written(s, StatusCode::OK, res)
}

fn delete_user(s: &Shared, id: &str) -> Response {
    if !s.config.allow_delete {
        let mut r = scim_error(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "Deleting users is not supported: deactivate them with PATCH active=false",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, PATCH, PUT"));
        return r;
    }
    let res = s.write().delete(id);
    match res {
        Ok(()) => {
            s.changed(id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => store_error(e),
    }
}

fn service_provider_config(s: &Shared) -> Response {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/navscim/navscim/blob/main/DESIGN.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token generated in Account Center",
            "primary": true,
        }],
        "delete": {"supported": s.config.allow_delete},
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", s.base_url),
        },
    });
    scim_json(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills() {
        let mut b = Bucket::new(2.0);
        let t0 = b.last;
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        let wait = b.take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-6);
        assert!(b.take(t0 + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn token_check() {
        let mut h = HeaderMap::new();
        assert!(!token_ok(&h, "t"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert!(token_ok(&h, "t"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer tt"));
        assert!(!token_ok(&h, "t"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic t"));
        assert!(!token_ok(&h, "t"));
    }

    #[test]
    fn decode_ids() {
        assert_eq!(percent_decode("abc%20d"), "abc d");
        assert_eq!(percent_decode("a+b"), "a+b");
    }
}
