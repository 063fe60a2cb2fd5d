//! Parley's wire protocol, shared by the server and the browser app.
//!
//! This crate has no web or server dependencies so that it compiles both
//! natively and to `wasm32-unknown-unknown`: the frames, validation rules and
//! error codes are then one definition, not two that must be kept in step.
//! The protocol itself is described, with an example of every frame, in
//! `docs/protocol.md`.

pub mod api;
mod chars;
pub mod close;
pub mod defaults;
mod error;
mod events;
mod frames;
pub mod moderation;
pub mod names;
mod validate;

pub use chars::{is_bidi_control, is_default_ignorable};
pub use error::ErrorCode;
pub use frames::{
    ChatMessage, ClientFrame, Deleted, Edited, Limits, Quote, Reacted, Reactions, RoomEvent,
    SearchHit, ServerFrame,
};
pub use moderation::{
    is_dm_room, validate_reason, validate_topic, ModAction, Moderation, Modes, RoomSettings,
    TopicSet, MAX_BAN_MINUTES, MAX_REASON_CHARS, MAX_TOPIC_CHARS,
};
pub use names::{look_alike_keys, name_key, sort_key, NameError, MAX_NICK_CHARS, MAX_ROOM_CHARS};
pub use validate::{
    quote_of, validate_cid, validate_nick, validate_query, validate_room, validate_text,
    validate_text_with_limit, ValidationError, DEFAULT_ROOM, MAX_CID_BYTES, MAX_QUERY_CHARS,
    MAX_TEXT_CHARS, QUOTE_CHARS,
};

#[cfg(feature = "emoji")]
pub use validate::validate_emoji;

/// The frame `type`s a client may send.
pub const CLIENT_FRAME_TYPES: [&str; 22] = [
    "hello", "join", "leave", "send", "edit", "delete", "react", "typing", "history", "members",
    "search", "ping", "kick", "ban", "unban", "mute", "op", "topic", "mode", "invite", "modlog",
    "open_dm",
];

/// Why a text frame could not be read as a [`ClientFrame`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not JSON at all.
    #[error("the frame is not valid JSON: {0}")]
    BadJson(String),
    /// JSON, but not an object with a string `type`.
    #[error("the frame must be a JSON object with a string field \"type\"")]
    MissingType,
    /// A `type` this protocol does not have.
    #[error(
        "unknown frame type {0:?}; expected one of hello, join, leave, send, edit, delete, react, typing, history, members, search, ping, kick, ban, unban, mute, op, topic, mode, invite, modlog, open_dm"
    )]
    UnknownType(String),
    /// A known `type` whose fields are wrong.
    #[error("invalid {kind} frame: {detail}")]
    Invalid {
        /// The frame's `type`.
        kind: String,
        /// What serde said was wrong.
        detail: String,
    },
}

impl FrameError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::BadJson(_) => ErrorCode::BadJson,
            FrameError::MissingType | FrameError::Invalid { .. } => ErrorCode::InvalidFrame,
            FrameError::UnknownType(_) => ErrorCode::UnknownType,
        }
    }
}

/// The most characters of a client's input an error message repeats.
pub const MAX_ECHO_CHARS: usize = 128;

/// Reads a client's text frame. The common case is one serde pass; only a
/// frame that fails is looked at again to say precisely what is wrong with it.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let first_error = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => return Ok(frame),
        Err(err) => err,
    };
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| FrameError::BadJson(truncate(&e.to_string(), MAX_ECHO_CHARS)))?;
    let kind = value
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or(FrameError::MissingType)?;
    if !CLIENT_FRAME_TYPES.contains(&kind) {
        return Err(FrameError::UnknownType(truncate(kind, 40)));
    }
    // serde's message quotes the offending value: never echo much of it.
    Err(FrameError::Invalid {
        kind: kind.to_owned(),
        detail: truncate(&first_error.to_string(), MAX_ECHO_CHARS),
    })
}

/// Cuts `s` to at most `max` characters, so an error never echoes a huge input.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_are_specific() {
        assert_eq!(
            parse_client_frame("{").unwrap_err().code(),
            ErrorCode::BadJson
        );
        assert_eq!(
            parse_client_frame("[1]").unwrap_err(),
            FrameError::MissingType
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"dance"}"#).unwrap_err(),
            FrameError::UnknownType("dance".into())
        );
        let err = parse_client_frame(r#"{"type":"send","room":"a"}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidFrame);
        assert!(err.to_string().contains("text"), "{err}");
    }

    #[test]
    fn errors_never_echo_more_than_a_short_prefix_of_the_input() {
        let long = "x".repeat(16 * 1024);
        for frame in [
            format!(r#"{{"type":"send","room":"a","text":1,"cid":"{long}"}}"#),
            format!(r#"{{"type":"join","room":"a","since":"{long}"}}"#),
            format!(r#"{{"type":"{long}"}}"#),
            format!(r#"{{"type":"ping","id":"{long}"#),
        ] {
            let message = parse_client_frame(&frame).unwrap_err().to_string();
            assert!(message.len() < 400, "{} bytes: {message}", message.len());
        }
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        assert_eq!(
            parse_client_frame(r#"{"type":"ping","extra":1}"#),
            Ok(ClientFrame::Ping { id: None })
        );
    }

    #[test]
    fn error_codes_serialise_as_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
