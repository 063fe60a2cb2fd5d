//! The native half of rendering a long room, with criterion: what the
//! reducer costs for one new message in a 5,000-line room while the page
//! still holds the room (copy on write), and what handing the room to the
//! message list costs now (an `Rc` and a pointer compare) against the two
//! deep copies of every line that `App` used to make for each render.
//!
//! The number that counts is the browser's (scripts/bench-render.sh); this
//! one is cheap and needs no browser: `cargo bench -p parley-frontend`.

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use parley_frontend::state::{reduce, Action, ChatLine, Line, RoomView, State};
use parley_protocol::{ChatMessage, Limits, RoomEvent, ServerFrame};

const LINES: u64 = 5_000;
const ROOM: &str = "bench";
const T0: f64 = 1_764_000_000_000.0;

fn message(seq: u64) -> ChatMessage {
    ChatMessage {
        room: ROOM.into(),
        seq,
        nick: ["mina", "joon", "ana"][(seq / 4 % 3) as usize].into(),
        text: format!("can someone check the dashboards? p99 went up a bit (#{seq})"),
        ts: T0 as u64 + seq,
        cid: Some(format!("seed-{seq}")),
        ..ChatMessage::default()
    }
}

/// An online app showing a room of [`LINES`] messages.
fn long_room() -> State {
    let mut state = State::new("p".into());
    let steps = [
        Action::Start {
            nick: "reader".into(),
            room: ROOM.into(),
        },
        Action::SocketOpened,
        Action::Frame(ServerFrame::Welcome {
            nick: "reader".into(),
            session: "s".into(),
            resume: "r".into(),
            resumed: false,
            rooms: vec![],
            limits: Limits::DEFAULT,
            account: false,
            dms: Vec::new(),
            admin: false,
        }),
        Action::Frame(ServerFrame::Joined {
            room: ROOM.into(),
            members: vec!["reader".into()],
            member_count: 1,
            members_more: false,
            history: (1..=LINES)
                .map(|s| RoomEvent::Message(message(s)))
                .collect(),
            more: false,
            last_seq: LINES,
            settings: Default::default(),
        }),
    ];
    for action in steps {
        reduce(&mut state, action, T0);
    }
    assert_eq!(state.room(ROOM).unwrap().lines.len() as u64, LINES);
    state
}

/// What `App` did per render before the rooms were shared: a deep copy of
/// the room (`.cloned()`), and another for the message list's props.
fn deep_copy(room: &RoomView) -> RoomView {
    RoomView {
        lines: room
            .lines
            .iter()
            .map(|line| match line {
                Line::Chat(chat) => Line::Chat(Rc::new(ChatLine::clone(chat))),
                system => system.clone(),
            })
            .collect(),
        ..room.clone()
    }
}

fn rendering_a_long_room(c: &mut Criterion) {
    let mut group = c.benchmark_group("long_room");
    let state = long_room();
    let live = Action::Frame(ServerFrame::Message(message(LINES + 1)));

    group.bench_function("reduce_one_new_message_while_shown", |b| {
        b.iter_batched(
            || (state.clone(), state.shared_room(ROOM).cloned()),
            |(mut state, _shown)| black_box(reduce(&mut state, live.clone(), T0)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("props_share_the_room", |b| {
        let before = state.shared_room(ROOM).cloned().unwrap();
        b.iter(|| {
            let room = state.shared_room(ROOM).cloned().unwrap();
            black_box(Rc::ptr_eq(&room, &before) || room == before)
        })
    });
    group.bench_function("props_two_deep_copies_as_before", |b| {
        let room = state.room(ROOM).unwrap();
        b.iter(|| {
            let copy = deep_copy(room);
            black_box(deep_copy(&copy))
        })
    });
    group.finish();
}

criterion_group!(benches, rendering_a_long_room);
criterion_main!(benches);
