//! Corporate proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`).
//!
//! One test in its own binary, because it changes the process environment. reqwest
//! 0.12 reads the proxy variables when a client is built (no `.no_proxy()` call), so
//! each client below is built after the variables are set.

use std::sync::{Arc, Mutex};

use navscim::scim::{ClientConfig, ScimClient, ScimError};
use navscim::secret::Token;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "proxy-test-token-31337";

/// A forward proxy that records each request head. Plain-HTTP requests (absolute
/// form) are answered with a SCIM user; `CONNECT` tunnels are refused with 403.
async fn proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let heads2 = heads.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let heads = heads2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                heads.lock().unwrap().push(head.clone());
                let answer = if head.starts_with("CONNECT ") {
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_string()
                } else {
                    let body = r#"{"id":"via-proxy","userName":"a@x"}"#;
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

/// A direct (non-proxy) server answering with a different user id.
async fn direct() -> String {
    let app = axum::Router::new().fallback(|| async {
        (
            [("content-type", "application/scim+json")],
            r#"{"id":"direct","userName":"a@x"}"#,
        )
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/scim")
}

fn client(base: &str) -> ScimClient {
    let mut c = ClientConfig::new(base, Token::new(TOKEN));
    c.max_retries = 0;
    ScimClient::new(c).unwrap()
}

fn set_proxy_env(proxy: &str, no_proxy: Option<&str>) {
    for var in [
        "ALL_PROXY",
        "all_proxy",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", proxy);
    std::env::set_var("HTTPS_PROXY", proxy);
    match no_proxy {
        Some(v) => std::env::set_var("NO_PROXY", v),
        None => std::env::remove_var("NO_PROXY"),
    }
}

#[tokio::test]
async fn proxies_from_the_environment_are_used() {
    let (proxy_url, heads) = proxy().await;
    let direct_base = direct().await;

    set_proxy_env(&proxy_url, None);

    // Plain HTTP goes through HTTP_PROXY (no DNS lookup of the target is needed).
    let c = client("http://scim.example.invalid/scim");
    let u = c.get_user("u1").await.unwrap().unwrap();
    assert_eq!(u.id.as_deref(), Some("via-proxy"));
    {
        let heads = heads.lock().unwrap();
        assert_eq!(heads.len(), 1);
        assert!(
            heads[0].starts_with("GET http://scim.example.invalid/scim/Users/u1 HTTP/1.1"),
            "{}",
            heads[0]
        );
    }

    // HTTPS is tunnelled through HTTPS_PROXY with CONNECT; the token stays inside the
    // tunnel, never in the CONNECT request the proxy sees.
    let c = client("https://scim.example.invalid/scim");
    let err = c.get_user("u1").await.unwrap_err();
    assert!(
        matches!(err, ScimError::Network(_) | ScimError::Tls(_)),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(TOKEN));
    {
        let heads = heads.lock().unwrap();
        assert_eq!(heads.len(), 2);
        assert!(
            heads[1].starts_with("CONNECT scim.example.invalid:443 "),
            "{}",
            heads[1]
        );
        assert!(!heads[1].contains(TOKEN));
    }

    // NO_PROXY exempts hosts: the direct server is reached without the proxy.
    set_proxy_env(&proxy_url, Some("localhost,127.0.0.1"));
    let c = client(&direct_base);
    let u = c.get_user("u1").await.unwrap().unwrap();
    assert_eq!(u.id.as_deref(), Some("direct"));
    assert_eq!(heads.lock().unwrap().len(), 2);

    for var in ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] {
        std::env::remove_var(var);
    }
}
