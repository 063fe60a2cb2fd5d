//! The state shares rooms and lines with the page instead of copying them:
//! what did not change keeps its pointer (so the page can skip it), and what
//! changes is copied on write (so a render's snapshot never changes under it).

mod common;

use std::rc::Rc;

use common::*;

fn live(room: &str, seq: u64, nick: &str, text: &str) -> Action {
    Action::Frame(ServerFrame::Message(message(room, seq, nick, text, None)))
}

/// The chat lines' pointers, in order.
fn line_ptrs(state: &State, room: &str) -> Vec<*const ()> {
    state
        .room(room)
        .unwrap()
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Chat(c) => Some(Rc::as_ptr(c).cast::<()>()),
            Line::System { .. } => None,
        })
        .collect()
}

#[test]
fn a_message_elsewhere_leaves_the_shown_room_untouched() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    reduce(&mut state, joined("go", vec![], false), T0);
    reduce(&mut state, Action::SelectRoom("rust".into()), T0);
    let shown = state.shared_room("rust").unwrap().clone();
    reduce(&mut state, live("go", 1, "mina", "elsewhere"), T0);
    assert!(Rc::ptr_eq(&shown, state.shared_room("rust").unwrap()));
    assert_eq!(state.room("go").unwrap().unread, 1);
}

#[test]
fn a_new_message_copies_the_room_but_shares_the_old_lines() {
    let mut state = online_in("rust");
    for seq in 1..=3 {
        reduce(&mut state, live("rust", seq, "mina", "hi"), T0);
    }
    let before = line_ptrs(&state, "rust");
    // The page holds the room while the next message arrives.
    let shown = state.shared_room("rust").unwrap().clone();
    reduce(&mut state, live("rust", 4, "joon", "hello"), T0);
    let after = line_ptrs(&state, "rust");
    assert_eq!(after.len(), 4);
    assert_eq!(after[..3], before[..], "the old lines are shared");
    assert!(!Rc::ptr_eq(&shown, state.shared_room("rust").unwrap()));
    assert_eq!(shown.lines.len(), 3, "the page's copy did not change");
}

#[test]
fn an_ack_copies_only_the_acknowledged_line() {
    let mut state = online_in("rust");
    reduce(&mut state, live("rust", 1, "mina", "hi"), T0);
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "mine".into(),
        },
        T0,
    );
    let shown = state.shared_room("rust").unwrap().clone();
    let before = line_ptrs(&state, "rust");
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Ack {
            cid: "p-1".into(),
            room: "rust".into(),
            seq: 2,
            ts: T0 as u64 + 2,
        }),
        T0,
    );
    let after = line_ptrs(&state, "rust");
    assert_eq!(after[0], before[0]);
    assert_ne!(after[1], before[1]);
    assert_eq!(deliveries(&state, "rust"), vec![Delivery::Sent]);
    match &shown.lines[1] {
        Line::Chat(c) => assert_eq!(c.delivery, Delivery::Pending, "the page's copy"),
        Line::System { .. } => panic!("a chat line"),
    }
}

#[test]
fn ticks_and_selecting_the_shown_room_copy_nothing() {
    let mut state = online_in("rust");
    reduce(&mut state, live("rust", 1, "mina", "hi"), T0);
    let shown = state.shared_room("rust").unwrap().clone();
    reduce(&mut state, Action::Tick, T0 + 1_000.0);
    reduce(&mut state, Action::SelectRoom("rust".into()), T0);
    reduce(&mut state, Action::Visible(true), T0);
    reduce(&mut state, Action::Typing("nowhere".into()), T0);
    assert!(Rc::ptr_eq(&shown, state.shared_room("rust").unwrap()));
}
