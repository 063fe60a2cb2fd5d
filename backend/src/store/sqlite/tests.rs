use std::sync::Arc;

use super::*;
use crate::store::fixtures::{message, react, reply};
use crate::store::{query_words, Change, NewEvent, Rules};

const RULES: Rules = Rules {
    edit_window_ms: 60_000,
    max_reactions: 2,
};

fn event(room: &str, nick: &str, ts: u64, change: Change) -> NewEvent {
    NewEvent {
        room: room.into(),
        nick: nick.into(),
        cid: Some(format!("c{ts}")),
        ts,
        change,
    }
}

fn say(room: &str, nick: &str, ts: u64, text: &str) -> NewEvent {
    event(room, nick, ts, message(text))
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("p.db"), Synchronous::Normal, 2).unwrap();
    (dir, store)
}

fn seqs<T>(page: &Page<T>, seq: impl Fn(&T) -> u64) -> Vec<u64> {
    page.items.iter().map(seq).collect()
}

#[test]
fn seqs_survive_reopening_and_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/parley.db");
    {
        let store = SqliteStore::open(&path, Synchronous::Normal, 2).unwrap();
        let batch: Vec<_> = (1..=6)
            .map(|ts| say("r", "n", ts, &format!("at {ts}")))
            .collect();
        let applied = store.append_batch(&batch, &RULES).unwrap();
        assert_eq!(applied.last().unwrap().as_ref().unwrap().seq(), 6);
        let keep_two = Retention {
            keep_last: Some(2),
            keep_ms: None,
        };
        assert_eq!(store.prune(&keep_two, 0, 100).unwrap(), 4);
    }
    let store = SqliteStore::open(&path, Synchronous::Full, 2).unwrap();
    assert_eq!(store.last_seq("r").unwrap(), 6);
    let applied = store
        .append_batch(&[say("r", "n", 7, "at 7")], &RULES)
        .unwrap();
    assert_eq!(applied[0].as_ref().unwrap().seq(), 7);
    let page = store.messages("r", u64::MAX, 10).unwrap();
    assert_eq!(seqs(&page, |m| m.seq), vec![5, 6, 7]);
    assert_eq!(page.items[0].cid.as_deref(), Some("c5"));
    let page = store.messages("r", 7, 1).unwrap();
    assert_eq!((seqs(&page, |m| m.seq), page.more), (vec![6], true));
    assert!(
        store
            .search(&Search {
                words: query_words("at"),
                rooms: vec!["r".into()],
                nick: None,
                before: None,
                limit: 10
            })
            .unwrap()
            .hits
            .iter()
            .all(|h| h.seq >= 5),
        "pruned messages leave the index"
    );
}

#[test]
fn a_failed_batch_leaves_no_gap() {
    let (_dir, store) = store();
    store
        .append_batch(&[say("r", "n", 1, "one")], &RULES)
        .unwrap();
    // Sabotage the table so the next batch fails half-way, then repair it.
    store.writer().conn.execute_batch("CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.text = 'three' BEGIN SELECT RAISE(ABORT, 'boom'); END;").unwrap();
    assert!(store
        .append_batch(
            &[say("r", "n", 2, "two"), say("r", "n", 3, "three")],
            &RULES
        )
        .is_err());
    store
        .writer()
        .conn
        .execute_batch("DROP TRIGGER boom;")
        .unwrap();
    let applied = store
        .append_batch(&[say("r", "n", 4, "four")], &RULES)
        .unwrap();
    assert_eq!(
        applied[0].as_ref().unwrap().seq(),
        2,
        "the failed batch consumed no seq"
    );
}

#[test]
fn a_deleted_text_is_gone_from_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let store = SqliteStore::open(&path, Synchronous::Full, 2).unwrap();
    // "xylograph" is only in the first version: the edit gives the text a
    // new index row, and the old one must go with the message too.
    let secret = "zebra-7341 is the vault code xylograph";
    let batch = [
        say("r", "ana", 1, secret),
        event(
            "r",
            "ana",
            2,
            Change::Edit {
                target: 1,
                text: format!("{secret}, really"),
                mentions: vec![],
            },
        ),
        event("r", "bo", 3, reply("noted", 1)),
        event("r", "bo", 4, react(1, "👀", true)),
    ];
    store.append_batch(&batch, &RULES).unwrap();
    let in_files = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|f| std::fs::read(f.unwrap().path()).unwrap())
            .any(|bytes| {
                bytes.windows(10).any(|w| w == b"zebra-7341")
                    || bytes.windows(9).any(|w| w == b"xylograph")
            })
    };
    store.checkpoint().unwrap();
    assert!(in_files(), "the test can see it before");
    store
        .append_batch(
            &[event("r", "ana", 5, Change::Delete { target: 1 })],
            &RULES,
        )
        .unwrap();
    store.checkpoint().unwrap();
    assert!(
        !in_files(),
        "no trace of the text in the database or its log"
    );
    let page = store.messages("r", u64::MAX, 10).unwrap();
    assert!(
        page.items[0].deleted
            && page.items[0].text.is_empty()
            && page.items[0].reactions.is_empty()
    );
    assert_eq!(
        page.items[1].quote.as_ref().map(|q| q.text.as_str()),
        Some(""),
        "its quote too"
    );
    let words = query_words("zebra");
    let found = store
        .search(&Search {
            words,
            rooms: vec!["r".into()],
            nick: None,
            before: None,
            limit: 10,
        })
        .unwrap();
    assert!(found.hits.is_empty());
    let edits = store.events("r", 1, 5, 10).unwrap();
    assert!(edits
        .items
        .iter()
        .all(|e| !matches!(e, RoomEvent::Edited(e) if !e.text.is_empty())));
}

#[test]
fn reads_share_a_fixed_number_of_connections() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    store
        .append_batch(&[say("r", "n", 1, "x")], &RULES)
        .unwrap();
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    assert_eq!(store.messages("r", 10, 10).unwrap().items.len(), 1);
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(store.readers_open() <= 2, "{} open", store.readers_open());
    assert!(store.readers_open() >= 1);
}

#[test]
fn retention_takes_every_version_of_a_text_out_of_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let store = SqliteStore::open(&path, Synchronous::Normal, 2).unwrap();
    let edit = |ts, target, text: &str| {
        event(
            "r",
            "ana",
            ts,
            Change::Edit {
                target,
                text: text.into(),
                mentions: vec![],
            },
        )
    };
    store
        .append_batch(
            &[
                say("r", "ana", 1, "one"),
                edit(2, 1, "one, fixed"),
                say("r", "ana", 3, "two"),
                edit(4, 3, "two, fixed"),
                edit(5, 3, "two, fixed again"),
            ],
            &RULES,
        )
        .unwrap();
    let rows = || -> i64 {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT COUNT(*) FROM search", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(rows(), 5, "a row per version");
    // By age: the first message goes, and with it the version its edit
    // (which stays a while longer) replaced.
    let by_age = |ms| Retention {
        keep_last: None,
        keep_ms: Some(ms),
    };
    assert_eq!(store.prune(&by_age(1000), 1002, 100).unwrap(), 1);
    assert_eq!(rows(), 3, "seq 1's two versions are gone");
    // By count: the rest.
    let keep_none = Retention {
        keep_last: Some(0),
        keep_ms: None,
    };
    store.prune(&keep_none, 0, 100).unwrap();
    assert_eq!(rows(), 0);
}

crate::store::contract::contract_tests!({
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    (dir, move || -> Box<dyn MessageStore> {
        Box::new(SqliteStore::open(&path, Synchronous::Normal, 2).unwrap())
    })
});
