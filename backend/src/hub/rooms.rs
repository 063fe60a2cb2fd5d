//! Joining, leaving and reading rooms.
//!
//! The one subtle part is the seam of `join {since}`: the joiner must get
//! every message after `since` exactly once, whether it comes as history or
//! live. Under the room's lock the member is added and the room's last
//! delivered `seq` (H) is noted; everything up to H is history, everything
//! after H is delivered live. History comes from the room's cache when it
//! holds the range (answered under the same lock); otherwise from the store,
//! read off the async threads, while live frames are held back in the
//! member's backlog so they follow the `joined` frame instead of overtaking it.

use std::sync::Arc;

use parley_protocol::{PresenceEvent, ServerFrame};

use super::{Hub, Identity, SessionId};
use crate::error::HubError;
use crate::room::{encode, Member, Room, RoomState};
use crate::store::{Page, StoreError};

/// Runs blocking store work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, HubError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HubError::Store(StoreError::Backend(format!("store task failed: {e}"))))?
        .map_err(HubError::from)
}

/// Where a joiner's history comes from.
enum History {
    /// Answered from the room's cache, under its lock.
    Cached(Page),
    /// To be read from the store: messages in `(after, upto]`.
    Stored { after: u64, upto: u64, limit: usize },
}

impl Hub {
    /// The room `name`, loaded from the store if it is not in memory.
    async fn load_room(&self, name: &str) -> Result<Arc<Room>, HubError> {
        if let Some(room) = self.room(name) {
            return Ok(room);
        }
        let (store, owned, cache_len) =
            (self.store.clone(), name.to_owned(), self.limits.room_cache);
        let (last_seq, recent) = blocking(move || {
            let last_seq = store.last_seq(&owned)?;
            let page = store.range(&owned, 0, last_seq, cache_len)?;
            Ok((last_seq, page.messages))
        })
        .await?;
        let mut rooms = self.rooms.write().unwrap_or_else(|p| p.into_inner());
        if let Some(room) = rooms.get(name) {
            return Ok(room.clone());
        }
        if rooms.len() >= self.limits.max_rooms {
            return Err(HubError::ServerFull(self.limits.max_rooms));
        }
        let room = Arc::new(Room::new(name.to_owned(), last_seq, recent, cache_len));
        rooms.insert(name.to_owned(), room.clone());
        crate::metrics::rooms(rooms.len());
        Ok(room)
    }

    /// Removes a room that has become empty. Called with the room unlocked.
    fn close_if_empty(&self, room: &Arc<Room>) {
        let mut rooms = self.rooms.write().unwrap_or_else(|p| p.into_inner());
        let mut state = room.lock();
        if state.members.is_empty() && !state.closed {
            state.closed = true;
            if rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
                rooms.remove(&room.name);
            }
            crate::metrics::rooms(rooms.len());
        }
    }

    /// Adds `who` to `room` (normalised) and queues the `joined` frame, with
    /// the history after `since` (or the newest messages), for its connection.
    pub async fn join(
        &self,
        who: &Identity,
        room: &str,
        since: Option<u64>,
    ) -> Result<(), HubError> {
        let max_rooms = self.limits.max_rooms_per_connection;
        let outbox = self.with_record(who, |record| {
            if !record.rooms.contains(room) && record.rooms.len() >= max_rooms {
                return Err(HubError::TooManyRooms(max_rooms));
            }
            record.rooms.insert(room.to_owned());
            Ok(record.outbox.clone())
        })?;
        let result = self.join_room(who, room, since, outbox).await;
        if result.is_err() {
            let _ = self.with_record(who, |record| Ok(record.rooms.remove(room)));
        }
        result
    }

    async fn join_room(
        &self,
        who: &Identity,
        name: &str,
        since: Option<u64>,
        outbox: Option<crate::outbox::Outbox>,
    ) -> Result<(), HubError> {
        let Some(outbox) = outbox else {
            return Err(HubError::SessionGone);
        };
        let cap = self.limits.outbox_capacity;
        let (room, history) = loop {
            let room = self.load_room(name).await?;
            let mut state = room.lock();
            if state.closed {
                continue;
            }
            let (after, limit) = match since {
                None => (0, self.limits.join_history),
                Some(seq) => (seq, self.limits.catch_up_cap),
            };
            let history = match state.cached_after(after, limit) {
                Some(page) => History::Cached(page),
                None => History::Stored {
                    after,
                    upto: state.last_seq,
                    limit,
                },
            };
            let hold_back = matches!(history, History::Stored { .. });
            match state.members.get_mut(&who.id) {
                Some(member) => {
                    member.outbox = Some(outbox.clone());
                    if hold_back && member.backlog.is_none() {
                        member.backlog = Some(Vec::new());
                    }
                }
                None => {
                    let mut member = Member::new(who.nick.clone(), Some(outbox.clone()));
                    member.backlog = hold_back.then(Vec::new);
                    state.members.insert(who.id, member);
                    state.announce(name, who.id, &who.nick, PresenceEvent::Join, cap);
                }
            }
            if let History::Cached(page) = history {
                outbox.push(encode(&joined(name, &state, page)));
                return Ok(());
            }
            drop(state);
            break (room, history);
        };
        let History::Stored { after, upto, limit } = history else {
            unreachable!()
        };
        let (store, owned) = (self.store.clone(), name.to_owned());
        let page = blocking(move || store.range(&owned, after, upto, limit)).await;
        let mut state = room.lock();
        let Some(member) = state.members.get_mut(&who.id) else {
            return Err(HubError::NotJoined(name.to_owned()));
        };
        let held_back = member.backlog.take().unwrap_or_default();
        let page = page?;
        let frame = ServerFrame::Joined {
            room: name.to_owned(),
            members: state.nicks(),
            history: page.messages,
            more: page.more,
            last_seq: upto,
        };
        outbox.push(encode(&frame));
        for frame in held_back {
            outbox.push(frame);
        }
        Ok(())
    }

    /// Removes `who` from `room`.
    pub fn leave(&self, who: &Identity, room: &str) -> Result<(), HubError> {
        let was_member = self.with_record(who, |record| Ok(record.rooms.remove(room)))?;
        if !was_member {
            return Err(HubError::NotJoined(room.to_owned()));
        }
        self.remove_member(who.id, &who.nick, room);
        Ok(())
    }

    pub(super) fn remove_member(&self, id: SessionId, nick: &str, room_name: &str) {
        let Some(room) = self.room(room_name) else {
            return;
        };
        let now_empty = {
            let mut state = room.lock();
            if state.members.remove(&id).is_some() {
                state.announce(
                    room_name,
                    id,
                    nick,
                    PresenceEvent::Leave,
                    self.limits.outbox_capacity,
                );
            }
            state.members.is_empty()
        };
        if now_empty {
            self.close_if_empty(&room);
        }
    }

    /// Runs `f` on a room `who` is a member of.
    pub(super) fn in_member_room<T>(
        &self,
        who: &Identity,
        room: &str,
        f: impl FnOnce(&mut RoomState) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let not_joined = || HubError::NotJoined(room.to_owned());
        let room_ref = self.room(room).ok_or_else(not_joined)?;
        let mut state = room_ref.lock();
        if state.closed || !state.members.contains_key(&who.id) {
            return Err(not_joined());
        }
        f(&mut state)
    }

    /// Relays that `who` is typing, at most once per throttle interval.
    pub fn typing(&self, who: &Identity, room: &str) -> Result<(), HubError> {
        let throttle = self.limits.typing_throttle;
        let cap = self.limits.outbox_capacity;
        self.in_member_room(who, room, |state| {
            let now = std::time::Instant::now();
            let member = state.members.get_mut(&who.id).expect("checked membership");
            if member
                .last_typing
                .is_some_and(|t| now.duration_since(t) < throttle)
            {
                return Ok(());
            }
            member.last_typing = Some(now);
            let frame = encode(&ServerFrame::Typing {
                room: room.to_owned(),
                nick: who.nick.clone(),
            });
            state.broadcast(Some(who.id), &frame, cap);
            Ok(())
        })
    }

    /// A page of messages older than `before`.
    pub async fn history(
        &self,
        who: &Identity,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<ServerFrame, HubError> {
        let limit = limit.clamp(1, self.limits.history_page_max);
        self.in_member_room(who, room, |_| Ok(()))?;
        let (store, owned) = (self.store.clone(), room.to_owned());
        let page =
            blocking(move || store.range(&owned, 0, before.saturating_sub(1), limit)).await?;
        Ok(ServerFrame::History {
            room: room.to_owned(),
            messages: page.messages,
            more: page.more,
        })
    }
}

/// The `joined` frame for a cache-answered join.
fn joined(room: &str, state: &RoomState, page: Page) -> ServerFrame {
    ServerFrame::Joined {
        room: room.to_owned(),
        members: state.nicks(),
        history: page.messages,
        more: page.more,
        last_seq: state.last_seq,
    }
}
