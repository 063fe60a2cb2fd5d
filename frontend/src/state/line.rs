//! One chat message as the app holds it: what the server last said about it
//! (its text, edits, deletion, reactions) and the reader's own changes to it
//! that are on their way.
//!
//! The reader's edits, deletions and reactions are shown at once
//! (optimistically) but kept apart from the confirmed state, in
//! [`ChatLine::changes`]: an `ack` folds a change into the confirmed state,
//! an `error` (or silence) drops it, which is the whole rollback. Every
//! change the server tells (live or replayed in a catch-up) is applied as a
//! set operation, so applying one twice changes nothing.

use parley_protocol::{sort_key, ChatMessage, Quote, Reactions};

/// Where an own message is on its way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Sent (or queued), waiting for the `ack`.
    Pending,
    /// Acknowledged: stored and relayed.
    #[default]
    Sent,
    /// Refused or unanswered, with the reason; can be retried.
    Failed(String),
}

/// What an own change does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// New text.
    Edit(String),
    /// Take the message back.
    Delete,
    /// Give (`on`) or take back a reaction.
    React {
        /// The emoji.
        emoji: String,
        /// Given or taken back.
        on: bool,
    },
}

/// An own change on its way: shown already, confirmed by its `ack`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The client's id for it, echoed by the `ack` or the `error`.
    pub cid: String,
    /// What it does.
    pub kind: ChangeKind,
    /// The socket generation it was sent on (`None`: waits for the socket).
    pub sent_on: Option<u32>,
    /// When it was last sent, for the ack timeout.
    pub sent_at: f64,
}

/// A reaction as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionView {
    /// The emoji.
    pub emoji: String,
    /// How many gave it.
    pub count: u32,
    /// Whether the reader is one of them.
    pub mine: bool,
    /// Who gave it (as far as the app knows).
    pub nicks: Vec<String>,
}

/// A chat message line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatLine {
    /// The server's number for it (`None` while pending).
    pub seq: Option<u64>,
    /// The author's id for it.
    pub cid: Option<String>,
    /// The author.
    pub nick: String,
    /// The text the server confirmed (empty once deleted).
    pub text: String,
    /// When it was said (server time once known), ms since the epoch.
    pub ts: f64,
    /// Whether this user wrote it.
    pub own: bool,
    /// Delivery state (always `Sent` for others' messages).
    pub delivery: Delivery,
    /// The socket generation it was last sent on (`None`: not sent yet).
    pub sent_on: Option<u32>,
    /// When it was last sent, for the ack timeout.
    pub sent_at: f64,
    /// The `seq` of the message it answers.
    pub reply_to: Option<u64>,
    /// The server's quote of that message (used when it is not loaded).
    pub quote: Option<Quote>,
    /// Whether the text names the reader (`@nick`).
    pub mentions_me: bool,
    /// When it was last edited (confirmed).
    pub edited_ts: Option<f64>,
    /// Whether it was deleted (confirmed).
    pub deleted: bool,
    /// The confirmed reactions, in the order first given.
    pub reactions: Vec<Reactions>,
    /// The reader's own changes on their way, oldest first.
    pub changes: Vec<Change>,
}

/// Whether `mentions` names `me` (nicknames compare ignoring case).
pub fn names(mentions: &[String], me: &str) -> bool {
    let me = sort_key(me);
    !me.is_empty() && mentions.iter().any(|m| sort_key(m) == me)
}

impl ChatLine {
    /// Someone's message from the server, in its current state.
    pub fn from_message(message: ChatMessage, me: &str) -> ChatLine {
        ChatLine {
            seq: Some(message.seq),
            mentions_me: names(&message.mentions, me),
            cid: message.cid,
            nick: message.nick,
            text: message.text,
            ts: message.ts as f64,
            own: false,
            delivery: Delivery::Sent,
            sent_on: None,
            sent_at: 0.0,
            reply_to: message.reply_to,
            quote: message.quote,
            edited_ts: message.edited_ts.map(|t| t as f64),
            deleted: message.deleted,
            reactions: message.reactions,
            changes: Vec::new(),
        }
    }

    /// Whether it shows as deleted (confirmed, or the reader's deletion on
    /// its way).
    pub fn is_deleted(&self) -> bool {
        self.deleted
            || self
                .changes
                .iter()
                .any(|c| matches!(c.kind, ChangeKind::Delete))
    }

    /// The text shown: the reader's latest edit on its way, else the
    /// confirmed text; nothing once deleted.
    pub fn shown_text(&self) -> &str {
        if self.is_deleted() {
            return "";
        }
        self.changes
            .iter()
            .rev()
            .find_map(|c| match &c.kind {
                ChangeKind::Edit(text) => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or(&self.text)
    }

    /// Whether it shows "(edited)".
    pub fn is_edited(&self) -> bool {
        !self.is_deleted()
            && (self.edited_ts.is_some()
                || self
                    .changes
                    .iter()
                    .any(|c| matches!(c.kind, ChangeKind::Edit(_))))
    }

    /// The reactions shown, with the reader's own on their way applied.
    pub fn shown_reactions(&self, me: &str) -> Vec<ReactionView> {
        if self.is_deleted() {
            return Vec::new();
        }
        let mut reactions = self.reactions.clone();
        for change in &self.changes {
            if let ChangeKind::React { emoji, on } = &change.kind {
                react(&mut reactions, me, emoji, *on);
            }
        }
        reactions
            .into_iter()
            .filter(|r| r.count > 0)
            .map(|r| ReactionView {
                mine: r.nicks.iter().any(|n| n == me),
                emoji: r.emoji,
                count: r.count,
                nicks: r.nicks,
            })
            .collect()
    }

    /// Whether the reader has given `emoji` (as shown).
    pub fn has_reacted(&self, me: &str, emoji: &str) -> bool {
        self.shown_reactions(me)
            .iter()
            .any(|r| r.emoji == emoji && r.mine)
    }

    /// Whether applying an `edited` would change anything.
    pub fn edit_changes(&self, text: &str, ts: f64, mentions_me: bool) -> bool {
        !self.deleted
            && (self.text != text
                || self.edited_ts != Some(ts)
                || self.mentions_me != mentions_me
                || self.settles(&ChangeKind::Edit(text.to_owned())))
    }

    /// An edit the server confirmed (ignored once deleted: a deletion is
    /// final, and a catch-up may replay an older edit after it).
    pub fn apply_edit(&mut self, text: &str, ts: f64, mentions_me: bool) {
        if self.deleted {
            return;
        }
        self.text = text.to_owned();
        self.edited_ts = Some(ts);
        self.mentions_me = mentions_me;
        self.settle(&ChangeKind::Edit(text.to_owned()));
    }

    /// A deletion the server confirmed.
    pub fn apply_delete(&mut self) {
        self.deleted = true;
        self.text.clear();
        self.mentions_me = false;
        self.reactions.clear();
        self.changes.clear();
    }

    /// Whether applying a `reacted` would change anything.
    pub fn reaction_changes(&self, nick: &str, emoji: &str, on: bool, me: &str) -> bool {
        let given = self
            .reactions
            .iter()
            .any(|r| r.emoji == emoji && r.nicks.iter().any(|n| n == nick));
        let kind = ChangeKind::React {
            emoji: emoji.to_owned(),
            on,
        };
        !self.deleted && (given != on || (nick == me && self.settles(&kind)))
    }

    /// A reaction the server confirmed, applied as a set operation.
    pub fn apply_reaction(&mut self, nick: &str, emoji: &str, on: bool, me: &str) {
        if self.deleted {
            return;
        }
        react(&mut self.reactions, nick, emoji, on);
        if nick == me {
            self.settle(&ChangeKind::React {
                emoji: emoji.to_owned(),
                on,
            });
        }
    }

    /// Whether an own change of this kind is on its way.
    pub fn settles(&self, kind: &ChangeKind) -> bool {
        self.changes.iter().any(|c| c.kind == *kind)
    }

    /// The server told a change of the reader's (in a catch-up, where it
    /// has no cid): the oldest own change that does the same is settled.
    fn settle(&mut self, kind: &ChangeKind) {
        if let Some(at) = self.changes.iter().position(|c| c.kind == *kind) {
            self.changes.remove(at);
        }
    }

    /// The own change with this cid.
    pub fn change(&self, cid: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.cid == cid)
    }

    /// Its `ack`: the change becomes part of the confirmed state.
    pub fn confirm(&mut self, cid: &str, ts: f64, me: &str) {
        let Some(at) = self.changes.iter().position(|c| c.cid == cid) else {
            return;
        };
        let change = self.changes.remove(at);
        match change.kind {
            ChangeKind::Edit(text) => {
                if !self.deleted {
                    self.text = text;
                    self.edited_ts = Some(ts);
                }
            }
            ChangeKind::Delete => self.apply_delete(),
            ChangeKind::React { emoji, on } => {
                if !self.deleted {
                    react(&mut self.reactions, me, &emoji, on);
                }
            }
        }
    }

    /// Its `error` (or no answer): the change is dropped, and the line
    /// shows the confirmed state again. Returns what it was.
    pub fn roll_back(&mut self, cid: &str) -> Option<ChangeKind> {
        let at = self.changes.iter().position(|c| c.cid == cid)?;
        Some(self.changes.remove(at).kind)
    }
}

/// Gives (`on`) or takes back `nick`'s `emoji`, as a set operation: giving
/// twice or taking back what was not given changes nothing.
fn react(reactions: &mut Vec<Reactions>, nick: &str, emoji: &str, on: bool) {
    match reactions.iter().position(|r| r.emoji == emoji) {
        Some(at) => {
            let reaction = &mut reactions[at];
            let given = reaction.nicks.iter().position(|n| n == nick);
            match (on, given) {
                (true, None) => {
                    reaction.nicks.push(nick.to_owned());
                    reaction.count += 1;
                }
                (false, Some(i)) => {
                    reaction.nicks.remove(i);
                    reaction.count = reaction.count.saturating_sub(1);
                    if reaction.count == 0 {
                        reactions.remove(at);
                    }
                }
                _ => {}
            }
        }
        None if on => reactions.push(Reactions {
            emoji: emoji.to_owned(),
            count: 1,
            nicks: vec![nick.to_owned()],
        }),
        None => {}
    }
}
