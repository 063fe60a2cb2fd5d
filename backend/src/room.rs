//! One chat room: its members, its newest messages, and fan-out.
//!
//! Each room has its own lock, so a busy room never serialises the others
//! (the hub's room map is only locked to find or create a room). The lock is
//! a plain mutex held for microseconds: pushing one shared frame into each
//! member's queue, or adding a member. Nothing awaits and no socket is
//! written while it is held.
//!
//! The room also remembers its newest messages (`--room-cache`), so most
//! joins and catch-ups are answered from memory, exactly at the seam between
//! history and live messages: both are decided under the same lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use parley_protocol::{nick_key, ChatMessage, PresenceEvent, ServerFrame};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::hub::SessionId;
use crate::outbox::Outbox;
use crate::store::Page;

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
    /// The `seq` of the newest message delivered to the members. Every
    /// message up to it is committed; every later one will be delivered to
    /// whoever is a member when it is.
    pub last_seq: u64,
    /// The newest delivered messages, contiguous and ending at `last_seq`.
    recent: VecDeque<ChatMessage>,
    /// How many messages `recent` keeps.
    cache_len: usize,
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
    /// Frames held back while the member's `joined` is being read from the
    /// store, so they follow it instead of overtaking it.
    pub backlog: Option<Vec<Utf8Bytes>>,
    /// When this member's last `typing` was relayed, for throttling.
    pub last_typing: Option<Instant>,
}

impl Member {
    /// A member whose frames go to `outbox`.
    pub fn new(nick: String, outbox: Option<Outbox>) -> Self {
        Member {
            nick,
            outbox,
            backlog: None,
            last_typing: None,
        }
    }
}

impl Room {
    /// A new, empty room whose newest messages are `recent` (oldest first)
    /// and whose last seq is `last_seq`.
    pub fn new(name: String, last_seq: u64, recent: Vec<ChatMessage>, cache_len: usize) -> Self {
        let contiguous = recent.last().is_none_or(|m| m.seq == last_seq)
            && recent.windows(2).all(|w| w[1].seq == w[0].seq + 1);
        Room {
            name,
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                last_seq,
                recent: if contiguous {
                    recent.into()
                } else {
                    VecDeque::new()
                },
                cache_len,
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
    /// many members it was queued for. `backlog_cap` bounds a joining
    /// member's held-back frames like its outbox.
    pub fn broadcast(
        &mut self,
        except: Option<SessionId>,
        frame: &Utf8Bytes,
        backlog_cap: usize,
    ) -> usize {
        let mut delivered = 0;
        for (id, member) in self.members.iter_mut() {
            if Some(*id) == except {
                continue;
            }
            let Some(outbox) = &member.outbox else {
                continue;
            };
            if let Some(backlog) = &mut member.backlog {
                if backlog.len() >= backlog_cap {
                    outbox.overflow();
                } else {
                    backlog.push(frame.clone());
                    delivered += 1;
                }
            } else if outbox.push(frame.clone()) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Tells everyone but `who` that `who` joined or left.
    pub fn announce(
        &mut self,
        room: &str,
        who: SessionId,
        nick: &str,
        event: PresenceEvent,
        backlog_cap: usize,
    ) {
        let frame = encode(&ServerFrame::Presence {
            room: room.to_owned(),
            nick: nick.to_owned(),
            event,
        });
        self.broadcast(Some(who), &frame, backlog_cap);
    }

    /// The members' nicknames, sorted case-insensitively.
    pub fn nicks(&self) -> Vec<String> {
        let mut nicks: Vec<String> = self.members.values().map(|m| m.nick.clone()).collect();
        nicks.sort_by_cached_key(|n| nick_key(n));
        nicks
    }

    /// Notes a delivered message: it becomes the newest.
    pub fn record(&mut self, message: ChatMessage) {
        if message.seq <= self.last_seq {
            return;
        }
        if message.seq != self.last_seq + 1 {
            // Something was committed that this room never saw (it was not
            // loaded then): the cache is no longer contiguous.
            self.recent.clear();
        }
        self.last_seq = message.seq;
        self.recent.push_back(message);
        while self.recent.len() > self.cache_len {
            self.recent.pop_front();
        }
    }

    /// The newest `limit` messages with `seq > after`, if the cache holds
    /// all of them (`None` means: read the store).
    pub fn cached_after(&self, after: u64, limit: usize) -> Option<Page> {
        if after >= self.last_seq {
            return Some(Page::default());
        }
        let wanted_from = after.max(self.last_seq.saturating_sub(limit as u64)) + 1;
        let first = self.recent.front()?.seq;
        if first > wanted_from {
            return None;
        }
        let messages: Vec<ChatMessage> = self
            .recent
            .iter()
            .filter(|m| m.seq >= wanted_from)
            .cloned()
            .collect();
        Some(Page {
            more: wanted_from > after + 1,
            messages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::outbox;

    fn message(seq: u64) -> ChatMessage {
        ChatMessage {
            room: "r".into(),
            seq,
            nick: "n".into(),
            text: "t".into(),
            ts: seq,
            cid: None,
        }
    }

    #[test]
    fn broadcast_skips_the_sender_and_absent_members_and_holds_back_for_joiners() {
        let room = Room::new("r".into(), 0, vec![], 10);
        let (a, mut a_rx) = outbox(8);
        let (b, mut b_rx) = outbox(8);
        let (c, mut c_rx) = outbox(8);
        let mut state = room.lock();
        state.members.insert(1, Member::new("a".into(), Some(a)));
        state.members.insert(2, Member::new("b".into(), Some(b)));
        state.members.insert(3, Member::new("away".into(), None));
        let mut joining = Member::new("c".into(), Some(c));
        joining.backlog = Some(Vec::new());
        state.members.insert(4, joining);
        assert_eq!(state.broadcast(Some(1), &"x".into(), 1), 2);
        assert_eq!(state.nicks(), vec!["a", "away", "b", "c"]);
        assert_eq!(b_rx.frames.try_recv().unwrap().as_str(), "x");
        assert!(a_rx.frames.try_recv().is_err());
        assert!(c_rx.frames.try_recv().is_err(), "held back");
        assert_eq!(state.members[&4].backlog.as_ref().unwrap().len(), 1);
        state.broadcast(Some(1), &"y".into(), 1);
        assert!(
            c_rx.overflowed.is_cancelled(),
            "a backlog past its cap counts as too slow"
        );
    }

    #[test]
    fn the_cache_answers_only_what_it_fully_holds() {
        let room = Room::new("r".into(), 5, (3..=5).map(message).collect(), 3);
        let mut state = room.lock();
        let seqs = |p: Page| (p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), p.more);
        assert_eq!(state.cached_after(5, 10).map(seqs), Some((vec![], false)));
        assert_eq!(
            state.cached_after(3, 10).map(seqs),
            Some((vec![4, 5], false))
        );
        assert_eq!(state.cached_after(0, 2).map(seqs), Some((vec![4, 5], true)));
        assert_eq!(state.cached_after(1, 10).map(seqs), None);
        state.record(message(6));
        assert_eq!(
            state.cached_after(2, 10).map(seqs),
            None,
            "seq 3 fell out of the cache"
        );
        assert_eq!(
            state.cached_after(3, 10).map(seqs),
            Some((vec![4, 5, 6], false))
        );
        state.record(message(9));
        assert_eq!(
            state.cached_after(7, 10).map(seqs),
            None,
            "a gap empties the cache"
        );
        assert_eq!(state.last_seq, 9);
    }
}
