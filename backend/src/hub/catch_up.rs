//! Room events reach a room's members once each and in `seq` order,
//! whichever order they arrive in.
//!
//! On one node they arrive in order: the committer hands them back in
//! commit order. With several nodes sharing a database (a broker, see
//! [`crate::broker`]), another node's events come as hints over the link,
//! which may be late, doubled or lost, and this node's own may overtake
//! them. So every committed event, from here or elsewhere, goes through
//! [`Hub::sequence`]: the room's next `seq` is delivered at once (and
//! whatever it lets follow); an older one is already delivered (only its
//! author's `ack` is still due); a later one is *parked* and the room is
//! queued for [`catch_up`](Hub::catch_up_room): the worker task reads the
//! missing range from the store, the truth, and delivers it in order. A
//! lost hint thus costs latency, never a message.
//!
//! The worker also takes the other nodes' events off the broker (reading
//! a moderation event's effect on the room's control from the store
//! first) and, when the broker says hints may have been lost, or every
//! `--cluster-sweep`, checks every room against the store.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use parley_protocol::RoomEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::messages::{changes_control, Origin};
use super::Hub;
use crate::broker::BrokerEventHandler;

/// Events read from the store per step of a catch-up.
const CHUNK: u64 = 512;

/// Other nodes' events parked per room, at most; more are dropped (the
/// catch-up reads them from the store anyway).
const PARKED_ELSEWHERE: usize = 4096;

/// How long a room whose catch-up failed (the store out of reach) waits
/// before the next try.
const RETRY: Duration = Duration::from_millis(500);

/// What the worker is asked to do.
#[derive(Debug)]
pub(super) enum Inbound {
    /// Another node committed this.
    Event(RoomEvent),
    /// Someone on another node is typing.
    Typing { room: String, nick: String },
    /// Bring this room up to the store's last `seq`.
    Room(String),
    /// An event of this room came before its turn: its hint is probably
    /// on the way; if the gap is still there after `--cluster-gap-wait`,
    /// read it from the store.
    Gap(String),
    /// Bring every room up to the store's.
    Every,
}

/// An event that came before its turn.
#[derive(Debug)]
struct Parked {
    event: RoomEvent,
    origin: Origin,
}

/// The parked events and the worker's queue.
#[derive(Debug)]
pub(super) struct CatchUp {
    /// By room, by `seq`.
    parked: Mutex<HashMap<String, BTreeMap<u64, Parked>>>,
    /// The worker's queue.
    queue: mpsc::Sender<Inbound>,
    /// Set when the queue was full and something was dropped: the worker
    /// then checks every room.
    overflowed: AtomicBool,
}

/// The worker's end of the queue, until [`Hub::start`] takes it.
pub(super) type CatchUpQueue = mpsc::Receiver<Inbound>;

impl CatchUp {
    /// An empty set of parked events, and a queue of `capacity`.
    pub(super) fn new(capacity: usize) -> (CatchUp, CatchUpQueue) {
        let (queue, inbound) = mpsc::channel(capacity.max(1));
        let catch_up = CatchUp {
            parked: Mutex::new(HashMap::new()),
            queue,
            overflowed: AtomicBool::new(false),
        };
        (catch_up, inbound)
    }

    /// Queues `work` for the worker; never waits. What a full queue drops
    /// is made up by checking every room.
    pub(super) fn ask(&self, work: Inbound) {
        if self.queue.try_send(work).is_err() {
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<u64, Parked>>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parks `event`, which came before its turn.
    fn park(&self, event: RoomEvent, origin: Origin) {
        let mut parked = self.parked();
        let room = parked.entry(event.room().to_owned()).or_default();
        if matches!(origin, Origin::Elsewhere(_)) && room.len() >= PARKED_ELSEWHERE {
            return;
        }
        match room.get(&event.seq()) {
            // This node's own event keeps its receipt.
            Some(Parked {
                origin: Origin::Here(_),
                ..
            }) => {}
            _ => {
                room.insert(event.seq(), Parked { event, origin });
            }
        }
    }

    /// Whether `room` has events parked (waiting for a gap to fill).
    fn has_parked(&self, room: &str) -> bool {
        self.parked().contains_key(room)
    }

    /// Takes the parked event `seq` of `room`, if any. Older ones are
    /// delivered already; their authors here get their `ack`.
    fn unpark(&self, room: &str, seq: u64) -> Option<Parked> {
        let mut parked = self.parked();
        let events = parked.get_mut(room)?;
        let found = events.remove(&seq);
        let newer = events.split_off(&seq);
        for (_, stale) in std::mem::replace(events, newer) {
            stale.origin.settle(&stale.event);
        }
        if events.is_empty() {
            parked.remove(room);
        }
        found
    }
}

impl Hub {
    /// Delivers `event` in its room's `seq` order (see the module's doc).
    pub(super) fn sequence(&self, event: RoomEvent, origin: Origin) {
        let name = event.room().to_owned();
        let Some(room) = self.room(&name) else {
            // Nobody here is in the room: only the author is due its ack.
            origin.settle(&event);
            return;
        };
        let mut removed = Vec::new();
        {
            let mut state = room.lock();
            let next = state.last_seq() + 1;
            if event.seq() < next {
                drop(state);
                origin.settle(&event);
                return;
            }
            if event.seq() > next {
                // Parked under the room's lock, so the catch-up cannot
                // deliver it meanwhile and leave this node's receipt behind.
                tracing::debug!(room = %name, seq = event.seq(), next, "parked");
                self.catch_up.park(event, origin);
                drop(state);
                self.catch_up.ask(Inbound::Gap(name));
                return;
            }
            let mut turn = Some((event, origin));
            while let Some((event, origin)) = turn.take() {
                // This node's receipt for the same event, if it is parked.
                let origin = match (origin, self.catch_up.unpark(&name, event.seq())) {
                    (
                        Origin::Elsewhere(_),
                        Some(
                            own @ Parked {
                                origin: Origin::Here(_),
                                ..
                            },
                        ),
                    ) => own.origin,
                    (origin, _) => origin,
                };
                let seq = event.seq();
                removed.extend(self.deliver_now(&room, &mut state, event, origin));
                turn = self
                    .catch_up
                    .unpark(&name, seq + 1)
                    .map(|p| (p.event, p.origin));
            }
        }
        if !removed.is_empty() {
            self.forget_room(&removed, &name);
        }
    }

    /// A client has seen more of `room` than this node delivered (it came
    /// from a node that was ahead): the rest is read from the store now,
    /// rather than when the next hint shows the gap. On one node, where
    /// the room is never behind its store, nothing is done.
    pub(super) fn behind(&self, room: &str) {
        if self.broker.get().is_some() {
            self.catch_up.ask(Inbound::Room(room.to_owned()));
        }
    }

    /// Brings `room` up to the store's last `seq`, delivering what this
    /// node missed in order. Returns `false` if the store could not be
    /// read (try again later).
    pub(super) async fn catch_up_room(&self, name: &str) -> bool {
        loop {
            let Some(room) = self.room(name) else {
                return true;
            };
            let have = room.lock().last_seq();
            let owned = name.to_owned();
            let read = self
                .read_store(move |store| {
                    let last = store.last_seq(&owned)?;
                    if last <= have {
                        return Ok((last, Vec::new(), None));
                    }
                    let upto = last.min(have + CHUNK);
                    let page = store.events(&owned, have, upto, CHUNK as usize)?;
                    let moderated = page.items.iter().any(changes_control);
                    let control = moderated.then(|| store.control(&owned)).transpose()?;
                    Ok((upto, page.items, control))
                })
                .await;
            let (upto, events, control) = match read {
                Ok(read) => read,
                Err(error) => {
                    tracing::warn!(room = name, %error, "cannot catch the room up yet");
                    return false;
                }
            };
            if upto <= have {
                return true;
            }
            crate::metrics::backfilled(events.len());
            for event in events {
                let control = changes_control(&event).then(|| control.clone()).flatten();
                self.sequence(event, Origin::Elsewhere(control));
            }
            // Whatever the store no longer has (retention) is skipped.
            let mut state = room.lock();
            if state.last_seq() < upto {
                state.skip_to(upto);
                drop(state);
                if let Some(parked) = self.catch_up.unpark(name, upto + 1) {
                    self.sequence(parked.event, parked.origin);
                }
            }
        }
    }

    /// Takes another node's `event`: with the room's control read from
    /// the store first if it changes it. Returns `false` if the store
    /// could not be read.
    async fn take_elsewhere(&self, event: RoomEvent) -> bool {
        let Some(room) = self.room(event.room()) else {
            return true; // nobody here is in it
        };
        if event.seq() <= room.lock().last_seq() {
            return true;
        }
        let control = if changes_control(&event) {
            let name = event.room().to_owned();
            match self.read_store(move |store| store.control(&name)).await {
                Ok(control) => Some(control),
                Err(_) => return false,
            }
        } else {
            None
        };
        self.sequence(event, Origin::Elsewhere(control));
        true
    }
}

impl BrokerEventHandler for Hub {
    fn handle_event(&self, event: RoomEvent) {
        self.catch_up.ask(Inbound::Event(event));
    }

    fn handle_typing(&self, room: &str, nick: &str) {
        self.catch_up.ask(Inbound::Typing {
            room: room.to_owned(),
            nick: nick.to_owned(),
        });
    }

    fn handle_resync(&self) {
        self.catch_up.ask(Inbound::Every);
        // Accounts registered or deleted elsewhere while hints were lost
        // (on the first subscription: since this node read them at start).
        let accounts = self.accounts.clone();
        tokio::spawn(async move {
            if let Err(error) = accounts.reread_reserved().await {
                tracing::warn!(%error, "could not read the reserved nicknames again");
            }
        });
    }

    fn handle_stale(&self, rooms: Vec<String>) {
        for room in rooms {
            self.catch_up.ask(Inbound::Room(room));
        }
    }

    fn handle_moved(&self, token: &str, node: &str) {
        self.moved_away(token, node);
    }

    fn handle_presence(&self, room: &str, node: &str, changes: Vec<(String, bool)>) {
        self.presence_elsewhere(room, node, changes);
    }

    fn handle_node_gone(&self, node: &str) {
        self.node_gone(node);
    }

    fn handle_reserved(&self, nick: &str, registered: bool) {
        self.accounts.note_reserved(nick, registered);
    }
}

/// The worker: takes what it is asked until `stop` is cancelled or the
/// hub is gone; reads a gap `gap_wait` after it showed, if it is still
/// there; checks every room each `sweep` (if set).
pub(super) async fn run(
    hub: Weak<Hub>,
    mut inbound: CatchUpQueue,
    sweep: Option<Duration>,
    gap_wait: Duration,
    stop: CancellationToken,
) {
    let mut sweeps = tokio::time::interval(sweep.unwrap_or(Duration::from_secs(3600)));
    sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sweeps.tick().await;
    let mut retries = tokio::time::interval(RETRY);
    retries.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed: HashSet<String> = HashSet::new();
    // Rooms with a gap, and when to read it if it is still there.
    let mut gaps: HashMap<String, tokio::time::Instant> = HashMap::new();
    loop {
        let due = gaps.values().min().copied();
        let work = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                let now = tokio::time::Instant::now();
                let room = gaps
                    .iter()
                    .find(|(_, at)| **at <= now)
                    .map(|(room, _)| room.clone());
                let Some(room) = room else { continue };
                gaps.remove(&room);
                let Some(hub) = hub.upgrade() else { return };
                if !hub.catch_up.has_parked(&room) {
                    continue; // filled by its hint meanwhile
                }
                Inbound::Room(room)
            },
            work = inbound.recv() => match work {
                Some(work) => work,
                None => return,
            },
            _ = sweeps.tick(), if sweep.is_some() => Inbound::Every,
            _ = retries.tick(), if !failed.is_empty() => Inbound::Every,
        };
        let Some(hub) = hub.upgrade() else { return };
        let work = if hub.catch_up.overflowed.swap(false, Ordering::Relaxed) {
            Inbound::Every
        } else {
            work
        };
        match work {
            Inbound::Event(event) => {
                let room = event.room().to_owned();
                if !hub.take_elsewhere(event).await {
                    failed.insert(room);
                }
            }
            Inbound::Typing { room, nick } => hub.typing_elsewhere(&room, &nick),
            Inbound::Gap(room) => {
                gaps.entry(room)
                    .or_insert_with(|| tokio::time::Instant::now() + gap_wait);
            }
            Inbound::Room(room) => {
                if hub.catch_up_room(&room).await {
                    failed.remove(&room);
                } else {
                    failed.insert(room);
                }
            }
            Inbound::Every => {
                failed.clear();
                for room in hub.all_rooms() {
                    if !hub.catch_up_room(&room.name).await {
                        failed.insert(room.name.clone());
                    }
                }
            }
        }
    }
}

impl Hub {
    /// Someone on another node is typing in `room`.
    fn typing_elsewhere(&self, room: &str, nick: &str) {
        if let Some(room) = self.room(room) {
            let mut state = room.lock();
            state.typing_elsewhere(nick);
            self.note_news(&room, &mut state);
        }
    }
}

/// A hub's handle for what the broker may call: the hub itself, weakly.
pub(super) fn handler(hub: &Arc<Hub>) -> Weak<dyn BrokerEventHandler> {
    let hub: Arc<dyn BrokerEventHandler> = hub.clone();
    Arc::downgrade(&hub)
}
