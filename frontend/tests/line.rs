//! One line's state, natively: the server's changes as set operations,
//! the reader's own on their way (shown, confirmed, rolled back), and a
//! deletion being final.

use parley_frontend::state::line::{names, Change, ChangeKind, ChatLine};

fn line() -> ChatLine {
    ChatLine {
        seq: Some(1),
        nick: "mina".into(),
        text: "hi".into(),
        ..ChatLine::default()
    }
}

#[test]
fn reactions_are_set_operations() {
    let mut l = line();
    for _ in 0..2 {
        l.apply_reaction("joon", "👍", true, "me");
    }
    l.apply_reaction("ana", "👍", true, "me");
    l.apply_reaction("ana", "🎉", false, "me");
    assert_eq!(l.reactions.len(), 1);
    assert_eq!(l.reactions[0].count, 2);
    for _ in 0..2 {
        l.apply_reaction("joon", "👍", false, "me");
    }
    l.apply_reaction("ana", "👍", false, "me");
    assert!(l.reactions.is_empty());
}

#[test]
fn own_changes_show_at_once_and_roll_back() {
    let mut l = line();
    l.changes.push(Change {
        cid: "c1".into(),
        kind: ChangeKind::Edit("hello".into()),
        sent_on: Some(1),
        sent_at: 0.0,
    });
    l.changes.push(Change {
        cid: "c2".into(),
        kind: ChangeKind::React {
            emoji: "👍".into(),
            on: true,
        },
        sent_on: Some(1),
        sent_at: 0.0,
    });
    assert_eq!(l.shown_text(), "hello");
    assert!(l.is_edited());
    assert!(l.has_reacted("me", "👍"));
    assert_eq!(l.roll_back("c1"), Some(ChangeKind::Edit("hello".into())));
    assert_eq!(l.shown_text(), "hi");
    assert!(!l.is_edited());
    l.confirm("c2", 5.0, "me");
    assert!(l.changes.is_empty());
    assert_eq!(l.reactions[0].nicks, vec!["me".to_owned()]);
}

#[test]
fn a_deletion_is_final() {
    let mut l = line();
    l.apply_reaction("joon", "👍", true, "me");
    l.apply_delete();
    l.apply_edit("back from the dead", 9.0, false);
    l.apply_reaction("ana", "👍", true, "me");
    assert!(l.is_deleted());
    assert_eq!(l.shown_text(), "");
    assert!(l.shown_reactions("me").is_empty());
    assert!(!l.is_edited());
}

#[test]
fn mentions_compare_ignoring_case() {
    assert!(names(&["Mina".into()], "mina"));
    assert!(!names(&["mina".into()], "minako"));
    assert!(!names(&[], "mina"));
}
