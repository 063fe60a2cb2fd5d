//! Custom hooks, and the store behind them.

mod store;
mod use_chat;
mod use_notifications;
mod use_popup;
mod use_shortcuts;

pub use store::{ChatHandle, MUTED_KEY, NICK_KEY};
pub use use_chat::{use_chat, ChatProvider, ChatProviderProps};
pub use use_notifications::{use_notifications, Permission};
pub use use_popup::{use_popup, Popup};
pub use use_shortcuts::use_shortcuts;
