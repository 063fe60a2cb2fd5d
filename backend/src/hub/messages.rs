//! Sending a message: queue it for commit, and once committed relay it to
//! the room and acknowledge it to its author.
//!
//! [`Hub::send`] runs on the sender's task and only checks membership and
//! queues; [`Delivery`], the committer's [`CommitHandler`], runs on the
//! committer thread after the batch is durable. Delivery happens in commit
//! order, so each room's members see its messages in `seq` order.

use std::sync::{Arc, Weak};

use parley_protocol::{ChatMessage, ErrorCode, ServerFrame};

use super::Hub;
use crate::committer::{CommitHandler, SubmitError};
use crate::error::HubError;
use crate::ids::{Identity, SessionId};
use crate::outbox::{encode, Outbox};
use crate::store::{NewMessage, StoreError};

/// Who to tell about a message once its batch is committed (or failed).
#[derive(Debug)]
pub struct Receipt {
    /// The author's session: everyone but it gets the message.
    pub author: SessionId,
    /// The author's connection, for the `ack` or the `error`.
    pub reply: Outbox,
}

impl Hub {
    /// Queues a message from `who` for `room`; `reply` gets the `ack` (or an
    /// `error`) once the store has it.
    pub fn send(
        &self,
        who: &Identity,
        room: &str,
        text: String,
        cid: String,
        reply: &Outbox,
    ) -> Result<(), HubError> {
        self.with_member_room(who, room, |state| state.stopped_typing(who))?;
        let receipt = Receipt {
            author: who.id,
            reply: reply.clone(),
        };
        let message = NewMessage {
            room: room.to_owned(),
            nick: who.nick.clone(),
            text,
            cid: Some(cid),
            ts: 0,
        };
        self.committer
            .submit(receipt, message)
            .map_err(|e| match e {
                SubmitError::Busy => HubError::Busy,
                SubmitError::Closed => HubError::ShuttingDown,
            })
    }

    /// Relays each committed message to its room and acknowledges it.
    fn deliver(&self, batch: Vec<(Receipt, ChatMessage)>) {
        for (receipt, message) in batch {
            let ack = ServerFrame::Ack {
                cid: message.cid.clone().unwrap_or_default(),
                room: message.room.clone(),
                seq: message.seq,
                ts: message.ts,
            };
            if let Some(room) = self.room(&message.room) {
                let frame = encode(&ServerFrame::Message(message.clone()));
                let mut state = room.lock();
                let delivered = state.broadcast(Some(receipt.author), &frame);
                state.record(message);
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
    fn committed(&self, batch: Vec<(Receipt, ChatMessage)>) {
        if let Some(hub) = self.0.upgrade() {
            hub.deliver(batch);
        }
    }

    fn failed(&self, batch: Vec<(Receipt, NewMessage)>, error: &StoreError) {
        let text = format!("the message could not be stored, so it was not sent: {error}");
        for (receipt, message) in batch {
            receipt.reply.push(encode(&ServerFrame::Error {
                code: ErrorCode::Internal,
                message: text.clone(),
                cid: message.cid,
                room: Some(message.room),
            }));
        }
    }
}
