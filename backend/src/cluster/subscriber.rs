//! Listening to the other nodes: the subscription to the channel, which
//! connects again whenever it breaks or goes quiet, and the watchdog that
//! decides, by this node's own beats, whether the link works, and notices
//! other nodes falling silent.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::wire::{Body, Envelope};
use super::{lock, Inner, CHANNEL};
use crate::broker::BrokerEventHandler;

/// The longest wait between two attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

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

/// When each other node was last heard from.
pub(super) type Peers = Arc<Mutex<HashMap<String, Instant>>>;

/// Listens on the channel, connecting again whenever the link breaks or
/// goes quiet; after each (re)subscription the hub checks every room.
pub(super) async fn run(
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
            let node = envelope.node;
            lock(&peers).insert(node.clone(), Instant::now());
            let Some(hub) = handler.upgrade() else { return };
            match envelope.body {
                Body::Event { event } => {
                    crate::metrics::received();
                    hub.handle_event(event);
                }
                Body::Typing { room, nick } => hub.handle_typing(&room, &nick),
                Body::Check { rooms } => hub.handle_stale(rooms),
                Body::Moved { token } => hub.handle_moved(&token, &node),
                Body::Presence { room, changes } => hub.handle_presence(&room, &node, changes),
                Body::Reserved { nick, registered } => hub.handle_reserved(&nick, registered),
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
pub(super) async fn watchdog(
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
        let gone: Vec<String> = {
            let mut peers = lock(&peers);
            let gone = peers
                .iter()
                .filter(|(_, seen)| now.duration_since(**seen) > timeout)
                .map(|(node, _)| node.clone())
                .collect::<Vec<_>>();
            for node in &gone {
                peers.remove(node);
            }
            crate::metrics::nodes(peers.len());
            gone
        };
        if !gone.is_empty() {
            tracing::info!(
                ?gone,
                "nodes fell silent: their members are gone; checking every room against the database"
            );
            if let Some(hub) = handler.upgrade() {
                for node in &gone {
                    hub.handle_node_gone(node);
                }
                hub.handle_resync();
            }
        }
    }
}
