//! A [`MessageStore`] in memory: quick, and gone when the process ends.
//!
//! Used by tests and by `--database-url memory`; it keeps the last
//! `per_room` events of each room (and each room's last `seq` for good),
//! with the same rules and the same search as the SQLite store, so tests
//! on it mean something for the real one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use parley_protocol::{
    name_key, quote_of, ChatMessage, Deleted, Edited, Quote, Reacted, Reactions, RoomEvent,
    SearchHit,
};

use super::search::word_matches;
use super::{
    newest_page, Applied, Change, Found, MessageStore, NewEvent, Page, Refusal, Retention,
    RoomControl, Rules, Search, StoreError,
};

/// Keeps the last `per_room` events of every room in memory.
#[derive(Debug)]
pub struct MemoryStore {
    /// Events kept per room; older ones are dropped.
    per_room: usize,
    /// Each room's events plus its last seq.
    rooms: Mutex<HashMap<String, RoomHistory>>,
    /// Accounts and tokens.
    accounts: Mutex<accounts::Accounts>,
}

/// One room's retained events (messages in their current state).
#[derive(Debug, Default)]
struct RoomHistory {
    /// Highest seq ever appended.
    last_seq: u64,
    /// The retained events, oldest first.
    events: VecDeque<RoomEvent>,
    /// Who runs the room (kept whatever retention drops).
    control: RoomControl,
}

impl RoomHistory {
    /// The message `seq`, if it is kept and not deleted.
    fn live(&mut self, seq: u64) -> Result<&mut ChatMessage, Refusal> {
        let at = self
            .events
            .binary_search_by_key(&seq, RoomEvent::seq)
            .map_err(|_| Refusal::NoSuchMessage)?;
        match &mut self.events[at] {
            RoomEvent::Message(m) if !m.deleted => Ok(m),
            _ => Err(Refusal::NoSuchMessage),
        }
    }

    /// Checks and applies one event as `seq`.
    fn apply(&mut self, new: &NewEvent, seq: u64, rules: &Rules) -> Applied {
        let (room, nick, ts) = (new.room.clone(), new.nick.clone(), new.ts);
        let event = match &new.change {
            Change::Message {
                text,
                reply_to,
                mentions,
            } => {
                let quote = match reply_to {
                    Some(answered) => {
                        let answered = self.live(*answered)?;
                        Some(Quote {
                            nick: answered.nick.clone(),
                            text: quote_of(&answered.text),
                        })
                    }
                    None => None,
                };
                RoomEvent::Message(ChatMessage {
                    room,
                    seq,
                    nick,
                    text: text.clone(),
                    ts,
                    cid: new.cid.clone(),
                    reply_to: *reply_to,
                    quote,
                    mentions: mentions.clone(),
                    ..ChatMessage::default()
                })
            }
            Change::Edit {
                target,
                text,
                mentions,
            } => {
                let message = self.live(*target)?;
                rules.may_edit(&nick, &message.nick, message.ts, ts)?;
                message.text = text.clone();
                message.mentions = mentions.clone();
                message.edited_ts = Some(ts);
                RoomEvent::Edited(Edited {
                    room,
                    seq,
                    target: *target,
                    nick,
                    text: text.clone(),
                    mentions: mentions.clone(),
                    ts,
                })
            }
            Change::Delete { target } => {
                let message = self.live(*target)?;
                rules.may_delete(&nick, &message.nick)?;
                message.text.clear();
                message.mentions.clear();
                message.reactions.clear();
                message.deleted = true;
                self.erase(*target);
                RoomEvent::Deleted(Deleted {
                    room,
                    seq,
                    target: *target,
                    nick,
                    ts,
                })
            }
            Change::Moderate { actor, action } => {
                self.control.authorize(actor, action)?;
                self.control.apply(actor, action, ts);
                self.control.event(&room, seq, &nick, action, ts)
            }
            Change::React { target, emoji, on } => {
                let message = self.live(*target)?;
                react(message, &nick, emoji, *on, rules)?;
                RoomEvent::Reacted(Reacted {
                    room,
                    seq,
                    target: *target,
                    nick,
                    emoji: emoji.clone(),
                    on: *on,
                    ts,
                })
            }
        };
        Ok(event)
    }

    /// Erases a deleted message's text from its edits and its answers' quotes.
    fn erase(&mut self, target: u64) {
        for event in self.events.iter_mut() {
            match event {
                RoomEvent::Edited(e) if e.target == target => {
                    e.text.clear();
                    e.mentions.clear();
                }
                RoomEvent::Message(m) if m.reply_to == Some(target) => {
                    if let Some(quote) = &mut m.quote {
                        quote.text.clear();
                    }
                }
                _ => {}
            }
        }
    }
}

/// Gives or takes back `nick`'s `emoji` on `message`.
fn react(
    message: &mut ChatMessage,
    nick: &str,
    emoji: &str,
    on: bool,
    rules: &Rules,
) -> Result<(), Refusal> {
    let at = message.reactions.iter().position(|r| r.emoji == emoji);
    match (at, on) {
        (Some(at), true) => {
            let r = &mut message.reactions[at];
            if !r.nicks.iter().any(|n| n == nick) {
                r.nicks.push(nick.to_owned());
                r.count += 1;
            }
        }
        (None, true) => {
            rules.may_react(message.reactions.len(), false)?;
            message.reactions.push(Reactions {
                emoji: emoji.to_owned(),
                count: 1,
                nicks: vec![nick.to_owned()],
            });
        }
        (Some(at), false) => {
            let r = &mut message.reactions[at];
            r.nicks.retain(|n| n != nick);
            r.count = r.nicks.len() as u32;
            if r.nicks.is_empty() {
                message.reactions.remove(at);
            }
        }
        (None, false) => {}
    }
    Ok(())
}

impl MemoryStore {
    /// A store that keeps the last `per_room` events of each room.
    pub fn new(per_room: usize) -> Self {
        MemoryStore {
            per_room,
            rooms: Mutex::new(HashMap::new()),
            accounts: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, RoomHistory>> {
        // Every update completes before anything can panic.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MessageStore for MemoryStore {
    fn append_batch(&self, batch: &[NewEvent], rules: &Rules) -> Result<Vec<Applied>, StoreError> {
        let mut rooms = self.lock();
        let mut applied = Vec::with_capacity(batch.len());
        for new in batch {
            let history = rooms.entry(new.room.clone()).or_default();
            let outcome = history.apply(new, history.last_seq + 1, rules);
            if let Ok(event) = &outcome {
                history.last_seq += 1;
                history.events.push_back(event.clone());
                while history.events.len() > self.per_room {
                    history.events.pop_front();
                }
            }
            applied.push(outcome);
        }
        Ok(applied)
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        Ok(self.lock().get(room).map_or(0, |h| h.last_seq))
    }

    fn events(
        &self,
        room: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Page<RoomEvent>, StoreError> {
        let rooms = self.lock();
        let Some(history) = rooms.get(room) else {
            return Ok(Page::default());
        };
        let matching = history
            .events
            .iter()
            .filter(|e| e.seq() > after && e.seq() <= upto)
            .cloned();
        Ok(newest_page(matching, limit))
    }

    fn messages(
        &self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<Page<ChatMessage>, StoreError> {
        let rooms = self.lock();
        let Some(history) = rooms.get(room) else {
            return Ok(Page::default());
        };
        let matching = history.events.iter().filter_map(|e| match e {
            RoomEvent::Message(m) if m.seq < before => Some(m.clone()),
            _ => None,
        });
        Ok(newest_page(matching.collect::<Vec<_>>().into_iter(), limit))
    }

    fn search(&self, search: &Search) -> Result<Found, StoreError> {
        let rooms = self.lock();
        // Newest first across rooms, by time then room then seq. The cursor
        // counts the older hits still to come: new messages only ever come
        // first, so it stays right while they arrive.
        let mut found: Vec<SearchHit> = search
            .rooms
            .iter()
            .filter_map(|r| rooms.get(r))
            .flat_map(|h| h.events.iter())
            .filter_map(|e| match e {
                RoomEvent::Message(m)
                    if !m.deleted && search.nick.as_ref().is_none_or(|n| *n == m.nick) =>
                {
                    word_matches(&m.text, &search.words).map(|matches| SearchHit {
                        room: m.room.clone(),
                        seq: m.seq,
                        nick: m.nick.clone(),
                        ts: m.ts,
                        text: m.text.clone(),
                        matches,
                    })
                }
                _ => None,
            })
            .collect();
        if search.words.is_empty() {
            found.clear();
        }
        found.sort_by(|a, b| (b.ts, &b.room, b.seq).cmp(&(a.ts, &a.room, a.seq)));
        let remaining = search
            .before
            .map_or(found.len(), |c| (c as usize).min(found.len()));
        let hits: Vec<SearchHit> = found[found.len() - remaining..]
            .iter()
            .take(search.limit)
            .cloned()
            .collect();
        let left = remaining - hits.len();
        Ok(Found {
            next: (left > 0).then_some(left as u64),
            hits,
        })
    }

    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError> {
        let mut rooms = self.lock();
        let mut deleted = 0;
        for history in rooms.values_mut() {
            while deleted < max {
                let Some(oldest) = history.events.front() else {
                    break;
                };
                let ts = oldest.ts();
                let too_many = retention
                    .keep_last
                    .is_some_and(|n| oldest.seq() + n <= history.last_seq);
                let too_old = retention
                    .keep_ms
                    .is_some_and(|ms| ts.saturating_add(ms) < now_ms);
                if !too_many && !too_old {
                    break;
                }
                history.events.pop_front();
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    fn control(&self, room: &str) -> Result<RoomControl, StoreError> {
        Ok(self
            .lock()
            .get(room)
            .map(|h| h.control.clone())
            .unwrap_or_default())
    }

    fn modlog(&self, room: &str, before: u64, limit: usize) -> Result<Page<RoomEvent>, StoreError> {
        let rooms = self.lock();
        let Some(history) = rooms.get(room) else {
            return Ok(Page::default());
        };
        let mut older = history.events.iter().rev().filter(|e| {
            e.seq() < before && matches!(e, RoomEvent::Moderation(_) | RoomEvent::Topic(_))
        });
        let items: Vec<RoomEvent> = older.by_ref().take(limit).cloned().collect();
        Ok(Page {
            items,
            more: older.next().is_some(),
        })
    }

    fn dm_between(&self, a: &str, b: &str) -> Result<Option<String>, StoreError> {
        let rooms = self.lock();
        let mut found = rooms.iter().filter_map(|(name, history)| {
            let parties = history.control.dm.as_ref()?;
            let keys = parties.each_ref().map(|p| name_key(p));
            let between = (keys[0] == a && keys[1] == b) || (keys[0] == b && keys[1] == a);
            between.then(|| name.clone())
        });
        Ok(found.next())
    }

    fn dms_of(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let rooms = self.lock();
        let mut found: Vec<String> = rooms
            .iter()
            .filter(|(_, history)| {
                history
                    .control
                    .dm
                    .as_ref()
                    .is_some_and(|parties| parties.iter().any(|p| name_key(p) == key))
            })
            .map(|(name, _)| name.clone())
            .collect();
        found.sort();
        Ok(found)
    }
}

mod accounts;
#[cfg(test)]
mod tests;
