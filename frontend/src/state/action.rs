//! What can happen ([`Action`]) and what the reducer asks the browser glue
//! to do about it ([`Command`]): the vocabulary between the page and the
//! reducer, kept apart from the state they act on.

use parley_protocol::{ClientFrame, ServerFrame};

use super::account::AuthFailure;
use super::moderate::ModRequest;

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
    /// `GET /api/me` answered on load: the account this browser is signed
    /// in to (its cookie), or none.
    Me(Option<String>),
    /// The sign-in form was sent.
    SignIn {
        /// The nickname typed.
        nick: String,
        /// The password typed (it goes into [`Command::Login`], never into
        /// the state).
        password: String,
        /// The room to join once signed in.
        room: String,
    },
    /// The create-account form was sent.
    Register {
        /// The nickname wanted.
        nick: String,
        /// The password chosen (it goes into [`Command::Register`], never
        /// into the state).
        password: String,
        /// The room to join once signed in.
        room: String,
    },
    /// `POST /api/login` answered 200 (the session cookie is set): connect
    /// as the account.
    SignedIn {
        /// The account's nickname, as the server spells it.
        nick: String,
    },
    /// `POST /api/register` or `/api/login` failed.
    AuthFailed(AuthFailure),
    /// The account form was edited or switched: its error is old news.
    ClearAuthError,
    /// "Continue as …" on the join screen: connect with the cookie.
    ContinueSignedIn {
        /// The room to join.
        room: String,
    },
    /// "Sign out" on the join screen: forget the account (`POST /api/logout`).
    ForgetAccount,
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
    /// Leave every room and go back to the join screen (closes with 1000);
    /// an account also signs out (`POST /api/logout`).
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
    /// Answer a message: the next message sent in the room replies to it.
    StartReply {
        /// The room.
        room: String,
        /// The message answered.
        seq: u64,
    },
    /// Edit one's own message: the composer holds its text, and what is
    /// sent next replaces it.
    StartEdit {
        /// The room.
        room: String,
        /// The message.
        seq: u64,
    },
    /// Up-arrow in an empty composer: edit one's last message that can
    /// still be edited.
    EditLast(String),
    /// Escape: back to writing a new message.
    CancelCompose(String),
    /// Delete one's own message (the page asked for confirmation).
    Delete {
        /// The room.
        room: String,
        /// The message.
        seq: u64,
    },
    /// Toggle one's reaction to a message.
    React {
        /// The room.
        room: String,
        /// The message.
        seq: u64,
        /// The emoji.
        emoji: String,
    },
    /// Show a message: open its room, load older pages until it is there,
    /// bring it into view and flash it.
    JumpTo {
        /// The room.
        room: String,
        /// The message.
        seq: u64,
    },
    /// Search the joined rooms (or one of them).
    Search {
        /// The words.
        query: String,
        /// Only this room.
        room: Option<String>,
    },
    /// The next page of search results.
    SearchMore,
    /// Close the search.
    CloseSearch,
    /// Mute a room (no notifications, no mention badge) or unmute it.
    ToggleMute(String),
    /// The composer completes `@` + prefix: ask the server for matching
    /// members when the room is too large to know them all.
    CompleteMembers {
        /// The room.
        room: String,
        /// What follows the `@`.
        prefix: String,
    },
    /// A moderator acts on a room (kick, ban, mute, op, topic, modes,
    /// invite).
    Moderate {
        /// The room.
        room: String,
        /// What is asked.
        request: ModRequest,
    },
    /// Ask for a room's modlog.
    LoadModlog(String),
    /// Open a room's settings panel, or close it (`None`).
    ShowSettings(Option<String>),
    /// "Message" in a member's menu: open the direct message with them.
    OpenDm(String),
    /// The removal notice was read.
    DismissRemoval,
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
    /// Tell the reader, with a browser notification, that a message names
    /// them (the page is hidden and the room is not muted).
    Notify {
        /// The room.
        room: String,
        /// The message.
        seq: u64,
        /// Its author.
        nick: String,
        /// Its text.
        text: String,
    },
    /// Remember the muted rooms for the next visit.
    SaveMuted(Vec<String>),
    /// `POST /api/register`, then at once `POST /api/login` with the same
    /// password; answer with [`Action::SignedIn`] or [`Action::AuthFailed`].
    Register {
        /// The nickname.
        nick: String,
        /// The password.
        password: String,
    },
    /// `POST /api/login` (with the browser's credentials, so the session
    /// cookie is kept); answer with [`Action::SignedIn`] or
    /// [`Action::AuthFailed`].
    Login {
        /// The nickname.
        nick: String,
        /// The password.
        password: String,
    },
    /// `POST /api/logout`: the token is revoked and the cookie cleared.
    Logout,
}
