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

use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;

use parley_protocol::RoomEvent;
use serde::{Deserialize, Serialize};
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

    /// Claims a nickname for a session across the cluster (see
    /// [`NickClaim`]); on success, the token of the session it was taken
    /// from, if it was taken from one.
    fn claim(&self, claim: NickClaim) -> Pending<Option<String>>;

    /// The session of `token`, as its node last recorded it, if it has not
    /// ended (and its node has not been gone for longer than the resume
    /// grace).
    fn session(&self, token: &str) -> Pending<Option<SessionRecord>>;

    /// Records what the session of `token` is now (its rooms changed).
    /// Never waits.
    fn update(&self, token: &str, record: &SessionRecord);

    /// The session of `token` ended here: its nickname is free and it can
    /// no longer be taken back. Never waits.
    fn release(&self, token: &str);

    /// The session of `token` was taken over here: its old node ends it
    /// without telling its rooms it left.
    fn moved(&self, token: &str);

    /// What this node's own members of `room` did: (nickname, joined), in
    /// order. Never waits.
    fn presence(&self, room: &str, changes: Vec<(String, bool)>);

    /// The members of `room` on live nodes: (nickname, node).
    fn members(&self, room: &str) -> Pending<Vec<(String, String)>>;

    /// Every room with members on a live node, and how many.
    fn rooms(&self) -> Pending<Vec<(String, usize)>>;

    /// Reserves `nick` (whose keys are `keys`, its own first) for an
    /// account about to be registered here, unless a session on a live
    /// node holds one of the keys ([`LinkError::Held`]): from then on no
    /// guest's claim on any node gets it, even before the other nodes hear
    /// of the account.
    fn reserve(&self, nick: &str, keys: Vec<String>) -> Pending<()>;

    /// Lifts the reservation of `keys`: the account was not registered
    /// after all, or is deleted. Never waits.
    fn unreserve(&self, keys: Vec<String>);

    /// The account `nick` was registered here (or deleted): the other
    /// nodes reserve its nickname for it (or free it). Never waits.
    fn reserved(&self, nick: &str, registered: bool);
}

/// What a broker's call waiting on the link gives.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, LinkError>> + Send>>;

/// Why a call over the link failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// A session on another node holds the nickname, or one that looks
    /// like it (`exact: false`).
    #[error("{nick:?} is held on another node")]
    Held {
        /// The nickname held.
        nick: String,
        /// Whether it is the very nickname (else a look-alike).
        exact: bool,
    },
    /// The nickname is reserved for an account (a guest's claim).
    #[error("{nick:?} is reserved for an account")]
    Reserved {
        /// The account's nickname.
        nick: String,
    },
    /// The link does not work just now.
    #[error("the link to the other nodes is down: {0}")]
    Down(String),
}

/// A nickname a session wants, cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NickClaim {
    /// The keys that make it unique: its own key first, then the keys of
    /// what looks like it.
    pub keys: Vec<String>,
    /// The session's (new) token.
    pub token: String,
    /// What the session is.
    pub record: SessionRecord,
    /// A session whose claims this one may replace (the session being
    /// taken back), if any.
    pub replaces: Option<String>,
    /// Whether it takes the nickname from whichever session holds it (an
    /// account signing in takes its own session over). A claim without
    /// it (a guest's) is refused a reserved nickname.
    pub force: bool,
}

/// A session as any node may take it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Its nickname.
    pub nick: String,
    /// Whether it is signed in to an account (only that account may take
    /// it back).
    pub account: bool,
    /// The rooms it is in.
    pub rooms: Vec<String>,
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

    /// Another node could not publish some of these rooms' events: check
    /// them against the database.
    fn handle_stale(&self, rooms: Vec<String>);

    /// Node `node` took back the session of `token`: end it here without
    /// telling its rooms.
    fn handle_moved(&self, token: &str, node: &str);

    /// Members of `room` on node `node` joined or left: (nickname, joined).
    fn handle_presence(&self, room: &str, node: &str, changes: Vec<(String, bool)>);

    /// Node `node` fell silent: its members are gone.
    fn handle_node_gone(&self, node: &str);

    /// The account `nick` was registered (or deleted) on another node.
    fn handle_reserved(&self, nick: &str, registered: bool);
}
