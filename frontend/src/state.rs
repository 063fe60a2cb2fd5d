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
//! This file holds the state and the part of [`reduce`] that belongs to
//! neither side: the socket's events, the clock and the page's visibility.
//! What the user does is in `user.rs` (messages, rooms) and `life.rs`
//! (replies, edits, deletions, reactions), what the server says in
//! `server.rs`, one room's lines in `room.rs` (and the changes to them in
//! `changes.rs`), one line in `line.rs`, and searching in `search.rs`.

pub mod account;
mod action;
mod changes;
pub mod life;
pub mod line;
pub mod members;
mod moderate;
pub mod room;
pub mod run;
pub mod search;
mod server;
mod user;

use std::rc::Rc;

use parley_protocol::{ClientFrame, Limits};

pub use account::{Account, AuthError, AuthFailure, AuthField};
pub use action::{Action, Command};
pub use line::{ChangeKind, ChatLine, Delivery, ReactionView};
pub use moderate::ModRequest;
pub use room::{Compose, Focus, Line, RoomView};
pub use run::{ModlogEntry, Rank};
pub use search::SearchView;

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
    /// The search panel, when open.
    pub search: Option<SearchView>,
    /// Counts searches, for their ids.
    pub next_search: u32,
    /// Rooms whose mentions neither notify nor show a badge.
    pub muted: Vec<String>,
    /// The account: signed in or not, the sign-in forms' requests.
    pub account: Account,
    /// Whether the account is a server admin (`welcome`).
    pub admin: bool,
    /// "You were removed from #rust by joon: spam", until dismissed.
    pub removal: Option<String>,
    /// The nickname of a direct message asked for with `open_dm`: its
    /// `joined` shows it.
    pub opening_dm: Option<String>,
    /// The room whose settings panel is open.
    pub settings_open: Option<String>,
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
            search: None,
            next_search: 0,
            muted: Vec::new(),
            account: Account::default(),
            admin: false,
            removal: None,
            opening_dm: None,
            settings_open: None,
        }
    }

    /// Whether a room is muted.
    pub fn is_muted(&self, room: &str) -> bool {
        self.muted.iter().any(|r| r == room)
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
            if room.unread != 0 || room.mentions != 0 {
                let room = self.room_mut(name).expect("found above");
                room.unread = 0;
                room.mentions = 0;
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
        Action::Start { nick, room } => {
            user::start(state, nick, room, &mut commands);
            state.account.use_cookie = false;
        }
        Action::Me(nick) => account::me(state, nick),
        Action::SignIn {
            nick,
            password,
            room,
        } => account::sign_in(state, nick, password, room, &mut commands),
        Action::Register {
            nick,
            password,
            room,
        } => account::register(state, nick, password, room, &mut commands),
        Action::SignedIn { nick } => account::signed_in(state, nick, &mut commands),
        Action::AuthFailed(failure) => account::failed(state, failure),
        Action::ClearAuthError => state.account.error = None,
        Action::ContinueSignedIn { room } => {
            account::continue_signed_in(state, room, &mut commands)
        }
        Action::ForgetAccount => account::forget(state, &mut commands),
        Action::SocketOpening => {
            if state.status != Status::Idle {
                state.status = Status::Connecting;
            }
        }
        Action::SocketOpened => {
            state.generation += 1;
            state.identified = false;
            state.status = Status::Connecting;
            // An account says no nickname: the server uses the cookie.
            commands.push(Command::Send(ClientFrame::Hello {
                nick: if state.account.use_cookie {
                    String::new()
                } else {
                    state.nick.clone()
                },
                resume: state.resume.clone(),
                token: None,
            }));
        }
        Action::SocketClosed { retry_at_ms } => {
            state.identified = false;
            search::failed(state, "The connection dropped: search again.".into());
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
        Action::StartReply { room, seq } => life::start_reply(state, &room, seq),
        Action::StartEdit { room, seq } => life::start_edit(state, &room, seq, now),
        Action::EditLast(room) => life::edit_last(state, &room, now),
        Action::CancelCompose(room) => life::cancel_compose(state, &room),
        Action::Delete { room, seq } => life::delete(state, &room, seq, now, &mut commands),
        Action::React { room, seq, emoji } => {
            life::react(state, &room, seq, emoji, now, &mut commands)
        }
        Action::JumpTo { room, seq } => life::jump_to(state, &room, seq, now, &mut commands),
        Action::Search { query, room } => search::search(state, query, room, &mut commands),
        Action::SearchMore => search::more(state, &mut commands),
        Action::CloseSearch => state.search = None,
        Action::ToggleMute(room) => life::toggle_mute(state, room, &mut commands),
        Action::CompleteMembers { room, prefix } => {
            life::complete_members(state, room, prefix, &mut commands)
        }
        Action::Moderate { room, request } => {
            moderate::request(state, room, request, &mut commands)
        }
        Action::LoadModlog(room) => moderate::ask_modlog(state, room, &mut commands),
        Action::ShowSettings(room) => {
            if let Some(view) = room.as_deref().and_then(|r| state.room_mut(r)) {
                view.mod_error = None;
            }
            state.settings_open = room;
        }
        Action::OpenDm(nick) => moderate::open_dm(state, nick, &mut commands),
        Action::DismissRemoval => state.removal = None,
    }
    commands
}

/// Time passed: typing indicators and flashes expire, and own messages
/// and changes sent on this socket that waited too long for their `ack`
/// fail (a change is rolled back, with a notice).
fn tick(state: &mut State, now: f64) {
    let generation = state.generation;
    let online = state.online();
    let timed_out = |line: &ChatLine| {
        line.delivery == Delivery::Pending
            && online
            && line.sent_on == Some(generation)
            && now - line.sent_at > ACK_TIMEOUT_MS
    };
    let mut dropped = Vec::new();
    for view in &mut state.rooms {
        // Rooms where nothing expires keep their pointer (see `rooms`).
        let expires = view.typing.iter().any(|(_, until)| *until <= now)
            || (view.typing_crowd() && view.typing_crowd_until <= now)
            || view.flash.is_some_and(|(_, until)| until <= now)
            || (online && view.has_late_changes(generation, now, ACK_TIMEOUT_MS))
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
        if view.flash.is_some_and(|(_, until)| until <= now) {
            view.flash = None;
        }
        if online {
            dropped.extend(view.expire_changes(generation, now, ACK_TIMEOUT_MS));
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
    if let Some(kind) = dropped.first() {
        state.notice = Some(format!(
            "{}: no answer from the server.",
            server::failed_change(kind)
        ));
    }
}
