//! Room events: a message, an edit, a deletion or a reaction is queued for
//! commit, and once committed relayed to the room and acknowledged to its
//! author (or refused, if the store's rules say no).
//!
//! [`Hub::submit`] runs on the author's task and only checks membership,
//! reads the mentions off the text and queues; [`Delivery`], the
//! committer's [`CommitHandler`], runs on the committer thread after the
//! batch is durable. Delivery happens in commit order, so each room's
//! members see its events in `seq` order.

use std::sync::{Arc, Weak};

use parley_protocol::{ErrorCode, RoomEvent, ServerFrame};

use super::Hub;
use crate::committer::{CommitHandler, SubmitError};
use crate::error::HubError;
use crate::ids::{Identity, SessionId};
use crate::outbox::{encode, Outbox};
use crate::room::{Room, RoomState};
use crate::store::{Action, Applied, Change, NewEvent, Person, Refusal, RoomControl, StoreError};

/// Where a committed event comes from.
#[derive(Debug)]
pub(super) enum Origin {
    /// Committed on this node: its author hears of it through the receipt.
    Here(Receipt),
    /// Committed on another node (or read back from the store), with the
    /// room's control as the store has it when it is a moderation event
    /// or a topic.
    Elsewhere(Option<RoomControl>),
}

impl Origin {
    /// `event` was already delivered: only this node's author is still
    /// due its `ack`.
    pub(super) fn settle(self, event: &RoomEvent) {
        if let Origin::Here(receipt) = self {
            receipt.settle(event.seq(), event.ts());
        }
    }
}

/// Whether `event` changes its room's control (a moderation event or a
/// topic), which a node that did not commit it reads from the store.
pub(super) fn changes_control(event: &RoomEvent) -> bool {
    matches!(event, RoomEvent::Moderation(_) | RoomEvent::Topic(_))
}

/// Who to tell about an event once its batch is committed (or failed).
#[derive(Debug)]
pub struct Receipt {
    /// The author's session.
    pub author: SessionId,
    /// How the author hears of it.
    pub reply: Reply,
    /// The room, for an error.
    pub room: String,
    /// A moderation action: the hub applies it to its room once committed.
    pub moderation: Option<Box<(Person, Action)>>,
}

/// How the author of an event hears of it.
#[derive(Debug)]
pub enum Reply {
    /// A message or a change: everyone else hears of it, the author gets
    /// an `ack` with its `cid` (or the `error`).
    Ack {
        /// The author's connection.
        outbox: Outbox,
        /// The author's id for the event.
        cid: String,
    },
    /// A moderation action: everyone hears of it, the author too; a
    /// refusal is an `error` to this connection.
    Told(Outbox),
    /// Told to everyone; a refusal is told to nobody (a room's owner
    /// claimed on a join, when another account was quicker).
    Quiet,
    /// Everyone hears of it; the outcome goes to a request that waits for
    /// it (opening a direct message).
    Wait(tokio::sync::oneshot::Sender<Result<(), HubError>>),
}

impl Reply {
    /// Tells the author that the event did not happen.
    fn refused(self, code: ErrorCode, message: String, room: String) {
        let error = |cid| {
            encode(&ServerFrame::Error {
                code,
                message: message.clone(),
                cid,
                room: Some(room.clone()),
            })
        };
        match self {
            Reply::Ack { outbox, cid } => {
                outbox.push(error(Some(cid)));
            }
            Reply::Told(outbox) => {
                outbox.push(error(None));
            }
            Reply::Quiet => {}
            Reply::Wait(waiting) => {
                let _ = waiting.send(Err(HubError::Forbidden(message.clone())));
            }
        }
    }
}

/// The protocol code for a store refusal.
fn refusal_code(refusal: Refusal) -> ErrorCode {
    match refusal {
        Refusal::NoSuchMessage => ErrorCode::NoSuchMessage,
        Refusal::NotAuthor => ErrorCode::NotAuthor,
        Refusal::EditWindowClosed => ErrorCode::EditWindowClosed,
        Refusal::TooManyReactions => ErrorCode::TooManyReactions,
        Refusal::NotAnAccount => ErrorCode::NoSuchNick,
        Refusal::NotModerator
        | Refusal::Outranked
        | Refusal::NotOwner
        | Refusal::OwnerTaken
        | Refusal::DirectMessage
        | Refusal::TooManyBans => ErrorCode::Forbidden,
    }
}

impl Hub {
    /// Queues `change` from `who` in `room`; `reply` gets the `ack` (or an
    /// `error`) with `cid` once the store has decided. The `mentions` of a
    /// message or an edit are read here, from the room's present members
    /// (whatever the caller put there is replaced).
    pub fn submit(
        &self,
        who: &Identity,
        room: &str,
        mut change: Change,
        cid: String,
        reply: &Outbox,
    ) -> Result<(), HubError> {
        if !self.link_is_up() {
            return Err(HubError::LinkDown);
        }
        let change = self.with_member_room(who, room, |state| {
            let muted = state.control().is_muted(&who.nick);
            match &mut change {
                Change::Delete { .. } | Change::Moderate { .. } => {}
                _ if muted => return Err(HubError::Muted(room.to_owned())),
                Change::Message { text, mentions, .. } => {
                    state.stopped_typing(who);
                    *mentions = state.mentions(text);
                }
                Change::Edit { text, mentions, .. } => *mentions = state.mentions(text),
                Change::React { .. } => {}
            }
            Ok(change)
        })??;
        let reply = Reply::Ack {
            outbox: reply.clone(),
            cid: cid.clone(),
        };
        self.queue(who, room, Some(cid), change, reply)
    }

    /// Queues an event by `who` for commit.
    pub(super) fn queue(
        &self,
        who: &Identity,
        room: &str,
        cid: Option<String>,
        change: Change,
        reply: Reply,
    ) -> Result<(), HubError> {
        let moderation = match &change {
            Change::Moderate { actor, action } => Some(Box::new((actor.clone(), action.clone()))),
            _ => None,
        };
        let receipt = Receipt {
            author: who.id,
            reply,
            room: room.to_owned(),
            moderation,
        };
        let event = NewEvent {
            room: room.to_owned(),
            nick: who.nick.clone(),
            cid,
            ts: 0,
            change,
        };
        self.committer.submit(receipt, event).map_err(|e| match e {
            SubmitError::Busy => HubError::Busy,
            SubmitError::Closed => HubError::ShuttingDown,
        })
    }

    /// Hands each committed event to the other nodes (if any) and to its
    /// room here, in `seq` order ([`Hub::sequence`]); or tells its author
    /// why the store refused it.
    fn deliver(&self, batch: Vec<(Receipt, Applied)>) {
        for (receipt, applied) in batch {
            match applied {
                Ok(event) => {
                    if let Some(broker) = self.broker.get() {
                        broker.publish(&event);
                    }
                    self.sequence(event, Origin::Here(receipt));
                }
                Err(refusal) => {
                    let (code, message) = (refusal_code(refusal), refusal.to_string());
                    receipt.reply.refused(code, message, receipt.room);
                }
            }
        }
    }

    /// Relays `event`, the next in its room, to the room's members (all
    /// but its author) and records it; acknowledges it to its author.
    /// Returns the members a moderation event removed. Called with the
    /// room locked.
    pub(super) fn deliver_now(
        &self,
        room: &Arc<Room>,
        state: &mut RoomState,
        event: RoomEvent,
        origin: Origin,
    ) -> Vec<SessionId> {
        let (seq, ts) = (event.seq(), event.ts());
        let (receipt, control) = match origin {
            Origin::Here(receipt) => (Some(receipt), None),
            Origin::Elsewhere(control) => (None, control),
        };
        let except = match &receipt {
            Some(r) => matches!(r.reply, Reply::Ack { .. }).then_some(r.author),
            // Its author is here only if it was committed here and read
            // back before its own delivery came (the ack follows then):
            // no echo. (Moderation is told to its author too.)
            None if changes_control(&event) => None,
            None => state.own_member(event.nick()),
        };
        let frame = encode(&ServerFrame::from(event.clone()));
        let delivered = state.broadcast_event(except, seq, &frame);
        let mut removed = Vec::new();
        if let Some(moderation) = receipt.as_ref().and_then(|r| r.moderation.as_ref()) {
            let (actor, action) = moderation.as_ref();
            removed = state.moderated(actor, action, ts);
            self.note_news(room, state);
        } else if let Some(control) = control {
            removed = match &event {
                RoomEvent::Moderation(moderation) => state.moderated_elsewhere(moderation, control),
                _ => {
                    state.set_control(control);
                    Vec::new()
                }
            };
            self.note_news(room, state);
        }
        state.record(event);
        crate::metrics::message_relayed(delivered);
        if let Some(receipt) = receipt {
            receipt.settle(seq, ts);
        }
        removed
    }
}

impl Receipt {
    /// Tells the author that its event is committed (and delivered) as
    /// `seq` at `ts`.
    pub(super) fn settle(self, seq: u64, ts: u64) {
        match self.reply {
            Reply::Ack { outbox, cid } => {
                outbox.push(encode(&ServerFrame::Ack {
                    cid,
                    room: self.room,
                    seq,
                    ts,
                }));
            }
            Reply::Wait(waiting) => {
                let _ = waiting.send(Ok(()));
            }
            Reply::Told(_) | Reply::Quiet => {}
        }
    }
}

/// The committer's way back into the hub.
pub(super) struct Delivery(Weak<Hub>);

impl Delivery {
    /// Delivers into `hub` for as long as it exists.
    pub(super) fn to(hub: &Arc<Hub>) -> Self {
        Delivery(Arc::downgrade(hub))
    }
}

impl CommitHandler<Receipt> for Delivery {
    fn committed(&self, batch: Vec<(Receipt, Applied)>) {
        crate::metrics::database_up(true);
        if let Some(hub) = self.0.upgrade() {
            hub.deliver(batch);
        }
    }

    fn failed(&self, batch: Vec<(Receipt, NewEvent)>, error: &StoreError) {
        // A database out of reach for now (PostgreSQL restarting) is
        // `busy`: the client may send it again shortly.
        crate::metrics::database_up(false);
        let (code, text) = if error.is_unavailable() {
            (
                ErrorCode::Busy,
                "the database cannot be reached just now, so it did not happen; send it again shortly".to_owned(),
            )
        } else {
            (
                ErrorCode::Internal,
                format!("it could not be stored, so it did not happen: {error}"),
            )
        };
        for (receipt, event) in batch {
            receipt.reply.refused(code, text.clone(), event.room);
        }
    }
}
