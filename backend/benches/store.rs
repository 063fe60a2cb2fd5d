//! How fast the SQLite store takes messages, by commit batch size and sync
//! mode: the numbers behind `--commit-batch` and `--sqlite-synchronous` (see
//! docs/benchmarks.md). Each iteration appends one batch in one transaction,
//! so criterion's throughput figure is messages stored per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use parley::store::{MessageStore, NewMessage, SqliteStore, Synchronous};

/// A typical chat line.
const TEXT: &str = "sounds good, see you at the standup tomorrow morning";

fn batch(size: usize, rooms: usize) -> Vec<NewMessage> {
    (0..size)
        .map(|i| NewMessage {
            room: format!("room-{}", i % rooms),
            nick: format!("user{}", i % 50),
            text: TEXT.to_owned(),
            cid: Some(format!("c-{i}")),
            ts: 1_764_000_000_000 + i as u64,
        })
        .collect()
}

fn sqlite_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_append");
    group.sample_size(20);
    for sync in [Synchronous::Normal, Synchronous::Full] {
        for size in [1usize, 64, 512, 4096] {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("bench.db"), sync, 4).unwrap();
            let messages = batch(size, 16);
            group.throughput(Throughput::Elements(size as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("{sync:?}"), size),
                &messages,
                |b, messages| {
                    b.iter(|| black_box(store.append_batch(messages).unwrap()));
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, sqlite_append);
criterion_main!(benches);
