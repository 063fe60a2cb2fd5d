use parley_protocol::{ChatMessage, Deleted, Edited, RoomEvent, ServerFrame};

use super::*;
use crate::outbox::{outbox, OutboxReceiver};

fn message(seq: u64) -> ChatMessage {
    ChatMessage {
        room: "r".into(),
        seq,
        nick: "n".into(),
        text: "t".into(),
        ts: seq,
        ..ChatMessage::default()
    }
}

fn event(seq: u64) -> RoomEvent {
    RoomEvent::Message(message(seq))
}

fn who(id: SessionId, nick: &str) -> Identity {
    Identity {
        id,
        nick: nick.into(),
        attachment: 1,
    }
}

/// Room limits keeping `messages` messages, plenty of bytes, a backlog of
/// 8 frames, and rooms large from 1,000 members.
fn limits(messages: usize) -> RoomLimits {
    RoomLimits {
        cache_messages: messages,
        cache_bytes: 1 << 20,
        all_caches: SharedBytes::new(1 << 30),
        reply_bytes: 1 << 20,
        large_room: 1000,
        large_room_every: Duration::from_secs(2),
        member_page: 100,
        backlog: 8,
    }
}

fn room(last_seq: u64, recent: Vec<RoomEvent>, cache: usize) -> Room {
    Room::new("r".into(), last_seq, recent, limits(cache))
}

fn queue() -> (Outbox, OutboxReceiver) {
    outbox(64, 1 << 20)
}

/// Every frame queued so far, decoded.
fn drain(rx: &mut OutboxReceiver) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while let Some(frame) = rx.try_recv() {
        frames.push(serde_json::from_str(frame.as_str()).unwrap());
    }
    frames
}

fn seqs(p: Page<RoomEvent>) -> (Vec<u64>, bool) {
    (p.items.iter().map(RoomEvent::seq).collect(), p.more)
}

#[test]
fn broadcast_skips_the_sender_and_absent_members_and_holds_back_for_joiners() {
    let room = room(5, vec![], 10);
    let (a, mut a_rx) = queue();
    let (b, mut b_rx) = queue();
    let (c, mut c_rx) = queue();
    let (away, _away_rx) = queue();
    let mut state = room.lock();
    for (id, nick, out) in [(1, "a", &a), (2, "b", &b), (3, "away", &away)] {
        assert_eq!(
            state.admit(&who(id, nick), out, Wanted::After(5, 10)),
            Some(JoinAnswer::Answered)
        );
    }
    assert!(state.point_outbox(3, None));
    // The cache is empty and the room has 5 messages: c's history is read.
    let Some(JoinAnswer::Read(join)) = state.admit(&who(4, "c"), &c, Wanted::After(0, 10)) else {
        panic!("expected a read");
    };
    assert_eq!(
        (join.wanted, join.upto, join.added),
        (Wanted::After(0, 10), 5, true)
    );
    drain(&mut a_rx);
    drain(&mut b_rx);
    assert_eq!(
        state.broadcast(Some(1), &"{}".into()),
        2,
        "b, and c held back"
    );
    assert_eq!(
        state.members_page("", None, 10),
        (
            vec!["a".into(), "away".into(), "b".into(), "c".into()],
            false
        )
    );
    assert_eq!(b_rx.try_recv().unwrap().as_str(), "{}");
    assert!(a_rx.try_recv().is_none(), "not the sender");
    assert!(c_rx.try_recv().is_none(), "held back");
    for _ in 0..8 {
        state.broadcast(Some(1), &"{}".into());
    }
    assert!(
        c_rx.overflowed.is_cancelled(),
        "a backlog past its cap counts as too slow"
    );
}

#[test]
fn a_join_read_from_the_store_gets_joined_first_then_what_was_held_back() {
    let room = room(3, vec![], 10);
    let (a, mut a_rx) = queue();
    let (b, mut b_rx) = queue();
    let mut state = room.lock();
    assert_eq!(
        state.admit(&who(1, "a"), &a, Wanted::After(3, 10)),
        Some(JoinAnswer::Answered)
    );
    let Some(JoinAnswer::Read(join)) = state.admit(&who(2, "b"), &b, Wanted::After(0, 10)) else {
        panic!("expected a read");
    };
    assert!(matches!(
        drain(&mut a_rx).as_slice(),
        [ServerFrame::Joined {
            member_count: 1,
            ..
        }]
    ));
    let live = encode(&ServerFrame::Message(message(4)));
    state.record(event(4));
    state.broadcast(Some(1), &live);
    let page = Page {
        items: (1..=3).map(event).collect(),
        more: false,
    };
    assert!(state.complete_join(2, join, page.clone()));
    let frames = drain(&mut b_rx);
    assert!(
        matches!(&frames[..], [ServerFrame::Joined { last_seq: 3, history, member_count: 2, .. }, ServerFrame::Message(m)] if history.len() == 3 && m.seq == 4),
        "{frames:?}"
    );
    assert!(!state.complete_join(2, join, page), "only once");
}

#[test]
fn a_newer_join_overtakes_an_older_one_still_reading() {
    let room = room(3, vec![], 10);
    let (b, mut b_rx) = queue();
    let mut state = room.lock();
    let Some(JoinAnswer::Read(first)) = state.admit(&who(2, "b"), &b, Wanted::After(0, 10)) else {
        panic!("expected a read");
    };
    let Some(JoinAnswer::Read(second)) = state.admit(&who(2, "b"), &b, Wanted::After(1, 10)) else {
        panic!("expected a read");
    };
    assert!(!second.added, "already a member");
    assert!(!state.complete_join(2, first, Page::default()));
    assert_eq!(state.undo_join(2, first), Undone::Nothing);
    assert!(drain(&mut b_rx).is_empty());
    assert!(state.complete_join(2, second, Page::default()));
    assert_eq!(drain(&mut b_rx).len(), 1);
}

#[test]
fn undoing_a_join_removes_the_member_it_added_and_keeps_one_that_was_there() {
    let room = room(3, vec![], 10);
    let (a, mut a_rx) = queue();
    let (b, _b_rx) = queue();
    let mut state = room.lock();
    state.admit(&who(1, "a"), &a, Wanted::After(3, 10));
    state.flush();
    let Some(JoinAnswer::Read(join)) = state.admit(&who(2, "b"), &b, Wanted::After(0, 10)) else {
        panic!("expected a read");
    };
    drain(&mut a_rx);
    assert_eq!(state.undo_join(2, join), Undone::Removed);
    assert_eq!(state.members_page("", None, 10).0, vec!["a"]);
    assert!(!state.is_member(2));
    state.flush();
    assert!(
        drain(&mut a_rx).is_empty(),
        "joined and left within one interval: nothing to tell"
    );
    // A member re-joining keeps its place and gets what was held back.
    let Some(JoinAnswer::Read(rejoin)) = state.admit(&who(1, "a"), &a, Wanted::After(0, 10)) else {
        panic!("expected a read");
    };
    state.broadcast(None, &"{}".into());
    assert!(a_rx.try_recv().is_none(), "held back");
    assert_eq!(state.undo_join(1, rejoin), Undone::Released);
    assert_eq!(a_rx.try_recv().unwrap().as_str(), "{}");
    assert!(state.is_member(1));
    assert!(!state.close_if_empty());
}

#[test]
fn a_closed_room_admits_nobody() {
    let room = room(0, vec![], 10);
    let (a, _a_rx) = queue();
    let mut state = room.lock();
    assert!(state.close_if_empty());
    assert!(!state.close_if_empty(), "only once");
    assert_eq!(state.admit(&who(1, "a"), &a, Wanted::After(0, 10)), None);
    assert!(!state.is_member(1));
}

#[test]
fn joins_leaves_and_typing_are_told_once_per_flush_to_everyone() {
    let room = room(0, vec![], 10);
    let (a, mut a_rx) = queue();
    let (b, mut b_rx) = queue();
    let mut state = room.lock();
    state.admit(&who(1, "a"), &a, Wanted::After(0, 10));
    assert!(state.needs_flush());
    assert!(!state.needs_flush(), "listed once until flushed");
    state.admit(&who(2, "b"), &b, Wanted::After(0, 10));
    state.typing(&who(2, "b"));
    state.typing(&who(9, "stranger"));
    assert_eq!(state.flush(), 4, "a presence and a typing frame, to both");
    drain(&mut a_rx).retain(|f| !matches!(f, ServerFrame::Joined { .. }));
    let frames: Vec<_> = drain(&mut b_rx)
        .into_iter()
        .filter(|f| !matches!(f, ServerFrame::Joined { .. }))
        .collect();
    assert_eq!(
        frames,
        vec![
            ServerFrame::Presence {
                room: "r".into(),
                joined: vec!["a".into(), "b".into()],
                left: vec![],
                count: 2
            },
            ServerFrame::Typing {
                room: "r".into(),
                nicks: vec!["b".into()],
                count: 1
            },
        ]
    );
    assert_eq!(state.flush(), 0, "nothing twice");
    state.typing(&who(1, "a"));
    assert_eq!(state.flush(), 2, "a typing frame alone, to both");
    drain(&mut a_rx);
    drain(&mut b_rx);
    state.typing(&who(1, "a"));
    state.stopped_typing(&who(1, "a"));
    assert!(
        !state.needs_flush(),
        "a send ends the typing before anyone hears of it"
    );
    state.remove(2);
    assert!(state.needs_flush());
    state.flush();
    assert_eq!(
        drain(&mut a_rx),
        vec![ServerFrame::Presence {
            room: "r".into(),
            joined: vec![],
            left: vec!["b".into()],
            count: 1
        }]
    );
}

#[test]
fn a_large_room_tells_only_its_count_and_joins_list_nobody() {
    let room = Room::new(
        "r".into(),
        0,
        vec![],
        RoomLimits {
            large_room: 5,
            member_page: 3,
            ..limits(10)
        },
    );
    let (a, mut a_rx) = queue();
    let mut state = room.lock();
    for i in 0..6 {
        state.admit(&who(i, &format!("n{i}")), &a, Wanted::After(0, 10));
    }
    let frames = drain(&mut a_rx);
    let joined: Vec<(usize, u64, bool)> = frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Joined {
                members,
                member_count,
                members_more,
                ..
            } => Some((members.len(), *member_count, *members_more)),
            _ => None,
        })
        .collect();
    assert_eq!(
        joined,
        [
            (1, 1, false),
            (2, 2, false),
            (3, 3, false),
            (3, 4, true), // one page
            (0, 5, true), // large: nobody
            (0, 6, true)
        ],
        "{frames:?}"
    );
    state.flush();
    let count_only = ServerFrame::Presence {
        room: "r".into(),
        joined: vec![],
        left: vec![],
        count: 6,
    };
    assert_eq!(
        drain(&mut a_rx),
        vec![count_only; 6],
        "one each (all six share this queue)"
    );
    assert_eq!(
        state.members_page("n", Some("n2"), 10),
        (vec!["n3".into(), "n4".into(), "n5".into()], false)
    );
}

#[test]
fn the_cache_answers_only_what_it_fully_holds() {
    let room = room(5, (3..=5).map(event).collect(), 3);
    let mut state = room.lock();
    assert_eq!(
        state.cached(Wanted::After(5, 10)).map(seqs),
        Some((vec![], false))
    );
    assert_eq!(
        state.cached(Wanted::After(3, 10)).map(seqs),
        Some((vec![4, 5], false))
    );
    assert_eq!(
        state.cached(Wanted::After(0, 2)).map(seqs),
        Some((vec![4, 5], true))
    );
    assert_eq!(state.cached(Wanted::After(1, 10)).map(seqs), None);
    state.record(event(6));
    assert_eq!(
        state.cached(Wanted::After(2, 10)).map(seqs),
        None,
        "seq 3 fell out of the cache"
    );
    assert_eq!(
        state.cached(Wanted::After(3, 10)).map(seqs),
        Some((vec![4, 5, 6], false))
    );
    state.record(event(9));
    assert_eq!(
        state.cached(Wanted::After(7, 10)).map(seqs),
        None,
        "a gap empties the cache"
    );
    assert_eq!(state.last_seq(), 9);
}

#[test]
fn a_cache_that_is_not_contiguous_is_not_used() {
    let room = room(6, vec![event(3), event(5), event(6)], 3);
    assert_eq!(room.lock().cached(Wanted::After(4, 10)), None);
    let room = room_ending_elsewhere();
    assert_eq!(
        room.lock().cached(Wanted::After(4, 10)),
        None,
        "does not end at last_seq"
    );
}

fn room_ending_elsewhere() -> Room {
    room(7, (3..=5).map(event).collect(), 3)
}

#[test]
fn caches_are_bounded_in_bytes_per_room_and_in_all() {
    let big = |seq: u64| {
        RoomEvent::Message(ChatMessage {
            text: "x".repeat(1000),
            ..message(seq)
        })
    };
    let all = SharedBytes::new(10_000);
    let room_limits = RoomLimits {
        cache_messages: 1000,
        cache_bytes: 3 * cache::cache_cost(&big(1)),
        all_caches: all.clone(),
        ..limits(10)
    };
    let a = Room::new("a".into(), 0, vec![], room_limits.clone());
    for seq in 1..=10 {
        a.lock().record(big(seq));
    }
    assert_eq!(a.lock().cached(Wanted::After(0, 100)).map(seqs), None);
    assert_eq!(
        a.lock().cached(Wanted::After(7, 100)).map(seqs),
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
        b.lock().cached(Wanted::After(19, 100)).is_some(),
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
        items: (1..=10).map(event).collect(),
        more: false,
    };
    let one = cache::reply_cost(&event(1));
    assert_eq!(seqs(fit(page.clone(), 3 * one)), (vec![8, 9, 10], true));
    assert_eq!(
        seqs(fit(page.clone(), 100 * one)),
        ((1..=10).collect(), false)
    );
    assert_eq!(seqs(fit(page, 0)), (vec![], true));
    let escaped = ChatMessage {
        text: "\"quoted\"\n".repeat(50),
        cid: Some("c-1".into()),
        ..message(1)
    };
    let json = ServerFrame::Message(escaped.clone()).to_json();
    assert!(
        json.len() <= cache::reply_cost(&RoomEvent::Message(escaped)),
        "an upper bound"
    );
}

#[test]
fn a_fresh_join_gets_the_newest_messages_in_their_current_state() {
    let room = room(0, vec![], 10);
    let mut state = room.lock();
    for seq in 1..=3 {
        state.record(event(seq));
    }
    let edit = RoomEvent::Edited(Edited {
        room: "r".into(),
        seq: 4,
        target: 2,
        nick: "n".into(),
        text: "fixed".into(),
        mentions: vec![],
        ts: 9,
    });
    state.record(edit);
    state.record(RoomEvent::Deleted(Deleted {
        room: "r".into(),
        seq: 5,
        target: 3,
        nick: "n".into(),
        ts: 9,
    }));
    let page = state.cached(Wanted::Newest(2)).unwrap();
    assert_eq!(seqs(page.clone()), (vec![2, 3], true));
    let RoomEvent::Message(second) = &page.items[0] else {
        panic!()
    };
    assert_eq!((second.text.as_str(), second.edited_ts), ("fixed", Some(9)));
    assert!(matches!(&page.items[1], RoomEvent::Message(m) if m.deleted));
    assert_eq!(
        seqs(state.cached(Wanted::Newest(10)).unwrap()),
        (vec![1, 2, 3], false),
        "the whole history"
    );
    assert_eq!(
        seqs(state.cached(Wanted::After(3, 10)).unwrap()),
        (vec![4, 5], false),
        "a catch-up replays the changes"
    );
    // A cache that does not reach the start cannot tell about older ones.
    let partial = Room::new("r".into(), 9, (7..=9).map(event).collect(), limits(10));
    assert_eq!(partial.lock().cached(Wanted::Newest(5)), None);
    assert_eq!(
        seqs(partial.lock().cached(Wanted::Newest(2)).unwrap()),
        (vec![8, 9], true)
    );
}

#[test]
fn a_new_room_without_history_answers_from_memory_and_an_emptied_cache_does_not() {
    assert_eq!(
        room(0, vec![], 10).lock().cached(Wanted::Newest(5)),
        Some(Page::default())
    );
    assert_eq!(room(4, vec![], 10).lock().cached(Wanted::Newest(5)), None);
}
