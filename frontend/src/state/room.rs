//! One room as the app shows it: its lines (messages and system lines), its
//! members, who is typing, what was read, and what the composer is doing
//! (a new message, a reply, an edit).
//!
//! Lines are kept in `seq` order, with own messages that have no `seq` yet
//! (pending) at the end. Every way a message can arrive (live, in a
//! `joined` catch-up, as an `ack`, in a scrollback page) goes through the same
//! dedupe by `seq` and by `cid`, so nothing is ever shown twice. Changes to
//! messages (edits, deletions, reactions) are applied in `changes.rs`.
//!
//! Chat lines sit behind `Rc`, and the state keeps each room behind one too:
//! a render shares them instead of copying them, a changed line or room is
//! copied on write (`Rc::make_mut`), and one that did not change keeps its
//! pointer, so the page can tell it apart from a changed one at once.

use std::rc::Rc;

use parley_protocol::{ChatMessage, RoomSettings};

use super::line::{ChatLine, Delivery};
use super::members::Members;
use super::run::ModlogEntry;

/// A line in a room.
#[derive(Debug, Clone)]
pub enum Line {
    /// A chat message (shared: see the module's doc).
    Chat(Rc<ChatLine>),
    /// "mina joined", "mina left".
    System {
        /// What happened.
        text: String,
        /// When.
        ts: f64,
        /// The seq it follows, to keep its place when lines are re-sorted.
        after_seq: u64,
    },
}

/// Equal when they say the same; the same shared chat line is equal
/// without looking inside.
impl PartialEq for Line {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Line::Chat(a), Line::Chat(b)) => Rc::ptr_eq(a, b) || a == b,
            (
                Line::System {
                    text,
                    ts,
                    after_seq,
                },
                Line::System {
                    text: other_text,
                    ts: other_ts,
                    after_seq: other_after_seq,
                },
            ) => text == other_text && ts == other_ts && after_seq == other_after_seq,
            _ => false,
        }
    }
}

impl Line {
    pub(super) fn sort_key(&self) -> (u64, u8) {
        match self {
            Line::Chat(chat) => (chat.seq.unwrap_or(u64::MAX), 0),
            Line::System { after_seq, .. } => (*after_seq, 1),
        }
    }

    /// When it was said or happened, ms since the epoch.
    pub fn ts(&self) -> f64 {
        match self {
            Line::Chat(chat) => chat.ts,
            Line::System { ts, .. } => *ts,
        }
    }
}

/// What the composer is writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compose {
    /// A new message.
    #[default]
    New,
    /// An answer to the message with this `seq`.
    Reply(u64),
    /// New text for the reader's own message with this `seq`.
    Edit(u64),
}

/// A request to bring a message into view (and flash it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Focus {
    /// The message.
    pub seq: u64,
    /// Counts requests, so the same message can be asked for twice.
    pub nonce: u32,
}

/// One open room.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomView {
    /// The room's name.
    pub name: String,
    /// Messages and system lines, in order.
    pub lines: Vec<Line>,
    /// Who is in the room, as far as the app knows.
    pub members: Members,
    /// Who is typing, until when.
    pub typing: Vec<(String, f64)>,
    /// Until when more people type than are named ("several people are
    /// typing"); 0 when not.
    pub typing_crowd_until: f64,
    /// Messages not seen yet.
    pub unread: u32,
    /// Messages naming the reader not seen yet.
    pub mentions: u32,
    /// The highest `seq` seen: what `join {since}` asks after.
    pub last_seq: u64,
    /// Older messages exist on the server.
    pub more_before: bool,
    /// A scrollback page is on its way.
    pub loading_older: bool,
    /// The server confirmed the membership on the current socket.
    pub joined: bool,
    /// When the last `typing` frame was sent for this room.
    pub typing_sent_at: Option<f64>,
    /// What the composer is writing.
    pub compose: Compose,
    /// A message to show once older pages have brought it in.
    pub jump: Option<u64>,
    /// The last request to bring a message into view.
    pub focus: Option<Focus>,
    /// The message flashed, until when.
    pub flash: Option<(u64, f64)>,
    /// The topic, owner, ops, modes, the other party of a direct message,
    /// and whether the reader is muted (`joined`, then the room's events).
    pub settings: RoomSettings,
    /// Members seen muted (the server tells only of the reader).
    pub muted_nicks: Vec<String>,
    /// A moderator's request (or the modlog) is on its way.
    pub mod_pending: bool,
    /// Why the last one was refused.
    pub mod_error: Option<String>,
    /// The modlog, newest first, once asked for.
    pub modlog: Option<Vec<ModlogEntry>>,
    /// Whether older modlog entries exist.
    pub modlog_more: bool,
}

impl RoomView {
    /// An empty room view.
    pub fn new(name: &str) -> Self {
        RoomView {
            name: name.to_owned(),
            ..RoomView::default()
        }
    }

    /// The oldest `seq` shown.
    pub fn oldest_seq(&self) -> Option<u64> {
        self.lines.iter().find_map(|l| match l {
            Line::Chat(chat) => chat.seq,
            Line::System { .. } => None,
        })
    }

    fn has_seq(&self, seq: u64) -> bool {
        self.line(seq).is_some()
    }

    /// The message with this `seq`, if it is loaded.
    pub fn line(&self, seq: u64) -> Option<&ChatLine> {
        self.lines.iter().rev().find_map(|l| match l {
            Line::Chat(c) if c.seq == Some(seq) => Some(&**c),
            _ => None,
        })
    }

    /// The message with this `seq`, to change it (copied first if shared).
    pub fn line_mut(&mut self, seq: u64) -> Option<&mut ChatLine> {
        self.lines.iter_mut().rev().find_map(|l| match l {
            Line::Chat(c) if c.seq == Some(seq) => Some(Rc::make_mut(c)),
            _ => None,
        })
    }

    /// The own message with this `cid`.
    pub fn own_line(&self, cid: &str) -> Option<&ChatLine> {
        self.lines.iter().find_map(|l| match l {
            Line::Chat(c) if c.own && c.cid.as_deref() == Some(cid) => Some(&**c),
            _ => None,
        })
    }

    /// The own message with this `cid`, to change it (copied first if shared).
    pub fn own_line_mut(&mut self, cid: &str) -> Option<&mut ChatLine> {
        self.lines.iter_mut().find_map(|l| match l {
            Line::Chat(c) if c.own && c.cid.as_deref() == Some(cid) => Some(Rc::make_mut(c)),
            _ => None,
        })
    }

    fn sort(&mut self) {
        self.lines.sort_by_key(Line::sort_key);
    }

    /// Adds a message from the server unless it is already shown (then
    /// only a deletion or a newer edit it carries is taken). An own pending
    /// message with the same `cid` becomes sent instead. `me` is the
    /// reader's nickname (for mentions). Returns whether a new line appeared.
    pub fn insert(&mut self, message: ChatMessage, me: &str) -> bool {
        self.last_seq = self.last_seq.max(message.seq);
        self.typing.retain(|(n, _)| *n != message.nick);
        if let Some(known) = self.line(message.seq) {
            let edited = message.edited_ts.map(|t| t as f64);
            if message.deleted && !known.deleted {
                self.line_mut(message.seq).expect("found").apply_delete();
            } else if edited > known.edited_ts && !known.deleted {
                let mentions_me = super::line::names(&message.mentions, me);
                let line = self.line_mut(message.seq).expect("found");
                line.apply_edit(&message.text, edited.unwrap_or_default(), mentions_me);
            }
            return false;
        }
        if let Some(cid) = &message.cid {
            if let Some(line) = self.own_line_mut(cid) {
                line.seq = Some(message.seq);
                line.ts = message.ts as f64;
                line.delivery = Delivery::Sent;
                line.edited_ts = message.edited_ts.map(|t| t as f64);
                line.deleted = message.deleted;
                line.text = message.text;
                line.reactions = message.reactions;
                self.sort();
                return false;
            }
        }
        let in_order = self
            .lines
            .last()
            .is_none_or(|l| l.sort_key() <= (message.seq, 0));
        let mut line = ChatLine::from_message(message, me);
        line.own = !me.is_empty() && line.nick == me;
        self.lines.push(Line::Chat(Rc::new(line)));
        if !in_order {
            self.sort();
        }
        true
    }

    /// An `ack` for an own message.
    pub fn acknowledge(&mut self, cid: &str, seq: u64, ts: f64) {
        self.last_seq = self.last_seq.max(seq);
        if self.has_seq(seq) {
            // Already shown (it came back in a catch-up); drop the pending copy.
            self.lines.retain(
                |l| !matches!(l, Line::Chat(c) if c.seq.is_none() && c.cid.as_deref() == Some(cid)),
            );
            return;
        }
        if let Some(line) = self.own_line_mut(cid) {
            line.seq = Some(seq);
            line.ts = ts;
            line.delivery = Delivery::Sent;
            self.sort();
        }
    }

    /// A scrollback page (older messages).
    pub fn prepend(&mut self, messages: Vec<ChatMessage>, more: bool, me: &str) {
        self.loading_older = false;
        self.more_before = more;
        let before = self.last_seq;
        for message in messages {
            self.insert(message, me);
        }
        self.last_seq = before.max(self.last_seq);
    }

    /// A `presence`: the members who arrived and left, and the count. Only
    /// real changes (as far as the app can see) become lines.
    pub fn presence(&mut self, joined: Vec<String>, left: Vec<String>, count: u64, now: f64) {
        self.typing.retain(|(n, _)| !left.contains(n));
        let (arrived, departed) = self.members.presence(joined, left, count);
        let lines = arrived
            .into_iter()
            .map(|nick| format!("{nick} joined"))
            .chain(departed.into_iter().map(|nick| format!("{nick} left")));
        for text in lines {
            self.lines.push(Line::System {
                text,
                ts: now,
                after_seq: self.last_seq,
            });
        }
    }

    /// A `typing`: these typed (the app's own nickname among them is
    /// ignored), `count` in all; each shows until `until`.
    pub fn typing(&mut self, nicks: Vec<String>, count: u64, me: &str, until: f64) {
        let named = nicks.len();
        for nick in nicks.into_iter().filter(|n| n != me) {
            self.typing.retain(|(n, _)| *n != nick);
            self.typing.push((nick, until));
        }
        if count as usize > named {
            self.typing_crowd_until = until;
        }
    }

    /// Whether line `index` continues the previous line's author (same nick,
    /// within five minutes, no system line between): shown without a header.
    pub fn continues(&self, index: usize) -> bool {
        let (Some(Line::Chat(line)), Some(Line::Chat(prev))) = (
            self.lines.get(index),
            index.checked_sub(1).and_then(|i| self.lines.get(i)),
        ) else {
            return false;
        };
        line.nick == prev.nick && line.own == prev.own && (line.ts - prev.ts).abs() < 5.0 * 60_000.0
    }

    /// Nicknames typing now, for "mina is typing…".
    pub fn typing_nicks(&self) -> Vec<&str> {
        self.typing.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Whether more people type than the room named.
    pub fn typing_crowd(&self) -> bool {
        self.typing_crowd_until > 0.0
    }

    /// Asks the page to bring `seq` into view and flash it until `until`.
    pub fn focus_on(&mut self, seq: u64, until: f64) {
        let nonce = self.focus.map_or(1, |f| f.nonce.wrapping_add(1));
        self.focus = Some(Focus { seq, nonce });
        self.flash = Some((seq, until));
        self.jump = None;
    }
}
