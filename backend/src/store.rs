//! Where chat history is kept.
//!
//! The hub talks to history only through [`MessageStore`], a deliberately
//! narrow interface: append one message, and read pages by `seq`. That keeps
//! the hub ignorant of whether messages live in memory, in SQLite or in a
//! networked database. [`MemoryStore`] keeps the most recent messages of each
//! room in memory and forgets them when the process ends.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use parley_protocol::ChatMessage;
use thiserror::Error;

/// A failure of the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The message's `seq` does not follow the room's last one.
    #[error("room {room}: seq {got} does not follow {last}")]
    OutOfOrder {
        /// The room.
        room: String,
        /// The room's last stored seq.
        last: u64,
        /// The seq that was offered.
        got: u64,
    },
    /// The backing storage failed.
    #[error("storage failed: {0}")]
    Backend(String),
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// True when messages exist beyond this page in the direction read
    /// (older ones for [`MessageStore::before`], ones between the cursor and
    /// the page for [`MessageStore::after`]).
    pub more: bool,
}

/// Chat history, per room, ordered by `seq`.
///
/// The hub calls these methods while it holds the room's lock, which is what
/// makes `seq` gap-free and the join seam exact; implementations must
/// therefore be quick and must not block on anything but their own storage.
pub trait MessageStore: Send + Sync + 'static {
    /// Appends a message whose `seq` is the room's last `seq` plus one.
    fn append(&self, message: &ChatMessage) -> Result<(), StoreError>;

    /// The room's highest `seq`, 0 for a room with no messages.
    fn last_seq(&self, room: &str) -> Result<u64, StoreError>;

    /// The newest `limit` messages with `seq > after`; `more` says whether
    /// older ones (still after `after`) were left out.
    fn after(&self, room: &str, after: u64, limit: usize) -> Result<Page, StoreError>;

    /// The newest `limit` messages with `seq < before`; `more` says whether
    /// still older ones exist.
    fn before(&self, room: &str, before: u64, limit: usize) -> Result<Page, StoreError>;
}

/// Keeps the last `per_room` messages of every room in memory.
#[derive(Debug)]
pub struct MemoryStore {
    /// Messages kept per room; older ones are dropped.
    per_room: usize,
    /// Each room's retained messages plus its last seq (which outlives them).
    rooms: Mutex<HashMap<String, RoomHistory>>,
}

/// One room's retained messages.
#[derive(Debug, Default)]
struct RoomHistory {
    /// Highest seq ever appended.
    last_seq: u64,
    /// The retained messages, oldest first.
    messages: VecDeque<ChatMessage>,
}

impl MemoryStore {
    /// A store that keeps the last `per_room` messages of each room.
    pub fn new(per_room: usize) -> Self {
        MemoryStore {
            per_room,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomHistory>> {
        // A panic elsewhere cannot leave the map half-updated (every update is
        // a single push or pop), so a poisoned lock is still safe to use.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The newest `limit` of `matching` messages, and whether any were left out.
fn newest<'a>(matching: impl DoubleEndedIterator<Item = &'a ChatMessage>, limit: usize) -> Page {
    let mut messages: Vec<ChatMessage> = matching
        .rev()
        .take(limit.saturating_add(1))
        .cloned()
        .collect();
    let more = messages.len() > limit;
    messages.truncate(limit);
    messages.reverse();
    Page { messages, more }
}

impl MessageStore for MemoryStore {
    fn append(&self, message: &ChatMessage) -> Result<(), StoreError> {
        let mut rooms = self.lock();
        let history = rooms.entry(message.room.clone()).or_default();
        if message.seq != history.last_seq + 1 {
            return Err(StoreError::OutOfOrder {
                room: message.room.clone(),
                last: history.last_seq,
                got: message.seq,
            });
        }
        history.last_seq = message.seq;
        history.messages.push_back(message.clone());
        while history.messages.len() > self.per_room {
            history.messages.pop_front();
        }
        Ok(())
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        Ok(self.lock().get(room).map_or(0, |h| h.last_seq))
    }

    fn after(&self, room: &str, after: u64, limit: usize) -> Result<Page, StoreError> {
        let rooms = self.lock();
        let Some(history) = rooms.get(room) else {
            return Ok(Page::default());
        };
        Ok(newest(
            history.messages.iter().filter(|m| m.seq > after),
            limit,
        ))
    }

    fn before(&self, room: &str, before: u64, limit: usize) -> Result<Page, StoreError> {
        let rooms = self.lock();
        let Some(history) = rooms.get(room) else {
            return Ok(Page::default());
        };
        Ok(newest(
            history.messages.iter().filter(|m| m.seq < before),
            limit,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(room: &str, seq: u64) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            seq,
            nick: "n".into(),
            text: format!("m{seq}"),
            ts: seq,
            cid: None,
        }
    }

    fn seqs(page: &Page) -> Vec<u64> {
        page.messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn pages_by_seq_in_both_directions() {
        let store = MemoryStore::new(100);
        for seq in 1..=10 {
            store.append(&msg("a", seq)).unwrap();
        }
        assert_eq!(store.last_seq("a").unwrap(), 10);
        assert_eq!(store.last_seq("b").unwrap(), 0);
        let page = store.after("a", 7, 10).unwrap();
        assert_eq!((seqs(&page), page.more), (vec![8, 9, 10], false));
        let page = store.after("a", 2, 3).unwrap();
        assert_eq!((seqs(&page), page.more), (vec![8, 9, 10], true));
        let page = store.before("a", 5, 2).unwrap();
        assert_eq!((seqs(&page), page.more), (vec![3, 4], true));
        let page = store.before("a", 3, 5).unwrap();
        assert_eq!((seqs(&page), page.more), (vec![1, 2], false));
    }

    #[test]
    fn keeps_only_the_newest_but_remembers_the_last_seq() {
        let store = MemoryStore::new(3);
        for seq in 1..=5 {
            store.append(&msg("a", seq)).unwrap();
        }
        assert_eq!(seqs(&store.after("a", 0, 10).unwrap()), vec![3, 4, 5]);
        assert_eq!(store.last_seq("a").unwrap(), 5);
    }

    #[test]
    fn refuses_gaps_and_duplicates() {
        let store = MemoryStore::new(3);
        store.append(&msg("a", 1)).unwrap();
        assert!(store.append(&msg("a", 1)).is_err());
        assert!(store.append(&msg("a", 3)).is_err());
    }
}
