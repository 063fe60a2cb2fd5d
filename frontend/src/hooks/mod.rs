//! Custom hooks, and the store behind them.

mod store;
mod use_chat;

pub use store::{ChatHandle, MUTED_KEY, NICK_KEY};
pub use use_chat::{use_chat, ChatProvider, ChatProviderProps};
