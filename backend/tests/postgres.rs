//! The server process on PostgreSQL (`--database-url postgres://…`): two
//! servers sharing one database acknowledge and number one room's messages
//! without gap (each relays what its own clients send); history outlives a
//! restart; a database outage refuses sends as `busy` (nothing acknowledged
//! that was not stored) and the server recovers by itself; an unreachable
//! database is a one-line start-up error. Needs PostgreSQL installed
//! (scripts/setup.sh); fails, saying so, without it.

mod common;

#[path = "common/postgres.rs"]
mod pg;

use std::time::Duration;

use parley_protocol::{ClientFrame, ServerFrame};

use common::{try_say, Client, ServerProcess};

fn start_server(url: &str) -> ServerProcess {
    let mut args = vec![
        "--static-dir",
        "/nonexistent",
        "--database-url",
        url,
        "--catch-up-cap",
        "1000000",
    ];
    args.extend(common::UNLIMITED_FLAGS);
    ServerProcess::spawn(&args)
}

async fn history(url: &str, room: &str) -> Vec<(u64, String)> {
    let mut reader = Client::connect(url).await;
    reader.hello("reader").await;
    reader
        .send(ClientFrame::Join {
            room: room.into(),
            since: Some(0),
        })
        .await;
    let ServerFrame::Joined { history, .. } = reader
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    else {
        unreachable!()
    };
    common::messages_of(history)
        .into_iter()
        .map(|m| (m.seq, m.text))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_postgres_relay_ack_and_keep_history_across_restarts_and_outages() {
    let mut db = pg::Postgres::start();
    let url = db.create_db("parley");
    let mut one = start_server(&url);
    let two = start_server(&url);

    let mut ana = Client::connect(&one.url()).await;
    ana.hello("ana").await;
    ana.join("r").await;
    let mut bo = Client::connect(&one.url()).await;
    bo.hello("bo").await;
    bo.join("r").await;
    let mut cy = Client::connect(&two.url()).await;
    cy.hello("cy").await;
    cy.join("r").await;

    assert_eq!(ana.say("r", "hello from one", "a1").await, 1);
    let relayed = bo
        .recv_until(|f| matches!(f, ServerFrame::Message(m) if m.text == "hello from one"))
        .await;
    assert!(matches!(relayed, ServerFrame::Message(m) if m.seq == 1 && m.nick == "ana"));
    assert_eq!(
        cy.say("r", "hello from two", "c1").await,
        2,
        "seq continues across servers"
    );
    assert_eq!(ana.say("r", "and again", "a2").await, 3);

    // A restart of server one: history is in the database.
    assert!(one.terminate(), "a clean exit");
    one = start_server(&url);
    let expected = vec![
        (1, "hello from one".to_owned()),
        (2, "hello from two".to_owned()),
        (3, "and again".to_owned()),
    ];
    assert_eq!(history(&one.url(), "r").await, expected);

    // An outage: sends are refused, never acknowledged; then it recovers.
    let mut ana = Client::connect(&one.url()).await;
    ana.hello("ana").await;
    ana.join("r").await;
    tokio::task::block_in_place(|| db.stop_server());
    assert_eq!(try_say(&mut ana, "r", "lost", "a3").await, None);
    tokio::task::block_in_place(|| db.start_server());
    let mut seq = None;
    for attempt in 0..50 {
        seq = try_say(&mut ana, "r", "back", &format!("b{attempt}")).await;
        if seq.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(seq, Some(4), "recovered by itself, no gap");
    let mut expected = expected;
    expected.push((4, "back".to_owned()));
    // The admin command works on the same database (its client blocks, so
    // it runs off the async threads).
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_parley-backend"))
        .args(["admin", "list", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    // What a server that starts now reads is what was acknowledged. (A
    // running server's room cache knows only what it relayed itself:
    // relaying between servers is not part of the store.)
    let three = start_server(&url);
    assert_eq!(history(&three.url(), "r").await, expected);
    drop(two);
}

#[test]
fn an_unreachable_postgres_is_a_one_line_start_up_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://parley:s3cret@127.0.0.1:{closed}/parley");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_parley-backend"))
        .args(["--addr", "127.0.0.1:0", "--database-url", &url])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_when_a_server_on_postgres_is_killed() {
    let db = pg::Postgres::start();
    let url = db.create_db("parley");
    let mut server = start_server(&url);
    let mut senders = Vec::new();
    for n in 0..3 {
        let ws = server.url();
        senders.push(tokio::spawn(async move {
            let mut client = Client::connect(&ws).await;
            client.hello(&format!("sender{n}")).await;
            client.join("r").await;
            let mut acked = Vec::new();
            for i in 0u64.. {
                let frame = ClientFrame::Send {
                    room: "r".into(),
                    text: format!("{n}-{i}"),
                    cid: format!("{n}-{i}"),
                    reply_to: None,
                };
                if client.try_send(frame).await.is_err() {
                    return acked;
                }
                // Read what came meanwhile; every ack counts.
                loop {
                    match tokio::time::timeout(Duration::from_millis(2), client.next_frame()).await
                    {
                        Ok(Some(ServerFrame::Ack { seq, cid, .. })) => acked.push((seq, cid)),
                        Ok(Some(_)) => {}
                        Ok(None) => return acked,
                        Err(_) => break,
                    }
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.kill_9();
    let mut acked = Vec::new();
    for sender in senders {
        acked.extend(
            tokio::time::timeout(Duration::from_secs(20), sender)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert!(!acked.is_empty(), "some messages were acknowledged");
    let server = start_server(&url);
    let stored = history(&server.url(), "r").await;
    let seqs: Vec<u64> = stored.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
    for (seq, cid) in &acked {
        assert_eq!(
            &stored[*seq as usize - 1].1,
            cid,
            "acked {cid} is stored at {seq}"
        );
    }
    eprintln!("{} acknowledged, {} stored", acked.len(), stored.len());
}
