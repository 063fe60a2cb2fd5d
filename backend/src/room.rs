//! One chat room: its members, its newest messages, and fan-out.
//!
//! Each room has its own lock, so a busy room never serialises the others
//! (the hub's room map is only locked to find or create a room). The lock is
//! a plain mutex held for microseconds: pushing one shared frame into each
//! member's queue, or adding a member. Nothing awaits and no socket is
//! written while it is held.
//!
//! The room's invariants live here, behind private fields: a member's
//! frames go to exactly one outbox (see [`RoomState::point_outbox`]); while a
//! member's `joined` is read from the store its live frames are held back,
//! so they follow the `joined` instead of overtaking it; and the cache of
//! newest messages is contiguous and ends at `last_seq`, so most joins and
//! catch-ups are answered from memory, exactly at the seam between history
//! and live messages (both are decided under the same lock).
//!
//! Memory is bounded: a room's cache holds at most `--room-cache` messages
//! and `--room-cache-bytes`, all rooms' caches together at most
//! `--room-caches-total-bytes` (a room that records past it forgets its own
//! oldest first), and a `joined` reply at most `--max-reply-bytes`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use parley_protocol::{nick_key, ChatMessage, PresenceEvent, ServerFrame};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::ids::{Identity, SessionId};
use crate::outbox::{encode, Outbox};
use crate::store::Page;

/// How much a room may keep and send.
#[derive(Debug, Clone)]
pub struct RoomLimits {
    /// Messages in the room's cache, at most.
    pub cache_messages: usize,
    /// Bytes in the room's cache, at most.
    pub cache_bytes: usize,
    /// Bytes in every room's cache together, shared by all rooms.
    pub all_caches: Arc<SharedBytes>,
    /// Bytes of history in one `joined` frame, at most.
    pub reply_bytes: usize,
}

/// A byte count shared by several rooms, and its cap.
#[derive(Debug)]
pub struct SharedBytes {
    used: AtomicUsize,
    max: usize,
}

impl SharedBytes {
    /// Nothing used yet, at most `max`.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(SharedBytes {
            used: AtomicUsize::new(0),
            max,
        })
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// What a message costs in memory, about.
fn cache_cost(message: &ChatMessage) -> usize {
    std::mem::size_of::<ChatMessage>()
        + message.room.len()
        + message.nick.len()
        + message.text.len()
        + message.cid.as_ref().map_or(0, String::len)
}

/// An upper bound of a message's size in a JSON frame: the text and cid at
/// worst double when escaped (control characters other than `\n` and `\t`
/// are refused).
fn reply_cost(message: &ChatMessage) -> usize {
    96 + 2 * message.text.len()
        + message.nick.len()
        + message.room.len()
        + message.cid.as_ref().map_or(0, |c| 2 * c.len())
}

/// The newest messages of `page` whose JSON fits in `max_bytes`; `more` is
/// set if older ones had to be left out.
pub fn fit(mut page: Page, max_bytes: usize) -> Page {
    let mut total = 0;
    let keep = page
        .messages
        .iter()
        .rev()
        .take_while(|m| {
            total += reply_cost(m);
            total <= max_bytes
        })
        .count();
    let cut = page.messages.len() - keep;
    if cut > 0 {
        page.messages.drain(..cut);
        page.more = true;
    }
    page
}

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
    members: HashMap<SessionId, Member>,
    /// The `seq` of the newest message delivered to the members. Every
    /// message up to it is committed; every later one will be delivered to
    /// whoever is a member when it is.
    last_seq: u64,
    /// The newest delivered messages, contiguous and ending at `last_seq`.
    recent: VecDeque<ChatMessage>,
    /// What `recent` costs in memory.
    recent_bytes: usize,
    /// How much the room may keep and send.
    limits: RoomLimits,
    /// Set when the last member left and the room was removed from the hub;
    /// whoever still holds it must look the room up again.
    closed: bool,
    /// Numbers the joins that wait on the store, so a late answer to an
    /// older join cannot release a newer one's held-back frames.
    next_ticket: u64,
}

/// One member of a room.
#[derive(Debug)]
struct Member {
    /// The member's nickname.
    nick: String,
    /// Where the member's frames go; `None` while its connection is away.
    outbox: Option<Outbox>,
    /// Set while the member's `joined` is being read from the store.
    joining: Option<Joining>,
    /// When this member's last `typing` was relayed, for throttling (on
    /// tokio's clock, so tests can run it in virtual time).
    last_typing: Option<Instant>,
}

/// A join waiting on the store, and the live frames held back meanwhile.
#[derive(Debug)]
struct Joining {
    /// Which join this is.
    ticket: u64,
    /// Frames that arrived meanwhile, in order.
    held: Vec<Utf8Bytes>,
}

/// How a member's `joined` will be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// From the room's cache: the `joined` frame is already queued.
    Answered,
    /// From the store: read the messages, then [`RoomState::complete_join`].
    Read(PendingJoin),
}

/// A join whose history must be read from the store: the newest `limit`
/// messages with `after < seq <= upto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingJoin {
    /// History starts after this seq.
    pub after: u64,
    /// ... and ends at this one, the room's last seq when the member was admitted.
    pub upto: u64,
    /// At most this many messages.
    pub limit: usize,
    /// Which join this is.
    pub ticket: u64,
    /// Whether this join made the session a member (rather than re-joining).
    pub added: bool,
}

/// What undoing a join that failed (or was abandoned) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    /// The member this join had added was removed again (and the others told).
    Removed,
    /// The member stays (it was one before this join); its held frames went out.
    Released,
    /// Nothing: a newer join or the end of the session took over.
    Nothing,
}

impl Member {
    fn new(nick: &str, outbox: Outbox) -> Self {
        Member {
            nick: nick.to_owned(),
            outbox: Some(outbox),
            joining: None,
            last_typing: None,
        }
    }

    /// Queues a frame for this member, or holds it back while it joins.
    /// Returns whether the frame was taken.
    fn push(&mut self, frame: &Utf8Bytes, backlog_cap: usize) -> bool {
        let Some(outbox) = &self.outbox else {
            return false;
        };
        match &mut self.joining {
            Some(joining) if joining.held.len() >= backlog_cap => {
                outbox.overflow();
                false
            }
            Some(joining) => {
                joining.held.push(frame.clone());
                true
            }
            None => outbox.push(frame.clone()),
        }
    }

    /// Sends the frames held back during a join, and stops holding.
    fn release(&mut self) {
        if let (Some(joining), Some(outbox)) = (self.joining.take(), &self.outbox) {
            for frame in joining.held {
                outbox.push(frame);
            }
        }
    }
}

impl Room {
    /// A new, empty room whose newest messages are `recent` (oldest first)
    /// and whose last seq is `last_seq`.
    pub fn new(name: String, last_seq: u64, recent: Vec<ChatMessage>, limits: RoomLimits) -> Self {
        let contiguous = recent.last().is_none_or(|m| m.seq == last_seq)
            && recent.windows(2).all(|w| w[1].seq == w[0].seq + 1);
        let mut state = RoomState {
            members: HashMap::new(),
            last_seq,
            recent: VecDeque::new(),
            recent_bytes: 0,
            limits,
            closed: false,
            next_ticket: 1,
        };
        if contiguous {
            for message in recent {
                state.remember(message);
            }
        }
        Room {
            name,
            state: Mutex::new(state),
        }
    }

    /// Locks the room. Every update under the lock is completed before any
    /// code that could panic, so a poisoned lock is still consistent.
    pub fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RoomState {
    /// The `seq` of the newest message delivered.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// How many members the room has (connected or away).
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Whether `id` is a member of this (open) room.
    pub fn is_member(&self, id: SessionId) -> bool {
        !self.closed && self.members.contains_key(&id)
    }

    /// The members' nicknames, sorted case-insensitively.
    pub fn nicks(&self) -> Vec<String> {
        let mut nicks: Vec<String> = self.members.values().map(|m| m.nick.clone()).collect();
        nicks.sort_by_cached_key(|n| nick_key(n));
        nicks
    }

    /// The `joined` frame: the members, a page of history (at most
    /// `--max-reply-bytes` of it), and where it ends.
    pub fn joined_frame(&self, room: &str, page: Page, last_seq: u64) -> ServerFrame {
        let page = fit(page, self.limits.reply_bytes);
        ServerFrame::Joined {
            room: room.to_owned(),
            members: self.nicks(),
            history: page.messages,
            more: page.more,
            last_seq,
        }
    }

    /// Re-points a member's frames to `outbox` (`None`: its connection is
    /// away and frames for it are dropped until it resumes). Returns whether
    /// `id` is a member.
    pub fn point_outbox(&mut self, id: SessionId, outbox: Option<Outbox>) -> bool {
        match self.members.get_mut(&id) {
            Some(member) => {
                member.outbox = outbox;
                true
            }
            None => false,
        }
    }

    /// Makes `who` a member whose frames go to `outbox` (announcing it to
    /// the others if it is new) and decides where its history comes from:
    /// the messages after `after`, at most `limit`. `None` if the room was
    /// closed meanwhile and must be looked up again.
    pub fn admit(
        &mut self,
        room: &str,
        who: &Identity,
        outbox: &Outbox,
        after: u64,
        limit: usize,
        backlog_cap: usize,
    ) -> Option<Admission> {
        if self.closed {
            return None;
        }
        let added = !self.members.contains_key(&who.id);
        if added {
            self.announce(room, who.id, &who.nick, PresenceEvent::Join, backlog_cap);
            self.members
                .insert(who.id, Member::new(&who.nick, outbox.clone()));
        }
        let cached = self.cached_after(after, limit);
        let last_seq = self.last_seq;
        let ticket = self.next_ticket;
        let member = self
            .members
            .get_mut(&who.id)
            .expect("just added or present");
        member.outbox = Some(outbox.clone());
        // Anything an earlier, unfinished join held back is at most
        // `last_seq`, so this join's history covers it.
        member.joining = None;
        if let Some(page) = cached {
            let frame = encode(&self.joined_frame(room, page, last_seq));
            outbox.push(frame);
            return Some(Admission::Answered);
        }
        member.joining = Some(Joining {
            ticket,
            held: Vec::new(),
        });
        self.next_ticket += 1;
        Some(Admission::Read(PendingJoin {
            after,
            upto: last_seq,
            limit,
            ticket,
            added,
        }))
    }

    /// Finishes a join with the history read from the store: queues the
    /// `joined` frame, then the frames held back meanwhile. Returns false
    /// (and queues nothing) if the join was overtaken by a newer one or the
    /// member is gone.
    pub fn complete_join(
        &mut self,
        room: &str,
        id: SessionId,
        join: PendingJoin,
        page: Page,
    ) -> bool {
        let current = self
            .members
            .get(&id)
            .and_then(|m| m.joining.as_ref())
            .is_some_and(|j| j.ticket == join.ticket);
        if !current {
            return false;
        }
        let frame = encode(&self.joined_frame(room, page, join.upto));
        let member = self.members.get_mut(&id).expect("checked above");
        if let Some(outbox) = &member.outbox {
            outbox.push(frame);
        }
        member.release();
        true
    }

    /// Undoes a join whose history could not be read (or whose connection
    /// went away first): a member it added is removed again, with a `leave`
    /// for the others; a member that was one before keeps its place and gets
    /// the frames held back.
    pub fn undo_join(
        &mut self,
        room: &str,
        id: SessionId,
        join: PendingJoin,
        backlog_cap: usize,
    ) -> Undone {
        let current = self
            .members
            .get(&id)
            .and_then(|m| m.joining.as_ref())
            .is_some_and(|j| j.ticket == join.ticket);
        if !current {
            return Undone::Nothing;
        }
        if join.added {
            self.remove(room, id, backlog_cap);
            Undone::Removed
        } else {
            self.members.get_mut(&id).expect("checked above").release();
            Undone::Released
        }
    }

    /// Removes a member and tells the others. Returns whether it was one.
    pub fn remove(&mut self, room: &str, id: SessionId, backlog_cap: usize) -> bool {
        match self.members.remove(&id) {
            Some(member) => {
                self.announce(room, id, &member.nick, PresenceEvent::Leave, backlog_cap);
                true
            }
            None => false,
        }
    }

    /// Marks the room closed if it has no members; returns whether it did.
    pub fn close_if_empty(&mut self) -> bool {
        if self.members.is_empty() && !self.closed {
            self.closed = true;
            return true;
        }
        false
    }

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
            if Some(*id) != except && member.push(frame, backlog_cap) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Tells everyone but `who` that `who` joined or left.
    fn announce(
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

    /// Relays that `who` is typing, unless it did less than `throttle` ago.
    pub fn typing(&mut self, room: &str, who: &Identity, throttle: Duration, backlog_cap: usize) {
        let now = Instant::now();
        let Some(member) = self.members.get_mut(&who.id) else {
            return;
        };
        if member
            .last_typing
            .is_some_and(|t| now.duration_since(t) < throttle)
        {
            return;
        }
        member.last_typing = Some(now);
        let frame = encode(&ServerFrame::Typing {
            room: room.to_owned(),
            nick: who.nick.clone(),
        });
        self.broadcast(Some(who.id), &frame, backlog_cap);
    }

    /// `who` sent a message, which ends its typing: its next `typing` is
    /// relayed at once.
    pub fn stopped_typing(&mut self, id: SessionId) {
        if let Some(member) = self.members.get_mut(&id) {
            member.last_typing = None;
        }
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
            self.limits
                .all_caches
                .used
                .fetch_sub(self.recent_bytes, Ordering::AcqRel);
            self.recent_bytes = 0;
        }
        self.last_seq = message.seq;
        self.remember(message);
    }

    /// Adds a message to the cache, then forgets the oldest while the cache
    /// (or all caches together) is over its limits.
    fn remember(&mut self, message: ChatMessage) {
        let cost = cache_cost(&message);
        self.recent_bytes += cost;
        self.limits
            .all_caches
            .used
            .fetch_add(cost, Ordering::AcqRel);
        self.recent.push_back(message);
        let limits = &self.limits;
        while self.recent.len() > limits.cache_messages
            || self.recent_bytes > limits.cache_bytes
            || limits.all_caches.used() > limits.all_caches.max
        {
            let Some(oldest) = self.recent.pop_front() else {
                break;
            };
            let cost = cache_cost(&oldest);
            self.recent_bytes -= cost;
            limits.all_caches.used.fetch_sub(cost, Ordering::AcqRel);
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

impl Drop for RoomState {
    fn drop(&mut self) {
        self.limits
            .all_caches
            .used
            .fetch_sub(self.recent_bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests;
