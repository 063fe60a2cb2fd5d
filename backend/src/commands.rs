//! What each client frame does: validation, rate limiting, the hub call,
//! and the reply.
//!
//! Kept apart from the socket loop in [`crate::session`] so the rules read as
//! one list. Every refusal becomes an `error` frame with a specific code; the
//! connection only ends when a client keeps sending garbage.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use parley_protocol::{
    parse_client_frame, validate_cid, validate_room, validate_text_with_limit, ClientFrame,
    ErrorCode, Limits as WireLimits, ServerFrame,
};
use tokio_tungstenite::tungstenite::Message;

use crate::error::HubError;
use crate::hub::{Hub, Identity};
use crate::metrics;
use crate::outbox::Outbox;
use crate::room::encode;
use crate::session::Ending;

/// Messages in one `history` page when the client does not say.
const DEFAULT_HISTORY_PAGE: usize = 50;

/// A refused frame, on its way to becoming an `error` frame.
#[derive(Debug)]
struct Refusal {
    /// The protocol code.
    code: ErrorCode,
    /// What to tell the user.
    message: String,
    /// The `cid` of the refused `send`.
    cid: Option<String>,
    /// The room concerned.
    room: Option<String>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            cid: None,
            room: None,
        }
    }

    fn about(mut self, room: Option<&str>, cid: Option<&str>) -> Self {
        self.room = room.map(str::to_owned);
        self.cid = cid.map(str::to_owned);
        self
    }
}

impl From<HubError> for Refusal {
    fn from(err: HubError) -> Self {
        Refusal::new(err.code(), err.to_string())
    }
}

impl From<parley_protocol::ValidationError> for Refusal {
    fn from(err: parley_protocol::ValidationError) -> Self {
        Refusal::new(err.code(), err.to_string())
    }
}

/// The per-connection protocol state.
pub struct Session {
    /// The shared hub.
    hub: Arc<Hub>,
    /// This connection's own queue, for replies.
    outbox: Outbox,
    /// Set by a successful `hello`.
    identity: Option<Identity>,
    /// The `send` rate limit.
    limiter: DefaultDirectRateLimiter,
    /// Bad frames since the last good one.
    errors_in_row: u32,
}

impl Session {
    /// A connection that has not said `hello` yet.
    pub fn new(hub: Arc<Hub>, outbox: Outbox) -> Self {
        let limits = &hub.limits;
        let per_sec = NonZeroU32::new(limits.rate_per_sec).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.rate_burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(per_sec).allow_burst(burst);
        let limiter = RateLimiter::direct_with_clock(quota, hub.rate_clock.clone());
        Session {
            hub,
            outbox,
            identity: None,
            limiter,
            errors_in_row: 0,
        }
    }

    /// Whether `hello` succeeded.
    pub fn is_identified(&self) -> bool {
        self.identity.is_some()
    }

    /// The session's identity, after `hello`.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The nickname, for logs.
    pub fn nick(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.nick.as_str())
    }

    /// Handles one WebSocket message; returns how the connection ends, if it does.
    pub async fn on_message(&mut self, message: Message) -> Option<Ending> {
        let result = match message {
            Message::Text(text) => match parse_client_frame(text.as_str()) {
                Ok(frame) => self.dispatch(frame).await,
                Err(err) => Err(Refusal::new(err.code(), err.to_string())),
            },
            Message::Binary(_) => Err(Refusal::new(
                ErrorCode::BinaryNotSupported,
                "binary frames are not supported; send JSON text frames",
            )),
            Message::Close(frame) => {
                return Some(Ending::ClientClosed(frame.map(|f| f.code.into())))
            }
            // Pings are answered by tungstenite; pongs only prove liveness.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return None,
        };
        match result {
            Ok(()) => {
                self.errors_in_row = 0;
                None
            }
            Err(refusal) => self.refuse(refusal),
        }
    }

    fn reply(&self, frame: &ServerFrame) {
        self.outbox.push(encode(frame));
    }

    fn refuse(&mut self, refusal: Refusal) -> Option<Ending> {
        metrics::protocol_error();
        let counts = refusal.code != ErrorCode::RateLimited;
        self.reply(&ServerFrame::Error {
            code: refusal.code,
            message: refusal.message,
            cid: refusal.cid,
            room: refusal.room,
        });
        if counts {
            self.errors_in_row += 1;
            if self.errors_in_row >= self.hub.limits.max_errors_in_row {
                return Some(Ending::Abusive);
            }
        }
        None
    }

    fn wire_limits(&self) -> WireLimits {
        let limits = &self.hub.limits;
        WireLimits {
            max_text_chars: limits.max_text_chars as u32,
            max_frame_bytes: limits.max_frame_bytes as u32,
            rate_burst: limits.rate_burst,
            rate_per_sec: limits.rate_per_sec,
            typing_ttl_ms: limits.typing_ttl.as_millis() as u64,
            resume_grace_ms: limits.resume_grace.as_millis() as u64,
        }
    }

    async fn dispatch(&mut self, frame: ClientFrame) -> Result<(), Refusal> {
        let who = match (&frame, &self.identity) {
            (ClientFrame::Ping { id }, _) => {
                self.reply(&ServerFrame::Pong { id: *id });
                return Ok(());
            }
            (ClientFrame::Hello { nick, resume }, None) => {
                return self.hello(nick, resume.as_deref())
            }
            (ClientFrame::Hello { .. }, Some(_)) => {
                return Err(Refusal::new(
                    ErrorCode::AlreadyIdentified,
                    "this connection already said hello",
                ))
            }
            (_, None) => {
                return Err(Refusal::new(
                    ErrorCode::HelloRequired,
                    "say hello with a nickname first",
                ))
            }
            (_, Some(who)) => who.clone(),
        };
        match frame {
            ClientFrame::Join { room, since } => {
                let room = validate_room(&room)?;
                // The hub queues `joined` itself, in step with live messages.
                // Boxed, like `history` below: these futures may wait on the
                // store and are large, and inline they would make every
                // connection's task bigger for the rare frames that need them.
                Box::pin(self.hub.join(&who, &room, since))
                    .await
                    .map_err(|e| Refusal::from(e).about(Some(&room), None))?;
            }
            ClientFrame::Leave { room } => {
                let room = validate_room(&room)?;
                self.hub
                    .leave(&who, &room)
                    .map_err(|e| Refusal::from(e).about(Some(&room), None))?;
                self.reply(&ServerFrame::Left { room });
            }
            ClientFrame::Send { room, text, cid } => self.send(&who, &room, &text, cid)?,
            ClientFrame::Typing { room } => {
                let room = validate_room(&room)?;
                self.hub
                    .typing(&who, &room)
                    .map_err(|e| Refusal::from(e).about(Some(&room), None))?;
            }
            ClientFrame::History {
                room,
                before,
                limit,
            } => {
                let room = validate_room(&room)?;
                let limit = limit.map_or(DEFAULT_HISTORY_PAGE, |l| l as usize);
                let page = Box::pin(self.hub.history(&who, &room, before, limit))
                    .await
                    .map_err(|e| Refusal::from(e).about(Some(&room), None))?;
                self.reply(&page);
            }
            ClientFrame::Hello { .. } | ClientFrame::Ping { .. } => unreachable!("handled above"),
        }
        Ok(())
    }

    fn hello(&mut self, nick: &str, resume: Option<&str>) -> Result<(), Refusal> {
        let welcome = self.hub.hello(nick, resume, self.outbox.clone())?;
        self.reply(&ServerFrame::Welcome {
            nick: welcome.identity.nick.clone(),
            session: format!("s_{}", welcome.identity.id),
            resume: welcome.token,
            resumed: welcome.resumed,
            rooms: welcome.rooms,
            limits: self.wire_limits(),
        });
        self.identity = Some(welcome.identity);
        Ok(())
    }

    fn send(&mut self, who: &Identity, room: &str, text: &str, cid: String) -> Result<(), Refusal> {
        validate_cid(&cid)?;
        let room = validate_room(room).map_err(|e| Refusal::from(e).about(None, Some(&cid)))?;
        let about = |e: Refusal| e.about(Some(&room), Some(&cid));
        let text = validate_text_with_limit(text, self.hub.limits.max_text_chars)
            .map_err(|e| about(e.into()))?;
        if self.limiter.check().is_err() {
            metrics::rate_limited();
            let limits = &self.hub.limits;
            return Err(about(Refusal::new(
                ErrorCode::RateLimited,
                format!(
                    "too many messages: at most {} at once, then {} per second",
                    limits.rate_burst, limits.rate_per_sec
                ),
            )));
        }
        // The ack (or an error) follows once the message is committed.
        self.hub
            .send(who, &room, text, cid.clone(), &self.outbox)
            .map_err(|e| about(e.into()))
    }
}
