//! HTTPS with an extra CA file (corporate TLS inspection): a TLS server on
//! 127.0.0.1 whose certificate is signed by a private test CA.

use std::sync::Arc;

use navscim::scim::{ClientConfig, ErrorCategory, ScimClient, ScimError};
use navscim::secret::Token;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

// Generated once with openssl (EC P-256, valid 2000–2100); test-only, trusts nothing
// outside this file.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBZjCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9uYXZzY2lt
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBoxGDAW
BgNVBAMMD25hdnNjaW0gdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA
BLvu8VGzjhMLFo8evumEEAaU3ciV8tunZ4G7qQJGX4g7xvayDX+NXPfziG2iiAQZ
42Ct++603L279IEmQKh/swWjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/
BAQDAgEGMB0GA1UdDgQWBBQHCCaN9DcwGzHinHEMBGvoP9cv4zAKBggqhkjOPQQD
AgNHADBEAiBk+mqzE39upyBvmetkJHw1eL8AFCRo1eADihokCyZV0QIgDy2G7N/J
kOasxBr41JKiRDN4yV+H49tcoFBJdEsqXQM=
-----END CERTIFICATE-----
";
const SERVER_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBsjCCAVigAwIBAgIBAjAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9uYXZzY2lt
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQ
BgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIBy2cg9
Hp75u5o62N/8p0z5tkBY0Lrvms/vCp2wuE+24u1Ris+bD9vYQYjBm8ZlIs9BhYRg
Oevv5QtXSc8415ajgZIwgY8wGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MAwG
A1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMB
MB8GA1UdIwQYMBaAFAcIJo30NzAbMeKccQwEa+g/1y/jMB0GA1UdDgQWBBROZpvP
Agt8mu0NASoL7ZSIacRgHTAKBggqhkjOPQQDAgNIADBFAiEAs3g3VDTncsXQ4nyT
h1L54TKHXX3IcvUDTAn/xsp2yBgCIFFrq36mxv2d3hte1AQFfgWVXhmZqgyrFEqP
fxlo2rHy
-----END CERTIFICATE-----
";
const SERVER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwsbyPxDylbxJDqTD
s+2gTf2Sli5L/2gfcr3/nuBYAZihRANCAASActnIPR6e+buaOtjf/KdM+bZAWNC6
75rP7wqdsLhPtuLtUYrPmw/b2EGIwZvGZSLPQYWEYDnr7+ULV0nPONeW
-----END PRIVATE KEY-----
";

/// Answers every request on every connection with one SCIM user.
async fn tls_server() -> String {
    let certs = CertificateDer::pem_slice_iter(SERVER_PEM.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.clear();
                    let body = r#"{"id":"u1","userName":"ada@example.com"}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if tls.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("https://127.0.0.1:{}/scim", addr.port())
}

fn config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base, Token::new("tls-test-token-9876"));
    c.max_retries = 2;
    c.backoff_base = std::time::Duration::from_millis(1);
    c.backoff_max = std::time::Duration::from_millis(10);
    c
}

#[tokio::test]
async fn extra_ca_file_is_trusted() {
    let base = tls_server().await;

    // Without the CA the server is not trusted, and that is not retried.
    let c = ScimClient::new(config(&base)).unwrap();
    let err = c.get_user("u1").await.unwrap_err();
    assert!(matches!(err, ScimError::Tls(_)), "{err:?}");
    assert_eq!(err.category(), ErrorCategory::Network);
    assert_eq!(c.stats().requests, 1);
    assert!(!format!("{err} {err:?}").contains("tls-test-token-9876"));

    // With it, it is.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("corp-ca.pem");
    std::fs::write(&ca, CA_PEM).unwrap();
    let mut cfg = config(&base);
    cfg.ca_file = Some(ca);
    let c = ScimClient::new(cfg).unwrap();
    let user = c.get_user("u1").await.unwrap().unwrap();
    assert_eq!(user.user_name, "ada@example.com");
}

#[test]
fn unusable_ca_files_are_configuration_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("missing.pem", None),
        ("empty.pem", Some("")),
        ("key-only.pem", Some(SERVER_KEY)),
        (
            "garbage.pem",
            Some("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
        ),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        if let Some(content) = content {
            std::fs::write(&path, content).unwrap();
        }
        let mut cfg = config("https://127.0.0.1:1/scim");
        cfg.ca_file = Some(path.clone());
        let err = ScimClient::new(cfg).unwrap_err();
        assert!(matches!(err, ScimError::Config(_)), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{name}: {err}");
        assert_eq!(err.category(), ErrorCategory::Local);
    }
}
