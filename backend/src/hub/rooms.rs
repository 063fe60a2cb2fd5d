//! Joining, leaving and reading rooms.
//!
//! The one subtle part is the seam of `join {since}`: the joiner must get
//! every message after `since` exactly once, whether it comes as history or
//! live. Under the room's lock the member is added and the room's last
//! delivered `seq` (H) is noted; everything up to H is history, everything
//! after H is delivered live (see [`RoomState::admit`]). History comes from
//! the room's cache when it holds the range; otherwise it is read from the
//! store while the member's live frames are held back.
//!
//! A read from the store is never awaited by the hub itself: [`Hub::join`]
//! and [`Hub::history`] hand back a [`Reading`], a future the connection
//! task polls beside its socket, so a slow database never stops a
//! connection from draining its queue or answering pings. A join whose read
//! fails, or whose connection goes away first, is undone: the room is as if
//! the member had joined and left, and a retry works.
//!
//! [`RoomState::admit`]: crate::room::RoomState::admit

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parley_protocol::ServerFrame;

use super::Hub;
use crate::error::HubError;
use crate::ids::{Identity, SessionId};
use crate::outbox::Outbox;
use crate::room::{fit, JoinAnswer, PendingJoin, Room, RoomState, Undone, Wanted};
use parley_protocol::RoomEvent;

use crate::store::{MessageStore, Page, Person, StoreError};

/// A read from the store in progress; poll it to completion.
pub type Reading<T> = Pin<Box<dyn Future<Output = Result<T, HubError>> + Send>>;

/// How a `join` goes on.
pub enum Joining {
    /// Answered from memory: the `joined` frame is already queued.
    Answered,
    /// Waiting on the store; the `joined` frame is queued when this completes.
    Reading(Reading<()>),
}

/// A join under way. Dropped before [`JoinInProgress::finish`] (the read
/// failed, or the connection went away), it undoes the join.
struct JoinInProgress {
    hub: Arc<Hub>,
    who: Identity,
    room_name: String,
    /// This join put the room in the session's record.
    recorded: bool,
    /// The room, once the member was admitted.
    admitted: Option<(Arc<Room>, PendingJoin)>,
    finished: bool,
}

impl JoinInProgress {
    fn finish(mut self, page: Page<RoomEvent>) {
        if let Some((room, join)) = &self.admitted {
            room.lock().complete_join(self.who.id, *join, page);
        }
        self.finished = true;
    }
}

impl Drop for JoinInProgress {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some((room, join)) = &self.admitted {
            let undone = {
                let mut state = room.lock();
                let undone = state.undo_join(self.who.id, *join);
                self.hub.note_news(room, &mut state);
                undone
            };
            if undone == Undone::Removed {
                self.hub.close_if_empty(room);
            }
        }
        // This join put the room in the session's record: take it out again.
        // (While it waited, no other join of this connection could run.)
        if self.recorded {
            let _ = self
                .hub
                .with_session(&self.who, |s| Ok(s.rooms.remove(&self.room_name)));
        }
    }
}

impl Hub {
    /// Runs a read of the store on tokio's blocking pool, once one of the
    /// `--db-readers` permits is free.
    pub(super) async fn read_store<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn MessageStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, HubError> {
        let _permit = self
            .readers
            .acquire()
            .await
            .map_err(|_| HubError::ShuttingDown)?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || read(store.as_ref()))
            .await
            .map_err(|e| HubError::Store(StoreError::Backend(format!("store task failed: {e}"))))?
            .map_err(HubError::from)
    }

    /// The room `name`, loaded from the store if it is not in memory.
    async fn load_room(&self, name: &str) -> Result<Arc<Room>, HubError> {
        if let Some(room) = self.room(name) {
            return Ok(room);
        }
        let (owned, cache_len) = (name.to_owned(), self.limits.room_cache);
        let reading = self.read_store(move |store| {
            let last_seq = store.last_seq(&owned)?;
            let page = store.events(&owned, 0, last_seq, cache_len)?;
            Ok((last_seq, page.items, store.control(&owned)?))
        });
        // In a cluster, who is in it on the other nodes.
        let elsewhere = async {
            match self.broker.get() {
                Some(broker) => broker.members(name).await.map_err(|_| HubError::LinkDown),
                None => Ok(Vec::new()),
            }
        };
        let (read, elsewhere) = tokio::join!(reading, elsewhere);
        let ((last_seq, recent, control), elsewhere) = (read?, elsewhere?);
        let mut rooms = self.rooms.write().unwrap_or_else(|p| p.into_inner());
        if let Some(room) = rooms.get(name) {
            return Ok(room.clone());
        }
        if rooms.len() >= self.limits.max_rooms {
            return Err(HubError::ServerFull(self.limits.max_rooms));
        }
        let room = Arc::new(Room::new(
            name.to_owned(),
            last_seq,
            recent,
            self.room_limits.clone(),
        ));
        {
            let mut state = room.lock();
            state.set_control(control);
            state.add_elsewhere(elsewhere);
        }
        rooms.insert(name.to_owned(), room.clone());
        crate::metrics::rooms(rooms.len());
        Ok(room)
    }

    /// Removes a room that has become empty. Called with the room unlocked.
    pub(super) fn close_if_empty(&self, room: &Arc<Room>) {
        let mut rooms = self.rooms.write().unwrap_or_else(|p| p.into_inner());
        if room.lock().close_if_empty() {
            if rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
                rooms.remove(&room.name);
            }
            crate::metrics::rooms(rooms.len());
        }
    }

    /// Adds `who` to `room` (normalised) and queues the `joined` frame, with
    /// the history after `since` (or the newest messages), for its
    /// connection: at once if memory has the history, else once the
    /// returned [`Joining::Reading`] completes.
    pub fn join(
        self: &Arc<Self>,
        who: &Identity,
        room: &str,
        since: Option<u64>,
    ) -> Result<Joining, HubError> {
        let max_rooms = self.limits.max_rooms_per_connection;
        let (recorded, outbox, person) = self.with_session(who, |session| {
            if !session.rooms.contains(room) && session.rooms.len() >= max_rooms {
                return Err(HubError::TooManyRooms(max_rooms));
            }
            let outbox = session.outbox.clone().ok_or(HubError::SessionGone)?;
            let recorded = session.rooms.insert(room.to_owned());
            if recorded {
                self.tell_record(session);
            }
            Ok((recorded, outbox, session.person()))
        })?;
        let mut join = JoinInProgress {
            hub: self.clone(),
            who: who.clone(),
            room_name: room.to_owned(),
            recorded,
            admitted: None,
            finished: false,
        };
        let wanted = match since {
            None => Wanted::Newest(self.limits.join_history),
            Some(seq) => Wanted::After(seq, self.limits.catch_up_cap),
        };
        // The room is usually in memory: admit the member at once.
        if let Some(loaded) = self.room(room) {
            match self.admit(&loaded, who, &person, &outbox, wanted)? {
                Some(JoinAnswer::Answered) => {
                    join.finished = true;
                    return Ok(Joining::Answered);
                }
                Some(JoinAnswer::Read(pending)) => {
                    join.admitted = Some((loaded, pending));
                    return Ok(Joining::Reading(Box::pin(join.read_history())));
                }
                None => {} // closed meanwhile: load it again, below
            }
        }
        Ok(Joining::Reading(Box::pin(async move {
            join.enter(&person, &outbox, wanted).await?;
            join.read_history().await
        })))
    }

    /// Admits `who` to `room` if the room's rules let `person` in (a member
    /// already is); an account that joins a room without an owner claims it.
    fn admit(
        &self,
        room: &Arc<Room>,
        who: &Identity,
        person: &Person,
        outbox: &Outbox,
        wanted: Wanted,
    ) -> Result<Option<JoinAnswer>, HubError> {
        let mut state = room.lock();
        if !state.is_member(who.id) {
            self.may_join(&state, person)?;
        }
        let admission = state.admit(who, outbox, wanted);
        if matches!(wanted, Wanted::After(since, _) if since > state.last_seq()) {
            self.behind(&room.name);
        }
        let control = state.control();
        let unowned = person.account && control.owner.is_none() && control.dm.is_none();
        self.note_news(room, &mut state);
        drop(state);
        if admission.is_some() && unowned {
            self.claim_if_unowned(who, &room.name, person.clone());
        }
        Ok(admission)
    }

    /// Removes `who` from `room`.
    pub fn leave(&self, who: &Identity, room: &str) -> Result<(), HubError> {
        let was_member = self.with_session(who, |session| {
            let was_member = session.rooms.remove(room);
            if was_member {
                self.tell_record(session);
            }
            Ok(was_member)
        })?;
        if !was_member {
            return Err(HubError::NotJoined(room.to_owned()));
        }
        self.remove_member(who.id, room);
        Ok(())
    }

    pub(super) fn remove_member(&self, id: SessionId, room_name: &str) {
        let Some(room) = self.room(room_name) else {
            return;
        };
        let now_empty = {
            let mut state = room.lock();
            state.remove(id);
            self.note_news(&room, &mut state);
            state.empty_here()
        };
        if now_empty {
            self.close_if_empty(&room);
        }
    }

    /// Runs `f` on a room `who` is a member of.
    pub(super) fn with_member_room<T>(
        &self,
        who: &Identity,
        room: &str,
        f: impl FnOnce(&mut RoomState) -> T,
    ) -> Result<T, HubError> {
        let not_joined = || HubError::NotJoined(room.to_owned());
        let room_ref = self.room(room).ok_or_else(not_joined)?;
        let mut state = room_ref.lock();
        if !state.is_member(who.id) {
            return Err(not_joined());
        }
        let result = f(&mut state);
        self.note_news(&room_ref, &mut state);
        Ok(result)
    }

    /// Tells the room, with its next flush, that `who` is typing.
    pub fn typing(&self, who: &Identity, room: &str) -> Result<(), HubError> {
        self.with_member_room(who, room, |state| state.typing(who))?;
        if let Some(broker) = self.broker.get() {
            broker.typing(room, &who.nick);
        }
        Ok(())
    }

    /// A page of `room`'s members whose nickname starts with `prefix`, after
    /// `after`: at most `limit` (capped at `--member-page`).
    pub fn members(
        &self,
        who: &Identity,
        room: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ServerFrame, HubError> {
        let limit = limit.clamp(1, self.limits.member_page);
        self.with_member_room(who, room, |state| {
            let (members, more) = state.members_page(prefix, after, limit);
            ServerFrame::Members {
                room: room.to_owned(),
                members,
                more,
                count: state.member_count() as u64,
            }
        })
    }

    /// A page of messages older than `before`, read from the store (at
    /// most `--max-reply-bytes` of them).
    pub fn history(
        self: &Arc<Self>,
        who: &Identity,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<Reading<ServerFrame>, HubError> {
        let limit = limit.clamp(1, self.limits.history_page_max);
        self.with_member_room(who, room, |_| ())?;
        let (hub, owned) = (self.clone(), room.to_owned());
        Ok(Box::pin(async move {
            let name = owned.clone();
            let page = hub
                .read_store(move |store| store.messages(&name, before, limit))
                .await?;
            let page = Page {
                items: page.items.into_iter().map(RoomEvent::Message).collect(),
                more: page.more,
            };
            let page = fit(page, hub.limits.max_reply_bytes);
            let messages = page
                .items
                .into_iter()
                .filter_map(|event| match event {
                    RoomEvent::Message(message) => Some(message),
                    _ => None,
                })
                .collect();
            Ok(ServerFrame::History {
                room: owned,
                messages,
                more: page.more,
            })
        }))
    }
}

impl JoinInProgress {
    /// Loads the room and admits the member; a join answered from memory
    /// is then already finished.
    async fn enter(
        &mut self,
        person: &Person,
        outbox: &Outbox,
        wanted: Wanted,
    ) -> Result<(), HubError> {
        loop {
            let room = self.hub.load_room(&self.room_name).await?;
            match self.hub.admit(&room, &self.who, person, outbox, wanted)? {
                Some(JoinAnswer::Answered) => {
                    self.finished = true;
                    return Ok(());
                }
                Some(JoinAnswer::Read(pending)) => {
                    self.admitted = Some((room, pending));
                    return Ok(());
                }
                // The room closed between loading and locking it: load it again.
                None => continue,
            }
        }
    }

    /// Reads the admitted member's history and queues its `joined` frame.
    async fn read_history(self) -> Result<(), HubError> {
        let Some(join) = self.admitted.as_ref().map(|(_, join)| *join) else {
            return Ok(()); // answered from memory
        };
        let name = self.room_name.clone();
        let upto = join.upto;
        let page = self
            .hub
            .read_store(move |store| match join.wanted {
                Wanted::Newest(limit) => {
                    let page = store.messages(&name, upto + 1, limit)?;
                    Ok(Page {
                        items: page.items.into_iter().map(RoomEvent::Message).collect(),
                        more: page.more,
                    })
                }
                Wanted::After(after, limit) => store.events(&name, after, upto, limit),
            })
            .await?;
        self.finish(page);
        Ok(())
    }
}
