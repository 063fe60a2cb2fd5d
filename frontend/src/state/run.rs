//! Rooms people run, and direct messages: each room's settings (topic,
//! owner, ops, modes, the other party of a direct message, whether the
//! reader is muted), kept from `joined` and from the room's `moderation`
//! and `topic` events; those events as system lines ("ana kicked bob
//! (spam)"); the reader's rank in a room, which decides the controls the
//! page offers; the moderators' requests and their refusals; the modlog;
//! a removal by a moderator; and opening a direct message.
//!
//! It is apart from `server.rs` and `user.rs` because it is one feature
//! end to end (the server's events and the user's requests), and the
//! settings are plain data the page reads, tested natively like the rest.

use parley_protocol::{
    is_dm_room, sort_key, validate_nick, validate_reason, validate_topic, ClientFrame, ErrorCode,
    ModAction, Moderation, RoomEvent, TopicSet,
};

use super::room::{Line, RoomView};
use super::{Command, State};

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

/// What a moderator asks of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModRequest {
    /// Remove a member (they may come back).
    Kick {
        /// The member.
        nick: String,
        /// Why (empty: no reason).
        reason: String,
    },
    /// Remove a member and keep them out, until lifted.
    Ban {
        /// The member.
        nick: String,
        /// Why (empty: no reason).
        reason: String,
    },
    /// Mute (`on`) or unmute a member.
    Mute {
        /// The member.
        nick: String,
        /// Muted or not.
        on: bool,
    },
    /// Make (`on`) or unmake an op.
    Op {
        /// The account.
        nick: String,
        /// Op or not.
        on: bool,
    },
    /// Set the topic (empty clears it).
    Topic(String),
    /// Set both modes.
    Modes {
        /// Only signed-in members may join.
        accounts_only: bool,
        /// Only invited accounts (and moderators) may join.
        invite_only: bool,
    },
    /// Let an account join the invite-only room.
    Invite(String),
}

/// Whether two nicknames are the same (as the server compares them).
fn same(a: &str, b: &str) -> bool {
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

/// A moderator's request: checked, then sent (the room shows the outcome
/// when the event comes back; a refusal is told in the settings panel).
pub(super) fn request(
    state: &mut State,
    room: String,
    req: ModRequest,
    commands: &mut Vec<Command>,
) {
    let frame = match frame_of(&room, req) {
        Ok(frame) => frame,
        Err(why) => {
            if let Some(view) = state.room_mut(&room) {
                view.mod_error = Some(why.clone());
            }
            state.notice = Some(why);
            return;
        }
    };
    let online = state.online();
    let Some(view) = state.room_mut(&room) else {
        return;
    };
    if !online || !view.joined {
        view.mod_error = Some("Not connected: try again in a moment.".into());
        return;
    }
    view.mod_pending = true;
    view.mod_error = None;
    commands.push(Command::Send(frame));
}

fn frame_of(room: &str, req: ModRequest) -> Result<ClientFrame, String> {
    let room = room.to_owned();
    let reason = |r: &str| validate_reason(Some(r)).map_err(|e| format!("The reason: {e}"));
    Ok(match req {
        ModRequest::Kick { nick, reason: r } => ClientFrame::Kick {
            room,
            nick,
            reason: reason(&r)?,
        },
        ModRequest::Ban { nick, reason: r } => ClientFrame::Ban {
            room,
            nick,
            minutes: None,
            reason: reason(&r)?,
        },
        ModRequest::Mute { nick, on } => ClientFrame::Mute { room, nick, on },
        ModRequest::Op { nick, on } => ClientFrame::Op { room, nick, on },
        ModRequest::Topic(text) => ClientFrame::Topic {
            room,
            text: validate_topic(&text).map_err(|e| format!("The topic: {e}"))?,
        },
        ModRequest::Modes {
            accounts_only,
            invite_only,
        } => ClientFrame::Mode {
            room,
            accounts_only: Some(accounts_only),
            invite_only: Some(invite_only),
        },
        ModRequest::Invite(nick) => ClientFrame::Invite {
            room,
            nick: validate_nick(&nick).map_err(|e| format!("The nickname: {e}"))?,
        },
    })
}

/// Asks for the room's modlog (the settings panel shows it).
pub(super) fn ask_modlog(state: &mut State, room: String, commands: &mut Vec<Command>) {
    let online = state.online();
    if let Some(view) = state.room_mut(&room).filter(|v| online && v.joined) {
        view.mod_pending = true;
        commands.push(Command::Send(ClientFrame::Modlog {
            room,
            before: None,
            limit: None,
        }));
    }
}

/// The server's answer to `modlog`.
pub(super) fn modlog(state: &mut State, room: &str, entries: Vec<RoomEvent>, more: bool) {
    if let Some(view) = state.room_mut(room) {
        view.mod_pending = false;
        view.modlog_more = more;
        view.modlog = Some(
            entries
                .iter()
                .filter_map(|e| {
                    let text = match e {
                        RoomEvent::Moderation(m) => describe_moderation(m),
                        RoomEvent::Topic(t) => describe_topic(t),
                        _ => return None,
                    };
                    Some(ModlogEntry {
                        seq: e.seq(),
                        ts: e.ts() as f64,
                        text,
                    })
                })
                .collect(),
        );
    }
}

/// "Message" in a member's menu: open (or reopen) the direct message; its
/// `joined` shows it.
pub(super) fn open_dm(state: &mut State, nick: String, commands: &mut Vec<Command>) {
    if let Some(dm) = state
        .rooms
        .iter()
        .find(|r| r.is_dm() && r.settings.dm.as_deref().is_some_and(|d| same(d, &nick)))
        .map(|r| r.name.clone())
    {
        state.select(&dm);
        return;
    }
    if !state.account.session {
        state.notice = Some("Sign in to send direct messages.".into());
        return;
    }
    if state.online() {
        state.opening_dm = Some(nick.clone());
        commands.push(Command::Send(ClientFrame::OpenDm { nick }));
    }
}

/// A `joined` of a direct message the reader did not ask for (the other
/// party opened it): it is shown in the sidebar. Returns whether the room
/// is open now.
pub(super) fn accept_dm(state: &mut State, room: &str) -> bool {
    if state.room(room).is_some() {
        return true;
    }
    if !is_dm_room(room) {
        return false;
    }
    state.open_room(room);
    true
}

/// After a direct message's `joined`: show it if the reader opened it.
pub(super) fn joined_dm(state: &mut State, room: &str) {
    let other = state.room(room).and_then(|v| v.settings.dm.clone());
    if let (Some(wanted), Some(other)) = (state.opening_dm.clone(), other) {
        if same(&wanted, &other) {
            state.opening_dm = None;
            state.select(room);
        }
    }
}

/// The reader was removed (kicked or banned) from a room: it leaves the
/// sidebar, and a notice says who did it and why.
pub(super) fn removed(state: &mut State, room: &str, by: &str, reason: Option<&str>, banned: bool) {
    let Some(index) = state.rooms.iter().position(|r| r.name == room) else {
        return;
    };
    let title = state.rooms[index].title();
    state.rooms.remove(index);
    if state.active.as_deref() == Some(room) {
        state.active = None;
        if let Some(next) = state
            .rooms
            .get(index.saturating_sub(1))
            .map(|r| r.name.clone())
        {
            state.select(&next);
        }
    }
    if state.settings_open.as_deref() == Some(room) {
        state.settings_open = None;
    }
    let how = if banned { "banned" } else { "removed" };
    let why = reason.map_or(String::new(), |r| format!(": {r}"));
    state.removal = Some(format!("You were {how} from {title} by {by}{why}"));
}

/// `muted`: the reader is muted in the room (the refused message or
/// change is marked failed, or rolled back, by its `cid`), and the
/// composer says so from now on.
pub(super) fn muted(state: &mut State, room: Option<&str>) {
    if let Some(view) = room.and_then(|r| state.room_mut(r)) {
        view.settings.muted = true;
    }
}

/// A refusal of a moderator's request, a join kept out by the room's
/// rules. Returns whether it was one of those (and
/// so is handled).
pub(super) fn refused(
    state: &mut State,
    code: ErrorCode,
    message: &str,
    room: Option<&str>,
) -> bool {
    let Some(room) = room.map(str::to_owned) else {
        return false;
    };
    let Some(view) = state.room(&room) else {
        return false;
    };
    let title = view.title();
    let kept_out = matches!(
        code,
        ErrorCode::Banned | ErrorCode::InviteOnly | ErrorCode::AccountsOnly | ErrorCode::Forbidden
    ) && !view.joined;
    if kept_out {
        state.rooms.retain(|r| r.name != room);
        if state.active.as_deref() == Some(room.as_str()) {
            state.active = None;
            if let Some(first) = state.rooms.first().map(|r| r.name.clone()) {
                state.select(&first);
            }
        }
        state.notice = Some(match code {
            ErrorCode::AccountsOnly => {
                format!("{title} is for signed-in members only: sign in to join it.")
            }
            ErrorCode::InviteOnly => format!("{title} is invite-only: ask its owner or an op."),
            ErrorCode::Banned => format!("You are banned from {title}. {message}"),
            _ => format!("You may not join {title}. {message}"),
        });
        return true;
    }
    if view.mod_pending {
        let open = state.settings_open.as_deref() == Some(room.as_str());
        let view = state.room_mut(&room).expect("found above");
        view.mod_pending = false;
        view.mod_error = Some(message.to_owned());
        if !open {
            state.notice = Some(message.to_owned());
        }
        return true;
    }
    false
}
