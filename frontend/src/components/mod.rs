//! The page, one function component per file.
//!
//! Stable hooks for end-to-end tests (`data-testid`, and `id` where a label
//! points at the element):
//! - join screen: `join-nick` (id `join-nick`), `join-room` (id `join-room`),
//!   `join-submit`, `join-error` (e.g. the nickname is taken)
//! - chat: `message-list` (with `aria-live="polite"`), each `message` (with
//!   `data-seq` (empty while pending), `data-state` = pending|sent|failed,
//!   `data-own` = true|false; its text is in `.msg-body`), `system-line`
//!   ("mina joined"), `retry` (on a failed message), `new-messages` (the
//!   "N new messages" button), `typing-indicator`
//! - composer: `composer` (the textarea, id `composer`), `send-button`,
//!   `char-counter` (only near the limit)
//! - rooms: `room-tab` (with `data-room`, `data-active` = true|false,
//!   `data-unread` = the count), `room-unread` (the badge, when non-zero),
//!   `open-room-input` (id `open-room`), `open-room-submit`, `leave-room`
//!   (leaves the room shown), `quit` (sign out: leave every room, close 1000)
//! - `member-list`, each `member`; `connection-status` (with `data-status` =
//!   idle|connecting|online|reconnecting|offline); `notice` (a passing error)

mod app;
mod composer;
mod connection_status;
mod dates;
mod emoji_picker;
mod join_screen;
mod line_action;
mod markdown_view;
mod member_list;
mod mention_list;
mod message_line;
mod message_list;
mod message_menu;
mod reaction_chips;
mod reply_quote;
mod room_header;
mod room_sidebar;
mod search_panel;

pub use app::App;
