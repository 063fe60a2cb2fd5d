//! How the server's frames change the state: `welcome` (then a catch-up
//! `join` for every open room), `joined` (merge the history, then send what
//! was queued), live messages and acks, presence, typing, scrollback pages,
//! and errors (a refused message is marked failed by its `cid`).
//!
//! It is the half of the reducer that answers the server, kept apart from
//! the user's half (`user.rs`) so each reads on its own.

use std::rc::Rc;

use parley_protocol::{ChatMessage, ClientFrame, ErrorCode, RoomEvent, ServerFrame};

use super::{Command, Delivery, Line, Screen, State, Status};

/// Applies one frame from the server.
pub(super) fn on_frame(
    state: &mut State,
    frame: ServerFrame,
    now: f64,
    commands: &mut Vec<Command>,
) {
    match frame {
        ServerFrame::Welcome {
            nick,
            resume,
            rooms,
            limits,
            ..
        } => {
            state.nick = nick.clone();
            state.resume = Some(resume);
            state.limits = limits;
            state.identified = true;
            state.status = Status::Online;
            state.screen = Screen::Chat;
            state.join_error = None;
            commands.push(Command::SaveNick(nick));
            for name in rooms {
                state.open_room(&name);
            }
            if state.active.is_none() {
                if let Some(first) = state.rooms.first().map(|r| r.name.clone()) {
                    state.select(&first);
                }
            }
            for room in &state.rooms {
                commands.push(Command::Send(State::join_frame(room)));
            }
        }
        ServerFrame::Joined {
            room,
            members,
            member_count,
            members_more,
            history,
            more,
            last_seq,
        } => {
            let generation = state.generation;
            let is_active = state.active.as_deref() == Some(room.as_str());
            let Some(view) = state.room_mut(&room) else {
                // Joined a room the user has left meanwhile: leave it again.
                commands.push(Command::Send(ClientFrame::Leave { room }));
                return;
            };
            view.joined = true;
            view.members.joined(members, member_count, members_more);
            // Only messages for now: changes to them (edits, deletions,
            // reactions) are shown by the message-life work that follows.
            let messages = history
                .into_iter()
                .filter_map(|event| match event {
                    RoomEvent::Message(message) => Some(message),
                    _ => None,
                })
                .collect();
            view.merge_joined(messages, more, last_seq, is_active);
            // Messages typed while offline, or unanswered on the old socket:
            // send them now (the history above already settled any that the
            // server had stored).
            for line in view.lines.iter_mut() {
                if let Line::Chat(line) = line {
                    if line.own
                        && line.delivery == Delivery::Pending
                        && line.sent_on != Some(generation)
                    {
                        let line = Rc::make_mut(line);
                        line.sent_on = Some(generation);
                        line.sent_at = now;
                        let cid = line.cid.clone().unwrap_or_default();
                        commands.push(Command::Send(ClientFrame::Send {
                            room: room.clone(),
                            text: line.text.clone(),
                            cid,
                            reply_to: None,
                        }));
                    }
                }
            }
        }
        ServerFrame::Left { room } => {
            if let Some(view) = state.room_mut(&room) {
                view.joined = false;
            }
        }
        ServerFrame::Message(message) => on_message(state, message, now),
        ServerFrame::Ack { cid, room, seq, ts } => {
            if let Some(view) = state.room_mut(&room) {
                view.acknowledge(&cid, seq, ts as f64);
            }
        }
        ServerFrame::Presence {
            room,
            joined,
            left,
            count,
        } => {
            if let Some(view) = state.room_mut(&room) {
                view.presence(joined, left, count, now);
            }
        }
        ServerFrame::Typing { room, nicks, count } => {
            let until = now + state.limits.typing_ttl_ms as f64;
            let me = state.nick.clone();
            if let Some(view) = state.room_mut(&room) {
                view.typing(nicks, count, &me, until);
            }
        }
        ServerFrame::Members {
            room,
            members,
            more,
            count,
        } => {
            if let Some(view) = state.room_mut(&room) {
                view.members.page(members, more, count);
            }
        }
        ServerFrame::History {
            room,
            messages,
            more,
        } => {
            if let Some(view) = state.room_mut(&room) {
                view.prepend(messages, more);
            }
        }
        ServerFrame::Error {
            code,
            message,
            cid,
            room,
        } => on_error(state, code, message, cid, room, commands),
        ServerFrame::Pong { .. } => {}
        // Shown by the message-life work that follows.
        ServerFrame::Edited(_)
        | ServerFrame::Deleted(_)
        | ServerFrame::Reacted(_)
        | ServerFrame::SearchResults { .. } => {}
    }
}

fn on_message(state: &mut State, message: ChatMessage, _now: f64) {
    let in_view = state.visible && state.active.as_deref() == Some(message.room.as_str());
    if let Some(view) = state.room_mut(&message.room) {
        if view.insert(message) && !in_view {
            view.unread += 1;
        }
    }
}

fn on_error(
    state: &mut State,
    code: ErrorCode,
    message: String,
    cid: Option<String>,
    room: Option<String>,
    commands: &mut Vec<Command>,
) {
    if !state.identified && matches!(code, ErrorCode::NickTaken | ErrorCode::InvalidNick) {
        state.join_error = Some(if code == ErrorCode::NickTaken {
            format!(
                "Someone is already using the nickname “{}”. Please pick another.",
                state.nick
            )
        } else {
            message
        });
        state.screen = Screen::Join;
        state.status = Status::Idle;
        state.resume = None;
        commands.push(Command::Disconnect);
        return;
    }
    if let Some(cid) = &cid {
        // The refused message (looked up by cid in every room, in case the
        // error does not name the room).
        let found = state
            .rooms
            .iter_mut()
            .find(|v| room.as_ref().is_none_or(|r| *r == v.name) && v.own_line(cid).is_some());
        if let Some(view) = found {
            if view
                .own_line(cid)
                .is_some_and(|l| l.delivery == Delivery::Pending)
            {
                let line = Rc::make_mut(view).own_line_mut(cid).expect("found above");
                line.delivery = Delivery::Failed(message);
            }
            return;
        }
    }
    if matches!(
        code,
        ErrorCode::InvalidRoom | ErrorCode::TooManyRooms | ErrorCode::ServerFull
    ) {
        if let Some(room) = &room {
            state.rooms.retain(|r| &r.name != room);
            if state.active.as_deref() == Some(room.as_str()) {
                state.active = state.rooms.first().map(|r| r.name.clone());
            }
        }
    }
    state.notice = Some(message);
}
