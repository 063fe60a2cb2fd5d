//! Writing to the PostgreSQL store: a batch of room events in one
//! transaction, with each room's row in `rooms` locked first so that
//! servers sharing the database take turns per room (gap-free seqs); each
//! event checked against what is stored and applied to the message it
//! targets; and retention.

use std::collections::BTreeMap;

use parley_protocol::{quote_of, ChatMessage, Deleted, Edited, Quote, Reacted, RoomEvent};

use super::{from_sql, to_sql, Tx};
use crate::store::search::fold;
use crate::store::{Applied, Change, NewEvent, Refusal, Retention, Rules};

/// A stored message, as the checks need it.
struct Target {
    nick: String,
    text: String,
    ts: u64,
    deleted: bool,
}

fn target(tx: &mut Tx<'_>, room: &str, seq: u64) -> Result<Option<Target>, postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT nick, text, ts, deleted FROM messages WHERE room = $1 AND seq = $2",
            &[&room, &to_sql(seq)],
        )?
        .map(|r| Target {
            nick: r.get(0),
            text: r.get(1),
            ts: from_sql(r.get(2)),
            deleted: r.get(3),
        }))
}

/// The message `seq` if it exists and is not deleted.
fn live_target(
    tx: &mut Tx<'_>,
    room: &str,
    seq: u64,
) -> Result<Result<Target, Refusal>, postgres::Error> {
    Ok(match target(tx, room, seq)? {
        Some(t) if !t.deleted => Ok(t),
        _ => Err(Refusal::NoSuchMessage),
    })
}

/// Inserts a change event's row.
fn insert_change(
    tx: &mut Tx<'_>,
    event: &NewEvent,
    seq: u64,
    target: u64,
) -> Result<(), postgres::Error> {
    let (kind, text, mentions, emoji, on): (
        &str,
        Option<&str>,
        Option<String>,
        Option<&str>,
        Option<bool>,
    ) = match &event.change {
        Change::Edit { text, mentions, .. } => (
            "edit",
            Some(text.as_str()),
            Some(mentions.join("\n")),
            None,
            None,
        ),
        Change::Delete { .. } => ("delete", None, None, None, None),
        Change::React { emoji, on, .. } => ("react", None, None, Some(emoji.as_str()), Some(*on)),
        Change::Message { .. } | Change::Moderate { .. } => {
            unreachable!("messages and moderation have rows of their own")
        }
    };
    tx.execute(
        "INSERT INTO changes (room, seq, kind, target, nick, ts, text, mentions, emoji, on_, cid)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &event.room,
            &to_sql(seq),
            &kind,
            &to_sql(target),
            &event.nick,
            &to_sql(event.ts),
            &text,
            &mentions,
            &emoji,
            &on,
            &event.cid,
        ],
    )?;
    Ok(())
}

/// Checks and applies one event as `seq`; what it became, or why not.
fn apply(
    tx: &mut Tx<'_>,
    event: &NewEvent,
    seq: u64,
    rules: &Rules,
) -> Result<Applied, postgres::Error> {
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
            tx.execute(
                "INSERT INTO messages (room, seq, nick, text, ts, cid, reply_to, quote_nick, quote_text, mentions, search_id, folded)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nextval('search_ids'), $11)",
                &[
                    room,
                    &to_sql(seq),
                    nick,
                    text,
                    &to_sql(ts),
                    &event.cid,
                    &reply_to.map(to_sql),
                    &quote.as_ref().map(|q| q.nick.as_str()),
                    &quote.as_ref().map(|q| q.text.as_str()),
                    &mentions.join("\n"),
                    &fold(text),
                ],
            )?;
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
            // A new search id, as SQLite gives the new text a new index
            // row: an edited message sorts as new in search.
            tx.execute(
                "UPDATE messages SET text = $1, edited_ts = $2, mentions = $3, search_id = nextval('search_ids'), folded = $4
                 WHERE room = $5 AND seq = $6",
                &[text, &to_sql(ts), &mentions.join("\n"), &fold(text), room, &to_sql(*seq_of)],
            )?;
            insert_change(tx, event, seq, *seq_of)?;
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
            erase(tx, room, *seq_of)?;
            insert_change(tx, event, seq, *seq_of)?;
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
            let live = tx
                .query_opt(
                    "SELECT NOT deleted FROM messages WHERE room = $1 AND seq = $2",
                    &[room, &to_sql(*seq_of)],
                )?
                .map(|r| r.get::<_, bool>(0));
            if live != Some(true) {
                return Ok(Err(Refusal::NoSuchMessage));
            }
            if *on {
                let row = tx.query_one(
                    "SELECT COUNT(DISTINCT emoji), COUNT(*) FILTER (WHERE emoji = $3)
                     FROM reactions WHERE room = $1 AND target = $2",
                    &[room, &to_sql(*seq_of), emoji],
                )?;
                let (distinct, has_it): (i64, i64) = (row.get(0), row.get(1));
                if let Err(refusal) = rules.may_react(distinct as usize, has_it > 0) {
                    return Ok(Err(refusal));
                }
                // Reacting twice with the same emoji changes nothing.
                tx.execute(
                    "INSERT INTO reactions (room, target, emoji, nick, seq) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT DO NOTHING",
                    &[room, &to_sql(*seq_of), emoji, nick, &to_sql(seq)],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM reactions WHERE room = $1 AND target = $2 AND emoji = $3 AND nick = $4",
                    &[room, &to_sql(*seq_of), emoji, nick],
                )?;
            }
            insert_change(tx, event, seq, *seq_of)?;
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

/// Erases a message's text everywhere it is kept: the message (now a
/// tombstone), its edits, the quotes of its answers; its reactions go too.
/// (PostgreSQL keeps the old row versions until `VACUUM` reclaims them.)
fn erase(tx: &mut Tx<'_>, room: &str, seq: u64) -> Result<(), postgres::Error> {
    let seq = to_sql(seq);
    tx.execute(
        "UPDATE messages SET text = '', mentions = '', deleted = TRUE, search_id = NULL, folded = ''
         WHERE room = $1 AND seq = $2",
        &[&room, &seq],
    )?;
    tx.execute(
        "UPDATE changes SET text = '', mentions = '' WHERE room = $1 AND target = $2 AND kind = 'edit'",
        &[&room, &seq],
    )?;
    tx.execute(
        "UPDATE messages SET quote_text = '' WHERE room = $1 AND reply_to = $2",
        &[&room, &seq],
    )?;
    tx.execute(
        "DELETE FROM reactions WHERE room = $1 AND target = $2",
        &[&room, &seq],
    )?;
    Ok(())
}

/// Applies a batch in the transaction `tx`. Each room of the batch has its
/// row locked first, in name order, so another server's batch for the same
/// room waits for this one to commit (and two batches never deadlock).
pub(super) fn append(
    tx: &mut Tx<'_>,
    batch: &[NewEvent],
    rules: &Rules,
) -> Result<Vec<Applied>, postgres::Error> {
    // room → (last seq as locked, last seq now)
    let mut seqs: BTreeMap<&str, (u64, u64)> =
        batch.iter().map(|e| (e.room.as_str(), (0, 0))).collect();
    for (room, seq) in seqs.iter_mut() {
        tx.execute(
            "INSERT INTO rooms (name, last_seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
            &[room],
        )?;
        let last = from_sql(
            tx.query_one(
                "SELECT last_seq FROM rooms WHERE name = $1 FOR UPDATE",
                &[room],
            )?
            .get(0),
        );
        *seq = (last, last);
    }
    let mut applied = Vec::with_capacity(batch.len());
    for event in batch {
        let last = seqs.get(event.room.as_str()).map_or(0, |s| s.1);
        let outcome = apply(tx, event, last + 1, rules)?;
        if outcome.is_ok() {
            if let Some(s) = seqs.get_mut(event.room.as_str()) {
                s.1 = last + 1;
            }
        }
        applied.push(outcome);
    }
    for (room, (locked, now)) in &seqs {
        if now != locked {
            tx.execute(
                "UPDATE rooms SET last_seq = $2 WHERE name = $1",
                &[room, &to_sql(*now)],
            )?;
        }
    }
    Ok(applied)
}

/// Deletes the messages (with their reactions) and the changes chosen by
/// `which` (over `args`, from `$1`), at most `max`; returns how many.
fn delete_events(
    tx: &mut Tx<'_>,
    which: &str,
    args: &[&(dyn postgres::types::ToSql + Sync)],
    max: usize,
) -> Result<usize, postgres::Error> {
    let messages = tx.query(
        &format!(
            "DELETE FROM messages WHERE (room, seq) IN
               (SELECT room, seq FROM messages WHERE {which} LIMIT {max})
             RETURNING room, seq"
        ),
        args,
    )?;
    for row in &messages {
        let (room, seq): (String, i64) = (row.get(0), row.get(1));
        tx.execute(
            "DELETE FROM reactions WHERE room = $1 AND target = $2",
            &[&room, &seq],
        )?;
    }
    let left = max - messages.len();
    let changes = tx.execute(
        &format!(
            "DELETE FROM changes WHERE (room, seq) IN
               (SELECT room, seq FROM changes WHERE {which} LIMIT {left})"
        ),
        args,
    )?;
    Ok(messages.len() + changes as usize)
}

/// Deletes up to `max` events the retention policy no longer keeps.
pub(super) fn prune(
    tx: &mut Tx<'_>,
    retention: &Retention,
    now_ms: u64,
    max: usize,
) -> Result<usize, postgres::Error> {
    let mut deleted = 0;
    if let Some(keep_ms) = retention.keep_ms {
        let cutoff = to_sql(now_ms.saturating_sub(keep_ms));
        deleted += delete_events(tx, "ts < $1", &[&cutoff], max)?;
    }
    if let Some(keep_last) = retention.keep_last {
        let rooms: Vec<(String, u64)> = tx
            .query("SELECT name, last_seq FROM rooms", &[])?
            .iter()
            .map(|r| (r.get(0), from_sql(r.get(1))))
            .collect();
        for (room, last_seq) in rooms {
            if deleted >= max {
                break;
            }
            let cutoff = to_sql(last_seq.saturating_sub(keep_last));
            deleted += delete_events(
                tx,
                "room = $1 AND seq <= $2",
                &[&room, &cutoff],
                max - deleted,
            )?;
        }
    }
    Ok(deleted)
}
