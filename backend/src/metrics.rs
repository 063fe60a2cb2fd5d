//! The server's Prometheus metrics, named in one place.
//!
//! Code elsewhere calls these small functions instead of the `metrics` macros
//! so that a metric's name and meaning are written down exactly once. They
//! cost next to nothing when no recorder is installed (as in unit tests).

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Open WebSocket connections.
const CONNECTIONS: &str = "parley_connections";
/// Rooms with at least one member.
const ROOMS: &str = "parley_rooms";
/// Chat messages accepted from clients.
const MESSAGES_IN: &str = "parley_messages_in_total";
/// Chat messages delivered into recipients' queues.
const MESSAGES_OUT: &str = "parley_messages_out_total";
/// Frames refused (or, for `typing`, dropped) by a per-connection rate.
const RATE_LIMITED: &str = "parley_rate_limited_total";
/// Connections closed because their outbound queue filled up.
const SLOW_CONSUMERS: &str = "parley_slow_consumer_drops_total";
/// `error` frames sent for bad input.
const PROTOCOL_ERRORS: &str = "parley_protocol_errors_total";
/// WebSocket upgrades refused by the connection limits (503/429).
const WEBSOCKETS_REFUSED: &str = "parley_websockets_refused_total";
/// HTTP connections closed at once because too many were open.
const HTTP_REFUSED: &str = "parley_http_connections_refused_total";
/// Connections closed for sending more frames than their budget allows.
const OVER_BUDGET: &str = "parley_frame_budget_closes_total";

/// Room events this node read from the database because their hint over
/// Redis was late or lost (a cluster's catch-up).
const BACKFILLED: &str = "parley_backfilled_events_total";
/// Room events this node published to the other nodes.
const PUBLISHED: &str = "parley_cluster_published_total";
/// Hints this node could not publish (Redis down, queue full).
const PUBLISH_FAILED: &str = "parley_cluster_publish_failures_total";
/// Room events received from the other nodes.
const RECEIVED: &str = "parley_cluster_received_total";
/// 1 while this node's link to the others (Redis) works, else 0.
const LINK_UP: &str = "parley_cluster_link_up";
/// Other nodes heard from within the node timeout.
const NODES: &str = "parley_cluster_nodes";
/// 1 while the last write to the database worked, 0 after a failed one.
const DATABASE_UP: &str = "parley_database_up";

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe_gauge!(CONNECTIONS, "Open WebSocket connections");
            describe_gauge!(ROOMS, "Rooms with at least one member");
            describe_counter!(MESSAGES_IN, "Chat messages accepted from clients");
            describe_counter!(
                MESSAGES_OUT,
                "Chat messages queued for delivery to recipients"
            );
            describe_counter!(
                RATE_LIMITED,
                "Frames refused or dropped by a per-connection rate limit"
            );
            describe_counter!(
                SLOW_CONSUMERS,
                "Connections closed because they read too slowly"
            );
            describe_counter!(PROTOCOL_ERRORS, "Error frames sent for bad client input");
            describe_counter!(
                WEBSOCKETS_REFUSED,
                "WebSocket upgrades refused by the connection limits"
            );
            describe_counter!(
                HTTP_REFUSED,
                "HTTP connections closed at once because too many were open"
            );
            describe_counter!(
                OVER_BUDGET,
                "Connections closed (4008) for sending more frames than their budget"
            );
            describe_counter!(
                BACKFILLED,
                "Room events read from the database because their hint from another node was late or lost"
            );
            describe_counter!(PUBLISHED, "Room events published to the other nodes");
            describe_counter!(
                PUBLISH_FAILED,
                "Hints that could not be published to the other nodes"
            );
            describe_counter!(RECEIVED, "Room events received from the other nodes");
            describe_gauge!(
                LINK_UP,
                "1 while the link to the other nodes (Redis) works, else 0"
            );
            describe_gauge!(NODES, "Other nodes heard from within the node timeout");
            describe_gauge!(
                DATABASE_UP,
                "1 while the last write to the database worked, 0 after a failed one"
            );
            for name in [
                BACKFILLED,
                PUBLISHED,
                PUBLISH_FAILED,
                RECEIVED,
                MESSAGES_IN,
                MESSAGES_OUT,
                RATE_LIMITED,
                SLOW_CONSUMERS,
                PROTOCOL_ERRORS,
                WEBSOCKETS_REFUSED,
                HTTP_REFUSED,
                OVER_BUDGET,
            ] {
                counter!(name).absolute(0);
            }
            gauge!(CONNECTIONS).set(0.0);
            gauge!(ROOMS).set(0.0);
            gauge!(DATABASE_UP).set(1.0);
            handle
        })
        .clone()
}

/// A WebSocket connection opened.
pub fn connection_opened() {
    gauge!(CONNECTIONS).increment(1.0);
}

/// A WebSocket connection closed.
pub fn connection_closed() {
    gauge!(CONNECTIONS).decrement(1.0);
}

/// The number of rooms changed.
pub fn rooms(count: usize) {
    gauge!(ROOMS).set(count as f64);
}

/// A message was accepted and queued for `recipients` members.
pub fn message_relayed(recipients: usize) {
    counter!(MESSAGES_IN).increment(1);
    counter!(MESSAGES_OUT).increment(recipients as u64);
}

/// A frame was refused (or dropped) by a per-connection rate.
pub fn rate_limited() {
    counter!(RATE_LIMITED).increment(1);
}

/// A client's queue overflowed.
pub fn slow_consumer_dropped() {
    counter!(SLOW_CONSUMERS).increment(1);
}

/// An `error` frame was sent.
pub fn protocol_error() {
    counter!(PROTOCOL_ERRORS).increment(1);
}

/// A WebSocket upgrade was refused by the connection limits.
pub fn websocket_refused() {
    counter!(WEBSOCKETS_REFUSED).increment(1);
}

/// A new HTTP connection was closed at once: too many were open.
pub fn http_refused() {
    counter!(HTTP_REFUSED).increment(1);
}

/// A connection was closed for sending more frames than its budget.
pub fn over_budget() {
    counter!(OVER_BUDGET).increment(1);
}

/// `count` room events were read from the database to fill a gap.
pub fn backfilled(count: usize) {
    counter!(BACKFILLED).increment(count as u64);
}

/// `count` room events were published to the other nodes.
pub fn published(count: usize) {
    counter!(PUBLISHED).increment(count as u64);
}

/// A hint could not be published.
pub fn publish_failed() {
    counter!(PUBLISH_FAILED).increment(1);
}

/// A room event came from another node.
pub fn received() {
    counter!(RECEIVED).increment(1);
}

/// The link to the other nodes went up or down.
pub fn link_up(up: bool) {
    gauge!(LINK_UP).set(if up { 1.0 } else { 0.0 });
}

/// How many other nodes were heard from lately.
pub fn nodes(count: usize) {
    gauge!(NODES).set(count as f64);
}

/// Whether the last write to the database worked.
pub fn database_up(up: bool) {
    gauge!(DATABASE_UP).set(if up { 1.0 } else { 0.0 });
}
