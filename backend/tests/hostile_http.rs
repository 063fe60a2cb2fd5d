//! What a hostile client can do at the HTTP layer, and the limits that stop
//! it: slow headers, huge headers, many idle connections, DNS rebinding,
//! lenient handshakes, too many WebSockets from one address, a stalled
//! request at shutdown, and floods of lines in the log. Real sockets on
//! loopback; each test counts or measures sizes, and waits only as long as
//! it needs to see the server act.

mod common;

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use common::raw::{
    self, closed_within, connect_from, exchange, header, status, upgrade_request, KEY,
};
use common::{test_config, ServerProcess, TestServer};

#[tokio::test]
async fn a_header_sent_a_byte_at_a_time_is_cut_off() {
    let mut config = test_config();
    config.limits.header_timeout = Duration::from_millis(300);
    let server = TestServer::start(config).await;
    let mut slow = connect_from(server.addr, "127.0.0.1").await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut cut = false;
    // Keep dribbling; the server must close the connection anyway.
    for _ in 0..100 {
        if slow.write_all(b"X").await.is_err()
            || closed_within(&mut slow, Duration::from_millis(100)).await
        {
            cut = true;
            break;
        }
    }
    assert!(cut, "a slowloris connection stays open");
    // An idle keep-alive connection is closed the same way.
    let mut idle = connect_from(server.addr, "127.0.0.1").await;
    assert!(closed_within(&mut idle, common::WAIT).await);
}

#[tokio::test]
async fn a_header_over_the_cap_gets_431() {
    let server = TestServer::start(test_config()).await;
    let mut stream = connect_from(server.addr, "127.0.0.1").await;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Junk: {}\r\n\r\n",
        server.addr,
        "j".repeat(64 * 1024)
    );
    let answer = exchange(&mut stream, request.as_bytes()).await;
    assert_eq!(status(&answer), 431, "{answer}");
}

#[tokio::test]
async fn idle_connections_from_one_address_cannot_take_every_slot() {
    let mut config = test_config();
    config.limits.max_http_connections = 6;
    config.limits.max_http_connections_per_ip = 3;
    let server = TestServer::start(config).await;
    let mut hogs = Vec::new();
    for _ in 0..3 {
        hogs.push(connect_from(server.addr, "127.0.0.1").await);
    }
    // The fourth from the same address is closed at once...
    let mut fourth = connect_from(server.addr, "127.0.0.1").await;
    assert!(closed_within(&mut fourth, Duration::from_secs(5)).await);
    // ...while another address is still served.
    let mut other = connect_from(server.addr, "127.0.0.2").await;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    assert_eq!(status(&exchange(&mut other, request.as_bytes()).await), 200);
    // The overall cap holds too.
    for from in ["127.0.0.3", "127.0.0.3", "127.0.0.4"] {
        hogs.push(connect_from(server.addr, from).await);
    }
    let mut seventh = connect_from(server.addr, "127.0.0.5").await;
    assert!(closed_within(&mut seventh, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_stalled_request() {
    let mut config = test_config();
    config.limits.shutdown_timeout = Duration::from_millis(500);
    config.limits.header_timeout = Duration::from_secs(3600);
    let server = TestServer::start(config).await;
    let mut stalled = connect_from(server.addr, "127.0.0.1").await;
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x")
        .await
        .unwrap();
    // `shutdown` fails the test if the server takes more than 20 s.
    let took = server.shutdown().await;
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert!(closed_within(&mut stalled, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn dns_rebinding_and_odd_origins_are_refused() {
    let server = TestServer::start(test_config()).await;
    let port = server.addr.port();
    let ask = |request: Vec<u8>| async move {
        let mut stream = connect_from(server.addr, "127.0.0.1").await;
        exchange(&mut stream, &request).await
    };
    let evil = format!("evil.example:{port}");
    // A rebound name agrees with itself, and is still refused.
    let rebound = upgrade_request(Some(&evil), KEY, &format!("Origin: http://{evil}\r\n"));
    assert_eq!(status(&ask(rebound).await), 403);
    let api = format!("GET /api/rooms HTTP/1.1\r\nHost: {evil}\r\nConnection: close\r\n\r\n");
    assert_eq!(
        status(&ask(api.into_bytes()).await),
        403,
        "every route checks the Host"
    );
    let own = server.addr.to_string();
    for (origin, expected) in [
        (format!("Origin: evil://{own}\r\n"), 403),
        ("Origin: http://\r\n".to_owned(), 403),
        ("Origin: null\r\n".to_owned(), 403),
        (
            format!("Origin: http://{own}\r\nOrigin: https://evil.example\r\n"),
            400,
        ),
        (format!("Origin: http://{own}\r\n"), 101),
    ] {
        let answer = ask(upgrade_request(Some(&own), KEY, &origin)).await;
        assert_eq!(status(&answer), expected, "{origin:?}: {answer}");
    }
}

#[tokio::test]
async fn a_lenient_handshake_is_refused() {
    let server = TestServer::start(test_config()).await;
    let own = server.addr.to_string();
    let long_key = "A".repeat(2000);
    for (host, key) in [
        (Some(own.as_str()), "abc"),
        (Some(own.as_str()), ""),
        (Some(own.as_str()), long_key.as_str()),
        (None, KEY),
    ] {
        let mut stream = connect_from(server.addr, "127.0.0.1").await;
        let answer = exchange(&mut stream, &upgrade_request(host, key, "")).await;
        assert_eq!(
            status(&answer),
            400,
            "host {host:?}, key {key:.20}: {answer}"
        );
    }
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let mut config = test_config();
    config.limits.max_connections = 8;
    config.limits.max_connections_per_ip = 3;
    let server = TestServer::start(config).await;
    let own = server.addr.to_string();
    let mut open = Vec::new();
    let upgrade = |from: &'static str| {
        let own = own.clone();
        async move {
            let mut stream = connect_from(server.addr, from).await;
            stream
                .write_all(&upgrade_request(Some(&own), KEY, ""))
                .await
                .unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                use tokio::io::AsyncReadExt;
                if stream.read_exact(&mut byte).await.is_err() {
                    break;
                }
                head.push(byte[0]);
            }
            (stream, String::from_utf8_lossy(&head).into_owned())
        }
    };
    for _ in 0..3 {
        let (stream, answer) = upgrade("127.0.0.1").await;
        assert_eq!(status(&answer), 101);
        open.push(stream);
    }
    let (_, answer) = upgrade("127.0.0.1").await;
    assert_eq!(status(&answer), 429, "{answer}");
    assert!(header(&answer, "retry-after").is_some(), "{answer}");
    for from in [
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.3",
    ] {
        let (stream, answer) = upgrade(from).await;
        assert_eq!(status(&answer), 101, "another address has its own share");
        open.push(stream);
    }
    let (_, answer) = upgrade("127.0.0.4").await;
    assert_eq!(status(&answer), 503, "the server is full: {answer}");
    assert!(header(&answer, "retry-after").is_some(), "{answer}");
}

#[tokio::test]
async fn new_connections_from_one_address_are_paced() {
    let mut config = test_config();
    config.limits.connect_rate_per_ip = parley::config::Rate::new(5, Duration::from_secs(3600));
    let server = TestServer::start(config).await;
    for _ in 0..5 {
        server.client().await.vanish();
    }
    let mut stream = connect_from(server.addr, "127.0.0.1").await;
    let answer = exchange(
        &mut stream,
        &upgrade_request(Some(&server.addr.to_string()), KEY, ""),
    )
    .await;
    assert_eq!(status(&answer), 429, "{answer}");
    let wait: u64 = header(&answer, "retry-after").unwrap().parse().unwrap();
    assert!(wait > 600, "told to wait about 12 minutes, got {wait} s");
}

#[tokio::test]
async fn a_client_cannot_flood_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = ServerProcess::spawn_logging_to(&["--database-url", "memory"], &log);
    let own = server.addr.to_string();
    let origin = format!("Origin: https://{}.example\r\n", "e".repeat(60_000));
    let mut sent = 0;
    for round in 0..60 {
        let requests: [Vec<u8>; 3] = [
            upgrade_request(Some(&own), KEY, &origin),
            b"GARBAGE / HTTP/9.9\r\n\r\n".to_vec(),
            format!(
                "GET /../../etc/passwd{round} HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n"
            )
            .into_bytes(),
        ];
        for request in requests {
            let mut stream = connect_from(server.addr, "127.0.0.1").await;
            sent += request.len();
            let _ = exchange(&mut stream, &request).await;
        }
    }
    let written = std::fs::metadata(&log).unwrap().len() as usize;
    assert!(sent > 3_000_000);
    assert!(
        written < 16 * 1024,
        "{written} bytes of log for {sent} bytes of junk"
    );
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().all(|l| l.len() < 1024),
        "no line repeats the junk"
    );
}

#[test]
fn the_raw_frame_helper_masks_like_a_client() {
    assert_eq!(raw::frame(0x1, b"hi", false), vec![0x81, 2, b'h', b'i']);
    let masked = raw::frame(0x9, &[0; 200], true);
    assert_eq!(&masked[..4], &[0x89, 0x80 | 126, 0, 200]);
}
