//! Several server processes on one PostgreSQL, linked by a real
//! redis-server (`--redis-url`): what one says reaches the others' clients
//! once each and in `seq` order, acknowledgements included; a Redis killed
//! mid-flood refuses sends as `busy` (nothing acknowledged that the others
//! will not get) and once it is back every acknowledged message reaches
//! every live client, in order and without a gap; a bad `--redis-url` is a
//! one-line start-up error. Needs PostgreSQL and redis-server installed
//! (scripts/setup.sh); fails, saying so, without them.

mod common;

#[path = "common/postgres.rs"]
mod pg;
#[path = "common/redis.rs"]
mod redis;

use std::collections::BTreeSet;
use std::time::Duration;

use parley_protocol::{ClientFrame, ErrorCode, ServerFrame};

use common::{try_say, Client};

use common::cluster::node;

/// What a client saw of a room: the `seq` of each `message` and `ack`, in
/// the order they came.
#[derive(Default)]
struct View {
    seqs: Vec<u64>,
    acked: usize,
}

impl View {
    /// Reads frames until `done` says the view is complete; panics if a
    /// frame does not come in time.
    async fn read_until(&mut self, client: &mut Client, done: impl Fn(&View) -> bool) {
        while !done(self) {
            match client.recv().await {
                ServerFrame::Message(m) => self.seqs.push(m.seq),
                ServerFrame::Ack { seq, .. } => {
                    self.seqs.push(seq);
                    self.acked += 1;
                }
                _ => {}
            }
        }
    }

    /// Panics unless the view is exactly `1..=last`, in order.
    fn assert_whole(&self, who: &str, last: u64) {
        let expected: Vec<u64> = (1..=last).collect();
        assert_eq!(
            self.seqs, expected,
            "{who} must see every seq once, in order"
        );
    }
}

async fn joined(url: &str, nick: &str, room: &str) -> Client {
    let mut client = Client::connect(url).await;
    client.hello(nick).await;
    client.join(room).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_relay_each_other_s_messages_once_each_and_in_order() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));
    let mut ann = joined(&a.url(), "ann", "lobby").await;
    let mut bob = joined(&b.url(), "bob", "lobby").await;

    // Both talk at once: the nodes take turns per room in the database,
    // and each must weave the other's messages between its own.
    const EACH: usize = 150;
    for (client, who) in [(&mut ann, "ann"), (&mut bob, "bob")] {
        for i in 0..EACH {
            client
                .send(ClientFrame::Send {
                    room: "lobby".into(),
                    text: format!("{who} {i}"),
                    cid: format!("{who}-{i}"),
                    reply_to: None,
                })
                .await;
        }
    }
    let total = (2 * EACH) as u64;
    let (mut ann_view, mut bob_view) = (View::default(), View::default());
    let whole = |v: &View| v.seqs.len() as u64 >= total;
    tokio::join!(
        ann_view.read_until(&mut ann, whole),
        bob_view.read_until(&mut bob, whole)
    );
    ann_view.assert_whole("ann", total);
    bob_view.assert_whole("bob", total);
    assert_eq!((ann_view.acked, bob_view.acked), (EACH, EACH));

    // Typing on one node shows on the other.
    bob.send(ClientFrame::Typing {
        room: "lobby".into(),
    })
    .await;
    ann.recv_until(
        |f| matches!(f, ServerFrame::Typing { nicks, .. } if nicks.iter().any(|n| n == "bob")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_killed_mid_flood_loses_no_acknowledged_message() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let mut redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));
    let mut ann = joined(&a.url(), "ann", "lobby").await;
    let mut bob = joined(&b.url(), "bob", "lobby").await;

    // Bob reads all along, on his own task, until he has seen `target`.
    let (target_tx, mut target) = tokio::sync::watch::channel(u64::MAX);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            let wanted = *target.borrow_and_update();
            if seen.last() == Some(&wanted) {
                return seen;
            }
            tokio::select! {
                frame = bob.next_frame() => match frame.expect("bob's socket stays open") {
                    ServerFrame::Message(m) => seen.push(m.seq),
                    _ => continue,
                },
                _ = target.changed() => continue,
            }
        }
    });

    let mut acked = BTreeSet::new();
    let mut refused = 0;
    let started = std::time::Instant::now();
    let (mut killed, mut restarted) = (false, false);
    let mut i = 0;
    // Redis is killed after 1.5 s and started again after 5 s, well past
    // the node timeout (2 s).
    while started.elapsed() < Duration::from_secs(6) {
        let at = started.elapsed();
        if !killed && at > Duration::from_millis(1500) {
            redis.kill();
            killed = true;
        }
        if !restarted && at > Duration::from_millis(5000) {
            redis.restart();
            restarted = true;
        }
        i += 1;
        match try_say(&mut ann, "lobby", &format!("m{i}"), &format!("c{i}")).await {
            Some(seq) => assert!(acked.insert(seq), "seq {seq} acknowledged twice"),
            None => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(refused > 0, "a dead Redis must refuse sends for a while");
    // Redis is back, nobody says anything more: what was acknowledged just
    // before the link was seen to be down (its hints lost with Redis) must
    // still reach Bob, found by the check every node makes when its
    // subscription comes back.
    let last = *acked.last().expect("some sends went through");
    target_tx.send(last).unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(15), reader)
        .await
        .expect("bob catches up without another message")
        .unwrap();
    let expected: Vec<u64> = acked.iter().copied().collect();
    assert_eq!(
        expected,
        (1..=last).collect::<Vec<_>>(),
        "refused sends take no seq"
    );
    assert_eq!(
        seen, expected,
        "bob sees every acknowledged message once, in order"
    );
}

#[test]
fn a_bad_or_unreachable_redis_url_is_a_one_line_start_up_error() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = format!("redis://:secret@127.0.0.1:{port}");
    for (database, redis, says) in [
        (db.as_str(), nobody.as_str(), "cannot reach Redis"),
        (db.as_str(), "http://nowhere", "is not a Redis URL"),
        ("memory", nobody.as_str(), "--database-url postgres"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_parley-backend"))
            .args(["--addr", "127.0.0.1:0", "--static-dir", "/nonexistent"])
            .args(["--database-url", database, "--redis-url", redis])
            .args(["--cluster-node-timeout", "2s"])
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(says), "{stderr}");
        assert!(!stderr.contains("secret"), "no password in {stderr}");
    }
}

/// `hello` with `nick` and, if given, a resume token; the frame answered.
async fn hello_as(url: &str, nick: &str, resume: Option<&str>) -> (Client, ServerFrame) {
    let mut client = Client::connect(url).await;
    client
        .send(ClientFrame::Hello {
            nick: nick.into(),
            resume: resume.map(str::to_owned),
            token: None,
        })
        .await;
    let answer = client.recv().await;
    if let ServerFrame::Welcome { resume, .. } = &answer {
        client.resume = Some(resume.clone());
    }
    (client, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nickname_is_one_person_s_on_every_node_and_a_session_resumes_on_any() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));

    let mut ann = joined(&a.url(), "ann", "lobby").await;
    assert_eq!(ann.say("lobby", "one", "c-1").await, 1);
    // Taken on the other node too, and what looks like it.
    let (_, taken) = hello_as(&b.url(), "ANN", None).await;
    assert_eq!(common::error_code(&taken), ErrorCode::NickTaken);
    let _lily = hello_as(&a.url(), "lily", None).await;
    let (_, like) = hello_as(&b.url(), "IiIy", None).await;
    assert_eq!(common::error_code(&like), ErrorCode::NickConfusable);

    // Ann's connection drops; she comes back on the other node.
    let token = ann.resume.clone().unwrap();
    ann.vanish();
    let mut bob = joined(&b.url(), "bob", "lobby").await;
    let (mut ann, welcome) = hello_as(&b.url(), "whoever", Some(&token)).await;
    let ServerFrame::Welcome {
        nick,
        resumed,
        rooms,
        ..
    } = welcome
    else {
        panic!("expected welcome, got {welcome:?}")
    };
    assert_eq!((nick.as_str(), resumed), ("ann", true));
    assert_eq!(rooms, vec!["lobby".to_owned()]);
    ann.send(ClientFrame::Join {
        room: "lobby".into(),
        since: Some(1),
    })
    .await;
    ann.recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await;
    assert_eq!(bob.say("lobby", "two", "c-2").await, 2);
    let ServerFrame::Message(m) = ann
        .recv_until(|f| matches!(f, ServerFrame::Message(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!((m.seq, m.text.as_str()), (2, "two"));
    // Her old node let go of her: the nickname is held on B, so A refuses
    // it to anybody else, and the old token is spent.
    let (_, taken) = hello_as(&a.url(), "ann", None).await;
    assert_eq!(common::error_code(&taken), ErrorCode::NickTaken);
    let (_, fresh) = hello_as(&a.url(), "carl", Some(&token)).await;
    assert!(
        matches!(&fresh, ServerFrame::Welcome { resumed: false, nick, .. } if nick == "carl"),
        "{fresh:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_s_sessions_resume_elsewhere_and_its_nicknames_come_free() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (mut a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));

    let mut ann = joined(&a.url(), "ann", "lobby").await;
    ann.say("lobby", "before", "c-1").await;
    let _dora = joined(&a.url(), "dora", "lobby").await;
    let token = ann.resume.clone().unwrap();
    a.kill_9();

    // Ann takes her session back on B at once (her record names her).
    let (_ann, welcome) = hello_as(&b.url(), "ann", Some(&token)).await;
    assert!(
        matches!(&welcome, ServerFrame::Welcome { resumed: true, rooms, .. } if rooms == &["lobby"]),
        "{welcome:?}"
    );
    // Dora's nickname comes free once A counts as gone (2 s here).
    let started = std::time::Instant::now();
    loop {
        let (_, answer) = hello_as(&b.url(), "dora", None).await;
        if let ServerFrame::Welcome { resumed, rooms, .. } = &answer {
            // Somebody new: nothing of the dead session's comes with it.
            assert!(!resumed && rooms.is_empty(), "{answer:?}");
            break;
        }
        assert_eq!(common::error_code(&answer), ErrorCode::NickTaken);
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "a dead node's nickname must come free within the node timeout"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const PASSWORD: &str = "correct horse battery staple";

/// Asks for `nick` as a guest at `url` until it is given (`nick_reserved`
/// meanwhile: what frees it is on its way), for 5 s at most.
async fn guest_gets_soon(url: &str, nick: &str, why: &str) {
    let started = std::time::Instant::now();
    loop {
        let (_, answer) = hello_as(url, nick, None).await;
        if matches!(answer, ServerFrame::Welcome { .. }) {
            return;
        }
        assert_eq!(common::error_code(&answer), ErrorCode::NickReserved);
        assert!(started.elapsed() < Duration::from_secs(5), "{why}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Registers `nick` at the node on `addr`; the answer's status.
async fn register_at(addr: std::net::SocketAddr, nick: &str) -> u16 {
    let body = serde_json::json!({"nick": nick, "password": PASSWORD}).to_string();
    common::raw::http(addr, "POST", "/api/register", &[], &body)
        .await
        .status
}

/// Signs `nick` in at the node on `addr`; its token.
async fn login_at(addr: std::net::SocketAddr, nick: &str) -> String {
    let body = serde_json::json!({"nick": nick, "password": PASSWORD}).to_string();
    let login = common::raw::http(addr, "POST", "/api/login", &[], &body).await;
    assert_eq!(login.status, 200, "{login:?}");
    login.json()["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_s_nickname_is_reserved_on_every_node() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));
    // Registered on A: B keeps guests off it from the moment A answers,
    // look-alikes too, whether or not B has heard of the account yet.
    assert_eq!(register_at(a.addr, "alice").await, 201);
    for nick in ["Alice", "AIice"] {
        let (_, answer) = hello_as(&b.url(), nick, None).await;
        assert_eq!(
            common::error_code(&answer),
            ErrorCode::NickReserved,
            "{nick}"
        );
    }
    // B has heard of the account by now (a hint takes milliseconds): it
    // keeps the nickname from guests itself once Redis has forgotten the
    // reservation (which lasts 10 minutes).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let keys: Vec<String> = parley_protocol::look_alike_keys("alice")
        .iter()
        .map(|k| format!("parley:reserved:{k}"))
        .collect();
    let mut del = vec!["DEL"];
    del.extend(keys.iter().map(String::as_str));
    assert_eq!(redis::command(redis.addr(), &del), ":1");
    let (_, answer) = hello_as(&b.url(), "Alice", None).await;
    assert_eq!(common::error_code(&answer), ErrorCode::NickReserved);
    // Deleted (with its password, signed in on B): the nickname is free on
    // A soon after.
    let bearer = format!("Bearer {}", login_at(b.addr, "alice").await);
    let confirm = serde_json::json!({"password": PASSWORD}).to_string();
    let auth = [("Authorization", bearer.as_str())];
    let deleted = common::raw::http(b.addr, "DELETE", "/api/account", &auth, &confirm).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    guest_gets_soon(&a.url(), "alice", "A must hear the account is gone").await;
    // A guest on B holds "zed": A registers no account under it.
    let (_zed, _) = hello_as(&b.url(), "zed", None).await;
    assert_eq!(register_at(a.addr, "ZED").await, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_outage_is_busy_on_every_node_and_passes_by_itself() {
    let mut pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));
    let mut ann = joined(&a.url(), "ann", "lobby").await;
    let mut bob = joined(&b.url(), "bob", "lobby").await;
    assert_eq!(ann.say("lobby", "before", "c-0").await, 1);
    bob.recv_until(|f| matches!(f, ServerFrame::Message(_)))
        .await;

    tokio::task::block_in_place(|| pg.stop_server());
    for (client, who) in [(&mut ann, "ann"), (&mut bob, "bob")] {
        let cid = format!("{who}-down");
        assert_eq!(
            try_say(client, "lobby", "while down", &cid).await,
            None,
            "{who}: busy"
        );
    }
    // An account that could not be stored reserves nothing: a guest on B
    // gets its nickname.
    assert_ne!(register_at(a.addr, "dora").await, 201);
    guest_gets_soon(
        &b.url(),
        "dora",
        "the reservation of an account never stored must be lifted",
    )
    .await;
    tokio::task::block_in_place(|| pg.start_server());

    // Back by itself: what is said now reaches the other node, once, in
    // order, and nothing refused took a seq.
    let started = std::time::Instant::now();
    let seq = loop {
        if let Some(seq) = try_say(&mut ann, "lobby", "after", "c-1").await {
            break seq;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(seq, 2);
    let mut seen = Vec::new();
    while seen.last() != Some(&2) {
        if let ServerFrame::Message(m) = bob.recv().await {
            seen.push(m.seq);
        }
    }
    assert_eq!(seen, [2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_link_a_node_registers_no_account() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let mut redis = redis::Redis::start();
    let a = node(&db, &redis.url());
    redis.kill();
    // Another node may hold the nickname, or take it: not known, so busy.
    assert_eq!(register_at(a.addr, "mina").await, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumes_on_its_own_node_too() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let a = node(&db, &redis.url());
    let ann = joined(&a.url(), "ann", "lobby").await;
    let token = ann.resume.clone().unwrap();
    ann.vanish();
    let (_ann, welcome) = hello_as(&a.url(), "ann", Some(&token)).await;
    assert!(
        matches!(&welcome, ServerFrame::Welcome { resumed: true, nick, rooms, .. } if nick == "ann" && rooms == &["lobby"]),
        "{welcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_cannot_take_another_s_session_by_its_token() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));
    let mut tokens = Vec::new();
    for nick in ["mina", "joon"] {
        assert_eq!(register_at(a.addr, nick).await, 201);
        tokens.push(login_at(a.addr, nick).await);
    }
    let sign_in = |url: String, token: String, resume: Option<String>| async move {
        let mut client = Client::connect(&url).await;
        client
            .send(ClientFrame::Hello {
                nick: String::new(),
                resume,
                token: Some(token),
            })
            .await;
        let welcome = client.recv().await;
        (client, welcome)
    };
    let (mut joon, welcome) = sign_in(a.url(), tokens[1].clone(), None).await;
    let ServerFrame::Welcome { resume, .. } = welcome else {
        panic!("{welcome:?}")
    };
    joon.join("lobby").await;
    // Mina, signed in on B, presents Joon's resume token: she gets her own
    // session, and Joon keeps his.
    let (_mina, welcome) = sign_in(b.url(), tokens[0].clone(), Some(resume)).await;
    assert!(
        matches!(&welcome, ServerFrame::Welcome { resumed: false, nick, rooms, .. } if nick == "mina" && rooms.is_empty()),
        "{welcome:?}"
    );
    // (seq 1 is Joon claiming the room, the first account in it.)
    assert_eq!(joon.say("lobby", "still mine", "c-1").await, 2);
}
