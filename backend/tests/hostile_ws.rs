//! What a hostile client can do over an open WebSocket, and the limits that
//! stop it: ping floods without reading, cheap frames and over-limit sends
//! in a loop, join/leave and typing spam, read amplification, protocol
//! violations, slow reading, and invisible or backwards text. Real sockets
//! on loopback; the tests count frames and measure sizes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use parley::config::Rate;
use parley::store::{MessageStore, SqliteStore, Synchronous};
use parley_protocol::{close, ClientFrame, ErrorCode, ServerFrame};
use tokio::io::AsyncWriteExt;

use common::raw::{self, close_code, frame};
use common::{error_code, test_config, Client, ServerProcess, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_from_a_client_that_never_reads_do_not_grow_the_server() {
    // The budget would stop the flood early; lift it to see the buffers hold.
    let server = ServerProcess::spawn(&[
        "--database-url",
        "memory",
        "--frame-budget",
        "1000000000/1s",
    ]);
    let mut socket = raw::websocket(server.addr).await;
    let before = server.rss_bytes();
    let ping = frame(0x9, &[7u8; 125], true);
    let mut sent = 0;
    for _ in 0..200 {
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 500)
            .collect();
        match tokio::time::timeout(Duration::from_secs(2), socket.write_all(&burst)).await {
            Ok(Ok(())) => sent += 500,
            _ => break, // the server stopped reading from us, or closed
        }
    }
    let grown = server.rss_bytes().saturating_sub(before);
    assert!(sent >= 10_000, "only {sent} pings went out");
    assert!(
        grown < 32 << 20,
        "{sent} unread pongs grew the server by {} MiB",
        grown >> 20
    );
}

#[tokio::test]
async fn every_frame_counts_against_one_budget() {
    let mut config = test_config();
    config.limits.frame_budget = Rate::new(100, Duration::from_secs(3600));
    config.limits.max_errors_in_row = 1000;
    let server = TestServer::start(config).await;
    // Cheap frames, good and bad, in a loop: `hello` and 100 more is one
    // past the budget. (Exactly that many, so nothing is left unread when
    // the server closes.)
    let mut cheap = server.hello("cheap").await;
    for i in 0..100 {
        let frame = if i % 20 == 19 {
            r#"{"type":"ping"}"#
        } else {
            r#"{"type":"dance"}"#
        };
        cheap.send_text(frame).await;
    }
    assert_eq!(cheap.expect_close().await, close::TOO_MANY_FRAMES);
    // Sends over the rate limit are refused (20 at once, then 5 a second),
    // and past the budget the connection is closed: `hello`, `join` and 99.
    let mut sender = server.hello("sender").await;
    sender.join("r").await;
    for i in 0..99 {
        sender
            .send(ClientFrame::Send {
                room: "r".into(),
                text: "spam".into(),
                cid: format!("c{i}"),
                reply_to: None,
            })
            .await;
    }
    let (mut acked, mut refused) = (0, 0);
    loop {
        match sender.next_frame().await {
            Some(ServerFrame::Ack { .. }) => acked += 1,
            Some(ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            }) => refused += 1,
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    // About 20 were taken (their acks may not make it before the close);
    // the rest were refused.
    assert!(
        refused >= 75 && acked + refused <= 99,
        "{acked} acked, {refused} refused"
    );
    assert_eq!(
        server.hub.is_connected("sender"),
        None,
        "closed, and the session ended"
    );
}

#[tokio::test]
async fn join_and_leave_spam_reaches_the_others_only_at_the_join_rate() {
    let mut config = test_config();
    config.limits.join_rate = Rate::new(10, Duration::from_secs(3600));
    let server = TestServer::start(config).await;
    let mut bystander = server.hello("bystander").await;
    bystander.join("r").await;
    let mut spammer = server.hello("spammer").await;
    let mut refused = 0;
    for _ in 0..100 {
        spammer
            .send(ClientFrame::Join {
                room: "r".into(),
                since: None,
            })
            .await;
        spammer.send(ClientFrame::Leave { room: "r".into() }).await;
    }
    spammer.send(ClientFrame::Ping { id: Some(1) }).await;
    loop {
        match spammer.recv().await {
            ServerFrame::Pong { .. } => break,
            frame if matches!(frame, ServerFrame::Error { .. }) => {
                let code = error_code(&frame);
                if code == ErrorCode::RateLimited {
                    refused += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        refused, 190,
        "ten of two hundred joins and leaves went through"
    );
    bystander.send(ClientFrame::Ping { id: Some(2) }).await;
    let mut presence = 0;
    loop {
        match bystander.recv().await {
            ServerFrame::Pong { .. } => break,
            ServerFrame::Presence { .. } => presence += 1,
            _ => {}
        }
    }
    assert!(
        presence <= 10,
        "the bystander saw {presence} presence frames"
    );
}

#[tokio::test]
async fn typing_spam_is_dropped_past_its_rate_and_told_once_per_flush() {
    let mut config = test_config();
    config.limits.typing_rate = Rate::new(3, Duration::from_secs(3600));
    config.limits.presence_interval = Duration::from_secs(3600);
    let server = TestServer::start(config).await;
    let mut bystander = server.hello("bystander").await;
    let mut typist = server.hello("typist").await;
    bystander.join("r").await;
    typist.join("r").await;
    server.hub.flush_news();
    bystander.until_pong().await;
    let typing_told = |frames: Vec<ServerFrame>| {
        frames
            .iter()
            .filter(|f| matches!(f, ServerFrame::Typing { .. }))
            .count()
    };
    // Within the rate: told once, however many.
    for _ in 0..3 {
        typist.send(ClientFrame::Typing { room: "r".into() }).await;
    }
    typist.until_pong().await;
    server.hub.flush_news();
    assert_eq!(typing_told(bystander.until_pong().await), 1);
    // Past it: dropped, silently.
    for _ in 0..50 {
        typist.send(ClientFrame::Typing { room: "r".into() }).await;
    }
    let answers = typist.until_pong().await;
    assert!(
        answers
            .iter()
            .all(|f| !matches!(f, ServerFrame::Error { .. })),
        "{answers:?}"
    );
    server.hub.flush_news();
    assert_eq!(typing_told(bystander.until_pong().await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_paced_and_share_a_few_database_connections() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("p.db"), Synchronous::Normal, 2).unwrap());
    let mut config = test_config();
    config.limits.db_readers = 2;
    config.limits.catch_up_rate = Rate::new(5, Duration::from_secs(3600));
    config.limits.history_rate = Rate::new(5, Duration::from_secs(3600));
    config.limits.join_rate = Rate::new(1000, Duration::from_secs(1));
    config.limits.room_cache = 1;
    let server = TestServer::start_with_store(config, store.clone() as Arc<dyn MessageStore>).await;
    let mut writer = server.hello("writer").await;
    writer.join("r").await;
    for i in 0..5 {
        writer.say("r", &format!("m{i}"), &format!("c{i}")).await;
    }
    // `join {since: 0}` in a loop: a few catch-ups, then refusals.
    let mut greedy = server.hello("greedy").await;
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..30 {
        greedy
            .send(ClientFrame::Join {
                room: "r".into(),
                since: Some(0),
            })
            .await;
        match greedy
            .recv_until(|f| matches!(f, ServerFrame::Joined { .. } | ServerFrame::Error { .. }))
            .await
        {
            ServerFrame::Joined { .. } => answered += 1,
            frame => {
                assert_eq!(error_code(&frame), ErrorCode::RateLimited);
                refused += 1;
            }
        }
    }
    assert_eq!((answered, refused), (5, 25));
    // Forty clients paging history at once open no more than two connections.
    let mut readers = Vec::new();
    for i in 0..40 {
        let mut c = server.hello(&format!("reader{i}")).await;
        c.join("r").await;
        readers.push(c);
    }
    for c in &mut readers {
        for _ in 0..3 {
            c.send(ClientFrame::History {
                room: "r".into(),
                before: 6,
                limit: Some(2),
            })
            .await;
        }
    }
    for c in &mut readers {
        for _ in 0..3 {
            c.recv_until(|f| matches!(f, ServerFrame::History { .. }))
                .await;
        }
    }
    assert!(
        store.readers_open() <= 2,
        "{} read connections",
        store.readers_open()
    );
}

#[tokio::test]
async fn the_server_wide_room_cap_has_its_own_error() {
    let mut config = test_config();
    config.limits.max_rooms = 1;
    let server = TestServer::start(config).await;
    let mut c = server.hello("c").await;
    c.join("one").await;
    c.send(ClientFrame::Join {
        room: "two".into(),
        since: None,
    })
    .await;
    let refused = c
        .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert_eq!(error_code(&refused), ErrorCode::ServerFull);
}

#[tokio::test]
async fn protocol_violations_get_1002_and_bad_utf8_1007() {
    let server = TestServer::start(test_config()).await;
    let cases: [(Vec<u8>, u16); 4] = [
        (
            frame(0x1, br#"{"type":"ping"}"#, false),
            close::PROTOCOL_ERROR,
        ), // unmasked
        (frame(0x3, b"x", true), close::PROTOCOL_ERROR), // reserved opcode
        (
            {
                let mut f = frame(0x1, b"x", true);
                f[0] |= 0x40; // RSV1 without an extension
                f
            },
            close::PROTOCOL_ERROR,
        ),
        (frame(0x1, &[0xff, 0xfe, b'x'], true), close::INVALID_DATA),
    ];
    for (bad, expected) in cases {
        let mut socket = raw::websocket(server.addr).await;
        socket.write_all(&bad).await.unwrap();
        assert_eq!(
            close_code(&mut socket).await,
            Some(expected),
            "{:02x?}",
            &bad[..2]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_cut_by_the_write_timeout_gets_1013_and_is_counted() {
    let mut config = test_config();
    config.limits.write_timeout = Duration::from_millis(300);
    config.limits.outbox_capacity = 1_000_000;
    config.limits.outbox_bytes = 1 << 30;
    common::unlimited(&mut config.limits);
    let server = TestServer::start(config).await;
    let mut stuck = common::raw::websocket(server.addr).await;
    stuck
        .write_all(&frame(0x1, br#"{"type":"hello","nick":"stuck"}"#, true))
        .await
        .unwrap();
    stuck
        .write_all(&frame(0x1, br#"{"type":"join","room":"r"}"#, true))
        .await
        .unwrap();
    let mut sender = server.hello("sender").await;
    sender.join("r").await;
    let text = "x".repeat(1500);
    let before = slow_consumer_drops(&server).await;
    let mut sent = 0;
    while server.hub.is_connected("stuck") == Some(true) && sent < 50_000 {
        for _ in 0..200 {
            sender
                .send(ClientFrame::Send {
                    room: "r".into(),
                    text: text.clone(),
                    cid: format!("s{sent}"),
                    reply_to: None,
                })
                .await;
            sent += 1;
        }
        // Read the acks so the sender is not the slow one.
        for _ in 0..200 {
            sender
                .recv_until(|f| matches!(f, ServerFrame::Ack { .. }))
                .await;
        }
    }
    assert_ne!(
        server.hub.is_connected("stuck"),
        Some(true),
        "still connected after {sent}"
    );
    // The count is read over HTTP; give a busy machine a moment.
    let mut counted = false;
    for _ in 0..50 {
        if slow_consumer_drops(&server).await > before {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted, "counted as a slow consumer");
    assert_eq!(
        close_code(&mut stuck)
            .await
            .unwrap_or(close::TRY_AGAIN_LATER),
        close::TRY_AGAIN_LATER
    );
}

/// `parley_slow_consumer_drops_total` from the server's `/metrics`.
async fn slow_consumer_drops(server: &TestServer) -> u64 {
    let mut stream = raw::connect_from(server.addr, "127.0.0.1").await;
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let answer = raw::exchange(&mut stream, request.as_bytes()).await;
    answer
        .lines()
        .find_map(|l| l.strip_prefix("parley_slow_consumer_drops_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn invisible_and_backwards_text_is_refused_without_echoing_it() {
    let server = TestServer::start(test_config()).await;
    let mut c: Client = server.hello("c").await;
    c.join("r").await;
    for (text, code) in [
        ("\u{200B}\u{200C}\u{2060}", ErrorCode::EmptyText),
        ("\u{3164}", ErrorCode::EmptyText),
        ("pay \u{202E}exe.txt", ErrorCode::InvalidText),
    ] {
        c.send(ClientFrame::Send {
            room: "r".into(),
            text: text.into(),
            cid: "t".into(),
            reply_to: None,
        })
        .await;
        // (The room's `presence` naming `c` may come first.)
        let refused = c
            .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
            .await;
        assert_eq!(error_code(&refused), code, "{text:?}");
    }
    let junk = "z".repeat(15_000);
    c.send_text(&format!(
        r#"{{"type":"send","room":"r","text":1,"cid":"{junk}"}}"#
    ))
    .await;
    match c
        .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
        .await
    {
        ServerFrame::Error { message, .. } => {
            assert!(message.len() < 400, "{} bytes", message.len())
        }
        other => panic!("expected an error, got {other:?}"),
    }
}
