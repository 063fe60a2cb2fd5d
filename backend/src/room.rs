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
//! so they follow the `joined` instead of overtaking it; the members are in
//! nickname order and joins, leaves and typing are told once per interval
//! ([`presence`]); and the newest messages are kept in a bounded cache
//! ([`cache`]) that answers most joins exactly at the seam between history
//! and live messages (both decided under the same lock).

mod cache;
mod elsewhere;
mod presence;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use parley_protocol::{name_key, ModAction, Moderation, RoomEvent, ServerFrame};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::ids::{Identity, SessionId};
use crate::outbox::{encode, Outbox};
use crate::store::{Action, Page, Person, RoomControl};

use cache::Cache;
pub use cache::{fit, SharedBytes};
use presence::{Pending, Roster};

/// How much a room may keep and send, and how it tells about its members.
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
    /// Members from which on a room names nobody in `presence`.
    pub large_room: usize,
    /// How often a large room tells its member count, at most.
    pub large_room_every: Duration,
    /// Members in one page (the first one goes with `joined`).
    pub member_page: usize,
    /// Frames held back for a joining member, at most (its outbox's size).
    pub backlog: usize,
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
    /// The room's name, for the frames it builds.
    name: String,
    /// Members by session. A member whose connection dropped (and may resume)
    /// stays here with no outbox, so nobody sees it leave and come back.
    members: HashMap<SessionId, Member>,
    /// The members in nickname order.
    roster: Roster,
    /// Joins, leaves and typing not yet told.
    pending: Pending,
    /// The `seq` of the newest message delivered to the members. Every
    /// message up to it is committed; every later one will be delivered to
    /// whoever is a member when it is.
    last_seq: u64,
    /// The newest delivered messages.
    cache: Cache,
    /// How much the room may keep and send.
    limits: RoomLimits,
    /// Set when the last member left and the room was removed from the hub;
    /// whoever still holds it must look the room up again.
    closed: bool,
    /// Numbers the joins that wait on the store, so a late answer to an
    /// older join cannot release a newer one's held-back frames.
    next_ticket: u64,
    /// Who runs the room and who may be in it, as of the last committed
    /// moderation event.
    control: RoomControl,
    /// Members on other nodes, by name key (a cluster).
    elsewhere: HashMap<String, elsewhere::Remote>,
    /// What this node's own members did, not yet told the other nodes.
    announce: Vec<(String, bool)>,
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
    /// The `since` of its last `join`: room events up to it are not sent
    /// to it. In a cluster a client can come from a node that was ahead of
    /// this one; what it saw there and this node delivers late (a hint
    /// still on its way) must not reach it twice.
    has_upto: u64,
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
pub enum JoinAnswer {
    /// From the room's cache: the `joined` frame is already queued.
    Answered,
    /// From the store: read the messages, then [`RoomState::complete_join`].
    Read(PendingJoin),
}

/// What a joiner's history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The newest this many messages, in their current state (`join`).
    Newest(usize),
    /// Everything after this `seq`, at most this many events (`join {since}`).
    After(u64, usize),
}

/// A join whose history must be read from the store: what was wanted, up
/// to the room's last seq when the member was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingJoin {
    /// The history wanted.
    pub wanted: Wanted,
    /// Where it ends.
    pub upto: u64,
    /// Which join this is.
    pub ticket: u64,
    /// Whether this join made the session a member (rather than re-joining).
    pub added: bool,
}

/// What undoing a join that failed (or was abandoned) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    /// The member this join had added was removed again.
    Removed,
    /// The member stays (it was one before this join); its held frames went out.
    Released,
    /// Nothing: a newer join or the end of the session took over.
    Nothing,
}

impl Member {
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
    pub fn new(name: String, last_seq: u64, recent: Vec<RoomEvent>, limits: RoomLimits) -> Self {
        let contiguous = recent.last().is_none_or(|e| e.seq() == last_seq)
            && recent.windows(2).all(|w| w[1].seq() == w[0].seq() + 1);
        let mut cache = Cache::new(
            limits.cache_messages,
            limits.cache_bytes,
            limits.all_caches.clone(),
        );
        if contiguous {
            for message in recent {
                cache.push(message);
            }
        }
        Room {
            state: Mutex::new(RoomState {
                name: name.clone(),
                members: HashMap::new(),
                roster: Roster::default(),
                pending: Pending::default(),
                last_seq,
                cache,
                limits,
                closed: false,
                next_ticket: 1,
                control: RoomControl::default(),
                elsewhere: HashMap::new(),
                announce: Vec::new(),
            }),
            name,
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

    /// How many members the room has (connected or away), on this node and
    /// elsewhere.
    pub fn member_count(&self) -> usize {
        self.members.len() + self.elsewhere.len()
    }

    /// Whether `id` is a member of this (open) room.
    pub fn is_member(&self, id: SessionId) -> bool {
        !self.closed && self.members.contains_key(&id)
    }

    /// Up to `limit` members whose nickname starts with `prefix`, after
    /// `after`, in nickname order; and whether more match.
    pub fn members_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<String>, bool) {
        self.roster.page(prefix, after, limit)
    }

    /// The members of the room that `text` names as `@nick`.
    pub fn mentions(&self, text: &str) -> Vec<String> {
        self.roster.mentioned(text)
    }

    /// The `joined` frame: the first page of members (none in a large room:
    /// a client that shows them asks) and their count, a page of history
    /// (at most `--max-reply-bytes` of it), and where it ends.
    pub fn joined_frame(&self, nick: &str, page: Page<RoomEvent>, last_seq: u64) -> ServerFrame {
        let page = fit(page, self.limits.reply_bytes);
        let (members, members_more) = if self.member_count() >= self.limits.large_room {
            (Vec::new(), true)
        } else {
            self.members_page("", None, self.limits.member_page)
        };
        ServerFrame::Joined {
            room: self.name.clone(),
            members,
            member_count: self.member_count() as u64,
            members_more,
            history: page.items,
            more: page.more,
            last_seq,
            settings: self.control.settings(nick),
        }
    }

    /// The room's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who runs the room, as of the last committed moderation event.
    pub fn control(&self) -> &RoomControl {
        &self.control
    }

    /// Sets the control state (as the store has it, when the room loads).
    pub fn set_control(&mut self, control: RoomControl) {
        self.control = control;
    }

    /// Applies a committed moderation event to the room's control state;
    /// returns the members it removes (a kick or a ban): they are no longer
    /// members, and have been told with `removed`.
    pub fn moderated(&mut self, actor: &Person, action: &Action, ts: u64) -> Vec<SessionId> {
        self.control.apply(actor, action, ts);
        let (target, banned, reason) = match action {
            Action::Kick { target, reason } => (target, false, reason),
            Action::Ban { target, reason, .. } => (target, true, reason),
            _ => return Vec::new(),
        };
        let removed = ServerFrame::Removed {
            room: self.name.clone(),
            by: actor.nick.clone(),
            reason: reason.clone(),
            banned,
            until: action.until(ts),
        };
        self.remove_named(&target.nick, &removed)
    }

    /// Applies a moderation event committed on another node: the room's
    /// control becomes `control` (the store's, read after the event), and
    /// a kick or a ban removes this node's members it names, as
    /// [`RoomState::moderated`] does.
    pub fn moderated_elsewhere(
        &mut self,
        event: &Moderation,
        control: RoomControl,
    ) -> Vec<SessionId> {
        self.control = control;
        let banned = match event.action {
            ModAction::Kick => false,
            ModAction::Ban => true,
            _ => return Vec::new(),
        };
        let Some(target) = &event.target else {
            return Vec::new();
        };
        let removed = ServerFrame::Removed {
            room: self.name.clone(),
            by: event.nick.clone(),
            reason: event.reason.clone(),
            banned,
            until: event.until,
        };
        self.remove_named(target, &removed)
    }

    /// Removes the members named `nick` (by key), telling each `removed`
    /// first; returns them.
    fn remove_named(&mut self, nick: &str, removed: &ServerFrame) -> Vec<SessionId> {
        let ids = self.members_named(nick);
        if ids.is_empty() {
            return ids;
        }
        let frame = encode(removed);
        for id in &ids {
            if let Some(outbox) = self.members.get(id).and_then(|m| m.outbox.as_ref()) {
                outbox.push(frame.clone());
            }
            self.remove(*id);
        }
        ids
    }

    /// The sessions in the room whose nickname has the key of `nick`.
    pub fn members_named(&self, nick: &str) -> Vec<SessionId> {
        let key = name_key(nick);
        self.members
            .iter()
            .filter(|(_, m)| name_key(&m.nick) == key)
            .map(|(id, _)| *id)
            .collect()
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

    /// Makes `who` a member whose frames go to `outbox` (to be announced with
    /// the next flush if it is new) and decides where the history it wants
    /// comes from. `None` if the room was closed meanwhile and must be
    /// looked up again.
    pub fn admit(&mut self, who: &Identity, outbox: &Outbox, wanted: Wanted) -> Option<JoinAnswer> {
        if self.closed {
            return None;
        }
        let added = !self.members.contains_key(&who.id);
        if added {
            self.members.insert(
                who.id,
                Member {
                    nick: who.nick.clone(),
                    outbox: None,
                    joining: None,
                    has_upto: 0,
                },
            );
            // A session that moved here from another node was in the
            // room all along: nobody is told.
            if self.elsewhere.remove(&name_key(&who.nick)).is_none() {
                self.pending.joined(&who.nick);
            }
            self.roster.insert(who.id, &who.nick);
            self.announce.push((who.nick.clone(), true));
        }
        let cached = self.cached(wanted);
        let (last_seq, ticket) = (self.last_seq, self.next_ticket);
        let member = self
            .members
            .get_mut(&who.id)
            .expect("just added or present");
        member.outbox = Some(outbox.clone());
        // Anything an earlier, unfinished join held back is at most
        // `last_seq`, so this join's history covers it.
        member.joining = None;
        member.has_upto = match wanted {
            Wanted::After(since, _) => since,
            Wanted::Newest(_) => 0,
        };
        if let Some(page) = cached {
            let last_seq = last_seq.max(member.has_upto);
            outbox.push(encode(&self.joined_frame(&who.nick, page, last_seq)));
            return Some(JoinAnswer::Answered);
        }
        member.joining = Some(Joining {
            ticket,
            held: Vec::new(),
        });
        self.next_ticket += 1;
        Some(JoinAnswer::Read(PendingJoin {
            wanted,
            upto: last_seq,
            ticket,
            added,
        }))
    }

    /// Whether `id`'s current join is `join`.
    fn is_current(&self, id: SessionId, join: &PendingJoin) -> bool {
        self.members
            .get(&id)
            .and_then(|m| m.joining.as_ref())
            .is_some_and(|j| j.ticket == join.ticket)
    }

    /// Finishes a join with the history read from the store: queues the
    /// `joined` frame, then the frames held back meanwhile. Returns false
    /// (and queues nothing) if the join was overtaken by a newer one or the
    /// member is gone.
    pub fn complete_join(
        &mut self,
        id: SessionId,
        join: PendingJoin,
        page: Page<RoomEvent>,
    ) -> bool {
        if !self.is_current(id, &join) {
            return false;
        }
        let member = &self.members[&id];
        let (nick, last_seq) = (member.nick.clone(), join.upto.max(member.has_upto));
        let frame = encode(&self.joined_frame(&nick, page, last_seq));
        let member = self.members.get_mut(&id).expect("checked above");
        if let Some(outbox) = &member.outbox {
            outbox.push(frame);
        }
        member.release();
        true
    }

    /// Undoes a join whose history could not be read (or whose connection
    /// went away first): a member it added is removed again; a member that
    /// was one before keeps its place and gets the frames held back.
    pub fn undo_join(&mut self, id: SessionId, join: PendingJoin) -> Undone {
        if !self.is_current(id, &join) {
            return Undone::Nothing;
        }
        if join.added {
            self.remove(id);
            Undone::Removed
        } else {
            self.members.get_mut(&id).expect("checked above").release();
            Undone::Released
        }
    }

    /// Removes a member (to be told with the next flush). Returns whether
    /// it was one.
    pub fn remove(&mut self, id: SessionId) -> bool {
        match self.members.remove(&id) {
            Some(member) => {
                self.roster.remove(&member.nick);
                self.pending.left(&member.nick);
                self.announce.push((member.nick, false));
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
    /// many members it was queued for.
    pub fn broadcast(&mut self, except: Option<SessionId>, frame: &Utf8Bytes) -> usize {
        self.queue_for_members(except, None, frame)
    }

    /// Like [`RoomState::broadcast`], for the frame of room event `seq`,
    /// which members that already have it (see `Member::has_upto`) skip.
    pub fn broadcast_event(
        &mut self,
        except: Option<SessionId>,
        seq: u64,
        frame: &Utf8Bytes,
    ) -> usize {
        self.queue_for_members(except, Some(seq), frame)
    }

    fn queue_for_members(
        &mut self,
        except: Option<SessionId>,
        seq: Option<u64>,
        frame: &Utf8Bytes,
    ) -> usize {
        let cap = self.limits.backlog;
        let mut delivered = 0;
        for (id, member) in self.members.iter_mut() {
            let has_it = seq.is_some_and(|seq| seq <= member.has_upto);
            if Some(*id) != except && !has_it && member.push(frame, cap) {
                delivered += 1;
            }
        }
        delivered
    }

    /// `who` is typing (told with the next flush).
    pub fn typing(&mut self, who: &Identity) {
        if self.members.contains_key(&who.id) {
            self.pending.typed(&who.nick);
        }
    }

    /// Someone on another node is typing here (told with the next flush).
    pub fn typing_elsewhere(&mut self, nick: &str) {
        self.pending.typed(nick);
    }

    /// `who` sent a message, which ends its typing.
    pub fn stopped_typing(&mut self, who: &Identity) {
        self.pending.stopped_typing(&who.nick);
    }

    /// Whether the room has news to tell and must be put on the hub's list
    /// of rooms to flush (it says so once until flushed).
    pub fn needs_flush(&mut self) -> bool {
        self.pending.schedule(self.member_count())
    }

    /// Tells every member what happened since the last flush: one
    /// `presence` and one `typing` frame at most. Returns how many frames
    /// were queued.
    pub fn flush(&mut self) -> usize {
        let flush = self.pending.flush(
            self.member_count(),
            self.limits.large_room,
            self.limits.large_room_every,
            tokio::time::Instant::now(),
        );
        let mut queued = 0;
        if let Some((joined, left, count)) = flush.presence {
            let frame = encode(&ServerFrame::Presence {
                room: self.name.clone(),
                joined,
                left,
                count: count as u64,
            });
            queued += self.broadcast(None, &frame);
        }
        if let Some((nicks, count)) = flush.typing {
            let frame = encode(&ServerFrame::Typing {
                room: self.name.clone(),
                nicks,
                count: count as u64,
            });
            queued += self.broadcast(None, &frame);
        }
        queued
    }

    /// Notes a delivered event: it becomes the newest (and a change applies
    /// to the cached message it targets).
    pub fn record(&mut self, event: RoomEvent) {
        if event.seq() <= self.last_seq {
            return;
        }
        if event.seq() != self.last_seq + 1 {
            // Something was committed that this room never saw (it was not
            // loaded then): the cache is no longer contiguous.
            self.cache.clear();
        }
        self.last_seq = event.seq();
        self.cache.push(event);
    }

    /// Moves the room's last `seq` on to `seq` without events: the store
    /// no longer has the ones in between (retention deleted them before
    /// this node saw them). The cache is no longer contiguous.
    pub fn skip_to(&mut self, seq: u64) {
        if seq > self.last_seq {
            self.last_seq = seq;
            self.cache.clear();
        }
    }

    /// The history `wanted`, if the cache holds all of it (`None` means:
    /// read the store).
    pub fn cached(&self, wanted: Wanted) -> Option<Page<RoomEvent>> {
        match wanted {
            Wanted::Newest(limit) => self.cache.newest_messages(limit, self.last_seq),
            Wanted::After(after, limit) => self.cache.after(after, self.last_seq, limit),
        }
    }
}

#[cfg(test)]
mod tests;
