//! The frames that run a room — `kick`, `ban`, `unban`, `mute`, `op`,
//! `topic`, `mode`, `invite` — and `modlog` and `open_dm`: their
//! validation, their rates, and the hub call. A moderation action is
//! answered by the room event itself (everyone in the room hears of it,
//! the moderator too) or by an `error`.

use parley_protocol::{
    validate_reason, validate_room, validate_topic, ClientFrame, ErrorCode, MAX_BAN_MINUTES,
};

use super::{Client, Pending, Refusal, Step};
use crate::budget::Kind;
use crate::hub::Ask;
use crate::ids::Identity;
use crate::outbox::encode;

/// Entries in one `modlog` page when the client does not say.
const DEFAULT_MODLOG_PAGE: usize = 50;

impl Client {
    /// Applies a moderation frame.
    pub(super) fn moderate(&mut self, who: &Identity, frame: ClientFrame) -> Result<(), Refusal> {
        let (room, ask) = match frame {
            ClientFrame::Kick { room, nick, reason } => (
                room,
                validate_reason(reason.as_deref()).map(|reason| Ask::Kick { nick, reason }),
            ),
            ClientFrame::Ban {
                room,
                nick,
                minutes,
                reason,
            } => (
                room,
                validate_reason(reason.as_deref()).map(|reason| Ask::Ban {
                    nick,
                    minutes,
                    reason,
                }),
            ),
            ClientFrame::Unban { room, nick } => (room, Ok(Ask::Unban { nick })),
            ClientFrame::Mute { room, nick, on } => (room, Ok(Ask::Mute { nick, on })),
            ClientFrame::Op { room, nick, on } => (room, Ok(Ask::Op { nick, on })),
            ClientFrame::Topic { room, text } => {
                (room, validate_topic(&text).map(|text| Ask::Topic { text }))
            }
            ClientFrame::Mode {
                room,
                accounts_only,
                invite_only,
            } => (
                room,
                Ok(Ask::Mode {
                    accounts_only,
                    invite_only,
                }),
            ),
            ClientFrame::Invite { room, nick } => (room, Ok(Ask::Invite { nick })),
            _ => unreachable!("only moderation comes here"),
        };
        let room = validate_room(&room)?;
        let about = |e: Refusal| e.about(Some(&room), None);
        let ask = ask.map_err(|e| about(e.into()))?;
        if let Ask::Ban {
            minutes: Some(m), ..
        } = ask
        {
            if m == 0 || m > MAX_BAN_MINUTES {
                return Err(about(Refusal::new(
                    ErrorCode::InvalidFrame,
                    format!("a ban lasts 1 to {MAX_BAN_MINUTES} minutes, or leave minutes out"),
                )));
            }
        }
        // Moderation is rare; it shares the rate of sends and changes.
        let rate = self.hub.limits().rate_burst;
        self.budget
            .take(Kind::Send, self.hub.limits())
            .map_err(|_| {
                about(Refusal::new(
                    ErrorCode::RateLimited,
                    format!("too many actions: at most {rate} at once"),
                ))
            })?;
        self.hub
            .moderate(who, &room, ask, &self.outbox)
            .map_err(Refusal::in_room(&room))
    }

    /// Reads a page of a room's moderation log beside the socket.
    pub(super) fn modlog(
        &mut self,
        who: &Identity,
        room: &str,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Step, Refusal> {
        let room = validate_room(room)?;
        let rate = self.hub.limits().history_rate;
        self.pace(Kind::History, "history pages", rate)
            .map_err(|r| r.about(Some(&room), None))?;
        let limit = limit.map_or(DEFAULT_MODLOG_PAGE, |l| l as usize);
        let reading = self
            .hub
            .modlog(who, &room, before, limit)
            .map_err(Refusal::in_room(&room))?;
        let outbox = self.outbox.clone();
        Ok(Step::Wait(Pending::new(async move {
            let page = reading.await.map_err(Refusal::in_room(&room))?;
            outbox.push(encode(&page));
            Ok(())
        })))
    }

    /// Opens a direct message beside the socket: the `joined` frame (or the
    /// `error`) is the answer.
    pub(super) fn open_dm(&mut self, who: &Identity, nick: &str) -> Result<Step, Refusal> {
        let rate = self.hub.limits().join_rate;
        self.pace(Kind::Join, "joins and leaves", rate)?;
        let opening = self.hub.open_dm(who, nick)?;
        Ok(Step::Wait(Pending::new(async move {
            opening.await.map_err(Refusal::from)
        })))
    }
}
