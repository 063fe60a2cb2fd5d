//! Parley's server: a warp + tokio WebSocket hub that relays chat messages
//! between the members of rooms.
//!
//! How the pieces fit (see `docs/architecture.md` for the diagram):
//! [`server`] accepts connections and serves [`routes`]; [`upgrade`] turns
//! `GET /ws` into a WebSocket served by a [`session`] task, which applies
//! [`commands`] to the shared [`hub`]; the hub keeps sessions and [`room`]s,
//! stores messages through the [`committer`] into [`store`], and hands frames to each client's
//! [`outbox`]. Limits come from [`config`].

pub mod commands;
pub mod committer;
pub mod config;
pub mod error;
pub mod hub;
pub mod metrics;
pub mod outbox;
pub mod room;
pub mod routes;
pub mod server;
pub mod session;
pub mod store;
pub mod time;
pub mod upgrade;

pub use config::Config;
