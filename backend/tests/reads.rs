//! Requests that read the store (`join` with history from disk, `history`),
//! over real TCP, with a store that can be held at a gate or made to fail:
//! the connection keeps running while a read waits, later frames keep
//! their order, and a failed join leaves the room as it was.

mod common;

use std::sync::Arc;

use parley::hub::RoomSummary;
use parley_protocol::{ClientFrame, ErrorCode, ServerFrame};

use common::stores::TestStore;
use common::{error_code, test_config, Client, TestServer};

/// The members `client` knows of in `room` after the server tells what is
/// pending: `start`, with every `presence` applied as the docs say.
async fn members_after_flush(
    server: &TestServer,
    client: &mut Client,
    room: &str,
    start: &[&str],
) -> Vec<String> {
    server.hub.flush_news();
    let mut members: std::collections::BTreeSet<String> =
        start.iter().map(|s| s.to_string()).collect();
    for frame in client.until_pong().await {
        if let ServerFrame::Presence {
            room: r,
            joined,
            left,
            ..
        } = frame
        {
            if r == room {
                members.extend(joined);
                for nick in left {
                    members.remove(&nick);
                }
            }
        }
    }
    members.into_iter().collect()
}

/// A server on `store` whose rooms cache only 2 messages (so joins that
/// want more read the store) and whose rate limit is out of the way.
async fn server_on(store: &Arc<TestStore>) -> TestServer {
    let mut config = test_config();
    config.limits.room_cache = 2;
    common::unlimited(&mut config.limits);
    TestServer::start_with_store(config, store.clone()).await
}

/// Sends `n` messages in bursts of 100, reading the acks as it goes;
/// returns the last seq.
async fn flood(sender: &mut Client, room: &str, n: usize) -> u64 {
    let mut last = 0;
    for burst in 0..n.div_ceil(100) {
        let count = 100.min(n - burst * 100);
        for i in 0..count {
            sender
                .send(ClientFrame::Send {
                    room: room.into(),
                    text: format!("flood {}", burst * 100 + i),
                    cid: format!("f{}", burst * 100 + i),
                    reply_to: None,
                })
                .await;
        }
        for _ in 0..count {
            if let ServerFrame::Ack { seq, .. } = sender
                .recv_until(|f| matches!(f, ServerFrame::Ack { .. }))
                .await
            {
                last = seq;
            }
        }
    }
    last
}

/// Reads `n` messages of `room`; asserts they are in `seq` order with no gap
/// and that nothing else arrives in between.
async fn expect_messages(client: &mut Client, room: &str, first_seq: u64, n: u64) {
    for seq in first_seq..first_seq + n {
        match client.recv().await {
            ServerFrame::Message(m) if m.room == room => assert_eq!(m.seq, seq, "in order"),
            other => panic!("expected message {seq} of {room}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_join_whose_history_cannot_be_read_leaves_the_room_as_it_was() {
    let store = Arc::new(TestStore::new());
    let server = server_on(&store).await;
    let mut ana = server.hello("ana").await;
    ana.join("r").await;
    for i in 0..5 {
        ana.say("r", &format!("m{i}"), &format!("c{i}")).await;
    }
    let mut bo = server.hello("bo").await;
    store.fail_reads(true);
    // Five messages after seq 0, the cache holds two: read from the store.
    bo.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(0),
    })
    .await;
    let refused = bo.recv().await;
    assert_eq!(error_code(&refused), ErrorCode::Internal);
    assert!(matches!(refused, ServerFrame::Error { room: Some(ref r), .. } if r == "r"));
    let summary = |members| RoomSummary {
        room: "r".into(),
        members,
        last_seq: 5,
    };
    assert_eq!(
        server.hub.rooms_summary().await.unwrap(),
        vec![summary(1)],
        "bo is no member"
    );
    bo.send(ClientFrame::Leave { room: "r".into() }).await;
    assert_eq!(error_code(&bo.recv().await), ErrorCode::NotJoined);
    // The others do not see bo (as if it never came, or came and went).
    assert_eq!(
        members_after_flush(&server, &mut ana, "r", &["ana"]).await,
        vec!["ana"]
    );
    // The last member leaving closes the room: nobody is left behind in it.
    ana.send(ClientFrame::Leave { room: "r".into() }).await;
    assert_eq!(ana.recv().await, ServerFrame::Left { room: "r".into() });
    assert_eq!(server.hub.rooms_summary().await.unwrap(), vec![]);
    // Once the store reads again, the same join works.
    store.fail_reads(false);
    bo.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(0),
    })
    .await;
    match bo.recv().await {
        ServerFrame::Joined {
            members, history, ..
        } => {
            assert_eq!(members, vec!["bo"]);
            assert_eq!(
                history
                    .iter()
                    .map(parley_protocol::RoomEvent::seq)
                    .collect::<Vec<_>>(),
                [1, 2, 3, 4, 5]
            );
        }
        other => panic!("expected joined, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_read_never_stalls_the_connection() {
    let store = Arc::new(TestStore::new());
    let server = server_on(&store).await;
    let mut reader = server.hello("reader").await;
    let mut flooder = server.hello("flooder").await;
    reader.join("r").await;
    flooder.join("r").await;
    reader.told("r", "flooder", true).await;
    server.hub.flush_news();
    reader.until_pong().await;
    let first = flooder.say("r", "the first", "first").await;
    expect_messages(&mut reader, "r", first, 1).await;

    store.reads.close();
    reader
        .send(ClientFrame::History {
            room: "r".into(),
            before: u64::MAX,
            limit: None,
        })
        .await;
    store.reads.reached().await;
    // While the read waits, twice the outbox's capacity flows through the room.
    let last = flood(&mut flooder, "r", 2000).await;
    assert_eq!(last, first + 2000);
    expect_messages(&mut reader, "r", first + 1, 2000).await;
    // Frames sent meanwhile wait for the read and keep their order.
    reader.send(ClientFrame::Ping { id: Some(7) }).await;
    reader
        .send(ClientFrame::Send {
            room: "r".into(),
            text: "after the page".into(),
            cid: "after".into(),
            reply_to: None,
        })
        .await;
    store.reads.open();
    match reader.recv().await {
        ServerFrame::History { messages, .. } => {
            assert_eq!(messages.len(), 50, "the default page");
            assert_eq!(messages.last().map(|m| m.seq), Some(last));
        }
        other => panic!("expected the history page, got {other:?}"),
    }
    assert_eq!(reader.recv().await, ServerFrame::Pong { id: Some(7) });
    assert!(matches!(reader.recv().await, ServerFrame::Ack { ref cid, .. } if cid == "after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_read_never_stalls_the_connection_s_other_rooms() {
    let store = Arc::new(TestStore::new());
    let server = server_on(&store).await;
    let mut old_hand = server.hello("old-hand").await;
    old_hand.join("archive").await;
    for i in 0..5 {
        old_hand
            .say("archive", &format!("old {i}"), &format!("o{i}"))
            .await;
    }
    let mut reader = server.hello("reader").await;
    let mut flooder = server.hello("flooder").await;
    reader.join("busy").await;
    flooder.join("busy").await;
    reader.told("busy", "flooder", true).await;
    server.hub.flush_news();
    reader.until_pong().await;

    store.reads.close();
    reader
        .send(ClientFrame::Join {
            room: "archive".into(),
            since: Some(0),
        })
        .await;
    store.reads.reached().await;
    let last = flood(&mut flooder, "busy", 2000).await;
    expect_messages(&mut reader, "busy", last - 1999, 2000).await;
    store.reads.open();
    match reader.recv().await {
        ServerFrame::Joined { room, history, .. } => {
            assert_eq!(room, "archive");
            assert_eq!(history.len(), 5);
        }
        other => panic!("expected joined, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connection_that_goes_away_during_a_join_read_leaves_no_member_behind() {
    let store = Arc::new(TestStore::new());
    let server = server_on(&store).await;
    let mut ana = server.hello("ana").await;
    ana.join("r").await;
    for i in 0..5 {
        ana.say("r", &format!("m{i}"), &format!("c{i}")).await;
    }
    let mut bo = server.hello("bo").await;
    store.reads.close();
    bo.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(0),
    })
    .await;
    store.reads.reached().await;
    bo.send_close(1000).await;
    while server.hub.is_connected("bo").is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        members_after_flush(&server, &mut ana, "r", &["ana"]).await,
        vec!["ana"]
    );
    store.reads.open();
    assert_eq!(server.hub.rooms_summary().await.unwrap()[0].members, 1);
    assert_eq!(server.hub.is_connected("bo"), None, "the session ended");
}

#[tokio::test]
async fn a_failed_join_that_leaves_a_room_empty_closes_it() {
    let store = Arc::new(TestStore::new());
    let server = server_on(&store).await;
    let mut ana = server.hello("ana").await;
    ana.join("r").await;
    for i in 0..5 {
        ana.say("r", &format!("m{i}"), &format!("c{i}")).await;
    }
    let mut bo = server.hello("bo").await;
    store.reads.close();
    bo.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(0),
    })
    .await;
    store.reads.reached().await;
    // Ana leaves while bo's history is read; then the read fails.
    ana.send(ClientFrame::Leave { room: "r".into() }).await;
    ana.recv_until(|f| matches!(f, ServerFrame::Left { .. }))
        .await;
    store.fail_reads(true);
    store.reads.open();
    assert_eq!(error_code(&bo.recv().await), ErrorCode::Internal);
    assert_eq!(
        server.hub.rooms_summary().await.unwrap(),
        vec![],
        "no empty room is left open"
    );
}
