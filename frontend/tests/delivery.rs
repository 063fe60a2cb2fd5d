//! The app's behaviour, natively (actions in, state and commands out).
//! Own messages: pending, sent on ack, failed on an error or silence, retried, queued while offline.

mod common;

use common::*;

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
            cid: "p-1".into(),
            reply_to: None
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
            cid: "p-1".into(),
            reply_to: None
        })]
    );
    assert_eq!(deliveries(&state, "rust")[0], Delivery::Pending);
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
            cid: "p-1".into(),
            reply_to: None
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
            cid: "p-1".into(),
            reply_to: None
        })]
    );
}
