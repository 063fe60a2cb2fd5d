//! The app's behaviour, natively (actions in, state and commands out).
//! What a room shows: order, grouping, unread counts, typing, presence, scrollback.

mod common;

use common::*;

#[test]
fn out_of_order_arrivals_are_shown_in_seq_order() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Message(message("rust", 5, "mina", "b", None))),
        T0,
    );
    reduce(
        &mut state,
        Action::Frame(ServerFrame::History {
            room: "rust".into(),
            messages: vec![message("rust", 3, "mina", "a", None)],
            more: true,
        }),
        T0,
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(3), Some(5)]);
    assert!(state.room("rust").unwrap().more_before);
}

#[test]
fn unread_counts_only_rooms_not_shown() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    assert_eq!(state.active.as_deref(), Some("go"));
    reduce(&mut state, joined("go", vec![], false), T0);
    for seq in 1..=3 {
        reduce(
            &mut state,
            Action::Frame(ServerFrame::Message(message(
                "rust", seq, "mina", "hi", None,
            ))),
            T0,
        );
    }
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Message(message("go", 1, "mina", "hi", None))),
        T0,
    );
    assert_eq!(
        (
            state.room("rust").unwrap().unread,
            state.room("go").unwrap().unread,
            state.unread_total()
        ),
        (3, 0, 3)
    );
    reduce(&mut state, Action::SelectRoom("rust".into()), T0);
    assert_eq!(state.unread_total(), 0);
}

#[test]
fn a_hidden_page_counts_the_shown_room_as_unread_until_it_is_seen() {
    let mut state = online_in("rust");
    let hi = |seq| {
        Action::Frame(ServerFrame::Message(message(
            "rust", seq, "mina", "hi", None,
        )))
    };
    reduce(&mut state, hi(1), T0);
    assert_eq!(state.unread_total(), 0, "shown and in view");
    reduce(&mut state, Action::Visible(false), T0);
    reduce(&mut state, hi(2), T0);
    reduce(&mut state, hi(3), T0);
    assert_eq!(state.unread_total(), 2);
    reduce(&mut state, Action::Visible(true), T0);
    assert_eq!(state.unread_total(), 0);
}

#[test]
fn consecutive_messages_of_one_author_are_grouped() {
    let mut state = online_in("rust");
    for (seq, nick) in [(1, "mina"), (2, "mina"), (3, "joon"), (4, "mina")] {
        reduce(
            &mut state,
            Action::Frame(ServerFrame::Message(message("rust", seq, nick, "hi", None))),
            T0,
        );
    }
    let room = state.room("rust").unwrap();
    assert_eq!(
        (0..4).map(|i| room.continues(i)).collect::<Vec<_>>(),
        vec![false, true, false, false]
    );
}

#[test]
fn typing_indicators_expire_and_clear_on_message_or_leave() {
    let mut state = online_in("rust");
    let typing = |nick: &str| {
        Action::Frame(ServerFrame::Typing {
            room: "rust".into(),
            nicks: vec![nick.into()],
            count: 1,
        })
    };
    reduce(&mut state, typing("mina"), T0);
    reduce(&mut state, typing("joon"), T0);
    reduce(&mut state, typing("ana"), T0 + 5000.0);
    assert_eq!(
        state.room("rust").unwrap().typing_nicks(),
        vec!["mina", "joon", "ana"]
    );
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Message(message(
            "rust", 1, "mina", "done", None,
        ))),
        T0,
    );
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Presence {
            room: "rust".into(),
            joined: vec![],
            left: vec!["joon".into()],
            count: 2,
        }),
        T0,
    );
    assert_eq!(state.room("rust").unwrap().typing_nicks(), vec!["ana"]);
    reduce(&mut state, Action::Tick, T0 + 11_001.0);
    assert!(state.room("rust").unwrap().typing_nicks().is_empty());
}

#[test]
fn typing_frames_are_throttled() {
    let mut state = online_in("rust");
    let sent = |state: &mut State, at: f64| reduce(state, Action::Typing("rust".into()), at).len();
    assert_eq!(sent(&mut state, T0), 1);
    assert_eq!(sent(&mut state, T0 + 500.0), 0);
    assert_eq!(sent(&mut state, T0 + 2500.0), 1);
}

#[test]
fn scrolling_to_the_top_asks_for_one_older_page_at_a_time() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        joined("rust", vec![message("rust", 51, "mina", "x", None)], true),
        T0,
    );
    let first = reduce(&mut state, Action::LoadOlder("rust".into()), T0);
    assert_eq!(
        first,
        vec![Command::Send(ClientFrame::History {
            room: "rust".into(),
            before: 51,
            limit: Some(50)
        })]
    );
    assert!(
        reduce(&mut state, Action::LoadOlder("rust".into()), T0).is_empty(),
        "one page at a time"
    );
}

#[test]
fn system_lines_mark_joins_and_leaves_and_members_update() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Presence {
            room: "rust".into(),
            joined: vec!["joon".into(), "mina".into()],
            left: vec!["ghost".into()],
            count: 3,
        }),
        T0,
    );
    let room = state.room("rust").unwrap();
    assert_eq!(room.members.known, vec!["joon", "me", "mina"]);
    assert_eq!(room.members.count, 3);
    let system: Vec<_> = room
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::System { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(system, vec!["joon joined"], "only real changes make lines");
}

#[test]
fn my_own_typing_is_not_shown_and_a_crowd_is_several_people() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Typing {
            room: "rust".into(),
            nicks: vec!["me".into(), "mina".into()],
            count: 2,
        }),
        T0,
    );
    let room = state.room("rust").unwrap();
    assert_eq!(room.typing_nicks(), vec!["mina"]);
    assert!(!room.typing_crowd());
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Typing {
            room: "rust".into(),
            nicks: (0..5).map(|i| format!("n{i}")).collect(),
            count: 40,
        }),
        T0,
    );
    assert!(state.room("rust").unwrap().typing_crowd());
    reduce(&mut state, Action::Tick, T0 + 7000.0);
    assert!(
        !state.room("rust").unwrap().typing_crowd(),
        "it expires too"
    );
}

#[test]
fn a_large_room_pages_and_searches_its_members() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Joined {
            room: "rust".into(),
            members: vec!["a".into(), "b".into()],
            member_count: 5000,
            members_more: true,
            history: vec![],
            more: false,
            last_seq: 0,
            settings: Default::default(),
        }),
        T0,
    );
    assert_eq!(
        reduce(&mut state, Action::MoreMembers("rust".into()), T0),
        vec![Command::Send(ClientFrame::Members {
            room: "rust".into(),
            prefix: None,
            after: Some("b".into()),
            limit: None,
        })]
    );
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Members {
            room: "rust".into(),
            members: vec!["c".into()],
            more: true,
            count: 5000,
        }),
        T0,
    );
    assert_eq!(
        state.room("rust").unwrap().members.known,
        vec!["a", "b", "c"]
    );
    let search = reduce(
        &mut state,
        Action::SearchMembers {
            room: "rust".into(),
            prefix: "zo".into(),
        },
        T0,
    );
    assert!(
        matches!(&search[..], [Command::Send(ClientFrame::Members { prefix: Some(p), .. })] if p == "zo")
    );
    // A presence in a large room names nobody: no line, just the count.
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Presence {
            room: "rust".into(),
            joined: vec![],
            left: vec![],
            count: 5001,
        }),
        T0,
    );
    let room = state.room("rust").unwrap();
    assert_eq!(room.members.count, 5001);
    assert!(room.lines.iter().all(|l| !matches!(l, Line::System { .. })));
}

#[test]
fn a_large_room_that_lists_nobody_in_joined_is_asked_for_its_first_page() {
    let mut state = online_in("rust");
    let joined = |more| {
        Action::Frame(ServerFrame::Joined {
            room: "rust".into(),
            members: vec![],
            member_count: 19_000,
            members_more: more,
            history: vec![],
            more: false,
            last_seq: 0,
            settings: Default::default(),
        })
    };
    let asked = reduce(&mut state, joined(true), T0);
    assert!(
        asked.contains(&Command::Send(ClientFrame::Members {
            room: "rust".into(),
            prefix: None,
            after: None,
            limit: None,
        })),
        "{asked:?}"
    );
    assert!(state.room("rust").unwrap().members.loading_more());
    // An empty room with nobody more to list asks nothing.
    let mut state = online_in("rust");
    let asked = reduce(&mut state, joined(false), T0);
    assert!(
        !asked
            .iter()
            .any(|c| matches!(c, Command::Send(ClientFrame::Members { .. }))),
        "{asked:?}"
    );
}
