//! WebSocket close codes with a meaning in Parley's protocol.
//!
//! The standard codes (RFC 6455) are listed beside Parley's own (4000–4999,
//! the range the RFC leaves to applications) so that the server, the
//! browser app and third-party clients read one table: `docs/protocol.md`
//! explains what a client should do after each.

/// The user left for good; the session ends at once (client → server).
pub const NORMAL: u16 = 1000;
/// Going away: a client leaving for good, or the server shutting down.
pub const GOING_AWAY: u16 = 1001;
/// The peer broke the WebSocket protocol (server → client).
pub const PROTOCOL_ERROR: u16 = 1002;
/// A text frame was not valid UTF-8 (server → client).
pub const INVALID_DATA: u16 = 1007;
/// A client broke the rules repeatedly, or never said `hello` (server → client).
pub const POLICY: u16 = 1008;
/// A frame was larger than `max_frame_bytes` (server → client).
pub const TOO_BIG: u16 = 1009;
/// The client read too slowly and its queue filled up; reconnect and resume.
pub const TRY_AGAIN_LATER: u16 = 1013;
/// "I will be back": the server keeps the session for a resume (client → server).
pub const RECONNECTING: u16 = 4000;
/// Another connection resumed this session (server → client); do not reconnect.
pub const REPLACED: u16 = 4001;
/// The client sent more frames than its budget allows (server → client);
/// the session ends. A client may reconnect, more slowly.
pub const TOO_MANY_FRAMES: u16 = 4008;
