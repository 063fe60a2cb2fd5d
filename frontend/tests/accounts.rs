//! The app's behaviour, natively (actions in, state and commands out).
//! Accounts: signing in and creating an account ask the server (the
//! password goes into the command, never into the state), a sign-in
//! connects with the cookie (`hello` with no nickname), `welcome
//! {account}` marks the session, the server's refusals are told in plain
//! words next to their field, and signing out of an account logs out.

mod common;

use common::*;
use parley_frontend::state::{AuthFailure, AuthField};

const PASSWORD: &str = "correct horse battery staple";

fn account_welcome(nick: &str) -> Action {
    match welcome(nick, &[]) {
        Action::Frame(ServerFrame::Welcome {
            nick,
            session,
            resume,
            resumed,
            rooms,
            limits,
            ..
        }) => Action::Frame(ServerFrame::Welcome {
            nick,
            session,
            resume,
            resumed,
            rooms,
            limits,
            account: true,
            dms: Vec::new(),
            admin: false,
        }),
        _ => unreachable!(),
    }
}

/// An app signed in as "Mina" (the server said so) and chatting in `room`.
fn signed_in_to(room: &str) -> State {
    let mut state = State::new("p".into());
    let commands = reduce(
        &mut state,
        Action::SignIn {
            nick: " Mina ".into(),
            password: PASSWORD.into(),
            room: room.into(),
        },
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Login {
            nick: "Mina".into(),
            password: PASSWORD.into()
        }]
    );
    assert!(state.account.busy);
    let commands = reduce(
        &mut state,
        Action::SignedIn {
            nick: "Mina".into(),
        },
        T0,
    );
    assert_eq!(commands, vec![Command::Connect]);
    assert!(!state.account.busy);
    // No nickname in `hello`: the server uses the cookie.
    assert_eq!(
        reduce(&mut state, Action::SocketOpened, T0),
        vec![Command::Send(ClientFrame::Hello {
            nick: String::new(),
            resume: None,
            token: None
        })]
    );
    let commands = reduce(&mut state, account_welcome("Mina"), T0);
    assert!(commands.contains(&Command::Send(ClientFrame::Join {
        room: room.into(),
        since: None
    })));
    reduce(&mut state, joined(room, vec![], false), T0);
    state
}

fn failure(status: u16, code: &str, message: &str, retry_after: Option<u64>) -> Action {
    Action::AuthFailed(AuthFailure {
        status,
        code: code.into(),
        message: message.into(),
        retry_after,
    })
}

#[test]
fn welcome_with_account_marks_the_session_signed_in() {
    let state = signed_in_to("rust");
    assert_eq!((state.screen, state.status), (Screen::Chat, Status::Online));
    assert!(state.account.session);
    assert_eq!(state.account.signed_in_as.as_deref(), Some("Mina"));
    assert!(
        !format!("{state:?}").contains(PASSWORD),
        "the password is not kept"
    );
}

#[test]
fn a_guest_is_not_signed_in_and_says_its_nickname() {
    let state = online_in("rust");
    assert!(!state.account.session);
    assert!(!state.account.use_cookie);
}

#[test]
fn a_reconnect_of_an_account_resumes_with_the_cookie() {
    let mut state = signed_in_to("rust");
    reduce(
        &mut state,
        Action::SocketClosed {
            retry_at_ms: Some(T0 + 500.0),
        },
        T0,
    );
    assert_eq!(
        reduce(&mut state, Action::SocketOpened, T0 + 600.0),
        vec![Command::Send(ClientFrame::Hello {
            nick: String::new(),
            resume: Some("r_token".into()),
            token: None
        })]
    );
}

#[test]
fn signing_out_of_an_account_logs_out_then_closes() {
    let mut state = signed_in_to("rust");
    let commands = reduce(&mut state, Action::Quit, T0);
    assert_eq!(commands, vec![Command::Logout, Command::Disconnect]);
    assert_eq!(state.screen, Screen::Join);
    assert_eq!(state.account.signed_in_as, None);
    assert!(!state.account.session && !state.account.use_cookie);
}

#[test]
fn signing_out_as_a_guest_does_not_log_out() {
    let mut state = online_in("rust");
    assert_eq!(
        reduce(&mut state, Action::Quit, T0),
        vec![Command::Disconnect]
    );
}

#[test]
fn leaving_the_last_room_keeps_the_sign_in_to_continue() {
    let mut state = signed_in_to("rust");
    let commands = reduce(&mut state, Action::LeaveRoom("rust".into()), T0);
    assert!(!commands.contains(&Command::Logout));
    assert_eq!(state.screen, Screen::Join);
    assert_eq!(state.account.signed_in_as.as_deref(), Some("Mina"));
    // "Continue as Mina": the cookie again.
    let commands = reduce(
        &mut state,
        Action::ContinueSignedIn { room: "go".into() },
        T0,
    );
    assert_eq!(commands, vec![Command::Connect]);
    assert!(state.account.use_cookie);
    assert!(state.room("go").is_some());
}

#[test]
fn me_on_load_offers_to_continue_and_forgetting_logs_out() {
    let mut state = State::new("p".into());
    assert!(!state.account.checked);
    reduce(&mut state, Action::Me(Some("Mina".into())), T0);
    assert!(state.account.checked);
    assert_eq!(state.account.signed_in_as.as_deref(), Some("Mina"));
    assert_eq!(
        reduce(&mut state, Action::ForgetAccount, T0),
        vec![Command::Logout]
    );
    assert_eq!(state.account.signed_in_as, None);
    // Nothing to forget: nothing to ask.
    assert_eq!(reduce(&mut state, Action::ForgetAccount, T0), vec![]);
    // And "Continue" without an account does nothing.
    assert_eq!(
        reduce(
            &mut state,
            Action::ContinueSignedIn { room: "go".into() },
            T0
        ),
        vec![]
    );
}

#[test]
fn joining_as_a_guest_after_a_sign_in_says_the_nickname() {
    let mut state = signed_in_to("rust");
    reduce(&mut state, Action::LeaveRoom("rust".into()), T0);
    reduce(
        &mut state,
        Action::Start {
            nick: "joon".into(),
            room: "rust".into(),
        },
        T0,
    );
    assert!(!state.account.use_cookie);
    assert_eq!(
        reduce(&mut state, Action::SocketOpened, T0),
        vec![Command::Send(ClientFrame::Hello {
            nick: "joon".into(),
            resume: None,
            token: None
        })]
    );
}

#[test]
fn creating_an_account_registers_and_checks_first() {
    let mut state = State::new("p".into());
    let register = |nick: &str, password: &str| Action::Register {
        nick: nick.into(),
        password: password.into(),
        room: "rust".into(),
    };
    assert_eq!(reduce(&mut state, register("Mina", "short"), T0), vec![]);
    assert_eq!(
        state.account.error.as_ref().map(|e| e.field),
        Some(AuthField::Password)
    );
    assert_eq!(reduce(&mut state, register("  ", PASSWORD), T0), vec![]);
    assert_eq!(
        state.account.error.as_ref().map(|e| e.field),
        Some(AuthField::Nick)
    );
    assert_eq!(
        reduce(&mut state, register("Mina", PASSWORD), T0),
        vec![Command::Register {
            nick: "Mina".into(),
            password: PASSWORD.into()
        }]
    );
    assert_eq!(state.account.error, None);
    // One request at a time.
    assert_eq!(reduce(&mut state, register("Mina", PASSWORD), T0), vec![]);
    // The glue signs in right after; then the app connects.
    assert_eq!(
        reduce(
            &mut state,
            Action::SignedIn {
                nick: "Mina".into()
            },
            T0
        ),
        vec![Command::Connect]
    );
    assert_eq!(state.active.as_deref(), Some("rust"));
}

#[test]
fn refusals_are_told_in_plain_words_next_to_their_field() {
    let cases = [
        (
            failure(409, "nick_taken", "taken", None),
            AuthField::Nick,
            "that nickname is taken",
        ),
        (
            failure(400, "weak_password", "add another word or two", None),
            AuthField::Password,
            "add another word or two",
        ),
        (
            failure(401, "bad_credentials", "no", None),
            AuthField::Password,
            "wrong nickname or password",
        ),
        (
            failure(429, "too_many_attempts", "slow down", Some(42)),
            AuthField::Form,
            "too many attempts, try again in 42 s",
        ),
        (
            failure(400, "invalid_nick", "nicknames cannot have spaces", None),
            AuthField::Nick,
            "nicknames cannot have spaces",
        ),
        (
            failure(503, "busy", "all slots taken", None),
            AuthField::Form,
            "the server is busy, try again in a moment",
        ),
        (
            failure(0, "", "", None),
            AuthField::Form,
            "cannot reach the server",
        ),
    ];
    for (action, field, message) in cases {
        let mut state = State::new("p".into());
        reduce(
            &mut state,
            Action::SignIn {
                nick: "Mina".into(),
                password: PASSWORD.into(),
                room: "rust".into(),
            },
            T0,
        );
        assert_eq!(reduce(&mut state, action, T0), vec![]);
        let error = state.account.error.clone().expect("an error");
        assert_eq!((error.field, error.message.as_str()), (field, message));
        assert!(!state.account.busy, "the form can be sent again");
        assert_eq!(state.screen, Screen::Join);
        reduce(&mut state, Action::ClearAuthError, T0);
        assert_eq!(state.account.error, None);
    }
}

#[test]
fn a_reserved_nickname_refuses_the_guest_on_the_join_screen() {
    let mut state = State::new("p".into());
    reduce(
        &mut state,
        Action::Start {
            nick: "Mina".into(),
            room: "rust".into(),
        },
        T0,
    );
    reduce(&mut state, Action::SocketOpened, T0);
    let commands = reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::NickReserved,
            message: "Mina is reserved".into(),
            cid: None,
            room: None,
        }),
        T0,
    );
    assert_eq!(commands, vec![Command::Disconnect]);
    assert_eq!((state.screen, state.status), (Screen::Join, Status::Idle));
    assert!(state.join_error.unwrap().contains("reserved by an account"));
}

#[test]
fn an_ended_sign_in_goes_back_to_the_join_screen_signed_out() {
    let mut state = State::new("p".into());
    reduce(&mut state, Action::Me(Some("Mina".into())), T0);
    reduce(
        &mut state,
        Action::ContinueSignedIn {
            room: "rust".into(),
        },
        T0,
    );
    reduce(&mut state, Action::SocketOpened, T0);
    let commands = reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::InvalidToken,
            message: "expired".into(),
            cid: None,
            room: None,
        }),
        T0,
    );
    assert_eq!(commands, vec![Command::Disconnect]);
    assert_eq!(state.screen, Screen::Join);
    assert_eq!(state.account.signed_in_as, None);
    assert!(!state.account.use_cookie);
    assert!(state.join_error.is_some());
}
