//! Sessions in a cluster: one nickname per person across every node, and a
//! session any node can take back.
//!
//! Behind a load balancer a reconnect lands on any node, so the session
//! of a dropped connection (or of a node that died) must be resumable
//! everywhere. With a broker, `hello` ([`Hub::hello_anywhere`]) first asks
//! this node (its own session, taken back as on one node), then the
//! others: a resume token this node does not know is looked up in the
//! broker, whose record (nickname, account, rooms) the session is rebuilt
//! from here, with a new token; the nickname is claimed cluster-wide for
//! it (the claim of the session it replaces may be taken over; any other
//! live one refuses, as a look-alike here would); and the node that held
//! it is told to end it without a word. The client then joins its rooms
//! with `since`, as after any resume, and misses nothing.

use std::net::IpAddr;
use std::sync::Arc;

use parley_protocol::{look_alike_keys, name_key, validate_nick};

use super::sessions::token;
use super::{Claim, Hub, Welcome};
use crate::accounts::{AccountsError, NickHold};
use crate::broker::{LinkError, NickClaim, SessionRecord};
use crate::error::HubError;
use crate::outbox::Outbox;

impl Hub {
    /// `hello` in a cluster (see the module's doc); on one node, the same
    /// as [`Hub::hello`].
    pub async fn hello_anywhere(
        self: &Arc<Self>,
        claim: Claim,
        resume: Option<String>,
        outbox: Outbox,
        addr: Option<IpAddr>,
    ) -> Result<Welcome, HubError> {
        let Some(broker) = self.broker.get().cloned() else {
            return self.hello(claim, resume.as_deref(), outbox, addr);
        };
        let here = resume.as_deref().and_then(|t| self.holding(t)).is_some()
            || matches!(&claim, Claim::Account(p) if self.is_connected(&p.nick).is_some());
        if here {
            return self.hello(claim, resume.as_deref(), outbox, addr);
        }
        let (mut nick, account) = match claim {
            Claim::Guest(nick) => (validate_nick(&nick)?, None),
            Claim::Account(profile) => (profile.nick.clone(), Some(profile)),
        };
        // A session on another node to take back: a guest's token takes
        // back its session (and nickname); an account's only its own.
        let mut taken: Option<(String, SessionRecord)> = None;
        if let Some(old) = resume {
            let record = broker.session(&old).await.map_err(link_error(&nick))?;
            if let Some(record) = record {
                let fits = match &account {
                    Some(p) => record.account && name_key(&record.nick) == name_key(&p.nick),
                    None => !record.account,
                };
                if fits {
                    nick = record.nick.clone();
                    taken = Some((old, record));
                }
            }
        }
        let looks = look_alike_keys(&nick);
        if let Some(refusal) = self.registry().clash(&nick, &looks) {
            return Err(refusal);
        }
        if account.is_none() && self.accounts.reserved_by(&looks).is_some() {
            return Err(HubError::NickReserved(nick));
        }
        let new_token = token("r_");
        let rooms = taken
            .as_ref()
            .map(|(_, r)| r.rooms.clone())
            .unwrap_or_default();
        let previous = broker
            .claim(NickClaim {
                // The nickname's own key first, as the claim wants.
                keys: looks.clone(),
                token: new_token.clone(),
                record: SessionRecord {
                    nick: nick.clone(),
                    account: account.is_some(),
                    rooms: rooms.clone(),
                },
                replaces: taken.as_ref().map(|(t, _)| t.clone()),
                force: account.is_some(),
            })
            .await
            .map_err(link_error(&nick))?;
        // An account signing in here takes its session over from wherever
        // it is, rooms and all.
        // (The claim recorded the session; only rooms taken over this way
        // are news to the record.)
        let mut rooms = rooms;
        let mut old = taken.map(|(t, _)| t);
        let mut rooms_taken_over = false;
        if account.is_some() && old.is_none() {
            if let Some(previous) = previous {
                if let Ok(Some(record)) = broker.session(&previous).await {
                    rooms = record.rooms;
                    rooms_taken_over = true;
                }
                old = Some(previous);
            }
        }
        if let Some(old) = &old {
            broker.moved(old);
        }
        let mut registry = self.registry();
        if let Some(refusal) = registry.clash(&nick, &looks) {
            drop(registry);
            broker.release(&new_token);
            return Err(refusal);
        }
        let mut welcome =
            self.register(&mut registry, nick, account, new_token, rooms, outbox, addr);
        welcome.resumed = old.is_some();
        if rooms_taken_over {
            self.tell_record(&registry.by_id[&welcome.identity.id]);
        }
        Ok(welcome)
    }

    /// The account `nick` was registered here: the other nodes are told,
    /// so they reserve its nickname too.
    pub fn account_registered(&self, nick: &str) {
        if let Some(broker) = self.broker.get() {
            broker.reserved(nick, true);
        }
    }

    /// The account `nick` was deleted here: its nickname is free on every
    /// node.
    pub fn account_deleted(&self, nick: &str) {
        self.lift(nick);
        if let Some(broker) = self.broker.get() {
            broker.reserved(nick, false);
        }
    }

    /// Node `node` took back the session of `token`: its connection here
    /// (if any) is told it was replaced, and the session ends here without
    /// a word to its rooms: its members become members on `node`.
    pub(super) fn moved_away(&self, token: &str, node: &str) {
        let session = {
            let mut registry = self.registry();
            let Some(id) = registry.by_token.get(token).copied() else {
                return;
            };
            registry.remove(id)
        };
        let Some((id, session)) = session else {
            return;
        };
        if let Some(outbox) = &session.outbox {
            outbox.replace();
        }
        if let Some(broker) = self.broker.get() {
            broker.release(token);
        }
        for name in &session.rooms {
            let Some(room) = self.room(name) else {
                continue;
            };
            let empty = {
                let mut state = room.lock();
                state.moved_elsewhere(id, node);
                state.empty_here()
            };
            if empty {
                self.close_if_empty(&room);
            }
        }
    }
}

/// A nickname an account is being registered under: refused if a session
/// on any node holds it or a look-alike; in a cluster, reserved at once
/// against guests on every node. A link that is down says `busy`.
impl NickHold for Hub {
    async fn hold(&self, nick: &str, looks: &[String]) -> Result<(), AccountsError> {
        let taken = || AccountsError::NickTaken(nick.to_owned());
        if self.nick_in_use(looks) {
            return Err(taken());
        }
        let Some(broker) = self.broker.get() else {
            return Ok(());
        };
        broker
            .reserve(nick, looks.to_vec())
            .await
            .map_err(|e| match e {
                LinkError::Down(_) => AccountsError::Busy,
                _ => taken(),
            })
    }

    fn lift(&self, nick: &str) {
        if let Some(broker) = self.broker.get() {
            broker.unreserve(look_alike_keys(nick));
        }
    }
}

/// The refusal for a claim the link refused.
fn link_error(nick: &str) -> impl Fn(LinkError) -> HubError + '_ {
    move |error| match error {
        LinkError::Held { exact: true, .. } => HubError::NickTaken(nick.to_owned()),
        LinkError::Held { exact: false, .. } => HubError::NickConfusable {
            nick: nick.to_owned(),
            like: None,
        },
        LinkError::Reserved { .. } => HubError::NickReserved(nick.to_owned()),
        LinkError::Down(_) => HubError::LinkDown,
    }
}
