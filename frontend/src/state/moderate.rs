//! What the reader asks of rooms people run, and how the server answers:
//! a moderator's requests (checked with the server's own rules, then
//! sent; a refusal shows in the settings panel, or as the page's notice),
//! the modlog, a join kept out by the room's rules, a removal by a
//! moderator, being muted, and direct messages (opened with `open_dm`, or
//! by the other party: an unasked `joined` of a `dm:` room is kept).
//!
//! The settings and the events themselves are in `run.rs`; this is the
//! traffic around them, apart so each file reads on its own.

use parley_protocol::{
    is_dm_room, validate_nick, validate_reason, validate_topic, ClientFrame, ErrorCode, RoomEvent,
};

use super::run::{describe_moderation, describe_topic, same, ModlogEntry};
use super::{Command, State};

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
