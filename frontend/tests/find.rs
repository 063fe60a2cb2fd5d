//! The app's behaviour, natively (actions in, state and commands out).
//! Finding things: mentions (highlight, count, notification, mute),
//! search (ids, paging, errors), going to a message (loading older pages
//! until it is there), and completing `@` names in a large room.

mod common;

use common::*;
use parley_frontend::state::life::FLASH_MS;
use parley_frontend::state::Focus;

fn mention(room: &str, seq: u64, nick: &str) -> Action {
    let mut m = message(room, seq, nick, "hey @me", None);
    m.mentions = vec!["me".into()];
    frame(ServerFrame::Message(m))
}

fn notifies(commands: &[Command]) -> usize {
    commands
        .iter()
        .filter(|c| matches!(c, Command::Notify { .. }))
        .count()
}

#[test]
fn mentions_are_counted_apart_and_notify_only_a_hidden_page() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    reduce(&mut state, joined("go", vec![], false), T0);
    // "go" is shown; a mention in "rust" counts, and the page is visible.
    assert_eq!(
        notifies(&reduce(&mut state, mention("rust", 1, "mina"), T0)),
        0
    );
    reduce(
        &mut state,
        frame(ServerFrame::Message(message(
            "rust", 2, "mina", "plain", None,
        ))),
        T0,
    );
    let rust = state.room("rust").unwrap();
    assert_eq!((rust.unread, rust.mentions), (2, 1));
    assert!(rust.line(1).unwrap().mentions_me && !rust.line(2).unwrap().mentions_me);
    // Hidden: a mention notifies, even in the shown room.
    reduce(&mut state, Action::Visible(false), T0);
    let commands = reduce(&mut state, mention("go", 1, "joon"), T0);
    assert_eq!(
        commands,
        vec![Command::Notify {
            room: "go".into(),
            seq: 1,
            nick: "joon".into(),
            text: "hey @me".into()
        }]
    );
    reduce(&mut state, Action::Visible(true), T0);
    reduce(&mut state, Action::SelectRoom("rust".into()), T0);
    let rust = state.room("rust").unwrap();
    assert_eq!((rust.unread, rust.mentions), (0, 0));
}

#[test]
fn a_muted_room_neither_notifies_nor_counts_mentions() {
    let mut state = online_in("rust");
    reduce(&mut state, Action::OpenRoom("go".into()), T0);
    reduce(&mut state, joined("go", vec![], false), T0);
    reduce(&mut state, mention("rust", 1, "mina"), T0);
    assert_eq!(
        reduce(&mut state, Action::ToggleMute("rust".into()), T0),
        vec![Command::SaveMuted(vec!["rust".into()])]
    );
    assert_eq!(state.room("rust").unwrap().mentions, 0, "the badge goes");
    reduce(&mut state, Action::Visible(false), T0);
    assert_eq!(
        notifies(&reduce(&mut state, mention("rust", 2, "mina"), T0)),
        0
    );
    let rust = state.room("rust").unwrap();
    assert_eq!((rust.unread, rust.mentions), (2, 0));
    assert!(rust.line(2).unwrap().mentions_me, "still highlighted");
    assert_eq!(
        reduce(&mut state, Action::ToggleMute("rust".into()), T0),
        vec![Command::SaveMuted(vec![])]
    );
}

#[test]
fn an_edit_that_names_the_reader_highlights_without_counting() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        frame(ServerFrame::Message(message("rust", 1, "mina", "hi", None))),
        T0,
    );
    let mut edit = edited("rust", 2, 1, "mina", "hi @me");
    edit.mentions = vec!["Me".into()];
    reduce(&mut state, frame(ServerFrame::Edited(edit)), T0);
    assert!(line(&state, "rust", 1).mentions_me);
    assert_eq!(state.room("rust").unwrap().mentions, 0);
}

fn hit(room: &str, seq: u64) -> parley_protocol::SearchHit {
    parley_protocol::SearchHit {
        room: room.into(),
        seq,
        nick: "mina".into(),
        ts: T0 as u64,
        text: "release notes".into(),
        matches: vec![[0, 7]],
    }
}

#[test]
fn search_shows_only_the_latest_answer_and_pages_back() {
    let mut state = online_in("rust");
    let search = |q: &str| Action::Search {
        query: q.into(),
        room: None,
    };
    let first = reduce(&mut state, search("rel"), T0);
    assert!(
        matches!(&frames(&first)[..], [ClientFrame::Search { id: Some(id), before: None, .. }] if id == "q1")
    );
    reduce(&mut state, search("release"), T0);
    let results = |id: &str, hits, more, next| {
        frame(ServerFrame::SearchResults {
            id: Some(id.into()),
            hits,
            more,
            next,
        })
    };
    // The answer to the first question comes late: not shown.
    reduce(
        &mut state,
        results("q1", vec![hit("rust", 9)], false, None),
        T0,
    );
    assert!(state.search.as_ref().unwrap().hits.is_empty());
    reduce(
        &mut state,
        results("q2", vec![hit("rust", 40), hit("rust", 30)], true, Some(30)),
        T0,
    );
    let more = reduce(&mut state, Action::SearchMore, T0);
    assert!(matches!(
        &frames(&more)[..],
        [ClientFrame::Search { before: Some(30), id: Some(id), .. }] if id == "q3"
    ));
    assert!(
        reduce(&mut state, Action::SearchMore, T0).is_empty(),
        "one page at a time"
    );
    reduce(
        &mut state,
        results("q3", vec![hit("rust", 30), hit("rust", 12)], false, None),
        T0,
    );
    let view = state.search.as_ref().unwrap();
    let seqs: Vec<u64> = view.hits.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, vec![40, 30, 12]);
    assert!(!view.more && !view.loading);
    reduce(&mut state, Action::CloseSearch, T0);
    assert!(state.search.is_none());
}

#[test]
fn a_query_without_words_is_not_sent_and_a_refused_one_says_why() {
    let mut state = online_in("rust");
    let commands = reduce(
        &mut state,
        Action::Search {
            query: "?!".into(),
            room: None,
        },
        T0,
    );
    assert!(commands.is_empty());
    assert!(state.search.as_ref().unwrap().error.is_some());
    reduce(
        &mut state,
        Action::Search {
            query: "ok".into(),
            room: Some("rust".into()),
        },
        T0,
    );
    reduce(
        &mut state,
        frame(ServerFrame::Error {
            code: ErrorCode::InvalidQuery,
            message: "bad query".into(),
            cid: None,
            room: None,
        }),
        T0,
    );
    let view = state.search.as_ref().unwrap();
    assert_eq!(view.error.as_deref(), Some("bad query"));
    assert_eq!(state.notice, None);
}

#[test]
fn going_to_a_message_loads_older_pages_until_it_is_there() {
    let mut state = online_in("rust");
    reduce(
        &mut state,
        joined(
            "rust",
            (300..=310)
                .map(|s| message("rust", s, "mina", "x", None))
                .collect(),
            false,
        ),
        T0,
    );
    reduce(
        &mut state,
        Action::Search {
            query: "x".into(),
            room: None,
        },
        T0,
    );
    // Loaded: shown and flashed at once.
    reduce(
        &mut state,
        Action::JumpTo {
            room: "rust".into(),
            seq: 305,
        },
        T0,
    );
    assert!(state.search.is_none(), "the search closes");
    let view = state.room("rust").unwrap();
    assert_eq!(view.focus, Some(Focus { seq: 305, nonce: 1 }));
    assert_eq!(view.flash, Some((305, T0 + FLASH_MS)));
    reduce(&mut state, Action::Tick, T0 + FLASH_MS + 1.0);
    assert_eq!(state.room("rust").unwrap().flash, None);
    // Not loaded: older pages until it is.
    let commands = reduce(
        &mut state,
        Action::JumpTo {
            room: "rust".into(),
            seq: 20,
        },
        T0,
    );
    assert_eq!(
        frames(&commands),
        vec![ClientFrame::History {
            room: "rust".into(),
            before: 300,
            limit: Some(200)
        }]
    );
    let page = |from: u64, to: u64, more: bool| {
        frame(ServerFrame::History {
            room: "rust".into(),
            messages: (from..to)
                .map(|s| message("rust", s, "ana", "y", None))
                .collect(),
            more,
        })
    };
    let commands = reduce(&mut state, page(100, 300, true), T0);
    assert!(matches!(
        &frames(&commands)[..],
        [ClientFrame::History {
            before: 100,
            limit: Some(90),
            ..
        }]
    ));
    assert_eq!(state.room("rust").unwrap().focus.map(|f| f.seq), Some(305));
    let commands = reduce(&mut state, page(10, 100, true), T0);
    assert!(frames(&commands).is_empty());
    let view = state.room("rust").unwrap();
    assert_eq!(view.focus, Some(Focus { seq: 20, nonce: 2 }));
    assert_eq!(view.jump, None);
    // Gone for good: a notice.
    reduce(&mut state, page(1, 10, false), T0);
    reduce(
        &mut state,
        Action::JumpTo {
            room: "rust".into(),
            seq: 0,
        },
        T0,
    );
    assert!(state.notice.is_some());
}

#[test]
fn completing_a_name_in_a_large_room_asks_the_server_one_question_at_a_time() {
    let mut state = online_in("big");
    reduce(
        &mut state,
        frame(ServerFrame::Joined {
            room: "big".into(),
            members: vec!["ana".into(), "me".into()],
            member_count: 5000,
            members_more: true,
            history: vec![],
            more: false,
            last_seq: 0,
            settings: Default::default(),
        }),
        T0,
    );
    let complete = |p: &str| Action::CompleteMembers {
        room: "big".into(),
        prefix: p.into(),
    };
    let asked = reduce(&mut state, complete("m"), T0);
    assert!(
        matches!(&frames(&asked)[..], [ClientFrame::Members { prefix: Some(p), .. }] if p == "m")
    );
    assert!(
        reduce(&mut state, complete("mi"), T0).is_empty(),
        "one on its way"
    );
    // Its answer asks for the latest prefix.
    let answer = frame(ServerFrame::Members {
        room: "big".into(),
        members: vec!["me".into(), "mika".into(), "mina".into()],
        more: true,
        count: 5000,
    });
    let again = reduce(&mut state, answer, T0);
    assert!(
        matches!(&frames(&again)[..], [ClientFrame::Members { prefix: Some(p), .. }] if p == "mi")
    );
    let members = &state.room("big").unwrap().members;
    assert_eq!(
        members.completions("mi", 8),
        vec!["mika".to_owned(), "mina".to_owned()]
    );
    // The member list's own paging is not disturbed.
    assert_eq!(members.known, vec!["ana".to_owned(), "me".to_owned()]);
    // A small room never asks.
    let mut small = online_in("rust");
    let none = reduce(
        &mut small,
        Action::CompleteMembers {
            room: "rust".into(),
            prefix: "m".into(),
        },
        T0,
    );
    assert!(none.is_empty());
    assert_eq!(
        small.room("rust").unwrap().members.completions("M", 8),
        vec!["me".to_owned(), "mina".to_owned()]
    );
}
