//! The frames that travel over the WebSocket, one JSON object per text frame.
//!
//! Both the server and the browser app compile these very definitions, so the
//! two sides cannot drift apart. Every frame carries its kind in the `type`
//! field; `docs/protocol.md` shows an example of each.

use serde::{Deserialize, Serialize};

use crate::moderation::{Moderation, RoomSettings, TopicSet};
use crate::ErrorCode;

/// A frame sent by a client to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Identify, as a guest with a nickname or as an account; must be the
    /// first frame of a connection.
    Hello {
        /// The wanted nickname (see [`crate::validate_nick`]); ignored when
        /// signing in (the account's nickname is used). Empty with no
        /// `token`: the browser's session cookie, if the upgrade carried one.
        #[serde(default)]
        nick: String,
        /// A resume token from an earlier `welcome`, to take that session back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
        /// A sign-in token from `POST /api/login`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Become a member of a room (idempotent: joining again re-sends `joined`).
    Join {
        /// The room's name (see [`crate::validate_room`]).
        room: String,
        /// The last `seq` the client has seen; history then starts after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
    /// Stop being a member of a room.
    Leave {
        /// The room to leave.
        room: String,
    },
    /// Say something in a room the client has joined.
    Send {
        /// The room to send to.
        room: String,
        /// The message text (see [`crate::validate_text`]).
        text: String,
        /// The client's own id for this message, echoed in `ack` and `message`.
        cid: String,
        /// The `seq` of the message in the same room this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Change the text of one's own message (within the edit window).
    Edit {
        /// The room.
        room: String,
        /// The `seq` of the message to change.
        target: u64,
        /// The new text (the same rules as `send`).
        text: String,
        /// The client's id for this change, echoed in `ack`.
        cid: String,
    },
    /// Take one's own message back: its text is erased for good.
    Delete {
        /// The room.
        room: String,
        /// The `seq` of the message to delete.
        target: u64,
        /// The client's id for this change, echoed in `ack`.
        cid: String,
    },
    /// Put (`on`) or take back a reaction to a message.
    React {
        /// The room.
        room: String,
        /// The `seq` of the message.
        target: u64,
        /// One emoji (see [`crate::validate_emoji`]).
        emoji: String,
        /// `true` to react, `false` to take the reaction back.
        on: bool,
        /// The client's id for this change, echoed in `ack`.
        cid: String,
    },
    /// Full-text search over the rooms this connection has joined (or one
    /// of them), newest first.
    Search {
        /// The words to find (each matches words starting with it).
        query: String,
        /// Only this room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// Only messages by this nickname.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nick: Option<String>,
        /// The `next` of the previous page: older hits than it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// How many hits at most (the server caps it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        /// Echoed in `search_results`, to match answers with questions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// The user is typing in a room; relayed to the other members.
    Typing {
        /// The room being typed in.
        room: String,
    },
    /// Ask for a page of older messages (scrollback).
    History {
        /// The room to page through.
        room: String,
        /// Return messages with a `seq` below this one.
        before: u64,
        /// How many messages at most (the server caps it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Ask for a page of a room's members, in nickname order: those whose
    /// nickname starts with `prefix` (ignoring case), after the nickname
    /// `after` (the last one of the previous page).
    Members {
        /// The room (must be joined).
        room: String,
        /// Only nicknames starting with this (ignoring case).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        /// Only nicknames after this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// How many at most (the server caps it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Remove a member from a room (they may come back). Owner, ops and
    /// server admins only.
    Kick {
        /// The room.
        room: String,
        /// The member to remove.
        nick: String,
        /// Why, shown to the member and the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Remove a member and keep them out: an account by its nickname, a
    /// guest by the key of its nickname and its address.
    Ban {
        /// The room.
        room: String,
        /// Who to ban (present or not).
        nick: String,
        /// For how long; none: until lifted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u64>,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban {
        /// The room.
        room: String,
        /// Who was banned.
        nick: String,
    },
    /// Stop a member from sending in a room (`on`), or let them again.
    Mute {
        /// The room.
        room: String,
        /// The member.
        nick: String,
        /// Muted or not.
        on: bool,
    },
    /// Make an account an op of the room (`on`), or not. The owner only.
    Op {
        /// The room.
        room: String,
        /// The account.
        nick: String,
        /// Op or not.
        on: bool,
    },
    /// Set the room's topic (empty: none).
    Topic {
        /// The room.
        room: String,
        /// The topic.
        text: String,
    },
    /// Change who may join the room; a mode left out stays as it is.
    Mode {
        /// The room.
        room: String,
        /// Only accounts may join.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accounts_only: Option<bool>,
        /// Only invited accounts (and moderators) may join.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite_only: Option<bool>,
    },
    /// Let an account join an invite-only room.
    Invite {
        /// The room.
        room: String,
        /// The account.
        nick: String,
    },
    /// Ask for the room's moderation log, newest first (moderators only).
    Modlog {
        /// The room.
        room: String,
        /// Only events with a `seq` below this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// How many at most (the server caps it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Open (or reopen) the direct message with another account.
    OpenDm {
        /// The other account's nickname.
        nick: String,
    },
    /// Application-level liveness check, answered with `pong`.
    Ping {
        /// Any number; echoed back in `pong`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
}

/// One chat message as stored and relayed, in its current state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The room it was said in.
    pub room: String,
    /// Per-room, strictly increasing sequence number assigned by the server.
    pub seq: u64,
    /// The author's nickname.
    pub nick: String,
    /// The message text (empty once deleted).
    pub text: String,
    /// Server time at which it was accepted, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The author's client id for the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The `seq` of the message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// Enough of the message answered to show it without a lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
    /// Members of the room the text names as `@nick`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// When the text was last edited, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<u64>,
    /// True once the author deleted it: a tombstone without text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The reactions to it, in the order they were first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reactions>,
}

/// The start of an answered message, carried by its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Its author.
    pub nick: String,
    /// Its first line, cut to at most 100 characters (empty once deleted).
    pub text: String,
}

/// One emoji on a message: how many gave it, and who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactions {
    /// The emoji.
    pub emoji: String,
    /// How many members gave it.
    pub count: u32,
    /// Who gave it, in the order they did.
    pub nicks: Vec<String>,
}

/// A message's text was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edited {
    /// The room.
    pub room: String,
    /// This change's own `seq`.
    pub seq: u64,
    /// The `seq` of the message changed.
    pub target: u64,
    /// Who changed it (its author).
    pub nick: String,
    /// The new text.
    pub text: String,
    /// Members the new text names as `@nick`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// When.
    pub ts: u64,
}

/// A message was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// The room.
    pub room: String,
    /// This change's own `seq`.
    pub seq: u64,
    /// The `seq` of the message deleted.
    pub target: u64,
    /// Who deleted it (its author).
    pub nick: String,
    /// When.
    pub ts: u64,
}

/// A reaction was given or taken back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reacted {
    /// The room.
    pub room: String,
    /// This change's own `seq`.
    pub seq: u64,
    /// The `seq` of the message.
    pub target: u64,
    /// Who reacted.
    pub nick: String,
    /// The emoji.
    pub emoji: String,
    /// `true`: given, `false`: taken back.
    pub on: bool,
    /// When.
    pub ts: u64,
}

/// Something that happened in a room, with its own `seq`: a message, or a
/// change to an earlier one. A catch-up (`join {since}`) replays them in
/// order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomEvent {
    /// A message, in its current state.
    Message(ChatMessage),
    /// A message's text was changed.
    Edited(Edited),
    /// A message was deleted.
    Deleted(Deleted),
    /// A reaction was given or taken back.
    Reacted(Reacted),
    /// A moderation action.
    Moderation(Moderation),
    /// The topic was set.
    Topic(TopicSet),
}

impl RoomEvent {
    /// The event's own `seq`.
    pub fn seq(&self) -> u64 {
        match self {
            RoomEvent::Message(m) => m.seq,
            RoomEvent::Edited(e) => e.seq,
            RoomEvent::Deleted(d) => d.seq,
            RoomEvent::Reacted(r) => r.seq,
            RoomEvent::Moderation(m) => m.seq,
            RoomEvent::Topic(t) => t.seq,
        }
    }

    /// The room it happened in.
    pub fn room(&self) -> &str {
        match self {
            RoomEvent::Message(m) => &m.room,
            RoomEvent::Edited(e) => &e.room,
            RoomEvent::Deleted(d) => &d.room,
            RoomEvent::Reacted(r) => &r.room,
            RoomEvent::Moderation(m) => &m.room,
            RoomEvent::Topic(t) => &t.room,
        }
    }

    /// Who did it.
    pub fn nick(&self) -> &str {
        match self {
            RoomEvent::Message(m) => &m.nick,
            RoomEvent::Edited(e) => &e.nick,
            RoomEvent::Deleted(d) => &d.nick,
            RoomEvent::Reacted(r) => &r.nick,
            RoomEvent::Moderation(m) => &m.nick,
            RoomEvent::Topic(t) => &t.nick,
        }
    }

    /// When it happened.
    pub fn ts(&self) -> u64 {
        match self {
            RoomEvent::Message(m) => m.ts,
            RoomEvent::Edited(e) => e.ts,
            RoomEvent::Deleted(d) => d.ts,
            RoomEvent::Reacted(r) => r.ts,
            RoomEvent::Moderation(m) => m.ts,
            RoomEvent::Topic(t) => t.ts,
        }
    }
}

impl From<RoomEvent> for ServerFrame {
    fn from(event: RoomEvent) -> Self {
        match event {
            RoomEvent::Message(m) => ServerFrame::Message(m),
            RoomEvent::Edited(e) => ServerFrame::Edited(e),
            RoomEvent::Deleted(d) => ServerFrame::Deleted(d),
            RoomEvent::Reacted(r) => ServerFrame::Reacted(r),
            RoomEvent::Moderation(m) => ServerFrame::Moderation(m),
            RoomEvent::Topic(t) => ServerFrame::Topic(t),
        }
    }
}

/// One message found by `search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The room.
    pub room: String,
    /// The message's `seq`.
    pub seq: u64,
    /// Its author.
    pub nick: String,
    /// When it was said.
    pub ts: u64,
    /// Its text.
    pub text: String,
    /// Where the query's words are in `text`: `[start, end)` in characters
    /// (Unicode scalar values), in order.
    pub matches: Vec<[u32; 2]>,
}

/// The limits a server enforces, told to each client in `welcome` so the
/// browser can validate before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Longest message text, in characters, after trimming.
    pub max_text_chars: u32,
    /// Largest WebSocket frame the server accepts, in bytes.
    pub max_frame_bytes: u32,
    /// Messages a client may send in one burst.
    pub rate_burst: u32,
    /// Messages per second the burst refills at.
    pub rate_per_sec: u32,
    /// How long a typing indicator stays up without a new `typing` frame, in ms.
    pub typing_ttl_ms: u64,
    /// How long after a dropped connection the resume token stays valid, in ms.
    pub resume_grace_ms: u64,
    /// How long after sending a message its author may edit it, in ms (0:
    /// no limit).
    #[serde(default)]
    pub edit_window_ms: u64,
    /// Most distinct emoji on one message.
    #[serde(default)]
    pub max_reactions: u32,
}

/// A frame sent by the server to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`: who you are, and how to come back.
    Welcome {
        /// The nickname as the server normalised it.
        nick: String,
        /// An opaque id of this session, stable across resumes.
        session: String,
        /// Token to send in a later `hello` to resume this session.
        resume: String,
        /// True when `hello` carried a valid token and the session was taken back.
        resumed: bool,
        /// Rooms the session is already a member of (non-empty only on resume).
        rooms: Vec<String>,
        /// The server's limits.
        limits: Limits,
        /// Whether the session is signed in to an account (else a guest).
        #[serde(default)]
        account: bool,
        /// The account's direct messages (room names), to join.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dms: Vec<String>,
        /// Whether the account is a server admin (every right in every
        /// room but direct messages).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        admin: bool,
    },
    /// Answer to `join`: the room's members and the history the client lacks.
    Joined {
        /// The normalised room name.
        room: String,
        /// Nicknames of the members, the joiner included, in nickname order:
        /// all of them, or in a large room the first page.
        members: Vec<String>,
        /// How many members the room has.
        member_count: u64,
        /// True when `members` is only the first page (ask for the rest
        /// with `members`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        members_more: bool,
        /// Without `since`: the newest messages, oldest first, in their
        /// current state. With `since`: everything that happened after it
        /// (messages and changes), in order.
        history: Vec<RoomEvent>,
        /// True when more messages exist after `since` than `history` holds.
        more: bool,
        /// The room's newest `seq` (0 for a room with no messages).
        last_seq: u64,
        /// The topic, the owner and ops, the modes, and for a direct
        /// message the other party.
        #[serde(default)]
        settings: RoomSettings,
    },
    /// Answer to `leave`.
    Left {
        /// The room left.
        room: String,
    },
    /// Someone else said something in a room the client is in.
    Message(ChatMessage),
    /// Someone changed the text of a message.
    Edited(Edited),
    /// Someone deleted a message.
    Deleted(Deleted),
    /// Someone reacted to a message, or took a reaction back.
    Reacted(Reacted),
    /// A moderator acted in the room (the moderator is told too).
    Moderation(Moderation),
    /// The room's topic was set (everyone is told, the setter too).
    Topic(TopicSet),
    /// This connection's session was removed from a room by a moderator
    /// (kicked or banned); it is no longer a member.
    Removed {
        /// The room.
        room: String,
        /// Who removed it.
        by: String,
        /// Why, if the moderator said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// True for a ban: joining again is refused (until `until`, if set).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        banned: bool,
        /// When the ban ends, ms since the Unix epoch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
    },
    /// Answer to `modlog`: the room's moderation events, newest first.
    Modlog {
        /// The room.
        room: String,
        /// The events (`moderation` and `topic`), newest first.
        entries: Vec<RoomEvent>,
        /// True when older ones exist.
        more: bool,
    },
    /// The server accepted (and stored) a message, edit, deletion or
    /// reaction this client sent.
    Ack {
        /// The client's id for it.
        cid: String,
        /// The room it went to.
        room: String,
        /// The `seq` the server assigned.
        seq: u64,
        /// Server time in milliseconds since the Unix epoch.
        ts: u64,
    },
    /// Who joined and who left a room since the last `presence` (sent at
    /// most once per interval), and how many members it has now. Apply the
    /// lists as set operations: they may name members the client already
    /// knows about. A large room sends only the count.
    Presence {
        /// The room.
        room: String,
        /// Members who arrived.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        joined: Vec<String>,
        /// Members who left.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        left: Vec<String>,
        /// How many members the room has now.
        count: u64,
    },
    /// Who typed in a room since the last `typing` (sent at most once per
    /// interval); the list may include the receiver itself.
    Typing {
        /// The room.
        room: String,
        /// Some of them (at most five), in nickname order.
        nicks: Vec<String>,
        /// How many typed.
        count: u64,
    },
    /// Answer to `members`: a page of the room's members.
    Members {
        /// The room.
        room: String,
        /// The page, in nickname order.
        members: Vec<String>,
        /// True when more members match after this page.
        more: bool,
        /// How many members the room has.
        count: u64,
    },
    /// Answer to `search`: the hits, newest first.
    SearchResults {
        /// The `id` of the `search`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The messages found.
        hits: Vec<SearchHit>,
        /// True when older hits exist.
        more: bool,
        /// Pass as `before` to get them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<u64>,
    },
    /// Answer to `history`: older messages, oldest first.
    History {
        /// The room.
        room: String,
        /// The page, oldest first.
        messages: Vec<ChatMessage>,
        /// True when still older messages exist.
        more: bool,
    },
    /// Something the client sent was refused; the connection stays up.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// The `cid` of the `send` this refers to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
        /// The room this refers to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// Answer to `ping`.
    Pong {
        /// The `id` of the `ping`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
}

impl ServerFrame {
    /// An `error` frame with no `cid` or `room`.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            cid: None,
            room: None,
        }
    }

    /// The JSON text of this frame.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail: no maps with non-string
        // keys, no custom serialisers.
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

impl ClientFrame {
    /// The JSON text of this frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialise")
    }
}
