//! Several nodes, one chat: the [`Broker`] over Redis pub/sub.
//!
//! Every node shares one PostgreSQL database, which gives each room event
//! its `seq` in the transaction that stores it: the truth. Redis only
//! carries *hints*: each node publishes what it committed, and typing, on
//! one channel; every other node hands them to its hub, which delivers
//! each `seq` once and in order and reads from the database whatever a gap
//! shows it missed. Pub/sub is at most once (a dropped connection loses
//! what was sent meanwhile), so nothing here may be trusted to arrive:
//!
//! - each node publishes a *beat* every `--cluster-heartbeat` and hears its
//!   own: a link that stops carrying them (Redis gone, or a subscription
//!   stalled while publishing still works, as centrifugo's issue #1189
//!   saw) counts as down after `--cluster-node-timeout`, sends are refused
//!   `busy`, and the subscriber connects again;
//! - each (re)subscription, and each node that falls silent (it may have
//!   committed events it never told), makes the hub check every room
//!   against the database;
//! - a hint that cannot be published marks its room; once publishing works
//!   again the node tells the others to check those rooms.

mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use parley_protocol::RoomEvent;
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerEventHandler};
use crate::config::ClusterFlags;
use wire::{Body, Envelope};

/// The one channel every node publishes on and listens to.
const CHANNEL: &str = "parley:events";

/// The longest wait between two attempts to reach Redis again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a Redis URL.
    #[error("--redis-url {url} is not a Redis URL: {reason}")]
    BadUrl {
        /// The URL, password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Redis did not answer.
    #[error("cannot reach Redis at {url}: {reason}")]
    Unreachable {
        /// The URL, password hidden.
        url: String,
        /// What failed.
        reason: String,
    },
}

/// A hint on its way out: the payload, and its room if it has one (a
/// hint that cannot be sent marks its room).
type Hint = (String, Option<String>);

/// A node's link to the others over Redis.
#[derive(Debug, Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: redis::Client,
    /// This node's id, fresh each start.
    node: String,
    flags: ClusterFlags,
    /// Hints waiting to be published: the payload, and its room if any.
    queue: mpsc::Sender<Hint>,
    /// The other end, until the broker starts.
    unstarted: Mutex<Option<mpsc::Receiver<Hint>>>,
    /// Whether the link carries this node's own beats.
    up: AtomicBool,
    /// When this node last heard its own beat.
    heard_self: Mutex<Instant>,
    /// Rooms whose hints were lost on the way out.
    dirty: Mutex<HashSet<String>>,
    /// Asks the subscriber to connect again (its link went quiet).
    reconnect: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl RedisBroker {
    /// Connects to Redis at `flags.redis_url` and checks that it answers:
    /// a bad or unreachable URL is a start-up error.
    pub async fn connect(url: &str, flags: &ClusterFlags) -> Result<Self, ClusterError> {
        let shown = crate::store::redact_url(url);
        let client = redis::Client::open(url).map_err(|e| ClusterError::BadUrl {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        let unreachable = |reason: String| ClusterError::Unreachable {
            url: shown.clone(),
            reason,
        };
        let mut conn = tokio::time::timeout(
            flags.cluster_node_timeout,
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| unreachable("no answer in time".to_owned()))?
        .map_err(|e| unreachable(e.to_string()))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (queue, unstarted) = mpsc::channel(flags.cluster_publish_queue.max(1));
        let node = format!(
            "n-{}",
            rand::distr::SampleString::sample_string(
                &rand::distr::Alphanumeric,
                &mut rand::rng(),
                12
            )
        );
        tracing::info!(node, redis = %shown, "linked to the other nodes");
        Ok(RedisBroker {
            inner: Arc::new(Inner {
                client,
                node,
                flags: flags.clone(),
                queue,
                unstarted: Mutex::new(Some(unstarted)),
                up: AtomicBool::new(true),
                heard_self: Mutex::new(Instant::now()),
                dirty: Mutex::new(HashSet::new()),
                reconnect: Notify::new(),
            }),
        })
    }

    /// This node's id on the channel.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Queues a hint; a full queue loses it (and marks its room).
    fn send(&self, body: Body, room: Option<&str>) {
        let payload = Envelope {
            node: self.inner.node.clone(),
            body,
        }
        .encode();
        if self
            .inner
            .queue
            .try_send((payload, room.map(str::to_owned)))
            .is_err()
        {
            crate::metrics::publish_failed();
            if let Some(room) = room {
                lock(&self.inner.dirty).insert(room.to_owned());
            }
        }
    }
}

impl Broker for RedisBroker {
    fn start(
        &self,
        handler: Weak<dyn BrokerEventHandler>,
        stop: CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let Some(queue) = lock(&self.inner.unstarted).take() else {
            return Vec::new();
        };
        *lock(&self.inner.heard_self) = Instant::now();
        let peers = Arc::new(Mutex::new(HashMap::new()));
        vec![
            tokio::spawn(publisher(self.inner.clone(), queue, stop.clone())),
            tokio::spawn(subscriber(
                self.inner.clone(),
                handler.clone(),
                peers.clone(),
                stop.clone(),
            )),
            tokio::spawn(watchdog(self.inner.clone(), handler, peers, stop)),
        ]
    }

    fn publish(&self, event: &RoomEvent) {
        self.send(
            Body::Event {
                event: event.clone(),
            },
            Some(event.room()),
        );
    }

    fn typing(&self, room: &str, nick: &str) {
        self.send(
            Body::Typing {
                room: room.to_owned(),
                nick: nick.to_owned(),
            },
            None,
        );
    }

    fn is_up(&self) -> bool {
        self.inner.up.load(Ordering::Relaxed)
    }
}

/// Sleeps `backoff` (unless stopped), then doubles it up to the maximum.
/// Returns `false` if stopped.
async fn pause(backoff: &mut Duration, stop: &CancellationToken) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// Opens a connection to publish on, within the node timeout.
async fn open(inner: &Inner) -> Option<MultiplexedConnection> {
    let opening = inner.client.get_multiplexed_async_connection();
    match tokio::time::timeout(inner.flags.cluster_node_timeout, opening).await {
        Ok(Ok(conn)) => Some(conn),
        _ => None,
    }
}

/// Publishes `payload` on the channel; whether Redis took it in time.
async fn publish(conn: &mut MultiplexedConnection, payload: &str, timeout: Duration) -> bool {
    let mut command = redis::cmd("PUBLISH");
    command.arg(CHANNEL).arg(payload);
    matches!(
        tokio::time::timeout(timeout, command.query_async::<i64>(conn)).await,
        Ok(Ok(_))
    )
}

/// Publishes what is queued, and a beat each heartbeat.
async fn publisher(
    inner: Arc<Inner>,
    mut queue: mpsc::Receiver<Hint>,
    stop: CancellationToken,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut beats = tokio::time::interval(inner.flags.cluster_heartbeat);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let beat = Envelope {
        node: inner.node.clone(),
        body: Body::Beat,
    }
    .encode();
    loop {
        let (payload, room) = tokio::select! {
            _ = stop.cancelled() => return,
            next = queue.recv() => match next {
                Some(next) => next,
                None => return,
            },
            _ = beats.tick() => (beat.clone(), None),
        };
        if conn.is_none() {
            conn = open(&inner).await;
        }
        let sent = match conn.as_mut() {
            Some(c) => publish(c, &payload, inner.flags.cluster_node_timeout).await,
            None => false,
        };
        if !sent {
            conn = None;
            crate::metrics::publish_failed();
            if let Some(room) = room {
                lock(&inner.dirty).insert(room);
            }
            continue;
        }
        if room.is_some() {
            crate::metrics::published();
        }
        // Publishing works: ask the others to check the rooms whose
        // hints were lost.
        let dirty: Vec<String> = lock(&inner.dirty).drain().collect();
        if !dirty.is_empty() {
            let sync = Envelope {
                node: inner.node.clone(),
                body: Body::Check {
                    rooms: dirty.clone(),
                },
            }
            .encode();
            let c = conn.as_mut().expect("just published on it");
            if !publish(c, &sync, inner.flags.cluster_node_timeout).await {
                lock(&inner.dirty).extend(dirty);
                conn = None;
            }
        }
    }
}

/// When each other node was last heard from.
type Peers = Arc<Mutex<HashMap<String, Instant>>>;

/// Listens on the channel, connecting again whenever the link breaks or
/// goes quiet; after each (re)subscription the hub checks every room.
async fn subscriber(
    inner: Arc<Inner>,
    handler: Weak<dyn BrokerEventHandler>,
    peers: Peers,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let subscribing = async {
            let mut pubsub = inner.client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            _ = stop.cancelled() => return,
            s = tokio::time::timeout(inner.flags.cluster_node_timeout, subscribing) => s,
        };
        let Ok(Ok(pubsub)) = pubsub else {
            if !pause(&mut backoff, &stop).await {
                return;
            }
            continue;
        };
        backoff = Duration::from_millis(50);
        tracing::info!(node = inner.node, "subscribed to the other nodes' events");
        if let Some(hub) = handler.upgrade() {
            hub.handle_resync();
        }
        let mut messages = pubsub.into_on_message();
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => return,
                _ = inner.reconnect.notified() => break,
                m = messages.next() => match m {
                    Some(m) => m,
                    None => break,
                },
            };
            let Some(envelope) = Envelope::decode(message.get_payload_bytes()) else {
                tracing::warn!("an unreadable message on {CHANNEL}: ignored");
                continue;
            };
            if envelope.node == inner.node {
                if matches!(envelope.body, Body::Beat) {
                    *lock(&inner.heard_self) = Instant::now();
                    if !inner.up.swap(true, Ordering::Relaxed) {
                        tracing::info!(node = inner.node, "the link to the other nodes is back");
                        crate::metrics::link_up(true);
                    }
                }
                continue;
            }
            lock(&peers).insert(envelope.node, Instant::now());
            let Some(hub) = handler.upgrade() else { return };
            match envelope.body {
                Body::Event { event } => {
                    crate::metrics::received();
                    hub.handle_event(event);
                }
                Body::Typing { room, nick } => hub.handle_typing(&room, &nick),
                Body::Check { .. } => hub.handle_resync(),
                Body::Beat => {}
            }
        }
        tracing::warn!(
            node = inner.node,
            "lost the subscription to the other nodes; connecting again"
        );
        if !pause(&mut backoff, &stop).await {
            return;
        }
    }
}

/// Each heartbeat: is the link still carrying this node's beats, and has
/// another node gone quiet?
async fn watchdog(
    inner: Arc<Inner>,
    handler: Weak<dyn BrokerEventHandler>,
    peers: Peers,
    stop: CancellationToken,
) {
    let timeout = inner.flags.cluster_node_timeout;
    let mut ticks = tokio::time::interval(inner.flags.cluster_heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = Instant::now();
        if now.duration_since(*lock(&inner.heard_self)) > timeout
            && inner.up.swap(false, Ordering::Relaxed)
        {
            tracing::warn!(
                node = inner.node,
                "the link to the other nodes is down: sends are refused until it is back"
            );
            crate::metrics::link_up(false);
            inner.reconnect.notify_one();
        }
        let gone = {
            let mut peers = lock(&peers);
            let before = peers.len();
            peers.retain(|_, seen| now.duration_since(*seen) <= timeout);
            crate::metrics::nodes(peers.len());
            before - peers.len()
        };
        if gone > 0 {
            tracing::info!(
                gone,
                "a node fell silent: checking every room against the database"
            );
            if let Some(hub) = handler.upgrade() {
                hub.handle_resync();
            }
        }
    }
}
