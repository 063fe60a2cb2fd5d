//! Rooms people run, and direct messages: each room's settings (topic,
//! owner, ops, modes, the other party of a direct message, whether the
//! reader is muted), kept from `joined` and from the room's `moderation`
//! and `topic` events; those events as system lines ("ana kicked bob
//! (spam)"); and the reader's rank in a room, which decides the controls
//! the page offers.
//!
//! It is apart from `server.rs` and `user.rs` because it is one feature
//! (with `moderate.rs`: what the reader asks, and the server's answers and
//! refusals), and the settings are plain data the page reads, tested
//! natively like the rest.

use parley_protocol::{is_dm_room, sort_key, ModAction, Moderation, RoomEvent, TopicSet};

use super::room::{Line, RoomView};
use super::State;

/// The reader's rank in a room, lowest first: what they may do there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// Reads and writes.
    Member,
    /// Kicks, bans, mutes, sets the topic and the modes, invites.
    Op,
    /// And makes or unmakes ops.
    Owner,
    /// A server admin: every right in every room but direct messages.
    Admin,
}

impl Rank {
    /// Whether the room's settings and the member menu's moderation are
    /// offered.
    pub fn moderates(self) -> bool {
        self >= Rank::Op
    }

    /// Whether making and unmaking ops is offered.
    pub fn makes_ops(self) -> bool {
        self >= Rank::Owner
    }
}

/// One line of the modlog, as the settings panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModlogEntry {
    /// The event's `seq`.
    pub seq: u64,
    /// When, ms since the epoch.
    pub ts: f64,
    /// What happened, in words.
    pub text: String,
}

/// Whether two nicknames are the same (as the server compares them).
pub(super) fn same(a: &str, b: &str) -> bool {
    sort_key(a) == sort_key(b)
}

/// "for 2 hours", "for 3 days": how long a ban lasts.
fn lasting(minutes: u64) -> String {
    let (n, unit) = match minutes {
        m if m >= 2 * 24 * 60 => (m / (24 * 60), "days"),
        m if m >= 2 * 60 => (m / 60, "hours"),
        1 => (1, "minute"),
        m => (m, "minutes"),
    };
    format!(" for {n} {unit}")
}

/// A moderation event in words, e.g. "ana kicked bob (spam)".
pub fn describe_moderation(event: &Moderation) -> String {
    let (by, target) = (&event.nick, event.target.as_deref().unwrap_or("someone"));
    let reason = event
        .reason
        .as_deref()
        .map_or(String::new(), |r| format!(" ({r})"));
    match event.action {
        ModAction::Owner => format!("{target} now owns the room"),
        ModAction::Kick => format!("{by} kicked {target}{reason}"),
        ModAction::Ban => {
            let until = event
                .until
                .map(|until| lasting(until.saturating_sub(event.ts).div_ceil(60_000)))
                .unwrap_or_default();
            format!("{by} banned {target}{until}{reason}")
        }
        ModAction::Unban => format!("{by} lifted the ban on {target}"),
        ModAction::Mute => format!("{by} muted {target}"),
        ModAction::Unmute => format!("{by} unmuted {target}"),
        ModAction::Op => format!("{target} is now an op"),
        ModAction::Deop => format!("{target} is no longer an op"),
        ModAction::Invite => format!("{by} invited {target}"),
        ModAction::Mode => {
            let modes = event.modes.unwrap_or_default();
            let mut said = Vec::new();
            if modes.accounts_only {
                said.push("signed-in members only");
            }
            if modes.invite_only {
                said.push("invite only");
            }
            if said.is_empty() {
                format!("{by} opened the room to everyone")
            } else {
                format!("{by} made the room {}", said.join(", "))
            }
        }
        ModAction::OpenDm => format!("{by} started this conversation with {target}"),
    }
}

/// A topic event in words.
pub fn describe_topic(event: &TopicSet) -> String {
    if event.text.trim().is_empty() {
        format!("{} cleared the topic", event.nick)
    } else {
        format!("{} set the topic to “{}”", event.nick, event.text)
    }
}

impl RoomView {
    /// Whether this is a direct message.
    pub fn is_dm(&self) -> bool {
        is_dm_room(&self.name)
    }

    /// The name the page shows: "#rust", or "@mina" for a direct message
    /// (never its `dm:…` name).
    pub fn title(&self) -> String {
        match (self.is_dm(), &self.settings.dm) {
            (true, Some(nick)) => format!("@{nick}"),
            (true, None) => "Direct message".into(),
            _ => format!("#{}", self.name),
        }
    }

    /// Whether `nick` was muted here, as far as the app saw.
    pub fn is_muted_member(&self, nick: &str) -> bool {
        self.muted_nicks.iter().any(|n| same(n, nick))
    }

    /// Whether `nick` is the owner or an op.
    pub fn role_of(&self, nick: &str) -> Option<&'static str> {
        if self
            .settings
            .owner
            .as_deref()
            .is_some_and(|o| same(o, nick))
        {
            Some("owner")
        } else if self.settings.ops.iter().any(|o| same(o, nick)) {
            Some("op")
        } else {
            None
        }
    }

    /// A `moderation` or `topic` event (live, or in a catch-up): the
    /// settings follow it and it becomes a system line (once).
    pub(super) fn run_event(&mut self, event: &RoomEvent, me: &str) {
        let (seq, ts, text) = match event {
            RoomEvent::Moderation(m) => {
                self.follow(m, me);
                (m.seq, m.ts, describe_moderation(m))
            }
            RoomEvent::Topic(t) => {
                let topic = t.text.trim();
                self.settings.topic = (!topic.is_empty()).then(|| topic.to_owned());
                (t.seq, t.ts, describe_topic(t))
            }
            _ => return,
        };
        let shown = self.lines.iter().any(
            |l| matches!(l, Line::System { text: t, after_seq, .. } if *after_seq == seq && *t == text),
        );
        if shown {
            return;
        }
        let in_order = self.lines.last().is_none_or(|l| l.sort_key() <= (seq, 1));
        self.lines.push(Line::System {
            text,
            ts: ts as f64,
            after_seq: seq,
        });
        if !in_order {
            self.lines.sort_by_key(Line::sort_key);
        }
    }

    fn follow(&mut self, m: &Moderation, me: &str) {
        if m.nick == me {
            self.mod_pending = false;
            self.mod_error = None;
        }
        let Some(target) = m.target.clone() else {
            if let (ModAction::Mode, Some(modes)) = (m.action, m.modes) {
                self.settings.modes = modes;
            }
            return;
        };
        match m.action {
            ModAction::Owner => self.settings.owner = Some(target),
            ModAction::Op if !self.settings.ops.iter().any(|o| same(o, &target)) => {
                self.settings.ops.push(target);
                self.settings.ops.sort_by_key(|o| sort_key(o));
            }
            ModAction::Deop => self.settings.ops.retain(|o| !same(o, &target)),
            ModAction::Mute | ModAction::Unmute => {
                let on = m.action == ModAction::Mute;
                if same(&target, me) {
                    self.settings.muted = on;
                }
                self.muted_nicks.retain(|n| !same(n, &target));
                if on {
                    self.muted_nicks.push(target);
                }
            }
            ModAction::OpenDm if !same(&target, me) && self.settings.dm.is_none() => {
                self.settings.dm = Some(target);
            }
            _ => {}
        }
    }
}

impl State {
    /// The reader's rank in `room`: a server admin everywhere but in direct
    /// messages (which have no moderators); the owner and ops as the room's
    /// settings name them, when signed in (guests never moderate).
    pub fn rank(&self, room: &str) -> Rank {
        let Some(view) = self.room(room).filter(|v| !v.is_dm()) else {
            return Rank::Member;
        };
        if !self.account.session {
            return Rank::Member;
        }
        if self.admin {
            return Rank::Admin;
        }
        match view.role_of(&self.nick) {
            Some("owner") => Rank::Owner,
            Some(_) => Rank::Op,
            None => Rank::Member,
        }
    }
}
