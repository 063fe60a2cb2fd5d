//! Sessions: the resumable identity behind a connection.
//!
//! A session is a nickname, the rooms it is in and a secret resume token.
//! `hello` starts one (or, with a valid token, takes one back); the
//! connection that carries it may drop and be replaced by another without
//! anybody noticing. Each new connection of a session is a new
//! *attachment*, numbered, so the connection a resume replaced can neither
//! end nor detach the session it lost.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parley_protocol::{look_alike_keys, name_key, validate_nick};
use rand::distr::{Alphanumeric, SampleString};

use super::Hub;
use crate::accounts::Profile;
use crate::broker::SessionRecord;
use crate::error::HubError;
use crate::ids::{Identity, SessionId};
use crate::outbox::Outbox;
use crate::store::Person;

/// Who a `hello` says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// A guest, with the nickname it asks for.
    Guest(String),
    /// The owner of an account (its token was checked).
    Account(Profile),
}

/// The result of a successful `hello`.
#[derive(Debug)]
pub struct Welcome {
    /// The connection's identity from now on.
    pub identity: Identity,
    /// The resume token.
    pub token: String,
    /// Whether an existing session was taken back.
    pub resumed: bool,
    /// The rooms the session is in.
    pub rooms: Vec<String>,
    /// Whether the session is signed in to an account.
    pub account: bool,
    /// Whether that account is a server admin.
    pub admin: bool,
}

/// One session in the registry.
#[derive(Debug)]
pub(super) struct Session {
    /// The nickname, as the user typed it (trimmed).
    pub(super) nick: String,
    /// The account it is signed in with; `None` for a guest.
    pub(super) account: Option<Profile>,
    /// The secret that lets a new connection take this session back.
    token: String,
    /// The rooms the session is a member of.
    pub(super) rooms: BTreeSet<String>,
    /// Where its frames go; `None` while detached.
    pub(super) outbox: Option<Outbox>,
    /// Bumped each time a connection attaches.
    attachment: u64,
    /// The client's address (of its latest connection), if known: a
    /// guest's ban holds it.
    pub(super) addr: Option<IpAddr>,
}

impl Session {
    /// The session as the other nodes keep it.
    pub(super) fn record(&self) -> SessionRecord {
        SessionRecord {
            nick: self.nick.clone(),
            account: self.account.is_some(),
            rooms: self.rooms.iter().cloned().collect(),
        }
    }

    /// The session as moderation sees it.
    pub(super) fn person(&self) -> Person {
        Person {
            nick: self.nick.clone(),
            account: self.account.is_some(),
            admin: self.account.as_ref().is_some_and(|a| a.admin),
            addr: self.addr,
        }
    }
}

/// All sessions, findable by id, nickname key and resume token.
#[derive(Debug, Default)]
pub(super) struct Registry {
    pub(super) by_id: HashMap<SessionId, Session>,
    /// By [`name_key`]: the nickname itself.
    by_nick: HashMap<String, SessionId>,
    /// By each of [`look_alike_keys`]: what a new nickname must not match.
    by_look: HashMap<String, SessionId>,
    pub(super) by_token: HashMap<String, SessionId>,
}

/// A fresh random token with the given prefix.
pub(super) fn token(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 24)
    )
}

impl Registry {
    /// Takes session `id` out of every index.
    pub(super) fn remove(&mut self, id: SessionId) -> Option<(SessionId, Session)> {
        let session = self.by_id.remove(&id)?;
        self.by_nick.remove(&name_key(&session.nick));
        for look in look_alike_keys(&session.nick) {
            self.by_look.remove(&look);
        }
        self.by_token.remove(&session.token);
        Some((id, session))
    }

    /// Attaches `outbox` to the session `id` (the connection it had, if
    /// any, is told it was replaced).
    fn take_back(&mut self, id: SessionId, outbox: &Outbox, addr: Option<IpAddr>) -> Welcome {
        let session = self.by_id.get_mut(&id).expect("indexes are in step");
        session.addr = addr.or(session.addr);
        if let Some(old) = session.outbox.replace(outbox.clone()) {
            old.replace();
        }
        session.attachment += 1;
        Welcome {
            identity: Identity {
                id,
                nick: session.nick.clone(),
                attachment: session.attachment,
            },
            token: session.token.clone(),
            resumed: true,
            rooms: session.rooms.iter().cloned().collect(),
            account: session.account.is_some(),
            admin: session.account.as_ref().is_some_and(|a| a.admin),
        }
    }

    /// Whether a session holds `nick`, or one that looks like it, and if
    /// so the refusal: naming the look-alike only if it is public anyway.
    pub(super) fn clash(&self, nick: &str, looks: &[String]) -> Option<HubError> {
        if self.by_nick.contains_key(&name_key(nick)) {
            return Some(HubError::NickTaken(nick.to_owned()));
        }
        let holder = looks.iter().find_map(|k| self.by_look.get(k))?;
        let holder = &self.by_id[holder];
        let like = (!holder.rooms.is_empty()).then(|| holder.nick.clone());
        Some(HubError::NickConfusable {
            nick: nick.to_owned(),
            like,
        })
    }
}

impl Hub {
    /// Starts a session for `claim`, or takes back the session of `resume`
    /// (or, for an account, the session it already has).
    pub fn hello(
        &self,
        claim: Claim,
        resume: Option<&str>,
        outbox: Outbox,
        addr: Option<IpAddr>,
    ) -> Result<Welcome, HubError> {
        let mut registry = self.registry();
        let resumed = resume.and_then(|t| registry.by_token.get(t).copied());
        if let Some(id) = resumed {
            // A guest's token takes back its session; an account's token
            // cannot be used to slip into somebody else's.
            let session = &registry.by_id[&id];
            let same_account = match (&claim, &session.account) {
                (Claim::Account(asked), Some(held)) => {
                    name_key(&asked.nick) == name_key(&held.nick)
                }
                (Claim::Account(_), None) => false,
                (Claim::Guest(_), _) => true,
            };
            if same_account {
                let welcome = registry.take_back(id, &outbox, addr);
                drop(registry);
                self.point_outboxes(id, &welcome.rooms, Some(&outbox));
                return Ok(welcome);
            }
        }
        let (nick, account) = match claim {
            Claim::Guest(nick) => (validate_nick(&nick)?, None),
            Claim::Account(profile) => (profile.nick.clone(), Some(profile)),
        };
        let looks = look_alike_keys(&nick);
        if account.is_some() {
            // Signing in again (another tab, another device) takes the
            // account's session over, rooms and all.
            let held = registry.by_nick.get(&name_key(&nick)).copied();
            if let Some(id) = held.filter(|id| registry.by_id[id].account.is_some()) {
                let welcome = registry.take_back(id, &outbox, addr);
                drop(registry);
                self.point_outboxes(id, &welcome.rooms, Some(&outbox));
                return Ok(welcome);
            }
        }
        if let Some(refusal) = registry.clash(&nick, &looks) {
            return Err(refusal);
        }
        if account.is_none() && self.accounts.reserved_by(&looks).is_some() {
            return Err(HubError::NickReserved(nick));
        }
        Ok(self.register(
            &mut registry,
            nick,
            account,
            token("r_"),
            Vec::new(),
            outbox,
            addr,
        ))
    }

    /// Adds a session (its nickname checked and free) with `token` and
    /// `rooms` (taken back from another node, or none).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn register(
        &self,
        registry: &mut Registry,
        nick: String,
        account: Option<Profile>,
        token: String,
        rooms: Vec<String>,
        outbox: Outbox,
        addr: Option<IpAddr>,
    ) -> Welcome {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        for look in look_alike_keys(&nick) {
            registry.by_look.insert(look, id);
        }
        registry.by_nick.insert(name_key(&nick), id);
        registry.by_token.insert(token.clone(), id);
        let signed_in = account.is_some();
        let admin = account.as_ref().is_some_and(|a| a.admin);
        registry.by_id.insert(
            id,
            Session {
                nick: nick.clone(),
                account,
                token: token.clone(),
                rooms: rooms.iter().cloned().collect(),
                outbox: Some(outbox),
                attachment: 1,
                addr,
            },
        );
        Welcome {
            identity: Identity {
                id,
                nick,
                attachment: 1,
            },
            token,
            resumed: false,
            rooms,
            account: signed_in,
            admin,
        }
    }

    /// The session whose resume token is `token`, if this node holds it.
    pub(super) fn holding(&self, token: &str) -> Option<SessionId> {
        self.registry().by_token.get(token).copied()
    }

    /// Whether a session holds one of `looks` now (an account may not be
    /// registered under it).
    pub fn nick_in_use(&self, looks: &[String]) -> bool {
        let registry = self.registry();
        looks.iter().any(|k| registry.by_look.contains_key(k))
    }

    /// Points the session's membership in each of `rooms` at `outbox`.
    fn point_outboxes(&self, id: SessionId, rooms: &[String], outbox: Option<&Outbox>) {
        for name in rooms {
            if let Some(room) = self.room(name) {
                room.lock().point_outbox(id, outbox.cloned());
            }
        }
    }

    /// Checks that `who` is still the session's current connection, then
    /// applies `f` to its record.
    pub(super) fn with_session<T>(
        &self,
        who: &Identity,
        f: impl FnOnce(&mut Session) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let mut registry = self.registry();
        match registry.by_id.get_mut(&who.id) {
            Some(session) if session.attachment == who.attachment => f(session),
            _ => Err(HubError::SessionGone),
        }
    }

    /// Ends `who`'s session now: frees its nickname and leaves its rooms.
    pub fn end_session(&self, who: &Identity) {
        self.end(who.id, Some(who.attachment), false);
    }

    /// Ends a session if it is still at `attachment` (any attachment if
    /// `None`) and, when `only_detached`, still has no connection.
    pub(super) fn end(&self, id: SessionId, attachment: Option<u64>, only_detached: bool) {
        let session = {
            let mut registry = self.registry();
            let Some(current) = registry.by_id.get(&id) else {
                return;
            };
            if attachment.is_some_and(|a| a != current.attachment)
                || (only_detached && current.outbox.is_some())
            {
                return;
            }
            registry.remove(id).expect("just looked up").1
        };
        if let Some(broker) = self.broker.get() {
            broker.release(&session.token);
        }
        for room in &session.rooms {
            self.remove_member(id, room);
        }
    }

    /// The connection of `who` went away without a goodbye: keep the session
    /// for the resume grace period, then end it unless a connection resumed it.
    pub fn detach(self: &Arc<Self>, who: &Identity) {
        let rooms = self.with_session(who, |session| {
            session.outbox = None;
            Ok(session.rooms.iter().cloned().collect::<Vec<_>>())
        });
        let Ok(rooms) = rooms else {
            return;
        };
        self.point_outboxes(who.id, &rooms, None);
        self.reaper.schedule(who.id, who.attachment);
    }

    /// Whether the session holding `nick` has a connection right now
    /// (`None` if no session holds it).
    pub fn is_connected(&self, nick: &str) -> Option<bool> {
        let registry = self.registry();
        let id = registry.by_nick.get(&name_key(nick))?;
        Some(registry.by_id[id].outbox.is_some())
    }

    /// `who` as moderation sees them.
    pub(super) fn person(&self, who: &Identity) -> Result<Person, HubError> {
        self.with_session(who, |session| Ok(session.person()))
    }

    /// The session holding `nick` (by key), as moderation sees it, and its
    /// id.
    pub(super) fn person_named(&self, nick: &str) -> Option<(SessionId, Person)> {
        let registry = self.registry();
        let id = *registry.by_nick.get(&name_key(nick))?;
        Some((id, registry.by_id[&id].person()))
    }

    /// The current identity of session `id`, if it has a connection.
    pub(super) fn attached(&self, id: SessionId) -> Option<Identity> {
        let registry = self.registry();
        let session = registry.by_id.get(&id)?;
        session.outbox.as_ref()?;
        Some(Identity {
            id,
            nick: session.nick.clone(),
            attachment: session.attachment,
        })
    }

    /// Takes `room` out of the records of the sessions `ids` (a moderator
    /// removed them).
    pub(super) fn forget_room(&self, ids: &[SessionId], room: &str) {
        let mut registry = self.registry();
        for id in ids {
            if let Some(session) = registry.by_id.get_mut(id) {
                session.rooms.remove(room);
                self.tell_record(session);
            }
        }
    }

    /// Tells the other nodes what `session` is now (its rooms changed),
    /// so any of them can take it back.
    pub(super) fn tell_record(&self, session: &Session) {
        if let Some(broker) = self.broker.get() {
            broker.update(&session.token, &session.record());
        }
    }

    /// How many sessions exist (attached or not).
    pub fn session_count(&self) -> usize {
        self.registry().by_id.len()
    }
}
