//! What the reader does to messages: answer, edit, delete, react, and go
//! to one (from a reply's quote or a search hit); and muting a room.
//!
//! Own changes get a `cid` from the same counter as messages, are shown at
//! once (see `line.rs`) and go out now if the room is joined on an
//! identified socket, else after the next `joined` (like messages).

use parley_protocol::ClientFrame;

use super::line::{Change, ChangeKind, ChatLine};
use super::room::Compose;
use super::{Command, State, HISTORY_PAGE};

/// How long a message brought into view stays highlighted.
pub const FLASH_MS: f64 = 2_000.0;
/// The most messages one jump asks for per page (the server caps it too).
const JUMP_PAGE: u64 = 200;

/// Whether the reader may still edit `line` at `now` (their own, sent,
/// not deleted, within the edit window; 0 means no window).
pub fn editable(line: &ChatLine, edit_window_ms: u64, now: f64) -> bool {
    line.own
        && line.seq.is_some()
        && !line.is_deleted()
        && (edit_window_ms == 0 || now - line.ts < edit_window_ms as f64)
}

/// The frame that carries an own change.
pub(super) fn frame(room: &str, target: u64, change: &Change) -> ClientFrame {
    let (room, cid) = (room.to_owned(), change.cid.clone());
    match &change.kind {
        ChangeKind::Edit(text) => ClientFrame::Edit {
            room,
            target,
            text: text.clone(),
            cid,
        },
        ChangeKind::Delete => ClientFrame::Delete { room, target, cid },
        ChangeKind::React { emoji, on } => ClientFrame::React {
            room,
            target,
            emoji: emoji.clone(),
            on: *on,
            cid,
        },
    }
}

/// Starts an own change: shown at once, sent now or after the next `joined`.
fn change(
    state: &mut State,
    room: &str,
    target: u64,
    kind: ChangeKind,
    now: f64,
    commands: &mut Vec<Command>,
) {
    let cid = format!("{}-{}", state.cid_prefix, state.next_cid);
    state.next_cid += 1;
    let (online, generation) = (state.online(), state.generation);
    let Some(view) = state.room_mut(room) else {
        return;
    };
    let send_now = online && view.joined;
    let change = Change {
        cid,
        kind,
        sent_on: send_now.then_some(generation),
        sent_at: now,
    };
    if send_now {
        commands.push(Command::Send(frame(room, target, &change)));
    }
    view.start_change(target, change);
}

/// The composer answers message `seq`.
pub(super) fn start_reply(state: &mut State, room: &str, seq: u64) {
    let exists = state
        .room(room)
        .and_then(|v| v.line(seq))
        .is_some_and(|l| !l.is_deleted());
    if let (true, Some(view)) = (exists, state.room_mut(room)) {
        view.compose = Compose::Reply(seq);
    }
}

/// The composer edits the reader's message `seq`, if it still can.
pub(super) fn start_edit(state: &mut State, room: &str, seq: u64, now: f64) {
    let window = state.limits.edit_window_ms;
    let ok = state
        .room(room)
        .and_then(|v| v.line(seq))
        .is_some_and(|l| editable(l, window, now));
    if let (true, Some(view)) = (ok, state.room_mut(room)) {
        view.compose = Compose::Edit(seq);
    } else if !ok && state.room(room).and_then(|v| v.line(seq)).is_some() {
        state.notice = Some("That message can no longer be edited.".into());
    }
}

/// Up-arrow in an empty composer: the reader's last message that can
/// still be edited.
pub(super) fn edit_last(state: &mut State, room: &str, now: f64) {
    let window = state.limits.edit_window_ms;
    let last = state.room(room).and_then(|v| {
        v.lines.iter().rev().find_map(|l| match l {
            super::Line::Chat(c) if c.own && c.seq.is_some() && !c.is_deleted() => Some(c.clone()),
            _ => None,
        })
    });
    if let Some(seq) = last
        .filter(|l| editable(l, window, now))
        .and_then(|l| l.seq)
    {
        if let Some(view) = state.room_mut(room) {
            view.compose = Compose::Edit(seq);
        }
    }
}

/// Escape in the composer.
pub(super) fn cancel_compose(state: &mut State, room: &str) {
    if state.room(room).is_some_and(|v| v.compose != Compose::New) {
        if let Some(view) = state.room_mut(room) {
            view.compose = Compose::New;
        }
    }
}

/// The edit is sent: the message shows the new text at once.
pub(super) fn edit(
    state: &mut State,
    room: &str,
    seq: u64,
    text: String,
    now: f64,
    commands: &mut Vec<Command>,
) {
    let window = state.limits.edit_window_ms;
    if let Some(view) = state.room_mut(room) {
        view.compose = Compose::New;
    }
    let Some(line) = state.room(room).and_then(|v| v.line(seq)) else {
        return;
    };
    if line.shown_text() == text {
        return;
    }
    if !editable(line, window, now) {
        state.notice = Some("That message can no longer be edited.".into());
        return;
    }
    change(state, room, seq, ChangeKind::Edit(text), now, commands);
}

/// Deletes the reader's message `seq` (the page asked first).
pub(super) fn delete(
    state: &mut State,
    room: &str,
    seq: u64,
    now: f64,
    commands: &mut Vec<Command>,
) {
    let ok = state
        .room(room)
        .and_then(|v| v.line(seq))
        .is_some_and(|l| l.own && !l.is_deleted());
    if !ok {
        return;
    }
    if let Some(view) = state.room_mut(room) {
        if matches!(view.compose, Compose::Edit(s) | Compose::Reply(s) if s == seq) {
            view.compose = Compose::New;
        }
    }
    change(state, room, seq, ChangeKind::Delete, now, commands);
}

/// Gives `emoji` to message `seq`, or takes it back if the reader gave it.
pub(super) fn react(
    state: &mut State,
    room: &str,
    seq: u64,
    emoji: String,
    now: f64,
    commands: &mut Vec<Command>,
) {
    let me = state.nick.clone();
    let max = state.limits.max_reactions as usize;
    let Some(line) = state.room(room).and_then(|v| v.line(seq)) else {
        return;
    };
    if line.is_deleted() {
        return;
    }
    let shown = line.shown_reactions(&me);
    let on = !shown.iter().any(|r| r.emoji == emoji && r.mine);
    if on && max > 0 && shown.len() >= max && !shown.iter().any(|r| r.emoji == emoji) {
        state.notice = Some(format!(
            "A message can have at most {max} different reactions."
        ));
        return;
    }
    change(
        state,
        room,
        seq,
        ChangeKind::React { emoji, on },
        now,
        commands,
    );
}

/// Goes to message `seq` of `room`: shown now if loaded, else after the
/// older pages that bring it in.
pub(super) fn jump_to(
    state: &mut State,
    room: &str,
    seq: u64,
    now: f64,
    commands: &mut Vec<Command>,
) {
    if state.room(room).is_none() {
        return;
    }
    state.search = None;
    state.select(room);
    if let Some(view) = state.room_mut(room) {
        view.jump = Some(seq);
    }
    continue_jump(state, room, now, commands);
}

/// After a page (or a `joined`): the message is there (bring it into
/// view), or another page is needed, or it is gone.
pub(super) fn continue_jump(state: &mut State, room: &str, now: f64, commands: &mut Vec<Command>) {
    let online = state.online();
    let Some(view) = state.room(room) else { return };
    let Some(target) = view.jump else { return };
    let loaded = view.line(target).is_some();
    let oldest = view.oldest_seq();
    let can_load = online && view.joined && view.more_before && oldest.is_some_and(|o| o > target);
    let waiting = view.loading_older || !online || !view.joined;
    let view = state.room_mut(room).expect("found above");
    if loaded {
        view.focus_on(target, now + FLASH_MS);
    } else if can_load {
        if !view.loading_older {
            let oldest = oldest.expect("checked");
            view.loading_older = true;
            let limit = (oldest - target + 10).clamp(u64::from(HISTORY_PAGE), JUMP_PAGE);
            commands.push(Command::Send(ClientFrame::History {
                room: room.to_owned(),
                before: oldest,
                limit: Some(limit as u32),
            }));
        }
    } else if !waiting {
        view.jump = None;
        state.notice = Some("That message is no longer in the room's history.".into());
    }
}

/// Mutes or unmutes a room; remembered for the next visit.
pub(super) fn toggle_mute(state: &mut State, room: String, commands: &mut Vec<Command>) {
    if let Some(at) = state.muted.iter().position(|r| *r == room) {
        state.muted.remove(at);
    } else {
        state.muted.push(room.clone());
        if state.room(&room).is_some_and(|v| v.mentions > 0) {
            state.room_mut(&room).expect("found").mentions = 0;
        }
    }
    commands.push(Command::SaveMuted(state.muted.clone()));
}

/// The composer completes `@` + `prefix`: in a room the app knows only
/// part of, ask the server.
pub(super) fn complete_members(
    state: &mut State,
    room: String,
    prefix: String,
    commands: &mut Vec<Command>,
) {
    let online = state.online();
    let Some(view) = state.room_mut(&room).filter(|v| online && v.joined) else {
        return;
    };
    if let Some(prefix) = view.members.ask_complete(&prefix) {
        commands.push(Command::Send(ClientFrame::Members {
            room,
            prefix: Some(prefix),
            after: None,
            limit: Some(20),
        }));
    }
}
