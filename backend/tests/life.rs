//! Message life over real TCP: replies, edits, deletions, reactions,
//! mentions and search, each with its errors; and the promise that holds
//! for messages holding for changes too: a client that was away catches up
//! on every change exactly once.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parley::store::MemoryStore;
use parley_protocol::{
    ChatMessage, ClientFrame, ErrorCode, Quote, Reactions, RoomEvent, ServerFrame,
};

use common::{error_code, messages_of, test_config, Client, TestServer};

/// A server whose events are stamped by a clock the test sets.
async fn server_with_clock() -> (TestServer, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock = now.clone();
    let mut config = test_config();
    common::unlimited(&mut config.limits);
    config.limits.max_reactions = 2;
    let store = Arc::new(MemoryStore::new(10_000));
    let server = TestServer::start_with_clock(
        config,
        store,
        Arc::new(move || clock.load(Ordering::SeqCst)),
    )
    .await;
    (server, now)
}

/// Two members of `r`, `ana` and `bo`, each told of the other.
async fn two_in_a_room(server: &TestServer) -> (Client, Client) {
    let mut ana = server.hello("ana").await;
    let mut bo = server.hello("bo").await;
    ana.join("r").await;
    bo.join("r").await;
    server.hub.flush_news();
    ana.until_pong().await;
    bo.until_pong().await;
    (ana, bo)
}

/// Sends a change and returns the `ack`'s seq, or the error's code.
async fn change(client: &mut Client, frame: ClientFrame) -> Result<u64, ErrorCode> {
    client.send(frame).await;
    match client
        .recv_until(|f| matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. }))
        .await
    {
        ServerFrame::Ack { seq, .. } => Ok(seq),
        other => Err(error_code(&other)),
    }
}

fn edit(target: u64, text: &str) -> ClientFrame {
    ClientFrame::Edit {
        room: "r".into(),
        target,
        text: text.into(),
        cid: format!("e-{target}-{text}"),
    }
}

fn delete(target: u64) -> ClientFrame {
    ClientFrame::Delete {
        room: "r".into(),
        target,
        cid: format!("d-{target}"),
    }
}

fn react(target: u64, emoji: &str, on: bool) -> ClientFrame {
    ClientFrame::React {
        room: "r".into(),
        target,
        emoji: emoji.into(),
        on,
        cid: format!("r-{target}-{emoji}-{on}"),
    }
}

#[tokio::test]
async fn replies_carry_a_quote_and_mentions_name_members() {
    let (server, _) = server_with_clock().await;
    let (mut ana, mut bo) = two_in_a_room(&server).await;
    let first = ana.say("r", "is anyone there?\nhello?", "a1").await;
    bo.recv().await;
    bo.send(ClientFrame::Send {
        room: "r".into(),
        text: "yes @ANA, and @nobody".into(),
        cid: "b1".into(),
        reply_to: Some(first),
    })
    .await;
    bo.recv_until(|f| matches!(f, ServerFrame::Ack { .. }))
        .await;
    let ServerFrame::Message(reply) = ana.recv().await else {
        panic!()
    };
    assert_eq!(reply.reply_to, Some(first));
    assert_eq!(
        reply.quote,
        Some(Quote {
            nick: "ana".into(),
            text: "is anyone there?…".into()
        })
    );
    assert_eq!(reply.mentions, vec!["ana"]);
    let answering_nothing = ClientFrame::Send {
        room: "r".into(),
        text: "to whom?".into(),
        cid: "b2".into(),
        reply_to: Some(999),
    };
    assert_eq!(
        change(&mut bo, answering_nothing).await,
        Err(ErrorCode::NoSuchMessage)
    );
}

#[tokio::test]
async fn only_the_author_edits_within_the_window_and_the_others_see_it() {
    let (server, now) = server_with_clock().await;
    let (mut ana, mut bo) = two_in_a_room(&server).await;
    let seq = ana.say("r", "teh typo", "a1").await;
    bo.recv().await;
    let edited = change(&mut ana, edit(seq, "the typo @bo")).await.unwrap();
    assert!(edited > seq, "an edit has its own seq");
    match bo.recv().await {
        ServerFrame::Edited(e) => {
            assert_eq!(
                (e.target, e.seq, e.text.as_str()),
                (seq, edited, "the typo @bo")
            );
            assert_eq!(e.mentions, vec!["bo"]);
        }
        other => panic!("expected edited, got {other:?}"),
    }
    assert_eq!(
        change(&mut bo, edit(seq, "mine")).await,
        Err(ErrorCode::NotAuthor)
    );
    assert_eq!(
        change(&mut ana, edit(seq, "   ")).await,
        Err(ErrorCode::EmptyText)
    );
    assert_eq!(
        change(&mut ana, edit(777, "x")).await,
        Err(ErrorCode::NoSuchMessage)
    );
    // Fifteen minutes later (the clock is the test's), the window is closed.
    now.fetch_add(15 * 60 * 1000 + 1, Ordering::SeqCst);
    assert_eq!(
        change(&mut ana, edit(seq, "too late")).await,
        Err(ErrorCode::EditWindowClosed)
    );
}

#[tokio::test]
async fn a_deletion_leaves_a_tombstone_for_everyone() {
    let (server, _) = server_with_clock().await;
    let (mut ana, mut bo) = two_in_a_room(&server).await;
    let seq = ana.say("r", "oops, wrong room", "a1").await;
    bo.recv().await;
    assert_eq!(
        change(&mut bo, delete(seq)).await,
        Err(ErrorCode::NotAuthor)
    );
    let deleted = change(&mut ana, delete(seq)).await.unwrap();
    assert!(
        matches!(bo.recv().await, ServerFrame::Deleted(d) if d.target == seq && d.seq == deleted)
    );
    assert_eq!(
        change(&mut ana, delete(seq)).await,
        Err(ErrorCode::NoSuchMessage),
        "once"
    );
    assert_eq!(
        change(&mut ana, edit(seq, "back?")).await,
        Err(ErrorCode::NoSuchMessage)
    );
    let mut late = server.hello("late").await;
    let ServerFrame::Joined { history, .. } = late.join("r").await else {
        panic!()
    };
    let shown = &messages_of(history)[0];
    assert!(shown.deleted && shown.text.is_empty(), "{shown:?}");
}

#[tokio::test]
async fn reactions_toggle_count_and_are_capped() {
    let (server, _) = server_with_clock().await;
    let (mut ana, mut bo) = two_in_a_room(&server).await;
    let seq = ana.say("r", "ship it?", "a1").await;
    bo.recv().await;
    assert!(change(&mut bo, react(seq, "👍", true)).await.is_ok());
    assert!(
        matches!(ana.recv().await, ServerFrame::Reacted(r) if r.emoji == "👍" && r.on && r.nick == "bo")
    );
    assert!(
        change(&mut bo, react(seq, "👍", true)).await.is_ok(),
        "twice is once"
    );
    assert!(change(&mut ana, react(seq, "👍🏽", true)).await.is_ok());
    assert_eq!(
        change(&mut ana, react(seq, "🎉", true)).await,
        Err(ErrorCode::TooManyReactions)
    );
    assert!(change(&mut ana, react(seq, "👍🏽", false)).await.is_ok());
    assert!(
        change(&mut ana, react(seq, "🎉", true)).await.is_ok(),
        "room again"
    );
    for bad in ["", "no", "👍👍", "👍 "] {
        assert_eq!(
            change(&mut ana, react(seq, bad, true)).await,
            Err(ErrorCode::InvalidEmoji),
            "{bad:?}"
        );
    }
    let mut late = server.hello("late").await;
    let ServerFrame::Joined { history, .. } = late.join("r").await else {
        panic!()
    };
    assert_eq!(
        messages_of(history)[0].reactions,
        vec![
            Reactions {
                emoji: "👍".into(),
                count: 1,
                nicks: vec!["bo".into()]
            },
            Reactions {
                emoji: "🎉".into(),
                count: 1,
                nicks: vec!["ana".into()]
            },
        ]
    );
}

#[tokio::test]
async fn a_client_away_during_changes_catches_up_on_each_exactly_once() {
    let (server, _) = server_with_clock().await;
    let (mut ana, mut bo) = two_in_a_room(&server).await;
    let old = ana.say("r", "old news", "a1").await;
    let doomed = ana.say("r", "regrettable", "a2").await;
    let last_seen = match bo
        .recv_until(|f| matches!(f, ServerFrame::Message(m) if m.seq == doomed))
        .await
    {
        ServerFrame::Message(m) => m.seq,
        _ => unreachable!(),
    };
    let token = bo.resume.clone();
    bo.vanish();
    change(&mut ana, edit(old, "old news, corrected"))
        .await
        .unwrap();
    change(&mut ana, react(old, "👀", true)).await.unwrap();
    change(&mut ana, delete(doomed)).await.unwrap();
    let new = ana.say("r", "fresh", "a3").await;
    let mut back = server.client().await;
    back.resume = token;
    back.hello("bo").await;
    back.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(last_seen),
    })
    .await;
    let ServerFrame::Joined { history, more, .. } = back
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    else {
        unreachable!()
    };
    assert!(!more);
    let kinds: Vec<(&str, u64)> = history
        .iter()
        .map(|e| match e {
            RoomEvent::Message(m) => ("message", m.seq),
            RoomEvent::Edited(e) => ("edited", e.target),
            RoomEvent::Deleted(d) => ("deleted", d.target),
            RoomEvent::Reacted(r) => ("reacted", r.target),
            other => panic!("no moderation here: {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("edited", old),
            ("reacted", old),
            ("deleted", doomed),
            ("message", new)
        ]
    );
    let seqs: Vec<u64> = history.iter().map(RoomEvent::seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap: {seqs:?}"
    );
    // Applied to what it had, the view is the room's current state.
    let mut view = [
        ChatMessage {
            seq: old,
            nick: "ana".into(),
            text: "old news".into(),
            ..ChatMessage::default()
        },
        ChatMessage {
            seq: doomed,
            nick: "ana".into(),
            text: "regrettable".into(),
            ..ChatMessage::default()
        },
    ];
    for event in &history {
        for message in view.iter_mut() {
            message.apply(event);
        }
    }
    assert_eq!(view[0].text, "old news, corrected");
    assert_eq!(view[0].reactions.len(), 1);
    assert!(view[1].deleted);
    // And then live, nothing twice.
    ana.say("r", "live", "a4").await;
    assert!(matches!(back.recv().await, ServerFrame::Message(m) if m.text == "live"));
}

#[tokio::test]
async fn search_finds_words_in_joined_rooms_only_with_offsets_and_pages() {
    let (server, _) = server_with_clock().await;
    let (mut ana, _bo) = two_in_a_room(&server).await;
    let mut other = server.hello("other").await;
    other.join("secret").await;
    other.say("secret", "release plans, secret", "o1").await;
    for i in 0..3 {
        ana.say("r", &format!("Release {i} is out"), &format!("a{i}"))
            .await;
    }
    let search = |query: &str, room: Option<&str>, before: Option<u64>| ClientFrame::Search {
        query: query.into(),
        room: room.map(str::to_owned),
        nick: None,
        before,
        limit: Some(2),
        id: Some("q".into()),
    };
    ana.send(search("rel", None, None)).await;
    let ServerFrame::SearchResults {
        id,
        hits,
        more,
        next,
    } = ana
        .recv_until(|f| matches!(f, ServerFrame::SearchResults { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(id.as_deref(), Some("q"));
    assert_eq!(
        hits.iter().map(|h| h.text.as_str()).collect::<Vec<_>>(),
        vec!["Release 2 is out", "Release 1 is out"]
    );
    assert_eq!(hits[0].matches, vec![[0, 7]]);
    assert!(more);
    ana.send(search("rel", Some("r"), next)).await;
    let ServerFrame::SearchResults { hits, more, .. } = ana
        .recv_until(|f| matches!(f, ServerFrame::SearchResults { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        (hits.len(), more),
        (1, false),
        "the secret room is not searched"
    );
    ana.send(search("rel", Some("secret"), None)).await;
    assert_eq!(
        error_code(
            &ana.recv_until(|f| matches!(f, ServerFrame::Error { .. }))
                .await
        ),
        ErrorCode::NotJoined
    );
    ana.send(search("   ?!", None, None)).await;
    assert_eq!(
        error_code(
            &ana.recv_until(|f| matches!(f, ServerFrame::Error { .. }))
                .await
        ),
        ErrorCode::InvalidQuery
    );
}

#[tokio::test]
async fn changes_count_against_the_send_rate() {
    let mut config = test_config();
    config.limits.rate_burst = 3;
    config.limits.rate_per_sec = 1;
    let server = TestServer::start(config).await;
    let mut ana = server.hello("ana").await;
    ana.join("r").await;
    let seq = ana.say("r", "one", "a1").await;
    assert!(change(&mut ana, react(seq, "👍", true)).await.is_ok());
    assert!(change(&mut ana, edit(seq, "one!")).await.is_ok());
    assert_eq!(
        change(&mut ana, react(seq, "🎉", true)).await,
        Err(ErrorCode::RateLimited)
    );
}

#[tokio::test]
async fn a_fresh_join_read_from_the_store_shows_the_current_state() {
    let mut config = test_config();
    config.limits.room_cache = 1;
    common::unlimited(&mut config.limits);
    let server = TestServer::start(config).await;
    let mut ana = server.hello("ana").await;
    ana.join("r").await;
    let first = ana.say("r", "first", "a1").await;
    change(&mut ana, edit(first, "first, edited"))
        .await
        .unwrap();
    change(&mut ana, react(first, "✅", true)).await.unwrap();
    ana.say("r", "second", "a2").await;
    let mut late = server.hello("late").await;
    let ServerFrame::Joined { history, .. } = late.join("r").await else {
        panic!()
    };
    let messages = messages_of(history);
    assert_eq!(messages.len(), 2, "only messages, in their current state");
    assert_eq!(
        (messages[0].text.as_str(), messages[0].reactions.len()),
        ("first, edited", 1)
    );
    assert!(messages[0].edited_ts.is_some());
}
