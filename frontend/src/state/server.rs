//! How the server's frames change the state: `welcome` (then a catch-up
//! `join` for every open room), `joined` (merge the history, then send what
//! was queued), live messages, changes and acks, presence, typing,
//! scrollback pages, search results, and errors (a refused message is
//! marked failed by its `cid`, a refused change is rolled back).
//!
//! It is the half of the reducer that answers the server, kept apart from
//! the user's half (`user.rs`) so each reads on its own.

use std::rc::Rc;

use parley_protocol::{ChatMessage, ClientFrame, ErrorCode, RoomEvent, ServerFrame};

use super::{
    account, life, moderate, search, ChangeKind, Command, Delivery, Line, Screen, State, Status,
};

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
            account,
            dms,
            admin,
            ..
        } => {
            state.account.session = account;
            state.admin = admin;
            if account {
                state.account.signed_in_as = Some(nick.clone());
                state.account.checked = true;
            }
            state.nick = nick.clone();
            state.resume = Some(resume);
            state.limits = limits;
            state.identified = true;
            state.status = Status::Online;
            state.screen = Screen::Chat;
            state.join_error = None;
            commands.push(Command::SaveNick(nick));
            // The account's direct messages are joined like rooms (the
            // sidebar lists them apart).
            for name in rooms.into_iter().chain(dms) {
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
            settings,
        } => {
            let generation = state.generation;
            let me = state.nick.clone();
            // The other party opened a direct message: show it.
            moderate::accept_dm(state, &room);
            let Some(view) = state.room_mut(&room) else {
                // Joined a room the user has left meanwhile: leave it again.
                commands.push(Command::Send(ClientFrame::Leave { room }));
                return;
            };
            view.joined = true;
            view.members.joined(members, member_count, members_more);
            // A large room lists nobody in `joined`: ask for the first page.
            if view.members.known.is_empty() {
                if let Some(after) = view.members.ask_more() {
                    commands.push(Command::Send(ClientFrame::Members {
                        room: room.clone(),
                        prefix: None,
                        after,
                        limit: None,
                    }));
                }
            }
            view.merge_joined(history, more, last_seq, &me);
            // The settings are the room's now: they win over the history's.
            view.settings = settings;
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
                            reply_to: line.reply_to,
                        }));
                    }
                }
            }
            // The same for changes (the history above settled the ones the
            // server had applied: a catch-up replays the reader's own too).
            for (target, change) in view.unsent_changes(generation, now) {
                commands.push(Command::Send(life::frame(&room, target, &change)));
            }
            moderate::joined_dm(state, &room);
            life::continue_jump(state, &room, now, commands);
        }
        ServerFrame::Left { room } => {
            if let Some(view) = state.room_mut(&room) {
                view.joined = false;
            }
        }
        ServerFrame::Message(message) => on_message(state, message, commands),
        ServerFrame::Edited(edit) => on_change(state, RoomEvent::Edited(edit)),
        ServerFrame::Deleted(deletion) => on_change(state, RoomEvent::Deleted(deletion)),
        ServerFrame::Reacted(reaction) => on_change(state, RoomEvent::Reacted(reaction)),
        // The settings follow, and a system line tells (`run.rs`).
        ServerFrame::Moderation(event) => on_change(state, RoomEvent::Moderation(event)),
        ServerFrame::Topic(event) => on_change(state, RoomEvent::Topic(event)),
        ServerFrame::Removed {
            room,
            by,
            reason,
            banned,
            ..
        } => moderate::removed(state, &room, &by, reason.as_deref(), banned),
        ServerFrame::Modlog {
            room,
            entries,
            more,
        } => moderate::modlog(state, &room, entries, more),
        ServerFrame::Ack { cid, room, seq, ts } => {
            let me = state.nick.clone();
            if let Some(view) = state.room_mut(&room) {
                if !view.confirm_change(&cid, seq, ts as f64, &me) {
                    view.acknowledge(&cid, seq, ts as f64);
                }
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
            let online = state.online();
            if let Some(view) = state.room_mut(&room) {
                let again = view.members.page(members, more, count);
                if let (Some(prefix), true) = (again, online && view.joined) {
                    commands.push(Command::Send(ClientFrame::Members {
                        room,
                        prefix: Some(prefix),
                        after: None,
                        limit: Some(20),
                    }));
                }
            }
        }
        ServerFrame::History {
            room,
            messages,
            more,
        } => {
            let me = state.nick.clone();
            if let Some(view) = state.room_mut(&room) {
                view.prepend(messages, more, &me);
            }
            life::continue_jump(state, &room, now, commands);
        }
        ServerFrame::SearchResults {
            id,
            hits,
            more,
            next,
        } => search::results(state, id, hits, more, next),
        ServerFrame::Error {
            code,
            message,
            cid,
            room,
        } => on_error(state, code, message, cid, room, commands),
        ServerFrame::Pong { .. } => {}
    }
}

/// A live message: unread (and a mention) unless the reader sees it; a
/// mention in a hidden page notifies, unless the room is muted.
fn on_message(state: &mut State, message: ChatMessage, commands: &mut Vec<Command>) {
    let room = message.room.clone();
    let in_view = state.visible && state.active.as_deref() == Some(room.as_str());
    let muted = state.is_muted(&room);
    let (visible, me) = (state.visible, state.nick.clone());
    let (seq, nick, text) = (message.seq, message.nick.clone(), message.text.clone());
    let Some(view) = state.room_mut(&room) else {
        return;
    };
    if !view.insert(message, &me) {
        return;
    }
    let mentions_me = view.line(seq).is_some_and(|l| l.mentions_me && !l.own);
    if !in_view {
        view.unread += 1;
        if mentions_me && !muted {
            view.mentions += 1;
        }
    }
    if mentions_me && !muted && !visible {
        commands.push(Command::Notify {
            room,
            seq,
            nick,
            text,
        });
    }
}

/// A live change to a message.
fn on_change(state: &mut State, event: RoomEvent) {
    let me = state.nick.clone();
    if let Some(view) = state.room_mut(event.room()) {
        view.apply(event, &me);
    }
}

/// What a refused change was, for its notice.
pub(super) fn failed_change(kind: &ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Edit(_) => "Your edit was undone",
        ChangeKind::Delete => "Your message was not deleted",
        ChangeKind::React { .. } => "Your reaction was undone",
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
    let refused_hello = matches!(
        code,
        ErrorCode::NickTaken
            | ErrorCode::InvalidNick
            | ErrorCode::NickReserved
            | ErrorCode::NickConfusable
            | ErrorCode::InvalidToken
    );
    if !state.identified && refused_hello {
        state.join_error = match code {
            ErrorCode::NickTaken => Some(format!(
                "Someone is already using the nickname “{}”. Please pick another.",
                state.nick
            )),
            ErrorCode::NickReserved => Some(format!(
                "The nickname “{}” is reserved by an account: sign in, or pick another.",
                state.nick
            )),
            ErrorCode::InvalidToken => {
                account::sign_in_ended(state);
                Some("Your sign-in has ended: sign in again, or join as a guest.".into())
            }
            _ => Some(message),
        };
        state.screen = Screen::Join;
        state.status = Status::Idle;
        state.resume = None;
        commands.push(Command::Disconnect);
        return;
    }
    if code == ErrorCode::InvalidQuery {
        search::failed(state, message);
        return;
    }
    if code == ErrorCode::Muted {
        moderate::muted(state, room.as_deref());
    }
    if let Some(cid) = &cid {
        // A refused change: rolled back, and the reader told why.
        let found = state.rooms.iter().position(|v| {
            room.as_ref().is_none_or(|r| *r == v.name) && v.change_target(cid).is_some()
        });
        if let Some(at) = found {
            let view = std::rc::Rc::make_mut(&mut state.rooms[at]);
            if let Some(kind) = view.roll_back_change(cid) {
                state.notice = Some(format!("{}: {message}", failed_change(&kind)));
            }
            return;
        }
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
    if moderate::refused(state, code, &message, room.as_deref()) {
        return;
    }
    if matches!(code, ErrorCode::Forbidden | ErrorCode::NoSuchNick) {
        // Perhaps an `open_dm` refused: the notice below says why.
        state.opening_dm = None;
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
