//! Parley's browser app.
//!
//! The chat logic is plain Rust with no browser types ([`state`], with one
//! room's lines in [`state::room`], [`text`], and the safe Markdown subset
//! of [`markdown`]), tested natively with `cargo test`. [`connection`]
//! keeps the WebSocket alive, [`api`] calls the account routes over HTTP,
//! [`hooks`] hold the store, and [`components`] draw the page.

pub mod api;
pub mod components;
pub mod connection;
pub mod hooks;
pub mod markdown;
pub mod state;
pub mod text;
