use parley_protocol::ServerFrame;

use super::*;
use crate::outbox::{outbox, OutboxReceiver};

fn message(seq: u64) -> ChatMessage {
    ChatMessage {
        room: "r".into(),
        seq,
        nick: "n".into(),
        text: "t".into(),
        ts: seq,
        cid: None,
    }
}

fn who(id: SessionId, nick: &str) -> Identity {
    Identity {
        id,
        nick: nick.into(),
        attachment: 1,
    }
}

/// Every frame queued so far, decoded.
fn drain(rx: &mut OutboxReceiver) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while let Some(frame) = rx.try_recv() {
        frames.push(serde_json::from_str(frame.as_str()).unwrap());
    }
    frames
}

/// Room limits keeping `messages` messages and plenty of bytes.
fn limits(messages: usize) -> RoomLimits {
    RoomLimits {
        cache_messages: messages,
        cache_bytes: 1 << 20,
        all_caches: SharedBytes::new(1 << 30),
        reply_bytes: 1 << 20,
    }
}

fn seqs(p: Page) -> (Vec<u64>, bool) {
    (p.messages.iter().map(|m| m.seq).collect(), p.more)
}

#[test]
fn broadcast_skips_the_sender_and_absent_members_and_holds_back_for_joiners() {
    let room = Room::new("r".into(), 5, vec![], limits(10));
    let (a, mut a_rx) = outbox(8, 1 << 20);
    let (b, mut b_rx) = outbox(8, 1 << 20);
    let (c, mut c_rx) = outbox(8, 1 << 20);
    let (away, _away_rx) = outbox(8, 1 << 20);
    let mut state = room.lock();
    for (id, nick, out) in [(1, "a", &a), (2, "b", &b), (3, "away", &away)] {
        assert_eq!(
            state.admit("r", &who(id, nick), out, 5, 10, 1),
            Some(Admission::Answered)
        );
    }
    assert!(state.point_outbox(3, None));
    // The cache is empty and the room has 5 messages: c's history is read.
    let Some(Admission::Read(join)) = state.admit("r", &who(4, "c"), &c, 0, 10, 1) else {
        panic!("expected a read");
    };
    assert_eq!((join.after, join.upto, join.added), (0, 5, true));
    drain(&mut a_rx);
    drain(&mut b_rx);
    assert_eq!(
        state.broadcast(Some(1), &"{}".into(), 1),
        2,
        "b, and c held back"
    );
    assert_eq!(state.nicks(), vec!["a", "away", "b", "c"]);
    assert_eq!(b_rx.try_recv().unwrap().as_str(), "{}");
    assert!(a_rx.try_recv().is_none(), "not the sender");
    assert!(c_rx.try_recv().is_none(), "held back");
    state.broadcast(Some(1), &"{}".into(), 1);
    assert!(
        c_rx.overflowed.is_cancelled(),
        "a backlog past its cap counts as too slow"
    );
}

#[test]
fn a_join_read_from_the_store_gets_joined_first_then_what_was_held_back() {
    let room = Room::new("r".into(), 3, vec![], limits(10));
    let (a, mut a_rx) = outbox(8, 1 << 20);
    let (b, mut b_rx) = outbox(8, 1 << 20);
    let mut state = room.lock();
    assert_eq!(
        state.admit("r", &who(1, "a"), &a, 3, 10, 8),
        Some(Admission::Answered)
    );
    let Some(Admission::Read(join)) = state.admit("r", &who(2, "b"), &b, 0, 10, 8) else {
        panic!("expected a read");
    };
    assert!(matches!(
        drain(&mut a_rx).as_slice(),
        [
            ServerFrame::Joined { .. },
            ServerFrame::Presence {
                event: PresenceEvent::Join,
                ..
            }
        ]
    ));
    let live = encode(&ServerFrame::Message(message(4)));
    state.record(message(4));
    state.broadcast(Some(1), &live, 8);
    let page = Page {
        messages: (1..=3).map(message).collect(),
        more: false,
    };
    assert!(state.complete_join("r", 2, join, page.clone()));
    let frames = drain(&mut b_rx);
    assert!(
        matches!(&frames[..], [ServerFrame::Joined { last_seq: 3, history, .. }, ServerFrame::Message(m)] if history.len() == 3 && m.seq == 4),
        "{frames:?}"
    );
    assert!(!state.complete_join("r", 2, join, page), "only once");
}

#[test]
fn a_newer_join_overtakes_an_older_one_still_reading() {
    let room = Room::new("r".into(), 3, vec![], limits(10));
    let (b, mut b_rx) = outbox(8, 1 << 20);
    let mut state = room.lock();
    let Some(Admission::Read(first)) = state.admit("r", &who(2, "b"), &b, 0, 10, 8) else {
        panic!("expected a read");
    };
    let Some(Admission::Read(second)) = state.admit("r", &who(2, "b"), &b, 1, 10, 8) else {
        panic!("expected a read");
    };
    assert!(!second.added, "already a member");
    assert!(!state.complete_join("r", 2, first, Page::default()));
    assert_eq!(state.undo_join("r", 2, first, 8), Undone::Nothing);
    assert!(drain(&mut b_rx).is_empty());
    assert!(state.complete_join("r", 2, second, Page::default()));
    assert_eq!(drain(&mut b_rx).len(), 1);
}

#[test]
fn undoing_a_join_removes_the_member_it_added_and_keeps_one_that_was_there() {
    let room = Room::new("r".into(), 3, vec![], limits(10));
    let (a, mut a_rx) = outbox(8, 1 << 20);
    let (b, mut b_rx) = outbox(8, 1 << 20);
    let mut state = room.lock();
    state.admit("r", &who(1, "a"), &a, 3, 10, 8);
    let Some(Admission::Read(join)) = state.admit("r", &who(2, "b"), &b, 0, 10, 8) else {
        panic!("expected a read");
    };
    drain(&mut a_rx);
    assert_eq!(state.undo_join("r", 2, join, 8), Undone::Removed);
    assert_eq!(state.nicks(), vec!["a"]);
    assert!(!state.is_member(2));
    assert!(matches!(
        drain(&mut a_rx).as_slice(),
        [ServerFrame::Presence {
            event: PresenceEvent::Leave,
            ..
        }]
    ));
    // A member re-joining keeps its place and gets what was held back.
    let Some(Admission::Read(rejoin)) = state.admit("r", &who(1, "a"), &a, 0, 10, 8) else {
        panic!("expected a read");
    };
    state.broadcast(None, &"{}".into(), 8);
    assert!(a_rx.try_recv().is_none(), "held back");
    assert_eq!(state.undo_join("r", 1, rejoin, 8), Undone::Released);
    assert_eq!(a_rx.try_recv().unwrap().as_str(), "{}");
    assert!(state.is_member(1));
    assert!(!state.close_if_empty());
    assert!(drain(&mut b_rx).is_empty() || !state.is_member(2));
}

#[test]
fn a_closed_room_admits_nobody() {
    let room = Room::new("r".into(), 0, vec![], limits(10));
    let (a, _a_rx) = outbox(8, 1 << 20);
    let mut state = room.lock();
    assert!(state.close_if_empty());
    assert!(!state.close_if_empty(), "only once");
    assert_eq!(state.admit("r", &who(1, "a"), &a, 0, 10, 8), None);
    assert!(!state.is_member(1));
}

#[tokio::test(start_paused = true)]
async fn typing_is_relayed_at_most_once_per_throttle_until_a_send() {
    let room = Room::new("r".into(), 0, vec![], limits(10));
    let (a, mut a_rx) = outbox(8, 1 << 20);
    let (b, mut b_rx) = outbox(8, 1 << 20);
    {
        let mut state = room.lock();
        state.admit("r", &who(1, "a"), &a, 0, 10, 8);
        state.admit("r", &who(2, "b"), &b, 0, 10, 8);
        drain(&mut a_rx);
        drain(&mut b_rx);
        let hour = Duration::from_secs(3600);
        state.typing("r", &who(1, "a"), hour, 8);
        state.typing("r", &who(1, "a"), hour, 8);
        assert_eq!(drain(&mut b_rx).len(), 1);
        assert!(drain(&mut a_rx).is_empty(), "not to the typist");
        state.stopped_typing(1);
        state.typing("r", &who(1, "a"), hour, 8);
        assert_eq!(drain(&mut b_rx).len(), 1);
    }
    // Exactly one throttle later, the next one is relayed.
    let second = Duration::from_secs(1);
    let typing = |room: &Room| room.lock().typing("r", &who(2, "b"), second, 8);
    typing(&room);
    drain(&mut a_rx);
    tokio::time::advance(second - Duration::from_millis(1)).await;
    typing(&room);
    assert!(drain(&mut a_rx).is_empty());
    tokio::time::advance(Duration::from_millis(1)).await;
    typing(&room);
    assert_eq!(drain(&mut a_rx).len(), 1);
}

#[test]
fn the_cache_answers_only_what_it_fully_holds() {
    let room = Room::new("r".into(), 5, (3..=5).map(message).collect(), limits(3));
    let mut state = room.lock();
    assert_eq!(state.cached_after(5, 10).map(seqs), Some((vec![], false)));
    assert_eq!(
        state.cached_after(3, 10).map(seqs),
        Some((vec![4, 5], false))
    );
    assert_eq!(state.cached_after(0, 2).map(seqs), Some((vec![4, 5], true)));
    assert_eq!(state.cached_after(1, 10).map(seqs), None);
    state.record(message(6));
    assert_eq!(
        state.cached_after(2, 10).map(seqs),
        None,
        "seq 3 fell out of the cache"
    );
    assert_eq!(
        state.cached_after(3, 10).map(seqs),
        Some((vec![4, 5, 6], false))
    );
    state.record(message(9));
    assert_eq!(
        state.cached_after(7, 10).map(seqs),
        None,
        "a gap empties the cache"
    );
    assert_eq!(state.last_seq(), 9);
}

#[test]
fn a_cache_that_is_not_contiguous_is_not_used() {
    let room = Room::new(
        "r".into(),
        6,
        vec![message(3), message(5), message(6)],
        limits(3),
    );
    assert_eq!(room.lock().cached_after(4, 10), None);
    let room = Room::new("r".into(), 7, (3..=5).map(message).collect(), limits(3));
    assert_eq!(
        room.lock().cached_after(4, 10),
        None,
        "does not end at last_seq"
    );
}

#[test]
fn caches_are_bounded_in_bytes_per_room_and_in_all() {
    let big = |seq: u64| ChatMessage {
        text: "x".repeat(1000),
        ..message(seq)
    };
    let all = SharedBytes::new(10_000);
    let room_limits = RoomLimits {
        cache_messages: 1000,
        cache_bytes: 3 * (cache_cost(&big(1))),
        all_caches: all.clone(),
        reply_bytes: 1 << 20,
    };
    let a = Room::new("a".into(), 0, vec![], room_limits.clone());
    for seq in 1..=10 {
        a.lock().record(big(seq));
    }
    assert_eq!(a.lock().cached_after(0, 100).map(seqs), None);
    assert_eq!(
        a.lock().cached_after(7, 100).map(seqs),
        Some((vec![8, 9, 10], false)),
        "three fit"
    );
    let used_by_a = all.used();
    let b = Room::new(
        "b".into(),
        0,
        vec![],
        RoomLimits {
            cache_bytes: 1 << 20,
            ..room_limits
        },
    );
    for seq in 1..=20 {
        b.lock().record(big(seq));
    }
    assert!(
        all.used() <= 10_000,
        "all caches together stay under their cap"
    );
    assert!(
        b.lock().cached_after(19, 100).is_some(),
        "the newest is kept"
    );
    drop(a);
    assert!(
        all.used() <= 10_000 - used_by_a,
        "a closed room gives its bytes back"
    );
    drop(b);
    assert_eq!(all.used(), 0);
}

#[test]
fn a_reply_keeps_its_newest_messages_that_fit() {
    let page = Page {
        messages: (1..=10).map(message).collect(),
        more: false,
    };
    let one = reply_cost(&message(1));
    assert_eq!(seqs(fit(page.clone(), 3 * one)), (vec![8, 9, 10], true));
    assert_eq!(
        seqs(fit(page.clone(), 100 * one)),
        ((1..=10).collect(), false)
    );
    assert_eq!(seqs(fit(page, 0)), (vec![], true));
    let json = ServerFrame::Message(ChatMessage {
        text: "\"quoted\"\n".repeat(50),
        cid: Some("c-1".into()),
        ..message(1)
    })
    .to_json();
    assert!(
        json.len()
            <= reply_cost(&ChatMessage {
                text: "\"quoted\"\n".repeat(50),
                cid: Some("c-1".into()),
                ..message(1)
            })
    );
}
