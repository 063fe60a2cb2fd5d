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
use crate::store::{Applied, Change, NewEvent, Refusal, StoreError};

/// Who to tell about an event once its batch is committed (or failed).
#[derive(Debug)]
pub struct Receipt {
    /// The author's session: everyone but it hears of the event.
    pub author: SessionId,
    /// The author's connection, for the `ack` or the `error`.
    pub reply: Outbox,
    /// The author's id for the event.
    pub cid: String,
    /// The room, for an error.
    pub room: String,
}

/// The protocol code for a store refusal.
fn refusal_code(refusal: Refusal) -> ErrorCode {
    match refusal {
        Refusal::NoSuchMessage => ErrorCode::NoSuchMessage,
        Refusal::NotAuthor => ErrorCode::NotAuthor,
        Refusal::EditWindowClosed => ErrorCode::EditWindowClosed,
        Refusal::TooManyReactions => ErrorCode::TooManyReactions,
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
        let change = self.with_member_room(who, room, |state| {
            match &mut change {
                Change::Message { text, mentions, .. } => {
                    state.stopped_typing(who);
                    *mentions = state.mentions(text);
                }
                Change::Edit { text, mentions, .. } => *mentions = state.mentions(text),
                Change::Delete { .. } | Change::React { .. } => {}
            }
            change
        })?;
        let receipt = Receipt {
            author: who.id,
            reply: reply.clone(),
            cid: cid.clone(),
            room: room.to_owned(),
        };
        let event = NewEvent {
            room: room.to_owned(),
            nick: who.nick.clone(),
            cid: Some(cid),
            ts: 0,
            change,
        };
        self.committer.submit(receipt, event).map_err(|e| match e {
            SubmitError::Busy => HubError::Busy,
            SubmitError::Closed => HubError::ShuttingDown,
        })
    }

    /// Relays each committed event to its room and acknowledges it, or
    /// tells its author why the store refused it.
    fn deliver(&self, batch: Vec<(Receipt, Applied)>) {
        for (receipt, applied) in batch {
            let event = match applied {
                Ok(event) => event,
                Err(refusal) => {
                    receipt.reply.push(encode(&ServerFrame::Error {
                        code: refusal_code(refusal),
                        message: refusal.to_string(),
                        cid: Some(receipt.cid),
                        room: Some(receipt.room),
                    }));
                    continue;
                }
            };
            let ack = ServerFrame::Ack {
                cid: receipt.cid,
                room: event.room().to_owned(),
                seq: event.seq(),
                ts: match &event {
                    RoomEvent::Message(m) => m.ts,
                    RoomEvent::Edited(e) => e.ts,
                    RoomEvent::Deleted(d) => d.ts,
                    RoomEvent::Reacted(r) => r.ts,
                },
            };
            if let Some(room) = self.room(event.room()) {
                let frame = encode(&ServerFrame::from(event.clone()));
                let mut state = room.lock();
                let delivered = state.broadcast(Some(receipt.author), &frame);
                state.record(event);
                crate::metrics::message_relayed(delivered);
            }
            receipt.reply.push(encode(&ack));
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
        if let Some(hub) = self.0.upgrade() {
            hub.deliver(batch);
        }
    }

    fn failed(&self, batch: Vec<(Receipt, NewEvent)>, error: &StoreError) {
        let text = format!("it could not be stored, so it did not happen: {error}");
        for (receipt, event) in batch {
            receipt.reply.push(encode(&ServerFrame::Error {
                code: ErrorCode::Internal,
                message: text.clone(),
                cid: Some(receipt.cid),
                room: Some(event.room),
            }));
        }
    }
}
