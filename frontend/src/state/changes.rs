//! How the changes to a room's messages are applied: the server's
//! (`edited`, `deleted`, `reacted`, live or replayed by a catch-up) and the
//! reader's own (shown at once, confirmed by their `ack`, dropped on an
//! `error`).
//!
//! Every change is a room event with its own `seq`, and the server's are
//! applied as set operations on the line they target: a catch-up may replay
//! a change the app already applied (or a message already in its current
//! state), and applying it again changes nothing. A line that a change
//! would not alter is not touched, so it keeps its pointer (see `room.rs`).

use parley_protocol::RoomEvent;

use super::line::{names, Change, ChangeKind};
use super::room::{Compose, Line, RoomView};

impl RoomView {
    /// Applies one event of the room; returns whether a new line appeared.
    pub fn apply(&mut self, event: RoomEvent, me: &str) -> bool {
        self.last_seq = self.last_seq.max(event.seq());
        match event {
            RoomEvent::Message(message) => self.insert(message, me),
            RoomEvent::Moderation(_) | RoomEvent::Topic(_) => {
                self.run_event(&event, me);
                false
            }
            RoomEvent::Edited(edit) => {
                let (ts, mentions_me) = (edit.ts as f64, names(&edit.mentions, me));
                if self
                    .line(edit.target)
                    .is_some_and(|l| l.edit_changes(&edit.text, ts, mentions_me))
                {
                    let line = self.line_mut(edit.target).expect("found above");
                    line.apply_edit(&edit.text, ts, mentions_me);
                }
                false
            }
            RoomEvent::Deleted(deletion) => {
                if self
                    .line(deletion.target)
                    .is_some_and(|l| !l.deleted || !l.changes.is_empty())
                {
                    self.line_mut(deletion.target)
                        .expect("found above")
                        .apply_delete();
                }
                if matches!(self.compose, Compose::Edit(s) | Compose::Reply(s) if s == deletion.target)
                {
                    self.compose = Compose::New;
                }
                false
            }
            RoomEvent::Reacted(reaction) => {
                let (nick, emoji, on) = (&reaction.nick, &reaction.emoji, reaction.on);
                if self
                    .line(reaction.target)
                    .is_some_and(|l| l.reaction_changes(nick, emoji, on, me))
                {
                    let line = self.line_mut(reaction.target).expect("found above");
                    line.apply_reaction(nick, emoji, on, me);
                }
                false
            }
        }
    }

    /// The history of a `joined`: without `since`, the newest messages in
    /// their current state; with it, everything after it, in order. A page
    /// that does not reach back to what is shown (`more` after an absence)
    /// replaces the old lines, so no gap is ever shown as if it were
    /// continuous.
    pub fn merge_joined(&mut self, history: Vec<RoomEvent>, more: bool, last_seq: u64, me: &str) {
        let first = history.iter().find_map(|e| match e {
            RoomEvent::Message(m) => Some(m.seq),
            _ => None,
        });
        let connects = history
            .first()
            .is_none_or(|e| self.last_seq == 0 || e.seq() <= self.last_seq + 1);
        if more && !connects {
            self.lines
                .retain(|l| matches!(l, Line::Chat(c) if c.seq.is_none()));
        }
        if self
            .lines
            .iter()
            .all(|l| matches!(l, Line::Chat(c) if c.seq.is_none()))
        {
            self.more_before = more || first.is_some_and(|seq| seq > 1);
        }
        for event in history {
            self.apply(event, me);
        }
        self.last_seq = self.last_seq.max(last_seq);
    }

    /// The message carrying the own change `cid`.
    pub fn change_target(&self, cid: &str) -> Option<u64> {
        self.lines.iter().rev().find_map(|l| match l {
            Line::Chat(c) if c.change(cid).is_some() => c.seq,
            _ => None,
        })
    }

    /// Starts an own change to message `target` (shown at once).
    pub fn start_change(&mut self, target: u64, change: Change) {
        if let Some(line) = self.line_mut(target) {
            line.changes.push(change);
        }
    }

    /// The `ack` of own change `cid`, with its `seq`; returns whether it
    /// was one.
    pub fn confirm_change(&mut self, cid: &str, seq: u64, ts: f64, me: &str) -> bool {
        let Some(target) = self.change_target(cid) else {
            return false;
        };
        self.last_seq = self.last_seq.max(seq);
        if let Some(line) = self.line_mut(target) {
            line.confirm(cid, ts, me);
        }
        true
    }

    /// The `error` (or no answer) for own change `cid`: dropped, so the
    /// message shows its confirmed state again. Returns what it was.
    pub fn roll_back_change(&mut self, cid: &str) -> Option<ChangeKind> {
        let target = self.change_target(cid)?;
        self.line_mut(target)?.roll_back(cid)
    }

    /// Own changes not sent on socket `generation` (typed while away, or
    /// unanswered on the old socket): marked sent on it and returned, to go
    /// out (again) with their own cids.
    pub fn unsent_changes(&mut self, generation: u32, now: f64) -> Vec<(u64, Change)> {
        let mut out = Vec::new();
        for line in self.lines.iter_mut() {
            let Line::Chat(chat) = line else { continue };
            if chat.changes.iter().all(|c| c.sent_on == Some(generation)) {
                continue;
            }
            let chat = std::rc::Rc::make_mut(chat);
            let Some(seq) = chat.seq else { continue };
            for change in chat.changes.iter_mut() {
                if change.sent_on != Some(generation) {
                    change.sent_on = Some(generation);
                    change.sent_at = now;
                    out.push((seq, change.clone()));
                }
            }
        }
        out
    }

    /// Own changes sent on socket `generation` that waited longer than
    /// `timeout` for their `ack`: dropped, and returned.
    pub fn expire_changes(&mut self, generation: u32, now: f64, timeout: f64) -> Vec<ChangeKind> {
        let late = |c: &Change| c.sent_on == Some(generation) && now - c.sent_at > timeout;
        let mut out = Vec::new();
        for line in self.lines.iter_mut() {
            let Line::Chat(chat) = line else { continue };
            if !chat.changes.iter().any(late) {
                continue;
            }
            let chat = std::rc::Rc::make_mut(chat);
            chat.changes.retain(|c| {
                if late(c) {
                    out.push(c.kind.clone());
                }
                !late(c)
            });
        }
        out
    }

    /// Whether an own change sent on socket `generation` waited longer
    /// than `timeout` for its `ack`.
    pub fn has_late_changes(&self, generation: u32, now: f64, timeout: f64) -> bool {
        self.lines.iter().any(|l| {
            matches!(l, Line::Chat(c) if c.changes.iter().any(|c| {
                c.sent_on == Some(generation) && now - c.sent_at > timeout
            }))
        })
    }

    /// Whether any own change is on its way.
    pub fn has_pending_changes(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l, Line::Chat(c) if !c.changes.is_empty()))
    }
}
