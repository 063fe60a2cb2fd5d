use super::*;
use crate::store::fixtures::{edit, message, react, reply};
use crate::store::query_words;

const RULES: Rules = Rules {
    edit_window_ms: 0,
    max_reactions: 20,
};

fn say(room: &str, nick: &str, text: &str, ts: u64) -> NewEvent {
    NewEvent {
        room: room.into(),
        nick: nick.into(),
        cid: None,
        ts,
        change: message(text),
    }
}

fn seqs<T>(page: &Page<T>, seq: impl Fn(&T) -> u64) -> Vec<u64> {
    page.items.iter().map(seq).collect()
}

#[test]
fn assigns_seqs_per_room_and_pages_by_range() {
    let store = MemoryStore::new(100);
    let batch: Vec<_> = (0..10)
        .map(|i| say(if i % 2 == 0 { "a" } else { "b" }, "n", "x", i))
        .collect();
    let applied = store.append_batch(&batch, &RULES).unwrap();
    assert_eq!(
        applied
            .iter()
            .map(|a| a.as_ref().unwrap().seq())
            .collect::<Vec<_>>(),
        vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    );
    assert_eq!(store.last_seq("a").unwrap(), 5);
    assert_eq!(store.last_seq("c").unwrap(), 0);
    let page = store.events("a", 1, 4, 10).unwrap();
    assert_eq!(
        (seqs(&page, RoomEvent::seq), page.more),
        (vec![2, 3, 4], false)
    );
    let page = store.events("a", 0, 5, 2).unwrap();
    assert_eq!((seqs(&page, RoomEvent::seq), page.more), (vec![4, 5], true));
    let page = store.messages("a", 5, 2).unwrap();
    assert_eq!((seqs(&page, |m| m.seq), page.more), (vec![3, 4], true));
}

#[test]
fn keeps_only_the_newest_but_remembers_the_last_seq() {
    let store = MemoryStore::new(3);
    let batch: Vec<_> = (0..5).map(|i| say("a", "n", "x", i)).collect();
    store.append_batch(&batch, &RULES).unwrap();
    assert_eq!(
        seqs(&store.messages("a", u64::MAX, 10).unwrap(), |m| m.seq),
        vec![3, 4, 5]
    );
    assert_eq!(store.last_seq("a").unwrap(), 5);
}

#[test]
fn prunes_by_count_and_age() {
    let store = MemoryStore::new(100);
    let batch: Vec<_> = (0..10).map(|i| say("a", "n", "x", i * 1000)).collect();
    store.append_batch(&batch, &RULES).unwrap();
    let keep_five = Retention {
        keep_last: Some(5),
        keep_ms: None,
    };
    assert_eq!(store.prune(&keep_five, 0, 2).unwrap(), 2);
    assert_eq!(store.prune(&keep_five, 0, 100).unwrap(), 3);
    let young = Retention {
        keep_last: None,
        keep_ms: Some(2500),
    };
    // Seq n has ts (n - 1) * 1000: at 10 000, seqs 6, 7 and 8 are over 2.5 s old.
    assert_eq!(store.prune(&young, 10_000, 100).unwrap(), 3);
    assert_eq!(
        seqs(&store.messages("a", u64::MAX, 100).unwrap(), |m| m.seq),
        vec![9, 10]
    );
    assert_eq!(store.last_seq("a").unwrap(), 10);
}

#[test]
fn changes_follow_the_same_rules_as_the_database() {
    let store = MemoryStore::new(100);
    let change = |nick: &str, change: Change| NewEvent {
        room: "r".into(),
        nick: nick.into(),
        cid: None,
        ts: 5,
        change,
    };
    let reply = reply("yes", 1);
    let two = Rules {
        max_reactions: 1,
        ..RULES
    };
    let batch = [
        say("r", "ana", "hello\nthere", 1),
        change("bo", reply),
        change("bo", edit(1, "mine")),
        change("bo", react(1, "👍", true)),
        change("cy", react(1, "🎉", true)),
        change("cy", react(1, "👍", true)),
        change("ana", Change::Delete { target: 1 }),
        change("ana", react(1, "👍", true)),
    ];
    let applied = store.append_batch(&batch, &two).unwrap();
    let outcome: Vec<_> = applied
        .iter()
        .map(|a| a.as_ref().map(RoomEvent::seq).map_err(|r| *r))
        .collect();
    assert_eq!(
        outcome,
        vec![
            Ok(1),
            Ok(2),
            Err(Refusal::NotAuthor),
            Ok(3),
            Err(Refusal::TooManyReactions),
            Ok(4),
            Ok(5),
            Err(Refusal::NoSuchMessage)
        ]
    );
    let page = store.messages("r", u64::MAX, 10).unwrap();
    assert!(
        page.items[0].deleted
            && page.items[0].text.is_empty()
            && page.items[0].reactions.is_empty()
    );
    assert_eq!(
        page.items[1].quote,
        Some(Quote {
            nick: "ana".into(),
            text: String::new()
        }),
        "the quote was erased"
    );
}

#[test]
fn search_pages_stay_right_while_messages_arrive() {
    let store = MemoryStore::new(100);
    let batch: Vec<_> = (1..=5)
        .map(|i| say("r", "n", &format!("word {i}"), i))
        .collect();
    store.append_batch(&batch, &RULES).unwrap();
    let find = |before| {
        store
            .search(&Search {
                words: query_words("word"),
                rooms: vec!["r".into()],
                nick: None,
                before,
                limit: 2,
            })
            .unwrap()
    };
    let first = find(None);
    assert_eq!(
        first.hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![5, 4]
    );
    store
        .append_batch(&[say("r", "n", "word 6", 6)], &RULES)
        .unwrap();
    let second = find(first.next);
    assert_eq!(
        second.hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![3, 2]
    );
    let third = find(second.next);
    assert_eq!((third.hits.len(), third.next), (1, None));
}
