//! Reading the PostgreSQL store: a room's events after a `seq`
//! (catch-ups), its messages before one (scrollback), both with messages
//! in their current state, and search. Search finds candidates with
//! `LIKE` on the folded text (lower case, no accents) and lets the word
//! rules of [`crate::store::search`] decide and place the matches, so hits
//! and offsets are the SQLite store's.

use std::collections::BTreeMap;

use parley_protocol::{
    ChatMessage, Deleted, Edited, Quote, Reacted, Reactions, RoomEvent, SearchHit,
};
use postgres::Row;

use super::{from_sql, to_sql, Tx};
use crate::store::search::word_matches;
use crate::store::{Found, Page, Search};

const MESSAGE_COLUMNS: &str =
    "seq, nick, text, ts, cid, reply_to, quote_nick, quote_text, mentions, edited_ts, deleted";

fn split_nicks(stored: &str) -> Vec<String> {
    stored
        .split('\n')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

fn message_row(room: &str, r: &Row) -> ChatMessage {
    let quote = match (r.get::<_, Option<String>>(6), r.get::<_, Option<String>>(7)) {
        (Some(nick), text) => Some(Quote {
            nick,
            text: text.unwrap_or_default(),
        }),
        _ => None,
    };
    ChatMessage {
        room: room.to_owned(),
        seq: from_sql(r.get(0)),
        nick: r.get(1),
        text: r.get(2),
        ts: from_sql(r.get(3)),
        cid: r.get(4),
        reply_to: r.get::<_, Option<i64>>(5).map(from_sql),
        quote,
        mentions: split_nicks(r.get(8)),
        edited_ts: r.get::<_, Option<i64>>(9).map(from_sql),
        deleted: r.get(10),
        reactions: Vec::new(),
    }
}

/// Fills in the reactions of `messages` (all of one room, in order): emoji
/// in the order first given, nicks likewise.
fn add_reactions(
    tx: &mut Tx<'_>,
    room: &str,
    messages: &mut [ChatMessage],
) -> Result<(), postgres::Error> {
    let (Some(first), Some(last)) = (
        messages.first().map(|m| m.seq),
        messages.last().map(|m| m.seq),
    ) else {
        return Ok(());
    };
    // target → emoji → (first seq, nicks in order)
    let mut found: BTreeMap<u64, BTreeMap<String, (u64, Vec<String>)>> = BTreeMap::new();
    for row in tx.query(
        "SELECT target, emoji, nick, seq FROM reactions
         WHERE room = $1 AND target >= $2 AND target <= $3 ORDER BY seq",
        &[&room, &to_sql(first), &to_sql(last)],
    )? {
        let (target, emoji, nick, seq): (i64, String, String, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        found
            .entry(from_sql(target))
            .or_default()
            .entry(emoji)
            .or_insert((from_sql(seq), Vec::new()))
            .1
            .push(nick);
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
    tx: &mut Tx<'_>,
    room: &str,
    from: u64,
    to: u64,
) -> Result<Vec<ChatMessage>, postgres::Error> {
    let mut messages: Vec<ChatMessage> = tx
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq"
            ),
            &[&room, &to_sql(from), &to_sql(to)],
        )?
        .iter()
        .map(|r| message_row(room, r))
        .collect();
    add_reactions(tx, room, &mut messages)?;
    Ok(messages)
}

/// Changes of `room` with `from <= seq <= to`, in order, as events.
fn changes_between(
    tx: &mut Tx<'_>,
    room: &str,
    from: u64,
    to: u64,
) -> Result<Vec<RoomEvent>, postgres::Error> {
    let rows = tx.query(
        "SELECT seq, kind, target, nick, ts, text, mentions, emoji, on_ FROM changes
         WHERE room = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
        &[&room, &to_sql(from), &to_sql(to)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let (seq, kind, target, nick, ts) = (
                from_sql(r.get(0)),
                r.get::<_, String>(1),
                from_sql(r.get(2)),
                r.get::<_, String>(3),
                from_sql(r.get(4)),
            );
            let room = room.to_owned();
            Some(match kind.as_str() {
                "mod" => super::control::event_of(r.get(5))?,
                "edit" => RoomEvent::Edited(Edited {
                    room,
                    seq,
                    target,
                    nick,
                    text: r.get::<_, Option<String>>(5).unwrap_or_default(),
                    mentions: split_nicks(&r.get::<_, Option<String>>(6).unwrap_or_default()),
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
                    emoji: r.get::<_, Option<String>>(7).unwrap_or_default(),
                    on: r.get::<_, Option<bool>>(8).unwrap_or(false),
                    ts,
                }),
            })
        })
        .collect())
}

/// The newest `limit` events with `after < seq <= upto`, oldest first.
pub(super) fn events(
    tx: &mut Tx<'_>,
    room: &str,
    after: u64,
    upto: u64,
    limit: usize,
) -> Result<Page<RoomEvent>, postgres::Error> {
    // The seqs of the newest limit + 1 events, to find where the page starts.
    let seqs: Vec<u64> = tx
        .query(
            "SELECT seq FROM (SELECT seq FROM messages WHERE room = $1 AND seq > $2 AND seq <= $3
                              UNION ALL SELECT seq FROM changes WHERE room = $1 AND seq > $2 AND seq <= $3) AS s
             ORDER BY seq DESC LIMIT $4",
            &[&room, &to_sql(after), &to_sql(upto), &(limit as i64 + 1)],
        )?
        .iter()
        .map(|r| from_sql(r.get(0)))
        .collect();
    let more = seqs.len() > limit;
    let Some(&from) = seqs.get(limit.min(seqs.len()).wrapping_sub(1)) else {
        return Ok(Page {
            items: Vec::new(),
            more,
        });
    };
    let to = seqs[0];
    let mut items: Vec<RoomEvent> = messages_between(tx, room, from, to)?
        .into_iter()
        .map(RoomEvent::Message)
        .chain(changes_between(tx, room, from, to)?)
        .collect();
    items.sort_by_key(RoomEvent::seq);
    Ok(Page { items, more })
}

/// The newest `limit` messages with `seq < before`, oldest first.
pub(super) fn messages(
    tx: &mut Tx<'_>,
    room: &str,
    before: u64,
    limit: usize,
) -> Result<Page<ChatMessage>, postgres::Error> {
    let mut items: Vec<ChatMessage> = tx
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
            ),
            &[&room, &to_sql(before), &(limit as i64 + 1)],
        )?
        .iter()
        .map(|r| message_row(room, r))
        .collect();
    let more = items.len() > limit;
    items.truncate(limit);
    items.reverse();
    add_reactions(tx, room, &mut items)?;
    Ok(Page { items, more })
}

/// `word` as a `LIKE` pattern matching it anywhere.
fn contains_pattern(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Messages matching `search`, newest first (by search id: an edit makes
/// a message new again, as in the SQLite store).
pub(super) fn search(tx: &mut Tx<'_>, search: &Search) -> Result<Found, postgres::Error> {
    if search.words.is_empty() || search.rooms.is_empty() {
        return Ok(Found::default());
    }
    let patterns: Vec<String> = search.words.iter().map(|w| contains_pattern(w)).collect();
    let before = search.before.map_or(i64::MAX, to_sql);
    let rows = tx.query(
        "SELECT search_id, room, seq, nick, ts, text FROM messages
         WHERE search_id IS NOT NULL AND search_id < $1 AND ($2::TEXT IS NULL OR nick = $2)
           AND room = ANY($3) AND folded LIKE ALL($4)
         ORDER BY search_id DESC LIMIT $5",
        &[
            &before,
            &search.nick,
            &search.rooms,
            &patterns,
            &(search.limit as i64 + 1),
        ],
    )?;
    let more = rows.len() > search.limit;
    let mut hits = Vec::new();
    let mut last = None;
    for r in rows.iter().take(search.limit) {
        last = Some(from_sql(r.get(0)));
        let mut hit = SearchHit {
            room: r.get(1),
            seq: from_sql(r.get(2)),
            nick: r.get(3),
            ts: from_sql(r.get(4)),
            text: r.get(5),
            matches: Vec::new(),
        };
        // `LIKE` finds a superset; the word rules decide.
        if let Some(matches) = word_matches(&hit.text, &search.words) {
            hit.matches = matches;
            hits.push(hit);
        }
    }
    Ok(Found {
        hits,
        next: if more { last } else { None },
    })
}
