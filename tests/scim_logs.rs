//! The token never reaches a log line: every `tracing` event (and every `log` record
//! of the HTTP stack, through tracing-log) at TRACE level is captured while the
//! client meets errors, retries and a hostile server that echoes the token.
//!
//! Its own test binary, because it installs the process-wide subscriber.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use navscim::scim::{ClientConfig, Filter, FilterAttr, NewUser, ScimClient};
use navscim::secret::Token;
use tracing_subscriber::fmt::MakeWriter;

const TOKEN: &str = "log-test-T0KEN-5e5e5e";

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

#[tokio::test]
async fn token_never_reaches_the_logs() {
    let buf = Buf::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buf.clone())
        .try_init()
        .unwrap();

    // Echoes the Authorization header in bodies and headers; answers by path.
    let app = axum::Router::new().fallback(|req: Request| async move {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let path = req.uri().path().to_string();
        let body = format!(r#"{{"detail":"got {auth}","status":"400"}}"#);
        if path.ends_with("/e401") {
            (StatusCode::UNAUTHORIZED, body).into_response()
        } else if path.ends_with("/e503") {
            (StatusCode::SERVICE_UNAVAILABLE, [("x-echo", auth)], body).into_response()
        } else if path.ends_with("/e429") {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], body).into_response()
        } else if path.ends_with("/e302") {
            (
                StatusCode::FOUND,
                [("location", format!("http://x/?{auth}"))],
            )
                .into_response()
        } else {
            (StatusCode::OK, format!(r#"{{"id":"{auth}"#)).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut cfg = ClientConfig::new(format!("http://{addr}/scim"), Token::new(TOKEN));
    cfg.max_retries = 2;
    cfg.backoff_base = Duration::from_millis(1);
    cfg.backoff_max = Duration::from_millis(5);
    let c = ScimClient::new(cfg.clone()).unwrap();
    for id in ["e401", "e503", "e429", "e302", "malformed"] {
        let err = c.get_user(id).await.unwrap_err();
        tracing::error!(error = %err, debug = ?err, "logged by a caller");
    }
    let f = Filter::eq(FilterAttr::UserName, "a@example.com").unwrap();
    let _ = c.find_users(&f).await;
    let _ = c
        .create_user(&NewUser {
            user_name: "a@example.com".into(),
            external_id: None,
            given_name: None,
            family_name: None,
            email: None,
        })
        .await;
    let _ = c.test_connection().await;
    tracing::info!(client = ?c, config = ?cfg, "logged by a caller");

    // Connection refused, retried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = cfg.clone();
    cfg.base_url = format!("http://127.0.0.1:{port}/scim");
    let err = ScimClient::new(cfg)
        .unwrap()
        .get_user("x")
        .await
        .unwrap_err();
    tracing::error!(error = %err, "logged by a caller");

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    if std::env::var_os("NAVSCIM_SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
    assert!(
        logs.contains("SCIM request"),
        "client logs missing:\n{logs}"
    );
    assert!(logs.contains("retrying"), "retry logs missing:\n{logs}");
    assert!(logs.contains("logged by a caller"));
    assert!(!logs.contains(TOKEN), "token in the logs:\n{logs}");
    assert!(!logs.contains("T0KEN"), "token in the logs:\n{logs}");
}
