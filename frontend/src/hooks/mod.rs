//! Custom hooks.

mod use_chat;

pub use use_chat::{use_chat, ChatHandle, NICK_KEY};
