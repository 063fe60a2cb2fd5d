//! The app's behaviour, natively (actions in, state and commands out).
//! Message life: others' edits, deletions and reactions; the reader's own,
//! optimistic until their ack and rolled back on an error; replies; the
//! composer's edit mode.

mod common;

use common::*;
use parley_frontend::state::Compose;

fn live(m: ChatMessage) -> Action {
    frame(ServerFrame::Message(m))
}

fn send(room: &str, text: &str) -> Action {
    Action::Send {
        room: room.into(),
        text: text.into(),
    }
}

/// An online app in "rust" with mina's message 1 and the reader's own
/// message 2 ("mine", cid p-1, acknowledged).
fn with_two_messages() -> State {
    let mut state = online_in("rust");
    reduce(&mut state, live(message("rust", 1, "mina", "hi", None)), T0);
    reduce(&mut state, send("rust", "mine"), T0);
    reduce(&mut state, ack("rust", "p-1", 2), T0);
    state
}

#[test]
fn others_changes_apply_live_and_a_second_time_changes_nothing() {
    let mut state = with_two_messages();
    let changes = [
        ServerFrame::Edited(edited("rust", 3, 1, "mina", "hi all")),
        ServerFrame::Reacted(reacted("rust", 4, 1, "ana", "👍", true)),
        ServerFrame::Reacted(reacted("rust", 5, 2, "ana", "🎉", true)),
        ServerFrame::Reacted(reacted("rust", 6, 2, "ana", "🎉", false)),
    ];
    for change in changes.iter().chain(changes.iter()) {
        reduce(&mut state, frame(change.clone()), T0);
    }
    let hi = line(&state, "rust", 1);
    assert_eq!(hi.shown_text(), "hi all");
    assert!(hi.is_edited());
    let reactions = hi.shown_reactions("me");
    assert_eq!((reactions.len(), reactions[0].count), (1, 1));
    assert!(!reactions[0].mine);
    assert!(line(&state, "rust", 2).shown_reactions("me").is_empty());
    assert_eq!(state.room("rust").unwrap().last_seq, 6);

    reduce(
        &mut state,
        frame(ServerFrame::Deleted(deleted("rust", 7, 1, "mina"))),
        T0,
    );
    // A late edit or reaction (a replay) does not bring it back.
    reduce(&mut state, frame(changes[0].clone()), T0);
    reduce(&mut state, frame(changes[1].clone()), T0);
    let hi = line(&state, "rust", 1);
    assert!(hi.is_deleted() && hi.shown_text().is_empty());
    assert!(hi.shown_reactions("me").is_empty() && !hi.is_edited());
    assert_eq!(
        seqs(&state, "rust"),
        vec![Some(1), Some(2)],
        "a tombstone stays"
    );
    // Changes to messages not loaded are ignored (a page brings them in
    // their current state).
    reduce(
        &mut state,
        frame(ServerFrame::Edited(edited("rust", 8, 99, "x", "?"))),
        T0,
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(1), Some(2)]);
}

#[test]
fn an_own_edit_shows_at_once_and_its_ack_confirms_it() {
    let mut state = with_two_messages();
    reduce(
        &mut state,
        Action::StartEdit {
            room: "rust".into(),
            seq: 2,
        },
        T0,
    );
    assert_eq!(state.room("rust").unwrap().compose, Compose::Edit(2));
    let commands = reduce(&mut state, send("rust", " mine, edited "), T0);
    assert_eq!(
        frames(&commands),
        vec![ClientFrame::Edit {
            room: "rust".into(),
            target: 2,
            text: "mine, edited".into(),
            cid: "p-2".into()
        }]
    );
    assert_eq!(state.room("rust").unwrap().compose, Compose::New);
    let mine = line(&state, "rust", 2);
    assert_eq!(
        (mine.shown_text(), mine.text.as_str()),
        ("mine, edited", "mine")
    );
    assert!(mine.is_edited());
    reduce(&mut state, ack("rust", "p-2", 3), T0);
    let mine = line(&state, "rust", 2);
    assert_eq!(mine.text, "mine, edited");
    assert!(mine.changes.is_empty());
    assert_eq!(mine.edited_ts, Some(T0 + 3.0));
    assert_eq!(state.room("rust").unwrap().last_seq, 3);
    assert_eq!(seqs(&state, "rust"), vec![Some(1), Some(2)], "no new line");
    // The same text again sends nothing.
    reduce(
        &mut state,
        Action::StartEdit {
            room: "rust".into(),
            seq: 2,
        },
        T0,
    );
    assert!(reduce(&mut state, send("rust", "mine, edited"), T0).is_empty());
}

#[test]
fn a_refused_change_is_rolled_back_with_a_notice() {
    let mut state = with_two_messages();
    let react = Action::React {
        room: "rust".into(),
        seq: 1,
        emoji: "👍".into(),
    };
    reduce(&mut state, react, T0);
    reduce(
        &mut state,
        Action::Delete {
            room: "rust".into(),
            seq: 2,
        },
        T0,
    );
    assert!(line(&state, "rust", 2).is_deleted());
    assert!(line(&state, "rust", 1).has_reacted("me", "👍"));
    for (cid, code) in [
        ("p-2", ErrorCode::TooManyReactions),
        ("p-3", ErrorCode::Busy),
    ] {
        reduce(
            &mut state,
            frame(ServerFrame::Error {
                code,
                message: "no".into(),
                cid: Some(cid.into()),
                room: Some("rust".into()),
            }),
            T0,
        );
    }
    assert!(!line(&state, "rust", 1).has_reacted("me", "👍"));
    let mine = line(&state, "rust", 2);
    assert_eq!((mine.is_deleted(), mine.shown_text()), (false, "mine"));
    assert_eq!(
        state.notice.as_deref(),
        Some("Your message was not deleted: no")
    );
    assert_eq!(
        deliveries(&state, "rust"),
        vec![Delivery::Sent],
        "the message itself is fine"
    );
}

#[test]
fn an_unanswered_change_is_rolled_back_after_the_ack_timeout() {
    let mut state = with_two_messages();
    reduce(
        &mut state,
        Action::React {
            room: "rust".into(),
            seq: 1,
            emoji: "🎉".into(),
        },
        T0,
    );
    reduce(&mut state, Action::Tick, T0 + ACK_TIMEOUT_MS - 1.0);
    assert!(line(&state, "rust", 1).has_reacted("me", "🎉"));
    reduce(&mut state, Action::Tick, T0 + ACK_TIMEOUT_MS + 1.0);
    assert!(!line(&state, "rust", 1).has_reacted("me", "🎉"));
    assert!(state.notice.as_deref().unwrap().contains("no answer"));
}

#[test]
fn a_reaction_toggles_and_the_reader_sees_their_own_once() {
    let mut state = with_two_messages();
    reduce(
        &mut state,
        frame(ServerFrame::Reacted(reacted(
            "rust", 3, 1, "ana", "👍", true,
        ))),
        T0,
    );
    let react = Action::React {
        room: "rust".into(),
        seq: 1,
        emoji: "👍".into(),
    };
    let on = reduce(&mut state, react.clone(), T0);
    assert!(matches!(&frames(&on)[..], [ClientFrame::React { on: true, cid, .. }] if cid == "p-2"));
    let shown = line(&state, "rust", 1).shown_reactions("me");
    assert_eq!((shown[0].count, shown[0].mine), (2, true));
    reduce(&mut state, ack("rust", "p-2", 4), T0);
    let off = reduce(&mut state, react, T0);
    assert!(matches!(
        &frames(&off)[..],
        [ClientFrame::React { on: false, .. }]
    ));
    let shown = line(&state, "rust", 1).shown_reactions("me");
    assert_eq!((shown[0].count, shown[0].mine), (1, false));
    reduce(&mut state, ack("rust", "p-3", 5), T0);
    assert_eq!(
        line(&state, "rust", 1).reactions[0].nicks,
        vec!["ana".to_owned()]
    );
}

#[test]
fn a_message_can_have_at_most_max_reactions_emoji() {
    let mut state = with_two_messages();
    state.limits.max_reactions = 2;
    for (seq, emoji) in [(3, "👍"), (4, "🎉")] {
        reduce(
            &mut state,
            frame(ServerFrame::Reacted(reacted(
                "rust", seq, 1, "ana", emoji, true,
            ))),
            T0,
        );
    }
    let third = Action::React {
        room: "rust".into(),
        seq: 1,
        emoji: "🚀".into(),
    };
    assert!(reduce(&mut state, third, T0).is_empty());
    assert!(state.notice.is_some());
    let existing = Action::React {
        room: "rust".into(),
        seq: 1,
        emoji: "🎉".into(),
    };
    assert_eq!(frames(&reduce(&mut state, existing, T0)).len(), 1);
}

#[test]
fn up_arrow_edits_the_last_own_message_still_in_the_edit_window() {
    let mut state = with_two_messages();
    reduce(&mut state, send("rust", "pending, not editable yet"), T0);
    reduce(&mut state, Action::EditLast("rust".into()), T0 + 1_000.0);
    assert_eq!(state.room("rust").unwrap().compose, Compose::Edit(2));
    reduce(&mut state, Action::CancelCompose("rust".into()), T0);
    assert_eq!(state.room("rust").unwrap().compose, Compose::New);
    // After the window, nothing to edit.
    let late = T0 + state.limits.edit_window_ms as f64 + 100.0;
    reduce(&mut state, Action::EditLast("rust".into()), late);
    assert_eq!(state.room("rust").unwrap().compose, Compose::New);
    // Someone else's message is never edited.
    reduce(
        &mut state,
        Action::StartEdit {
            room: "rust".into(),
            seq: 1,
        },
        T0,
    );
    assert_eq!(state.room("rust").unwrap().compose, Compose::New);
}

#[test]
fn a_reply_carries_reply_to_and_shows_the_quote_at_once() {
    let mut state = with_two_messages();
    reduce(
        &mut state,
        Action::StartReply {
            room: "rust".into(),
            seq: 1,
        },
        T0,
    );
    let commands = reduce(&mut state, send("rust", "agreed"), T0);
    assert_eq!(
        frames(&commands),
        vec![ClientFrame::Send {
            room: "rust".into(),
            text: "agreed".into(),
            cid: "p-2".into(),
            reply_to: Some(1)
        }]
    );
    let view = state.room("rust").unwrap();
    assert_eq!(view.compose, Compose::New);
    let Line::Chat(reply) = view.lines.last().unwrap() else {
        panic!("a chat line")
    };
    assert_eq!(reply.reply_to, Some(1));
    assert_eq!(reply.quote.as_ref().map(|q| q.text.as_str()), Some("hi"));
    // A failed reply is retried as a reply.
    reduce(
        &mut state,
        frame(ServerFrame::Error {
            code: ErrorCode::Busy,
            message: "busy".into(),
            cid: Some("p-2".into()),
            room: Some("rust".into()),
        }),
        T0,
    );
    let retry = Action::Retry {
        room: "rust".into(),
        cid: "p-2".into(),
    };
    assert!(matches!(
        &frames(&reduce(&mut state, retry, T0))[..],
        [ClientFrame::Send {
            reply_to: Some(1),
            ..
        }]
    ));
    // The quoted message deleted: a reply in progress to it ends.
    reduce(
        &mut state,
        Action::StartReply {
            room: "rust".into(),
            seq: 1,
        },
        T0,
    );
    reduce(
        &mut state,
        frame(ServerFrame::Deleted(deleted("rust", 3, 1, "mina"))),
        T0,
    );
    assert_eq!(state.room("rust").unwrap().compose, Compose::New);
}

#[test]
fn others_messages_arrive_in_their_current_state() {
    let mut state = online_in("rust");
    let mut m = message("rust", 5, "mina", "hello @Me", None);
    m.edited_ts = Some(T0 as u64 + 5);
    m.mentions = vec!["ME".into()];
    m.reactions = vec![Reactions {
        emoji: "👍".into(),
        count: 1,
        nicks: vec!["me".into()],
    }];
    reduce(&mut state, live(m), T0);
    let l = line(&state, "rust", 5);
    assert!(l.is_edited() && l.mentions_me);
    assert!(l.has_reacted("me", "👍"));
    // A tombstone in a page.
    let mut gone = message("rust", 2, "ana", "", None);
    gone.deleted = true;
    reduce(
        &mut state,
        frame(ServerFrame::History {
            room: "rust".into(),
            messages: vec![gone],
            more: false,
        }),
        T0,
    );
    assert!(line(&state, "rust", 2).is_deleted());
    assert_eq!(seqs(&state, "rust"), vec![Some(2), Some(5)]);
}
