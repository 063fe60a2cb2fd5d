//! What each client frame does: validation, rate limiting, the hub call,
//! and the reply.
//!
//! [`Client`] is one connection's protocol state (its identity after
//! `hello`, its frame budget and rates, its count of bad frames in a row), kept apart
//! from the socket loop in [`crate::connection`] so the rules read as one
//! list. Every refusal becomes an `error` frame with a specific code; the
//! connection only ends when a client keeps sending garbage.
//!
//! The frames that change a room (`send`, `edit`, `delete`, `react`) and
//! `search` are in [`changes`].
//!
//! Nothing here waits on the database. A frame that needs a read (a `join`
//! whose history is not in memory, a `history` page) yields a [`Pending`]
//! request that the connection task polls beside its socket, and whose
//! [`Outcome`] it hands back to [`Client::settle`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parley_protocol::{
    parse_client_frame, validate_room, ClientFrame, ErrorCode, Limits as WireLimits, ServerFrame,
};
use tokio_tungstenite::tungstenite::Message;

use crate::budget::{Budget, Kind};
use crate::config::Rate;
use crate::ending::Ending;
use crate::error::HubError;
use crate::hub::{Claim, Hub, Joining, Welcome};
use crate::ids::{Caller, Identity};
use crate::metrics;
use crate::outbox::{encode, Outbox};

mod changes;
mod moderation;

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

    fn in_room(room: &str) -> impl Fn(HubError) -> Refusal + '_ {
        move |e| Refusal::from(e).about(Some(room), None)
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

/// What the connection does after a frame.
pub enum Step {
    /// Go on reading.
    Next,
    /// Apply no further frame until this request is answered; hand its
    /// outcome to [`Client::settle`].
    Wait(Pending),
    /// Close the connection.
    End(Ending),
}

/// A request waiting on the store. Its reply (or `error`) is queued in the
/// connection's outbox when it completes; dropping it abandons the request.
pub struct Pending(Pin<Box<dyn Future<Output = Result<Option<Identity>, Refusal>> + Send>>);

/// How a [`Pending`] request ended (a sign-in, with the identity it
/// gave); for [`Client::settle`].
pub struct Outcome(Result<Option<Identity>, Refusal>);

impl Future for Pending {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        self.0.as_mut().poll(cx).map(Outcome)
    }
}

impl Pending {
    fn new(request: impl Future<Output = Result<(), Refusal>> + Send + 'static) -> Self {
        Pending(Box::pin(async move { request.await.map(|()| None) }))
    }

    /// A `hello` that waits for the store: its identity, once known.
    fn identifying(
        hello: impl Future<Output = Result<Identity, Refusal>> + Send + 'static,
    ) -> Self {
        Pending(Box::pin(async move { hello.await.map(Some) }))
    }
}

/// One connection's protocol state.
pub struct Client {
    /// The shared hub.
    hub: Arc<Hub>,
    /// This connection's own queue, for replies.
    outbox: Outbox,
    /// Set by a successful `hello`.
    identity: Option<Identity>,
    /// The frame budget and the rates of each kind of request.
    budget: Budget,
    /// Bad frames since the last good one (`ping` and `typing` are neither).
    errors_in_row: u32,
    /// What the upgrade said of the client: its session cookie, its
    /// address.
    caller: Caller,
}

impl Client {
    /// A connection that has not said `hello` yet, from `caller`.
    pub fn new(hub: Arc<Hub>, outbox: Outbox, caller: Caller) -> Self {
        Client {
            hub,
            outbox,
            identity: None,
            budget: Budget::new(),
            errors_in_row: 0,
            caller,
        }
    }

    /// The session's identity, after `hello`.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The nickname, for logs.
    pub fn nick(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.nick.as_str())
    }

    /// Applies one WebSocket message. Every message but a Close counts
    /// against the connection's frame budget.
    pub fn on_message(&mut self, message: Message) -> Step {
        if !matches!(message, Message::Close(_)) && !self.budget.frame(self.hub.limits()) {
            metrics::over_budget();
            return Step::End(Ending::OverBudget);
        }
        let (result, shows_intent) = match message {
            Message::Text(text) => match parse_client_frame(text.as_str()) {
                Ok(frame) => {
                    // `ping` and `typing` are cheap to slip between bad
                    // frames: they do not reset the count of bad ones.
                    let intent =
                        !matches!(frame, ClientFrame::Ping { .. } | ClientFrame::Typing { .. });
                    (self.dispatch(frame), intent)
                }
                Err(err) => (Err(Refusal::new(err.code(), err.to_string())), false),
            },
            Message::Binary(_) => (
                Err(Refusal::new(
                    ErrorCode::BinaryNotSupported,
                    "binary frames are not supported; send JSON text frames",
                )),
                false,
            ),
            Message::Close(frame) => {
                return Step::End(Ending::ClientClosed(frame.map(|f| f.code.into())))
            }
            // Pings are answered by tungstenite; pongs only prove liveness.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Step::Next,
        };
        match result {
            Ok(Step::Wait(pending)) => Step::Wait(pending),
            Ok(step) => {
                if shows_intent {
                    self.errors_in_row = 0;
                }
                step
            }
            Err(refusal) => match self.refuse(refusal) {
                Some(ending) => Step::End(ending),
                None => Step::Next,
            },
        }
    }

    /// Takes a token of `kind`, or says the client is going too fast.
    fn pace(&mut self, kind: Kind, what: &str, rate: Rate) -> Result<(), Refusal> {
        self.budget.take(kind, self.hub.limits()).map_err(|wait| {
            metrics::rate_limited();
            Refusal::new(
                ErrorCode::RateLimited,
                format!(
                    "too many {what}: at most {} per {}; try again in {} ms",
                    rate.count,
                    humantime::format_duration(rate.per),
                    wait.as_millis().max(1)
                ),
            )
        })
    }

    /// Takes the outcome of a request: a success resets the count of bad
    /// frames, a refusal is answered (and may end the connection).
    pub fn settle(&mut self, outcome: Outcome) -> Option<Ending> {
        match outcome.0 {
            Ok(identity) => {
                if identity.is_some() {
                    self.identity = identity;
                }
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
        // Neither a rate nor the server being busy is the client's fault.
        let counts = !matches!(refusal.code, ErrorCode::RateLimited | ErrorCode::Busy);
        self.reply(&ServerFrame::Error {
            code: refusal.code,
            message: refusal.message,
            cid: refusal.cid,
            room: refusal.room,
        });
        if counts {
            self.errors_in_row += 1;
            if self.errors_in_row >= self.hub.limits().max_errors_in_row {
                return Some(Ending::Abusive);
            }
        }
        None
    }

    fn wire_limits(&self) -> WireLimits {
        let limits = self.hub.limits();
        WireLimits {
            max_text_chars: limits.max_text_chars as u32,
            max_frame_bytes: limits.max_frame_bytes as u32,
            rate_burst: limits.rate_burst,
            rate_per_sec: limits.rate_per_sec,
            typing_ttl_ms: limits.typing_ttl.as_millis() as u64,
            resume_grace_ms: limits.resume_grace.as_millis() as u64,
            edit_window_ms: limits.edit_window.as_millis() as u64,
            max_reactions: limits.max_reactions as u32,
        }
    }

    fn dispatch(&mut self, frame: ClientFrame) -> Result<Step, Refusal> {
        match (frame, self.identity.clone()) {
            (ClientFrame::Ping { id }, _) => {
                self.reply(&ServerFrame::Pong { id });
                Ok(Step::Next)
            }
            (
                ClientFrame::Hello {
                    nick,
                    resume,
                    token,
                },
                None,
            ) => {
                // No nickname and no token: the browser app, signed in with
                // its cookie.
                let token = token.or_else(|| {
                    nick.trim()
                        .is_empty()
                        .then(|| self.caller.cookie.clone())
                        .flatten()
                });
                match token {
                    None => Ok(Step::Wait(self.hello_anywhere(Claim::Guest(nick), resume))),
                    Some(token) => Ok(Step::Wait(self.sign_in(token, resume))),
                }
            }
            (ClientFrame::Hello { .. }, Some(_)) => Err(Refusal::new(
                ErrorCode::AlreadyIdentified,
                "this connection already said hello",
            )),
            (_, None) => Err(Refusal::new(
                ErrorCode::HelloRequired,
                "say hello with a nickname first",
            )),
            (ClientFrame::Join { room, since }, Some(who)) => {
                let room = validate_room(&room)?;
                let limits = self.hub.limits().clone();
                self.pace(Kind::Join, "joins and leaves", limits.join_rate)
                    .map_err(|r| r.about(Some(&room), None))?;
                if since.is_some() {
                    self.pace(Kind::CatchUp, "catch-ups", limits.catch_up_rate)
                        .map_err(|r| r.about(Some(&room), None))?;
                }
                // The hub queues `joined` itself, in step with live messages.
                match self
                    .hub
                    .join(&who, &room, since)
                    .map_err(Refusal::in_room(&room))?
                {
                    Joining::Answered => Ok(Step::Next),
                    Joining::Reading(reading) => Ok(Step::Wait(Pending::new(async move {
                        reading.await.map_err(Refusal::in_room(&room))
                    }))),
                }
            }
            (ClientFrame::Leave { room }, Some(who)) => {
                let room = validate_room(&room)?;
                let rate = self.hub.limits().join_rate;
                self.pace(Kind::Join, "joins and leaves", rate)
                    .map_err(|r| r.about(Some(&room), None))?;
                self.hub
                    .leave(&who, &room)
                    .map_err(Refusal::in_room(&room))?;
                self.reply(&ServerFrame::Left { room });
                Ok(Step::Next)
            }
            (
                frame @ (ClientFrame::Send { .. }
                | ClientFrame::Edit { .. }
                | ClientFrame::Delete { .. }
                | ClientFrame::React { .. }),
                Some(who),
            ) => {
                self.change(&who, frame)?;
                Ok(Step::Next)
            }
            (
                ClientFrame::Search {
                    query,
                    room,
                    nick,
                    before,
                    limit,
                    id,
                },
                Some(who),
            ) => {
                let reading = self.search(&who, &query, room, nick, before, limit, id)?;
                let outbox = self.outbox.clone();
                Ok(Step::Wait(Pending::new(async move {
                    let results = reading.await.map_err(Refusal::from)?;
                    outbox.push(encode(&results));
                    Ok(())
                })))
            }
            (
                frame @ (ClientFrame::Kick { .. }
                | ClientFrame::Ban { .. }
                | ClientFrame::Unban { .. }
                | ClientFrame::Mute { .. }
                | ClientFrame::Op { .. }
                | ClientFrame::Topic { .. }
                | ClientFrame::Mode { .. }
                | ClientFrame::Invite { .. }),
                Some(who),
            ) => {
                self.moderate(&who, frame)?;
                Ok(Step::Next)
            }
            (
                ClientFrame::Modlog {
                    room,
                    before,
                    limit,
                },
                Some(who),
            ) => self.modlog(&who, &room, before, limit),
            (ClientFrame::OpenDm { nick }, Some(who)) => self.open_dm(&who, &nick),
            (ClientFrame::Typing { room }, Some(who)) => {
                let room = validate_room(&room)?;
                // Over its rate a `typing` is dropped: it only ever decorates.
                if self.budget.take(Kind::Typing, self.hub.limits()).is_err() {
                    metrics::rate_limited();
                    return Ok(Step::Next);
                }
                self.hub
                    .typing(&who, &room)
                    .map_err(Refusal::in_room(&room))?;
                Ok(Step::Next)
            }
            (
                ClientFrame::Members {
                    room,
                    prefix,
                    after,
                    limit,
                },
                Some(who),
            ) => {
                let room = validate_room(&room)?;
                let rate = self.hub.limits().members_rate;
                self.pace(Kind::Members, "member pages", rate)
                    .map_err(|r| r.about(Some(&room), None))?;
                let limit = limit.map_or(usize::MAX, |l| l as usize);
                let page = self
                    .hub
                    .members(
                        &who,
                        &room,
                        prefix.as_deref().unwrap_or(""),
                        after.as_deref(),
                        limit,
                    )
                    .map_err(Refusal::in_room(&room))?;
                self.reply(&page);
                Ok(Step::Next)
            }
            (
                ClientFrame::History {
                    room,
                    before,
                    limit,
                },
                Some(who),
            ) => {
                let room = validate_room(&room)?;
                let rate = self.hub.limits().history_rate;
                self.pace(Kind::History, "history pages", rate)
                    .map_err(|r| r.about(Some(&room), None))?;
                let limit = limit.map_or(DEFAULT_HISTORY_PAGE, |l| l as usize);
                let reading = self
                    .hub
                    .history(&who, &room, before, limit)
                    .map_err(Refusal::in_room(&room))?;
                let outbox = self.outbox.clone();
                Ok(Step::Wait(Pending::new(async move {
                    let page = reading.await.map_err(Refusal::in_room(&room))?;
                    outbox.push(encode(&page));
                    Ok(())
                })))
            }
        }
    }

    /// Checks a sign-in token beside the socket (a store read), then says
    /// hello as its account.
    fn sign_in(&self, token: String, resume: Option<String>) -> Pending {
        let (hub, outbox, limits) = (self.hub.clone(), self.outbox.clone(), self.wire_limits());
        let addr = self.caller.addr;
        Pending::identifying(async move {
            let profile = hub
                .accounts()
                .authenticate(&token)
                .await
                .map_err(|e| Refusal::new(ErrorCode::Internal, e.to_string()))?
                .ok_or_else(|| {
                    Refusal::new(
                        ErrorCode::InvalidToken,
                        "this sign-in has expired or was ended; sign in again",
                    )
                })?;
            let dms = hub.dms_of(&profile.nick).await?;
            let welcome = hub
                .hello_anywhere(Claim::Account(profile), resume, outbox.clone(), addr)
                .await?;
            outbox.push(encode(&welcome_frame(&welcome, limits, dms)));
            Ok(welcome.identity)
        })
    }

    /// Says hello beside the socket: in a cluster the nickname is claimed
    /// over the link (on one node the future is ready at once).
    fn hello_anywhere(&self, claim: Claim, resume: Option<String>) -> Pending {
        let (hub, outbox, limits) = (self.hub.clone(), self.outbox.clone(), self.wire_limits());
        let addr = self.caller.addr;
        Pending::identifying(async move {
            let welcome = hub
                .hello_anywhere(claim, resume, outbox.clone(), addr)
                .await?;
            outbox.push(encode(&welcome_frame(&welcome, limits, Vec::new())));
            Ok(welcome.identity)
        })
    }
}

/// The `welcome` frame for a successful `hello`.
fn welcome_frame(welcome: &Welcome, limits: WireLimits, dms: Vec<String>) -> ServerFrame {
    ServerFrame::Welcome {
        nick: welcome.identity.nick.clone(),
        session: format!("s_{}", welcome.identity.id),
        resume: welcome.token.clone(),
        resumed: welcome.resumed,
        rooms: welcome.rooms.clone(),
        limits,
        account: welcome.account,
        dms,
        admin: welcome.admin,
    }
}
