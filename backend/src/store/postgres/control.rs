//! Rooms people run, in PostgreSQL: each room's control state as one JSON
//! value, changed in the transaction that stores the moderation event (the
//! room's row in `rooms` is locked then, so servers sharing the database
//! never interleave two changes of one room), and the direct messages each
//! account has. Moderation events are rows of `changes` (kind `mod`).

use parley_protocol::{name_key, RoomEvent};

use super::{to_sql, Tx};
use crate::store::{Action, Applied, NewEvent, Page, Person, RoomControl};

/// The room's control state; the default if it has none (or if it does
/// not parse, loudly).
pub(super) fn control(tx: &mut Tx<'_>, room: &str) -> Result<RoomControl, postgres::Error> {
    let state: Option<String> = tx
        .query_opt("SELECT state FROM room_control WHERE room = $1", &[&room])?
        .map(|r| r.get(0));
    Ok(state.map_or_else(RoomControl::default, |json| {
        serde_json::from_str(&json).unwrap_or_else(|err| {
            tracing::error!(room, %err, "a room's control state does not parse; using none");
            RoomControl::default()
        })
    }))
}

/// Checks and applies a moderation action as `seq`.
pub(super) fn moderate(
    tx: &mut Tx<'_>,
    event: &NewEvent,
    seq: u64,
    actor: &Person,
    action: &Action,
) -> Result<Applied, postgres::Error> {
    let mut state = control(tx, &event.room)?;
    if let Err(refusal) = state.authorize(actor, action) {
        return Ok(Err(refusal));
    }
    state.apply(actor, action, event.ts);
    let json = serde_json::to_string(&state).expect("the control state serialises");
    tx.execute(
        "INSERT INTO room_control (room, state) VALUES ($1, $2)
         ON CONFLICT (room) DO UPDATE SET state = excluded.state",
        &[&event.room, &json],
    )?;
    if let Action::OpenDm { with } = action {
        for key in [name_key(&event.nick), name_key(with)] {
            tx.execute(
                "INSERT INTO dms (key, room) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&key, &event.room],
            )?;
        }
    }
    let done = state.event(&event.room, seq, &event.nick, action, event.ts);
    let row = serde_json::to_string(&done).expect("room events serialise");
    tx.execute(
        "INSERT INTO changes (room, seq, kind, target, nick, ts, text, cid)
         VALUES ($1, $2, 'mod', 0, $3, $4, $5, $6)",
        &[
            &event.room,
            &to_sql(seq),
            &event.nick,
            &to_sql(event.ts),
            &row,
            &event.cid,
        ],
    )?;
    Ok(Ok(done))
}

/// A moderation event's row, read back.
pub(super) fn event_of(stored: Option<String>) -> Option<RoomEvent> {
    serde_json::from_str(&stored?).ok()
}

/// The newest `limit` moderation events with `seq < before`, newest first.
pub(super) fn modlog(
    tx: &mut Tx<'_>,
    room: &str,
    before: u64,
    limit: usize,
) -> Result<Page<RoomEvent>, postgres::Error> {
    let rows = tx.query(
        "SELECT text FROM changes WHERE room = $1 AND kind = 'mod' AND seq < $2
         ORDER BY seq DESC LIMIT $3",
        &[&room, &to_sql(before), &(limit as i64 + 1)],
    )?;
    let more = rows.len() > limit;
    let items = rows
        .iter()
        .take(limit)
        .filter_map(|r| event_of(r.get(0)))
        .collect();
    Ok(Page { items, more })
}

/// The direct message of the accounts `a` and `b` (keys), if opened.
pub(super) fn dm_between(
    tx: &mut Tx<'_>,
    a: &str,
    b: &str,
) -> Result<Option<String>, postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT one.room FROM dms one JOIN dms other ON other.room = one.room
             WHERE one.key = $1 AND other.key = $2 LIMIT 1",
            &[&a, &b],
        )?
        .map(|r| r.get(0)))
}

/// The direct messages of the account `key`.
pub(super) fn dms_of(tx: &mut Tx<'_>, key: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT room FROM dms WHERE key = $1 ORDER BY room COLLATE \"C\"",
            &[&key],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
