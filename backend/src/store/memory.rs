//! A [`MessageStore`] in memory: quick, and gone when the process ends.
//!
//! Used by tests and by `--database-url memory`; it keeps the last `per_room`
//! messages of each room, and each room's last `seq` for good.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use parley_protocol::ChatMessage;

use super::{newest_page, MessageStore, NewMessage, Page, Retention, StoreError};

/// Keeps the last `per_room` messages of every room in memory.
#[derive(Debug)]
pub struct MemoryStore {
    /// Messages kept per room; older ones are dropped.
    per_room: usize,
    /// Each room's retained messages plus its last seq.
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

    fn lock(&self) -> MutexGuard<'_, HashMap<String, RoomHistory>> {
        // Every update is a push or a pop, complete before anything can panic.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MessageStore for MemoryStore {
    fn append_batch(&self, batch: &[NewMessage]) -> Result<Vec<ChatMessage>, StoreError> {
        let mut rooms = self.lock();
        let mut stored = Vec::with_capacity(batch.len());
        for new in batch {
            let history = rooms.entry(new.room.clone()).or_default();
            history.last_seq += 1;
            let message = ChatMessage {
                room: new.room.clone(),
                seq: history.last_seq,
                nick: new.nick.clone(),
                text: new.text.clone(),
                ts: new.ts,
                cid: new.cid.clone(),
            };
            history.messages.push_back(message.clone());
            while history.messages.len() > self.per_room {
                history.messages.pop_front();
            }
            stored.push(message);
        }
        Ok(stored)
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        Ok(self.lock().get(room).map_or(0, |h| h.last_seq))
    }

    fn range(&self, room: &str, after: u64, upto: u64, limit: usize) -> Result<Page, StoreError> {
        let rooms = self.lock();
        let Some(history) = rooms.get(room) else {
            return Ok(Page::default());
        };
        let matching = history
            .messages
            .iter()
            .filter(|m| m.seq > after && m.seq <= upto);
        Ok(newest_page(matching, limit))
    }

    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError> {
        let mut rooms = self.lock();
        let mut deleted = 0;
        for history in rooms.values_mut() {
            while deleted < max {
                let Some(oldest) = history.messages.front() else {
                    break;
                };
                let too_many = retention
                    .keep_last
                    .is_some_and(|n| history.messages.len() as u64 > n);
                let too_old = retention
                    .keep_ms
                    .is_some_and(|ms| oldest.ts.saturating_add(ms) < now_ms);
                if !too_many && !too_old {
                    break;
                }
                history.messages.pop_front();
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn new_message(room: &str, text: &str, ts: u64) -> NewMessage {
        NewMessage {
            room: room.into(),
            nick: "n".into(),
            text: text.into(),
            cid: None,
            ts,
        }
    }

    fn seqs(page: &Page) -> Vec<u64> {
        page.messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn assigns_seqs_per_room_and_pages_by_range() {
        let store = MemoryStore::new(100);
        let batch: Vec<_> = (0..10)
            .map(|i| new_message(if i % 2 == 0 { "a" } else { "b" }, "x", i))
            .collect();
        let stored = store.append_batch(&batch).unwrap();
        assert_eq!(
            stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(store.last_seq("a").unwrap(), 5);
        assert_eq!(store.last_seq("c").unwrap(), 0);
        let page = store.range("a", 1, 4, 10).unwrap();
        assert_eq!((seqs(&page), page.more), (vec![2, 3, 4], false));
        let page = store.range("a", 0, 5, 2).unwrap();
        assert_eq!((seqs(&page), page.more), (vec![4, 5], true));
    }

    #[test]
    fn keeps_only_the_newest_but_remembers_the_last_seq() {
        let store = MemoryStore::new(3);
        let batch: Vec<_> = (0..5).map(|i| new_message("a", "x", i)).collect();
        store.append_batch(&batch).unwrap();
        assert_eq!(
            seqs(&store.range("a", 0, u64::MAX, 10).unwrap()),
            vec![3, 4, 5]
        );
        assert_eq!(store.last_seq("a").unwrap(), 5);
    }

    #[test]
    fn prunes_by_count_and_age() {
        let store = MemoryStore::new(100);
        let batch: Vec<_> = (0..10).map(|i| new_message("a", "x", i * 1000)).collect();
        store.append_batch(&batch).unwrap();
        let keep_five = Retention {
            keep_last: Some(5),
            keep_ms: None,
        };
        assert_eq!(store.prune(&keep_five, 0, 2).unwrap(), 2);
        assert_eq!(store.prune(&keep_five, 0, 100).unwrap(), 3);
        let young = Retention {
            keep_last: None,
            keep_ms: Some(2500),
        };
        // Seq n has ts (n - 1) * 1000: at 10 000, seqs 6, 7 and 8 are over 2.5 s old.
        assert_eq!(store.prune(&young, 10_000, 100).unwrap(), 3);
        assert_eq!(
            seqs(&store.range("a", 0, u64::MAX, 100).unwrap()),
            vec![9, 10]
        );
        assert_eq!(store.last_seq("a").unwrap(), 10);
    }
}
