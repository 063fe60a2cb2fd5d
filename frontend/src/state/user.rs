//! How the user's actions change the state: joining from the join screen,
//! sending (and retrying) messages (new ones, replies, or an edit when the
//! composer edits), opening, showing and leaving rooms, signing out,
//! typing, and scrolling back for older messages.
//!
//! It is the other half of the reducer from `server.rs`: what the user asks
//! for is decided here (whether a frame goes out now or waits for the next
//! `joined`), what the server answers is applied there.

use std::rc::Rc;

use parley_protocol::{ClientFrame, Quote};

use super::{
    life, ChatLine, Command, Compose, Delivery, Line, Screen, State, Status, HISTORY_PAGE,
    TYPING_EVERY_MS,
};

/// The join form was sent: open the room and connect.
pub(super) fn start(state: &mut State, nick: String, room: String, commands: &mut Vec<Command>) {
    state.nick = nick.trim().to_owned();
    state.join_error = None;
    let room = parley_protocol::validate_room(&room)
        .unwrap_or_else(|_| parley_protocol::DEFAULT_ROOM.to_owned());
    state.open_room(&room);
    state.select(&room);
    state.status = Status::Connecting;
    commands.push(Command::Connect);
}

/// A new message (or a reply, or an edit, as the composer says): shown at
/// once as pending, sent now if the room is joined on an identified socket
/// (otherwise after the next `joined`).
pub(super) fn send(
    state: &mut State,
    room: String,
    text: String,
    now: f64,
    commands: &mut Vec<Command>,
) {
    let max = state.limits.max_text_chars as usize;
    let text = match parley_protocol::validate_text_with_limit(&text, max) {
        Ok(text) => text,
        Err(err) => {
            state.notice = Some(err.to_string());
            return;
        }
    };
    let Some(compose) = state.room(&room).map(|v| v.compose) else {
        return;
    };
    let reply_to = match compose {
        Compose::Edit(seq) => return life::edit(state, &room, seq, text, now, commands),
        Compose::Reply(seq) => Some(seq),
        Compose::New => None,
    };
    let cid = format!("{}-{}", state.cid_prefix, state.next_cid);
    state.next_cid += 1;
    let nick = state.nick.clone();
    let online = state.online();
    let generation = state.generation;
    let view = state.room_mut(&room).expect("checked above");
    let send_now = online && view.joined;
    let quote = reply_to.and_then(|seq| view.line(seq)).map(|l| Quote {
        nick: l.nick.clone(),
        text: parley_protocol::quote_of(l.shown_text()),
    });
    view.lines.push(Line::Chat(Rc::new(ChatLine {
        seq: None,
        cid: Some(cid.clone()),
        nick,
        text: text.clone(),
        ts: now,
        own: true,
        delivery: Delivery::Pending,
        sent_on: send_now.then_some(generation),
        sent_at: now,
        reply_to,
        quote,
        ..ChatLine::default()
    })));
    view.typing_sent_at = None;
    view.compose = Compose::New;
    if send_now {
        commands.push(Command::Send(ClientFrame::Send {
            room,
            text,
            cid,
            reply_to,
        }));
    }
}

/// A failed message goes out again, with the same `cid`.
pub(super) fn retry(
    state: &mut State,
    room: String,
    cid: String,
    now: f64,
    commands: &mut Vec<Command>,
) {
    let online = state.online();
    let generation = state.generation;
    let known = state
        .room(&room)
        .is_some_and(|v| v.own_line(&cid).is_some());
    if let Some(view) = state.room_mut(&room).filter(|_| known) {
        let send_now = online && view.joined;
        if let Some(line) = view.own_line_mut(&cid) {
            line.delivery = Delivery::Pending;
            line.sent_at = now;
            line.sent_on = send_now.then_some(generation);
            if send_now {
                commands.push(Command::Send(ClientFrame::Send {
                    room,
                    text: line.text.clone(),
                    cid,
                    reply_to: line.reply_to,
                }));
            }
        }
    }
}

/// Opens (joins) a room, or shows it if it is open.
pub(super) fn open_room(state: &mut State, name: String, commands: &mut Vec<Command>) {
    match parley_protocol::validate_room(&name) {
        Ok(name) => {
            let is_new = state.room(&name).is_none();
            state.open_room(&name);
            state.select(&name);
            if is_new && state.online() {
                commands.push(Command::Send(ClientFrame::Join {
                    room: name,
                    since: None,
                }));
            }
        }
        Err(err) => state.notice = Some(err.to_string()),
    }
}

/// Leaves a room; shows the one before it, or goes back to the join screen
/// after the last one.
pub(super) fn leave_room(state: &mut State, name: String, commands: &mut Vec<Command>) {
    let Some(index) = state.rooms.iter().position(|r| r.name == name) else {
        return;
    };
    state.rooms.remove(index);
    if state.online() {
        commands.push(Command::Send(ClientFrame::Leave { room: name.clone() }));
    }
    if state.active.as_deref() == Some(name.as_str()) {
        state.active = None;
        if let Some(next) = state
            .rooms
            .get(index.saturating_sub(1))
            .map(|r| r.name.clone())
        {
            state.select(&next);
        }
    }
    if state.rooms.is_empty() {
        sign_out(state, commands);
    }
}

/// Leaves every room and goes back to the join screen; an account signs
/// out too (the join screen then offers no "Continue").
pub(super) fn quit(state: &mut State, commands: &mut Vec<Command>) {
    state.rooms.clear();
    state.active = None;
    if state.account.session || state.account.use_cookie {
        super::account::forget(state, commands);
    }
    sign_out(state, commands);
}

/// Sends `typing` for a room, at most once per [`TYPING_EVERY_MS`].
pub(super) fn typing(state: &mut State, room: String, now: f64, commands: &mut Vec<Command>) {
    let online = state.online();
    let due = state.room(&room).is_some_and(|view| {
        view.joined
            && view
                .typing_sent_at
                .is_none_or(|t| now - t >= TYPING_EVERY_MS)
    });
    if online && due {
        if let Some(view) = state.room_mut(&room) {
            view.typing_sent_at = Some(now);
        }
        commands.push(Command::Send(ClientFrame::Typing { room }));
    }
}

/// Asks for the page of messages before the oldest one shown (one page at
/// a time).
pub(super) fn load_older(state: &mut State, room: String, commands: &mut Vec<Command>) {
    let online = state.online();
    let oldest = state
        .room(&room)
        .filter(|view| online && view.joined && view.more_before && !view.loading_older)
        .and_then(|view| view.oldest_seq());
    if let (Some(oldest), Some(view)) = (oldest, state.room_mut(&room)) {
        view.loading_older = true;
        commands.push(Command::Send(ClientFrame::History {
            room,
            before: oldest,
            limit: Some(HISTORY_PAGE),
        }));
    }
}

/// Asks for the next page of a room's member list.
pub(super) fn more_members(state: &mut State, room: String, commands: &mut Vec<Command>) {
    let online = state.online();
    let Some(view) = state.room_mut(&room).filter(|v| online && v.joined) else {
        return;
    };
    if let Some(after) = view.members.ask_more() {
        commands.push(Command::Send(ClientFrame::Members {
            room,
            prefix: None,
            after,
            limit: None,
        }));
    }
}

/// Searches a room's members by the start of a nickname.
pub(super) fn search_members(
    state: &mut State,
    room: String,
    prefix: String,
    commands: &mut Vec<Command>,
) {
    let online = state.online();
    let Some(view) = state.room_mut(&room).filter(|v| online && v.joined) else {
        return;
    };
    if let Some(prefix) = view.members.ask_search(&prefix) {
        commands.push(Command::Send(ClientFrame::Members {
            room,
            prefix: Some(prefix),
            after: None,
            limit: None,
        }));
    }
}

/// Back to the join screen, closing the socket for good.
fn sign_out(state: &mut State, commands: &mut Vec<Command>) {
    state.screen = Screen::Join;
    state.resume = None;
    state.identified = false;
    state.status = Status::Idle;
    state.notice = None;
    state.removal = None;
    state.settings_open = None;
    state.opening_dm = None;
    commands.push(Command::Disconnect);
}
