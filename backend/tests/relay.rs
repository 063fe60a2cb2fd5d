//! Integration tests over real TCP on 127.0.0.1 with several clients:
//! relaying, presence, rooms, limits, slow consumers, resume and shutdown.

mod common;

use std::time::Duration;

use futures_util::SinkExt;
use parley_protocol::{ClientFrame, ErrorCode, ServerFrame};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use common::{error_code, tells, test_config, Client, TestServer};

#[tokio::test]
async fn messages_go_to_the_others_and_the_sender_gets_an_ack() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.hello("ana").await;
    let mut b = server.hello("bo").await;
    let mut c = server.hello("cy").await;
    for client in [&mut a, &mut b, &mut c] {
        client.join("lobby").await;
    }
    a.told("lobby", "cy", true).await;
    b.told("lobby", "cy", true).await;
    c.told("lobby", "cy", true).await;

    let seq = a.say("lobby", "hi both", "a-1").await;
    assert_eq!(seq, 1);
    for other in [&mut b, &mut c] {
        match other.recv().await {
            ServerFrame::Message(m) => {
                assert_eq!(
                    (m.seq, m.nick.as_str(), m.text.as_str(), m.cid.as_deref()),
                    (1, "ana", "hi both", Some("a-1"))
                )
            }
            f => panic!("expected the message, got {f:?}"),
        }
    }
    assert_eq!(b.say("lobby", "hi ana", "b-1").await, 2);
    assert!(matches!(a.recv().await, ServerFrame::Message(m) if m.seq == 2 && m.nick == "bo"));
    c.recv().await;
    for client in [&mut a, &mut b, &mut c] {
        client.expect_silence(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_sender_is_never_echoed() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.hello("solo").await;
    a.join("r").await;
    for i in 0..5 {
        a.say("r", "talking to myself", &format!("c{i}")).await;
    }
    a.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.hello("a").await;
    let mut b = server.hello("b").await;
    let mut both = server.hello("both").await;
    a.join("one").await;
    b.join("two").await;
    both.join("one").await;
    both.join("two").await;
    a.told("one", "both", true).await;
    b.told("two", "both", true).await;
    a.say("one", "for one", "1").await;
    b.say("two", "for two", "2").await;
    let mut got = Vec::new();
    while got.len() < 2 {
        if let ServerFrame::Message(m) = both.recv().await {
            got.push((m.room, m.text));
        }
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            ("one".into(), "for one".into()),
            ("two".into(), "for two".into())
        ]
    );
    a.expect_silence(Duration::from_millis(100)).await;
    b.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn presence_on_join_leave_and_abrupt_drop() {
    let mut config = test_config();
    config.limits.resume_grace = Duration::from_millis(300);
    let server = TestServer::start(config).await;
    let mut watcher = server.hello("watcher").await;
    watcher.join("r").await;

    watcher.told("r", "watcher", true).await;

    let mut leaver = server.hello("leaver").await;
    leaver.join("r").await;
    assert!(tells(&watcher.recv().await, "r", "leaver", true));
    leaver.send(ClientFrame::Leave { room: "r".into() }).await;
    assert!(tells(&watcher.recv().await, "r", "leaver", false));

    let mut dropper = server.hello("dropper").await;
    dropper.join("r").await;
    assert!(tells(&watcher.recv().await, "r", "dropper", true));
    dropper.vanish();
    // Kept for the resume grace, then announced exactly once.
    assert!(tells(&watcher.recv().await, "r", "dropper", false));
    watcher.expect_silence(Duration::from_millis(500)).await;
    // Its nickname is free again.
    server.hello("dropper").await;
}

#[tokio::test]
async fn a_clean_close_leaves_at_once() {
    let server = TestServer::start(test_config()).await;
    let mut watcher = server.hello("watcher").await;
    watcher.join("r").await;
    let mut closer = server.hello("closer").await;
    closer.join("r").await;
    watcher.told("r", "closer", true).await;
    closer.ws.close(None).await.unwrap();
    assert!(tells(&watcher.recv().await, "r", "closer", false));
}

#[tokio::test]
async fn nicknames_are_unique_ignoring_case() {
    let server = TestServer::start(test_config()).await;
    let _mina = server.hello("Mina").await;
    let mut other = server.client().await;
    other
        .send(ClientFrame::Hello {
            nick: "mINA".into(),
            resume: None,
        })
        .await;
    assert_eq!(error_code(&other.recv().await), ErrorCode::NickTaken);
    other.hello("민아").await;
}

#[tokio::test]
async fn the_rate_limit_refuses_excess_sends() {
    let mut config = test_config();
    config.limits.rate_burst = 5;
    config.limits.rate_per_sec = 1;
    let server = TestServer::start(config).await;
    let mut a = server.hello("flooder").await;
    a.join("r").await;
    for i in 0..8 {
        a.send(ClientFrame::Send {
            room: "r".into(),
            text: "spam".into(),
            cid: format!("c{i}"),
            reply_to: None,
        })
        .await;
    }
    let (mut acks, mut limited) = (0, 0);
    for _ in 0..8 {
        match a.recv().await {
            ServerFrame::Ack { .. } => acks += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            f => panic!("{f:?}"),
        }
    }
    assert_eq!((acks, limited), (5, 3));
}

#[tokio::test]
async fn an_oversized_frame_is_refused_with_1009() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.hello("big").await;
    a.send_text(&"x".repeat(17 * 1024)).await;
    assert_eq!(a.expect_close().await, 1009);
}

#[tokio::test]
async fn a_foreign_origin_gets_403_and_no_upgrade() {
    let server = TestServer::start(test_config()).await;
    let mut request = server.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!(
            "expected HTTP 403, got {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    let mut request = server.ws_url().into_client_request().unwrap();
    let own = format!("http://{}", server.addr);
    request.headers_mut().insert("origin", own.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

#[tokio::test]
async fn control_frames_are_never_relayed() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.hello("a").await;
    let mut b = server.hello("b").await;
    a.join("r").await;
    b.join("r").await;
    a.told("r", "b", true).await;
    b.told("r", "b", true).await;
    a.ws.send(Message::Ping(vec![1, 2, 3].into()))
        .await
        .unwrap();
    a.ws.send(Message::binary(vec![9u8; 10])).await.unwrap();
    assert_eq!(error_code(&a.recv().await), ErrorCode::BinaryNotSupported);
    a.ws.send(Message::Close(Some(CloseFrame {
        code: 4000.into(),
        reason: "".into(),
    })))
    .await
    .unwrap();
    // b sees nothing: not the ping, not the binary frame, not the close (4000 keeps the session).
    b.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn resume_keeps_nick_and_rooms_without_flapping() {
    let server = TestServer::start(test_config()).await;
    let mut watcher = server.hello("watcher").await;
    watcher.join("r").await;
    let mut a = server.hello("roamer").await;
    a.join("r").await;
    watcher.told("r", "roamer", true).await;
    let token = a.resume.clone().unwrap();
    a.vanish();
    let seq = watcher.say("r", "while you were away", "w1").await;

    let mut back = server.client().await;
    back.resume = Some(token);
    let ServerFrame::Welcome {
        nick,
        resumed,
        rooms,
        ..
    } = back.hello("ignored").await
    else {
        panic!()
    };
    assert_eq!(
        (nick.as_str(), resumed, rooms),
        ("roamer", true, vec!["r".to_string()])
    );
    back.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(seq - 1),
    })
    .await;
    let ServerFrame::Joined { history, .. } = back
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    else {
        panic!()
    };
    let history = common::messages_of(history);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text, "while you were away");
    back.say("r", "back", "b1").await;
    // The watcher saw no leave or join, only the message.
    assert!(matches!(watcher.recv().await, ServerFrame::Message(m) if m.text == "back"));
}

#[tokio::test]
async fn an_unknown_resume_token_starts_a_fresh_session() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.client().await;
    a.resume = Some("r_bogus".into());
    let ServerFrame::Welcome { resumed, .. } = a.hello("fresh").await else {
        panic!()
    };
    assert!(!resumed);
}

#[tokio::test]
async fn graceful_shutdown_closes_every_client_with_1001() {
    let server = TestServer::start(test_config()).await;
    let mut a = server.hello("a").await;
    let mut b = server.client().await;
    a.join("r").await;
    let closes = tokio::spawn(async move { (a.expect_close().await, b.expect_close().await) });
    let took = server.shutdown().await;
    assert_eq!(closes.await.unwrap(), (1001, 1001));
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}

/// A client whose socket receive buffer is tiny, so the server's writes to
/// it block as soon as it stops reading.
async fn stubborn_client(server: &TestServer) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(
        server.ws_url(),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    Client { ws, resume: None }
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_with_1013_and_others_carry_on() {
    /// At least this many must reach the reader, in order.
    const AT_LEAST: usize = 1000;
    /// Give up if the stuck client has not been dropped after this many
    /// (loopback kernel buffers hold a few MB before writes block).
    const AT_MOST: usize = 20_000;
    let mut config = test_config();
    config.limits.outbox_capacity = 64;
    common::unlimited(&mut config.limits);
    config.limits.close_timeout = Duration::from_secs(20);
    let server = TestServer::start(config).await;

    let mut stuck = stubborn_client(&server).await;
    stuck.hello("stuck").await;
    stuck.join("r").await;
    let mut reader = server.hello("reader").await;
    reader.join("r").await;
    let mut sender = server.hello("sender").await;
    sender.join("r").await;
    reader.recv().await; // presence of sender

    let reading = tokio::spawn(async move {
        let mut seqs = Vec::new();
        loop {
            if let ServerFrame::Message(m) = reader.recv().await {
                if m.text == "done" {
                    return seqs;
                }
                seqs.push(m.seq);
            }
        }
    });
    let text = "y".repeat(1900);
    let mut sent = 0;
    while sent < AT_MOST && (sent < AT_LEAST || server.hub.is_connected("stuck") == Some(true)) {
        for _ in 0..50 {
            let cid = format!("c{sent}");
            sender
                .send(ClientFrame::Send {
                    room: "r".into(),
                    text: text.clone(),
                    cid,
                    reply_to: None,
                })
                .await;
            sent += 1;
        }
        let last = format!("c{}", sent - 1);
        sender
            .recv_until(|f| matches!(f, ServerFrame::Ack { cid, .. } if *cid == last))
            .await;
    }
    assert_eq!(
        server.hub.is_connected("stuck"),
        Some(false),
        "the stuck client was dropped"
    );
    sender.say("r", "done", "done").await;
    let seqs = tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("reader done")
        .unwrap();
    assert!(seqs.len() >= AT_LEAST);
    assert_eq!(
        seqs,
        (1..=sent as u64).collect::<Vec<_>>(),
        "every message, in order"
    );
    // Now the stuck client reads: what was buffered, then the 1013 close.
    assert_eq!(stuck.expect_close().await, 1013);
}
