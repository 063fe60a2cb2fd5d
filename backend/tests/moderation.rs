//! Rooms people run, over real TCP: the first account to join owns a room,
//! the owner makes ops, moderators kick, ban (a guest by nickname and
//! address, an account by its account), mute, set the topic and the modes,
//! invite; each refusal with its code; every action a room event that a
//! catch-up replays and the modlog lists. And direct messages, private
//! against a third account, a guest and a server admin.

mod common;

use parley_protocol::{ClientFrame, ErrorCode, ModAction, RoomEvent, ServerFrame};
use serde_json::json;

use common::raw::http;
use common::{error_code, test_config, Client, TestServer};

const PASSWORD: &str = "correct horse battery staple";

/// Registers `nick`, signs in over the WebSocket and returns the client
/// and its `welcome`.
async fn account(server: &TestServer, nick: &str) -> (Client, ServerFrame) {
    let body = json!({"nick": nick, "password": PASSWORD}).to_string();
    let registered = http(server.addr, "POST", "/api/register", &[], &body).await;
    assert!(
        registered.status == 201 || registered.status == 409,
        "{registered:?}"
    );
    let login = http(server.addr, "POST", "/api/login", &[], &body).await;
    assert_eq!(login.status, 200, "{login:?}");
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let mut client = server.client().await;
    client
        .send(ClientFrame::Hello {
            nick: String::new(),
            resume: None,
            token: Some(token),
        })
        .await;
    let welcome = client.recv().await;
    assert!(matches!(
        welcome,
        ServerFrame::Welcome { account: true, .. }
    ));
    (client, welcome)
}

/// Waits for the moderation event `action` on `target` in `room`.
async fn sees(client: &mut Client, room: &str, action: ModAction, target: &str) -> ServerFrame {
    client
        .recv_until(|f| {
            matches!(f, ServerFrame::Moderation(m)
                if m.room == room && m.action == action && m.target.as_deref() == Some(target))
        })
        .await
}

/// Sends `frame` and waits for the error it is refused with.
async fn refused(client: &mut Client, frame: ClientFrame) -> ErrorCode {
    client.send(frame).await;
    let error = client
        .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    error_code(&error)
}

fn kick(room: &str, nick: &str, reason: Option<&str>) -> ClientFrame {
    ClientFrame::Kick {
        room: room.into(),
        nick: nick.into(),
        reason: reason.map(str::to_owned),
    }
}

fn join_frame(room: &str) -> ClientFrame {
    ClientFrame::Join {
        room: room.into(),
        since: None,
    }
}

#[tokio::test]
async fn the_first_account_owns_the_room_makes_ops_and_ops_kick_those_below_them() {
    let server = TestServer::start(test_config()).await;
    let mut guest = server.hello("visitor").await;
    guest.join("club").await;
    let (mut mina, _) = account(&server, "mina").await;
    mina.join("club").await;
    sees(&mut mina, "club", ModAction::Owner, "mina").await;
    sees(&mut guest, "club", ModAction::Owner, "mina").await;
    let (mut joon, _) = account(&server, "joon").await;
    match joon.join("club").await {
        ServerFrame::Joined { settings, .. } => {
            assert_eq!(
                settings.owner.as_deref(),
                Some("mina"),
                "joined says the roles"
            );
        }
        other => panic!("{other:?}"),
    }

    // A member is no moderator; the owner makes one.
    assert_eq!(
        refused(&mut joon, kick("club", "visitor", None)).await,
        ErrorCode::Forbidden
    );
    mina.send(ClientFrame::Op {
        room: "club".into(),
        nick: "joon".into(),
        on: true,
    })
    .await;
    sees(&mut joon, "club", ModAction::Op, "joon").await;
    sees(&mut guest, "club", ModAction::Op, "joon").await;

    // An op kicks a guest, with a reason; the guest is told and is out.
    joon.send(kick("club", "visitor", Some("spam"))).await;
    match guest
        .recv_until(|f| matches!(f, ServerFrame::Removed { .. }))
        .await
    {
        ServerFrame::Removed {
            room,
            by,
            reason,
            banned,
            until,
        } => {
            assert_eq!((room.as_str(), by.as_str()), ("club", "joon"));
            assert_eq!(reason.as_deref(), Some("spam"));
            assert!(!banned && until.is_none());
        }
        _ => unreachable!(),
    }
    match sees(&mut mina, "club", ModAction::Kick, "visitor").await {
        ServerFrame::Moderation(m) => assert_eq!(m.reason.as_deref(), Some("spam")),
        _ => unreachable!(),
    }
    guest
        .send(ClientFrame::Send {
            room: "club".into(),
            text: "still here?".into(),
            cid: "c1".into(),
            reply_to: None,
        })
        .await;
    let error = guest
        .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert_eq!(error_code(&error), ErrorCode::NotJoined);
    // A kick is not a ban.
    guest.join("club").await;

    // An op cannot act on the owner, nor make ops; nobody kicks the absent.
    assert_eq!(
        refused(&mut joon, kick("club", "mina", None)).await,
        ErrorCode::Forbidden
    );
    let op = ClientFrame::Op {
        room: "club".into(),
        nick: "visitor".into(),
        on: true,
    };
    assert_eq!(refused(&mut joon, op).await, ErrorCode::Forbidden);
    assert_eq!(
        refused(&mut joon, kick("club", "nobody", None)).await,
        ErrorCode::NoSuchNick
    );
    let op_guest = ClientFrame::Op {
        room: "club".into(),
        nick: "visitor".into(),
        on: true,
    };
    assert_eq!(
        refused(&mut mina, op_guest).await,
        ErrorCode::NoSuchNick,
        "only accounts are ops"
    );
    // Guests never own a room.
    let mut other = server.hello("wanderer").await;
    match other.join("empty-room").await {
        ServerFrame::Joined { settings, .. } => assert_eq!(settings.owner, None),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_ban_keeps_a_guest_out_by_nickname_and_address_until_lifted() {
    let server = TestServer::start(test_config()).await;
    let (mut mina, _) = account(&server, "mina").await;
    mina.join("club").await;
    let mut troll = server.hello("troll").await;
    troll.join("club").await;
    mina.send(ClientFrame::Ban {
        room: "club".into(),
        nick: "troll".into(),
        minutes: None,
        reason: Some("abuse".into()),
    })
    .await;
    match troll
        .recv_until(|f| matches!(f, ServerFrame::Removed { .. }))
        .await
    {
        ServerFrame::Removed { banned, reason, .. } => {
            assert!(banned);
            assert_eq!(reason.as_deref(), Some("abuse"));
        }
        _ => unreachable!(),
    }
    assert_eq!(
        refused(&mut troll, join_frame("club")).await,
        ErrorCode::Banned
    );
    // Another nickname from the same address is the same guest.
    let mut again = server.hello("friendly").await;
    assert_eq!(
        refused(&mut again, join_frame("club")).await,
        ErrorCode::Banned
    );
    // An account from that address is somebody else.
    let (mut ana, _) = account(&server, "ana").await;
    ana.join("club").await;

    // A timed ban says when it ends.
    mina.send(ClientFrame::Ban {
        room: "club".into(),
        nick: "ana".into(),
        minutes: Some(10),
        reason: None,
    })
    .await;
    match ana
        .recv_until(|f| matches!(f, ServerFrame::Removed { .. }))
        .await
    {
        ServerFrame::Removed { until, .. } => assert!(until.is_some()),
        _ => unreachable!(),
    }
    assert_eq!(
        refused(&mut ana, join_frame("club")).await,
        ErrorCode::Banned
    );
    let too_long = ClientFrame::Ban {
        room: "club".into(),
        nick: "x".into(),
        minutes: Some(0),
        reason: None,
    };
    assert_eq!(refused(&mut mina, too_long).await, ErrorCode::InvalidFrame);

    for nick in ["troll", "ana"] {
        mina.send(ClientFrame::Unban {
            room: "club".into(),
            nick: nick.into(),
        })
        .await;
        sees(&mut mina, "club", ModAction::Unban, nick).await;
    }
    troll.join("club").await;
    ana.join("club").await;
}

#[tokio::test]
async fn mutes_topics_modes_and_invites_and_a_catch_up_replays_them() {
    let server = TestServer::start(test_config()).await;
    let (mut mina, _) = account(&server, "mina").await;
    mina.join("club").await;
    sees(&mut mina, "club", ModAction::Owner, "mina").await;
    let mut loud = server.hello("loud").await;
    loud.join("club").await;
    let since = loud.say("club", "first", "c0").await;

    mina.send(ClientFrame::Mute {
        room: "club".into(),
        nick: "loud".into(),
        on: true,
    })
    .await;
    sees(&mut loud, "club", ModAction::Mute, "loud").await;
    let send = ClientFrame::Send {
        room: "club".into(),
        text: "LOUD".into(),
        cid: "c1".into(),
        reply_to: None,
    };
    assert_eq!(refused(&mut loud, send).await, ErrorCode::Muted);

    mina.send(ClientFrame::Topic {
        room: "club".into(),
        text: "Rust, mostly".into(),
    })
    .await;
    let topic = loud
        .recv_until(|f| matches!(f, ServerFrame::Topic(_)))
        .await;
    match topic {
        ServerFrame::Topic(t) => {
            assert_eq!((t.nick.as_str(), t.text.as_str()), ("mina", "Rust, mostly"))
        }
        _ => unreachable!(),
    }
    let topic_by_guest = ClientFrame::Topic {
        room: "club".into(),
        text: "mine now".into(),
    };
    assert_eq!(
        refused(&mut loud, topic_by_guest).await,
        ErrorCode::Forbidden
    );
    mina.send(ClientFrame::Mute {
        room: "club".into(),
        nick: "loud".into(),
        on: false,
    })
    .await;
    sees(&mut mina, "club", ModAction::Unmute, "loud").await;
    loud.say("club", "sorry", "c2").await;

    // A newcomer sees the topic in `joined`; one that was away replays it.
    let mut late = server.hello("late").await;
    match late.join("club").await {
        ServerFrame::Joined { settings, .. } => {
            assert_eq!(settings.topic.as_deref(), Some("Rust, mostly"));
            assert_eq!(settings.owner.as_deref(), Some("mina"));
        }
        other => panic!("{other:?}"),
    }
    late.send(ClientFrame::Join {
        room: "club".into(),
        since: Some(since),
    })
    .await;
    match late
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    {
        ServerFrame::Joined { history, .. } => {
            let moderation: Vec<String> = history
                .iter()
                .filter_map(|e| match e {
                    RoomEvent::Moderation(m) => Some(m.action.as_str().to_owned()),
                    RoomEvent::Topic(_) => Some("topic".to_owned()),
                    _ => None,
                })
                .collect();
            assert_eq!(moderation, ["mute", "topic", "unmute"]);
        }
        _ => unreachable!(),
    }

    // The modlog: for moderators, newest first.
    assert_eq!(
        refused(
            &mut late,
            ClientFrame::Modlog {
                room: "club".into(),
                before: None,
                limit: None
            }
        )
        .await,
        ErrorCode::Forbidden
    );
    mina.send(ClientFrame::Modlog {
        room: "club".into(),
        before: None,
        limit: Some(2),
    })
    .await;
    match mina
        .recv_until(|f| matches!(f, ServerFrame::Modlog { .. }))
        .await
    {
        ServerFrame::Modlog { entries, more, .. } => {
            assert!(more);
            assert!(
                matches!(&entries[0], RoomEvent::Moderation(m) if m.action == ModAction::Unmute)
            );
            assert!(matches!(&entries[1], RoomEvent::Topic(_)));
        }
        _ => unreachable!(),
    }

    // Modes: accounts only, then invite only; invites let accounts in.
    mina.send(ClientFrame::Mode {
        room: "club".into(),
        accounts_only: Some(true),
        invite_only: None,
    })
    .await;
    sees_mode(&mut mina).await;
    let mut guest = server.hello("guest").await;
    assert_eq!(
        refused(&mut guest, join_frame("club")).await,
        ErrorCode::AccountsOnly
    );
    mina.send(ClientFrame::Mode {
        room: "club".into(),
        accounts_only: None,
        invite_only: Some(true),
    })
    .await;
    sees_mode(&mut mina).await;
    let (mut ana, _) = account(&server, "ana").await;
    assert_eq!(
        refused(&mut ana, join_frame("club")).await,
        ErrorCode::InviteOnly
    );
    let rooms = http(server.addr, "GET", "/api/rooms", &[], "").await;
    assert!(
        !rooms.body.contains("club"),
        "an invite-only room is not listed: {rooms:?}"
    );
    mina.send(ClientFrame::Invite {
        room: "club".into(),
        nick: "ana".into(),
    })
    .await;
    sees(&mut mina, "club", ModAction::Invite, "ana").await;
    ana.join("club").await;
}

async fn sees_mode(client: &mut Client) {
    client
        .recv_until(|f| matches!(f, ServerFrame::Moderation(m) if m.action == ModAction::Mode))
        .await;
}

#[tokio::test]
async fn direct_messages_are_between_two_accounts_and_nobody_else() {
    let mut config = test_config();
    config.accounts.admins = vec!["root".into()];
    let server = TestServer::start(config).await;
    let (mut mina, _) = account(&server, "mina").await;
    let (mut joon, _) = account(&server, "joon").await;
    let (mut ana, _) = account(&server, "ana").await;
    let (mut root, _) = account(&server, "root").await;

    mina.send(ClientFrame::OpenDm {
        nick: "JOON".into(),
    })
    .await;
    let room = match mina
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    {
        ServerFrame::Joined { room, settings, .. } => {
            assert_eq!(settings.dm.as_deref(), Some("joon"));
            assert!(parley_protocol::is_dm_room(&room), "{room}");
            room
        }
        _ => unreachable!(),
    };
    // joon is online: joined too, and sees mina as the other party.
    match joon
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    {
        ServerFrame::Joined {
            room: theirs,
            settings,
            ..
        } => {
            assert_eq!(theirs, room);
            assert_eq!(settings.dm.as_deref(), Some("mina"));
        }
        _ => unreachable!(),
    }
    mina.say(&room, "just between us", "d1").await;
    joon.recv_until(|f| matches!(f, ServerFrame::Message(m) if m.text == "just between us"))
        .await;

    // Nobody else joins, reads, lists or searches it; no one moderates it.
    for outsider in [&mut ana, &mut root] {
        assert_eq!(
            refused(outsider, join_frame(&room)).await,
            ErrorCode::Forbidden
        );
        let history = ClientFrame::History {
            room: room.clone(),
            before: 100,
            limit: None,
        };
        assert_eq!(refused(outsider, history).await, ErrorCode::NotJoined);
        outsider
            .send(ClientFrame::Search {
                query: "between".into(),
                room: None,
                nick: None,
                before: None,
                limit: None,
                id: Some("s".into()),
            })
            .await;
        match outsider
            .recv_until(|f| matches!(f, ServerFrame::SearchResults { .. }))
            .await
        {
            ServerFrame::SearchResults { hits, .. } => assert!(hits.is_empty()),
            _ => unreachable!(),
        }
    }
    assert_eq!(
        refused(&mut mina, kick(&room, "joon", None)).await,
        ErrorCode::Forbidden
    );
    let rooms = http(server.addr, "GET", "/api/rooms", &[], "").await;
    assert!(!rooms.body.contains("dm:"), "{rooms:?}");

    // Guests have none; guests and strangers cannot be sent one.
    let mut guest = server.hello("guest").await;
    let open = |nick: &str| ClientFrame::OpenDm { nick: nick.into() };
    assert_eq!(
        refused(&mut guest, open("mina")).await,
        ErrorCode::Forbidden
    );
    assert_eq!(
        refused(&mut mina, open("guest")).await,
        ErrorCode::NoSuchNick
    );
    assert_eq!(refused(&mut mina, open("mina")).await, ErrorCode::Forbidden);
    assert_eq!(
        refused(&mut guest, join_frame("dm:abcdefgh01234567")).await,
        ErrorCode::Forbidden,
        "a direct message nobody opened is no room to make"
    );

    // Opening it again is the same room; signing in again lists it.
    joon.send(open("mina")).await;
    match joon
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    {
        ServerFrame::Joined { room: again, .. } => assert_eq!(again, room),
        _ => unreachable!(),
    }
    let (_, welcome) = account(&server, "mina").await;
    match welcome {
        ServerFrame::Welcome { dms, .. } => assert_eq!(dms, [room]),
        _ => unreachable!(),
    }
}

/// A guest saying hello from `addr`, as a trusted proxy on loopback says.
async fn guest_from(server: &TestServer, nick: &str, addr: &str) -> Client {
    let mut client = connect_from(server, addr).await;
    client.hello(nick).await;
    client
}

/// A connection from `addr`, as a trusted proxy on loopback says.
async fn connect_from(server: &TestServer, addr: &str) -> Client {
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.ws_url().as_str(),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", addr.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    Client { ws, resume: None }
}

#[tokio::test]
async fn a_guest_ban_holds_look_alikes_of_the_nickname_and_the_address_it_came_from() {
    let mut config = test_config();
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let server = TestServer::start(config).await;
    let (mut mina, _) = account(&server, "mina").await;
    mina.join("club").await;
    let mut troll = guest_from(&server, "troll", "198.51.100.1").await;
    troll.join("club").await;
    mina.send(ClientFrame::Ban {
        room: "club".into(),
        nick: "troll".into(),
        minutes: None,
        reason: None,
    })
    .await;
    sees(&mut mina, "club", ModAction::Ban, "troll").await;
    // The troll leaves for good; a look-alike from elsewhere is kept out
    // by the nickname's key.
    troll.send_close(1000).await;
    troll.expect_close().await;
    let mut look_alike = connect_from(&server, "198.51.100.2").await;
    for _ in 0..100 {
        look_alike
            .send(ClientFrame::Hello {
                nick: "tr0ll".into(),
                resume: None,
                token: None,
            })
            .await;
        match look_alike.recv().await {
            ServerFrame::Welcome { .. } => break,
            refusal => assert_eq!(error_code(&refusal), ErrorCode::NickTaken, "until it ends"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        refused(&mut look_alike, join_frame("club")).await,
        ErrorCode::Banned
    );
    let mut same_place = guest_from(&server, "friendly", "198.51.100.1").await;
    assert_eq!(
        refused(&mut same_place, join_frame("club")).await,
        ErrorCode::Banned
    );
    let mut elsewhere = guest_from(&server, "friendly too", "198.51.100.3").await;
    elsewhere.join("club").await;
}
