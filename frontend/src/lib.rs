//! Parley's browser app.
//!
//! The chat logic is plain Rust with no browser types ([`state`], [`room`],
//! [`text`]), tested natively; the Yew components, hooks and the WebSocket
//! connection turn it into a page.

pub mod room;
pub mod state;
