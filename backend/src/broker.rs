//! The seam between the hub and whatever links it to other nodes.
//!
//! One node needs no broker. Several nodes sharing one database each have
//! one (`--redis-url`: [`crate::cluster`]): the hub hands it every room
//! event it committed and every typing signal, and the broker hands the
//! other nodes' back through a [`BrokerEventHandler`] (the hub), as
//! centrifuge names that return edge. The link is only a *hint*: the
//! database is the truth and gives each room event its `seq`, so a hint
//! that never arrives costs latency, never a message (the hub fetches
//! whatever a gap in `seq` shows it missed; see `hub/catch_up.rs`).
//!
//! A leaf: it knows the protocol's types and nothing of the crate.

use std::sync::Weak;

use parley_protocol::RoomEvent;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What carries room events and typing between nodes.
pub trait Broker: Send + Sync + std::fmt::Debug {
    /// Starts the broker's tasks, which hand what the other nodes publish
    /// to `handler` until `stop` is cancelled.
    fn start(
        &self,
        handler: Weak<dyn BrokerEventHandler>,
        stop: CancellationToken,
    ) -> Vec<JoinHandle<()>>;

    /// A room event was committed on this node: tell the others. Never
    /// waits; a hint that cannot be sent is made up for later.
    fn publish(&self, event: &RoomEvent);

    /// Someone on this node is typing in `room`.
    fn typing(&self, room: &str, nick: &str);

    /// Whether the link works right now. While it does not, the other
    /// nodes would not hear of what is said here, so sends are refused
    /// with `busy`.
    fn is_up(&self) -> bool;
}

/// The hub, as the broker calls it back.
pub trait BrokerEventHandler: Send + Sync {
    /// Another node committed `event`. It may come twice, late, or after
    /// a later one: the handler delivers each `seq` once and in order.
    fn handle_event(&self, event: RoomEvent);

    /// Someone on another node is typing in `room`.
    fn handle_typing(&self, room: &str, nick: &str);

    /// Hints may have been lost (the link came back, or a node went
    /// quiet): check every room against the database.
    fn handle_resync(&self);
}
