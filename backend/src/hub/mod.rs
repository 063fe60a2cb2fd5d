//! The shared set of sessions and rooms: who is here, under what nickname,
//! in which rooms, and how a dropped connection gets its session back.
//!
//! This is the Rust counterpart of the original design's thread-safe set of
//! endpoint sessions. A *session* (nickname, rooms, resume token) outlives
//! the *connection* that carries it: when a connection drops without saying
//! goodbye, the session is detached for a grace period instead of ended, so a
//! client that comes back with its resume token keeps its nickname and rooms
//! and nobody sees it leave and rejoin.
//!
//! Locking: the session registry and the room map each have a lock, and each
//! room has its own (see [`crate::room`]). No lock is held across an `.await`,
//! and the registry lock is never taken while a room lock is held.

mod messages;
mod rooms;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use parley_protocol::{nick_key, validate_nick};
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;

use crate::committer::Committer;
use crate::config::Limits;
use crate::error::HubError;
use crate::outbox::Outbox;
use crate::room::Room;
use crate::store::MessageStore;

/// Identifies a session for as long as it lives.
pub type SessionId = u64;

/// What a connection holds after a successful `hello`: which session it
/// carries, and which attachment of that session it is (so a connection that
/// was replaced by a resume cannot end or detach the session it lost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The session.
    pub id: SessionId,
    /// The session's nickname.
    pub nick: String,
    /// Which attachment of the session this connection is.
    pub attachment: u64,
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
}

/// A row of `GET /api/rooms`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room's name.
    pub room: String,
    /// How many members it has.
    pub members: usize,
    /// The newest message's `seq`.
    pub last_seq: u64,
}

/// One session in the registry.
#[derive(Debug)]
struct SessionRecord {
    /// The nickname, as the user typed it (trimmed).
    nick: String,
    /// The secret that lets a new connection take this session back.
    token: String,
    /// The rooms the session is a member of.
    rooms: BTreeSet<String>,
    /// Where its frames go; `None` while detached.
    outbox: Option<Outbox>,
    /// Bumped each time a connection attaches.
    attachment: u64,
}

/// All sessions, findable by id, nickname key and resume token.
#[derive(Debug, Default)]
struct Registry {
    by_id: HashMap<SessionId, SessionRecord>,
    by_nick: HashMap<String, SessionId>,
    by_token: HashMap<String, SessionId>,
}

/// The hub. Shared by every connection as an `Arc<Hub>`.
pub struct Hub {
    /// The limits it enforces.
    pub(crate) limits: Limits,
    /// Message history.
    pub(crate) store: Arc<dyn MessageStore>,
    /// Rooms that have members, by normalised name.
    pub(crate) rooms: RwLock<HashMap<String, Arc<Room>>>,
    /// Every live session.
    registry: Mutex<Registry>,
    /// The next session id.
    next_id: AtomicU64,
    /// Writes messages to the store in batches, then hands them back for delivery.
    committer: Committer,
    /// The clock every connection's rate limiter reads. Made once: creating
    /// one probes the CPU (`cpuid`, which traps to the hypervisor on a VM),
    /// and doing that per connection was about 5 % of a reconnect storm.
    pub(crate) rate_clock: governor::clock::DefaultClock,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A fresh random token with the given prefix.
fn token(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 24)
    )
}

impl Hub {
    /// A hub with no sessions, keeping history in `store`.
    pub fn new(limits: Limits, store: Arc<dyn MessageStore>) -> Arc<Self> {
        let config = limits.committer();
        Arc::new_cyclic(|hub: &std::sync::Weak<Hub>| {
            let hub = hub.clone();
            let deliver = Box::new(move |receipts, messages, result| {
                if let Some(hub) = hub.upgrade() {
                    hub.deliver(receipts, messages, result);
                }
            });
            Hub {
                committer: Committer::start(store.clone(), config, deliver),
                limits,
                store,
                rooms: RwLock::new(HashMap::new()),
                registry: Mutex::new(Registry::default()),
                next_id: AtomicU64::new(1),
                rate_clock: governor::clock::DefaultClock::default(),
            }
        })
    }

    /// Stops taking messages and waits until every queued one is committed
    /// and delivered. Blocking: call it from `spawn_blocking`.
    pub fn close(&self) {
        self.committer.close();
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session for `nick`, or takes back the session of `resume`.
    pub fn hello(
        &self,
        nick: &str,
        resume: Option<&str>,
        outbox: Outbox,
    ) -> Result<Welcome, HubError> {
        let mut registry = self.registry();
        if let Some(id) = resume.and_then(|t| registry.by_token.get(t).copied()) {
            let record = registry.by_id.get_mut(&id).expect("token index is in step");
            if let Some(old) = record.outbox.replace(outbox.clone()) {
                old.replace();
            }
            record.attachment += 1;
            let identity = Identity {
                id,
                nick: record.nick.clone(),
                attachment: record.attachment,
            };
            let rooms: Vec<String> = record.rooms.iter().cloned().collect();
            let token = record.token.clone();
            drop(registry);
            for name in &rooms {
                if let Some(room) = self.room(name) {
                    if let Some(member) = room.lock().members.get_mut(&id) {
                        member.outbox = Some(outbox.clone());
                    }
                }
            }
            return Ok(Welcome {
                identity,
                token,
                resumed: true,
                rooms,
            });
        }
        let nick = validate_nick(nick)?;
        let key = nick_key(&nick);
        if registry.by_nick.contains_key(&key) {
            return Err(HubError::NickTaken(nick));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let token = token("r_");
        registry.by_nick.insert(key, id);
        registry.by_token.insert(token.clone(), id);
        registry.by_id.insert(
            id,
            SessionRecord {
                nick: nick.clone(),
                token: token.clone(),
                rooms: BTreeSet::new(),
                outbox: Some(outbox),
                attachment: 1,
            },
        );
        Ok(Welcome {
            identity: Identity {
                id,
                nick,
                attachment: 1,
            },
            token,
            resumed: false,
            rooms: Vec::new(),
        })
    }

    /// Looks a room up by its normalised name.
    pub fn room(&self, name: &str) -> Option<Arc<Room>> {
        self.rooms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Checks that `who` is still the session's current connection, then
    /// applies `f` to its record.
    fn with_record<T>(
        &self,
        who: &Identity,
        f: impl FnOnce(&mut SessionRecord) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let mut registry = self.registry();
        match registry.by_id.get_mut(&who.id) {
            Some(record) if record.attachment == who.attachment => f(record),
            _ => Err(HubError::SessionGone),
        }
    }

    /// Ends `who`'s session now: frees its nickname and leaves its rooms.
    pub fn end_session(&self, who: &Identity) {
        self.end(who.id, Some(who.attachment), false);
    }

    /// Ends a session if it is still at `attachment` (any attachment if
    /// `None`) and, when `only_detached`, still has no connection.
    fn end(&self, id: SessionId, attachment: Option<u64>, only_detached: bool) {
        let record = {
            let mut registry = self.registry();
            let current = match registry.by_id.get(&id) {
                Some(r) => r,
                None => return,
            };
            if attachment.is_some_and(|a| a != current.attachment)
                || (only_detached && current.outbox.is_some())
            {
                return;
            }
            let record = registry.by_id.remove(&id).expect("just looked up");
            registry.by_nick.remove(&nick_key(&record.nick));
            registry.by_token.remove(&record.token);
            record
        };
        for room in &record.rooms {
            self.remove_member(id, &record.nick, room);
        }
    }

    /// The connection of `who` went away without a goodbye: keep the session
    /// for the resume grace period, then end it unless a connection resumed it.
    pub fn detach(self: &Arc<Self>, who: &Identity) {
        let rooms = match self.with_record(who, |record| {
            record.outbox = None;
            Ok(record.rooms.iter().cloned().collect::<Vec<_>>())
        }) {
            Ok(rooms) => rooms,
            Err(_) => return,
        };
        for name in rooms {
            if let Some(room) = self.room(&name) {
                if let Some(member) = room.lock().members.get_mut(&who.id) {
                    member.outbox = None;
                }
            }
        }
        let hub = Arc::downgrade(self);
        let (id, attachment, grace) = (who.id, who.attachment, self.limits.resume_grace);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if let Some(hub) = hub.upgrade() {
                hub.end(id, Some(attachment), true);
            }
        });
    }

    /// Rooms with their member counts, busiest first.
    pub fn rooms_summary(&self) -> Vec<RoomSummary> {
        let rooms: Vec<Arc<Room>> = self
            .rooms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let mut summary: Vec<RoomSummary> = rooms
            .iter()
            .map(|room| {
                let state = room.lock();
                RoomSummary {
                    room: room.name.clone(),
                    members: state.members.len(),
                    last_seq: state.last_seq,
                }
            })
            .collect();
        summary.sort_by(|a, b| b.members.cmp(&a.members).then_with(|| a.room.cmp(&b.room)));
        summary
    }

    /// Whether the session holding `nick` has a connection right now
    /// (`None` if no session holds it).
    pub fn is_connected(&self, nick: &str) -> Option<bool> {
        let registry = self.registry();
        let id = registry.by_nick.get(&nick_key(nick))?;
        Some(registry.by_id[id].outbox.is_some())
    }

    /// How many sessions exist (attached or not).
    pub fn session_count(&self) -> usize {
        self.registry().by_id.len()
    }
}
