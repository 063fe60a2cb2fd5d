//! Why a connection ends, and what that means for the client and for its
//! session.
//!
//! A leaf module: the protocol layer ([`crate::commands`]) decides some
//! endings (a goodbye, too many bad frames), the connection task the others
//! (a dead socket, a full queue, shutdown); both speak this one vocabulary.

use parley_protocol::close;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client sent a Close frame (with this code, if any).
    ClientClosed(Option<u16>),
    /// The socket ended or failed without a Close frame.
    Vanished,
    /// Nothing was heard from the client for two heartbeat intervals.
    HeartbeatTimeout,
    /// A write to the client did not finish within the write timeout.
    WriteStuck,
    /// The client's outbound queue overflowed.
    SlowConsumer,
    /// The client sent a frame over the size limit.
    TooBig,
    /// The client sent too many bad frames in a row.
    Abusive,
    /// The client sent more frames than its budget allows.
    OverBudget,
    /// The client broke the WebSocket protocol (an unmasked frame, a bad
    /// opcode, reserved bits).
    ProtocolError,
    /// A text frame was not valid UTF-8.
    BadUtf8,
    /// The client did not say `hello` in time.
    HelloTimeout,
    /// Another connection resumed this session.
    Replaced,
    /// The server is shutting down.
    Shutdown,
}

impl Ending {
    /// The close frame the server sends for this ending, if it sends one.
    pub fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            Ending::Shutdown => (close::GOING_AWAY, "server shutting down"),
            Ending::SlowConsumer => (close::TRY_AGAIN_LATER, "too slow: outbound queue full"),
            Ending::WriteStuck => (close::TRY_AGAIN_LATER, "too slow: a write did not finish"),
            Ending::OverBudget => (close::TOO_MANY_FRAMES, "too many frames"),
            Ending::ProtocolError => (close::PROTOCOL_ERROR, "websocket protocol error"),
            Ending::BadUtf8 => (close::INVALID_DATA, "text frame is not valid UTF-8"),
            Ending::TooBig => (close::TOO_BIG, "frame too big"),
            Ending::Abusive => (close::POLICY, "too many bad frames in a row"),
            Ending::HelloTimeout => (close::POLICY, "no hello in time"),
            Ending::Replaced => (close::REPLACED, "session resumed elsewhere"),
            Ending::HeartbeatTimeout => (close::GOING_AWAY, "heartbeat timeout"),
            Ending::ClientClosed(_) | Ending::Vanished => return None,
        };
        Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        })
    }

    /// Whether the session ends with the connection (otherwise it is kept
    /// for a resume, or already belongs to another connection).
    pub fn ends_session(self) -> bool {
        match self {
            Ending::ClientClosed(code) => code != Some(close::RECONNECTING),
            Ending::Abusive | Ending::HelloTimeout | Ending::OverBudget => true,
            _ => false,
        }
    }

    /// Whether the socket is still fit to carry the frames already queued
    /// (the last `error`, say) before the close frame.
    pub fn socket_is_healthy(self) -> bool {
        matches!(
            self,
            Ending::Shutdown
                | Ending::Abusive
                | Ending::OverBudget
                | Ending::TooBig
                | Ending::HelloTimeout
                | Ending::Replaced
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_goodbye_or_misbehaviour_ends_the_session() {
        assert!(Ending::ClientClosed(Some(close::NORMAL)).ends_session());
        assert!(Ending::ClientClosed(None).ends_session());
        assert!(!Ending::ClientClosed(Some(close::RECONNECTING)).ends_session());
        assert!(Ending::Abusive.ends_session());
        assert!(Ending::HelloTimeout.ends_session());
        assert!(Ending::OverBudget.ends_session());
        for kept in [
            Ending::Vanished,
            Ending::HeartbeatTimeout,
            Ending::WriteStuck,
            Ending::ProtocolError,
            Ending::BadUtf8,
            Ending::SlowConsumer,
            Ending::TooBig,
            Ending::Replaced,
            Ending::Shutdown,
        ] {
            assert!(!kept.ends_session(), "{kept:?}");
        }
    }

    #[test]
    fn queued_frames_go_out_first_only_on_a_healthy_socket() {
        for healthy in [
            Ending::Shutdown,
            Ending::Abusive,
            Ending::OverBudget,
            Ending::TooBig,
            Ending::HelloTimeout,
            Ending::Replaced,
        ] {
            assert!(healthy.socket_is_healthy(), "{healthy:?}");
        }
        for broken in [
            Ending::ClientClosed(None),
            Ending::Vanished,
            Ending::HeartbeatTimeout,
            Ending::WriteStuck,
            Ending::SlowConsumer,
            Ending::ProtocolError,
            Ending::BadUtf8,
        ] {
            assert!(!broken.socket_is_healthy(), "{broken:?}");
        }
    }

    #[test]
    fn close_codes_come_from_the_protocol_table() {
        let code = |e: Ending| e.close_frame().map(|f| u16::from(f.code));
        assert_eq!(code(Ending::Shutdown), Some(close::GOING_AWAY));
        assert_eq!(code(Ending::SlowConsumer), Some(close::TRY_AGAIN_LATER));
        assert_eq!(code(Ending::TooBig), Some(close::TOO_BIG));
        assert_eq!(code(Ending::Abusive), Some(close::POLICY));
        assert_eq!(code(Ending::HelloTimeout), Some(close::POLICY));
        assert_eq!(code(Ending::Replaced), Some(close::REPLACED));
        assert_eq!(code(Ending::HeartbeatTimeout), Some(close::GOING_AWAY));
        assert_eq!(code(Ending::WriteStuck), Some(close::TRY_AGAIN_LATER));
        assert_eq!(code(Ending::OverBudget), Some(close::TOO_MANY_FRAMES));
        assert_eq!(code(Ending::ProtocolError), Some(close::PROTOCOL_ERROR));
        assert_eq!(code(Ending::BadUtf8), Some(close::INVALID_DATA));
        assert_eq!(code(Ending::Vanished), None);
        assert_eq!(code(Ending::ClientClosed(None)), None);
    }
}
