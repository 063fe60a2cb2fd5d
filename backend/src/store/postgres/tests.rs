//! The PostgreSQL store against a real server (started per test by
//! `pg_harness`): the store contract, seqs from two servers writing one
//! room at once, an outage mid-run, and start-up errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::store::fixtures::message;
use crate::store::pg_harness::{wait_for, Postgres};
use crate::store::NewEvent;

const RULES: Rules = Rules {
    edit_window_ms: 0,
    max_reactions: 20,
};

fn say(room: &str, nick: &str, ts: u64, text: &str) -> NewEvent {
    NewEvent {
        room: room.into(),
        nick: nick.into(),
        cid: Some(format!("{nick}-{ts}")),
        ts,
        change: message(text),
    }
}

crate::store::contract::contract_tests!({
    let pg = Postgres::start();
    let url = pg.url();
    (pg, move || -> Box<dyn MessageStore> {
        Box::new(PostgresStore::open(&url, 2).unwrap())
    })
});

#[test]
fn two_servers_writing_one_room_get_gap_free_unique_seqs() {
    let pg = Postgres::start();
    let url = pg.url();
    // Migrating from two servers at once applies each step once.
    let opening: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url, 2).unwrap())
        })
        .collect();
    let nodes: Vec<Arc<PostgresStore>> = opening
        .into_iter()
        .map(|t| Arc::new(t.join().unwrap()))
        .collect();
    let writers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let node = node.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for b in 0..40u64 {
                    // Batches touch the shared room and one of its own, in
                    // both orders, so a careless lock order would deadlock.
                    let own = format!("own{n}");
                    let (first, second) = if b % 2 == 0 {
                        ("shared", own.as_str())
                    } else {
                        (own.as_str(), "shared")
                    };
                    let batch = [
                        say(first, &format!("n{n}"), b * 10, "one"),
                        say(second, &format!("n{n}"), b * 10 + 1, "two"),
                        say("shared", &format!("n{n}"), b * 10 + 2, "three"),
                    ];
                    for applied in node.append_batch(&batch, &RULES).unwrap() {
                        let event = applied.unwrap();
                        if event.room() == "shared" {
                            acked.push((event.seq(), n));
                        }
                    }
                }
                acked
            })
        })
        .collect();
    let mut acked: Vec<(u64, usize)> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    acked.sort();
    let seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=160).collect::<Vec<_>>(),
        "gap-free, no duplicate"
    );
    assert_eq!(nodes[1].last_seq("shared").unwrap(), 160);
    let stored = nodes[0].messages("shared", u64::MAX, 1000).unwrap();
    assert_eq!(
        stored.items.iter().map(|m| m.seq).collect::<Vec<_>>(),
        seqs,
        "every acknowledged message is stored at its seq"
    );
    for (m, (_, n)) in stored.items.iter().zip(&acked) {
        assert_eq!(m.nick, format!("n{n}"));
    }
}

#[test]
fn an_outage_fails_calls_and_the_store_recovers_by_itself() {
    let mut pg = Postgres::start();
    let store = PostgresStore::open(&pg.url(), 2).unwrap();
    store
        .append_batch(&[say("r", "a", 1, "before")], &RULES)
        .unwrap();
    assert_eq!(store.messages("r", u64::MAX, 10).unwrap().items.len(), 1);
    pg.stop_server();
    let started = Instant::now();
    assert!(store
        .append_batch(&[say("r", "a", 2, "during")], &RULES)
        .is_err());
    assert!(store.messages("r", u64::MAX, 10).is_err());
    assert!(store.last_seq("r").is_err());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "fails, not hangs"
    );
    pg.start_server();
    assert!(
        wait_for(Duration::from_secs(10), || store
            .append_batch(&[say("r", "a", 3, "after")], &RULES)
            .is_ok()),
        "writes work again"
    );
    let page = store.messages("r", u64::MAX, 10).unwrap();
    let texts: Vec<(u64, &str)> = page
        .items
        .iter()
        .map(|m| (m.seq, m.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [(1, "before"), (2, "after")],
        "nothing failed is stored, no gap"
    );
    assert!(store.readers_open() <= 2);
}

#[test]
fn bad_or_unreachable_urls_fail_with_one_line_and_no_password() {
    let pg = Postgres::start();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for url in [
        format!("postgres://parley:s3cret@127.0.0.1:{closed}/postgres"),
        format!(
            "postgres://parley:s3cret@127.0.0.1:{}/no_such_db",
            pg.port()
        ),
        "postgres://parley:s3cret@127.0.0.1:notaport/x".to_owned(),
        format!("postgresql://127.0.0.1:{closed}/x?password=s3cret"),
    ] {
        let started = Instant::now();
        let err = match crate::store::open(&url, Default::default(), 10, 2) {
            Ok(_) => panic!("{url} opened"),
            Err(err) => err.to_string(),
        };
        assert!(started.elapsed() < Duration::from_secs(10), "{url}");
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(!err.contains("s3cret"), "no password: {err}");
        assert!(err.contains("database"), "{err}");
    }
    assert!(crate::store::open(&pg.url(), Default::default(), 10, 2).is_ok());
    assert_eq!(
        redact("postgres://u:p@h:1/d?sslmode=disable"),
        "postgres://u:***@h:1/d?sslmode=disable"
    );
}

#[test]
fn reads_share_a_fixed_number_of_connections() {
    let pg = Postgres::start();
    let store = Arc::new(PostgresStore::open(&pg.url(), 2).unwrap());
    store
        .append_batch(&[say("r", "n", 1, "x")], &RULES)
        .unwrap();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    assert_eq!(store.messages("r", 10, 10).unwrap().items.len(), 1);
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(store.readers_open() <= 2, "{} open", store.readers_open());
    // Opening again finds the schema in place.
    let again = PostgresStore::open(&pg.url(), 1).unwrap();
    assert_eq!(again.last_seq("r").unwrap(), 1);
}

#[test]
fn a_failed_batch_leaves_no_gap_and_holds_no_lock() {
    let pg = Postgres::start();
    let store = PostgresStore::open(&pg.url(), 2).unwrap();
    store
        .append_batch(&[say("r", "n", 1, "one")], &RULES)
        .unwrap();
    // Sabotage the table so the next batch fails half-way, then repair it.
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE FUNCTION boom() RETURNS trigger AS $$
             BEGIN IF NEW.text = 'three' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END
             $$ LANGUAGE plpgsql;
             CREATE TRIGGER boom BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION boom();",
        )
        .unwrap();
    let failed = store.append_batch(
        &[say("r", "n", 2, "two"), say("r", "n", 3, "three")],
        &RULES,
    );
    assert!(matches!(failed, Err(StoreError::Postgres(_))), "{failed:?}");
    assert!(
        !failed.unwrap_err().is_unavailable(),
        "a failed statement is no outage"
    );
    admin
        .batch_execute("DROP TRIGGER boom ON messages;")
        .unwrap();
    let applied = store
        .append_batch(&[say("r", "n", 4, "four")], &RULES)
        .unwrap();
    assert_eq!(
        applied[0].as_ref().unwrap().seq(),
        2,
        "the failed batch consumed no seq"
    );
    // The room's row is not held: another server writes it at once.
    let other = PostgresStore::open(&pg.url(), 1).unwrap();
    let applied = other
        .append_batch(&[say("r", "m", 5, "five")], &RULES)
        .unwrap();
    assert_eq!(applied[0].as_ref().unwrap().seq(), 3);
    drop(admin);
}
