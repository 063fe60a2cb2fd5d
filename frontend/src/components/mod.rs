//! The page, one function component per file.
//!
//! Stable hooks for end-to-end tests (`data-testid`, and `id` where a label
//! points at the element):
//! - join screen: `join-nick` (id `join-nick`), `join-room` (id `join-room`),
//!   `join-submit` ("Join as guest"), `join-error` (e.g. the nickname is
//!   taken or reserved by an account); the switch `mode-guest`,
//!   `mode-sign-in`, `mode-create` (with `aria-pressed`); `continue-as`
//!   ("Continue as NICK", when the browser is signed in) and
//!   `forget-account` (its "Sign out")
//! - account forms: `sign-in-form` or `create-form`, `account-nick` (id
//!   `account-nick`), `account-password` (id `account-password`),
//!   `account-confirm` (create only), `account-room`, `account-submit`,
//!   `account-error` (the server's refusal, with `data-field` =
//!   nick|password|form: shown next to that field)
//! - chat: `message-list` (with `aria-live="polite"`), each `message` (with
//!   `data-seq` (empty while pending), `data-state` = pending|sent|failed,
//!   `data-own` = true|false, `data-mention` = true|false (it names the
//!   reader), `data-deleted` = true|false, `data-flash` = true|false (just
//!   gone to); its text is in `.msg-body`, or `deleted-body` ("message
//!   deleted")), `edited` ("(edited)"), `reply-quote` (with
//!   `data-reply-to`), `reaction` (a chip, with `data-emoji`, `data-count`,
//!   `data-mine`, `aria-pressed`), `system-line` ("mina joined"), `retry`
//!   (on a failed message), `new-messages` (the "N new messages" button),
//!   `typing-indicator`
//! - a message's actions: `message-actions` (the "⋯" button, with
//!   `aria-expanded`), `message-menu`, `action-reply`, `action-react`,
//!   `action-edit`, `action-delete`, `confirm-delete`, `cancel-delete`,
//!   `emoji-picker`, each `emoji` (with `data-emoji`)
//! - composer: `composer` (the textarea, id `composer`), `send-button`,
//!   `char-counter` (only near the limit), `compose-bar` (replying to or
//!   editing), `cancel-compose`, `mention-list` (id `mention-list`), each
//!   `mention-option` (ids `mention-0`, …)
//! - rooms: `room-tab` (with `data-room`, `data-active` = true|false,
//!   `data-unread` = the count, `data-mentions`, `data-muted`),
//!   `room-unread` (the badge, when non-zero), `room-mentions` (the "@N"
//!   badge, unless muted), `open-room-input` (id `open-room`),
//!   `open-room-submit`, `leave-room` (leaves the room shown), `mute-room`
//!   (with `aria-pressed`), `open-search`, `enable-notifications` (until the
//!   browser was asked), `quit` (sign out: leave every room, close 1000; an account also
//!   `POST /api/logout`)
//! - search: `search-panel`, `search-input` (id `search-input`),
//!   `search-submit`, `search-here` (only the room shown), `search-close`,
//!   `search-status`, `search-results`, each `search-hit` (with `data-room`,
//!   `data-seq`; the words found in `mark`), `search-more`
//! - rooms people run: `room-title` (the header's "#rust" or "@mina"),
//!   `room-topic` (as text), `room-settings` (owner, ops, server admins);
//!   the dialog `settings-dialog` (`role=dialog`, labelled by
//!   `settings-title`), `settings-error`, `settings-topic` (id
//!   `settings-topic`), `settings-topic-save`, `mode-accounts-only`,
//!   `mode-invite-only` (checkboxes), `settings-invite` (id
//!   `settings-invite`), `settings-invite-submit`, `settings-members`,
//!   each `settings-member` (with `data-nick`), `settings-modlog-load`,
//!   `settings-modlog`, each `modlog-entry`, `settings-modlog-empty`,
//!   `settings-close`; `removed-notice` ("You were removed from #rust by
//!   ana: spam", `role=alert`); `muted-note` (beside a disabled composer)
//! - member menu: each `member` has `data-nick`; `member-button` (with
//!   `data-nick`, `aria-haspopup=menu`, `aria-expanded`), `member-menu`
//!   (`role=menu`), `menu-message`, `menu-kick`, `menu-ban`, `menu-mute`
//!   and `menu-op` (with `data-on` = what a click asks); `reason-form`,
//!   `reason-input`, `reason-submit`, `reason-cancel` (kick or ban);
//!   `role-badge` (with `data-role` = owner|op), `muted-badge`
//! - direct messages: `dm-list` (under "Direct messages"), each `dm-tab`
//!   (with `data-room` = the `dm:…` name, `data-title` = "@mina", and the
//!   same `data-active`, `data-unread` and badges as `room-tab`)
//! - `member-list`, each `member`; `account-badge` beside one's own name
//!   (with `data-account` = true ("signed in") | false ("guest")); `connection-status` (with `data-status` =
//!   idle|connecting|online|reconnecting|offline); `notice` (a passing error)

mod account_form;
mod app;
mod composer;
mod connection_status;
mod dates;
mod emoji_picker;
mod guest_form;
mod join_screen;
mod line_action;
mod markdown_view;
mod member_list;
mod member_menu;
mod mention_list;
mod message_line;
mod message_list;
mod message_menu;
mod reaction_chips;
mod reply_quote;
mod room_header;
mod room_settings;
mod room_sidebar;
mod search_panel;

pub use app::App;
