//! The store contract: tests every engine must pass, written once against
//! [`MessageStore`] and run for SQLite and PostgreSQL by
//! [`contract_tests!`] (each engine's tests module names how to open a
//! fresh store, and how to open it again on the same data).

use parley_protocol::{Quote, Reactions, RoomEvent};

use crate::store::fixtures::{edit, message, react};
use crate::store::{
    query_words, Action, Change, MessageStore, NewEvent, Page, Person, Refusal, Retention, Rules,
    Search,
};

const RULES: Rules = Rules {
    edit_window_ms: 60_000,
    max_reactions: 2,
};

const MOD_RULES: Rules = Rules {
    edit_window_ms: 0,
    max_reactions: 20,
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

fn seqs<T>(page: &Page<T>, seq: impl Fn(&T) -> u64) -> Vec<u64> {
    page.items.iter().map(seq).collect()
}

fn person(nick: &str, account: bool) -> Person {
    Person {
        nick: nick.into(),
        account,
        admin: false,
        addr: Some("192.0.2.1".parse().unwrap()),
    }
}

fn act(room: &str, actor: Person, action: Action) -> NewEvent {
    NewEvent {
        room: room.into(),
        nick: actor.nick.clone(),
        cid: None,
        ts: 1_000,
        change: Change::Moderate { actor, action },
    }
}

/// One `#[test]` per contract test, each on a fresh store: `$setup()`
/// returns a guard (kept alive for the test) and a function that opens the
/// store, again on the same data when called again.
macro_rules! contract_tests {
    ($setup:expr) => {
        $crate::store::contract::contract_tests!(@each $setup;
            changes_are_events_and_messages_show_their_current_state,
            the_edit_window_and_the_author_rule_hold,
            search_finds_word_starts_in_joined_rooms_newest_first_in_pages,
            search_finds_a_message_by_its_current_text_only_and_once,
            a_prune_deletes_at_most_its_budget_messages_first,
            control_and_direct_messages_outlive_a_restart_and_refusals_take_no_seq,
        );
    };
    (@each $setup:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let (_guard, open) = $setup;
                $crate::store::contract::$name(&open);
            }
        )*
    };
}
pub(crate) use contract_tests;

mod control;
pub(crate) use control::control_and_direct_messages_outlive_a_restart_and_refusals_take_no_seq;

pub(crate) fn changes_are_events_and_messages_show_their_current_state(
    open: &dyn Fn() -> Box<dyn MessageStore>,
) {
    let store = open();
    let answer = event(
        "r",
        "bo",
        2,
        Change::Message {
            text: "agreed".into(),
            reply_to: Some(1),
            mentions: vec!["ana".into()],
        },
    );
    let batch = [
        say("r", "ana", 1, "first line\nsecond"),
        answer,
        event("r", "ana", 3, edit(1, "fixed")),
        event("r", "bo", 4, react(1, "👍", true)),
        event("r", "ana", 5, react(1, "🎉", true)),
        event("r", "ana", 6, react(1, "👍", true)),
        event("r", "cy", 7, react(1, "🚀", true)),
        event("r", "bo", 8, edit(1, "mine now")),
        event("r", "ana", 9, react(1, "🎉", false)),
        event("r", "ana", 10, Change::Delete { target: 7 }),
    ];
    let applied = store.append_batch(&batch, &RULES).unwrap();
    let outcomes: Vec<_> = applied
        .iter()
        .map(|a| a.as_ref().map(RoomEvent::seq).map_err(|r| *r))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            Ok(1),
            Ok(2),
            Ok(3),
            Ok(4),
            Ok(5),
            Ok(6),
            Err(Refusal::TooManyReactions),
            Err(Refusal::NotAuthor),
            Ok(7),
            Err(Refusal::NoSuchMessage),
        ]
    );
    let RoomEvent::Message(reply) = applied[1].clone().unwrap() else {
        panic!()
    };
    assert_eq!(
        reply.quote,
        Some(Quote {
            nick: "ana".into(),
            text: "first line…".into()
        })
    );
    let page = store.messages("r", u64::MAX, 10).unwrap();
    let first = &page.items[0];
    assert_eq!((first.text.as_str(), first.edited_ts), ("fixed", Some(3)));
    assert_eq!(
        first.reactions,
        vec![Reactions {
            emoji: "👍".into(),
            count: 2,
            nicks: vec!["bo".into(), "ana".into()]
        }]
    );
    assert_eq!(page.items[1].mentions, vec!["ana"]);
    assert_eq!(
        reply, page.items[1],
        "what the batch answered is what was stored, field by field"
    );
    assert_eq!(
        (
            reply.room.as_str(),
            reply.nick.as_str(),
            reply.text.as_str()
        ),
        ("r", "bo", "agreed")
    );
    assert_eq!(
        (reply.ts, reply.cid.as_deref(), reply.reply_to),
        (2, Some("c2"), Some(1))
    );
    // A catch-up after seq 1 replays the answer and every change, in order.
    let catch_up = store.events("r", 1, 7, 100).unwrap();
    assert_eq!(seqs(&catch_up, RoomEvent::seq), vec![2, 3, 4, 5, 6, 7]);
    assert!(
        matches!(&catch_up.items[1], RoomEvent::Edited(e) if e.text == "fixed" && e.target == 1)
    );
    let newest = store.events("r", 0, 7, 2).unwrap();
    assert_eq!(
        (seqs(&newest, RoomEvent::seq), newest.more),
        (vec![6, 7], true)
    );
}

pub(crate) fn the_edit_window_and_the_author_rule_hold(open: &dyn Fn() -> Box<dyn MessageStore>) {
    let store = open();
    store
        .append_batch(&[say("r", "ana", 1_000, "typo")], &RULES)
        .unwrap();
    let late = event("r", "ana", 61_001, edit(1, "late"));
    let in_time = event("r", "ana", 61_000, edit(1, "fine"));
    let applied = store
        .append_batch(&[late.clone(), in_time], &RULES)
        .unwrap();
    assert_eq!(applied[0], Err(Refusal::EditWindowClosed));
    assert!(applied[1].is_ok());
    let forever = Rules {
        edit_window_ms: 0,
        ..RULES
    };
    assert!(
        store.append_batch(&[late], &forever).unwrap()[0].is_ok(),
        "0 means no limit"
    );
    let deleting = event("r", "bo", 61_002, Change::Delete { target: 1 });
    assert_eq!(
        store.append_batch(&[deleting], &RULES).unwrap()[0],
        Err(Refusal::NotAuthor)
    );
}

pub(crate) fn search_finds_word_starts_in_joined_rooms_newest_first_in_pages(
    open: &dyn Fn() -> Box<dyn MessageStore>,
) {
    let store = open();
    let mut batch = Vec::new();
    for i in 0..5u64 {
        batch.push(say("rust", "ana", i, &format!("release {i} notes")));
    }
    batch.push(say("go", "bo", 10, "release for go"));
    batch.push(say("rust", "bo", 11, "사과를 먹었다"));
    batch.push(say("rust", "bo", 12, "Élan vital"));
    store.append_batch(&batch, &RULES).unwrap();
    let find = |query: &str, rooms: &[&str], nick: Option<&str>, before: Option<u64>, limit| {
        store
            .search(&Search {
                words: query_words(query),
                rooms: rooms.iter().map(|r| r.to_string()).collect(),
                nick: nick.map(str::to_owned),
                before,
                limit,
            })
            .unwrap()
    };
    let page = find("rel", &["rust"], None, None, 2);
    assert_eq!(
        page.hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![5, 4]
    );
    assert_eq!(page.hits[0].matches, vec![[0, 7]]);
    let rest = find("rel", &["rust"], None, page.next, 10);
    assert_eq!(
        rest.hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert_eq!(rest.next, None);
    assert_eq!(
        find("release", &["rust", "go"], Some("bo"), None, 10)
            .hits
            .len(),
        1
    );
    assert_eq!(
        find("사과", &["rust"], None, None, 10).hits[0].matches,
        vec![[0, 3]]
    );
    assert_eq!(
        find("elan", &["rust"], None, None, 10).hits.len(),
        1,
        "accents ignored"
    );
    assert!(find("release", &[], None, None, 10).hits.is_empty());
    assert!(
        find("notes 4", &["rust"], None, None, 10).hits.len() == 1,
        "every word must match"
    );
}

pub(crate) fn search_finds_a_message_by_its_current_text_only_and_once(
    open: &dyn Fn() -> Box<dyn MessageStore>,
) {
    let store = open();
    let edit = |ts, text: &str| {
        event(
            "r",
            "ana",
            ts,
            Change::Edit {
                target: 1,
                text: text.into(),
                mentions: vec![],
            },
        )
    };
    store
        .append_batch(
            &[
                say("r", "ana", 1, "meet at the harbour"),
                edit(2, "meet at the station"),
                edit(3, "meet at the station, platform 4"),
            ],
            &RULES,
        )
        .unwrap();
    let find = |word: &str| {
        store
            .search(&Search {
                words: query_words(word),
                rooms: vec!["r".into()],
                nick: None,
                before: None,
                limit: 10,
            })
            .unwrap()
            .hits
            .iter()
            .map(|h| (h.seq, h.text.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(find("harbour"), vec![], "the first version");
    assert_eq!(
        find("meet"),
        vec![(1, "meet at the station, platform 4".to_owned())],
        "once, as it reads now"
    );
    assert_eq!(find("platform").len(), 1);
}

pub(crate) fn a_prune_deletes_at_most_its_budget_messages_first(
    open: &dyn Fn() -> Box<dyn MessageStore>,
) {
    let store = open();
    store
        .append_batch(
            &[
                say("r", "ana", 1, "hello"),
                event("r", "bo", 2, react(1, "👍", true)),
                event("r", "cy", 3, react(1, "👍", true)),
                event("r", "bo", 4, react(1, "👍", false)),
            ],
            &RULES,
        )
        .unwrap();
    let everything = Retention {
        keep_last: Some(0),
        keep_ms: None,
    };
    assert_eq!(
        store.prune(&everything, 0, 3).unwrap(),
        3,
        "the message and two of its three changes"
    );
    assert_eq!(
        store.prune(&everything, 0, 3).unwrap(),
        1,
        "the last change"
    );
    assert_eq!(store.prune(&everything, 0, 3).unwrap(), 0);
}
