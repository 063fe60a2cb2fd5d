//! Sending a message: queue it for commit, and once committed relay it to
//! the room and acknowledge it to its author.
//!
//! [`Hub::send`] runs on the sender's task and only checks membership and
//! queues; [`Hub::deliver`] runs on the committer thread after the batch is
//! durable. Delivery happens in commit order, so each room's members see its
//! messages in `seq` order.

use parley_protocol::{ChatMessage, ErrorCode, ServerFrame};

use super::{Hub, Identity};
use crate::committer::{Receipt, Submission, SubmitError};
use crate::error::HubError;
use crate::outbox::Outbox;
use crate::room::encode;
use crate::store::{NewMessage, StoreError};

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
        self.in_member_room(who, room, |state| {
            if let Some(member) = state.members.get_mut(&who.id) {
                member.last_typing = None;
            }
            Ok(())
        })?;
        let submission = Submission {
            message: NewMessage {
                room: room.to_owned(),
                nick: who.nick.clone(),
                text,
                cid: Some(cid),
                ts: 0,
            },
            receipt: Receipt {
                author: who.id,
                reply: reply.clone(),
            },
        };
        self.committer.submit(submission).map_err(|e| match e {
            SubmitError::Busy => HubError::Busy,
            SubmitError::Closed => HubError::ShuttingDown,
        })
    }

    /// Relays and acknowledges a committed batch, or reports its failure.
    pub(crate) fn deliver(
        &self,
        receipts: Vec<Receipt>,
        messages: Vec<NewMessage>,
        result: Result<Vec<ChatMessage>, StoreError>,
    ) {
        let stored = match result {
            Ok(stored) => stored,
            Err(err) => {
                let text = format!("the message could not be stored, so it was not sent: {err}");
                for (receipt, message) in receipts.into_iter().zip(messages) {
                    receipt.reply.push(encode(&ServerFrame::Error {
                        code: ErrorCode::Internal,
                        message: text.clone(),
                        cid: message.cid,
                        room: Some(message.room),
                    }));
                }
                return;
            }
        };
        let cap = self.limits.outbox_capacity;
        for (receipt, message) in receipts.into_iter().zip(stored) {
            let ack = ServerFrame::Ack {
                cid: message.cid.clone().unwrap_or_default(),
                room: message.room.clone(),
                seq: message.seq,
                ts: message.ts,
            };
            if let Some(room) = self.room(&message.room) {
                let frame = encode(&ServerFrame::Message(message.clone()));
                let mut state = room.lock();
                let delivered = state.broadcast(Some(receipt.author), &frame, cap);
                state.record(message);
                crate::metrics::message_relayed(delivered);
            }
            receipt.reply.push(encode(&ack));
        }
    }
}
