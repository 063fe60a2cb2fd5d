//! Error codes the server puts in `error` frames.
//!
//! They are part of the protocol: clients switch on the code (a taken
//! nickname, a rate limit) and show the accompanying message to people.

use serde::{Deserialize, Serialize};

/// Machine-readable reason in an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The text frame is not valid JSON.
    BadJson,
    /// The JSON has no `type` this server knows.
    UnknownType,
    /// The frame's `type` is known but its fields are missing or of the wrong kind.
    InvalidFrame,
    /// Binary frames are not part of the protocol.
    BinaryNotSupported,
    /// The frame needs a `hello` first.
    HelloRequired,
    /// `hello` was already accepted on this connection.
    AlreadyIdentified,
    /// The nickname breaks the nickname rules.
    InvalidNick,
    /// Another session holds that nickname (the same name key).
    NickTaken,
    /// The nickname looks like one another session holds.
    NickConfusable,
    /// The nickname belongs to an account; a guest may not use it.
    NickReserved,
    /// The sign-in token is unknown, expired or ended.
    InvalidToken,
    /// The room name breaks the room name rules.
    InvalidRoom,
    /// The frame names a room this connection has not joined.
    NotJoined,
    /// The connection is in as many rooms as the server allows.
    TooManyRooms,
    /// The server holds as many rooms as it may; no new room can open now.
    ServerFull,
    /// The message text is empty after trimming.
    EmptyText,
    /// The message text is longer than the limit.
    TextTooLong,
    /// The message text has control characters other than newline and tab.
    InvalidText,
    /// The `cid` is empty or too long.
    InvalidCid,
    /// Too many messages too fast; this one was neither relayed nor stored.
    RateLimited,
    /// The server could not store the message; it was not relayed.
    Internal,
    /// The server is overloaded (its store is not keeping up); try again shortly.
    Busy,
    /// Only a message's author may edit or delete it.
    NotAuthor,
    /// The message is older than the edit window.
    EditWindowClosed,
    /// No message with that `seq` in that room (or it was deleted).
    NoSuchMessage,
    /// The emoji is not one emoji.
    InvalidEmoji,
    /// The message has as many different emoji as allowed.
    TooManyReactions,
    /// The search query is empty, too long, or has no word to look for.
    InvalidQuery,
    /// The session may not do that in this room (not a moderator, or not
    /// above the member it acts on; a direct message of others).
    Forbidden,
    /// The session is banned from the room.
    Banned,
    /// The session is muted in the room.
    Muted,
    /// The room is invite-only and the session was not invited.
    InviteOnly,
    /// The room admits accounts only; sign in to join.
    AccountsOnly,
    /// No such member in the room, or no account with that nickname.
    NoSuchNick,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `"nick_taken"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::BinaryNotSupported => "binary_not_supported",
            ErrorCode::HelloRequired => "hello_required",
            ErrorCode::AlreadyIdentified => "already_identified",
            ErrorCode::InvalidNick => "invalid_nick",
            ErrorCode::NickTaken => "nick_taken",
            ErrorCode::NickConfusable => "nick_confusable",
            ErrorCode::NickReserved => "nick_reserved",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidRoom => "invalid_room",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::ServerFull => "server_full",
            ErrorCode::EmptyText => "empty_text",
            ErrorCode::TextTooLong => "text_too_long",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::InvalidCid => "invalid_cid",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Busy => "busy",
            ErrorCode::NotAuthor => "not_author",
            ErrorCode::EditWindowClosed => "edit_window_closed",
            ErrorCode::NoSuchMessage => "no_such_message",
            ErrorCode::InvalidEmoji => "invalid_emoji",
            ErrorCode::TooManyReactions => "too_many_reactions",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Banned => "banned",
            ErrorCode::Muted => "muted",
            ErrorCode::InviteOnly => "invite_only",
            ErrorCode::AccountsOnly => "accounts_only",
            ErrorCode::NoSuchNick => "no_such_nick",
        }
    }

    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 34] = [
        ErrorCode::BadJson,
        ErrorCode::UnknownType,
        ErrorCode::InvalidFrame,
        ErrorCode::BinaryNotSupported,
        ErrorCode::HelloRequired,
        ErrorCode::AlreadyIdentified,
        ErrorCode::InvalidNick,
        ErrorCode::NickTaken,
        ErrorCode::NickConfusable,
        ErrorCode::NickReserved,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidRoom,
        ErrorCode::NotJoined,
        ErrorCode::TooManyRooms,
        ErrorCode::ServerFull,
        ErrorCode::EmptyText,
        ErrorCode::TextTooLong,
        ErrorCode::InvalidText,
        ErrorCode::InvalidCid,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Busy,
        ErrorCode::NotAuthor,
        ErrorCode::EditWindowClosed,
        ErrorCode::NoSuchMessage,
        ErrorCode::InvalidEmoji,
        ErrorCode::TooManyReactions,
        ErrorCode::InvalidQuery,
        ErrorCode::Forbidden,
        ErrorCode::Banned,
        ErrorCode::Muted,
        ErrorCode::InviteOnly,
        ErrorCode::AccountsOnly,
        ErrorCode::NoSuchNick,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
