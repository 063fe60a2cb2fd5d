//! The errors the hub returns, each mapped to its protocol error code.
//!
//! A [`HubError`] is never fatal for the connection: the session layer turns
//! it into an `error` frame with [`HubError::code`] and the error's message.

use parley_protocol::{ErrorCode, ValidationError};
use thiserror::Error;

use crate::store::StoreError;

/// Why the hub refused a request.
#[derive(Debug, Error)]
pub enum HubError {
    /// A nickname, room name, text or cid broke the rules.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Another session holds the nickname.
    #[error("the nickname {0:?} is taken; pick another")]
    NickTaken(String),
    /// The nickname is an account's, and this is a guest.
    #[error("the nickname {0:?} belongs to an account; sign in to use it, or pick another")]
    NickReserved(String),
    /// The nickname looks like one another session holds: named when it is
    /// public anyway (its holder is in a room).
    #[error("the nickname {nick:?} looks too much like {}; pick another", like.as_ref().map_or("a nickname in use".to_owned(), |l| format!("{l:?}, who is here")))]
    NickConfusable {
        /// The nickname asked for.
        nick: String,
        /// The one it resembles, if it may be named.
        like: Option<String>,
    },
    /// The connection is not a member of the room.
    #[error("you have not joined the room {0:?}")]
    NotJoined(String),
    /// The connection is in as many rooms as allowed.
    #[error("you are already in {0} rooms, the most one connection may join")]
    TooManyRooms(usize),
    /// The server holds as many rooms as allowed.
    #[error("the server already has {0} rooms, the most it holds; try again later")]
    ServerFull(usize),
    /// The session was taken over by another connection or has ended.
    #[error("this session was resumed by another connection")]
    SessionGone,
    /// The store is not keeping up with the messages queued for it.
    #[error("the server is busy; try again in a moment")]
    Busy,
    /// The link to the other nodes is down, so they would not hear of it.
    #[error("this server has lost its link to the others just now, so it did not happen; send it again shortly")]
    LinkDown,
    /// The server is shutting down and takes no more messages.
    #[error("the server is shutting down; reconnect in a moment")]
    ShuttingDown,
    /// The store failed.
    #[error("the message could not be stored: {0}")]
    Store(#[from] StoreError),
    /// Banned from the room (until then, ms since the Unix epoch, if set).
    #[error("you are banned from {room:?}{}", until.map_or(String::new(), |t| format!(" until {}", humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(t)))))]
    Banned {
        /// The room.
        room: String,
        /// When the ban ends.
        until: Option<u64>,
    },
    /// The room is invite-only.
    #[error("{0:?} is invite-only; ask its owner or an op for an invite")]
    InviteOnly(String),
    /// The room admits accounts only.
    #[error("{0:?} admits signed-in members only; sign in to join")]
    AccountsOnly(String),
    /// Muted in the room.
    #[error("you are muted in {0:?}")]
    Muted(String),
    /// Not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such member or account.
    #[error("{0}")]
    NoSuchNick(String),
}

impl HubError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::Invalid(e) => e.code(),
            HubError::NickTaken(_) => ErrorCode::NickTaken,
            HubError::NickConfusable { .. } => ErrorCode::NickConfusable,
            HubError::NickReserved(_) => ErrorCode::NickReserved,
            HubError::NotJoined(_) => ErrorCode::NotJoined,
            HubError::TooManyRooms(_) => ErrorCode::TooManyRooms,
            HubError::ServerFull(_) => ErrorCode::ServerFull,
            HubError::SessionGone | HubError::Store(_) => ErrorCode::Internal,
            HubError::Busy | HubError::LinkDown | HubError::ShuttingDown => ErrorCode::Busy,
            HubError::Banned { .. } => ErrorCode::Banned,
            HubError::InviteOnly(_) => ErrorCode::InviteOnly,
            HubError::AccountsOnly(_) => ErrorCode::AccountsOnly,
            HubError::Muted(_) => ErrorCode::Muted,
            HubError::Forbidden(_) => ErrorCode::Forbidden,
            HubError::NoSuchNick(_) => ErrorCode::NoSuchNick,
        }
    }
}
