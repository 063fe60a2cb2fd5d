//! Search latency over a large history: a SQLite store with 1,000,000
//! messages in 100 rooms (built once, kept in `target/bench/`), and 2,000
//! searches of one or two word starts over the 10 rooms a user has joined,
//! 20 hits a page. Prints the percentiles and writes them to
//! `target/bench/search.json` for docs/benchmarks.md.
//!
//! `cargo bench -p parley-backend --bench search` (`SEARCH_MESSAGES` sets
//! the size; the first run builds the database, about a minute).

use std::path::PathBuf;
use std::time::Instant;

use hdrhistogram::Histogram;
use parley::store::{
    query_words, Change, MessageStore, NewEvent, Rules, Search, SqliteStore, Synchronous,
};

const RULES: Rules = Rules {
    edit_window_ms: 0,
    max_reactions: 20,
};

/// A small deterministic generator (xorshift), so every run builds the same history.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// One of 8,000 made-up words (a few Hangul among them), skewed so some
    /// are common and most are rare, as in real chat.
    fn word(&mut self) -> String {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "ren", "sto", "vel", "dar", "qui", "po", "zen", "tra", "mur", "el",
            "ban", "cor", "fi", "gus", "hal", "jo", "nex", "사", "과", "바", "다",
        ];
        let n = self.next();
        let rank = (n % 8000).pow(2) / 8000;
        let mut word = String::new();
        let mut r = rank + 1;
        while r > 0 {
            word.push_str(SYLLABLES[(r % 24) as usize]);
            r /= 24;
        }
        word
    }
}

fn database(messages: usize) -> (PathBuf, SqliteStore) {
    let dir =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../target".into()))
            .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("search-{messages}.db"));
    let fresh = !path.exists();
    let store = SqliteStore::open(&path, Synchronous::Normal, 4).unwrap();
    if fresh {
        eprintln!(
            "[search] building {messages} messages in {}",
            path.display()
        );
        let mut words = Words(0x9e37_79b9_7f4a_7c15);
        let started = Instant::now();
        for chunk in (0..messages).collect::<Vec<_>>().chunks(4096) {
            let batch: Vec<NewEvent> = chunk
                .iter()
                .map(|&i| {
                    let length = 6 + (words.next() % 10) as usize;
                    let text = (0..length)
                        .map(|_| words.word())
                        .collect::<Vec<_>>()
                        .join(" ");
                    NewEvent {
                        room: format!("room-{}", i % 100),
                        nick: format!("user{}", i % 500),
                        cid: None,
                        ts: 1_700_000_000_000 + i as u64 * 1000,
                        change: Change::Message {
                            text,
                            reply_to: None,
                            mentions: vec![],
                        },
                    }
                })
                .collect();
            store.append_batch(&batch, &RULES).unwrap();
        }
        eprintln!("[search] built in {:.0?}", started.elapsed());
    }
    (path, store)
}

fn main() {
    let messages: usize = std::env::var("SEARCH_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let (_path, store) = database(messages);
    let rooms: Vec<String> = (0..10).map(|i| format!("room-{i}")).collect();
    let mut words = Words(42);
    let mut latency = Histogram::<u64>::new(3).unwrap();
    let mut hits = 0;
    let searches = 2000;
    for i in 0..searches {
        let query: String = (0..1 + i % 2)
            .map(|_| {
                let word = words.word();
                let keep = word.chars().count().clamp(3, 6);
                word.chars().take(keep).collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ");
        let search = Search {
            words: query_words(&query),
            rooms: rooms.clone(),
            nick: None,
            before: None,
            limit: 20,
        };
        let started = Instant::now();
        let found = store.search(&search).unwrap();
        latency
            .record(started.elapsed().as_micros() as u64)
            .unwrap();
        hits += found.hits.len();
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "search over {messages} messages ({searches} searches, 10 of 100 rooms, 20 hits a page): \
         p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.1} hits a search",
        ms(0.5),
        ms(0.95),
        ms(0.99),
        latency.max() as f64 / 1000.0,
        hits as f64 / searches as f64
    );
    let json = format!(
        "{{\"messages\":{messages},\"searches\":{searches},\"p50_ms\":{:.3},\"p95_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"hits_per_search\":{:.1}}}",
        ms(0.5),
        ms(0.95),
        ms(0.99),
        latency.max() as f64 / 1000.0,
        hits as f64 / searches as f64
    );
    let out =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../target".into()))
            .join("bench/search.json");
    std::fs::write(out, json).unwrap();
}
