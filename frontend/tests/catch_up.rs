//! The app's behaviour, natively (actions in, state and commands out).
//! Changes across reconnects: a catch-up replays edits, deletions and
//! reactions in order, applied exactly once in effect; the reader's own
//! changes that were unanswered when the socket dropped are settled by the
//! catch-up or sent again with their own cids, never lost or doubled.

mod common;

use common::*;

fn live(m: ChatMessage) -> Action {
    frame(ServerFrame::Message(m))
}

/// Drops the socket and comes back (resumed) up to the `welcome`.
fn reconnect(state: &mut State) -> Vec<Command> {
    reduce(
        state,
        Action::SocketClosed {
            retry_at_ms: Some(T0),
        },
        T0,
    );
    reduce(state, Action::SocketOpened, T0);
    let rooms: Vec<String> = state.rooms.iter().map(|r| r.name.clone()).collect();
    let rooms: Vec<&str> = rooms.iter().map(String::as_str).collect();
    reduce(state, welcome("me", &rooms), T0)
}

#[test]
fn a_catch_up_replays_changes_in_order_and_twice_is_the_same_as_once() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        live(message("rust", 1, "mina", "one", None)),
        T0,
    );
    reduce(
        &mut state,
        frame(ServerFrame::Reacted(reacted(
            "rust", 2, 1, "ana", "👍", true,
        ))),
        T0,
    );
    let commands = reconnect(&mut state);
    assert!(frames(&commands).contains(&ClientFrame::Join {
        room: "rust".into(),
        since: Some(2)
    }));
    // Message 3 comes in its current state (already edited, with ana's 🎉),
    // and the changes that made it so follow it, as do later ones to 1.
    let mut three = message("rust", 3, "joon", "three, edited", None);
    three.edited_ts = Some(T0 as u64 + 4);
    three.reactions = vec![Reactions {
        emoji: "🎉".into(),
        count: 1,
        nicks: vec!["ana".into()],
    }];
    let catch_up = vec![
        RoomEvent::Message(three),
        RoomEvent::Edited(edited("rust", 4, 3, "joon", "three, edited")),
        RoomEvent::Reacted(reacted("rust", 5, 3, "ana", "🎉", true)),
        RoomEvent::Reacted(reacted("rust", 6, 1, "ana", "👍", false)),
        RoomEvent::Reacted(reacted("rust", 7, 1, "joon", "👍", true)),
        RoomEvent::Edited(edited("rust", 8, 1, "mina", "one, edited")),
    ];
    reduce(
        &mut state,
        joined_events("rust", catch_up.clone(), false),
        T0,
    );
    let check = |state: &State| {
        assert_eq!(seqs(state, "rust"), vec![Some(1), Some(3)]);
        let one = line(state, "rust", 1);
        assert_eq!(one.shown_text(), "one, edited");
        let r = one.shown_reactions("me");
        assert_eq!(
            (r.len(), r[0].count, r[0].nicks.clone()),
            (1, 1, vec!["joon".to_owned()])
        );
        let three = line(state, "rust", 3);
        assert_eq!(three.shown_text(), "three, edited");
        assert_eq!(three.shown_reactions("me")[0].count, 1, "🎉 counted once");
        assert_eq!(state.room("rust").unwrap().last_seq, 8);
    };
    check(&state);
    // The same catch-up again (a second reconnect before anything new).
    reduce(&mut state, joined_events("rust", catch_up, false), T0);
    check(&state);
}

#[test]
fn a_deletion_in_a_catch_up_wins_over_older_changes_replayed_after_it() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        live(message("rust", 1, "mina", "oops", None)),
        T0,
    );
    reconnect(&mut state);
    let mut tomb = message("rust", 2, "mina", "", None);
    tomb.deleted = true;
    reduce(
        &mut state,
        joined_events(
            "rust",
            vec![
                RoomEvent::Message(tomb),
                RoomEvent::Edited(edited("rust", 3, 2, "mina", "secret")),
                RoomEvent::Reacted(reacted("rust", 4, 2, "ana", "👍", true)),
                RoomEvent::Deleted(deleted("rust", 5, 2, "mina")),
                RoomEvent::Deleted(deleted("rust", 6, 1, "mina")),
            ],
            false,
        ),
        T0,
    );
    for seq in [1, 2] {
        let l = line(&state, "rust", seq);
        assert!(l.is_deleted() && l.shown_text().is_empty(), "{seq}");
        assert!(l.shown_reactions("me").is_empty());
    }
}

#[test]
fn own_changes_unanswered_at_a_drop_are_settled_by_the_catch_up_or_sent_again() {
    let mut state = online_in("rust");
    reduce(&mut state, live(message("rust", 1, "mina", "hi", None)), T0);
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "mine".into(),
        },
        T0,
    );
    reduce(&mut state, ack("rust", "p-1", 2), T0);
    // An edit and a reaction go out; the socket drops before either ack.
    reduce(
        &mut state,
        Action::StartEdit {
            room: "rust".into(),
            seq: 2,
        },
        T0,
    );
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "mine, better".into(),
        },
        T0,
    );
    let react = Action::React {
        room: "rust".into(),
        seq: 1,
        emoji: "👍".into(),
    };
    assert_eq!(frames(&reduce(&mut state, react, T0)).len(), 1);
    reconnect(&mut state);
    // No timeout while away: both still shown.
    reduce(&mut state, Action::Tick, T0 + 60_000.0);
    assert_eq!(line(&state, "rust", 2).shown_text(), "mine, better");
    assert!(line(&state, "rust", 1).has_reacted("me", "👍"));
    // The server had applied the edit (it is in the catch-up, without a
    // cid) but not the reaction: only the reaction goes out again.
    let commands = reduce(
        &mut state,
        joined_events(
            "rust",
            vec![RoomEvent::Edited(edited(
                "rust",
                3,
                2,
                "me",
                "mine, better",
            ))],
            false,
        ),
        T0,
    );
    assert_eq!(
        frames(&commands),
        vec![ClientFrame::React {
            room: "rust".into(),
            target: 1,
            emoji: "👍".into(),
            on: true,
            cid: "p-3".into()
        }]
    );
    let mine = line(&state, "rust", 2);
    assert!(mine.changes.is_empty());
    assert_eq!(mine.text, "mine, better");
    // The late ack of the edit changes nothing; the reaction's confirms it once.
    reduce(&mut state, ack("rust", "p-2", 3), T0);
    reduce(&mut state, ack("rust", "p-3", 4), T0);
    reduce(
        &mut state,
        frame(ServerFrame::Reacted(reacted(
            "rust", 4, 1, "me", "👍", true,
        ))),
        T0,
    );
    let one = line(&state, "rust", 1);
    assert!(one.changes.is_empty());
    assert_eq!(one.shown_reactions("me")[0].count, 1);
    assert_eq!(line(&state, "rust", 2).shown_text(), "mine, better");
}

#[test]
fn changes_made_while_offline_wait_for_the_joined() {
    let mut state = online_in("rust");
    reduce(&mut state, live(message("rust", 1, "mina", "hi", None)), T0);
    reduce(&mut state, Action::SocketClosed { retry_at_ms: None }, T0);
    let react = Action::React {
        room: "rust".into(),
        seq: 1,
        emoji: "🎉".into(),
    };
    assert!(
        reduce(&mut state, react, T0).is_empty(),
        "nothing sent offline"
    );
    reduce(&mut state, Action::Tick, T0 + 60_000.0);
    assert!(
        line(&state, "rust", 1).has_reacted("me", "🎉"),
        "no timeout offline"
    );
    reduce(&mut state, Action::SocketOpened, T0);
    reduce(&mut state, welcome("me", &["rust"]), T0);
    let commands = reduce(&mut state, joined("rust", vec![], false), T0);
    assert!(matches!(
        &frames(&commands)[..],
        [ClientFrame::React { cid, on: true, .. }] if cid == "p-1"
    ));
}

#[test]
fn an_own_message_stored_before_a_drop_comes_back_in_its_current_state() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "hello".into(),
        },
        T0,
    );
    reconnect(&mut state);
    // It was stored, then ana reacted to it, before the catch-up.
    let mut mine = message("rust", 1, "me", "hello", Some("p-1"));
    mine.reactions = vec![Reactions {
        emoji: "👍".into(),
        count: 1,
        nicks: vec!["ana".into()],
    }];
    let commands = reduce(
        &mut state,
        joined_events(
            "rust",
            vec![
                RoomEvent::Message(mine),
                RoomEvent::Reacted(reacted("rust", 2, 1, "ana", "👍", true)),
            ],
            false,
        ),
        T0,
    );
    assert!(frames(&commands).is_empty(), "not sent twice");
    assert_eq!(seqs(&state, "rust"), vec![Some(1)]);
    assert_eq!(deliveries(&state, "rust"), vec![Delivery::Sent]);
    assert_eq!(line(&state, "rust", 1).shown_reactions("me")[0].count, 1);
}
