//! How a change event changes the message it targets.
//!
//! The server's room cache and the browser app both keep messages in their
//! current state and apply `edited`, `deleted` and `reacted` to them, live
//! and in catch-ups; this is the one definition of what that means. Applying
//! a change is idempotent (a catch-up may replay one the state already
//! shows), and a deleted message stays deleted whatever comes after.

use crate::frames::{ChatMessage, Reactions, RoomEvent};

impl ChatMessage {
    /// Applies `event` if it targets this message; returns whether the
    /// message changed.
    pub fn apply(&mut self, event: &RoomEvent) -> bool {
        match event {
            RoomEvent::Edited(e) if e.target == self.seq && !self.deleted => {
                let changed = self.text != e.text || self.edited_ts != Some(e.ts);
                self.text = e.text.clone();
                self.mentions = e.mentions.clone();
                self.edited_ts = Some(e.ts);
                changed
            }
            RoomEvent::Deleted(d) if d.target == self.seq => {
                let changed = !self.deleted;
                self.deleted = true;
                self.text.clear();
                self.mentions.clear();
                self.reactions.clear();
                changed
            }
            RoomEvent::Reacted(r) if r.target == self.seq && !self.deleted => {
                self.react(&r.emoji, &r.nick, r.on)
            }
            // A message answering a deleted one loses its quote's text.
            RoomEvent::Deleted(d) if self.reply_to == Some(d.target) => match &mut self.quote {
                Some(quote) if !quote.text.is_empty() => {
                    quote.text.clear();
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Gives (`on`) or takes back `nick`'s `emoji`; returns whether anything
    /// changed.
    fn react(&mut self, emoji: &str, nick: &str, on: bool) -> bool {
        let at = self.reactions.iter().position(|r| r.emoji == emoji);
        match (at, on) {
            (Some(at), true) => {
                let r = &mut self.reactions[at];
                if r.nicks.iter().any(|n| n == nick) {
                    return false;
                }
                r.nicks.push(nick.to_owned());
                r.count = r.nicks.len() as u32;
            }
            (None, true) => self.reactions.push(Reactions {
                emoji: emoji.to_owned(),
                count: 1,
                nicks: vec![nick.to_owned()],
            }),
            (Some(at), false) => {
                let r = &mut self.reactions[at];
                let before = r.nicks.len();
                r.nicks.retain(|n| n != nick);
                if r.nicks.len() == before {
                    return false;
                }
                r.count = r.nicks.len() as u32;
                if r.nicks.is_empty() {
                    self.reactions.remove(at);
                }
            }
            (None, false) => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::frames::{Deleted, Edited, Quote, Reacted};

    use super::*;

    fn message(seq: u64) -> ChatMessage {
        ChatMessage {
            room: "r".into(),
            seq,
            nick: "ana".into(),
            text: "hello".into(),
            ts: 1,
            ..ChatMessage::default()
        }
    }

    fn react(target: u64, nick: &str, emoji: &str, on: bool) -> RoomEvent {
        RoomEvent::Reacted(Reacted {
            room: "r".into(),
            seq: 10,
            target,
            nick: nick.into(),
            emoji: emoji.into(),
            on,
            ts: 2,
        })
    }

    #[test]
    fn changes_apply_once_in_effect_and_only_to_their_target() {
        let mut m = message(1);
        let edit = RoomEvent::Edited(Edited {
            room: "r".into(),
            seq: 2,
            target: 1,
            nick: "ana".into(),
            text: "hi @bo".into(),
            mentions: vec!["bo".into()],
            ts: 5,
        });
        assert!(m.apply(&edit));
        assert!(!m.apply(&edit), "twice is once");
        assert_eq!(
            (m.text.as_str(), m.edited_ts, m.mentions.len()),
            ("hi @bo", Some(5), 1)
        );
        assert!(!message(3).apply(&edit), "not its target");
        assert!(m.apply(&react(1, "bo", "👍", true)));
        assert!(!m.apply(&react(1, "bo", "👍", true)));
        assert!(m.apply(&react(1, "cy", "👍", true)));
        assert!(m.apply(&react(1, "cy", "🎉", true)));
        assert_eq!(
            m.reactions[0],
            Reactions {
                emoji: "👍".into(),
                count: 2,
                nicks: vec!["bo".into(), "cy".into()]
            }
        );
        assert!(m.apply(&react(1, "cy", "🎉", false)));
        assert!(!m.apply(&react(1, "cy", "🎉", false)));
        assert_eq!(m.reactions.len(), 1);
        let delete = RoomEvent::Deleted(Deleted {
            room: "r".into(),
            seq: 11,
            target: 1,
            nick: "ana".into(),
            ts: 6,
        });
        assert!(m.apply(&delete));
        assert!(m.deleted && m.text.is_empty() && m.reactions.is_empty() && m.mentions.is_empty());
        assert!(!m.apply(&edit), "a deleted message stays deleted");
        assert!(!m.apply(&react(1, "bo", "👍", true)));
        let mut answer = ChatMessage {
            reply_to: Some(1),
            quote: Some(Quote {
                nick: "ana".into(),
                text: "hello".into(),
            }),
            ..message(4)
        };
        assert!(answer.apply(&delete));
        assert_eq!(answer.quote.unwrap().text, "");
    }
}
