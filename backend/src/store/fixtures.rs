//! Short constructors for the changes the store tests write, shared by the
//! SQLite and the in-memory store's tests so both read alike.

use super::Change;

/// A message without reply or mentions.
pub fn message(text: &str) -> Change {
    Change::Message {
        text: text.into(),
        reply_to: None,
        mentions: vec![],
    }
}

/// A message answering `to`.
pub fn reply(text: &str, to: u64) -> Change {
    Change::Message {
        text: text.into(),
        reply_to: Some(to),
        mentions: vec![],
    }
}

/// A new text for `target`.
pub fn edit(target: u64, text: &str) -> Change {
    Change::Edit {
        target,
        text: text.into(),
        mentions: vec![],
    }
}

/// A reaction given (`on`) or taken back.
pub fn react(target: u64, emoji: &str, on: bool) -> Change {
    Change::React {
        target,
        emoji: emoji.into(),
        on,
    }
}
