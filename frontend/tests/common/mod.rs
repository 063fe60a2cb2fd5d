//! Helpers for the reducer tests: a joined, online app and frames to feed it.
// Each test file uses a different part of these helpers.
#![allow(dead_code, unused_imports)]

pub use parley_frontend::state::{
    reduce, Action, Command, Delivery, Line, Screen, State, Status, ACK_TIMEOUT_MS,
};
pub use parley_protocol::{
    ChatMessage, ClientFrame, Deleted, Edited, ErrorCode, Limits, Reacted, Reactions, RoomEvent,
    RoomSettings, ServerFrame,
};

pub const T0: f64 = 1_764_000_000_000.0;

pub fn limits() -> Limits {
    Limits {
        max_text_chars: 2000,
        max_frame_bytes: 16384,
        rate_burst: 20,
        rate_per_sec: 5,
        typing_ttl_ms: 6000,
        resume_grace_ms: 30000,
        edit_window_ms: 15 * 60 * 1000,
        max_reactions: 20,
    }
}

pub fn welcome(nick: &str, rooms: &[&str]) -> Action {
    Action::Frame(ServerFrame::Welcome {
        nick: nick.into(),
        session: "s_1".into(),
        resume: "r_token".into(),
        resumed: !rooms.is_empty(),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        limits: limits(),
        account: false,
        dms: Vec::new(),
        admin: false,
    })
}

pub fn message(room: &str, seq: u64, nick: &str, text: &str, cid: Option<&str>) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        nick: nick.into(),
        text: text.into(),
        ts: T0 as u64 + seq,
        cid: cid.map(str::to_owned),
        ..ChatMessage::default()
    }
}

pub fn joined(room: &str, history: Vec<ChatMessage>, more: bool) -> Action {
    joined_events(
        room,
        history.into_iter().map(RoomEvent::Message).collect(),
        more,
    )
}

/// A `joined` whose history holds changes too (a catch-up).
pub fn joined_events(room: &str, history: Vec<RoomEvent>, more: bool) -> Action {
    let last_seq = history.last().map_or(0, |e| e.seq());
    Action::Frame(ServerFrame::Joined {
        room: room.into(),
        members: vec!["me".into(), "mina".into()],
        member_count: 2,
        members_more: false,
        history,
        more,
        last_seq,
        settings: Default::default(),
    })
}

/// An app that joined `room` as "me" and is online.
pub fn online_in(room: &str) -> State {
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
            resume: None,
            token: None
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

pub fn seqs(state: &State, room: &str) -> Vec<Option<u64>> {
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

pub fn deliveries(state: &State, room: &str) -> Vec<Delivery> {
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

pub fn edited(room: &str, seq: u64, target: u64, nick: &str, text: &str) -> Edited {
    Edited {
        room: room.into(),
        seq,
        target,
        nick: nick.into(),
        text: text.into(),
        mentions: vec![],
        ts: T0 as u64 + seq,
    }
}

pub fn deleted(room: &str, seq: u64, target: u64, nick: &str) -> Deleted {
    Deleted {
        room: room.into(),
        seq,
        target,
        nick: nick.into(),
        ts: T0 as u64 + seq,
    }
}

pub fn reacted(room: &str, seq: u64, target: u64, nick: &str, emoji: &str, on: bool) -> Reacted {
    Reacted {
        room: room.into(),
        seq,
        target,
        nick: nick.into(),
        emoji: emoji.into(),
        on,
        ts: T0 as u64 + seq,
    }
}

pub fn frame(frame: ServerFrame) -> Action {
    Action::Frame(frame)
}

pub fn ack(room: &str, cid: &str, seq: u64) -> Action {
    Action::Frame(ServerFrame::Ack {
        cid: cid.into(),
        room: room.into(),
        seq,
        ts: T0 as u64 + seq,
    })
}

/// The chat line with this seq.
pub fn line(state: &State, room: &str, seq: u64) -> parley_frontend::state::ChatLine {
    state
        .room(room)
        .unwrap()
        .line(seq)
        .expect("the line")
        .clone()
}

/// The frames among `commands`.
pub fn frames(commands: &[Command]) -> Vec<ClientFrame> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Send(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// An app signed in to an account as "me" (admin or not), online in `room`
/// whose `joined` carries `settings`.
pub fn account_in(
    room: &str,
    settings: RoomSettings,
    admin: bool,
    dms: &[&str],
) -> (State, Vec<Command>) {
    let mut state = State::new("p".into());
    reduce(
        &mut state,
        Action::Start {
            nick: "me".into(),
            room: room.into(),
        },
        T0,
    );
    reduce(&mut state, Action::SocketOpened, T0);
    let welcome = Action::Frame(ServerFrame::Welcome {
        nick: "me".into(),
        session: "s_1".into(),
        resume: "r_1".into(),
        resumed: false,
        rooms: vec![],
        limits: limits(),
        account: true,
        dms: dms.iter().map(|d| d.to_string()).collect(),
        admin,
    });
    let commands = reduce(&mut state, welcome, T0);
    reduce(&mut state, joined_with(room, vec![], settings), T0);
    (state, commands)
}

pub fn joined_with(room: &str, history: Vec<RoomEvent>, settings: RoomSettings) -> Action {
    let last_seq = history.last().map_or(0, |e| e.seq());
    Action::Frame(ServerFrame::Joined {
        room: room.into(),
        members: vec!["bob".into(), "me".into()],
        member_count: 2,
        members_more: false,
        history,
        more: false,
        last_seq,
        settings,
    })
}
