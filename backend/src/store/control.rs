//! Who runs a room, and who may be in it: its owner and ops, its bans,
//! mutes and invites, its topic and modes, and for a direct message its two
//! parties.
//!
//! One value, [`RoomControl`], with pure rules: [`RoomControl::authorize`]
//! says whether an actor may take an action, [`RoomControl::apply`] takes
//! it, [`RoomControl::admits`] decides a join. The store applies each
//! moderation event to its copy inside the transaction that gives the event
//! its `seq` (so the rules hold in commit order, even when two moderators
//! race), and the hub applies the same event to the copy its room keeps
//! once the batch is committed: both copies see the same actions in the
//! same order and stay equal.
//!
//! Names are compared by their key ([`name_key`]), like everywhere else, so
//! a look-alike of a banned nickname is banned too.

use std::collections::BTreeMap;
use std::net::IpAddr;

use parley_protocol::{
    name_key, sort_key, ModAction, Moderation, Modes, RoomEvent, RoomSettings, TopicSet,
    MAX_BAN_MINUTES,
};
use serde::{Deserialize, Serialize};

use super::Refusal;

/// The most bans a room keeps; expired ones make room first.
pub const MAX_BANS: usize = 1000;

/// A ban: an account by its nickname's key, or a guest by its nickname's
/// key and the address it was on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// The banned nickname, as written.
    pub nick: String,
    /// Whether it is an account's (then the address does not matter).
    pub account: bool,
    /// For a guest, the address it was banned from, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<IpAddr>,
    /// When it ends, ms since the Unix epoch; none: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

impl Ban {
    fn active(&self, now: u64) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// A room's control state. Nicknames are kept as written, found by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomControl {
    /// The owner (an account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The ops (accounts), by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ops: BTreeMap<String, String>,
    /// The topic; empty: none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// Who may join.
    #[serde(default)]
    pub modes: Modes,
    /// Accounts invited to an invite-only room, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub invites: BTreeMap<String, String>,
    /// Bans, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bans: BTreeMap<String, Ban>,
    /// Muted members, by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mutes: BTreeMap<String, String>,
    /// A direct message's two parties (accounts); nobody else may join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<[String; 2]>,
}

/// Who acts, or who asks to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The nickname.
    pub nick: String,
    /// Signed in to an account (else a guest).
    pub account: bool,
    /// A server admin.
    pub admin: bool,
    /// The address the person connects from, if known.
    pub addr: Option<IpAddr>,
}

/// A moderation action, with what the hub knows of its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The actor (an account) becomes the owner of a room without one.
    Claim,
    /// Remove a present member.
    Kick {
        /// Who.
        target: Person,
        /// Why.
        reason: Option<String>,
    },
    /// Remove and keep out.
    Ban {
        /// Who.
        target: Person,
        /// For how long; none: until lifted.
        minutes: Option<u64>,
        /// Why.
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban {
        /// The banned nickname.
        nick: String,
    },
    /// Mute (`on`) or unmute.
    Mute {
        /// Who.
        target: Person,
        /// Muted or not.
        on: bool,
    },
    /// Make an account an op (`on`), or not.
    Op {
        /// Who.
        target: Person,
        /// Op or not.
        on: bool,
    },
    /// Set the topic.
    Topic {
        /// The validated topic; empty clears it.
        text: String,
    },
    /// Change modes; `None` keeps one as it is.
    Mode {
        /// Accounts only.
        accounts_only: Option<bool>,
        /// Invite only.
        invite_only: Option<bool>,
    },
    /// Let an account into an invite-only room.
    Invite {
        /// Who.
        target: Person,
    },
    /// Make this (new) room the direct message of the actor and `with`.
    OpenDm {
        /// The other account's nickname.
        with: String,
    },
}

impl Action {
    /// The protocol's name for what this action does.
    pub fn kind(&self) -> ModAction {
        match self {
            Action::Claim => ModAction::Owner,
            Action::Kick { .. } => ModAction::Kick,
            Action::Ban { .. } => ModAction::Ban,
            Action::Unban { .. } => ModAction::Unban,
            Action::Mute { on: true, .. } => ModAction::Mute,
            Action::Mute { on: false, .. } => ModAction::Unmute,
            Action::Op { on: true, .. } => ModAction::Op,
            Action::Op { on: false, .. } => ModAction::Deop,
            Action::Topic { .. } | Action::Mode { .. } => ModAction::Mode,
            Action::Invite { .. } => ModAction::Invite,
            Action::OpenDm { .. } => ModAction::OpenDm,
        }
    }

    /// The nickname acted on, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            Action::Kick { target, .. }
            | Action::Ban { target, .. }
            | Action::Mute { target, .. }
            | Action::Op { target, .. }
            | Action::Invite { target } => Some(&target.nick),
            Action::Unban { nick } | Action::OpenDm { with: nick } => Some(nick),
            Action::Claim | Action::Topic { .. } | Action::Mode { .. } => None,
        }
    }

    /// When a ban taken at `now` ends.
    pub fn until(&self, now: u64) -> Option<u64> {
        match self {
            Action::Ban {
                minutes: Some(m), ..
            } => Some(now.saturating_add(m.min(&MAX_BAN_MINUTES) * 60_000)),
            _ => None,
        }
    }
}

/// How much say someone has in a room, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// Anyone.
    Member,
    /// An op.
    Op,
    /// The owner.
    Owner,
    /// A server admin.
    Admin,
}

/// Why a join is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Banned (until then, if the ban ends).
    Banned(Option<u64>),
    /// Invite-only, and not invited.
    InviteOnly,
    /// Accounts only, and a guest.
    AccountsOnly,
    /// A direct message of others.
    NotAParty,
}

impl RoomControl {
    /// `who`'s rank here. Accounts only hold roles; in a direct message
    /// nobody outranks anybody, server admins included.
    pub fn rank(&self, who: &Person) -> Rank {
        if self.dm.is_some() {
            return Rank::Member;
        }
        if who.admin {
            return Rank::Admin;
        }
        if !who.account {
            return Rank::Member;
        }
        let key = name_key(&who.nick);
        if self.owner.as_deref().is_some_and(|o| name_key(o) == key) {
            Rank::Owner
        } else if self.ops.contains_key(&key) {
            Rank::Op
        } else {
            Rank::Member
        }
    }

    /// Whether `actor` may take `action` here now.
    pub fn authorize(&self, actor: &Person, action: &Action) -> Result<(), Refusal> {
        if self.dm.is_some() && !matches!(action, Action::Topic { .. }) {
            return Err(Refusal::DirectMessage);
        }
        let rank = self.rank(actor);
        let above = |target: &Person| {
            if rank > self.rank(target) {
                Ok(())
            } else {
                Err(Refusal::Outranked)
            }
        };
        match action {
            Action::Claim if self.owner.is_some() || !actor.account => Err(Refusal::OwnerTaken),
            Action::Claim => Ok(()),
            Action::OpenDm { .. } => Ok(()),
            // In a direct message, either party sets the topic.
            Action::Topic { .. } if self.dm.is_some() => Ok(()),
            _ if rank < Rank::Op => Err(Refusal::NotModerator),
            Action::Op { .. } if rank < Rank::Owner => Err(Refusal::NotOwner),
            Action::Op { target, .. } | Action::Invite { target } if !target.account => {
                Err(Refusal::NotAnAccount)
            }
            Action::Op { target, .. } => above(target),
            Action::Kick { target, .. } | Action::Mute { target, .. } => above(target),
            Action::Ban { target, .. } => {
                above(target)?;
                let key = name_key(&target.nick);
                if self.bans.len() >= MAX_BANS && !self.bans.contains_key(&key) {
                    return Err(Refusal::TooManyBans);
                }
                Ok(())
            }
            Action::Unban { .. }
            | Action::Topic { .. }
            | Action::Mode { .. }
            | Action::Invite { .. } => Ok(()),
        }
    }

    /// Takes `action` (authorized) by `actor` at `now`.
    pub fn apply(&mut self, actor: &Person, action: &Action, now: u64) {
        self.bans.retain(|_, ban| ban.active(now));
        match action {
            Action::Claim => self.owner = Some(actor.nick.clone()),
            Action::Kick { .. } => {}
            Action::Ban { target, .. } => {
                let ban = Ban {
                    nick: target.nick.clone(),
                    account: target.account,
                    addr: if target.account { None } else { target.addr },
                    until: action.until(now),
                };
                self.bans.insert(name_key(&target.nick), ban);
            }
            Action::Unban { nick } => {
                self.bans.remove(&name_key(nick));
            }
            Action::Mute { target, on } => set(&mut self.mutes, &target.nick, *on),
            Action::Op { target, on } => set(&mut self.ops, &target.nick, *on),
            Action::Topic { text } => self.topic = text.clone(),
            Action::Mode {
                accounts_only,
                invite_only,
            } => {
                self.modes.accounts_only = accounts_only.unwrap_or(self.modes.accounts_only);
                self.modes.invite_only = invite_only.unwrap_or(self.modes.invite_only);
            }
            Action::Invite { target } => set(&mut self.invites, &target.nick, true),
            Action::OpenDm { with } => self.dm = Some([actor.nick.clone(), with.clone()]),
        }
    }

    /// Whether `who` may join now, and if not why.
    pub fn admits(&self, who: &Person, now: u64) -> Result<(), Keep> {
        let key = name_key(&who.nick);
        if let Some(parties) = &self.dm {
            let party = who.account && parties.iter().any(|p| name_key(p) == key);
            return if party { Ok(()) } else { Err(Keep::NotAParty) };
        }
        let rank = self.rank(who);
        if rank >= Rank::Op {
            return Ok(());
        }
        let banned = self.bans.iter().find(|(banned_key, ban)| {
            ban.active(now)
                && (**banned_key == key && ban.account == who.account
                    || !who.account && ban.addr.is_some() && ban.addr == who.addr)
        });
        if let Some((_, ban)) = banned {
            return Err(Keep::Banned(ban.until));
        }
        if self.modes.invite_only && !(who.account && self.invites.contains_key(&key)) {
            return Err(Keep::InviteOnly);
        }
        if self.modes.accounts_only && !who.account {
            return Err(Keep::AccountsOnly);
        }
        Ok(())
    }

    /// Whether `nick` may not send here.
    pub fn is_muted(&self, nick: &str) -> bool {
        self.mutes.contains_key(&name_key(nick))
    }

    /// The other party of a direct message, seen by `nick`.
    pub fn dm_party(&self, nick: &str) -> Option<&str> {
        let key = name_key(nick);
        let parties = self.dm.as_ref()?;
        parties
            .iter()
            .find(|p| name_key(p) != key)
            .map(String::as_str)
    }

    /// The room event that records `action` by `nick` as `seq` (after
    /// [`RoomControl::apply`]: a `mode` tells the modes it left).
    pub fn event(&self, room: &str, seq: u64, nick: &str, action: &Action, ts: u64) -> RoomEvent {
        if let Action::Topic { text } = action {
            return RoomEvent::Topic(TopicSet {
                room: room.to_owned(),
                seq,
                nick: nick.to_owned(),
                text: text.clone(),
                ts,
            });
        }
        let reason = match action {
            Action::Kick { reason, .. } | Action::Ban { reason, .. } => reason.clone(),
            _ => None,
        };
        RoomEvent::Moderation(Moderation {
            room: room.to_owned(),
            seq,
            nick: nick.to_owned(),
            action: action.kind(),
            target: match action {
                Action::Claim => Some(nick.to_owned()),
                _ => action.target().map(str::to_owned),
            },
            reason,
            until: action.until(ts),
            modes: matches!(action, Action::Mode { .. }).then_some(self.modes),
            ts,
        })
    }

    /// What a `joined` frame tells `nick` of the room.
    pub fn settings(&self, nick: &str) -> RoomSettings {
        let mut ops: Vec<String> = self.ops.values().cloned().collect();
        ops.sort_by_key(|n| sort_key(n));
        RoomSettings {
            topic: (!self.topic.is_empty()).then(|| self.topic.clone()),
            owner: self.owner.clone(),
            ops,
            modes: self.modes,
            dm: self.dm_party(nick).map(str::to_owned),
            muted: self.is_muted(nick),
        }
    }
}

/// Puts `nick` in (`on`) or takes it out of a set kept by key.
fn set(map: &mut BTreeMap<String, String>, nick: &str, on: bool) {
    if on {
        map.insert(name_key(nick), nick.to_owned());
    } else {
        map.remove(&name_key(nick));
    }
}

#[cfg(test)]
mod tests;
