//! Writing to the SQLite store: a batch of room events in one transaction,
//! each checked against what is stored and applied to the message it
//! targets; and retention.

use std::collections::HashMap;

use parley_protocol::{quote_of, ChatMessage, Deleted, Edited, Quote, Reacted, RoomEvent};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{column_u64, join_nicks, room_last_seq, to_sql, Writer};
use crate::store::{Applied, Change, NewEvent, Refusal, Retention, Rules, StoreError};

/// A stored message, as the checks need it.
struct Target {
    nick: String,
    text: String,
    ts: u64,
    deleted: bool,
    search_id: Option<i64>,
}

fn target(tx: &Transaction<'_>, room: &str, seq: u64) -> Result<Option<Target>, rusqlite::Error> {
    tx.prepare_cached(
        "SELECT nick, text, ts, deleted, search_id FROM messages WHERE room = ?1 AND seq = ?2",
    )?
    .query_row(params![room, to_sql(seq)], |r| {
        Ok(Target {
            nick: r.get(0)?,
            text: r.get(1)?,
            ts: column_u64(r, 2)?,
            deleted: r.get::<_, i64>(3)? != 0,
            search_id: r.get(4)?,
        })
    })
    .optional()
}

/// The message `seq` if it exists and is not deleted.
fn live_target(
    tx: &Transaction<'_>,
    room: &str,
    seq: u64,
) -> Result<Result<Target, Refusal>, rusqlite::Error> {
    Ok(match target(tx, room, seq)? {
        Some(t) if !t.deleted => Ok(t),
        _ => Err(Refusal::NoSuchMessage),
    })
}

/// Inserts a change event's row; an edit keeps the index row of the text
/// it replaced (`replaced`), so that text can be erased with the message.
fn insert_change(
    tx: &Transaction<'_>,
    event: &NewEvent,
    seq: u64,
    target: u64,
    replaced: Option<i64>,
) -> Result<(), rusqlite::Error> {
    let (kind, text, mentions, emoji, on) = match &event.change {
        Change::Edit { text, mentions, .. } => (
            "edit",
            Some(text.as_str()),
            Some(join_nicks(mentions)),
            None,
            None,
        ),
        Change::Delete { .. } => ("delete", None, None, None, None),
        Change::React { emoji, on, .. } => {
            ("react", None, None, Some(emoji.as_str()), Some(*on as i64))
        }
        Change::Message { .. } | Change::Moderate { .. } => {
            unreachable!("messages and moderation have rows of their own")
        }
    };
    tx.prepare_cached(
        "INSERT INTO changes (room, seq, kind, target, nick, ts, text, mentions, emoji, on_, cid, search_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        event.room,
        to_sql(seq),
        kind,
        to_sql(target),
        event.nick,
        to_sql(event.ts),
        text,
        mentions,
        emoji,
        on,
        event.cid,
        replaced
    ])?;
    Ok(())
}

/// Checks and applies one event as `seq`; what it became, or why not.
fn apply(
    tx: &Transaction<'_>,
    event: &NewEvent,
    seq: u64,
    rules: &Rules,
) -> Result<Applied, rusqlite::Error> {
    let (room, nick, ts) = (&event.room, &event.nick, event.ts);
    match &event.change {
        Change::Moderate { actor, action } => {
            super::control::moderate(tx, event, seq, actor, action)
        }
        Change::Message {
            text,
            reply_to,
            mentions,
        } => {
            let quote = match reply_to {
                Some(answered) => match live_target(tx, room, *answered)? {
                    Ok(t) => Some(Quote {
                        nick: t.nick,
                        text: quote_of(&t.text),
                    }),
                    Err(refusal) => return Ok(Err(refusal)),
                },
                None => None,
            };
            let search_id = index(tx, text)?;
            tx.prepare_cached(
                "INSERT INTO messages (room, seq, nick, text, ts, cid, reply_to, quote_nick, quote_text, mentions, search_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                room,
                to_sql(seq),
                nick,
                text,
                to_sql(ts),
                event.cid,
                reply_to.map(to_sql),
                quote.as_ref().map(|q| &q.nick),
                quote.as_ref().map(|q| &q.text),
                join_nicks(mentions),
                search_id
            ])?;
            Ok(Ok(RoomEvent::Message(ChatMessage {
                room: room.clone(),
                seq,
                nick: nick.clone(),
                text: text.clone(),
                ts,
                cid: event.cid.clone(),
                reply_to: *reply_to,
                quote,
                mentions: mentions.clone(),
                ..ChatMessage::default()
            })))
        }
        Change::Edit {
            target: seq_of,
            text,
            mentions,
        } => {
            let t = match live_target(tx, room, *seq_of)? {
                Ok(t) => t,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if let Err(refusal) = rules.may_edit(nick, &t.nick, t.ts, ts) {
                return Ok(Err(refusal));
            }
            // The new text gets an index row of its own, as a new message
            // would: replacing the old row's text in place makes FTS5 find
            // and rewrite every page that lists one of its words
            // (`secure-delete`), 50 times the cost of a message in a large
            // index. The old row matches no message any more (search joins
            // on `messages.search_id`) and is erased with the message.
            let search_id = index(tx, text)?;
            tx.prepare_cached("UPDATE messages SET text = ?1, edited_ts = ?2, mentions = ?3, search_id = ?4 WHERE room = ?5 AND seq = ?6")?
                .execute(params![text, to_sql(ts), join_nicks(mentions), search_id, room, to_sql(*seq_of)])?;
            insert_change(tx, event, seq, *seq_of, t.search_id)?;
            Ok(Ok(RoomEvent::Edited(Edited {
                room: room.clone(),
                seq,
                target: *seq_of,
                nick: nick.clone(),
                text: text.clone(),
                mentions: mentions.clone(),
                ts,
            })))
        }
        Change::Delete { target: seq_of } => {
            let t = match live_target(tx, room, *seq_of)? {
                Ok(t) => t,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if let Err(refusal) = rules.may_delete(nick, &t.nick) {
                return Ok(Err(refusal));
            }
            erase(tx, room, *seq_of, t.search_id)?;
            insert_change(tx, event, seq, *seq_of, None)?;
            Ok(Ok(RoomEvent::Deleted(Deleted {
                room: room.clone(),
                seq,
                target: *seq_of,
                nick: nick.clone(),
                ts,
            })))
        }
        Change::React {
            target: seq_of,
            emoji,
            on,
        } => {
            let live: Option<bool> = tx
                .prepare_cached("SELECT deleted = 0 FROM messages WHERE room = ?1 AND seq = ?2")?
                .query_row(params![room, to_sql(*seq_of)], |r| r.get(0))
                .optional()?;
            if live != Some(true) {
                return Ok(Err(Refusal::NoSuchMessage));
            }
            if *on {
                // One look at the message's reactions: how many emoji, and
                // whether this one is among them (then it is no new one).
                let (distinct, has_it): (i64, i64) = tx
                    .prepare_cached(
                        "SELECT COUNT(DISTINCT emoji), COALESCE(SUM(emoji = ?3), 0) FROM reactions WHERE room = ?1 AND target = ?2",
                    )?
                    .query_row(params![room, to_sql(*seq_of), emoji], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if let Err(refusal) = rules.may_react(distinct as usize, has_it > 0) {
                    return Ok(Err(refusal));
                }
                // Reacting twice with the same emoji changes nothing.
                tx.prepare_cached("INSERT OR IGNORE INTO reactions (room, target, emoji, nick, seq) VALUES (?1, ?2, ?3, ?4, ?5)")?
                    .execute(params![room, to_sql(*seq_of), emoji, nick, to_sql(seq)])?;
            } else {
                tx.prepare_cached("DELETE FROM reactions WHERE room = ?1 AND target = ?2 AND emoji = ?3 AND nick = ?4")?
                    .execute(params![room, to_sql(*seq_of), emoji, nick])?;
            }
            insert_change(tx, event, seq, *seq_of, None)?;
            Ok(Ok(RoomEvent::Reacted(Reacted {
                room: room.clone(),
                seq,
                target: *seq_of,
                nick: nick.clone(),
                emoji: emoji.clone(),
                on: *on,
                ts,
            })))
        }
    }
}

/// Puts `text` in the full-text index; its row id.
fn index(tx: &Transaction<'_>, text: &str) -> Result<i64, rusqlite::Error> {
    tx.prepare_cached("INSERT INTO search (text) VALUES (?1)")?
        .execute([text])?;
    Ok(tx.last_insert_rowid())
}

/// Removes rows from the full-text index (with FTS5's `secure-delete`: the
/// words are gone from the file, not just marked).
fn unindex(conn: &Connection, ids: &[i64]) -> Result<(), rusqlite::Error> {
    let mut delete = conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?;
    for id in ids {
        delete.execute([id])?;
    }
    Ok(())
}

/// The index rows of the texts that edits of message `seq` replaced.
fn replaced_rows(conn: &Connection, room: &str, seq: i64) -> Result<Vec<i64>, rusqlite::Error> {
    conn.prepare_cached(
        "SELECT search_id FROM changes WHERE room = ?1 AND target = ?2 AND kind = 'edit' AND search_id IS NOT NULL",
    )?
    .query_map(params![room, seq], |r| r.get(0))?
    .collect()
}

/// Erases a message's text everywhere it is kept: the message (now a
/// tombstone), its edits, the quotes of its answers, the index (every
/// version); its reactions go too.
fn erase(
    tx: &Transaction<'_>,
    room: &str,
    seq: u64,
    search_id: Option<i64>,
) -> Result<(), rusqlite::Error> {
    let seq = to_sql(seq);
    unindex(tx, &replaced_rows(tx, room, seq)?)?;
    tx.prepare_cached("UPDATE messages SET text = '', mentions = '', deleted = 1, search_id = NULL WHERE room = ?1 AND seq = ?2")?
        .execute(params![room, seq])?;
    tx.prepare_cached("UPDATE changes SET text = '', mentions = '', search_id = NULL WHERE room = ?1 AND target = ?2 AND kind = 'edit'")?
        .execute(params![room, seq])?;
    tx.prepare_cached("UPDATE messages SET quote_text = '' WHERE room = ?1 AND reply_to = ?2")?
        .execute(params![room, seq])?;
    tx.prepare_cached("DELETE FROM reactions WHERE room = ?1 AND target = ?2")?
        .execute(params![room, seq])?;
    unindex(tx, search_id.as_slice())
}

/// Applies a batch in one transaction. Returns what became of each event,
/// and whether anything was erased (the caller then checkpoints).
pub(super) fn append(
    writer: &mut Writer,
    batch: &[NewEvent],
    rules: &Rules,
) -> Result<(Vec<Applied>, bool), StoreError> {
    let Writer { conn, last_seqs } = writer;
    let tx = conn.transaction()?;
    let mut next: HashMap<&str, u64> = HashMap::new();
    let mut applied = Vec::with_capacity(batch.len());
    let mut erased = false;
    for event in batch {
        let last = match next.get(event.room.as_str()) {
            Some(seq) => *seq,
            None => match last_seqs.get(&event.room) {
                Some(seq) => *seq,
                None => room_last_seq(&tx, &event.room)?,
            },
        };
        let outcome = apply(&tx, event, last + 1, rules)?;
        if outcome.is_ok() {
            next.insert(&event.room, last + 1);
            erased |= matches!(event.change, Change::Delete { .. });
        }
        applied.push(outcome);
    }
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO rooms (name, last_seq) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq",
        )?;
        for (room, seq) in &next {
            upsert.execute(params![room, to_sql(*seq)])?;
        }
    }
    tx.commit()?;
    for (room, seq) in next {
        last_seqs.insert(room.to_owned(), seq);
    }
    Ok((applied, erased))
}

/// Deletes the messages (and their index entries and reactions) and the
/// changes chosen by `which`, at most `max`; returns how many.
fn delete_events(
    conn: &Connection,
    which: &str,
    args: &[&dyn rusqlite::ToSql],
    max: usize,
) -> Result<usize, rusqlite::Error> {
    let messages: Vec<(String, i64, Option<i64>)> = conn
        .prepare(&format!(
            "SELECT room, seq, search_id FROM messages WHERE {which} LIMIT {max}"
        ))?
        .query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (room, seq, search_id) in &messages {
        conn.prepare_cached("DELETE FROM messages WHERE room = ?1 AND seq = ?2")?
            .execute(params![room, seq])?;
        conn.prepare_cached("DELETE FROM reactions WHERE room = ?1 AND target = ?2")?
            .execute(params![room, seq])?;
        // The texts its edits replaced go with it, even if the edits stay
        // a while (their rows then name index rows that are gone).
        unindex(conn, &replaced_rows(conn, room, *seq)?)?;
        unindex(conn, search_id.as_slice())?;
    }
    let left = max - messages.len();
    // A change is newer than its message, so its index row (if an edit)
    // went with the message, above or in an earlier round.
    let changes = conn
        .prepare(&format!(
            "DELETE FROM changes WHERE (room, seq) IN (SELECT room, seq FROM changes WHERE {which} LIMIT {left})"
        ))?
        .execute(args)?;
    Ok(messages.len() + changes)
}

/// Deletes up to `max` events the retention policy no longer keeps.
pub(super) fn prune(
    conn: &Connection,
    retention: &Retention,
    now_ms: u64,
    max: usize,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    if let Some(keep_ms) = retention.keep_ms {
        let cutoff = to_sql(now_ms.saturating_sub(keep_ms));
        deleted += delete_events(conn, "ts < ?1", &[&cutoff], max)?;
    }
    if let Some(keep_last) = retention.keep_last {
        let rooms: Vec<(String, u64)> = conn
            .prepare_cached("SELECT name, last_seq FROM rooms")?
            .query_map([], |r| Ok((r.get(0)?, column_u64(r, 1)?)))?
            .collect::<Result<_, _>>()?;
        for (room, last_seq) in rooms {
            if deleted >= max {
                break;
            }
            let cutoff = to_sql(last_seq.saturating_sub(keep_last));
            deleted += delete_events(
                conn,
                "room = ?1 AND seq <= ?2",
                &[&room, &cutoff],
                max - deleted,
            )?;
        }
    }
    Ok(deleted)
}
