//! The app's behaviour, natively: rooms people run and direct messages.
//! A room's settings come with `joined` and follow its `moderation` and
//! `topic` events (live or replayed), which show as system lines once; the
//! reader's rank decides what the page offers; a removal takes the room
//! out of the sidebar with a notice; refusals are told; and a muted reader
//! is told so. Direct messages are in `direct_messages.rs`.

mod common;

use common::*;
use parley_frontend::state::{ModRequest, Rank};
use parley_protocol::{ModAction, Moderation, Modes, TopicSet};

const DM: &str = "dm:abcdefgh01234567";

fn moderation(
    room: &str,
    seq: u64,
    nick: &str,
    action: ModAction,
    target: Option<&str>,
) -> Moderation {
    Moderation {
        room: room.into(),
        seq,
        nick: nick.into(),
        action,
        target: target.map(str::to_owned),
        reason: None,
        until: None,
        modes: None,
        ts: T0 as u64 + seq,
    }
}

fn event(m: Moderation) -> Action {
    Action::Frame(ServerFrame::Moderation(m))
}

fn system_lines(state: &State, room: &str) -> Vec<String> {
    state
        .room(room)
        .unwrap()
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::System { text, .. } => Some(text.clone()),
            Line::Chat(_) => None,
        })
        .collect()
}

fn owned_by_me() -> RoomSettings {
    RoomSettings {
        topic: Some("Rust talk".into()),
        owner: Some("me".into()),
        ops: vec!["ana".into()],
        ..RoomSettings::default()
    }
}

#[test]
fn joined_brings_the_settings_and_the_rank_follows_them() {
    let (state, _) = account_in("rust", owned_by_me(), false, &[]);
    let view = state.room("rust").unwrap();
    assert_eq!(view.settings.topic.as_deref(), Some("Rust talk"));
    assert_eq!(view.title(), "#rust");
    assert_eq!(state.rank("rust"), Rank::Owner);
    assert_eq!(view.role_of("ANA"), Some("op"));
    assert_eq!(view.role_of("bob"), None);

    // A guest with the owner's nickname in the settings moderates nothing.
    let mut guest = online_in("rust");
    reduce(&mut guest, joined_with("rust", vec![], owned_by_me()), T0);
    assert_eq!(guest.rank("rust"), Rank::Member);
    assert!(!guest.rank("rust").moderates());

    // A server admin has every right, but none in a direct message.
    let (admin, _) = account_in("rust", RoomSettings::default(), true, &[DM]);
    assert_eq!(admin.rank("rust"), Rank::Admin);
    assert_eq!(admin.rank(DM), Rank::Member);
}

#[test]
fn moderation_events_change_the_settings_and_show_once_as_system_lines() {
    let (mut state, _) = account_in("rust", RoomSettings::default(), false, &[]);
    assert_eq!(state.rank("rust"), Rank::Member);
    reduce(
        &mut state,
        event(moderation("rust", 1, "me", ModAction::Owner, Some("me"))),
        T0,
    );
    assert_eq!(state.rank("rust"), Rank::Owner);
    reduce(
        &mut state,
        event(moderation("rust", 2, "me", ModAction::Op, Some("ana"))),
        T0,
    );
    reduce(
        &mut state,
        event(moderation("rust", 3, "me", ModAction::Op, Some("bob"))),
        T0,
    );
    reduce(
        &mut state,
        event(moderation("rust", 4, "me", ModAction::Deop, Some("bob"))),
        T0,
    );
    let mut kick = moderation("rust", 5, "ana", ModAction::Kick, Some("bob"));
    kick.reason = Some("spam".into());
    reduce(&mut state, event(kick.clone()), T0);
    let mut mode = moderation("rust", 6, "me", ModAction::Mode, None);
    mode.modes = Some(Modes {
        accounts_only: true,
        invite_only: false,
    });
    reduce(&mut state, event(mode), T0);
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Topic(TopicSet {
            room: "rust".into(),
            seq: 7,
            nick: "ana".into(),
            text: "Rust 1.95 is out".into(),
            ts: T0 as u64 + 7,
        })),
        T0,
    );
    let mut ban = moderation("rust", 8, "ana", ModAction::Ban, Some("eve"));
    ban.until = Some(ban.ts + 2 * 60 * 60 * 1000);
    reduce(&mut state, event(ban), T0);
    // The same event again (a catch-up replaying it) shows nothing new.
    reduce(&mut state, event(kick), T0);

    let view = state.room("rust").unwrap();
    assert_eq!(view.settings.owner.as_deref(), Some("me"));
    assert_eq!(view.settings.ops, vec!["ana".to_owned()]);
    assert!(view.settings.modes.accounts_only && !view.settings.modes.invite_only);
    assert_eq!(view.settings.topic.as_deref(), Some("Rust 1.95 is out"));
    assert_eq!(view.last_seq, 8);
    assert_eq!(
        system_lines(&state, "rust"),
        vec![
            "me now owns the room",
            "ana is now an op",
            "bob is now an op",
            "bob is no longer an op",
            "ana kicked bob (spam)",
            "me made the room signed-in members only",
            "ana set the topic to “Rust 1.95 is out”",
            "ana banned eve for 2 hours",
        ]
    );
}

#[test]
fn a_catch_up_replays_events_in_order_and_joined_settings_win() {
    let (mut state, _) = account_in("rust", RoomSettings::default(), false, &[]);
    let history = vec![
        RoomEvent::Message(message("rust", 1, "bob", "hi", None)),
        RoomEvent::Moderation(moderation("rust", 2, "ana", ModAction::Mute, Some("me"))),
        RoomEvent::Moderation(moderation("rust", 3, "ana", ModAction::Unmute, Some("me"))),
    ];
    let settings = RoomSettings {
        muted: true,
        ..RoomSettings::default()
    };
    reduce(&mut state, joined_with("rust", history, settings), T0);
    let view = state.room("rust").unwrap();
    assert!(
        view.settings.muted,
        "the joined settings are the room's now"
    );
    assert_eq!(
        system_lines(&state, "rust"),
        vec!["ana muted me", "ana unmuted me"]
    );
    assert_eq!(seqs(&state, "rust"), vec![Some(1)]);
}

#[test]
fn being_muted_and_a_muted_refusal_are_remembered_for_the_composer() {
    let (mut state, _) = account_in("rust", RoomSettings::default(), false, &[]);
    reduce(
        &mut state,
        event(moderation("rust", 1, "ana", ModAction::Mute, Some("ME"))),
        T0,
    );
    assert!(state.room("rust").unwrap().settings.muted);
    assert!(state.room("rust").unwrap().is_muted_member("me"));
    reduce(
        &mut state,
        event(moderation("rust", 2, "ana", ModAction::Unmute, Some("me"))),
        T0,
    );
    assert!(!state.room("rust").unwrap().settings.muted);

    // The server refuses a message: it fails, and the room says muted.
    let commands = reduce(
        &mut state,
        Action::Send {
            room: "rust".into(),
            text: "hello".into(),
        },
        T0,
    );
    let cid = match &commands[..] {
        [Command::Send(ClientFrame::Send { cid, .. })] => cid.clone(),
        other => panic!("{other:?}"),
    };
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::Muted,
            message: "you are muted in this room".into(),
            cid: Some(cid),
            room: Some("rust".into()),
        }),
        T0,
    );
    assert!(state.room("rust").unwrap().settings.muted);
    assert_eq!(
        deliveries(&state, "rust"),
        vec![Delivery::Failed("you are muted in this room".into())]
    );
}

#[test]
fn a_removal_takes_the_room_out_of_the_sidebar_with_a_notice() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    reduce(&mut state, joined("go", vec![], false), T0);
    assert_eq!(state.active.as_deref(), Some("go"));
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Removed {
            room: "go".into(),
            by: "ana".into(),
            reason: Some("spam".into()),
            banned: false,
            until: None,
        }),
        T0,
    );
    assert!(state.room("go").is_none());
    assert_eq!(state.active.as_deref(), Some("rust"));
    assert_eq!(
        state.removal.as_deref(),
        Some("You were removed from #go by ana: spam")
    );
    // A reconnect does not join it again.
    reduce(
        &mut state,
        Action::SocketClosed {
            retry_at_ms: Some(T0),
        },
        T0,
    );
    reduce(&mut state, Action::SocketOpened, T0);
    let commands = reduce(&mut state, welcome("me", &[]), T0);
    assert!(!commands
        .iter()
        .any(|c| matches!(c, Command::Send(ClientFrame::Join { room, .. }) if room == "go")));
    reduce(&mut state, Action::DismissRemoval, T0);
    assert_eq!(state.removal, None);

    // A ban of the last room leaves the chat open, with no room.
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Removed {
            room: "rust".into(),
            by: "ana".into(),
            reason: None,
            banned: true,
            until: None,
        }),
        T0,
    );
    assert_eq!((state.screen, state.active.clone()), (Screen::Chat, None));
    assert_eq!(
        state.removal.as_deref(),
        Some("You were banned from #rust by ana")
    );
    // Signing out forgets it.
    reduce(&mut state, Action::Quit, T0);
    assert_eq!((state.screen, state.removal.clone()), (Screen::Join, None));
}

#[test]
fn a_join_kept_out_by_the_rooms_rules_is_told_and_the_room_closed() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("vip".into()), T0);
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::AccountsOnly,
            message: "signed-in members only".into(),
            cid: None,
            room: Some("vip".into()),
        }),
        T0,
    );
    assert!(state.room("vip").is_none());
    assert_eq!(state.active.as_deref(), Some("rust"));
    assert_eq!(
        state.notice.as_deref(),
        Some("#vip is for signed-in members only: sign in to join it.")
    );
}

#[test]
fn requests_go_out_checked_and_refusals_are_told_in_the_panel() {
    let (mut state, _) = account_in("rust", owned_by_me(), false, &[]);
    let ask = |request| Action::Moderate {
        room: "rust".into(),
        request,
    };
    let commands = reduce(
        &mut state,
        ask(ModRequest::Kick {
            nick: "bob".into(),
            reason: "  ".into(),
        }),
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Kick {
            room: "rust".into(),
            nick: "bob".into(),
            reason: None
        })]
    );
    let commands = reduce(
        &mut state,
        ask(ModRequest::Modes {
            accounts_only: true,
            invite_only: false,
        }),
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Mode {
            room: "rust".into(),
            accounts_only: Some(true),
            invite_only: Some(false)
        })]
    );
    let commands = reduce(
        &mut state,
        ask(ModRequest::Ban {
            nick: "eve".into(),
            reason: " ads ".into(),
        }),
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Ban {
            room: "rust".into(),
            nick: "eve".into(),
            minutes: None,
            reason: Some("ads".into())
        })]
    );
    // A nickname the rules refuse is not invited.
    assert!(reduce(&mut state, ask(ModRequest::Invite("x\u{202E}y".into())), T0).is_empty());
    // A topic the text rules refuse is not sent.
    let commands = reduce(&mut state, ask(ModRequest::Topic("x".repeat(301))), T0);
    assert!(commands.is_empty());
    assert!(state.room("rust").unwrap().mod_error.is_some());

    // The panel is open: a refusal shows there, not as a notice.
    reduce(&mut state, Action::ShowSettings(Some("rust".into())), T0);
    assert_eq!(state.room("rust").unwrap().mod_error, None);
    reduce(
        &mut state,
        ask(ModRequest::Op {
            nick: "bob".into(),
            on: true,
        }),
        T0,
    );
    state.notice = None;
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Error {
            code: ErrorCode::NoSuchNick,
            message: "bob has no account".into(),
            cid: None,
            room: Some("rust".into()),
        }),
        T0,
    );
    assert_eq!(
        state.room("rust").unwrap().mod_error.as_deref(),
        Some("bob has no account")
    );
    assert_eq!(state.notice, None);

    // The modlog.
    let commands = reduce(&mut state, Action::LoadModlog("rust".into()), T0);
    assert!(
        matches!(&commands[..], [Command::Send(ClientFrame::Modlog { room, .. })] if room == "rust")
    );
    reduce(
        &mut state,
        Action::Frame(ServerFrame::Modlog {
            room: "rust".into(),
            entries: vec![RoomEvent::Moderation(moderation(
                "rust",
                9,
                "me",
                ModAction::Invite,
                Some("zoe"),
            ))],
            more: false,
        }),
        T0,
    );
    let log = state.room("rust").unwrap().modlog.clone().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].text, "me invited zoe");
}
