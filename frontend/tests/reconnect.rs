//! The app's behaviour, natively (actions in, state and commands out).
//! Sockets coming and going: resume, catch-up without gaps or duplicates, status, quitting, a taken nickname.

mod common;

use common::*;

#[test]
fn messages_are_never_shown_twice() {
    let mut state = online_in("rust");
    for _ in 0..2 {
        reduce(
            &mut state,
            Action::Frame(ServerFrame::Message(message(
                "rust",
                1,
                "mina",
                "hi",
                Some("m-1"),
            ))),
            T0,
        );
    }
    // The same message again in a catch-up, plus a newer one.
    reduce(
        &mut state,
        joined(
            "rust",
            vec![
                message("rust", 1, "mina", "hi", Some("m-1")),
                message("rust", 2, "mina", "more", None),
            ],
            false,
        ),
        T0,
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(1), Some(2)]);
    // An own message whose ack was lost comes back in the history by cid.
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "mine".into(),
        },
        T0,
    );
    reduce(
        &mut state,
        joined(
            "rust",
            vec![message("rust", 3, "me", "mine", Some("p-1"))],
            false,
        ),
        T0,
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(1), Some(2), Some(3)]);
    assert_eq!(deliveries(&state, "rust"), vec![Delivery::Sent]);
    // ...and its late ack changes nothing.
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Ack {
            cid: "p-1".into(),
            room: "rust".into(),
            seq: 3,
            ts: 0,
        }),
        T0,
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(1), Some(2), Some(3)]);
}

#[test]
fn a_reconnect_resumes_catches_up_and_resends_what_was_queued() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    reduce(&mut state, joined("go", vec![], false), T0);
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Message(message("rust", 4, "mina", "x", None))),
        T0,
    );
    reduce(
        &mut state,
        Action::SocketClosed {
            retry_at_ms: Some(T0 + 1000.0),
        },
        T0,
    );
    assert_eq!(state.status, Status::Reconnecting { at_ms: T0 + 1000.0 });
    // Typed while offline: queued, not sent.
    let commands = reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "while offline".into(),
        },
        T0,
    );
    assert!(commands.is_empty());
    assert_eq!(
        reduce(&mut state, Action::SocketOpened, T0),
        vec![Command::Send(ClientFrame::Hello {
            nick: "me".into(),
            resume: Some("r_token".into()),
            token: None,
        })]
    );
    let commands = reduce(&mut state, welcome("me", &["rust", "go"]), T0);
    assert_eq!(
        commands,
        vec![
            Command::SaveNick("me".into()),
            Command::Send(ClientFrame::Join {
                room: "rust".into(),
                since: Some(4)
            }),
            Command::Send(ClientFrame::Join {
                room: "go".into(),
                since: None
            }),
        ]
    );
    // The catch-up overlaps what is shown; the queued message goes out after it.
    let commands = reduce(
        &mut state,
        joined(
            "rust",
            vec![
                message("rust", 4, "mina", "x", None),
                message("rust", 5, "mina", "y", None),
            ],
            false,
        ),
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Send {
            room: "rust".into(),
            text: "while offline".into(),
            cid: "p-1".into(),
            reply_to: None
        })]
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(4), Some(5), None]);
    assert_eq!(state.rooms.len(), 2, "rooms kept");
}

#[test]
fn a_catch_up_with_a_gap_replaces_what_was_shown() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Message(message(
            "rust", 1, "mina", "old", None,
        ))),
        T0,
    );
    reduce(
        &mut state,
        Action::SocketClosed {
            retry_at_ms: Some(T0),
        },
        T0,
    );
    reduce(&mut state, Action::SocketOpened, T0);
    reduce(&mut state, welcome("me", &["rust"]), T0);
    reduce(
        &mut state,
        joined(
            "rust",
            vec![message("rust", 2000, "mina", "new", None)],
            true,
        ),
        T0,
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(2000)]);
    assert!(state.room("rust").unwrap().more_before);
}

#[test]
fn the_status_follows_the_socket() {
    let mut state = State::new("p".into());
    reduce(&mut state, Action::SocketOpening, T0);
    assert_eq!(state.status, Status::Idle, "nothing to show before joining");
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::SocketClosed {
            retry_at_ms: Some(T0 + 800.0),
        },
        T0,
    );
    assert_eq!(state.status, Status::Reconnecting { at_ms: T0 + 800.0 });
    reduce(&mut state, Action::SocketOpening, T0 + 800.0);
    assert_eq!(state.status, Status::Connecting);
    reduce(&mut state, Action::SocketOpened, T0 + 900.0);
    assert_eq!(
        state.status,
        Status::Connecting,
        "online only after welcome"
    );
    reduce(&mut state, welcome("me", &["rust"]), T0 + 950.0);
    assert_eq!(state.status, Status::Online);
}

#[test]
fn quitting_closes_for_good_and_forgets_the_session() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    assert_eq!(
        reduce(&mut state, Action::Quit, T0),
        vec![Command::Disconnect]
    );
    assert_eq!((state.screen, state.status), (Screen::Join, Status::Idle));
    assert!(state.rooms.is_empty() && state.resume.is_none());
    // Leaving the last room one by one does the same.
    let mut state = online_in("rust");
    assert_eq!(
        reduce(&mut state, Action::LeaveRoom("rust".into()), T0),
        vec![
            Command::Send(ClientFrame::Leave {
                room: "rust".into()
            }),
            Command::Disconnect
        ]
    );
    assert_eq!(state.screen, Screen::Join);
}

#[test]
fn a_taken_nickname_goes_back_to_the_join_screen() {
    let mut state = State::new("p".into());
    reduce(
        &mut state,
        Action::Start {
            nick: "mina".into(),
            room: "general".into(),
        },
        T0,
    );
    reduce(&mut state, Action::SocketOpened, T0);
    let commands = reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::NickTaken,
            message: "the nickname \"mina\" is taken".into(),
            cid: None,
            room: None,
        }),
        T0,
    );
    assert_eq!(commands, vec![Command::Disconnect]);
    assert_eq!(state.screen, Screen::Join);
    assert_eq!(
        state.join_error.as_deref(),
        Some("Someone is already using the nickname “mina”. Please pick another.")
    );
}
