//! Everything the app knows, and how each event changes it.
//!
//! [`reduce`] is a plain function with no browser types: it takes the state,
//! an [`Action`] (something the user did, or something the server or the
//! socket said) and the current time, updates the state, and returns the
//! [`Command`]s to carry out (frames to send, a socket to open). So the chat
//! logic (pending → sent, dedupe by `seq` and `cid`, catch-up after a
//! reconnect, unread counts, typing expiry) is unit-tested natively, and the
//! browser glue in `connection.rs` and `hooks/` stays thin.
//!
//! This file holds the types and the part of [`reduce`] that belongs to
//! neither side: the socket's events, the clock and the page's visibility.
//! What the user does is in `user.rs`, what the server says in `server.rs`,
//! and one room's lines in `room.rs`.

pub mod members;
pub mod room;
mod server;
mod user;

use std::rc::Rc;

use parley_protocol::{ClientFrame, Limits, ServerFrame};

pub use room::{ChatLine, Delivery, Line, RoomView};

/// How long a sent message may wait for its `ack` before it counts as failed.
pub const ACK_TIMEOUT_MS: f64 = 10_000.0;
/// Shortest gap between two `typing` frames the app sends for one room.
pub const TYPING_EVERY_MS: f64 = 2_000.0;
/// Messages asked for per scrollback page.
pub const HISTORY_PAGE: u32 = 50;

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Pick a nickname and a room.
    Join,
    /// The chat itself.
    Chat,
}

/// The state of the connection, as the status line shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    /// Not connected and not trying (before the join form is sent).
    Idle,
    /// Opening the socket or waiting for `welcome`.
    Connecting,
    /// Connected and identified.
    Online,
    /// Lost; the next attempt is at this time (ms since the epoch).
    Reconnecting {
        /// When the next attempt starts.
        at_ms: f64,
    },
    /// The browser says it is offline; waiting for it to come back.
    Offline,
}

/// Everything the app knows.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Which screen is shown.
    pub screen: Screen,
    /// The nickname (as typed, then as the server confirmed it).
    pub nick: String,
    /// The resume token of the current session.
    pub resume: Option<String>,
    /// The server's limits.
    pub limits: Limits,
    /// The connection.
    pub status: Status,
    /// Whether the current socket got its `welcome`.
    pub identified: bool,
    /// Counts sockets, so a pending message knows which socket it went out on.
    pub generation: u32,
    /// The rooms, in the order they were opened. Shared with the page, and
    /// copied on write: a room that did not change keeps its pointer.
    pub rooms: Vec<Rc<RoomView>>,
    /// The room shown.
    pub active: Option<String>,
    /// Why the join screen refused (e.g. the nickname is taken).
    pub join_error: Option<String>,
    /// A passing problem to show (e.g. a refused room name).
    pub notice: Option<String>,
    /// Whether the page is in view (a hidden tab counts the shown room's
    /// new messages as unread too, so the title tells).
    pub visible: bool,
    /// Prefix making this page's message ids unique.
    pub cid_prefix: String,
    /// The next message id number.
    pub next_cid: u64,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The join form was sent.
    Start {
        /// The nickname typed.
        nick: String,
        /// The room typed.
        room: String,
    },
    /// A new socket is being opened (a first attempt or a retry).
    SocketOpening,
    /// A socket opened.
    SocketOpened,
    /// The socket closed; `retry_at_ms` is when the next attempt starts
    /// (`None`: the browser is offline and the app waits for it).
    SocketClosed {
        /// When the next attempt starts.
        retry_at_ms: Option<f64>,
    },
    /// The server sent a frame.
    Frame(ServerFrame),
    /// The user sends a message.
    Send {
        /// The room.
        room: String,
        /// What they typed.
        text: String,
    },
    /// The user retries a failed message.
    Retry {
        /// The room.
        room: String,
        /// The failed message's id.
        cid: String,
    },
    /// Open (join) another room, or show it if it is open.
    OpenRoom(String),
    /// Leave a room.
    LeaveRoom(String),
    /// Leave every room and go back to the join screen (closes with 1000).
    Quit,
    /// Show a room.
    SelectRoom(String),
    /// The user is typing in a room.
    Typing(String),
    /// The user scrolled to the top of a room.
    LoadOlder(String),
    /// The user scrolled to the end of a room's member list.
    MoreMembers(String),
    /// The user searches a room's members by the start of a nickname (an
    /// empty prefix ends the search).
    SearchMembers {
        /// The room.
        room: String,
        /// What was typed.
        prefix: String,
    },
    /// Time passed: expire typing indicators, fail unanswered messages.
    Tick,
    /// The notice was read.
    DismissNotice,
    /// The page was hidden (another tab, minimised) or shown again.
    Visible(bool),
}

/// Something for the browser glue to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open a socket (if none is open or opening).
    Connect,
    /// Send a frame now (dropped if the socket is not open: the state still
    /// holds what matters and re-sends it after the next `welcome`).
    Send(ClientFrame),
    /// Remember the nickname for the next visit.
    SaveNick(String),
    /// Close the socket for good (1000): the user went back to the join screen.
    Disconnect,
}

impl State {
    /// A fresh app; `cid_prefix` should be random per page load.
    pub fn new(cid_prefix: String) -> Self {
        State {
            screen: Screen::Join,
            nick: String::new(),
            resume: None,
            limits: Limits::DEFAULT,
            status: Status::Idle,
            identified: false,
            generation: 0,
            rooms: Vec::new(),
            active: None,
            join_error: None,
            notice: None,
            visible: true,
            cid_prefix,
            next_cid: 1,
        }
    }

    /// The room called `name`.
    pub fn room(&self, name: &str) -> Option<&RoomView> {
        self.shared_room(name).map(|r| &**r)
    }

    /// The room called `name`, to share with the page without copying it.
    pub fn shared_room(&self, name: &str) -> Option<&Rc<RoomView>> {
        self.rooms.iter().find(|r| r.name == name)
    }

    /// The room called `name`, to change it: copied first if the page still
    /// shares it (its chat lines stay shared), so call it only to change
    /// something.
    pub(crate) fn room_mut(&mut self, name: &str) -> Option<&mut RoomView> {
        self.rooms
            .iter_mut()
            .find(|r| r.name == name)
            .map(Rc::make_mut)
    }

    /// Unread messages over all rooms.
    pub fn unread_total(&self) -> u32 {
        self.rooms.iter().map(|r| r.unread).sum()
    }

    pub(crate) fn online(&self) -> bool {
        self.identified && self.status == Status::Online
    }

    pub(crate) fn open_room(&mut self, name: &str) {
        if self.room(name).is_none() {
            self.rooms.push(Rc::new(RoomView::new(name)));
        }
    }

    pub(crate) fn select(&mut self, name: &str) {
        if let Some(room) = self.room(name) {
            if room.unread != 0 {
                self.room_mut(name).expect("found above").unread = 0;
            }
            self.active = Some(name.to_owned());
        }
    }

    /// The `join` frame that catches a room up from what it has seen.
    pub(crate) fn join_frame(room: &RoomView) -> ClientFrame {
        ClientFrame::Join {
            room: room.name.clone(),
            since: (room.last_seq > 0).then_some(room.last_seq),
        }
    }
}

/// Applies `action` at time `now` (ms since the epoch); returns what to do.
pub fn reduce(state: &mut State, action: Action, now: f64) -> Vec<Command> {
    let mut commands = Vec::new();
    match action {
        Action::Start { nick, room } => user::start(state, nick, room, &mut commands),
        Action::SocketOpening => {
            if state.status != Status::Idle {
                state.status = Status::Connecting;
            }
        }
        Action::SocketOpened => {
            state.generation += 1;
            state.identified = false;
            state.status = Status::Connecting;
            commands.push(Command::Send(ClientFrame::Hello {
                nick: state.nick.clone(),
                resume: state.resume.clone(),
                token: None,
            }));
        }
        Action::SocketClosed { retry_at_ms } => {
            state.identified = false;
            for room in &mut state.rooms {
                if room.joined || room.loading_older {
                    let room = Rc::make_mut(room);
                    room.joined = false;
                    room.loading_older = false;
                }
            }
            if state.screen == Screen::Chat || state.status != Status::Idle {
                state.status = match retry_at_ms {
                    Some(at_ms) => Status::Reconnecting { at_ms },
                    None => Status::Offline,
                };
            }
        }
        Action::Frame(frame) => server::on_frame(state, frame, now, &mut commands),
        Action::Send { room, text } => user::send(state, room, text, now, &mut commands),
        Action::Retry { room, cid } => user::retry(state, room, cid, now, &mut commands),
        Action::OpenRoom(name) => user::open_room(state, name, &mut commands),
        Action::LeaveRoom(name) => user::leave_room(state, name, &mut commands),
        Action::Quit => user::quit(state, &mut commands),
        Action::SelectRoom(name) => state.select(&name),
        Action::Typing(room) => user::typing(state, room, now, &mut commands),
        Action::LoadOlder(room) => user::load_older(state, room, &mut commands),
        Action::MoreMembers(room) => user::more_members(state, room, &mut commands),
        Action::SearchMembers { room, prefix } => {
            user::search_members(state, room, prefix, &mut commands)
        }
        Action::Tick => tick(state, now),
        Action::DismissNotice => state.notice = None,
        Action::Visible(visible) => {
            state.visible = visible;
            if let (true, Some(active)) = (visible, state.active.clone()) {
                state.select(&active);
            }
        }
    }
    commands
}

/// Time passed: typing indicators expire, and own messages sent on this
/// socket that waited too long for their `ack` fail.
fn tick(state: &mut State, now: f64) {
    let generation = state.generation;
    let online = state.online();
    let timed_out = |line: &ChatLine| {
        line.delivery == Delivery::Pending
            && online
            && line.sent_on == Some(generation)
            && now - line.sent_at > ACK_TIMEOUT_MS
    };
    for view in &mut state.rooms {
        // Rooms where nothing expires keep their pointer (see `rooms`).
        let expires = view.typing.iter().any(|(_, until)| *until <= now)
            || (view.typing_crowd() && view.typing_crowd_until <= now)
            || view
                .lines
                .iter()
                .any(|l| matches!(l, Line::Chat(c) if timed_out(c)));
        if !expires {
            continue;
        }
        let view = Rc::make_mut(view);
        view.typing.retain(|(_, until)| *until > now);
        if view.typing_crowd_until <= now {
            view.typing_crowd_until = 0.0;
        }
        for line in view.lines.iter_mut() {
            if let Line::Chat(line) = line {
                if timed_out(line) {
                    Rc::make_mut(line).delivery =
                        Delivery::Failed("no answer from the server".into());
                }
            }
        }
    }
}
