//! How fast the SQLite store takes events, by commit batch size and sync
//! mode: the numbers behind `--commit-batch` and `--sqlite-synchronous`;
//! and whether edits and reactions mixed in (a quarter of the events) cost
//! more than plain messages (see docs/benchmarks.md). Each iteration
//! appends one batch in one transaction, so criterion's throughput figure
//! is events stored per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use parley::store::{Change, MessageStore, NewEvent, Rules, SqliteStore, Synchronous};

/// A chat line of 5 to 12 words: a few common words and a long tail, as in
/// real chat (the same line every time would make every word's list in the
/// full-text index as long as the table, which no chat has).
fn text(i: usize) -> String {
    const COMMON: [&str; 16] = [
        "the", "a", "you", "to", "is", "it", "and", "see", "at", "ok", "good", "now", "we", "that",
        "for", "on",
    ];
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ru", "sen", "ta", "vo", "pe", "dri", "on", "sul", "ne", "bar", "gi",
        "hu", "fet",
    ];
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words = 5 + next() % 8;
    (0..words)
        .map(|_| {
            let r = next();
            if r % 2 == 0 {
                COMMON[(r >> 8) as usize % COMMON.len()].to_owned()
            } else {
                // One of 4,096 rarer words.
                (0..3)
                    .map(|k| SYLLABLES[(r >> (8 + 4 * k)) as usize % 16])
                    .collect()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const RULES: Rules = Rules {
    edit_window_ms: 0,
    max_reactions: 20,
};

fn message(i: usize, rooms: usize) -> NewEvent {
    NewEvent {
        room: format!("room-{}", i % rooms),
        nick: format!("user{}", i % 50),
        cid: Some(format!("c-{i}")),
        ts: 1_764_000_000_000 + i as u64,
        change: Change::Message {
            text: text(i),
            reply_to: None,
            mentions: vec![],
        },
    }
}

fn batch(size: usize, rooms: usize) -> Vec<NewEvent> {
    (0..size).map(|i| message(i, rooms)).collect()
}

/// Like [`batch`], but every fourth event edits or reacts to one of the
/// messages the first batch stored (`targets` per room, by their authors).
fn mixed(size: usize, rooms: usize, targets: usize) -> Vec<NewEvent> {
    (0..size)
        .map(|i| {
            if i % 4 != 3 {
                return message(i, rooms);
            }
            let target = (i / rooms) % targets + 1;
            let author = ((target - 1) * rooms + i % rooms) % 50;
            let change = if i % 8 == 3 {
                Change::Edit {
                    target: target as u64,
                    text: text(i + 1_000_000),
                    mentions: vec![],
                }
            } else {
                Change::React {
                    target: target as u64,
                    emoji: "👍".into(),
                    on: i % 16 != 7,
                }
            };
            NewEvent {
                nick: format!("user{author}"),
                change,
                ..message(i, rooms)
            }
        })
        .collect()
}

/// `events` with new lines of text (for round `round`): each batch says
/// something new, as chat does.
fn fresh_text(events: &[NewEvent], round: usize) -> Vec<NewEvent> {
    let mut events = events.to_vec();
    for (k, event) in events.iter_mut().enumerate() {
        match &mut event.change {
            Change::Message { text: t, .. } | Change::Edit { text: t, .. } => {
                *t = text(2_000_000 + round * 4096 + k);
            }
            _ => {}
        }
    }
    events
}

fn sqlite_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_append");
    group.sample_size(20);
    for sync in [Synchronous::Normal, Synchronous::Full] {
        for size in [1usize, 64, 512, 4096] {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("bench.db"), sync, 4).unwrap();
            let events = batch(size, 16);
            group.throughput(Throughput::Elements(size as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("{sync:?}"), size),
                &events,
                |b, events| {
                    b.iter(|| black_box(store.append_batch(events, &RULES).unwrap()));
                },
            );
        }
    }
    group.finish();
}

fn sqlite_mixed(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_mixed");
    group.sample_size(20);
    let (size, rooms) = (512, 16);
    for (name, events) in [
        ("messages", batch(size, rooms)),
        ("with_changes", mixed(size, rooms, 32)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bench.db"), Synchronous::Full, 4).unwrap();
        // The messages the changes target (seq 1..=32 in each room).
        store
            .append_batch(&batch(rooms * 32, rooms), &RULES)
            .unwrap();
        group.throughput(Throughput::Elements(size as u64));
        let round = std::cell::Cell::new(0);
        group.bench_with_input(BenchmarkId::new(name, size), &events, |b, events| {
            b.iter_batched(
                || {
                    round.set(round.get() + 1);
                    fresh_text(events, round.get())
                },
                |events| {
                    let applied = store.append_batch(&events, &RULES).unwrap();
                    assert!(applied.iter().all(Result::is_ok));
                    black_box(applied)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, sqlite_append, sqlite_mixed);
criterion_main!(benches);
