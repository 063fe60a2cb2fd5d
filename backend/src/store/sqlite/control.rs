//! Rooms people run, in SQLite: each room's control state (owner, ops,
//! bans, mutes, invites, topic, modes, direct-message parties) as one JSON
//! value, changed in the transaction that stores the moderation event, and
//! the direct messages each account has, so a sign-in finds them.
//!
//! Moderation events are rows of `changes` (kind `mod`) holding the event
//! as the protocol writes it, so a catch-up replays them with the rest.

use parley_protocol::{name_key, RoomEvent};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{column_u64, to_sql};
use crate::store::{Action, Applied, NewEvent, Page, Person, RoomControl};

/// Version 6: rooms people run, and direct messages.
pub(super) const SCHEMA_V6: &str = "
    CREATE TABLE room_control (
        room  TEXT PRIMARY KEY,
        state TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE dms (
        key  TEXT NOT NULL,
        room TEXT NOT NULL,
        PRIMARY KEY (key, room)
    ) WITHOUT ROWID;
    CREATE INDEX changes_by_kind ON changes (room, kind, seq);
";

/// The room's control state; the default if it has none. A value that
/// does not parse (written by a newer version) reads as the default too,
/// loudly.
pub(super) fn control(conn: &Connection, room: &str) -> Result<RoomControl, rusqlite::Error> {
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM room_control WHERE room = ?1")?
        .query_row([room], |r| r.get(0))
        .optional()?;
    Ok(state.map_or_else(RoomControl::default, |json| {
        serde_json::from_str(&json).unwrap_or_else(|err| {
            tracing::error!(room, %err, "a room's control state does not parse; using none");
            RoomControl::default()
        })
    }))
}

/// Checks and applies a moderation action as `seq`: the room's control
/// state, the event's row, and for a direct message its parties' rows.
pub(super) fn moderate(
    tx: &Transaction<'_>,
    event: &NewEvent,
    seq: u64,
    actor: &Person,
    action: &Action,
) -> Result<Applied, rusqlite::Error> {
    let mut state = control(tx, &event.room)?;
    if let Err(refusal) = state.authorize(actor, action) {
        return Ok(Err(refusal));
    }
    state.apply(actor, action, event.ts);
    let json = serde_json::to_string(&state).expect("the control state serialises");
    tx.prepare_cached(
        "INSERT INTO room_control (room, state) VALUES (?1, ?2)
         ON CONFLICT (room) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![event.room, json])?;
    if let Action::OpenDm { with } = action {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO dms (key, room) VALUES (?1, ?2)")?;
        insert.execute(params![name_key(&event.nick), event.room])?;
        insert.execute(params![name_key(with), event.room])?;
    }
    let done = state.event(&event.room, seq, &event.nick, action, event.ts);
    let row = serde_json::to_string(&done).expect("room events serialise");
    tx.prepare_cached(
        "INSERT INTO changes (room, seq, kind, target, nick, ts, text, cid)
         VALUES (?1, ?2, 'mod', 0, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        event.room,
        to_sql(seq),
        event.nick,
        to_sql(event.ts),
        row,
        event.cid
    ])?;
    Ok(Ok(done))
}

/// A moderation event's row, read back.
pub(super) fn event_of(stored: Option<String>) -> Option<RoomEvent> {
    serde_json::from_str(&stored?).ok()
}

/// The newest `limit` moderation events with `seq < before`, newest first.
pub(super) fn modlog(
    conn: &Connection,
    room: &str,
    before: u64,
    limit: usize,
) -> Result<Page<RoomEvent>, rusqlite::Error> {
    let rows: Vec<(u64, Option<String>)> = conn
        .prepare_cached(
            "SELECT seq, text FROM changes WHERE room = ?1 AND kind = 'mod' AND seq < ?2
             ORDER BY seq DESC LIMIT ?3",
        )?
        .query_map(params![room, to_sql(before), limit as i64 + 1], |r| {
            Ok((column_u64(r, 0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit;
    let items = rows
        .into_iter()
        .take(limit)
        .filter_map(|(_, text)| event_of(text))
        .collect();
    Ok(Page { items, more })
}

/// The direct message of the accounts `a` and `b` (keys), if opened.
pub(super) fn dm_between(
    conn: &Connection,
    a: &str,
    b: &str,
) -> Result<Option<String>, rusqlite::Error> {
    conn.prepare_cached(
        "SELECT one.room FROM dms one JOIN dms other ON other.room = one.room
         WHERE one.key = ?1 AND other.key = ?2 LIMIT 1",
    )?
    .query_row(params![a, b], |r| r.get(0))
    .optional()
}

/// The direct messages of the account `key`.
pub(super) fn dms_of(conn: &Connection, key: &str) -> Result<Vec<String>, rusqlite::Error> {
    conn.prepare_cached("SELECT room FROM dms WHERE key = ?1 ORDER BY room")?
        .query_map([key], |r| r.get(0))?
        .collect()
}
