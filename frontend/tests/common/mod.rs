//! Helpers for the reducer tests: a joined, online app and frames to feed it.
// Each test file uses a different part of these helpers.
#![allow(dead_code, unused_imports)]

pub use parley_frontend::state::{
    reduce, Action, Command, Delivery, Line, Screen, State, Status, ACK_TIMEOUT_MS,
};
pub use parley_protocol::{ChatMessage, ClientFrame, ErrorCode, Limits, ServerFrame};

pub const T0: f64 = 1_764_000_000_000.0;

pub fn limits() -> Limits {
    Limits {
        max_text_chars: 2000,
        max_frame_bytes: 16384,
        rate_burst: 20,
        rate_per_sec: 5,
        typing_ttl_ms: 6000,
        resume_grace_ms: 30000,
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
    }
}

pub fn joined(room: &str, history: Vec<ChatMessage>, more: bool) -> Action {
    let last_seq = history.last().map_or(0, |m| m.seq);
    Action::Frame(ServerFrame::Joined {
        room: room.into(),
        members: vec!["me".into(), "mina".into()],
        member_count: 2,
        members_more: false,
        history,
        more,
        last_seq,
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
