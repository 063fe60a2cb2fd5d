//! What one kind of event costs the SQLite store in a store that already
//! holds 102,400 messages: 40 batches of 512 messages, edits, reactions or
//! a mix (3/4 messages, 1/8 each), targets anywhere in the history, text
//! of 5 to 12 words. Prints events per second. The numbers behind the
//! edit design in docs/benchmarks.md ("Message life"):
//!
//!     cargo run --release --example store_costs -- edits

use std::time::Instant;

use parley::store::{Change, MessageStore, NewEvent, Rules, SqliteStore, Synchronous};

const RULES: Rules = Rules {
    edit_window_ms: 0,
    max_reactions: 20,
};
const ROOMS: usize = 16;
const BATCH: usize = 512;
const SEED_BATCHES: usize = 200;
const ROUNDS: usize = 40;

/// A xorshift generator of numbers and chat lines.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// 5 to 12 words from 40, the first ones far more often.
    fn text(&mut self) -> String {
        const W: [&str; 40] = [
            "the", "a", "you", "see", "at", "standup", "tomorrow", "morning", "sounds", "good",
            "deploy", "rust", "build", "is", "green", "red", "lunch", "coffee", "meeting",
            "review", "pr", "merge", "bug", "fix", "test", "ok", "thanks", "later", "now", "why",
            "how", "what", "release", "notes", "docs", "issue", "ticket", "done", "wip", "hi",
        ];
        let n = 5 + self.next() % 8;
        (0..n)
            .map(|_| {
                let r = self.next() % 1600;
                W[((r * r) / 64000) as usize % 40]
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn message(&mut self) -> Change {
        Change::Message {
            text: self.text(),
            reply_to: None,
            mentions: vec![],
        }
    }
}

fn event(i: usize, nick: String, change: Change) -> NewEvent {
    NewEvent {
        room: format!("room-{}", i % ROOMS),
        nick,
        cid: Some(format!("c-{i}")),
        ts: 1_764_000_000_000 + i as u64,
        change,
    }
}

fn main() {
    let kind = std::env::args().nth(1).unwrap_or_else(|| "messages".into());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("costs.db"), Synchronous::Full, 4).unwrap();
    let mut w = Words(0x9e37_79b9_7f4a_7c15);
    for b in 0..SEED_BATCHES {
        let batch: Vec<_> = (0..BATCH)
            .map(|k| {
                let i = b * BATCH + k;
                event(i, format!("user{}", i % 50), w.message())
            })
            .collect();
        store.append_batch(&batch, &RULES).unwrap();
    }
    // Seeded message i is seq i / ROOMS + 1 of room i % ROOMS.
    let per_room = SEED_BATCHES * BATCH / ROOMS;
    let started = Instant::now();
    for r in 0..ROUNDS {
        let batch: Vec<_> = (0..BATCH)
            .map(|j| {
                let i = 1_000_000 + r * BATCH + j;
                let target = 1 + (w.next() as usize % per_room);
                let author = format!("user{}", ((target - 1) * ROOMS + i % ROOMS) % 50);
                let edit = |w: &mut Words| Change::Edit {
                    target: target as u64,
                    text: w.text(),
                    mentions: vec![],
                };
                let react = Change::React {
                    target: target as u64,
                    emoji: ["👍", "🎉", "❤️"][j % 3].into(),
                    on: j % 5 != 0,
                };
                let (nick, change) = match (kind.as_str(), j % 8) {
                    ("messages", _) | ("mixed", 0..=2 | 4..=6) => {
                        (format!("user{}", i % 50), w.message())
                    }
                    ("edits", _) | ("mixed", 3) => (author, edit(&mut w)),
                    ("reactions", _) | ("mixed", _) => (format!("user{}", i % 50), react),
                    _ => panic!("messages, edits, reactions or mixed, not {kind}"),
                };
                event(i, nick, change)
            })
            .collect();
        let applied = store.append_batch(&batch, &RULES).unwrap();
        assert!(applied.iter().all(Result::is_ok));
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{kind}: {:.0} events/s", (ROUNDS * BATCH) as f64 / secs);
}
