//! Plain HTTP over real TCP, where hyper's own handling shows (warp's test
//! client does not go through it): `HEAD` answers like `GET` without a body.

mod common;

use std::io::Write;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{test_config, TestServer};

/// Sends one raw request and reads the whole answer (the request asks the
/// server to close the connection after it).
async fn exchange(server: &TestServer, method: &str, path: &str) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(common::WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    (head, answer[split + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::File::create(dist.path().join("index.html"))
        .unwrap()
        .write_all(b"<!doctype html><title>Parley</title>")
        .unwrap();
    std::fs::write(
        dist.path().join("app-0123456789abcdef.js"),
        "console.log(1)",
    )
    .unwrap();
    let mut config = test_config();
    config.static_dir = Some(dist.path().to_owned());
    let server = TestServer::start(config).await;
    for path in [
        "/",
        "/healthz",
        "/api/rooms",
        "/metrics",
        "/app-0123456789abcdef.js",
        "/room/rust",
    ] {
        let (get_head, get_body) = exchange(&server, "GET", path).await;
        let (head_head, head_body) = exchange(&server, "HEAD", path).await;
        assert!(
            head_head.starts_with("http/1.1 200"),
            "HEAD {path}: {head_head}"
        );
        assert!(head_body.is_empty(), "HEAD {path} has no body");
        assert!(!get_body.is_empty(), "GET {path} has one");
        for name in ["content-type", "cache-control"] {
            assert_eq!(
                header(&head_head, name),
                header(&get_head, name),
                "{name} of {path}"
            );
        }
        if path != "/metrics" {
            // (The metrics text grows between the two requests.)
            assert_eq!(
                header(&head_head, "content-length"),
                Some(get_body.len().to_string().as_str()),
                "HEAD {path} tells the length of the GET body"
            );
        }
    }
}
