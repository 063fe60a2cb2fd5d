//! Parley's server: a warp + tokio WebSocket hub that relays chat messages
//! between the members of rooms.
//!
//! How the pieces fit (see `docs/architecture.md` for the diagram): the
//! binary calls [`server::run`], which serves [`routes`]; [`upgrade`] turns
//! `GET /ws` into a WebSocket served by a [`connection`] task, which applies
//! [`commands`] to the shared [`hub`]; the hub keeps sessions and [`room`]s
//! and queues each message for the [`committer`], which writes batches to
//! the [`store`] and hands them back to the hub to relay into each client's
//! [`outbox`]. Limits come from [`config`]. With several nodes, the hub
//! talks to the others through a [`broker::Broker`], which [`cluster`]
//! implements over Redis.
//!
//! Leaf modules, which import nothing of the crate: [`assets`], [`broker`],
//! [`ids`], [`ending`], [`store`], [`metrics`], [`time`]. The module graph
//! has no cycle (a test checks it).

pub mod accounts;
pub mod admin;
pub mod admission;
pub mod api;
pub mod assets;
pub mod broker;
pub mod budget;
pub mod cluster;
pub mod commands;
pub mod committer;
pub mod config;
pub mod connection;
pub mod ending;
pub mod error;
pub mod http;
pub mod hub;
pub mod ids;
pub mod logs;
pub mod metrics;
pub mod origin;
pub mod outbox;
pub mod room;
pub mod routes;
pub mod server;
pub mod store;
pub mod time;
pub mod upgrade;

pub use config::Config;
