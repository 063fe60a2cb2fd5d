//! A room's newest events in memory, bounded in count and in bytes.
//!
//! Most joins and catch-ups ask for the last few messages or events;
//! keeping them here answers them without the database, exactly at the
//! seam (under the room's lock). The cache holds events (messages and
//! changes) with the messages in their current state: each change is
//! applied to the cached message it targets as it is recorded. It is
//! contiguous and ends at the room's last seq;
//! it holds at most `--room-cache` messages and `--room-cache-bytes`, and
//! all rooms' caches together at most `--room-caches-total-bytes` (a room
//! that records past that forgets its own oldest first). Replies built
//! from it, or from the store, are cut to `--max-reply-bytes` by [`fit`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parley_protocol::RoomEvent;

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

/// The bytes of text an event carries (text, quote, reactions).
fn text_bytes(event: &RoomEvent) -> usize {
    match event {
        RoomEvent::Message(m) => {
            m.text.len()
                + m.quote.as_ref().map_or(0, |q| q.nick.len() + q.text.len())
                + m.mentions.iter().map(String::len).sum::<usize>()
                + m.reactions
                    .iter()
                    .map(|r| r.emoji.len() + r.nicks.iter().map(|n| n.len() + 3).sum::<usize>())
                    .sum::<usize>()
        }
        RoomEvent::Edited(e) => e.text.len() + e.mentions.iter().map(String::len).sum::<usize>(),
        RoomEvent::Deleted(_) => 0,
        RoomEvent::Reacted(r) => r.emoji.len(),
        RoomEvent::Moderation(m) => {
            m.target.as_ref().map_or(0, String::len) + m.reason.as_ref().map_or(0, String::len)
        }
        RoomEvent::Topic(t) => t.text.len(),
    }
}

/// What an event costs in memory, about.
pub(super) fn cache_cost(event: &RoomEvent) -> usize {
    std::mem::size_of::<RoomEvent>() + event.room().len() + 32 + text_bytes(event)
}

/// An upper bound of an event's size in a JSON frame: text at worst
/// doubles when escaped (control characters other than `\n` and `\t` are
/// refused), plus the field names.
pub(super) fn reply_cost(event: &RoomEvent) -> usize {
    let cid = match event {
        RoomEvent::Message(m) => m.cid.as_ref().map_or(0, String::len),
        _ => 0,
    };
    256 + 2 * (text_bytes(event) + cid) + event.room().len() + 64
}

/// The newest items of `page` whose JSON fits in `max_bytes`; `more` is set
/// if older ones had to be left out.
pub fn fit(mut page: Page<RoomEvent>, max_bytes: usize) -> Page<RoomEvent> {
    let mut total = 0;
    let keep = page
        .items
        .iter()
        .rev()
        .take_while(|e| {
            total += reply_cost(e);
            total <= max_bytes
        })
        .count();
    let cut = page.items.len() - keep;
    if cut > 0 {
        page.items.drain(..cut);
        page.more = true;
    }
    page
}

/// The newest events, contiguous and ending at the room's last seq.
#[derive(Debug)]
pub(super) struct Cache {
    recent: VecDeque<RoomEvent>,
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

    /// Adds the newest event (applying a change to the cached message it
    /// targets), then forgets the oldest while the cache (or all caches
    /// together) is over its limits.
    pub(super) fn push(&mut self, event: RoomEvent) {
        if !matches!(event, RoomEvent::Message(_)) {
            self.apply(&event);
        }
        let cost = cache_cost(&event);
        self.bytes += cost;
        self.all.used.fetch_add(cost, Ordering::AcqRel);
        self.recent.push_back(event);
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

    /// Applies a change to the cached messages it concerns (its target,
    /// and for a deletion the quotes of its answers), keeping the byte
    /// counts right.
    fn apply(&mut self, change: &RoomEvent) {
        let (mut grown, mut shrunk) = (0, 0);
        for event in self.recent.iter_mut() {
            let before = cache_cost(event);
            let changed = match event {
                RoomEvent::Message(message) => message.apply(change),
                _ => false,
            };
            if changed {
                let after = cache_cost(event);
                grown += after.saturating_sub(before);
                shrunk += before.saturating_sub(after);
            }
        }
        self.bytes = self.bytes + grown - shrunk;
        self.all.used.fetch_add(grown, Ordering::AcqRel);
        self.all.used.fetch_sub(shrunk, Ordering::AcqRel);
    }

    /// The newest `limit` events with `seq > after` (the room's last seq
    /// being `last_seq`), if the cache holds all of them; `None`: read the
    /// store.
    pub(super) fn after(&self, after: u64, last_seq: u64, limit: usize) -> Option<Page<RoomEvent>> {
        if after >= last_seq {
            return Some(Page::default());
        }
        let wanted_from = after.max(last_seq.saturating_sub(limit as u64)) + 1;
        let first = self.recent.front()?.seq();
        if first > wanted_from {
            return None;
        }
        let items: Vec<RoomEvent> = self
            .recent
            .iter()
            .filter(|e| e.seq() >= wanted_from)
            .cloned()
            .collect();
        Some(Page {
            more: wanted_from > after + 1,
            items,
        })
    }

    /// The newest `limit` messages, in their current state, if the cache
    /// can tell (it holds that many, or the room's whole history, which
    /// ends at `last_seq`); `None`: read the store.
    pub(super) fn newest_messages(&self, limit: usize, last_seq: u64) -> Option<Page<RoomEvent>> {
        let mut items: Vec<RoomEvent> = self
            .recent
            .iter()
            .rev()
            .filter(|e| matches!(e, RoomEvent::Message(_)))
            .take(limit)
            .cloned()
            .collect();
        let whole_history = match self.recent.front() {
            Some(first) => first.seq() == 1,
            None => last_seq == 0,
        };
        if items.len() < limit && !whole_history {
            return None;
        }
        // Older messages exist unless the cache reaches the first event and
        // holds no more messages than these.
        let held = self
            .recent
            .iter()
            .filter(|e| matches!(e, RoomEvent::Message(_)))
            .count();
        let more = !whole_history || held > items.len();
        items.reverse();
        Some(Page { items, more })
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.all.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}
