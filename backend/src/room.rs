//! One chat room: its members, its message counter, and fan-out.
//!
//! Each room has its own lock, so a busy room never serialises the others
//! (the hub's room map is only locked to find or create a room). The lock is
//! a plain mutex held for microseconds: assigning a `seq`, appending to the
//! store and pushing one shared frame into each member's queue. Nothing
//! awaits and no socket is written while it is held.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use parley_protocol::{nick_key, PresenceEvent, ServerFrame};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::hub::SessionId;
use crate::outbox::Outbox;

/// A room and its lock.
#[derive(Debug)]
pub struct Room {
    /// The normalised (lower-case) name.
    pub name: String,
    /// Everything that changes, behind the room's own lock.
    state: Mutex<RoomState>,
}

/// The mutable part of a room.
#[derive(Debug)]
pub struct RoomState {
    /// Members by session. A member whose connection dropped (and may resume)
    /// stays here with no outbox, so nobody sees it leave and come back.
    pub members: HashMap<SessionId, Member>,
    /// The `seq` of the newest message.
    pub last_seq: u64,
    /// The `ts` of the newest message, so times never go backwards in a room.
    pub last_ts: u64,
    /// Set when the last member left and the room was removed from the hub;
    /// whoever still holds it must look the room up again.
    pub closed: bool,
}

/// One member of a room.
#[derive(Debug)]
pub struct Member {
    /// The member's nickname.
    pub nick: String,
    /// Where the member's frames go; `None` while its connection is away.
    pub outbox: Option<Outbox>,
    /// When this member's last `typing` was relayed, for throttling.
    pub last_typing: Option<Instant>,
}

impl Room {
    /// A new, empty room whose messages continue after `last_seq`.
    pub fn new(name: String, last_seq: u64) -> Self {
        Room {
            name,
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                last_seq,
                last_ts: 0,
                closed: false,
            }),
        }
    }

    /// Locks the room. Every update under the lock is completed before any
    /// code that could panic, so a poisoned lock is still consistent.
    pub fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serialises a frame once, into bytes every recipient can share.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.to_json())
}

impl RoomState {
    /// Queues `frame` for every connected member but `except`; returns how
    /// many members it was queued for.
    pub fn broadcast(&self, except: Option<SessionId>, frame: &Utf8Bytes) -> usize {
        let mut delivered = 0;
        for (id, member) in &self.members {
            if Some(*id) == except {
                continue;
            }
            if let Some(outbox) = &member.outbox {
                if outbox.push(frame.clone()) {
                    delivered += 1;
                }
            }
        }
        delivered
    }

    /// Tells everyone but `who` that `who` joined or left.
    pub fn announce(&self, room: &str, who: SessionId, nick: &str, event: PresenceEvent) {
        let frame = encode(&ServerFrame::Presence {
            room: room.to_owned(),
            nick: nick.to_owned(),
            event,
        });
        self.broadcast(Some(who), &frame);
    }

    /// The members' nicknames, sorted case-insensitively.
    pub fn nicks(&self) -> Vec<String> {
        let mut nicks: Vec<String> = self.members.values().map(|m| m.nick.clone()).collect();
        nicks.sort_by_cached_key(|n| nick_key(n));
        nicks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::outbox;

    #[tokio::test]
    async fn broadcast_skips_the_sender_and_absent_members() {
        let room = Room::new("r".into(), 0);
        let (a, mut a_rx) = outbox(8);
        let (b, mut b_rx) = outbox(8);
        {
            let mut state = room.lock();
            for (id, nick, outbox) in [(1, "a", Some(a)), (2, "b", Some(b)), (3, "c", None)] {
                state.members.insert(
                    id,
                    Member {
                        nick: nick.into(),
                        outbox,
                        last_typing: None,
                    },
                );
            }
            assert_eq!(state.broadcast(Some(1), &"x".into()), 1);
            assert_eq!(state.nicks(), vec!["a", "b", "c"]);
        }
        assert_eq!(b_rx.frames.recv().await.unwrap().as_str(), "x");
        assert!(a_rx.frames.try_recv().is_err());
    }
}
