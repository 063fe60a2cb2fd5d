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
    /// The server is shutting down and takes no more messages.
    #[error("the server is shutting down; reconnect in a moment")]
    ShuttingDown,
    /// The store failed.
    #[error("the message could not be stored: {0}")]
    Store(#[from] StoreError),
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
            HubError::Busy | HubError::ShuttingDown => ErrorCode::Busy,
        }
    }
}
