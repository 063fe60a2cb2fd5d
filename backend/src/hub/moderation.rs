//! Rooms people run: moderation actions, the moderation log, the owner a
//! room gets, and direct messages.
//!
//! The hub only gathers what the rules need (who acts, who is acted on:
//! account or guest, admin or not, their address) and queues the action as
//! a room event. Whether the actor may do it is decided by the store, in
//! the transaction that gives the event its `seq`
//! ([`RoomControl::authorize`]); once committed, the room applies it too
//! ([`RoomState::moderated`]) and removes a kicked or banned member.
//!
//! [`RoomControl::authorize`]: crate::store::RoomControl::authorize
//! [`RoomState::moderated`]: crate::room::RoomState::moderated

use std::sync::Arc;

use parley_protocol::moderation::{DM_ID_CHARS, DM_PREFIX};
use parley_protocol::{is_dm_room, name_key, validate_nick, ServerFrame};
use rand::Rng;

use super::messages::Reply;
use super::rooms::{Joining, Reading};
use super::Hub;
use crate::error::HubError;
use crate::ids::Identity;
use crate::outbox::Outbox;
use crate::room::RoomState;
use crate::store::{Action, Change, Keep, Person, Rank};

/// What a moderator asks for, naming people by nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Remove a present member.
    Kick {
        /// Who.
        nick: String,
        /// Why.
        reason: Option<String>,
    },
    /// Remove and keep out.
    Ban {
        /// Who.
        nick: String,
        /// For how long; none: until lifted.
        minutes: Option<u64>,
        /// Why.
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban {
        /// Who.
        nick: String,
    },
    /// Mute or unmute.
    Mute {
        /// Who.
        nick: String,
        /// Muted or not.
        on: bool,
    },
    /// Make an op, or not.
    Op {
        /// Who.
        nick: String,
        /// Op or not.
        on: bool,
    },
    /// Set the topic (validated; empty clears it).
    Topic {
        /// The topic.
        text: String,
    },
    /// Change modes.
    Mode {
        /// Accounts only.
        accounts_only: Option<bool>,
        /// Invite only.
        invite_only: Option<bool>,
    },
    /// Invite an account.
    Invite {
        /// Who.
        nick: String,
    },
}

/// A new direct message's random id: [`DM_ID_CHARS`] lower-case letters
/// and digits (82 bits).
fn dm_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..DM_ID_CHARS)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// What a join refusal means for the joiner.
fn kept_out(keep: Keep, room: &str) -> HubError {
    let room = room.to_owned();
    match keep {
        Keep::Banned(until) => HubError::Banned { room, until },
        Keep::InviteOnly => HubError::InviteOnly(room),
        Keep::AccountsOnly => HubError::AccountsOnly(room),
        Keep::NotAParty => HubError::Forbidden(format!(
            "{room:?} is a direct message between two other people"
        )),
    }
}

impl Hub {
    /// Whether `person` may join the room whose state is `state` now.
    pub(super) fn may_join(&self, state: &RoomState, person: &Person) -> Result<(), HubError> {
        let control = state.control();
        if is_dm_room(state.name()) && control.dm.is_none() {
            return Err(HubError::Forbidden(format!(
                "there is no direct message {:?}; open one with open_dm",
                state.name()
            )));
        }
        control
            .admits(person, (self.clock)())
            .map_err(|keep| kept_out(keep, state.name()))
    }

    /// Makes `person` the owner of `room` if it is an account and the room
    /// has none (the store decides if two accounts race).
    pub(super) fn claim_if_unowned(&self, who: &Identity, room: &str, person: Person) {
        let action = Action::Claim;
        let change = Change::Moderate {
            actor: person,
            action,
        };
        // A full queue only means the next account to join claims it.
        let _ = self.queue(who, room, None, change, Reply::Quiet);
    }

    /// Who `nick` is, for a moderation action: the session holding it, or
    /// an account of that name away, or else a guest away.
    fn target(&self, nick: &str) -> Result<Person, HubError> {
        if let Some((_, person)) = self.person_named(nick) {
            return Ok(person);
        }
        let nick = validate_nick(nick)?;
        let account = self.accounts.reserved_by(&[name_key(&nick)]);
        Ok(Person {
            account: account.is_some(),
            nick: account.unwrap_or(nick),
            admin: false,
            addr: None,
        })
    }

    /// Checks and queues a moderation action by `who` in `room`; everyone
    /// there (`who` too) hears of it once committed, or `reply` gets the
    /// `error`.
    pub fn moderate(
        &self,
        who: &Identity,
        room: &str,
        ask: Ask,
        reply: &Outbox,
    ) -> Result<(), HubError> {
        let actor = self.person(who)?;
        let action = match ask {
            Ask::Kick { nick, reason } => Action::Kick {
                target: self.target(&nick)?,
                reason,
            },
            Ask::Ban {
                nick,
                minutes,
                reason,
            } => Action::Ban {
                target: self.target(&nick)?,
                minutes,
                reason,
            },
            Ask::Unban { nick } => Action::Unban {
                nick: validate_nick(&nick)?,
            },
            Ask::Mute { nick, on } => Action::Mute {
                target: self.target(&nick)?,
                on,
            },
            Ask::Op { nick, on } => Action::Op {
                target: self.target(&nick)?,
                on,
            },
            Ask::Topic { text } => Action::Topic { text },
            Ask::Mode {
                accounts_only,
                invite_only,
            } => Action::Mode {
                accounts_only,
                invite_only,
            },
            Ask::Invite { nick } => Action::Invite {
                target: self.target(&nick)?,
            },
        };
        self.with_member_room(who, room, |state| match &action {
            Action::Kick { target, .. } if state.members_named(&target.nick).is_empty() => Err(
                HubError::NoSuchNick(format!("{:?} is not in {room:?}", target.nick)),
            ),
            _ => Ok(()),
        })??;
        let change = Change::Moderate { actor, action };
        self.queue(who, room, None, change, Reply::Told(reply.clone()))
    }

    /// The newest moderation events of `room` before `before` (its owner,
    /// ops and server admins only).
    pub fn modlog(
        self: &Arc<Self>,
        who: &Identity,
        room: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Reading<ServerFrame>, HubError> {
        let person = self.person(who)?;
        let rank = self.with_member_room(who, room, |state| state.control().rank(&person))?;
        if rank < Rank::Op {
            return Err(HubError::Forbidden(
                "only the room's owner, its ops and server admins may read its moderation log"
                    .to_owned(),
            ));
        }
        let (hub, owned) = (self.clone(), room.to_owned());
        let limit = limit.clamp(1, self.limits.history_page_max);
        Ok(Box::pin(async move {
            let name = owned.clone();
            let before = before.unwrap_or(u64::MAX);
            let page = hub
                .read_store(move |store| store.modlog(&name, before, limit))
                .await?;
            Ok(ServerFrame::Modlog {
                room: owned,
                entries: page.items,
                more: page.more,
            })
        }))
    }

    /// Opens (or reopens) the direct message between `who` and the account
    /// `nick`: `who` joins it, and so does the other account if it is
    /// connected. Both must be accounts.
    pub fn open_dm(self: &Arc<Self>, who: &Identity, nick: &str) -> Result<Reading<()>, HubError> {
        let me = self.person(who)?;
        if !me.account {
            return Err(HubError::Forbidden(
                "sign in to an account to send direct messages".to_owned(),
            ));
        }
        let other = self.target(nick)?;
        if !other.account {
            return Err(HubError::NoSuchNick(format!(
                "{:?} has no account; direct messages are between accounts",
                other.nick
            )));
        }
        if name_key(&other.nick) == name_key(&me.nick) {
            return Err(HubError::Forbidden(
                "a direct message needs somebody else".to_owned(),
            ));
        }
        let (hub, who) = (self.clone(), who.clone());
        Ok(Box::pin(async move {
            let room = hub.dm_room(&who, me, &other.nick).await?;
            if let Joining::Reading(reading) = hub.join(&who, &room, None)? {
                reading.await?;
            }
            let theirs = hub
                .person_named(&other.nick)
                .and_then(|(id, _)| hub.attached(id));
            if let Some(theirs) = theirs {
                // Their join is theirs: a failure is not the opener's.
                if let Ok(Joining::Reading(reading)) = hub.join(&theirs, &room, None) {
                    let _ = reading.await;
                }
            }
            Ok(())
        }))
    }

    /// The direct message room of `me` and `other`, opened now if it was
    /// not yet. One opening at a time, so two people opening theirs at once
    /// get one room.
    async fn dm_room(&self, who: &Identity, me: Person, other: &str) -> Result<String, HubError> {
        let _one_at_a_time = self.dm_opening.lock().await;
        let (a, b) = (name_key(&me.nick), name_key(other));
        if let Some(room) = self
            .read_store(move |store| store.dm_between(&a, &b))
            .await?
        {
            return Ok(room);
        }
        let room = format!("{DM_PREFIX}{}", dm_id());
        debug_assert!(is_dm_room(&room));
        let (done, opened) = tokio::sync::oneshot::channel();
        let change = Change::Moderate {
            actor: me,
            action: Action::OpenDm {
                with: other.to_owned(),
            },
        };
        self.queue(who, &room, None, change, Reply::Wait(done))?;
        opened.await.map_err(|_| HubError::ShuttingDown)??;
        Ok(room)
    }

    /// The direct messages of the account `nick` (for its `welcome`).
    pub async fn dms_of(&self, nick: &str) -> Result<Vec<String>, HubError> {
        let key = name_key(nick);
        self.read_store(move |store| store.dms_of(&key)).await
    }
}
