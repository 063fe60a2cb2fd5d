//! The app's behaviour, natively: actions in, state and commands out.

use parley_frontend::state::{
    reduce, Action, Command, Delivery, Line, Screen, State, Status, ACK_TIMEOUT_MS,
};
use parley_protocol::{ChatMessage, ClientFrame, ErrorCode, Limits, PresenceEvent, ServerFrame};

const T0: f64 = 1_764_000_000_000.0;

fn limits() -> Limits {
    Limits {
        max_text_chars: 2000,
        max_frame_bytes: 16384,
        rate_burst: 20,
        rate_per_sec: 5,
        typing_ttl_ms: 6000,
        resume_grace_ms: 30000,
    }
}

fn welcome(nick: &str, rooms: &[&str]) -> Action {
    Action::Frame(ServerFrame::Welcome {
        nick: nick.into(),
        session: "s_1".into(),
        resume: "r_token".into(),
        resumed: !rooms.is_empty(),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        limits: limits(),
    })
}

fn message(room: &str, seq: u64, nick: &str, text: &str, cid: Option<&str>) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        nick: nick.into(),
        text: text.into(),
        ts: T0 as u64 + seq,
        cid: cid.map(str::to_owned),
    }
}

fn joined(room: &str, history: Vec<ChatMessage>, more: bool) -> Action {
    let last_seq = history.last().map_or(0, |m| m.seq);
    Action::Frame(ServerFrame::Joined {
        room: room.into(),
        members: vec!["me".into(), "mina".into()],
        history,
        more,
        last_seq,
    })
}

/// An app that joined `room` as "me" and is online.
fn online_in(room: &str) -> State {
    let mut state = State::new("p".into());
    assert_eq!(
        reduce(
            &mut state,
            Action::Start {
                nick: " me ".into(),
                room: room.into()
            },
            T0
        ),
        vec![Command::Connect]
    );
    assert_eq!(
        reduce(&mut state, Action::SocketOpened, T0),
        vec![Command::Send(ClientFrame::Hello {
            nick: "me".into(),
            resume: None
        })]
    );
    let commands = reduce(&mut state, welcome("me", &[]), T0);
    assert_eq!(
        commands,
        vec![
            Command::SaveNick("me".into()),
            Command::Send(ClientFrame::Join {
                room: room.into(),
                since: None
            })
        ]
    );
    reduce(&mut state, joined(room, vec![], false), T0);
    assert_eq!((state.screen, state.status), (Screen::Chat, Status::Online));
    state
}

fn seqs(state: &State, room: &str) -> Vec<Option<u64>> {
    state
        .room(room)
        .unwrap()
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Chat(c) => Some(c.seq),
            Line::System { .. } => None,
        })
        .collect()
}

fn deliveries(state: &State, room: &str) -> Vec<Delivery> {
    state
        .room(room)
        .unwrap()
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Chat(c) if c.own => Some(c.delivery.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_own_message_is_pending_until_its_ack() {
    let mut state = online_in("rust");
    let commands = reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: " hello ".into(),
        },
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Send {
            room: "rust".into(),
            text: "hello".into(),
            cid: "p-1".into()
        })]
    );
    assert_eq!(deliveries(&state, "rust"), vec![Delivery::Pending]);
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Ack {
            cid: "p-1".into(),
            room: "rust".into(),
            seq: 7,
            ts: T0 as u64,
        }),
        T0,
    );
    assert_eq!(deliveries(&state, "rust"), vec![Delivery::Sent]);
    assert_eq!(seqs(&state, "rust"), vec![Some(7)]);
    assert_eq!(state.room("rust").unwrap().last_seq, 7);
}

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
            resume: Some("r_token".into())
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
            cid: "p-1".into()
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
fn errors_and_silence_fail_a_message_and_retry_sends_it_again() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "one".into(),
        },
        T0,
    );
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "two".into(),
        },
        T0,
    );
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            cid: Some("p-1".into()),
            room: Some("rust".into()),
        }),
        T0,
    );
    reduce(&mut state, Action::Tick, T0 + ACK_TIMEOUT_MS - 1.0);
    assert_eq!(
        deliveries(&state, "rust"),
        vec![Delivery::Failed("slow down".into()), Delivery::Pending]
    );
    reduce(&mut state, Action::Tick, T0 + ACK_TIMEOUT_MS + 1.0);
    assert!(matches!(deliveries(&state, "rust")[1], Delivery::Failed(_)));
    let commands = reduce(
        &mut state,
        Action::Retry {
            room: "rust".into(),
            cid: "p-1".into(),
        },
        T0 + 20_000.0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Send {
            room: "rust".into(),
            text: "one".into(),
            cid: "p-1".into()
        })]
    );
    assert_eq!(deliveries(&state, "rust")[0], Delivery::Pending);
}

#[test]
fn typing_indicators_expire_and_clear_on_message_or_leave() {
    let mut state = online_in("rust");
    let typing = |nick: &str| {
        Action::Frame(ServerFrame::Typing {
            room: "rust".into(),
            nick: nick.into(),
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
            nick: "joon".into(),
            event: PresenceEvent::Leave,
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
            nick: "joon".into(),
            event: PresenceEvent::Join,
        }),
        T0,
    );
    let room = state.room("rust").unwrap();
    assert_eq!(room.members, vec!["joon", "me", "mina"]);
    assert!(matches!(room.lines.last(), Some(Line::System { text, .. }) if text == "joon joined"));
}

#[test]
fn an_error_naming_only_the_cid_fails_that_message() {
    let mut state = online_in("rust");
    let send = Action::Send {
        room: "rust".into(),
        text: "x".into(),
    };
    reduce(&mut state, send, T0);
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::Busy,
            message: "busy".into(),
            cid: Some("p-1".into()),
            room: None,
        }),
        T0,
    );
    assert_eq!(
        deliveries(&state, "rust"),
        vec![Delivery::Failed("busy".into())]
    );
    assert_eq!(state.notice, None, "shown on the message, not as a notice");
}

#[test]
fn text_the_server_would_refuse_is_not_sent() {
    let mut state = online_in("rust");
    for text in ["   ", "bell \u{7}", &"x".repeat(2001)] {
        let commands = reduce(
            &mut state,
            Action::Send {
                room: "rust".into(),
                text: text.into(),
            },
            T0,
        );
        assert!(commands.is_empty(), "{text:?} was sent");
        assert!(state.notice.is_some(), "{text:?}: no notice");
    }
    assert!(seqs(&state, "rust").is_empty());
    // \r\n is sent as \n, like the server stores it.
    let commands = reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "a\r\nb".into(),
        },
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Send {
            room: "rust".into(),
            text: "a\nb".into(),
            cid: "p-1".into()
        })]
    );
}

#[test]
fn a_message_queued_offline_never_times_out_and_a_retry_offline_waits_too() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "sent, no ack".into(),
        },
        T0,
    );
    reduce(&mut state, Action::Tick, T0 + ACK_TIMEOUT_MS + 1.0);
    assert!(matches!(deliveries(&state, "rust")[0], Delivery::Failed(_)));
    reduce(&mut state, Action::SocketClosed { retry_at_ms: None }, T0);
    assert_eq!(state.status, Status::Offline);
    // Retried while offline: pending, nothing sent, and no timeout while away.
    let retry = Action::Retry {
        room: "rust".into(),
        cid: "p-1".into(),
    };
    assert!(reduce(&mut state, retry, T0).is_empty());
    reduce(&mut state, Action::Tick, T0 + 60_000.0);
    assert_eq!(deliveries(&state, "rust"), vec![Delivery::Pending]);
    // Back online: sent again with the same cid.
    reduce(&mut state, Action::SocketOpened, T0);
    reduce(&mut state, welcome("me", &["rust"]), T0);
    let commands = reduce(&mut state, joined("rust", vec![], false), T0);
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Send {
            room: "rust".into(),
            text: "sent, no ack".into(),
            cid: "p-1".into()
        })]
    );
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
