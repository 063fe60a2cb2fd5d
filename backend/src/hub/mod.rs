//! The shared set of sessions and rooms: who is here, under what nickname,
//! in which rooms, and how a dropped connection gets its session back.
//!
//! This is the Rust counterpart of the original design's thread-safe set of
//! endpoint sessions. A *session* (nickname, rooms, resume token; see
//! [`sessions`]) outlives the *connection* that carries it: when a
//! connection drops without saying goodbye, the session is detached for a
//! grace period instead of ended, so a client that comes back with its
//! resume token keeps its nickname and rooms and nobody sees it leave and
//! rejoin.
//!
//! Building a hub starts nothing. [`Hub::start`] starts its workers, the
//! committer thread (group commit, then delivery through
//! [`messages::Delivery`]), the reaper task (ends sessions whose grace ran
//! out) and the flusher task (tells rooms about joins, leaves and typing
//! once per interval), and returns the [`Workers`] handle that stops them.
//!
//! Locking: the session registry and the room map each have a lock, and each
//! room has its own (see [`crate::room`]). No lock is held across an `.await`,
//! and the registry lock is never taken while a room lock is held.

mod catch_up;
mod messages;
mod moderation;
mod presence;
mod reaper;
mod roaming;
mod rooms;
mod search;
mod sessions;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::broker::Broker;
use crate::committer::{Backlog, Clock, Committer, CommitterConfig};
use crate::config::Limits;
use crate::error::HubError;
use crate::room::{Room, RoomLimits, SharedBytes};
use crate::store::MessageStore;

pub use messages::{Receipt, Reply};
pub use moderation::Ask;
pub use rooms::{Joining, Reading};
pub use search::Query;
pub use sessions::{Claim, Welcome};

use catch_up::{CatchUp, CatchUpQueue};
use reaper::{Reaper, ReaperQueue};
use sessions::Registry;

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

/// The hub. Shared by every connection as an `Arc<Hub>`.
pub struct Hub {
    /// The limits it enforces.
    limits: Limits,
    /// Message history.
    store: Arc<dyn MessageStore>,
    /// Accounts, and the nicknames they reserve.
    accounts: Arc<Accounts>,
    /// Rooms that have members, by normalised name.
    rooms: RwLock<HashMap<String, Arc<Room>>>,
    /// What each room may keep and send (one shared count for all caches).
    room_limits: RoomLimits,
    /// Rooms with joins, leaves or typing to tell at the next flush.
    news: Mutex<Vec<Arc<Room>>>,
    /// One permit per database read under way (`--db-readers`), so reads
    /// wait here, not on threads of the blocking pool.
    readers: tokio::sync::Semaphore,
    /// Every live session.
    registry: Mutex<Registry>,
    /// The next session id.
    next_id: AtomicU64,
    /// The queue of messages waiting to be committed.
    committer: Committer<Receipt>,
    /// Where detached sessions are scheduled to end.
    reaper: Reaper,
    /// The time events are stamped with (the system clock but in tests).
    clock: Clock,
    /// Held while a direct message is looked up and opened, so two
    /// openings of the same one make one room.
    dm_opening: tokio::sync::Mutex<()>,
    /// The link to the other nodes, if there are any.
    broker: OnceLock<Arc<dyn Broker>>,
    /// Room events that came before their turn, and the worker that
    /// catches rooms up from the store.
    catch_up: CatchUp,
    /// The other ends of the three queues, until [`Hub::start`] takes them.
    unstarted: Mutex<Option<(Backlog<Receipt>, ReaperQueue, CatchUpQueue)>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The hub's running workers; [`Workers::stop`] ends them in order.
#[derive(Debug)]
pub struct Workers {
    /// The hub they work for.
    hub: Arc<Hub>,
    /// The committer thread.
    committer: Option<std::thread::JoinHandle<()>>,
    /// The reaper and flusher tasks, and what stops them.
    tasks: Option<(Vec<tokio::task::JoinHandle<()>>, CancellationToken)>,
}

impl Hub {
    /// A hub with no sessions, keeping history in `store`, with the
    /// `accounts` people may sign in with. Starts nothing.
    pub fn new(limits: Limits, store: Arc<dyn MessageStore>, accounts: Arc<Accounts>) -> Arc<Self> {
        Hub::with_clock(limits, store, accounts, Arc::new(crate::time::now_ms))
    }

    /// Like [`Hub::new`], stamping events with `clock` (ms since the Unix
    /// epoch): tests step it over the edit window.
    pub fn with_clock(
        limits: Limits,
        store: Arc<dyn MessageStore>,
        accounts: Arc<Accounts>,
        clock: Clock,
    ) -> Arc<Self> {
        let (committer, backlog) = Committer::new(limits.commit_queue);
        let (reaper, queue) = Reaper::new();
        let (catch_up, inbound) = CatchUp::new(limits.relay_queue);
        let room_limits = RoomLimits {
            cache_messages: limits.room_cache,
            cache_bytes: limits.room_cache_bytes,
            all_caches: SharedBytes::new(limits.room_caches_total_bytes),
            reply_bytes: limits.max_reply_bytes,
            large_room: limits.large_room,
            large_room_every: limits.large_room_presence_interval,
            member_page: limits.member_page,
            backlog: limits.outbox_capacity,
        };
        Arc::new(Hub {
            readers: tokio::sync::Semaphore::new(limits.db_readers),
            room_limits,
            news: Mutex::new(Vec::new()),
            clock,
            limits,
            store,
            accounts,
            rooms: RwLock::new(HashMap::new()),
            registry: Mutex::new(Registry::default()),
            next_id: AtomicU64::new(1),
            committer,
            reaper,
            broker: OnceLock::new(),
            catch_up,
            unstarted: Mutex::new(Some((backlog, queue, inbound))),
            dm_opening: tokio::sync::Mutex::new(()),
        })
    }

    /// Links this hub to the other nodes through `broker` (before
    /// [`Hub::start`], which starts it). Fails if it already has one.
    pub fn attach(&self, broker: Arc<dyn Broker>) -> Result<(), Arc<dyn Broker>> {
        self.broker.set(broker)
    }

    /// Whether the link to the other nodes works (a hub without one is
    /// a node of its own, always up).
    pub fn link_is_up(&self) -> bool {
        self.broker.get().is_none_or(|b| b.is_up())
    }

    /// Starts the committer thread, the reaper, flusher and catch-up tasks
    /// and the broker's (on the current tokio runtime). Call once;
    /// [`Workers::stop`] stops them.
    pub fn start(self: &Arc<Self>) -> std::io::Result<Workers> {
        let (backlog, queue, inbound) = self
            .unstarted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| std::io::Error::other("the hub was already started"))?;
        let committer = crate::committer::start(
            backlog,
            self.store.clone(),
            CommitterConfig {
                clock: self.clock.clone(),
                ..CommitterConfig::from_limits(&self.limits)
            },
            messages::Delivery::to(self),
        )?;
        let stop = CancellationToken::new();
        let reaper = tokio::spawn(reaper::run(
            queue,
            Arc::downgrade(self),
            self.limits.resume_grace,
            stop.clone(),
        ));
        let flusher = tokio::spawn(presence::run(
            Arc::downgrade(self),
            self.limits.presence_interval,
            stop.clone(),
        ));
        let broker = self.broker.get();
        let catch_up = tokio::spawn(catch_up::run(
            Arc::downgrade(self),
            inbound,
            broker.map(|_| self.limits.cluster_sweep),
            self.limits.cluster_gap_wait,
            stop.clone(),
        ));
        let mut tasks = vec![reaper, flusher, catch_up];
        if let Some(broker) = broker {
            tasks.extend(broker.start(catch_up::handler(self), stop.clone()));
        }
        Ok(Workers {
            hub: self.clone(),
            committer: Some(committer),
            tasks: Some((tasks, stop)),
        })
    }

    /// The limits this hub enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The accounts people sign in with.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every room in memory.
    fn all_rooms(&self) -> Vec<Arc<Room>> {
        self.rooms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Looks a room up by its normalised name.
    pub fn room(&self, name: &str) -> Option<Arc<Room>> {
        self.rooms
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Rooms with their member counts, busiest first; direct messages and
    /// invite-only rooms are not listed. In a cluster, the rooms of every
    /// node (those this node does not hold are looked up in the store).
    pub async fn rooms_summary(&self) -> Result<Vec<RoomSummary>, HubError> {
        let rooms = self.all_rooms();
        let mut held = std::collections::HashSet::new();
        let mut summary: Vec<RoomSummary> = rooms
            .iter()
            .filter_map(|room| {
                held.insert(room.name.clone());
                let state = room.lock();
                let control = state.control();
                let hidden = control.dm.is_some() || control.modes.invite_only;
                (!hidden).then(|| RoomSummary {
                    room: room.name.clone(),
                    members: state.member_count(),
                    last_seq: state.last_seq(),
                })
            })
            .collect();
        if let Some(broker) = self.broker.get() {
            let elsewhere: Vec<(String, usize)> = broker
                .rooms()
                .await
                .map_err(|_| HubError::LinkDown)?
                .into_iter()
                .filter(|(room, _)| !held.contains(room) && !parley_protocol::is_dm_room(room))
                .collect();
            let found = self
                .read_store(move |store| {
                    let mut found = Vec::new();
                    for (room, members) in elsewhere {
                        if !store.control(&room)?.modes.invite_only {
                            let last_seq = store.last_seq(&room)?;
                            found.push(RoomSummary {
                                room,
                                members,
                                last_seq,
                            });
                        }
                    }
                    Ok(found)
                })
                .await?;
            summary.extend(found);
        }
        summary.sort_by(|a, b| b.members.cmp(&a.members).then_with(|| a.room.cmp(&b.room)));
        Ok(summary)
    }
}

impl Workers {
    /// The hub they work for.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Stops taking messages, ends the resume-grace timers (the sessions
    /// they watch die with the process) and the flusher, then commits and
    /// delivers every message still queued and waits for every worker.
    pub async fn stop(mut self) {
        if let Some((tasks, stop)) = self.tasks.take() {
            stop.cancel();
            for task in tasks {
                let _ = task.await;
            }
        }
        self.hub.committer.close();
        if let Some(thread) = self.committer.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the committer thread panicked");
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Not stopped in order (a test that just ends): stop the reaper and
        // let the committer drain and end on its own, without blocking.
        if let Some((_, stop)) = &self.tasks {
            stop.cancel();
        }
        self.hub.committer.close();
    }
}
