//! A room's newest messages in memory, bounded in count and in bytes.
//!
//! Most joins and catch-ups ask for the last few messages; keeping them
//! here answers them without the database, exactly at the seam (under the
//! room's lock). The cache is contiguous and ends at the room's last seq;
//! it holds at most `--room-cache` messages and `--room-cache-bytes`, and
//! all rooms' caches together at most `--room-caches-total-bytes` (a room
//! that records past that forgets its own oldest first). Replies built
//! from it, or from the store, are cut to `--max-reply-bytes` by [`fit`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parley_protocol::ChatMessage;

use crate::store::Page;

/// A byte count shared by several rooms, and its cap.
#[derive(Debug)]
pub struct SharedBytes {
    used: AtomicUsize,
    max: usize,
}

impl SharedBytes {
    /// Nothing used yet, at most `max`.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(SharedBytes {
            used: AtomicUsize::new(0),
            max,
        })
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// What a message costs in memory, about.
pub(super) fn cache_cost(message: &ChatMessage) -> usize {
    std::mem::size_of::<ChatMessage>()
        + message.room.len()
        + message.nick.len()
        + message.text.len()
        + message.cid.as_ref().map_or(0, String::len)
}

/// An upper bound of a message's size in a JSON frame: the text and cid at
/// worst double when escaped (control characters other than `\n` and `\t`
/// are refused).
pub(super) fn reply_cost(message: &ChatMessage) -> usize {
    96 + 2 * message.text.len()
        + message.nick.len()
        + message.room.len()
        + message.cid.as_ref().map_or(0, |c| 2 * c.len())
}

/// The newest messages of `page` whose JSON fits in `max_bytes`; `more` is
/// set if older ones had to be left out.
pub fn fit(mut page: Page, max_bytes: usize) -> Page {
    let mut total = 0;
    let keep = page
        .messages
        .iter()
        .rev()
        .take_while(|m| {
            total += reply_cost(m);
            total <= max_bytes
        })
        .count();
    let cut = page.messages.len() - keep;
    if cut > 0 {
        page.messages.drain(..cut);
        page.more = true;
    }
    page
}

/// The newest messages, contiguous and ending at the room's last seq.
#[derive(Debug)]
pub(super) struct Cache {
    recent: VecDeque<ChatMessage>,
    /// What `recent` costs in memory.
    bytes: usize,
    max_messages: usize,
    max_bytes: usize,
    all: Arc<SharedBytes>,
}

impl Cache {
    pub(super) fn new(max_messages: usize, max_bytes: usize, all: Arc<SharedBytes>) -> Self {
        Cache {
            recent: VecDeque::new(),
            bytes: 0,
            max_messages,
            max_bytes,
            all,
        }
    }

    /// Forgets everything (something was committed that the room never saw).
    pub(super) fn clear(&mut self) {
        self.recent.clear();
        self.all.used.fetch_sub(self.bytes, Ordering::AcqRel);
        self.bytes = 0;
    }

    /// Adds the newest message, then forgets the oldest while the cache (or
    /// all caches together) is over its limits.
    pub(super) fn push(&mut self, message: ChatMessage) {
        let cost = cache_cost(&message);
        self.bytes += cost;
        self.all.used.fetch_add(cost, Ordering::AcqRel);
        self.recent.push_back(message);
        while self.recent.len() > self.max_messages
            || self.bytes > self.max_bytes
            || self.all.used() > self.all.max
        {
            let Some(oldest) = self.recent.pop_front() else {
                break;
            };
            let cost = cache_cost(&oldest);
            self.bytes -= cost;
            self.all.used.fetch_sub(cost, Ordering::AcqRel);
        }
    }

    /// The newest `limit` messages with `seq > after` (the room's last seq
    /// being `last_seq`), if the cache holds all of them; `None`: read the
    /// store.
    pub(super) fn after(&self, after: u64, last_seq: u64, limit: usize) -> Option<Page> {
        if after >= last_seq {
            return Some(Page::default());
        }
        let wanted_from = after.max(last_seq.saturating_sub(limit as u64)) + 1;
        let first = self.recent.front()?.seq;
        if first > wanted_from {
            return None;
        }
        let messages: Vec<ChatMessage> = self
            .recent
            .iter()
            .filter(|m| m.seq >= wanted_from)
            .cloned()
            .collect();
        Some(Page {
            more: wanted_from > after + 1,
            messages,
        })
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.all.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}
