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
//!
//! Redis also holds what makes nicknames unique and sessions resumable on
//! any node (`cluster/sessions.rs`).
//!
//! `publisher` sends (hints, beats, session records), `subscriber`
//! listens and watches the link; `wire` is what they say.

mod publisher;
mod sessions;
mod subscriber;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use parley_protocol::RoomEvent;
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerEventHandler, LinkError, NickClaim, Pending, SessionRecord};
use crate::config::ClusterFlags;
use publisher::Outgoing;
use sessions::Holdings;
use wire::{Body, Envelope};

/// The one channel every node publishes on and listens to.
const CHANNEL: &str = "parley:events";

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
    /// How often this node renews what it holds.
    renew_every: Duration,
    /// How long a session's record outlives its node's last renewal: the
    /// resume grace plus the node timeout plus one renewal period, so a
    /// dead node's sessions stay resumable for the whole grace after it
    /// is counted as gone.
    record_ttl: Duration,
    /// The connection commands and publishes share, once open.
    conn: Mutex<Option<MultiplexedConnection>>,
    /// What waits to be sent.
    queue: mpsc::Sender<Outgoing>,
    /// The other end, until the broker starts.
    unstarted: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    /// Whether the link carries this node's own beats.
    up: AtomicBool,
    /// When this node last heard its own beat.
    heard_self: Mutex<Instant>,
    /// Rooms whose hints were lost on the way out.
    dirty: Mutex<HashSet<String>>,
    /// Commands that could not be sent yet.
    kept: Mutex<Vec<redis::Cmd>>,
    /// Asks the subscriber to connect again (its link went quiet).
    reconnect: Notify,
    /// The nicknames and sessions this node holds.
    holdings: Arc<Holdings>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    /// The shared connection, opened (within the node timeout) if need be.
    async fn connection(&self) -> Result<MultiplexedConnection, LinkError> {
        if let Some(conn) = lock(&self.conn).clone() {
            return Ok(conn);
        }
        let opening = self.client.get_multiplexed_async_connection();
        let conn = tokio::time::timeout(self.flags.cluster_node_timeout, opening)
            .await
            .map_err(|_| LinkError::Down("Redis did not answer in time".to_owned()))?
            .map_err(|e| LinkError::Down(e.to_string()))?;
        *lock(&self.conn) = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets the shared connection after it failed: the next use opens
    /// another.
    fn broken(&self) {
        *lock(&self.conn) = None;
    }

    /// Runs `call` on the shared connection, if the link is up; a call
    /// that fails for the link's sake forgets the connection.
    fn call<T, F>(
        self: &Arc<Self>,
        call: impl FnOnce(MultiplexedConnection) -> F + Send + 'static,
    ) -> Pending<T>
    where
        F: std::future::Future<Output = Result<T, LinkError>> + Send,
        T: Send + 'static,
    {
        let inner = self.clone();
        Box::pin(async move {
            inner.check_up()?;
            let answer = call(inner.connection().await?).await;
            if matches!(answer, Err(LinkError::Down(_))) {
                inner.broken();
            }
            answer
        })
    }

    /// Fails at once while the link is known to be down.
    fn check_up(&self) -> Result<(), LinkError> {
        if self.up.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(LinkError::Down("no beat heard lately".to_owned()))
        }
    }
}

impl RedisBroker {
    /// Connects to Redis at `url` and checks that it answers: a bad or
    /// unreachable URL is a start-up error. Sessions stay resumable for
    /// `resume_grace` after their node is gone.
    pub async fn connect(
        url: &str,
        flags: &ClusterFlags,
        resume_grace: Duration,
    ) -> Result<Self, ClusterError> {
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
        let renew_every = resume_grace.min(sessions::HELD_TTL) / 3;
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
                renew_every,
                record_ttl: resume_grace + flags.cluster_node_timeout + renew_every,
                conn: Mutex::new(Some(conn)),
                queue,
                unstarted: Mutex::new(Some(unstarted)),
                up: AtomicBool::new(true),
                heard_self: Mutex::new(Instant::now()),
                dirty: Mutex::new(HashSet::new()),
                kept: Mutex::new(Vec::new()),
                reconnect: Notify::new(),
                holdings: Arc::new(Holdings::default()),
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
        let hint = Outgoing::Hint {
            payload,
            room: room.map(str::to_owned),
        };
        if self.inner.queue.try_send(hint).is_err() {
            crate::metrics::publish_failed();
            if let Some(room) = room {
                lock(&self.inner.dirty).insert(room.to_owned());
            }
        }
    }

    /// Queues commands; a full queue keeps them for the next beat.
    fn command(&self, commands: Vec<redis::Cmd>) {
        if let Err(full) = self.inner.queue.try_send(Outgoing::Commands(commands)) {
            if let Outgoing::Commands(commands) = full.into_inner() {
                publisher::keep_for_later(&self.inner, commands);
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
        let peers: subscriber::Peers = Arc::new(Mutex::new(HashMap::new()));
        vec![
            tokio::spawn(publisher::run(self.inner.clone(), queue, stop.clone())),
            tokio::spawn(subscriber::run(
                self.inner.clone(),
                handler.clone(),
                peers.clone(),
                stop.clone(),
            )),
            tokio::spawn(subscriber::watchdog(
                self.inner.clone(),
                handler,
                peers,
                stop,
            )),
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

    fn claim(&self, claim: NickClaim) -> Pending<Option<String>> {
        let (holdings, node, ttl) = (
            self.inner.holdings.clone(),
            self.inner.node.clone(),
            self.inner.record_ttl,
        );
        self.inner
            .call(move |conn| holdings.claim(conn, node, claim, ttl))
    }

    fn session(&self, token: &str) -> Pending<Option<SessionRecord>> {
        let token = token.to_owned();
        self.inner.call(move |conn| Holdings::session(conn, token))
    }

    fn update(&self, token: &str, record: &SessionRecord) {
        if let Some(command) = self.inner.holdings.update(token, record) {
            self.command(vec![command]);
        }
    }

    fn release(&self, token: &str) {
        if let Some(commands) = self.inner.holdings.release(token) {
            self.command(commands);
        }
    }

    fn presence(&self, room: &str, changes: Vec<(String, bool)>) {
        if changes.is_empty() {
            return;
        }
        self.command(vec![sessions::presence(room, &self.inner.node, &changes)]);
        self.send(
            Body::Presence {
                room: room.to_owned(),
                changes,
            },
            None,
        );
    }

    fn members(&self, room: &str) -> Pending<Vec<(String, String)>> {
        let room = room.to_owned();
        self.inner.call(move |conn| sessions::members(conn, room))
    }

    fn rooms(&self) -> Pending<Vec<(String, usize)>> {
        self.inner.call(sessions::rooms)
    }

    fn reserve(&self, nick: &str, keys: Vec<String>) -> Pending<()> {
        let nick = nick.to_owned();
        self.inner
            .call(move |conn| sessions::reserve(conn, nick, keys))
    }

    fn unreserve(&self, keys: Vec<String>) {
        self.command(vec![sessions::unreserve(&keys)]);
    }

    fn reserved(&self, nick: &str, registered: bool) {
        self.send(
            Body::Reserved {
                nick: nick.to_owned(),
                registered,
            },
            None,
        );
    }

    fn moved(&self, token: &str) {
        self.send(
            Body::Moved {
                token: token.to_owned(),
            },
            None,
        );
    }
}
