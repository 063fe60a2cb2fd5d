//! The limits a server enforces unless its operator changes them.
//!
//! The server's flags take their defaults from here, and the browser app
//! assumes these values until the server's `welcome` states its own, so the
//! two sides cannot drift apart.

use crate::frames::Limits;
use crate::validate::MAX_TEXT_CHARS;

/// Largest WebSocket frame a client may send, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// Messages a connection may send in one burst.
pub const RATE_BURST: u32 = 20;
/// Messages per second the burst refills at.
pub const RATE_PER_SEC: u32 = 5;
/// How long a typing indicator lasts without a new `typing` frame, in ms.
pub const TYPING_TTL_MS: u64 = 6_000;
/// How long a dropped session keeps its nickname and rooms, in ms.
pub const RESUME_GRACE_MS: u64 = 30_000;
/// How long after sending a message its author may edit it, in ms.
pub const EDIT_WINDOW_MS: u64 = 15 * 60 * 1000;
/// Most distinct emoji on one message.
pub const MAX_REACTIONS: u32 = 20;

impl Limits {
    /// The limits of a server started with default flags.
    pub const DEFAULT: Limits = Limits {
        max_text_chars: MAX_TEXT_CHARS as u32,
        max_frame_bytes: MAX_FRAME_BYTES as u32,
        rate_burst: RATE_BURST,
        rate_per_sec: RATE_PER_SEC,
        typing_ttl_ms: TYPING_TTL_MS,
        resume_grace_ms: RESUME_GRACE_MS,
        edit_window_ms: EDIT_WINDOW_MS,
        max_reactions: MAX_REACTIONS,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
