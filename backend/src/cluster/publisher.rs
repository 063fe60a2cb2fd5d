//! The one task that writes to Redis on this node's behalf: hints as they
//! are queued, and each heartbeat a beat, this node's liveness key, and
//! whatever failed before; every third of the shortest TTL, the renewal of
//! the nicknames and sessions this node holds.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sessions::node_key;
use super::wire::{Body, Envelope};
use super::{lock, Inner, CHANNEL};

/// What waits to be sent.
#[derive(Debug)]
pub(super) enum Outgoing {
    /// A hint for the other nodes, and its room if it has one (a hint that
    /// cannot be sent marks its room).
    Hint {
        /// The envelope, JSON.
        payload: String,
        /// Its room.
        room: Option<String>,
    },
    /// Commands that change what Redis holds (a session's record, a
    /// released nickname): retried until they go through.
    Commands(Vec<redis::Cmd>),
}

/// Hints and commands sent in one round trip, at most.
const BATCH: usize = 256;

/// Commands that could not be sent, most at once; older ones are dropped
/// beyond it (every key they touch has a TTL).
const KEPT_MAX: usize = 65_536;

/// Keeps `commands` to send with the next beat.
pub(super) fn keep_for_later(inner: &Inner, commands: Vec<redis::Cmd>) {
    let mut kept = lock(&inner.kept);
    kept.extend(commands);
    let excess = kept.len().saturating_sub(KEPT_MAX);
    kept.drain(..excess);
}

/// Runs `commands` in one round trip; whether Redis took them in time.
async fn send(conn: &mut MultiplexedConnection, pipe: &redis::Pipeline, timeout: Duration) -> bool {
    match tokio::time::timeout(timeout, pipe.query_async::<()>(conn)).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "Redis refused what this node sent");
            false
        }
        Err(_) => false,
    }
}

/// The task: sends what is queued until `stop` is cancelled.
pub(super) async fn run(
    inner: Arc<Inner>,
    mut queue: mpsc::Receiver<Outgoing>,
    stop: CancellationToken,
) {
    let timeout = inner.flags.cluster_node_timeout;
    let mut beats = tokio::time::interval(inner.flags.cluster_heartbeat);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renewals = tokio::time::interval(inner.renew_every.max(Duration::from_millis(100)));
    renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let beat = Envelope {
        node: inner.node.clone(),
        body: Body::Beat,
    }
    .encode();
    loop {
        let mut pipe = redis::pipe();
        // What to do if the pipeline fails: the rooms whose hints are
        // lost, the commands to try again, the rooms still to be checked.
        let mut rooms: Vec<String> = Vec::new();
        let mut retry: Vec<redis::Cmd> = Vec::new();
        let mut checked: Vec<String> = Vec::new();
        let mut hints = 0;
        tokio::select! {
            _ = stop.cancelled() => return,
            next = queue.recv() => {
                let Some(next) = next else { return };
                // Whatever else is queued goes in the same round trip.
                let mut next = Some(next);
                while let Some(outgoing) = next.take() {
                    match outgoing {
                        Outgoing::Hint { payload, room } => {
                            // Typing and presence are hints too, but only
                            // room events name a room (and count as
                            // published).
                            pipe.cmd("PUBLISH").arg(CHANNEL).arg(payload).ignore();
                            rooms.extend(room);
                            hints += 1;
                        }
                        Outgoing::Commands(commands) => retry.extend(commands),
                    }
                    if hints + retry.len() < BATCH {
                        next = queue.try_recv().ok();
                    }
                }
            },
            _ = beats.tick() => {
                pipe.cmd("PUBLISH").arg(CHANNEL).arg(&beat).ignore();
                pipe.cmd("SET")
                    .arg(node_key(&inner.node))
                    .arg(1)
                    .arg("PX")
                    .arg(timeout.as_millis() as u64)
                    .ignore();
                retry = std::mem::take(&mut *lock(&inner.kept));
                checked = lock(&inner.dirty).drain().collect();
                if !checked.is_empty() {
                    // Ask the others to check the rooms whose hints were lost.
                    let check = Envelope {
                        node: inner.node.clone(),
                        body: Body::Check { rooms: checked.clone() },
                    };
                    pipe.cmd("PUBLISH").arg(CHANNEL).arg(check.encode()).ignore();
                }
            },
            _ = renewals.tick() => {
                if let Ok(mut conn) = inner.connection().await {
                    if inner.holdings.renew(&mut conn, inner.record_ttl).await.is_err() {
                        inner.broken();
                    }
                }
                continue;
            }
        }
        // Not ignored: an error in one of them (a script's) must show.
        for command in &retry {
            pipe.add_command(command.clone());
        }
        let sent = match inner.connection().await {
            Ok(mut conn) => send(&mut conn, &pipe, timeout).await,
            Err(_) => false,
        };
        if sent {
            crate::metrics::published(rooms.len());
            continue;
        }
        inner.broken();
        crate::metrics::publish_failed();
        lock(&inner.dirty).extend(rooms);
        lock(&inner.dirty).extend(checked);
        keep_for_later(&inner, retry);
    }
}
