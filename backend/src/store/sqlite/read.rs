//! Reading the SQLite store: a room's events after a `seq` (catch-ups),
//! its messages before one (scrollback), both with messages in their
//! current state, and search through the full-text index.

use std::collections::BTreeMap;

use parley_protocol::{
    ChatMessage, Deleted, Edited, Quote, Reacted, Reactions, RoomEvent, SearchHit,
};
use rusqlite::{params, params_from_iter, Connection};

use super::{column_u64, split_nicks, to_sql};
use crate::store::search::{fts_query, word_matches};
use crate::store::{Found, Page, Search};

const MESSAGE_COLUMNS: &str =
    "seq, nick, text, ts, cid, reply_to, quote_nick, quote_text, mentions, edited_ts, deleted";

fn message_row(room: &str, r: &rusqlite::Row<'_>) -> Result<ChatMessage, rusqlite::Error> {
    let quote = match (
        r.get::<_, Option<String>>(6)?,
        r.get::<_, Option<String>>(7)?,
    ) {
        (Some(nick), text) => Some(Quote {
            nick,
            text: text.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(ChatMessage {
        room: room.to_owned(),
        seq: column_u64(r, 0)?,
        nick: r.get(1)?,
        text: r.get(2)?,
        ts: column_u64(r, 3)?,
        cid: r.get(4)?,
        reply_to: r.get::<_, Option<i64>>(5)?.map(|s| s.max(0) as u64),
        quote,
        mentions: split_nicks(&r.get::<_, String>(8)?),
        edited_ts: r.get::<_, Option<i64>>(9)?.map(|s| s.max(0) as u64),
        deleted: r.get::<_, i64>(10)? != 0,
        reactions: Vec::new(),
    })
}

/// Fills in the reactions of `messages` (all of one room, `seq`s from
/// `first` to `last`): emoji in the order first given, nicks likewise.
fn add_reactions(
    conn: &Connection,
    room: &str,
    messages: &mut [ChatMessage],
) -> Result<(), rusqlite::Error> {
    let (Some(first), Some(last)) = (
        messages.first().map(|m| m.seq),
        messages.last().map(|m| m.seq),
    ) else {
        return Ok(());
    };
    // target → emoji → (first seq, nicks in order)
    let mut found: BTreeMap<u64, BTreeMap<String, (u64, Vec<String>)>> = BTreeMap::new();
    let mut rows = conn.prepare_cached(
        "SELECT target, emoji, nick, seq FROM reactions
         WHERE room = ?1 AND target >= ?2 AND target <= ?3 ORDER BY seq",
    )?;
    let mut rows = rows.query(params![room, to_sql(first), to_sql(last)])?;
    while let Some(row) = rows.next()? {
        let (target, emoji, nick, seq) = (
            column_u64(row, 0)?,
            row.get(1)?,
            row.get(2)?,
            column_u64(row, 3)?,
        );
        let entry = found
            .entry(target)
            .or_default()
            .entry(emoji)
            .or_insert((seq, Vec::new()));
        entry.1.push(nick);
    }
    for message in messages.iter_mut() {
        if let Some(emoji) = found.remove(&message.seq) {
            let mut reactions: Vec<(u64, Reactions)> = emoji
                .into_iter()
                .map(|(emoji, (first, nicks))| {
                    (
                        first,
                        Reactions {
                            emoji,
                            count: nicks.len() as u32,
                            nicks,
                        },
                    )
                })
                .collect();
            reactions.sort_by_key(|(first, _)| *first);
            message.reactions = reactions.into_iter().map(|(_, r)| r).collect();
        }
    }
    Ok(())
}

/// Messages of `room` with `from <= seq <= to`, in order, current state.
fn messages_between(
    conn: &Connection,
    room: &str,
    from: u64,
    to: u64,
) -> Result<Vec<ChatMessage>, rusqlite::Error> {
    let mut messages: Vec<ChatMessage> = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq"
        ))?
        .query_map(params![room, to_sql(from), to_sql(to)], |r| message_row(room, r))?
        .collect::<Result<_, _>>()?;
    add_reactions(conn, room, &mut messages)?;
    Ok(messages)
}

/// Changes of `room` with `from <= seq <= to`, in order, as events.
fn changes_between(
    conn: &Connection,
    room: &str,
    from: u64,
    to: u64,
) -> Result<Vec<RoomEvent>, rusqlite::Error> {
    conn.prepare_cached(
        "SELECT seq, kind, target, nick, ts, text, mentions, emoji, on_ FROM changes
         WHERE room = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
    )?
    .query_map(params![room, to_sql(from), to_sql(to)], |r| {
        let (seq, kind, target, nick, ts) = (
            column_u64(r, 0)?,
            r.get::<_, String>(1)?,
            column_u64(r, 2)?,
            r.get::<_, String>(3)?,
            column_u64(r, 4)?,
        );
        let room = room.to_owned();
        Ok(Some(match kind.as_str() {
            "mod" => match super::control::event_of(r.get(5)?) {
                Some(event) => event,
                None => return Ok(None),
            },
            "edit" => RoomEvent::Edited(Edited {
                room,
                seq,
                target,
                nick,
                text: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                mentions: split_nicks(&r.get::<_, Option<String>>(6)?.unwrap_or_default()),
                ts,
            }),
            "delete" => RoomEvent::Deleted(Deleted {
                room,
                seq,
                target,
                nick,
                ts,
            }),
            _ => RoomEvent::Reacted(Reacted {
                room,
                seq,
                target,
                nick,
                emoji: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                on: r.get::<_, Option<i64>>(8)?.unwrap_or(0) != 0,
                ts,
            }),
        }))
    })?
    .filter_map(Result::transpose)
    .collect()
}

/// The newest `limit` events with `after < seq <= upto`, oldest first.
pub(super) fn events(
    conn: &Connection,
    room: &str,
    after: u64,
    upto: u64,
    limit: usize,
) -> Result<Page<RoomEvent>, rusqlite::Error> {
    // The seqs of the newest limit + 1 events, to find where the page starts.
    let seqs: Vec<u64> = conn
        .prepare_cached(
            "SELECT seq FROM (SELECT seq FROM messages WHERE room = ?1 AND seq > ?2 AND seq <= ?3
                              UNION ALL SELECT seq FROM changes WHERE room = ?1 AND seq > ?2 AND seq <= ?3)
             ORDER BY seq DESC LIMIT ?4",
        )?
        .query_map(params![room, to_sql(after), to_sql(upto), limit as i64 + 1], |r| column_u64(r, 0))?
        .collect::<Result<_, _>>()?;
    let more = seqs.len() > limit;
    let Some(&from) = seqs.get(limit.min(seqs.len()).wrapping_sub(1)) else {
        return Ok(Page {
            items: Vec::new(),
            more,
        });
    };
    let to = seqs[0];
    let mut items: Vec<RoomEvent> = messages_between(conn, room, from, to)?
        .into_iter()
        .map(RoomEvent::Message)
        .chain(changes_between(conn, room, from, to)?)
        .collect();
    items.sort_by_key(RoomEvent::seq);
    Ok(Page { items, more })
}

/// The newest `limit` messages with `seq < before`, oldest first.
pub(super) fn messages(
    conn: &Connection,
    room: &str,
    before: u64,
    limit: usize,
) -> Result<Page<ChatMessage>, rusqlite::Error> {
    let mut items: Vec<ChatMessage> = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        ))?
        .query_map(params![room, to_sql(before), limit as i64 + 1], |r| message_row(room, r))?
        .collect::<Result<_, _>>()?;
    let more = items.len() > limit;
    items.truncate(limit);
    items.reverse();
    add_reactions(conn, room, &mut items)?;
    Ok(Page { items, more })
}

/// Messages matching `search`, newest first, through the full-text index.
pub(super) fn search(conn: &Connection, search: &Search) -> Result<Found, rusqlite::Error> {
    if search.words.is_empty() || search.rooms.is_empty() {
        return Ok(Found::default());
    }
    let rooms = vec!["?"; search.rooms.len()].join(", ");
    let sql = format!(
        "SELECT s.rowid, m.room, m.seq, m.nick, m.ts, m.text
         FROM search s JOIN messages m ON m.search_id = s.rowid
         WHERE search MATCH ? AND s.rowid < ? AND (? IS NULL OR m.nick = ?) AND m.room IN ({rooms})
         ORDER BY s.rowid DESC LIMIT ?"
    );
    let before = search.before.map_or(i64::MAX, to_sql);
    let mut args: Vec<rusqlite::types::Value> = vec![
        fts_query(&search.words).into(),
        before.into(),
        search.nick.clone().into(),
        search.nick.clone().into(),
    ];
    args.extend(search.rooms.iter().map(|r| r.clone().into()));
    args.push((search.limit as i64 + 1).into());
    let rows: Vec<(i64, SearchHit)> = conn
        .prepare(&sql)?
        .query_map(params_from_iter(args), |r| {
            Ok((
                r.get(0)?,
                SearchHit {
                    room: r.get(1)?,
                    seq: column_u64(r, 2)?,
                    nick: r.get(3)?,
                    ts: column_u64(r, 4)?,
                    text: r.get(5)?,
                    matches: Vec::new(),
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > search.limit;
    let mut hits = Vec::new();
    let mut last = None;
    for (id, mut hit) in rows.into_iter().take(search.limit) {
        last = Some(id);
        // The index and the word rules agree but for odd corners of
        // tokenising; the word rules decide.
        if let Some(matches) = word_matches(&hit.text, &search.words) {
            hit.matches = matches;
            hits.push(hit);
        }
    }
    Ok(Found {
        hits,
        next: if more {
            last.map(|id| id.max(0) as u64)
        } else {
            None
        },
    })
}
