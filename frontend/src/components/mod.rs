//! The page, one function component per file.
//!
//! Stable hooks for end-to-end tests (`data-testid`):
//! - join screen: `join-nick`, `join-room`, `join-submit`, `join-error`
//! - chat: `message-list` (with `aria-live="polite"`), each `message` (with
//!   `data-seq`, `data-state` = pending|sent|failed, `data-own`),
//!   `system-line`, `retry`, `new-messages`, `typing-indicator`
//! - composer: `composer` (the textarea), `send-button`, `char-counter`
//! - rooms: `room-tab` (with `data-room`, `data-active`), `room-unread`,
//!   `open-room-input`, `open-room-submit`, `leave-room`
//! - `member-list`, each `member`; `connection-status` (with `data-status` =
//!   idle|connecting|online|reconnecting|offline); `notice`

mod app;
mod composer;
mod connection_status;
mod join_screen;
mod member_list;
mod message_list;
mod room_sidebar;

pub use app::App;
