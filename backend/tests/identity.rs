//! Identity over real TCP: nobody can pass for somebody else. Look-alike
//! and invisible nicknames are refused with the rule they broke, real names
//! in every script are welcome, room names follow the same rules, and
//! mentions find people by the same key.

mod common;

use parley_protocol::{ClientFrame, ErrorCode, ServerFrame};

use common::{error_code, test_config, Client, TestServer};

/// Says `hello` as `nick` and returns the refusal's code and message.
async fn refused(client: &mut Client, nick: &str) -> (ErrorCode, String) {
    client
        .send(ClientFrame::Hello {
            nick: nick.into(),
            resume: None,
            token: None,
        })
        .await;
    match client.recv().await {
        ServerFrame::Error { code, message, .. } => (code, message),
        other => panic!("{nick:?} was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn look_alikes_of_a_present_nickname_are_refused_saying_why() {
    let server = TestServer::start(test_config()).await;
    let mut alice = server.hello("alice").await;
    alice.join("general").await;
    let mut bob = server.hello("bob").await;
    let _ = &mut bob;

    let mut guest = server.client().await;
    for (nick, code, says) in [
        ("аlice", ErrorCode::InvalidNick, "mixes Cyrillic and Latin"),
        ("ａｌｉｃｅ", ErrorCode::InvalidNick, "found 'ａ'"),
        (
            "alice\u{3164}",
            ErrorCode::InvalidNick,
            "invisible character (U+3164)",
        ),
        ("ㅤㅤ", ErrorCode::InvalidNick, "invisible character (U+3164)"),
        ("ALICE", ErrorCode::NickTaken, "\"ALICE\" is taken"),
        // A capital I for the l: named, since alice is in a room anyway.
        (
            "AIice",
            ErrorCode::NickConfusable,
            "looks too much like \"alice\", who is here",
        ),
        // bob is in no room: the look-alike is refused without naming him.
        ("b0b", ErrorCode::NickTaken, "is taken"),
        ("B0B", ErrorCode::NickTaken, "is taken"),
    ] {
        let (got, message) = refused(&mut guest, nick).await;
        assert_eq!(got, code, "{nick:?}: {message}");
        assert!(message.contains(says), "{nick:?}: {message}");
    }
    // The refusals cost the guest nothing: it can still pick a name.
    guest.hello("alice2").await;
}

#[tokio::test]
async fn a_look_alike_of_someone_in_no_room_is_not_named() {
    let server = TestServer::start(test_config()).await;
    let _lone = server.hello("Illy").await;
    let mut guest = server.client().await;
    // As written, "lIly" has the skeleton of "Illy" (I and l look alike).
    let (code, message) = refused(&mut guest, "IIly").await;
    assert_eq!(code, ErrorCode::NickConfusable, "{message}");
    assert!(message.contains("a nickname in use"), "{message}");
    assert!(!message.contains("Illy"), "{message}");
}

#[tokio::test]
async fn real_names_in_every_script_are_welcome_in_either_normal_form() {
    let server = TestServer::start(test_config()).await;
    for nick in ["अर्जुन", "தமிழ்", "สมชาย", "田中 Taro", "민아"]
    {
        let mut client = server.client().await;
        match client.hello(nick).await {
            ServerFrame::Welcome { nick: got, .. } => assert_eq!(got, nick),
            other => panic!("{other:?}"),
        }
    }
    // José typed with a combining accent is José, and only one may hold it.
    let mut nfd = server.client().await;
    let ServerFrame::Welcome { nick, .. } = nfd.hello("Jose\u{301}").await else {
        unreachable!()
    };
    assert_eq!(nick, "José");
    let mut nfc = server.client().await;
    assert_eq!(refused(&mut nfc, "José").await.0, ErrorCode::NickTaken);
}

#[tokio::test]
async fn room_names_follow_the_same_rules() {
    let server = TestServer::start(test_config()).await;
    let mut mina = server.hello("mina").await;
    for room in ["ruѕt", "ru\u{200B}st", "ｒｕｓｔ"] {
        mina.send(ClientFrame::Join {
            room: room.into(),
            since: None,
        })
        .await;
        let refusal = mina.recv().await;
        assert_eq!(error_code(&refusal), ErrorCode::InvalidRoom, "{room:?}");
    }
    let ServerFrame::Joined { room, .. } = mina.join("Café").await else {
        unreachable!()
    };
    assert_eq!(room, "café");
}

#[tokio::test]
async fn mentions_find_members_by_their_key() {
    let server = TestServer::start(test_config()).await;
    let mut ana = server.hello("Ana").await;
    let mut joon = server.hello("joon").await;
    ana.join("r").await;
    joon.join("r").await;
    ana.say("r", "hi @ANA and @Joon", "c1").await;
    let message = joon
        .recv_until(|f| matches!(f, ServerFrame::Message(_)))
        .await;
    let ServerFrame::Message(message) = message else {
        unreachable!()
    };
    assert_eq!(message.mentions, vec!["Ana".to_owned(), "joon".to_owned()]);
}
