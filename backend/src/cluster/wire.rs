//! What the nodes say to each other on the Redis channel: JSON envelopes
//! naming the node that published them.

use parley_protocol::RoomEvent;
use serde::{Deserialize, Serialize};

/// One message on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The node that published it.
    pub(super) node: String,
    /// What it says.
    #[serde(flatten)]
    pub(super) body: Body,
}

/// What a node says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Body {
    /// It committed this room event.
    Event {
        /// The event, as clients see it.
        event: RoomEvent,
    },
    /// Someone on it is typing.
    Typing {
        /// Where.
        room: String,
        /// Who.
        nick: String,
    },
    /// It is alive.
    Beat,
    /// It could not publish some of these rooms' events: check them
    /// against the database.
    Check {
        /// The rooms.
        rooms: Vec<String>,
    },
    /// Members of a room on it joined or left.
    Presence {
        /// The room.
        room: String,
        /// (nickname, joined), in order.
        changes: Vec<(String, bool)>,
    },
    /// An account was registered (or deleted) on it.
    Reserved {
        /// Its nickname.
        nick: String,
        /// Registered, or deleted.
        registered: bool,
    },
    /// It took back the session of this token: whoever held it, end it.
    Moved {
        /// The session's old token.
        token: String,
    },
}

impl Envelope {
    /// The JSON text.
    pub(super) fn encode(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serialises")
    }

    /// Reads one; `None` if it is not one.
    pub(super) fn decode(bytes: &[u8]) -> Option<Envelope> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_read_back_and_garbage_is_none() {
        for body in [
            Body::Beat,
            Body::Typing {
                room: "rust".into(),
                nick: "ann".into(),
            },
            Body::Check {
                rooms: vec!["a".into(), "b".into()],
            },
            Body::Moved {
                token: "r_x".into(),
            },
            Body::Reserved {
                nick: "Mina".into(),
                registered: true,
            },
            Body::Presence {
                room: "rust".into(),
                changes: vec![("ann".into(), true), ("bob".into(), false)],
            },
        ] {
            let envelope = Envelope {
                node: "n-1".into(),
                body,
            };
            assert_eq!(
                Envelope::decode(envelope.encode().as_bytes()),
                Some(envelope)
            );
        }
        assert_eq!(
            Envelope {
                node: "n-1".into(),
                body: Body::Beat
            }
            .encode(),
            r#"{"node":"n-1","kind":"beat"}"#
        );
        assert_eq!(Envelope::decode(b"{\"node\":1}"), None);
        assert_eq!(Envelope::decode(b"not json"), None);
    }
}
