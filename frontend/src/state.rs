//! Everything the app knows, and how each event changes it.
//!
//! [`reduce`] is a plain function with no browser types: it takes the state,
//! an [`Action`] (something the user did, or something the server or the
//! socket said) and the current time, updates the state, and returns the
//! [`Command`]s to carry out (frames to send, a socket to open). So the chat
//! logic (pending → sent, dedupe by `seq` and `cid`, catch-up after a
//! reconnect, unread counts, typing expiry) is unit-tested natively, and the
//! browser glue in `connection.rs` and `hooks/` stays thin.

mod server;

use parley_protocol::{ClientFrame, Limits, ServerFrame};

use server::on_frame;

pub use crate::room::{ChatLine, Delivery, Line, RoomView};

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
    /// The rooms, in the order they were opened.
    pub rooms: Vec<RoomView>,
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
        self.rooms.iter().find(|r| r.name == name)
    }

    pub(crate) fn room_mut(&mut self, name: &str) -> Option<&mut RoomView> {
        self.rooms.iter_mut().find(|r| r.name == name)
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
            self.rooms.push(RoomView::new(name));
        }
    }

    pub(crate) fn select(&mut self, name: &str) {
        if let Some(room) = self.room_mut(name) {
            room.unread = 0;
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
        Action::Start { nick, room } => {
            state.nick = nick.trim().to_owned();
            state.join_error = None;
            let room = parley_protocol::validate_room(&room)
                .unwrap_or_else(|_| parley_protocol::DEFAULT_ROOM.to_owned());
            state.open_room(&room);
            state.select(&room);
            state.status = Status::Connecting;
            commands.push(Command::Connect);
        }
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
            }));
        }
        Action::SocketClosed { retry_at_ms } => {
            state.identified = false;
            for room in &mut state.rooms {
                room.joined = false;
                room.loading_older = false;
            }
            if state.screen == Screen::Chat || state.status != Status::Idle {
                state.status = match retry_at_ms {
                    Some(at_ms) => Status::Reconnecting { at_ms },
                    None => Status::Offline,
                };
            }
        }
        Action::Frame(frame) => on_frame(state, frame, now, &mut commands),
        Action::Send { room, text } => {
            let max = state.limits.max_text_chars as usize;
            let text = match parley_protocol::validate_text_with_limit(&text, max) {
                Ok(text) => text,
                Err(err) => {
                    state.notice = Some(err.to_string());
                    return commands;
                }
            };
            if state.room(&room).is_none() {
                return commands;
            }
            let cid = format!("{}-{}", state.cid_prefix, state.next_cid);
            state.next_cid += 1;
            let nick = state.nick.clone();
            let online = state.online();
            let generation = state.generation;
            let view = state.room_mut(&room).expect("checked above");
            let send_now = online && view.joined;
            view.lines.push(Line::Chat(ChatLine {
                seq: None,
                cid: Some(cid.clone()),
                nick,
                text: text.clone(),
                ts: now,
                own: true,
                delivery: Delivery::Pending,
                sent_on: send_now.then_some(generation),
                sent_at: now,
            }));
            view.typing_sent_at = None;
            if send_now {
                commands.push(Command::Send(ClientFrame::Send { room, text, cid }));
            }
        }
        Action::Retry { room, cid } => {
            let online = state.online();
            let generation = state.generation;
            if let Some(view) = state.room_mut(&room) {
                let send_now = online && view.joined;
                if let Some(line) = view.own_line_mut(&cid) {
                    line.delivery = Delivery::Pending;
                    line.sent_at = now;
                    line.sent_on = send_now.then_some(generation);
                    if send_now {
                        commands.push(Command::Send(ClientFrame::Send {
                            room,
                            text: line.text.clone(),
                            cid,
                        }));
                    }
                }
            }
        }
        Action::OpenRoom(name) => match parley_protocol::validate_room(&name) {
            Ok(name) => {
                let is_new = state.room(&name).is_none();
                state.open_room(&name);
                state.select(&name);
                if is_new && state.online() {
                    commands.push(Command::Send(ClientFrame::Join {
                        room: name,
                        since: None,
                    }));
                }
            }
            Err(err) => state.notice = Some(err.to_string()),
        },
        Action::LeaveRoom(name) => {
            if let Some(index) = state.rooms.iter().position(|r| r.name == name) {
                state.rooms.remove(index);
                if state.online() {
                    commands.push(Command::Send(ClientFrame::Leave { room: name.clone() }));
                }
                if state.active.as_deref() == Some(name.as_str()) {
                    state.active = None;
                    if let Some(next) = state
                        .rooms
                        .get(index.saturating_sub(1))
                        .map(|r| r.name.clone())
                    {
                        state.select(&next);
                    }
                }
                if state.rooms.is_empty() {
                    quit(state, &mut commands);
                }
            }
        }
        Action::Quit => {
            state.rooms.clear();
            state.active = None;
            quit(state, &mut commands);
        }
        Action::SelectRoom(name) => state.select(&name),
        Action::Typing(room) => {
            let online = state.online();
            if let Some(view) = state.room_mut(&room) {
                let due = view
                    .typing_sent_at
                    .is_none_or(|t| now - t >= TYPING_EVERY_MS);
                if online && view.joined && due {
                    view.typing_sent_at = Some(now);
                    commands.push(Command::Send(ClientFrame::Typing { room }));
                }
            }
        }
        Action::LoadOlder(room) => {
            let online = state.online();
            if let Some(view) = state.room_mut(&room) {
                if online && view.joined && view.more_before && !view.loading_older {
                    if let Some(oldest) = view.oldest_seq() {
                        view.loading_older = true;
                        commands.push(Command::Send(ClientFrame::History {
                            room,
                            before: oldest,
                            limit: Some(HISTORY_PAGE),
                        }));
                    }
                }
            }
        }
        Action::Tick => {
            let generation = state.generation;
            let online = state.online();
            for view in &mut state.rooms {
                view.typing.retain(|(_, until)| *until > now);
                for line in view.lines.iter_mut() {
                    if let Line::Chat(line) = line {
                        let waited = now - line.sent_at;
                        let on_this_socket = line.sent_on == Some(generation);
                        if line.delivery == Delivery::Pending
                            && online
                            && on_this_socket
                            && waited > ACK_TIMEOUT_MS
                        {
                            line.delivery = Delivery::Failed("no answer from the server".into());
                        }
                    }
                }
            }
        }
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

/// Back to the join screen, closing the socket for good.
fn quit(state: &mut State, commands: &mut Vec<Command>) {
    state.screen = Screen::Join;
    state.resume = None;
    state.identified = false;
    state.status = Status::Idle;
    state.notice = None;
    commands.push(Command::Disconnect);
}
